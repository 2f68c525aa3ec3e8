/*
 * token: the binary layout of signed tokens, their base32 text and their checks. The layout is
 * described field by field in docs/tokens.md; this file is its only encoder and decoder.
 */
#include "token.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"

/* Prefixed to the signed bytes, so a device key's token signature means nothing elsewhere. */
#define SIGN_CONTEXT	 "loyalty/token"
#define SIGN_CONTEXT_LEN (sizeof(SIGN_CONTEXT) - 1)

#define CARD_BODY_LEN	8  /* the 60-bit card code in 8 bytes, top 4 bits zero */
#define COUPON_BODY_LEN 7  /* the 50-bit coupon id in 7 bytes, top 6 bits zero */
#define CLAIM_FIXED_LEN 13 /* terminal id length, seq, points, amount */

_Static_assert(TOKEN_CARD_CODE_LEN * 5 == 60, "card code is 60 bits");
_Static_assert(TOKEN_COUPON_ID_LEN * 5 == 50, "coupon id is 50 bits");
_Static_assert(TOKEN_BYTES_MAX == TOKEN_HEADER_LEN + 1 + TOKEN_TERMINAL_ID_MAX + 12 + TOKEN_SIG_LEN,
	       "claim is the longest type");
_Static_assert(TOKEN_TEXT_MAX == (TOKEN_BYTES_MAX * 8 + 4) / 5, "TOKEN_TEXT_MAX");
_Static_assert(TOKEN_PUBLIC_KEY_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key");
_Static_assert(TOKEN_SECRET_KEY_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key");
_Static_assert(TOKEN_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature");

const char *token_status_str(enum token_status status)
{
	switch (status) {
	case TOKEN_OK:
		return "valid";
	case TOKEN_BAD_LENGTH:
		return "wrong length";
	case TOKEN_BAD_CHAR:
		return "character outside the token alphabet";
	case TOKEN_NOT_CANONICAL:
		return "not in canonical form";
	case TOKEN_BAD_VERSION:
		return "unknown token version";
	case TOKEN_BAD_TYPE:
		return "unknown token type";
	case TOKEN_BAD_FIELD:
		return "field out of range";
	case TOKEN_UNKNOWN_KEY:
		return "unknown key";
	case TOKEN_KEY_NOT_ALLOWED:
		return "key may not sign this type";
	case TOKEN_BAD_SIGNATURE:
		return "bad signature";
	case TOKEN_EXPIRED:
		return "expired";
	case TOKEN_STATUS_MAX:
		break;
	}
	return "unknown status";
}

uint32_t token_key_id(const uint8_t public_key[TOKEN_PUBLIC_KEY_LEN])
{
	uint8_t h[crypto_generichash_BYTES];
	if (sodium_init() < 0)
		return 0; /* libsodium unusable: token_verify refuses every token then anyway */
	crypto_generichash(h, sizeof(h), public_key, TOKEN_PUBLIC_KEY_LEN, NULL, 0);
	return (uint32_t) h[0] << 24 | (uint32_t) h[1] << 16 | (uint32_t) h[2] << 8 | h[3];
}

void token_key_init(struct token_key *ret_key, const uint8_t public_key[TOKEN_PUBLIC_KEY_LEN],
		    unsigned types)
{
	struct token_key k = {.key_id = token_key_id(public_key), .types = types};
	memcpy(k.public_key, public_key, TOKEN_PUBLIC_KEY_LEN);
	*ret_key = k;
}

/* ---- big-endian fields ---- */

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		p[i] = (uint8_t) v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static bool terminal_id_valid(const char *id, size_t len)
{
	if (len < 1 || len > TOKEN_TERMINAL_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* The code of exactly chars base32 characters followed by a NUL, as a number. */
static int code_value(const char *code, size_t chars, uint64_t *ret_value)
{
	if (strnlen(code, chars + 1) != chars)
		return -EINVAL;
	return base32_code_decode(code, chars, ret_value) < 0 ? -EINVAL : 0;
}

/* ---- encoding ---- */

/* The unsigned bytes of tok into buf (TOKEN_BYTES_MAX - TOKEN_SIG_LEN); returns their length. */
static int encode_body(const struct token *tok, uint32_t key_id, uint8_t *buf)
{
	if (tok->issued_s < TOKEN_EPOCH_S || tok->expires_s <= tok->issued_s)
		return -ERANGE;
	/* issue time rounded down, expiry up: a token is never valid for less than asked */
	int64_t issued_h = (tok->issued_s - TOKEN_EPOCH_S) / 3600;
	int64_t rel = tok->expires_s - TOKEN_EPOCH_S;
	if (rel > (int64_t) TOKEN_HOURS_MAX * 3600)
		return -ERANGE;
	int64_t expires_h = rel / 3600 + (rel % 3600 != 0);
	if (expires_h > TOKEN_HOURS_MAX)
		return -ERANGE;

	buf[0] = TOKEN_VERSION;
	buf[1] = (uint8_t) tok->type;
	put_be(buf + 2, key_id, 4);
	put_be(buf + 6, (uint64_t) issued_h, 3);
	put_be(buf + 9, (uint64_t) expires_h, 3);
	uint8_t *p = buf + TOKEN_HEADER_LEN;
	uint64_t v;

	switch (tok->type) {
	case TOKEN_CARD:
		if (code_value(tok->card_code, TOKEN_CARD_CODE_LEN, &v) < 0)
			return -EINVAL;
		put_be(p, v, CARD_BODY_LEN);
		return TOKEN_HEADER_LEN + CARD_BODY_LEN;
	case TOKEN_COUPON:
		if (code_value(tok->coupon_id, TOKEN_COUPON_ID_LEN, &v) < 0)
			return -EINVAL;
		put_be(p, v, COUPON_BODY_LEN);
		return TOKEN_HEADER_LEN + COUPON_BODY_LEN;
	case TOKEN_CLAIM: {
		const struct token_claim *c = &tok->claim;
		size_t n = strnlen(c->terminal_id, sizeof(c->terminal_id));
		if (!terminal_id_valid(c->terminal_id, n) || c->seq == 0)
			return -EINVAL;
		if (c->points_pts < 0 || c->points_pts > UINT32_MAX || c->amount_gr < 0 ||
		    c->amount_gr > UINT32_MAX)
			return -ERANGE;
		*p++ = (uint8_t) n;
		memcpy(p, c->terminal_id, n);
		p += n;
		put_be(p, c->seq, 4);
		put_be(p + 4, (uint64_t) c->points_pts, 4);
		put_be(p + 8, (uint64_t) c->amount_gr, 4);
		return (int) (TOKEN_HEADER_LEN + CLAIM_FIXED_LEN + n);
	}
	case TOKEN_TYPE_MAX:
		break;
	}
	return -EINVAL;
}

static void sign_message(const uint8_t *body, size_t len, uint8_t *msg)
{
	memcpy(msg, SIGN_CONTEXT, SIGN_CONTEXT_LEN);
	memcpy(msg + SIGN_CONTEXT_LEN, body, len);
}

int token_sign(const struct token *tok, const uint8_t secret_key[TOKEN_SECRET_KEY_LEN], char *buf,
	       size_t size)
{
	if (!tok || !secret_key || !buf)
		return -EINVAL;
	if (size > 0)
		buf[0] = '\0';
	if (sodium_init() < 0)
		return -EIO;
	uint8_t bytes[TOKEN_BYTES_MAX];
	int n = encode_body(tok, token_key_id(secret_key + crypto_sign_SEEDBYTES), bytes);
	if (n < 0)
		return n;

	uint8_t msg[SIGN_CONTEXT_LEN + TOKEN_BYTES_MAX];
	sign_message(bytes, (size_t) n, msg);
	if (crypto_sign_detached(bytes + n, NULL, msg, SIGN_CONTEXT_LEN + (size_t) n, secret_key) !=
	    0)
		return -EIO;
	int r = base32_encode(bytes, (size_t) n + TOKEN_SIG_LEN, buf, size);
	sodium_memzero(msg, sizeof(msg));
	return r;
}

/* ---- decoding ---- */

/* Layout checks; on TOKEN_OK *ret_token holds the fields and *ret_body_len the signed length. */
static enum token_status parse(const char *text, size_t len, uint8_t bytes[TOKEN_BYTES_MAX],
			       size_t *ret_body_len, struct token *ret_token)
{
	if (len > TOKEN_TEXT_MAX)
		return TOKEN_BAD_LENGTH;
	int n = base32_decode(text, len, bytes, TOKEN_BYTES_MAX);
	if (n == -EILSEQ)
		return TOKEN_BAD_CHAR;
	if (n == -EBADMSG)
		return TOKEN_NOT_CANONICAL;
	if (n < 0 || n < TOKEN_HEADER_LEN + TOKEN_SIG_LEN)
		return TOKEN_BAD_LENGTH;
	if (bytes[0] != TOKEN_VERSION)
		return TOKEN_BAD_VERSION;

	size_t body = (size_t) n - TOKEN_SIG_LEN;
	const uint8_t *p = bytes + TOKEN_HEADER_LEN;
	size_t fields = body - TOKEN_HEADER_LEN;
	/* zeroed whole, padding and the union's unused bytes too, so tokens compare with memcmp */
	struct token t;
	memset(&t, 0, sizeof(t));
	t.key_id = (uint32_t) get_be(bytes + 2, 4);
	t.issued_s = TOKEN_EPOCH_S + (int64_t) get_be(bytes + 6, 3) * 3600;
	t.expires_s = TOKEN_EPOCH_S + (int64_t) get_be(bytes + 9, 3) * 3600;
	uint64_t v;
	switch (bytes[1]) {
	case TOKEN_CARD:
		t.type = TOKEN_CARD;
		if (fields != CARD_BODY_LEN)
			return TOKEN_BAD_LENGTH;
		v = get_be(p, CARD_BODY_LEN);
		if (base32_code_encode(v, TOKEN_CARD_CODE_LEN, t.card_code) < 0)
			return TOKEN_BAD_FIELD;
		break;
	case TOKEN_COUPON:
		t.type = TOKEN_COUPON;
		if (fields != COUPON_BODY_LEN)
			return TOKEN_BAD_LENGTH;
		v = get_be(p, COUPON_BODY_LEN);
		if (base32_code_encode(v, TOKEN_COUPON_ID_LEN, t.coupon_id) < 0)
			return TOKEN_BAD_FIELD;
		break;
	case TOKEN_CLAIM: {
		t.type = TOKEN_CLAIM;
		if (fields < CLAIM_FIXED_LEN + 1 || fields != CLAIM_FIXED_LEN + (size_t) p[0])
			return TOKEN_BAD_LENGTH;
		size_t idn = p[0];
		if (!terminal_id_valid((const char *) p + 1, idn))
			return TOKEN_BAD_FIELD;
		memcpy(t.claim.terminal_id, p + 1, idn);
		t.claim.terminal_id[idn] = '\0';
		p += 1 + idn;
		t.claim.seq = (uint32_t) get_be(p, 4);
		t.claim.points_pts = (int64_t) get_be(p + 4, 4);
		t.claim.amount_gr = (int64_t) get_be(p + 8, 4);
		if (t.claim.seq == 0)
			return TOKEN_BAD_FIELD;
		break;
	}
	default:
		return TOKEN_BAD_TYPE;
	}
	if (t.expires_s <= t.issued_s)
		return TOKEN_BAD_FIELD;
	*ret_body_len = body;
	memcpy(ret_token, &t, sizeof(t));
	return TOKEN_OK;
}

int token_peek(const char *text, size_t len, struct token *ret_token, enum token_status *ret_status)
{
	if (!text || !ret_token || !ret_status)
		return -EINVAL;
	uint8_t bytes[TOKEN_BYTES_MAX];
	size_t body;
	struct token t;
	enum token_status s = parse(text, len, bytes, &body, &t);
	if (s == TOKEN_OK)
		memcpy(ret_token, &t, sizeof(t));
	*ret_status = s;
	return 0;
}

static enum token_status check(const char *text, size_t len, const struct token_key *keys,
			       size_t n_keys, int64_t now_s, struct token *ret_token)
{
	uint8_t bytes[TOKEN_BYTES_MAX];
	size_t body;
	struct token t;
	enum token_status s = parse(text, len, bytes, &body, &t);
	if (s != TOKEN_OK)
		return s;
	if (sodium_init() < 0)
		return TOKEN_BAD_SIGNATURE;

	uint8_t msg[SIGN_CONTEXT_LEN + TOKEN_BYTES_MAX];
	sign_message(bytes, body, msg);
	bool known = false, allowed = false, good = false;
	/* ids are 32 bits, so two keys of a set may share one: try each that has it */
	for (size_t i = 0; i < n_keys && !good; i++) {
		if (keys[i].key_id != t.key_id)
			continue;
		known = true;
		if (!(keys[i].types & TOKEN_TYPE_BIT(t.type)))
			continue;
		allowed = true;
		good = crypto_sign_verify_detached(bytes + body, msg, SIGN_CONTEXT_LEN + body,
						   keys[i].public_key) == 0;
	}
	if (!known)
		return TOKEN_UNKNOWN_KEY;
	if (!allowed)
		return TOKEN_KEY_NOT_ALLOWED;
	if (!good)
		return TOKEN_BAD_SIGNATURE;
	if (now_s >= t.expires_s)
		return TOKEN_EXPIRED;
	memcpy(ret_token, &t, sizeof(t));
	return TOKEN_OK;
}

int token_verify(const char *text, size_t len, const struct token_key *keys, size_t n_keys,
		 int64_t now_s, struct token *ret_token, enum token_status *ret_status)
{
	if (!text || !ret_token || !ret_status || (!keys && n_keys > 0))
		return -EINVAL;
	*ret_status = check(text, len, keys, n_keys, now_s, ret_token);
	return 0;
}

/* ---- URLs ---- */

static bool qr_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c && strchr(" $%*+-./:", c));
}

bool token_url_base_valid(const char *base)
{
	if (!base)
		return false;
	size_t n = strnlen(base, TOKEN_URL_BASE_MAX + 1);
	if (n < 1 || n > TOKEN_URL_BASE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!qr_alnum(base[i]))
			return false;
	return true;
}

int token_url(const char *base, const char *text, char *buf, size_t size)
{
	if (!buf)
		return -EINVAL;
	if (size > 0)
		buf[0] = '\0';
	if (!token_url_base_valid(base) || !text)
		return -EINVAL;
	size_t tn = strnlen(text, TOKEN_TEXT_MAX + 1);
	if (tn < 1 || tn > TOKEN_TEXT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < tn; i++)
		if (base32_value(text[i]) < 0)
			return -EINVAL;
	size_t bn = strlen(base);
	if (bn + tn >= size)
		return -ENOSPC;
	memcpy(buf, base, bn);
	memcpy(buf + bn, text, tn);
	buf[bn + tn] = '\0';
	return (int) (bn + tn);
}

int token_url_text(const char *url, const char **ret_text, size_t *ret_len)
{
	if (!url || !ret_text || !ret_len)
		return -EINVAL;
	const char *slash = strrchr(url, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*ret_text = slash + 1;
	*ret_len = strlen(slash + 1);
	return 0;
}
