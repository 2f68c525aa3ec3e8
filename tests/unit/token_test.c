/*
 * token_test: signed tokens (app/token) and their base32 text (app/base32): round trips per
 * type, every single-bit flip rejected, expired, unknown and not-allowed keys, strict decoding,
 * a fixed test vector, and the QR version each type's URL needs (real libqrencode).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <qrencode.h>
#include <sodium.h>

#include "base32.h"
#include "token.h"

#define URL_BASE "HTTPS://K.EXAMPLE.PL/C/"
#define T0	 1767225600 /* 2026-01-01T00:00:00Z */
#define DAY	 86400

struct keypair {
	uint8_t pk[TOKEN_PUBLIC_KEY_LEN];
	uint8_t sk[TOKEN_SECRET_KEY_LEN];
};

static void keypair_from_byte(uint8_t b, struct keypair *ret)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	memset(seed, b, sizeof(seed));
	assert_int_equal(crypto_sign_seed_keypair(ret->pk, ret->sk, seed), 0);
}

static struct token card_token(void)
{
	struct token t = {.type = TOKEN_CARD, .issued_s = T0, .expires_s = T0 + 3650 * DAY};
	strcpy(t.card_code, "7K3M9QZX2H4P");
	return t;
}

static struct token coupon_token(void)
{
	struct token t = {.type = TOKEN_COUPON, .issued_s = T0 + 1234, .expires_s = T0 + 30 * DAY};
	strcpy(t.coupon_id, "ZZZZZZZZZZ");
	return t;
}

static struct token claim_token(const char *terminal_id)
{
	struct token t = {.type = TOKEN_CLAIM, .issued_s = T0 + 7200, .expires_s = T0 + 14 * DAY};
	strcpy(t.claim.terminal_id, terminal_id);
	t.claim.seq = 123456;
	t.claim.points_pts = 1234;
	t.claim.amount_gr = 123456;
	return t;
}

static enum token_status verify(const char *text, const struct token_key *keys, size_t n,
				int64_t now_s, struct token *ret)
{
	enum token_status s = TOKEN_STATUS_MAX;
	struct token scratch;
	assert_int_equal(token_verify(text, strlen(text), keys, n, now_s, ret ? ret : &scratch, &s),
			 0);
	return s;
}

/* ---- base32 ---- */

static void test_base32_vectors(void **state)
{
	(void) state;
	/* RFC 4648 section 10 inputs, Crockford alphabet, no padding */
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""},
		 {"f", "CR"},
		 {"fo", "CSQG"},
		 {"foo", "CSQPY"},
		 {"foob", "CSQPYRG"},
		 {"fooba", "CSQPYRK1"},
		 {"foobar", "CSQPYRK1E8"}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char buf[32];
		uint8_t back[16];
		size_t n = strlen(v[i].in);
		assert_int_equal(base32_encode((const uint8_t *) v[i].in, n, buf, sizeof(buf)),
				 (int) strlen(v[i].out));
		assert_string_equal(buf, v[i].out);
		assert_int_equal(base32_decode(buf, strlen(buf), back, sizeof(back)), (int) n);
		assert_memory_equal(back, v[i].in, n);
	}
	char small[4];
	assert_int_equal(base32_encode((const uint8_t *) "foo", 3, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "");
}

