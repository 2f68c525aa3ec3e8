/*
 * money_fuzz: money_parse() on arbitrary bytes. It must not crash; on success the amount is in
 * (0, MONEY_MAX_GR] and survives money_format() and money_parse() again; on failure it returns
 * -EINVAL with a reason and leaves the amount alone. The first 8 bytes, read as an int64_t, also
 * drive money_format(), whose output must match its returned length and cut cleanly.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "money_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_format(int64_t gr, int group)
{
	char full[64], cut[8];
	int n = money_format(gr, group, full, sizeof(full));
	CHECK(n > 0 && (size_t) n == strlen(full));
	int m = money_format(gr, group, cut, sizeof(cut));
	CHECK(m == n);
	CHECK(strlen(cut) == ((size_t) n < sizeof(cut) ? (size_t) n : sizeof(cut) - 1));
	CHECK(strncmp(cut, full, strlen(cut)) == 0);
	if (!group && gr > 0 && gr <= MONEY_MAX_GR) {
		int64_t back = 0;
		CHECK(money_parse(full, &back, NULL) == 0 && back == gr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';

	int64_t gr = -1;
	const char *why = NULL;
	int r = money_parse(text, &gr, &why);
	if (r == 0) {
		CHECK(gr > 0 && gr <= MONEY_MAX_GR);
		char buf[32];
		int n = money_format(gr, 0, buf, sizeof(buf));
		CHECK(n > 0 && (size_t) n < sizeof(buf));
		int64_t back = 0;
		CHECK(money_parse(buf, &back, NULL) == 0);
		CHECK(back == gr);
	} else {
		CHECK(r == -EINVAL);
		CHECK(why && why[0]);
		CHECK(gr == -1);
	}

	if (size >= sizeof(int64_t)) {
		int64_t v;
		memcpy(&v, data, sizeof(v));
		check_format(v, 0);
		check_format(v, 1);
	}
	free(text);
	return 0;
}
