/*
 * token_fuzz: the token decoder on arbitrary input, twice: the bytes as token text (what a
 * scanner or a card page hands over), and the bytes base32-encoded (so the fuzzer reaches the
 * binary layout behind the text), and the part of the bytes after their last '/' as a scanned
 * URL's token. It must not crash, and:
 * - a text base32 accepts encodes back to the same text (one text per byte string);
 * - token_peek and token_verify agree on the layout, and verify never passes what peek refuses;
 * - a token verify accepts (signed with the fuzz key, as the corpus's tokens are) is not expired,
 *   and signing its fields again gives the very same text: an accepted token has one text only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "token.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "token_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z, the corpus tokens' issue time */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key the corpus tokens are signed with: seed 32 x 0x2a. */
static uint8_t fuzz_sk[TOKEN_SECRET_KEY_LEN];
static struct token_key fuzz_keys[2];

static void init_keys(void)
{
	static int done;
	if (done)
		return;
	uint8_t seed[32], pk[TOKEN_PUBLIC_KEY_LEN], pk2[TOKEN_PUBLIC_KEY_LEN],
	    sk2[TOKEN_SECRET_KEY_LEN];
	CHECK(sodium_init() >= 0);
	memset(seed, 0x2a, sizeof(seed));
	CHECK(crypto_sign_seed_keypair(pk, fuzz_sk, seed) == 0);
	token_key_init(&fuzz_keys[0], pk, TOKEN_TYPES_ALL);
	/* a second key that may sign coupons only */
	memset(seed, 0x2b, sizeof(seed));
	CHECK(crypto_sign_seed_keypair(pk2, sk2, seed) == 0);
	token_key_init(&fuzz_keys[1], pk2, TOKEN_TYPE_BIT(TOKEN_COUPON));
	done = 1;
}

static void check_text(const char *text, size_t len)
{
	/* base32 alone: canonical round trip */
	uint8_t bytes[512];
	int n = base32_decode(text, len, bytes, sizeof(bytes));
	if (n >= 0) {
		char back[1024];
		CHECK(base32_encode(bytes, (size_t) n, back, sizeof(back)) == (int) len);
		CHECK(memcmp(back, text, len) == 0);
	} else {
		CHECK(n == -EINVAL || n == -EILSEQ || n == -EBADMSG || n == -ENOSPC);
	}

	struct token peeked, verified;
	enum token_status ps = TOKEN_STATUS_MAX, vs = TOKEN_STATUS_MAX;
	CHECK(token_peek(text, len, &peeked, &ps) == 0);
	CHECK(ps < TOKEN_STATUS_MAX && token_status_str(ps)[0]);
	CHECK(token_verify(text, len, fuzz_keys, 2, NOW_S, &verified, &vs) == 0);
	CHECK(vs < TOKEN_STATUS_MAX && token_status_str(vs)[0]);

	if (ps != TOKEN_OK) {
		/* the layout checks come first, and are the same in both */
		CHECK(vs == ps);
		return;
	}
	CHECK(n > 0);
	CHECK(peeked.type >= TOKEN_CARD && peeked.type < TOKEN_TYPE_MAX);
	CHECK(peeked.expires_s > peeked.issued_s && peeked.issued_s >= TOKEN_EPOCH_S);
	CHECK(vs == TOKEN_OK || vs == TOKEN_UNKNOWN_KEY || vs == TOKEN_KEY_NOT_ALLOWED ||
	      vs == TOKEN_BAD_SIGNATURE || vs == TOKEN_EXPIRED);
	if (vs != TOKEN_OK)
		return;

	CHECK(memcmp(&peeked, &verified, sizeof(peeked)) == 0);
	CHECK(NOW_S < verified.expires_s);
	char again[TOKEN_TEXT_MAX + 1];
	if (verified.key_id == fuzz_keys[0].key_id) {
		CHECK(token_sign(&verified, fuzz_sk, again, sizeof(again)) == (int) len);
		CHECK(memcmp(again, text, len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_keys();
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	check_text(text, size);
	/* a URL's token: the part after its last '/' */
	const char *tok;
	size_t tok_len;
	if (token_url_text(text, &tok, &tok_len) == 0) {
		CHECK(tok > text && tok[-1] == '/' && tok_len > 0 && !strchr(tok, '/'));
		check_text(tok, tok_len);
	}
	free(text);

	/* the input as the token's bytes */
	if (size <= TOKEN_BYTES_MAX + 8) {
		char enc[2 * TOKEN_TEXT_MAX];
		int n = base32_encode(data, size, enc, sizeof(enc));
		CHECK(n >= 0);
		check_text(enc, (size_t) n);
	}
	return 0;
}