static void test_base32_strict(void **state)
{
	(void) state;
	uint8_t b[16];
	assert_int_equal(base32_decode("csqpy", 5, b, sizeof(b)), -EILSEQ); /* lowercase */
	assert_int_equal(base32_decode("CSQPU", 5, b, sizeof(b)), -EILSEQ); /* U: not used */
	assert_int_equal(base32_decode("CSQP0", 5, b, sizeof(b)), 3);
	assert_int_equal(base32_decode("CSQPI", 5, b, sizeof(b)), -EILSEQ);    /* no aliases */
	assert_int_equal(base32_decode("CS-QPY", 6, b, sizeof(b)), -EILSEQ);   /* no hyphens */
	assert_int_equal(base32_decode("CSQPYR", 6, b, sizeof(b)), -EINVAL);   /* 6 chars */
	assert_int_equal(base32_decode("CSQPYRK", 7, b, sizeof(b)), -EBADMSG); /* tail bits */
	assert_int_equal(base32_decode("CS", 2, b, sizeof(b)), -EBADMSG);      /* 'f' is CR */
	assert_int_equal(base32_decode("C", 1, b, sizeof(b)), -EINVAL);
	assert_int_equal(base32_decode("CSQPY", 5, b, 2), -ENOSPC);
	assert_int_equal(base32_decode("CS\0PY", 5, b, sizeof(b)), -EILSEQ);

	/* every one of the 2^16 two-byte strings has one text and comes back from it */
	for (unsigned v = 0; v < 65536; v++) {
		uint8_t in[2] = {(uint8_t) (v >> 8), (uint8_t) v}, out[2];
		char text[8];
		assert_int_equal(base32_encode(in, 2, text, sizeof(text)), 4);
		assert_int_equal(base32_decode(text, 4, out, sizeof(out)), 2);
		assert_memory_equal(in, out, 2);
	}

	char code[13];
	uint64_t val;
	assert_int_equal(base32_code_encode(0xfffffffffffffffull, 12, code), 0);
	assert_string_equal(code, "ZZZZZZZZZZZZ");
	assert_int_equal(base32_code_encode(1ull << 60, 12, code), -EINVAL);
	assert_int_equal(base32_code_encode(32, 1, code), -EINVAL);
	assert_int_equal(base32_code_encode(42, 2, code), 0);
	assert_string_equal(code, "1A");
	assert_int_equal(base32_code_decode("1A", 2, &val), 0);
	assert_int_equal(val, 42);
	assert_int_equal(base32_code_decode("1a", 2, &val), -EILSEQ);
	assert_int_equal(base32_code_decode("1A", 13, &val), -EINVAL);
}

/* ---- tokens ---- */

static void test_round_trip(void **state)
{
	(void) state;
	struct keypair kp;
	keypair_from_byte(1, &kp);
	struct token_key key;
	token_key_init(&key, kp.pk, TOKEN_TYPES_ALL);
	assert_int_equal(key.key_id, token_key_id(kp.pk));

	struct token in[] = {card_token(), coupon_token(), claim_token("SIM1"),
			     claim_token("ABCDEFGHIJ012345")};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char text[TOKEN_TEXT_MAX + 1];
		int n = token_sign(&in[i], kp.sk, text, sizeof(text));
		assert_true(n > 0 && n <= TOKEN_TEXT_MAX);
		assert_int_equal((size_t) n, strlen(text));
		struct token out;
		memset(&out, 0xa5, sizeof(out));
		assert_int_equal(verify(text, &key, 1, T0 + 3600, &out), TOKEN_OK);
		assert_int_equal(out.type, in[i].type);
		assert_int_equal(out.key_id, key.key_id);
		/* whole hours: issue time down, expiry up */
		assert_int_equal(out.issued_s, in[i].issued_s - in[i].issued_s % 3600);
		assert_int_equal(out.expires_s, in[i].expires_s);
		switch (out.type) {
		case TOKEN_CARD:
			assert_string_equal(out.card_code, in[i].card_code);
			break;
		case TOKEN_COUPON:
			assert_string_equal(out.coupon_id, in[i].coupon_id);
			break;
		case TOKEN_CLAIM:
			assert_string_equal(out.claim.terminal_id, in[i].claim.terminal_id);
			assert_int_equal(out.claim.seq, in[i].claim.seq);
			assert_int_equal(out.claim.points_pts, in[i].claim.points_pts);
			assert_int_equal(out.claim.amount_gr, in[i].claim.amount_gr);
			break;
		case TOKEN_TYPE_MAX:
			fail();
		}
		/* the same token and key sign to the same text (Ed25519 is deterministic) */
		char again[TOKEN_TEXT_MAX + 1];
		assert_int_equal(token_sign(&in[i], kp.sk, again, sizeof(again)), n);
		assert_string_equal(text, again);
		/* peek gives the same fields without a key */
		struct token peeked;
		enum token_status s;
		assert_int_equal(token_peek(text, (size_t) n, &peeked, &s), 0);
		assert_int_equal(s, TOKEN_OK);
		assert_memory_equal(&peeked, &out, sizeof(out));
	}

	/* an expiry off the hour rounds up, never down */
	struct token t = coupon_token();
	t.expires_s = T0 + 30 * DAY + 1;
	char text[TOKEN_TEXT_MAX + 1];
	struct token out;
	assert_true(token_sign(&t, kp.sk, text, sizeof(text)) > 0);
	assert_int_equal(verify(text, &key, 1, T0, &out), TOKEN_OK);
	assert_int_equal(out.expires_s, T0 + 30 * DAY + 3600);
}

