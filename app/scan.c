/* scan: routing of a scanned line (card, coupon, claim, phone number, or unknown and why). */
#include "scan.h"

#include <errno.h>
#include <string.h>

#include "scanner.h"

_Static_assert(SCAN_LINE_MAX == HAL_SCANNER_LINE_MAX, "a scanner line must fit scan_route");

/* Base32 characters of the shortest thing that could be a token (a header and a signature):
 * shorter runs of base32 are some other code, longer ones a damaged token. */
#define TOKEN_TEXT_MIN (((TOKEN_HEADER_LEN + TOKEN_SIG_LEN) * 8 + 4) / 5)

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_base32(char c)
{
	return c != '\0' && strchr(alphabet, c) != NULL;
}

static bool all_base32(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_base32(s[i]))
			return false;
	}
	return true;
}

static char lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char) (c - 'A' + 'a');
	return c;
}

static bool prefix_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > len)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (lower(s[i]) != lower(prefix[i]))
			return false;
	}
	return true;
}

static const char *find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(s + i, needle, n) == 0)
			return s + i;
	}
	return NULL;
}

/* A scheme ([A-Za-z][A-Za-z0-9+.-]*) followed by "://". */
static bool is_url(const char *s, size_t len)
{
	const char *sep = find(s, len, "://");
	if (!sep || sep == s)
		return false;
	for (const char *p = s; p < sep; p++) {
		char c = lower(*p);
		bool ok = (c >= 'a' && c <= 'z') ||
			  (p > s && (is_digit(c) || c == '+' || c == '.' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

/* An EAN-8, UPC-A or EAN-13 with its check digit right. */
static bool is_product_code(const char *s, size_t len)
{
	unsigned sum = 0;
	if (len != 8 && len != 12 && len != 13)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	/* weights 3, 1, 3, ... from the digit left of the check digit */
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned d = (unsigned) (s[len - 2 - i] - '0');
		sum += i % 2 == 0 ? 3 * d : d;
	}
	return (sum + (unsigned) (s[len - 1] - '0')) % 10 == 0;
}

/* "+48" and 9 digits, the first not 0, single spaces or dashes allowed between digits (and
 * after +48); "tel:" before it too. */
static enum scan_reason parse_phone(const char *s, size_t len, struct scan_result *r)
{
	size_t i = 0, digits = 0;
	char out[SCAN_PHONE_LEN + 1] = "+48";

	if (prefix_nocase(s, len, "tel:"))
		i = 4;
	if (len - i < 3 || memcmp(s + i, "+48", 3) != 0)
		return SCAN_BAD_PHONE;
	i += 3;
	for (bool sep_ok = true; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '-') {
			if (!sep_ok)
				return SCAN_BAD_PHONE;
			sep_ok = false;
			continue;
		}
		if (!is_digit(c) || digits == 9 || (digits == 0 && c == '0'))
			return SCAN_BAD_PHONE;
		out[3 + digits++] = c;
		sep_ok = true;
	}
	if (digits != 9 || s[len - 1] == ' ' || s[len - 1] == '-')
		return SCAN_BAD_PHONE;
	out[SCAN_PHONE_LEN] = '\0';
	memcpy(r->phone, out, sizeof(out));
	r->kind = SCAN_PHONE;
	return SCAN_REASON_NONE;
}

/* Token text: a card, coupon or claim by token_peek, or why not. */
static enum scan_reason route_token(const char *text, size_t len, struct scan_result *r)
{
	struct token tok;
	enum token_status st;

	if (token_peek(text, len, &tok, &st) < 0)
		return SCAN_UNRECOGNISED;
	r->text = text;
	r->text_len = len;
	r->token_status = st;
	if (st != TOKEN_OK)
		return SCAN_BAD_TOKEN;
	r->token = tok;
	switch (tok.type) {
	case TOKEN_CARD:
		r->kind = SCAN_CARD;
		memcpy(r->card_code, tok.card_code, sizeof(r->card_code));
		break;
	case TOKEN_COUPON:
		r->kind = SCAN_COUPON;
		break;
	case TOKEN_CLAIM:
		r->kind = SCAN_CLAIM;
		break;
	case TOKEN_TYPE_MAX:
	default:
		return SCAN_BAD_TOKEN; /* token_peek never lets another type through */
	}
	return SCAN_REASON_NONE;
}

static enum scan_reason route_url(const char *s, size_t len, const char *base,
				  struct scan_result *r)
{
	size_t blen = base ? strlen(base) : 0;
	bool ours = blen > 0 && prefix_nocase(s, len, base);
	const char *tail;
	size_t tail_len;

	if (memchr(s, '?', len) || memchr(s, '#', len))
		return SCAN_URL_QUERY;
	if (ours && len - blen == TOKEN_CARD_CODE_LEN && all_base32(s + blen, len - blen)) {
		r->kind = SCAN_CARD;
		r->plain_code = true;
		r->text = s + blen;
		r->text_len = TOKEN_CARD_CODE_LEN;
		memcpy(r->card_code, s + blen, TOKEN_CARD_CODE_LEN);
		r->card_code[TOKEN_CARD_CODE_LEN] = '\0';
		return SCAN_REASON_NONE;
	}
	tail = s + len;
	while (tail > s && tail[-1] != '/')
		tail--;
	tail_len = (size_t) (s + len - tail);
	/* on our base anything is a damaged card link; elsewhere only what looks like a token */
	if (tail_len == 0 || (!ours && (!all_base32(tail, tail_len) || tail_len < TOKEN_TEXT_MIN)))
		return SCAN_NOT_OUR_URL;
	return route_token(tail, tail_len, r);
}

int scan_route(const char *line, size_t len, const char *card_url_base,
	       struct scan_result *ret_result)
{
	struct scan_result r;
	enum scan_reason why;

	if ((!line && len > 0) || !ret_result)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	if (len == 0) {
		why = SCAN_EMPTY;
		goto out;
	}
	if (len > SCAN_LINE_MAX) {
		why = SCAN_TOO_LONG;
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) line[i];
		if (c < 0x20 || c > 0x7e) {
			why = SCAN_BAD_CHAR;
			goto out;
		}
	}
	if (line[0] == '+' || prefix_nocase(line, len, "tel:"))
		why = parse_phone(line, len, &r);
	else if (is_url(line, len))
		why = route_url(line, len, card_url_base, &r);
	else if (is_product_code(line, len))
		why = SCAN_PRODUCT_BARCODE;
	else if (all_base32(line, len) && len >= TOKEN_TEXT_MIN)
		why = route_token(line, len, &r);
	else
		why = SCAN_UNRECOGNISED;
out:
	if (why != SCAN_REASON_NONE) {
		/* an unknown line hands up nothing but the reason (and token_peek's) */
		enum token_status st = r.token_status;
		const char *text = r.text;
		size_t text_len = r.text_len;
		memset(&r, 0, sizeof(r));
		if (why == SCAN_BAD_TOKEN) {
			r.token_status = st;
			r.text = text;
			r.text_len = text_len;
		}
		r.kind = SCAN_UNKNOWN;
		r.reason = why;
	}
	*ret_result = r;
	return 0;
}

const char *scan_kind_name(enum scan_kind kind)
{
	switch (kind) {
	case SCAN_UNKNOWN:
		return "unknown";
	case SCAN_CARD:
		return "card";
	case SCAN_COUPON:
		return "coupon";
	case SCAN_CLAIM:
		return "claim";
	case SCAN_PHONE:
		return "phone";
	case SCAN_KIND_MAX:
		break;
	}
	return "unknown";
}

const char *scan_reason_str(enum scan_reason reason)
{
	switch (reason) {
	case SCAN_REASON_NONE:
		return "recognised";
	case SCAN_EMPTY:
		return "nothing was scanned";
	case SCAN_TOO_LONG:
		return "the code is too long";
	case SCAN_BAD_CHAR:
		return "the code holds control or non-ASCII characters";
	case SCAN_URL_QUERY:
		return "a web link with parameters, not a loyalty code";
	case SCAN_NOT_OUR_URL:
		return "a web link that is not a loyalty code";
	case SCAN_BAD_TOKEN:
		return "a damaged or unknown loyalty code";
	case SCAN_BAD_PHONE:
		return "not a Polish phone number (+48 and 9 digits)";
	case SCAN_PRODUCT_BARCODE:
		return "a product barcode, not a loyalty code";
	case SCAN_UNRECOGNISED:
		return "not a loyalty code";
	case SCAN_REASON_MAX:
		break;
	}
	return "unknown reason";
}
