/*
 * codepage_fuzz: arbitrary bytes as UTF-8 into both code pages. Checks the encoder's promises:
 * it stays within the cap and the input's length, writes nothing past what it returns, counts
 * no more replacements than bytes written, never emits a byte its page leaves undefined, and
 * ASCII passes unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codepage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL 0xA5

static void check(enum codepage cp, const char *s, size_t cap, bool ascii)
{
	uint8_t out[64 + 1];
	size_t replaced = SIZE_MAX;

	memset(out, SENTINEL, sizeof(out));
	size_t n = codepage_encode(cp, s, out, cap, &replaced);
	if (n > cap || n > strlen(s) || replaced > n)
		abort();
	for (size_t i = n; i < sizeof(out); i++) {
		if (out[i] != SENTINEL)
			abort();
	}
	for (size_t i = 0; i < n; i++) {
		if (codepage_decode(cp, out[i]) == 0xFFFD)
			abort();
	}
	if (ascii) {
		size_t len = strlen(s);
		size_t want = len < cap ? len : cap;
		if (n != want || replaced != 0 || memcmp(out, s, n) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	bool ascii = true;
	for (size_t i = 0; i < size && s[i]; i++) {
		if ((unsigned char) s[i] >= 0x80)
			ascii = false;
	}
	for (int cp = 0; cp < CODEPAGE_MAX; cp++) {
		check((enum codepage) cp, s, 0, ascii);
		check((enum codepage) cp, s, 7, ascii);
		check((enum codepage) cp, s, 64, ascii);
	}
	free(s);
	return 0;
}
