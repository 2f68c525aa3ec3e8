/*
 * first_name_fuzz: first_name_clean() on arbitrary bytes. It must not crash; on success the name
 * is NUL-terminated valid text of at most FIRST_NAME_CHARS characters with no leading, trailing
 * or doubled space, and cleaning it again gives it back unchanged; on failure it returns -EINVAL
 * with a reason and leaves the output alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "first_name.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "first_name_fuzz: %s:%d: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[FIRST_NAME_MAX], again[FIRST_NAME_MAX];
	const char *why = NULL;
	memset(out, 0x5a, sizeof(out));
	int r = first_name_clean((const char *) data, size, out, &why);
	if (r != 0) {
		CHECK(r == -EINVAL);
		CHECK(why && why[0]);
		for (size_t i = 0; i < sizeof(out); i++)
			CHECK(out[i] == 0x5a);
		return 0;
	}
	size_t n = strnlen(out, sizeof(out));
	CHECK(n > 0 && n < sizeof(out));
	CHECK(out[0] != ' ' && out[n - 1] != ' ' && !strstr(out, "  "));
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char) out[i] & 0xc0) != 0x80;
	CHECK(chars <= FIRST_NAME_CHARS);
	/* the clean form is a fixed point */
	CHECK(first_name_clean(out, n, again, &why) == 0);
	CHECK(strcmp(out, again) == 0);
	return 0;
}
