/*
 * base32: Crockford's base32 alphabet (0-9 A-Z without I L O U), uppercase, in its strict form:
 * the text the terminal prints into QR codes and the card and coupon codes the ledger keeps.
 *
 * Every character of the alphabet is a QR alphanumeric character, so a QR code holding base32
 * text (with an uppercase URL before it) is encoded in alphanumeric mode, 5.5 bits a character
 * instead of 8. Decoding is strict: no lowercase, no I/L/O aliases, no hyphens, no padding, no
 * check symbol, and the unused low bits of the last character must be zero, so every byte string
 * has exactly one text and every accepted text decodes to one byte string.
 *
 * Not for RFC 4648 base32 (another alphabet) and not for reading codes typed by people.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BASE32_ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/* Characters for n bytes: ceil(8n / 5). */
static inline size_t base32_encoded_len(size_t n)
{
	return (n * 8 + 4) / 5;
}

/* The value 0-31 of an alphabet character, or -1 for any other character (lowercase too). */
int base32_value(char c);

/*
 * Encode n bytes (bits taken most significant first) into buf as base32_encoded_len(n)
 * characters and a NUL. Returns the number of characters, or -EINVAL for a NULL argument (in may
 * be NULL when n is 0), -ENOSPC when buf cannot hold the text and its NUL (buf is then "" if
 * size > 0).
 */
__attribute__((warn_unused_result)) int base32_encode(const uint8_t *in, size_t n, char *buf,
						      size_t size);

/*
 * Decode exactly len characters of text into buf. Returns the number of bytes, or -EILSEQ for a
 * character outside the alphabet (checked first), -EINVAL for a NULL argument or a length no byte
 * string encodes to (len % 8 is 1, 3 or 6), -EBADMSG when the unused bits of the last character are
 * not zero (a non-canonical text), -ENOSPC when buf is smaller than the decoded bytes. On failure
 * buf may hold a part of the output.
 */
__attribute__((warn_unused_result)) int base32_decode(const char *text, size_t len, uint8_t *buf,
						      size_t size);

/*
 * Codes of fixed length (the ledger's card codes, coupon ids) as numbers: chars characters
 * (1-12) stand for a chars * 5-bit number, the first character most significant.
 * base32_code_encode writes chars characters and a NUL into buf (which must hold chars + 1);
 * it returns 0, or -EINVAL when chars is out of range or value does not fit chars * 5 bits.
 * base32_code_decode reads exactly chars characters of text (it needs no NUL) and returns 0,
 * -EINVAL when chars is out of range, or -EILSEQ for a character outside the alphabet;
 * *ret_value is written only on success.
 */
__attribute__((warn_unused_result)) int base32_code_encode(uint64_t value, size_t chars, char *buf);
__attribute__((warn_unused_result)) int base32_code_decode(const char *text, size_t chars,
							   uint64_t *ret_value);
