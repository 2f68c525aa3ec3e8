/*
 * codepage: strict UTF-8 to printer code page conversion, with our own tables (CP852, CP1250),
 * so nothing depends on iconv at run time.
 *
 * A character with no mapping is replaced by a documented fallback: the base letter for Latin
 * letters with diacritics the page lacks (e.g. 'ő' -> 'o' where absent), typographic quotes and
 * dashes by their ASCII forms, and '?' for anything else; every replacement is counted. Invalid
 * UTF-8 (overlong forms, surrogates, code points past U+10FFFF, truncated sequences) becomes one
 * '?' per maximal invalid subpart and is counted too.
 *
 * Not for general text conversion: only the two pages our printers use, UTF-8 in, page out.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum codepage { CODEPAGE_CP852, CODEPAGE_CP1250, CODEPAGE_MAX };

/* "CP852" or "CP1250" (case-insensitive). Returns 0 or -EINVAL. */
int codepage_from_name(const char *name, enum codepage *ret_cp);
/* "CP852" or "CP1250"; NULL for a value outside the enum. */
const char *codepage_name(enum codepage cp);

/*
 * Encode NUL-terminated UTF-8 into out (at most cap bytes). A character the page has, and each
 * invalid UTF-8 sequence ('?'), is one byte; a fallback is usually one byte too, but a few are
 * longer: '…' -> "...", 'Æ' -> "AE", 'œ' -> "oe", '€' -> "EUR" (CP852 only), so the output can
 * hold more bytes than the input has characters, though never more than the UTF-8 input has
 * bytes. Every output byte is one printed column.
 *
 * Output stops at cap on a character boundary: a character whose bytes do not all fit is left
 * out whole, as is everything after it. Returns the number of bytes written; *ret_replaced (if
 * not NULL) gets the number of written characters that were replaced by a fallback or were
 * invalid UTF-8. An unknown cp or a NULL utf8 writes nothing and returns 0.
 *
 * Bytes below 0x80 are passed through as they are, control characters included; a caller that
 * sends the result to a device filters those itself.
 */
size_t codepage_encode(enum codepage cp, const char *utf8, uint8_t *out, size_t cap,
		       size_t *ret_replaced);

/*
 * The Unicode code point of a byte in the code page (bytes < 0x80 are ASCII). Bytes the page
 * leaves undefined (0x81, 0x83, 0x88, 0x90, 0x98 in CP1250) and any byte of an unknown cp give
 * U+FFFD; codepage_encode never produces those bytes.
 */
uint32_t codepage_decode(enum codepage cp, uint8_t byte);