/* Flip every bit of the token's bytes: each altered token must be refused. */
static void flip_every_bit(const char *text, const struct token_key *key)
{
	uint8_t bytes[TOKEN_BYTES_MAX];
	int n = base32_decode(text, strlen(text), bytes, sizeof(bytes));
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t) (1u << bit);
			char altered[TOKEN_TEXT_MAX + 1];
			assert_true(base32_encode(bytes, (size_t) n, altered, sizeof(altered)) > 0);
			enum token_status s = verify(altered, key, 1, T0, NULL);
			if (s == TOKEN_OK)
				fail_msg("byte %d bit %d flipped still verifies", i, bit);
			bytes[i] ^= (uint8_t) (1u << bit);
		}
	}
	/* and every character replaced by every other one of the alphabet */
	char altered[TOKEN_TEXT_MAX + 1];
	strcpy(altered, text);
	for (size_t i = 0; altered[i]; i++) {
		char orig = altered[i];
		for (const char *c = BASE32_ALPHABET; *c; c++) {
			if (*c == orig)
				continue;
			altered[i] = *c;
			assert_int_not_equal(verify(altered, key, 1, T0, NULL), TOKEN_OK);
		}
		altered[i] = orig;
	}
	assert_int_equal(verify(altered, key, 1, T0, NULL), TOKEN_OK);
}

static void test_every_bit_flip_rejected(void **state)
{
	(void) state;
	struct keypair kp;
	keypair_from_byte(2, &kp);
	struct token_key key;
	token_key_init(&key, kp.pk, TOKEN_TYPES_ALL);
	struct token in[] = {card_token(), coupon_token(), claim_token("SIM1")};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char text[TOKEN_TEXT_MAX + 1];
		assert_true(token_sign(&in[i], kp.sk, text, sizeof(text)) > 0);
		flip_every_bit(text, &key);
	}
}

static void test_expired_and_keys(void **state)
{
	(void) state;
	struct keypair a, b;
	keypair_from_byte(3, &a);
	keypair_from_byte(4, &b);
	struct token_key ka, kb;
	token_key_init(&ka, a.pk, TOKEN_TYPES_ALL);
	token_key_init(&kb, b.pk, TOKEN_TYPES_ALL);

	struct token t = claim_token("SIM1");
	char text[TOKEN_TEXT_MAX + 1];
	assert_true(token_sign(&t, a.sk, text, sizeof(text)) > 0);

	/* valid until the last second before the expiry */
	assert_int_equal(verify(text, &ka, 1, t.expires_s - 1, NULL), TOKEN_OK);
	assert_int_equal(verify(text, &ka, 1, t.expires_s, NULL), TOKEN_EXPIRED);
	assert_int_equal(verify(text, &ka, 1, t.expires_s + 365 * DAY, NULL), TOKEN_EXPIRED);

	/* a key set without the signer */
	assert_int_equal(verify(text, &kb, 1, T0, NULL), TOKEN_UNKNOWN_KEY);
	assert_int_equal(verify(text, NULL, 0, T0, NULL), TOKEN_UNKNOWN_KEY);
	/* the signer among others */
	struct token_key set[] = {kb, ka};
	struct token out;
	assert_int_equal(verify(text, set, 2, T0, &out), TOKEN_OK);
	assert_int_equal(out.key_id, ka.key_id);
	/* another key that claims the signer's id: the signature decides */
	struct token_key impostor = kb;
	impostor.key_id = ka.key_id;
	assert_int_equal(verify(text, &impostor, 1, T0, NULL), TOKEN_BAD_SIGNATURE);
	struct token_key both[] = {impostor, ka};
	assert_int_equal(verify(text, both, 2, T0, NULL), TOKEN_OK);
	/* the signer, but not for claims */
	struct token_key coupons_only;
	token_key_init(&coupons_only, a.pk, TOKEN_TYPE_BIT(TOKEN_COUPON));
	assert_int_equal(verify(text, &coupons_only, 1, T0, NULL), TOKEN_KEY_NOT_ALLOWED);

	/* an expired token with an unknown key is an unknown key: nothing is believed unsigned */
	assert_int_equal(verify(text, &kb, 1, t.expires_s, NULL), TOKEN_UNKNOWN_KEY);
}

