/* template: check and render the store-editable receipt texts (see template.h). */
#include "template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t size, int code, const char *fmt, ...)
{
	if (err && size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	uint32_t c = s[0];
	size_t n;
	uint32_t min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		n = 2, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static const struct template_var *find_var(const struct template_var *vars, size_t n,
					    const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i].name) == len && !memcmp(vars[i].name, name, len))
			return &vars[i];
	return NULL;
}

static void known_list(const struct template_var *vars, size_t n, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", vars[i].name);
		if (w < 0)
			break;
		used += (size_t) w;
	}
}

/*
 * One walk for both jobs: with out NULL it only checks, otherwise it also writes. Returns the
 * output length, or a negative errno with err filled in.
 */
static int walk(const char *src, const struct template_var *vars, size_t n, char *out,
		size_t size, char *err, size_t err_size)
{
	size_t len = strlen(src), o = 0;
	int lines = 1;
	if (len > TEMPLATE_SRC_MAX)
		return fail(err, err_size, -E2BIG, "longer than %d bytes", TEMPLATE_SRC_MAX);
	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *) src + i;
		const char *piece = (const char *) p;
		size_t piece_len;
		if (*p == '{' && p[1] == '{') {
			piece_len = 1, i += 2;
		} else if (*p == '}' && p[1] == '}') {
			piece = "}", piece_len = 1, i += 2;
		} else if (*p == '}') {
			return fail(err, err_size, -EINVAL,
				    "a lone '}' at byte %zu (write }} for a brace)", i);
		} else if (*p == '{') {
			const char *name = (const char *) p + 1;
			size_t nl = 0;
			while (name[nl] && name[nl] != '}' && nl <= TEMPLATE_NAME_MAX)
				nl++;
			if (name[nl] != '}')
				return fail(err, err_size, -EINVAL,
					    "an unclosed '{' at byte %zu (write {{ for a brace)", i);
			if (nl == 0)
				return fail(err, err_size, -EINVAL, "an empty {} at byte %zu", i);
			const struct template_var *v = find_var(vars, n, name, nl);
			if (!v) {
				char known[160];
				known_list(vars, n, known, sizeof(known));
				return fail(err, err_size, -EINVAL,
					    "unknown placeholder {%.*s} at byte %zu; known: %s",
					    (int) nl, name, i, known);
			}
			piece = v->value ? v->value : "";
			piece_len = strlen(piece);
			i += nl + 2;
		} else if (*p == '\n') {
			if (++lines > TEMPLATE_LINES_MAX)
				return fail(err, err_size, -E2BIG, "more than %d lines",
					    TEMPLATE_LINES_MAX);
			piece_len = 1, i++;
		} else if (*p < 0x20 || *p == 0x7f) {
			return fail(err, err_size, -EINVAL,
				    "a control character (0x%02x) at byte %zu", *p, i);
		} else {
			piece_len = utf8_seq(p);
			if (!piece_len || i + piece_len > len)
				return fail(err, err_size, -EINVAL, "invalid UTF-8 at byte %zu", i);
			i += piece_len;
		}
		if (out) {
			if (o + piece_len >= size)
				return -E2BIG;
			memcpy(out + o, piece, piece_len);
		}
		o += piece_len;
	}
	if (out) {
		if (o >= size)
			return -E2BIG;
		out[o] = '\0';
	}
	return o > INT32_MAX ? -E2BIG : (int) o;
}

int template_check(const char *src, const struct template_var *vars, size_t n, char *err,
		   size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	int r = walk(src, vars, n, NULL, 0, err, err_size);
	return r < 0 ? r : 0;
}

int template_render(const char *src, const struct template_var *vars, size_t n, char *out,
		    size_t size)
{
	if (!size)
		return -E2BIG;
	out[0] = '\0';
	int r = walk(src, vars, n, out, size, NULL, 0);
	if (r < 0)
		out[0] = '\0';
	return r;
}
