/* sun_keys: the --sun-keys file's two lines of hex, parsed strictly. */
#include "sun_keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "hex.h"

#define LINE_HEX (2 * SUN_KEY_LEN)

static const char *const line_names[2] = {"SDMMetaReadKey", "SDMFileReadKey"};

static int refuse(char *err, size_t size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(char *err, size_t size, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && size)
		vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return r;
}

/* What a character that is not a hex digit is, for a person: never a key's digit. */
static void describe(char c, char out[16])
{
	unsigned char u = (unsigned char) c;
	if (u == '\0')
		snprintf(out, 16, "a NUL byte");
	else if (u == ' ')
		snprintf(out, 16, "a space");
	else if (u == '\t')
		snprintf(out, 16, "a tab");
	else if (u == '\r')
		snprintf(out, 16, "a lone CR");
	else if (u > ' ' && u < 0x7f)
		snprintf(out, 16, "'%c'", c);
	else
		snprintf(out, 16, "byte 0x%02X", u);
}

/*
 * One line from *pos: its hex digits into key, *pos past its end ("\n", "\r\n" or the end of
 * the text). The line's number n is 1 or 2.
 */
static int parse_line(const char *text, size_t len, size_t *pos, int n, uint8_t key[SUN_KEY_LEN],
		      char *err, size_t err_size)
{
	const char *name = line_names[n - 1];
	size_t i = *pos, digits = 0;
	for (; i < len && text[i] != '\n'; i++) {
		if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
			break;
		int v = hex_digit_value(text[i]);
		if (v < 0) {
			char what[16];
			describe(text[i], what);
			return refuse(err, err_size, -EINVAL,
				      "line %d (%s): %s at column %zu, expected only hex digits", n,
				      name, what, digits + 1);
		}
		if (digits < LINE_HEX) {
			if (digits % 2 == 0)
				key[digits / 2] = (uint8_t) (v << 4);
			else
				key[digits / 2] |= (uint8_t) v;
		}
		digits++;
	}
	if (digits == 0)
		return refuse(err, err_size, -EINVAL, "line %d (%s): empty, expected %d hex digits",
			      n, name, LINE_HEX);
	if (digits != LINE_HEX)
		return refuse(err, err_size, -EINVAL, "line %d (%s): %zu hex digits, expected %d",
			      n, name, digits, LINE_HEX);
	if (i < len && text[i] == '\r')
		i++;
	if (i < len)
		i++; /* the '\n' */
	*pos = i;
	return 0;
}

int sun_keys_parse(const char *text, size_t len, uint8_t ret_meta_key[SUN_KEY_LEN],
		   uint8_t ret_file_key[SUN_KEY_LEN], char *err, size_t err_size)
{
	uint8_t keys[2][SUN_KEY_LEN];
	size_t pos = 0;
	int r;

	if (!text || !ret_meta_key || !ret_file_key)
		return refuse(err, err_size, -EINVAL, "no text");
	if (len > SUN_KEYS_TEXT_MAX)
		return refuse(err, err_size, -EFBIG, "%zu bytes, more than %d", len,
			      SUN_KEYS_TEXT_MAX);
	if (len == 0)
		return refuse(err, err_size, -EINVAL, "empty, expected two lines of %d hex digits",
			      LINE_HEX);
	r = parse_line(text, len, &pos, 1, keys[0], err, err_size);
	if (r == 0 && pos == len)
		r = refuse(err, err_size, -EINVAL, "line 2 (%s): missing", line_names[1]);
	if (r == 0)
		r = parse_line(text, len, &pos, 2, keys[1], err, err_size);
	if (r == 0 && pos < len)
		r = refuse(err, err_size, -EINVAL, "line 3: text after the second key's line");
	if (r == 0) {
		memcpy(ret_meta_key, keys[0], SUN_KEY_LEN);
		memcpy(ret_file_key, keys[1], SUN_KEY_LEN);
	}
	sodium_memzero(keys, sizeof(keys));
	return r;
}
