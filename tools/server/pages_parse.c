/* pages_parse: paths, languages, form bodies and card codes for the customer's pages. */
#include "pages_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base32.h"
#include "hex.h"

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void pages_parse_path(const char *path, struct pages_path *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->route = PAGES_NOT_FOUND;
	if (!path || path[0] != '/' || (path[1] != 'C' && path[1] != 'c') || path[2] != '/')
		return;
	const char *t = path + 3;
	size_t n = 0;
	bool lower = false;
	while (is_alnum(t[n])) {
		if (t[n] >= 'a' && t[n] <= 'z')
			lower = true;
		if (++n > PAGES_PATH_TOKEN_MAX)
			return;
	}
	if (n == 0)
		return;
	enum pages_route route;
	if (t[n] == '\0')
		route = PAGES_TOKEN;
	else if (!strcmp(t + n, "/data.json"))
		route = PAGES_TOKEN_DATA;
	else
		return;
	memcpy(ret->token, t, n);
	ret->token[n] = '\0';
	ret->token_len = n;
	ret->lower_prefix = path[1] == 'c';
	ret->token_lower = lower;
	ret->route = route;
}

/* ---- Accept-Language ---- */

/* A q value "0", "0.x", "0.xy", "0.xyz", "1", "1.0", "1.00", "1.000" in thousandths; -1 bad. */
static int qvalue(const char *s, size_t n)
{
	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	int v = (s[0] - '0') * 1000, scale = 100;
	if (n == 1)
		return v;
	if (s[1] != '.' || n > 5)
		return -1;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
			return -1;
		v += (s[i] - '0') * scale;
		scale /= 10;
	}
	return v;
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

enum pages_lang pages_pick_lang(const char *lang_param, const char *accept)
{
	if (lang_param && !strcmp(lang_param, "en"))
		return PAGES_EN;
	if (lang_param && !strcmp(lang_param, "pl"))
		return PAGES_PL;
	if (!accept)
		return PAGES_PL;
	int best_q = 0;
	enum pages_lang best = PAGES_PL;
	size_t len = strnlen(accept, 1024);
	for (size_t i = 0; i < len;) {
		/* one element: up to the next comma */
		size_t end = i;
		while (end < len && accept[end] != ',')
			end++;
		size_t a = i, b = end;
		while (a < b && ows(accept[a]))
			a++;
		size_t tag_end = a;
		while (tag_end < b && accept[tag_end] != ';' && !ows(accept[tag_end]))
			tag_end++;
		int q = 1000;
		/* parameters: only q is looked at */
		for (size_t p = tag_end; p < b;) {
			while (p < b && (ows(accept[p]) || accept[p] == ';'))
				p++;
			size_t pe = p;
			while (pe < b && accept[pe] != ';')
				pe++;
			size_t ve = pe;
			while (ve > p && ows(accept[ve - 1]))
				ve--;
			if (ve - p >= 2 && (accept[p] == 'q' || accept[p] == 'Q') &&
			    accept[p + 1] == '=')
				q = qvalue(accept + p + 2, ve - p - 2);
			p = pe;
		}
		size_t tl = tag_end - a;
		/* the primary subtag: "pl", "en", "pl-PL", "en-GB" (case-insensitive) */
		enum pages_lang lang;
		bool known = false;
		if (tl >= 2 && (tl == 2 || accept[a + 2] == '-')) {
			char c0 = (char) (accept[a] | 0x20), c1 = (char) (accept[a + 1] | 0x20);
			if (c0 == 'p' && c1 == 'l')
				lang = PAGES_PL, known = true;
			else if (c0 == 'e' && c1 == 'n')
				lang = PAGES_EN, known = true;
		}
		if (known && q > best_q) {
			best_q = q;
			best = lang;
		}
		i = end + 1;
	}
	return best;
}

/* ---- forms ---- */

