/*
 * scan_test: routing of scanned lines (app/scan) on a table: card, coupon and claim tokens in
 * URLs and bare, the plain card code on the card URL base, Polish phone numbers with and without
 * separators, and every kind of unknown line with its reason.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "scan.h"
#include "token.h"

#define BASE "https://k.example.pl/c/"
#define T0   1767225600 /* 2026-01-01T00:00:00Z */
#define DAY  86400

static char card_tok[TOKEN_TEXT_MAX + 1], coupon_tok[TOKEN_TEXT_MAX + 1],
    claim_tok[TOKEN_TEXT_MAX + 1], bad_sig_tok[TOKEN_TEXT_MAX + 1];

static int setup(void **state)
{
	(void) state;
	uint8_t seed[crypto_sign_SEEDBYTES], pk[TOKEN_PUBLIC_KEY_LEN], sk[TOKEN_SECRET_KEY_LEN];
	memset(seed, 1, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return -1;
	struct token t = {.type = TOKEN_CARD, .issued_s = T0, .expires_s = T0 + 3650 * DAY};
	strcpy(t.card_code, "7K3M9QZX2H4P");
	if (token_sign(&t, sk, card_tok, sizeof(card_tok)) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t = (struct token){.type = TOKEN_COUPON, .issued_s = T0, .expires_s = T0 + 30 * DAY};
	strcpy(t.coupon_id, "0123456789");
	if (token_sign(&t, sk, coupon_tok, sizeof(coupon_tok)) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t = (struct token){.type = TOKEN_CLAIM, .issued_s = T0, .expires_s = T0 + 14 * DAY};
	strcpy(t.claim.terminal_id, "SIM1");
	t.claim.seq = 7;
	t.claim.points_pts = 12;
	t.claim.amount_gr = 1234;
	if (token_sign(&t, sk, claim_tok, sizeof(claim_tok)) < 0)
		return -1;
	/* a well-formed token with a changed signature: peek passes, verify would not */
	strcpy(bad_sig_tok, card_tok);
	size_t n = strlen(bad_sig_tok);
	bad_sig_tok[n - 2] = bad_sig_tok[n - 2] == 'A' ? 'B' : 'A';
	return 0;
}

struct route_case {
	const char *name;
	const char *line; /* "%s" is replaced by the card, coupon or claim token (tok) */
	int tok;	  /* 0 none, 1 card, 2 coupon, 3 claim, 4 card with a bad signature */
	enum scan_kind kind;
	enum scan_reason reason;
	const char *value; /* the phone or card code expected, the token status for BAD_TOKEN */
};

static const struct route_case cases[] = {
    /* cards */
    {"card url", "HTTPS://K.EXAMPLE.PL/C/%s", 1, SCAN_CARD, SCAN_REASON_NONE, "7K3M9QZX2H4P"},
    {"card url lowercase base", BASE "%s", 1, SCAN_CARD, SCAN_REASON_NONE, "7K3M9QZX2H4P"},
    {"card url other host", "https://other.example/x/%s", 1, SCAN_CARD, SCAN_REASON_NONE,
     "7K3M9QZX2H4P"},
    {"card bare", "%s", 1, SCAN_CARD, SCAN_REASON_NONE, "7K3M9QZX2H4P"},
    {"card, signature not checked here", "HTTPS://K.EXAMPLE.PL/C/%s", 4, SCAN_CARD,
     SCAN_REASON_NONE, "7K3M9QZX2H4P"},
    {"plain card code", BASE "7K3M9QZX2H4P", 0, SCAN_CARD, SCAN_REASON_NONE, "7K3M9QZX2H4P"},
    {"plain card code uppercase base", "HTTPS://K.EXAMPLE.PL/C/7K3M9QZX2H4P", 0, SCAN_CARD,
     SCAN_REASON_NONE, "7K3M9QZX2H4P"},
    {"plain code, other host", "https://other.example/c/7K3M9QZX2H4P", 0, SCAN_UNKNOWN,
     SCAN_NOT_OUR_URL, NULL},
    {"plain code lowercase", BASE "7k3m9qzx2h4p", 0, SCAN_UNKNOWN, SCAN_BAD_TOKEN,
     "character outside the token alphabet"},
    {"plain code short", BASE "7K3M9QZX2H4", 0, SCAN_UNKNOWN, SCAN_BAD_TOKEN, "wrong length"},
    {"our base, nothing after", BASE, 0, SCAN_UNKNOWN, SCAN_NOT_OUR_URL, NULL},
    /* coupons and claims */
    {"coupon url", "HTTPS://K.EXAMPLE.PL/C/%s", 2, SCAN_COUPON, SCAN_REASON_NONE, NULL},
    {"coupon bare", "%s", 2, SCAN_COUPON, SCAN_REASON_NONE, NULL},
    {"claim url", "HTTPS://K.EXAMPLE.PL/C/%s", 3, SCAN_CLAIM, SCAN_REASON_NONE, NULL},
    {"claim bare", "%s", 3, SCAN_CLAIM, SCAN_REASON_NONE, NULL},
    /* damaged tokens */
    {"token cut", "HTTPS://K.EXAMPLE.PL/C/%s", 1, SCAN_UNKNOWN, SCAN_BAD_TOKEN,
     "not in canonical form"},
    {"token with a space", "%s", 1, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    {"token with query", "HTTPS://K.EXAMPLE.PL/C/%s?utm=1", 1, SCAN_UNKNOWN, SCAN_URL_QUERY, NULL},
    {"token with fragment", "HTTPS://K.EXAMPLE.PL/C/%s#x", 1, SCAN_UNKNOWN, SCAN_URL_QUERY, NULL},
    {"bare base32 too long for a token",
     "0000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000",
     0, SCAN_UNKNOWN, SCAN_BAD_TOKEN, "wrong length"},
    /* phone numbers */
    {"phone", "+48600700800", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48600700800"},
    {"phone spaces", "+48 600 700 800", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48600700800"},
    {"phone dashes", "+48-600-700-800", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48600700800"},
    {"phone mixed", "+48 600-700 800", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48600700800"},
    {"phone pairs", "+48 22 123 45 67", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48221234567"},
    {"phone tel uri", "tel:+48600700800", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48600700800"},
    {"phone TEL uri", "TEL:+48 600 700 800", 0, SCAN_PHONE, SCAN_REASON_NONE, "+48600700800"},
    {"phone 8 digits", "+48 600 700 80", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone 10 digits", "+48 600 700 8000", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone leading zero", "+48 060 070 080", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone other country", "+49 600 700 800", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone double space", "+48 600  700 800", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone trailing space", "+48 600 700 800 ", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone parentheses", "+48 (600) 700 800", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone dot", "+48.600.700.800", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone space in +48", "+4 8600700800", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"plus alone", "+", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"tel alone", "tel:", 0, SCAN_UNKNOWN, SCAN_BAD_PHONE, NULL},
    {"phone without +48", "600700800", 0, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    /* other things at a till */
    {"ean-13", "5901234123457", 0, SCAN_UNKNOWN, SCAN_PRODUCT_BARCODE, NULL},
    {"ean-8", "96385074", 0, SCAN_UNKNOWN, SCAN_PRODUCT_BARCODE, NULL},
    {"upc-a", "036000291452", 0, SCAN_UNKNOWN, SCAN_PRODUCT_BARCODE, NULL},
    {"ean-13 bad check digit", "5901234123458", 0, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    {"other site", "https://www.example.com/promo", 0, SCAN_UNKNOWN, SCAN_NOT_OUR_URL, NULL},
    {"other site, short code", "https://shop.example/p/ABC123", 0, SCAN_UNKNOWN, SCAN_NOT_OUR_URL,
     NULL},
    {"url with query", "https://www.example.com/?q=1", 0, SCAN_UNKNOWN, SCAN_URL_QUERY, NULL},
    {"wifi qr", "WIFI:S:shop;T:WPA;P:secret;;", 0, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    {"short base32", "ABC123", 0, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    {"not a scheme", "1http://x/%s", 1, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    {"text", "hello", 0, SCAN_UNKNOWN, SCAN_UNRECOGNISED, NULL},
    {"empty", "", 0, SCAN_UNKNOWN, SCAN_EMPTY, NULL},
    {"tab", "+48\t600700800", 0, SCAN_UNKNOWN, SCAN_BAD_CHAR, NULL},
    {"utf-8", "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87", 0, SCAN_UNKNOWN, SCAN_BAD_CHAR, NULL},
    {"del", "ABC\x7f", 0, SCAN_UNKNOWN, SCAN_BAD_CHAR, NULL},
};

static const char *tok_text(int tok)
{
	switch (tok) {
	case 1:
		return card_tok;
	case 2:
		return coupon_tok;
	case 3:
		return claim_tok;
	case 4:
		return bad_sig_tok;
	default:
		return "";
	}
}

static void test_route_table(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct route_case *c = &cases[i];
		char line[1024];
		struct scan_result r;
		int n;

		if (c->tok) {
			char tok[TOKEN_TEXT_MAX + 1];
			strcpy(tok, tok_text(c->tok));
			if (strcmp(c->name, "token cut") == 0)
				tok[strlen(tok) - 8] = '\0';
			if (strcmp(c->name, "token with a space") == 0)
				tok[20] = ' ';
			const char *at = strstr(c->line, "%s");
			assert_non_null(at);
			n = snprintf(line, sizeof(line), "%.*s%s%s", (int) (at - c->line), c->line,
				     tok, at + 2);
		} else {
			n = snprintf(line, sizeof(line), "%s", c->line);
		}
		assert_true(n >= 0 && (size_t) n < sizeof(line));
		memset(&r, 0x5a, sizeof(r));
		assert_int_equal(scan_route(line, (size_t) n, BASE, &r), 0);
		if (r.kind != c->kind || r.reason != c->reason)
			fail_msg("%s: got %s (%s), want %s (%s)", c->name, scan_kind_name(r.kind),
				 scan_reason_str(r.reason), scan_kind_name(c->kind),
				 scan_reason_str(c->reason));
		switch (r.kind) {
		case SCAN_CARD:
			assert_string_equal(r.card_code, c->value);
			assert_non_null(r.text);
			assert_true(r.text >= line && r.text + r.text_len == line + n);
			assert_int_equal(r.plain_code, c->tok == 0);
			if (!r.plain_code) {
				assert_int_equal(r.token_status, TOKEN_OK);
				assert_int_equal(r.token.type, TOKEN_CARD);
				assert_int_equal(r.text_len, strlen(card_tok));
			}
			break;
		case SCAN_COUPON:
			assert_int_equal(r.token.type, TOKEN_COUPON);
			assert_string_equal(r.token.coupon_id, "0123456789");
			assert_memory_equal(r.text, coupon_tok, strlen(coupon_tok));
			break;
		case SCAN_CLAIM:
			assert_int_equal(r.token.type, TOKEN_CLAIM);
			assert_string_equal(r.token.claim.terminal_id, "SIM1");
			assert_int_equal(r.token.claim.seq, 7);
			assert_memory_equal(r.text, claim_tok, strlen(claim_tok));
			break;
		case SCAN_PHONE:
			assert_string_equal(r.phone, c->value);
			assert_null(r.text);
			break;
		case SCAN_UNKNOWN:
			assert_int_equal(r.phone[0], '\0');
			assert_int_equal(r.card_code[0], '\0');
			if (r.reason == SCAN_BAD_TOKEN) {
				assert_string_equal(token_status_str(r.token_status), c->value);
				assert_non_null(r.text);
			} else {
				assert_null(r.text);
			}
			break;
		case SCAN_KIND_MAX:
			fail();
		}
		assert_non_null(scan_reason_str(r.reason));
	}
}

static void test_limits(void **state)
{
	(void) state;
	char line[SCAN_LINE_MAX + 2];
	struct scan_result r;

	/* the cap: 512 bytes are looked at, 513 are too long */
	memset(line, 'x', sizeof(line));
	assert_int_equal(scan_route(line, SCAN_LINE_MAX, BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_UNRECOGNISED);
	assert_int_equal(scan_route(line, SCAN_LINE_MAX + 1, BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_TOO_LONG);

	/* base32 alone: a damaged token from the length of a header and a signature (76 bytes, 122
	 * characters) on, some other code below */
	memset(line, '0', sizeof(line));
	assert_int_equal(scan_route(line, 121, BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_UNRECOGNISED);
	assert_int_equal(scan_route(line, 122, BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_BAD_TOKEN);
	snprintf(line, sizeof(line), "https://x.example/%0121d", 0);
	assert_int_equal(scan_route(line, strlen(line), BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_NOT_OUR_URL);
	snprintf(line, sizeof(line), "https://x.example/%0122d", 0);
	assert_int_equal(scan_route(line, strlen(line), BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_BAD_TOKEN);

	/* a NUL inside the length is a control byte; the length, not a NUL, ends the line */
	assert_int_equal(scan_route("+48600700800\0", 13, BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_BAD_CHAR);
	assert_int_equal(scan_route("+48600700800junk", 12, BASE, &r), 0);
	assert_int_equal(r.kind, SCAN_PHONE);

	/* no base: the plain card code is not recognised, tokens still are */
	assert_int_equal(scan_route(BASE "7K3M9QZX2H4P", strlen(BASE "7K3M9QZX2H4P"), NULL, &r), 0);
	assert_int_equal(r.reason, SCAN_NOT_OUR_URL);
	snprintf(line, sizeof(line), BASE "%s", card_tok);
	assert_int_equal(scan_route(line, strlen(line), NULL, &r), 0);
	assert_int_equal(r.kind, SCAN_CARD);

	assert_int_equal(scan_route(NULL, 0, BASE, &r), 0);
	assert_int_equal(r.reason, SCAN_EMPTY);
	assert_int_equal(scan_route(NULL, 1, BASE, &r), -EINVAL);
	assert_int_equal(scan_route("x", 1, BASE, NULL), -EINVAL);

	for (int k = 0; k <= SCAN_KIND_MAX; k++)
		assert_non_null(scan_kind_name((enum scan_kind) k));
	for (int k = 0; k <= SCAN_REASON_MAX; k++)
		assert_non_null(scan_reason_str((enum scan_reason) k));
	assert_string_equal(scan_kind_name(SCAN_PHONE), "phone");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_table),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
