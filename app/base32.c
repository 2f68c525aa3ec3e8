/*
 * base32: strict Crockford base32 for the tokens and codes the terminal prints. The bit order is
 * that of RFC 4648 (most significant first, 5 bits a character) with Crockford's alphabet and no
 * padding.
 */
#include "base32.h"

#include <errno.h>
#include <string.h>

#define BASE32_CODE_CHARS_MAX 12 /* 60 bits, the longest code in a uint64_t */

int base32_value(char c)
{
	static const char alphabet[] = BASE32_ALPHABET;
	if (c == '\0')
		return -1;
	const char *p = strchr(alphabet, c);
	return p ? (int) (p - alphabet) : -1;
}

int base32_encode(const uint8_t *in, size_t n, char *buf, size_t size)
{
	static const char alphabet[] = BASE32_ALPHABET;
	if (!buf || (!in && n > 0))
		return -EINVAL;
	size_t chars = base32_encoded_len(n);
	if (n > (size_t) INT32_MAX / 2 || chars >= size) {
		if (size > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xfffu; /* at most 4 bits wait from before, plus 8 */
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			buf[out++] = alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		buf[out++] = alphabet[(acc << (5 - bits)) & 31];
	buf[out] = '\0';
	return (int) out;
}

int base32_decode(const char *text, size_t len, uint8_t *buf, size_t size)
{
	if (!text || (!buf && size > 0))
		return -EINVAL;
	/* characters first: text that is not base32 at all is told as such, whatever its length */
	for (size_t i = 0; i < len; i++)
		if (base32_value(text[i]) < 0)
			return -EILSEQ;
	size_t rem = len % 8;
	if (rem == 1 || rem == 3 || rem == 6 || len > (size_t) INT32_MAX)
		return -EINVAL;
	size_t n = len * 5 / 8;
	if (n > size)
		return -ENOSPC;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t out = 0;
	for (size_t i = 0; i < len; i++) {
		int v = base32_value(text[i]);
		acc = (acc << 5 | (uint32_t) v) & 0x1fffu; /* at most 7 bits wait, plus 5 */
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			buf[out++] = (uint8_t) (acc >> bits);
		}
	}
	/* what is left (fewer than 5 bits) pads the last character and must be zero */
	if (acc & ((1u << bits) - 1))
		return -EBADMSG;
	return (int) out;
}

int base32_code_encode(uint64_t value, size_t chars, char *buf)
{
	static const char alphabet[] = BASE32_ALPHABET;
	if (!buf || chars < 1 || chars > BASE32_CODE_CHARS_MAX || value >> (chars * 5) != 0)
		return -EINVAL;
	for (size_t i = chars; i-- > 0;) {
		buf[i] = alphabet[value & 31];
		value >>= 5;
	}
	buf[chars] = '\0';
	return 0;
}

int base32_code_decode(const char *text, size_t chars, uint64_t *ret_value)
{
	if (!text || !ret_value || chars < 1 || chars > BASE32_CODE_CHARS_MAX)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < chars; i++) {
		int d = base32_value(text[i]);
		if (d < 0)
			return -EILSEQ;
		v = v << 5 | (uint64_t) d;
	}
	*ret_value = v;
	return 0;
}