static int refuse(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (why && size)
		vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Percent-decode s[0..n) into out (size), NUL-terminated; -1 bad escape, -2 too long. */
static int url_decode(const char *s, size_t n, char *out, size_t size, size_t *ret_len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char) s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			if ((h = hex_digit_value(s[i + 1])) < 0 || (l = hex_digit_value(s[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (o + 1 >= size)
			return -2;
		out[o++] = (char) c;
	}
	out[o] = '\0';
	*ret_len = o;
	return 0;
}

/* Valid UTF-8 (shortest forms, no surrogates, up to U+10FFFF) without control characters
 * (a line feed allowed when lf). */
static bool text_ok(const char *s, size_t n, bool lf)
{
	const unsigned char *u = (const unsigned char *) s;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		if (c < 0x80) {
			if ((c < 0x20 && !(lf && c == '\n')) || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len;
		unsigned cp, min;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0))
			return false;
		i += len;
	}
	return true;
}

static const char *const field_names[PAGES_F_MAX] = {
    [PAGES_F_CSRF] = "csrf",	       [PAGES_F_ACTION] = "action",
    [PAGES_F_CARD] = "card",	       [PAGES_F_SCORE] = "score",
    [PAGES_F_COMMENT] = "comment",     [PAGES_F_RECEIPT] = "receipt",
    [PAGES_F_MARKETING] = "marketing", [PAGES_F_FIRST_NAME] = "first_name",
    [PAGES_F_CONFIRM] = "confirm",     [PAGES_F_NAME] = "name",
};

int pages_parse_form(const char *body, size_t len, struct pages_form *ret, char *why,
		     size_t why_size)
{
	struct pages_form f;
	char name[16], value[3 * PAGES_COMMENT_MAX + 1];
	memset(&f, 0, sizeof(f));
	f.score = -1;
	if (!body && len)
		return refuse(why, why_size, "no body");
	if (len > PAGES_FORM_MAX)
		return refuse(why, why_size, "the form is larger than %d bytes", PAGES_FORM_MAX);
	for (size_t i = 0; i < len;) {
		size_t end = i, eq;
		while (end < len && body[end] != '&')
			end++;
		if (end == i)
			return refuse(why, why_size, "an empty field");
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		if (eq == end)
			return refuse(why, why_size, "a field without '='");
		size_t nl, vl;
		if (url_decode(body + i, eq - i, name, sizeof(name), &nl) < 0)
			return refuse(why, why_size, "a field name that is not one of the form's");
		int r = url_decode(body + eq + 1, end - eq - 1, value, sizeof(value), &vl);
		if (r == -1)
			return refuse(why, why_size, "%s: a bad %%-escape", name);
		if (r == -2)
			return refuse(why, why_size, "%s: too long", name);
		int k;
		for (k = 0; k < PAGES_F_MAX; k++)
			if (strlen(field_names[k]) == nl && !memcmp(field_names[k], name, nl))
				break;
		if (k == PAGES_F_MAX)
			return refuse(why, why_size, "a field that is not one of the form's");
		if (f.has[k])
			return refuse(why, why_size, "%s: given twice", field_names[k]);
		f.has[k] = true;
		if (memchr(value, '\0', vl))
			return refuse(why, why_size, "%s: a NUL byte", field_names[k]);
		if (k == PAGES_F_COMMENT) {
			/* line breaks as typed: CR LF or LF; the CRs go */
			size_t o = 0;
			for (size_t x = 0; x < vl; x++)
				if (value[x] != '\r')
					value[o++] = value[x];
			value[o] = '\0';
			vl = o;
		}
		if (!text_ok(value, vl, k == PAGES_F_COMMENT))
			return refuse(why, why_size, "%s: not text", field_names[k]);
		switch (k) {
		case PAGES_F_CSRF:
		case PAGES_F_ACTION:
		case PAGES_F_CARD:
		case PAGES_F_RECEIPT:
		case PAGES_F_NAME:
		case PAGES_F_COMMENT: {
			char *dst = k == PAGES_F_CSRF	   ? f.csrf
				    : k == PAGES_F_ACTION  ? f.action
				    : k == PAGES_F_CARD	   ? f.card
				    : k == PAGES_F_RECEIPT ? f.receipt
				    : k == PAGES_F_NAME	   ? f.name
							   : f.comment;
			size_t size = k == PAGES_F_CSRF	     ? sizeof(f.csrf)
				      : k == PAGES_F_ACTION  ? sizeof(f.action)
				      : k == PAGES_F_CARD    ? sizeof(f.card)
				      : k == PAGES_F_RECEIPT ? sizeof(f.receipt)
				      : k == PAGES_F_NAME    ? sizeof(f.name)
							     : sizeof(f.comment);
			if (vl >= size)
				return refuse(why, why_size, "%s: too long", field_names[k]);
			memcpy(dst, value, vl + 1);
			if (k == PAGES_F_CARD && !strcmp(value, "new"))
				f.new_card = true;
			break;
		}
		case PAGES_F_SCORE:
			if (vl < 1 || vl > 2 || value[0] < '0' || value[0] > '9' ||
			    (vl == 2 && (value[0] != '1' || value[1] != '0')))
				return refuse(why, why_size, "score: a whole number from 0 to 10");
			f.score = vl == 2 ? 10 : value[0] - '0';
			break;
		default:
			if (strcmp(value, "on"))
				return refuse(why, why_size, "%s: a checkbox is \"on\"",
					      field_names[k]);
			if (k == PAGES_F_MARKETING)
				f.marketing = true;
			else if (k == PAGES_F_FIRST_NAME)
				f.first_name = true;
			else
				f.confirm = true;
		}
		i = end + 1;
		if (end + 1 == len)
			return refuse(why, why_size, "an empty field at the end");
	}
	*ret = f;
	return 0;
}

int pages_card_code(const char *typed, char out[LEDGER_CARD_CODE_LEN + 1])
{
	char code[LEDGER_CARD_CODE_LEN + 1];
	size_t n = 0;
	if (!typed)
		return -EINVAL;
	for (const char *p = typed; *p; p++) {
		char c = *p;
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		if (c == 'I' || c == 'L')
			c = '1';
		else if (c == 'O')
			c = '0';
		if (base32_value(c) < 0 || n == LEDGER_CARD_CODE_LEN)
			return -EINVAL;
		code[n++] = c;
	}
	if (n != LEDGER_CARD_CODE_LEN)
		return -EINVAL;
	code[n] = '\0';
	memcpy(out, code, sizeof(code));
	return 0;
}

int pages_parse_receipt(const char *text, char terminal_id[LEDGER_TERMINAL_ID_MAX + 1],
			int64_t *ret_seq)
{
	const char *dash = text ? strrchr(text, '-') : NULL;
	if (!dash)
		return -EINVAL;
	size_t tl = (size_t) (dash - text), dl = strlen(dash + 1);
	if (tl < 1 || tl > LEDGER_TERMINAL_ID_MAX || dl < 1 || dl > 10)
		return -EINVAL;
	int64_t seq = 0;
	for (size_t i = 0; i < tl; i++)
		if (!((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= '0' && text[i] <= '9')))
			return -EINVAL;
	for (size_t i = 0; i < dl; i++) {
		char c = dash[1 + i];
		if (c < '0' || c > '9')
			return -EINVAL;
		seq = seq * 10 + (c - '0');
	}
	if (seq < 1 || seq > UINT32_MAX)
		return -EINVAL;
	memcpy(terminal_id, text, tl);
	terminal_id[tl] = '\0';
	*ret_seq = seq;
	return 0;
}

int pages_html(struct buf *b, const char *s)
{
	const char *run = s;
	int r;
	for (; *s; s++) {
		const char *rep;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if ((r = buf_append(b, run, (size_t) (s - run))) < 0 ||
		    (r = buf_append_str(b, rep)) < 0)
			return r;
		run = s + 1;
	}
	return buf_append(b, run, (size_t) (s - run));
}