/* Re-encode bytes as text, optionally replacing the signature with a valid one over them. */
static void resign(uint8_t *bytes, size_t n, const uint8_t *sk, char *text)
{
	uint8_t msg[13 + TOKEN_BYTES_MAX];
	memcpy(msg, "loyalty/token", 13);
	memcpy(msg + 13, bytes, n - TOKEN_SIG_LEN);
	if (sk)
		assert_int_equal(crypto_sign_detached(bytes + n - TOKEN_SIG_LEN, NULL, msg,
						      13 + n - TOKEN_SIG_LEN, sk),
				 0);
	assert_true(base32_encode(bytes, n, text, TOKEN_TEXT_MAX + 1) > 0);
}

static void test_strict_decoding(void **state)
{
	(void) state;
	struct keypair kp;
	keypair_from_byte(5, &kp);
	struct token_key key;
	token_key_init(&key, kp.pk, TOKEN_TYPES_ALL);
	struct token t = card_token();
	char text[TOKEN_TEXT_MAX + 1], alt[TOKEN_TEXT_MAX + 8];
	int n = token_sign(&t, kp.sk, text, sizeof(text));
	assert_int_equal(n, 135);

	/* length: empty, one short, one long, a whole byte more or less, far too long */
	assert_int_equal(verify("", &key, 1, T0, NULL), TOKEN_BAD_LENGTH);
	snprintf(alt, sizeof(alt), "%.*s", n - 1, text);
	assert_int_not_equal(verify(alt, &key, 1, T0, NULL), TOKEN_OK);
	snprintf(alt, sizeof(alt), "%s0", text);
	assert_int_not_equal(verify(alt, &key, 1, T0, NULL), TOKEN_OK);
	char big[300];
	memset(big, '0', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(verify(big, &key, 1, T0, NULL), TOKEN_BAD_LENGTH);
	assert_int_equal(verify("0000000000", &key, 1, T0, NULL), TOKEN_BAD_LENGTH);
	/* a whole URL instead of the token: its characters are the problem, not its length */
	assert_int_equal(verify(URL_BASE "0000000000", &key, 1, T0, NULL), TOKEN_BAD_CHAR);

	/* characters: lowercase, an alias, a URL's slash, a NUL inside */
	strcpy(alt, text);
	alt[10] = (char) (alt[10] >= 'A' ? alt[10] + 32 : 'a');
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_CHAR);
	strcpy(alt, text);
	alt[20] = 'O';
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_CHAR);
	enum token_status s;
	struct token out;
	strcpy(alt, text);
	alt[5] = '\0';
	assert_int_equal(token_verify(alt, (size_t) n, &key, 1, T0, &out, &s), 0);
	assert_int_equal(s, TOKEN_BAD_CHAR);

	/* 84 bytes = 672 bits in 135 characters: the last one carries 3 unused bits */
	strcpy(alt, text);
	int last = base32_value(alt[n - 1]);
	alt[n - 1] = BASE32_ALPHABET[last | 1];
	assert_int_equal(verify(alt, &key, 1, T0, NULL), last & 1 ? TOKEN_OK : TOKEN_NOT_CANONICAL);

	/* fields, each with a genuine signature over the altered bytes */
	uint8_t bytes[TOKEN_BYTES_MAX];
	int len = base32_decode(text, (size_t) n, bytes, sizeof(bytes));
	assert_int_equal(len, 84);
	uint8_t b[TOKEN_BYTES_MAX];

	memcpy(b, bytes, (size_t) len);
	b[0] = 2;
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_VERSION);
	b[0] = 0;
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_VERSION);

	memcpy(b, bytes, (size_t) len);
	for (int ty = 0; ty < 256; ty++) {
		if (ty >= TOKEN_CARD && ty < TOKEN_TYPE_MAX)
			continue;
		b[1] = (uint8_t) ty;
		resign(b, (size_t) len, kp.sk, alt);
		assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_TYPE);
	}
	/* a card's bytes read as a coupon or a claim have the wrong length */
	b[1] = TOKEN_COUPON;
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_LENGTH);
	b[1] = TOKEN_CLAIM;
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_LENGTH);

	/* the card code's 4 unused high bits */
	memcpy(b, bytes, (size_t) len);
	b[TOKEN_HEADER_LEN] |= 0x10;
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_FIELD);

	/* expiry not after the issue time */
	memcpy(b, bytes, (size_t) len);
	memcpy(b + 9, b + 6, 3);
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_FIELD);

	/* claims: the terminal id's length and characters, seq 0 */
	struct token c = claim_token("SIM1");
	n = token_sign(&c, kp.sk, text, sizeof(text));
	len = base32_decode(text, (size_t) n, bytes, sizeof(bytes));
	assert_int_equal(len, 12 + 1 + 4 + 12 + 64);
	memcpy(b, bytes, (size_t) len);
	b[TOKEN_HEADER_LEN + 2] = 'i';
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_FIELD);
	memcpy(b, bytes, (size_t) len);
	b[TOKEN_HEADER_LEN] = 5;
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_LENGTH);
	memcpy(b, bytes, (size_t) len);
	memset(b + TOKEN_HEADER_LEN + 5, 0, 4);
	resign(b, (size_t) len, kp.sk, alt);
	assert_int_equal(verify(alt, &key, 1, T0, NULL), TOKEN_BAD_FIELD);

	/* peek checks the layout too, and needs no key */
	assert_int_equal(token_peek(alt, strlen(alt), &out, &s), 0);
	assert_int_equal(s, TOKEN_BAD_FIELD);
	assert_int_equal(token_peek(text, strlen(text), &out, &s), 0);
	assert_int_equal(s, TOKEN_OK);
	assert_int_equal(out.key_id, key.key_id);

	assert_int_equal(token_verify(NULL, 0, &key, 1, T0, &out, &s), -EINVAL);
	assert_int_equal(token_verify(text, 1, NULL, 1, T0, &out, &s), -EINVAL);
	assert_int_equal(token_verify(text, 1, &key, 1, T0, NULL, &s), -EINVAL);
	assert_int_equal(token_peek(text, 1, &out, NULL), -EINVAL);
	for (int i = 0; i <= TOKEN_STATUS_MAX; i++)
		assert_true(token_status_str((enum token_status) i)[0] != '\0');
}

