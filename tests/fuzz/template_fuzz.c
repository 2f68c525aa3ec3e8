/*
 * template_fuzz: the receipt template checker and renderer on arbitrary text. It must not
 * crash, and: what template_check accepts renders (into a buffer big enough for the worst case)
 * without error, within the bound the template language promises (its length plus the values'
 * for every placeholder), with at most TEMPLATE_LINES_MAX lines; what it refuses does not
 * render. The receipt's own slots (receipt_texts_set) are checked the same way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"
#include "template.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "template_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct template_var vars[] = {
	    {.name = "store", .value = "Piekarnia Pod Lipą"},
	    {.name = "points", .value = "12"},
	    {.name = "empty", .value = NULL},
	    {.name = "brace", .value = "{x}"},
	};
	const size_t n = sizeof(vars) / sizeof(vars[0]);
	char src[TEMPLATE_SRC_MAX + 64], err[256], out[TEMPLATE_SRC_MAX * 32];
	if (size >= sizeof(src))
		size = sizeof(src) - 1;
	memcpy(src, data, size);
	src[size] = '\0';

	int c = template_check(src, vars, n, err, sizeof(err));
	int r = template_render(src, vars, n, out, sizeof(out));
	if (c < 0) {
		CHECK(err[0] != '\0');
		CHECK(r < 0);
		CHECK(out[0] == '\0');
	} else {
		CHECK(r >= 0);
		CHECK((size_t) r == strlen(out));
		/* each placeholder is at least 3 bytes and adds at most the longest value */
		CHECK((size_t) r <= strlen(src) + (strlen(src) / 3 + 1) * 18);
		int lines = 1;
		for (const char *p = src; *p; p++)
			lines += *p == '\n';
		CHECK(lines <= TEMPLATE_LINES_MAX);
		/* a buffer one byte short of the output is refused, not overrun */
		if (r > 0) {
			char *small = malloc((size_t) r);
			CHECK(small);
			CHECK(template_render(src, vars, n, small, (size_t) r) == -E2BIG);
			free(small);
		}
	}

	struct receipt_texts texts = {0};
	int s = receipt_texts_set(&texts, "footer", src, err, sizeof(err));
	CHECK(s == 0 || s == -EINVAL || s == -E2BIG);
	CHECK(s != 0 || strcmp(texts.src[RECEIPT_TEXT_FOOTER], src) == 0);
	return 0;
}
