/* first_name: a first name checked and put in one form (see first_name.h). */
#include "first_name.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * The code point at s[0..len) (strict UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF) and its length, or 0 when the bytes there are not UTF-8.
 */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *ret_cp)
{
	uint32_t cp;
	size_t n;
	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

_Static_assert(FIRST_NAME_CHARS == 24, "the message below says 24");

static bool ascii_letter(uint32_t cp)
{
	return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
}

static bool allowed(uint32_t cp)
{
	if (cp < 0x80)
		return ascii_letter(cp) || cp == ' ' || cp == '-' || cp == '\'' || cp == '.';
	if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7)
		return false;
	if ((cp >= 0x2000 && cp <= 0x206f) || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff ||
	    (cp >= 0xfff0 && cp <= 0xffff))
		return false;
	if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000) /* private use */
		return false;
	if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe) /* noncharacters */
		return false;
	return true;
}

int first_name_clean(const char *text, size_t len, char out[FIRST_NAME_MAX], const char **ret_why)
{
	const unsigned char *s = (const unsigned char *) text;
	char buf[FIRST_NAME_MAX];
	size_t o = 0, chars = 0;
	bool letter = false, space = false;
	const char *why = NULL;
	if (!text || !out) {
		why = "no first name";
		goto bad;
	}
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_next(s + i, len - i, &cp);
		if (!n) {
			why = "the first name is not valid UTF-8 text";
			goto bad;
		}
		if (!allowed(cp)) {
			why = cp < 0x20 || (cp >= 0x7f && cp < 0xa0)
				  ? "the first name holds a control character"
				  : "the first name holds a character that is not part of a name "
				    "(letters, spaces, '-', '\\'' and '.' are)";
			goto bad;
		}
		if (cp == ' ') {
			space = o > 0; /* dropped at the start; one kept before the next */
			i += n;
			continue;
		}
		if (space) {
			if (++chars > FIRST_NAME_CHARS)
				goto long_name;
			buf[o++] = ' ';
			space = false;
		}
		if (++chars > FIRST_NAME_CHARS)
			goto long_name;
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
		letter |= ascii_letter(cp) || cp >= 0xc0;
	}
	if (!letter) {
		why = o ? "the first name has no letter" : "the first name is empty";
		goto bad;
	}
	buf[o] = '\0';
	memcpy(out, buf, o + 1);
	return 0;
long_name:
	why = "the first name is longer than 24 characters";
bad:
	if (ret_why)
		*ret_why = why;
	return -EINVAL;
}
