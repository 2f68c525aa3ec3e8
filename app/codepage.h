/*
 * codepage: strict UTF-8 to printer code page conversion, with our own tables (CP852, CP1250),
 * so nothing depends on iconv at run time.
 *
 * A character with no mapping is replaced by a documented fallback: the base letter for Latin
 * letters with diacritics the page lacks (e.g. 'ő' -> 'o' where absent), typographic quotes and
 * dashes by their ASCII forms, and '?' for anything else; every replacement is counted. Invalid
 * UTF-8 bytes become '?' and are counted too.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum codepage {
	CODEPAGE_CP852,
	CODEPAGE_CP1250,
	CODEPAGE_MAX
};

/* "CP852" or "CP1250" (case-insensitive). Returns 0 or -EINVAL. */
int codepage_from_name(const char *name, enum codepage *ret_cp);
const char *codepage_name(enum codepage cp);

/*
 * Encode NUL-terminated UTF-8 into out (at most cap bytes; one output byte per input
 * character). Returns the number of bytes written; *ret_replaced (if not NULL) gets the number
 * of characters replaced by a fallback. Output is cut at cap.
 */
size_t codepage_encode(enum codepage cp, const char *utf8, uint8_t *out, size_t cap,
		       size_t *ret_replaced);

/* The Unicode code point of a byte in the code page (bytes < 0x80 are ASCII). */
uint32_t codepage_decode(enum codepage cp, uint8_t byte);