static void test_sign_refuses(void **state)
{
	(void) state;
	struct keypair kp;
	keypair_from_byte(6, &kp);
	char text[TOKEN_TEXT_MAX + 1];
	struct token t;

	t = card_token();
	assert_int_equal(token_sign(&t, kp.sk, text, 135), -ENOSPC);
	assert_string_equal(text, "");
	assert_int_equal(token_sign(&t, kp.sk, text, 136), 135);
	assert_int_equal(token_sign(NULL, kp.sk, text, sizeof(text)), -EINVAL);
	assert_int_equal(token_sign(&t, NULL, text, sizeof(text)), -EINVAL);
	strcpy(t.card_code, "7K3M9QZX2H4");
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);
	strcpy(t.card_code, "7K3M9QZX2H4p");
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);
	/* a code with a character the alphabet lacks where the 12th should be */
	memcpy(t.card_code, "7K3M9QZX2H4U", sizeof(t.card_code));
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);

	t = card_token();
	t.type = TOKEN_TYPE_MAX;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);
	t = card_token();
	t.issued_s = TOKEN_EPOCH_S - 1;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -ERANGE);
	t = card_token();
	t.expires_s = t.issued_s;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -ERANGE);
	t.expires_s = TOKEN_EPOCH_S + (int64_t) TOKEN_HOURS_MAX * 3600;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), 135);
	t.expires_s++;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -ERANGE);

	t = coupon_token();
	strcpy(t.coupon_id, "ZZZZZZZZZU");
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);

	t = claim_token("sim1");
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);
	t = claim_token("");
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);
	t = claim_token("SIM1");
	t.claim.seq = 0;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -EINVAL);
	t = claim_token("SIM1");
	t.claim.points_pts = -1;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -ERANGE);
	t = claim_token("SIM1");
	t.claim.amount_gr = (int64_t) UINT32_MAX + 1;
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), -ERANGE);
	t.claim.amount_gr = UINT32_MAX;
	t.claim.points_pts = UINT32_MAX;
	t.claim.seq = UINT32_MAX;
	assert_true(token_sign(&t, kp.sk, text, sizeof(text)) > 0);
}

