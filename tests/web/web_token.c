/*
 * web_token: signs a token as a terminal would, for the card page tests (tests/web).
 *
 *   web_token SEED_HEX card CODE [ISSUED_S EXPIRES_S]
 *   web_token SEED_HEX coupon ID [ISSUED_S EXPIRES_S]
 *   web_token SEED_HEX claim TERMINAL SEQ POINTS AMOUNT_GR [ISSUED_S EXPIRES_S]
 *
 * SEED_HEX is the 32-byte Ed25519 seed in hex (an openssl key's last 32 DER bytes). Without
 * times the token is issued now and valid a year. Prints the token text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "token.h"

static int usage(void)
{
	fprintf(stderr, "usage: web_token SEED_HEX card CODE | coupon ID | claim TERMINAL SEQ "
			"POINTS AMOUNT_GR [ISSUED_S EXPIRES_S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint8_t seed[32], pk[32], sk[64];
	struct token t = {0};
	char text[TOKEN_TEXT_MAX + 1];
	int i;
	if (argc < 4 || sodium_init() < 0 ||
	    sodium_hex2bin(seed, sizeof(seed), argv[1], strlen(argv[1]), NULL, NULL, NULL) ||
	    strlen(argv[1]) != 64)
		return usage();
	crypto_sign_seed_keypair(pk, sk, seed);
	if (!strcmp(argv[2], "card")) {
		t.type = TOKEN_CARD;
		snprintf(t.card_code, sizeof(t.card_code), "%s", argv[3]);
		i = 4;
	} else if (!strcmp(argv[2], "coupon")) {
		t.type = TOKEN_COUPON;
		snprintf(t.coupon_id, sizeof(t.coupon_id), "%s", argv[3]);
		i = 4;
	} else if (!strcmp(argv[2], "claim") && argc >= 7) {
		t.type = TOKEN_CLAIM;
		snprintf(t.claim.terminal_id, sizeof(t.claim.terminal_id), "%s", argv[3]);
		t.claim.seq = (uint32_t) strtoul(argv[4], NULL, 10);
		t.claim.points_pts = strtoll(argv[5], NULL, 10);
		t.claim.amount_gr = strtoll(argv[6], NULL, 10);
		i = 7;
	} else {
		return usage();
	}
	t.issued_s = time(NULL);
	t.expires_s = t.issued_s + 365 * 86400;
	if (argc == i + 2) {
		t.issued_s = strtoll(argv[i], NULL, 10);
		t.expires_s = strtoll(argv[i + 1], NULL, 10);
	} else if (argc != i) {
		return usage();
	}
	int n = token_sign(&t, sk, text, sizeof(text));
	sodium_memzero(sk, sizeof(sk));
	if (n < 0) {
		fprintf(stderr, "web_token: cannot sign (%d)\n", n);
		return 1;
	}
	puts(text);
	return 0;
}