/*
 * A fixed vector, also in docs/tokens.md, so another implementation (the central server, the
 * card page) can check its encoder: key seed 32 x 0x01, a card token issued 2026-01-01T00:00Z,
 * expiring 2036-01-01T00:00Z, card code 7K3M9QZX2H4P.
 */
static void test_vector(void **state)
{
	(void) state;
	struct keypair kp;
	keypair_from_byte(1, &kp);
	struct token t = card_token();
	t.expires_s = 2082758400; /* 2036-01-01T00:00:00Z */
	char text[TOKEN_TEXT_MAX + 1], url[256];
	assert_int_equal(token_sign(&t, kp.sk, text, sizeof(text)), 135);
	assert_int_equal(token_url(URL_BASE, text, url, sizeof(url)), 23 + 135);
	assert_int_equal(token_key_id(kp.pk), 0xc5e21ab1);
	assert_string_equal(text,
			    "040WBRGTP4049201KBM07K3M9QZX2H4PYZYGP44QD2B7PTBEVMDE91V8QJZ55DBPK"
			    "45JV4RKZ3BWHT5PG5TZK5T9YG8AKPRSCQ1WV3WEV9CVT8XXWPQJQH21X8WQAQRYV"
			    "64V23G");
}

static void test_url(void **state)
{
	(void) state;
	char url[256];
	assert_true(token_url_base_valid(URL_BASE));
	assert_true(token_url_base_valid("HTTPS://LOYALTY.SKLEP-PRZYKLAD.PL:8443/K/"));
	assert_false(token_url_base_valid("https://k.example.pl/c/"));
	assert_false(token_url_base_valid("HTTPS://K.EXAMPLE.PL/C?T="));
	assert_false(token_url_base_valid(""));
	assert_false(token_url_base_valid(NULL));
	assert_int_equal(token_url(URL_BASE, "CSQPY", url, sizeof(url)), 28);
	assert_string_equal(url, URL_BASE "CSQPY");
	assert_int_equal(token_url(URL_BASE, "CSQPY", url, 28), -ENOSPC);
	assert_string_equal(url, "");
	assert_int_equal(token_url("https://k.example.pl/c/", "CSQPY", url, sizeof(url)), -EINVAL);
	assert_int_equal(token_url(URL_BASE, "csqpy", url, sizeof(url)), -EINVAL);
	assert_int_equal(token_url(URL_BASE, "", url, sizeof(url)), -EINVAL);

	const char *text;
	size_t len;
	assert_int_equal(token_url_text(URL_BASE "CSQPY", &text, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(text, "CSQPY", 5);
	assert_int_equal(token_url_text("CSQPY", &text, &len), -EINVAL);
	assert_int_equal(token_url_text(URL_BASE, &text, &len), -EINVAL);
	assert_int_equal(token_url_text(NULL, &text, &len), -EINVAL);

	/* a scanned URL's token verifies */
	struct keypair kp;
	keypair_from_byte(8, &kp);
	struct token_key key;
	token_key_init(&key, kp.pk, TOKEN_TYPES_ALL);
	struct token t = coupon_token(), out;
	char tok[TOKEN_TEXT_MAX + 1];
	assert_true(token_sign(&t, kp.sk, tok, sizeof(tok)) > 0);
	assert_true(token_url(URL_BASE, tok, url, sizeof(url)) > 0);
	assert_int_equal(token_url_text(url, &text, &len), 0);
	enum token_status s;
	assert_int_equal(token_verify(text, len, &key, 1, T0, &out, &s), 0);
	assert_int_equal(s, TOKEN_OK);
	assert_string_equal(out.coupon_id, t.coupon_id);
}

/* ---- QR budget ---- */

/* The QR version libqrencode picks for url at ECC M, checking it is all alphanumeric mode. */
static int qr_version_of(const char *url)
{
	QRcode *auto_mode = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(auto_mode);
	int version = auto_mode->version;
	QRcode_free(auto_mode);

	/* the whole URL as one alphanumeric segment: refused if any character is not one */
	QRinput *in = QRinput_new2(0, QR_ECLEVEL_M);
	assert_non_null(in);
	assert_int_equal(
	    QRinput_append(in, QR_MODE_AN, (int) strlen(url), (const unsigned char *) url), 0);
	QRcode *an = QRcode_encodeInput(in);
	assert_non_null(an);
	assert_int_equal(an->version, version);
	QRcode_free(an);
	QRinput_free(in);
	return version;
}

static int qr_version_bytes(const char *url)
{
	QRcode *c =
	    QRcode_encodeData((int) strlen(url), (const unsigned char *) url, 0, QR_ECLEVEL_M);
	assert_non_null(c);
	int v = c->version;
	QRcode_free(c);
	return v;
}

static void test_qr_versions(void **state)
{
	(void) state;
	struct keypair kp;
	keypair_from_byte(7, &kp);
	struct token in[] = {card_token(), coupon_token(), claim_token("SIM1"),
			     claim_token("ABCDEFGHIJ012345")};
	const char *names[] = {"card", "coupon", "claim (SIM1)", "claim (16-char terminal)"};
	int versions[4];
	for (size_t i = 0; i < 4; i++) {
		char text[TOKEN_TEXT_MAX + 1], url[256];
		int n = token_sign(&in[i], kp.sk, text, sizeof(text));
		assert_true(n > 0);
		int ul = token_url(URL_BASE, text, url, sizeof(url));
		assert_true(ul > 0);
		versions[i] = qr_version_of(url);
		print_message("%-26s %3d bytes, %3d chars, URL %3d chars: QR version %d-M "
			      "(%d-M in 8-bit mode)\n",
			      names[i], n * 5 / 8, n, ul, versions[i], qr_version_bytes(url));
	}
	/* the target of the receipts issue */
	assert_true(versions[0] <= 7);
	/* the lowercase URL of the same token would need byte mode and a bigger symbol */
	char text[TOKEN_TEXT_MAX + 1], url[256];
	assert_true(token_sign(&in[0], kp.sk, text, sizeof(text)) > 0);
	snprintf(url, sizeof(url), "https://k.example.pl/c/%s", text);
	assert_true(qr_version_bytes(url) > versions[0]);

	/* the longest URL base that keeps the card in version 7-M (178 alphanumeric characters) */
	char base[80] = "HTTPS://";
	while (strlen(base) < TOKEN_URL_BASE_MAX) {
		char longer[80];
		size_t bl = strlen(base);
		memcpy(longer, base, bl);
		memcpy(longer + bl, "X", 2);
		assert_true(token_url(longer, text, url, sizeof(url)) > 0);
		if (qr_version_of(url) > 7)
			break;
		strcpy(base, longer);
	}
	print_message("card: a URL base of up to %zu characters keeps version 7-M\n", strlen(base));
	assert_int_equal(strlen(base) + 135, 178);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base32_vectors),
	    cmocka_unit_test(test_base32_strict),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_every_bit_flip_rejected),
	    cmocka_unit_test(test_expired_and_keys),
	    cmocka_unit_test(test_strict_decoding),
	    cmocka_unit_test(test_sign_refuses),
	    cmocka_unit_test(test_vector),
	    cmocka_unit_test(test_url),
	    cmocka_unit_test(test_qr_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
