/*
 * scan: what a line from the barcode scanner is, so the terminal knows what to do with it.
 *
 * A pure function of the line and the terminal's card URL base: a member card (a signed card
 * token, in a URL or bare, or the card URL base followed by a plain card code as receipts print
 * it today), a coupon token, a "claim your points" token, a Polish phone number the customer
 * shows (+48 and 9 digits, with or without spaces or dashes), or unknown with the reason.
 *
 * The type of a token comes from token_peek: NOTHING here is authenticated. The caller runs
 * token_verify on result.text with its key set and the time before it grants anything, and
 * treats a plain card code like a tapped UID (a pseudonym for earning only). A phone number is
 * personal data: it is handed on, never logged or stored in clear.
 *
 * Not here: reading the scanner (hal/scanner), verifying tokens (app/token), NTAG 424 SUN URLs
 * (app/sun: those come from taps on phones, not from the scanner).
 */
#pragma once

#include <stddef.h>

#include "token.h"

#define SCAN_LINE_MAX  512 /* as HAL_SCANNER_LINE_MAX */
#define SCAN_PHONE_LEN 12  /* "+48" and 9 digits */

enum scan_kind {
	SCAN_UNKNOWN = 0, /* see the reason */
	SCAN_CARD,	  /* a member card: a card token, or the base and a plain card code */
	SCAN_COUPON,	  /* a coupon token */
	SCAN_CLAIM,	  /* a "claim your points" token */
	SCAN_PHONE,	  /* a Polish phone number */
	SCAN_KIND_MAX
};

/* Why a line is SCAN_UNKNOWN (SCAN_REASON_NONE when it is not). */
enum scan_reason {
	SCAN_REASON_NONE = 0,
	SCAN_EMPTY,	      /* nothing scanned */
	SCAN_TOO_LONG,	      /* over SCAN_LINE_MAX bytes */
	SCAN_BAD_CHAR,	      /* a control byte (NUL, tab, ...) or a byte outside ASCII */
	SCAN_URL_QUERY,	      /* a URL with a query or fragment: not a card, coupon or claim link */
	SCAN_NOT_OUR_URL,     /* a URL whose last part is no token (another site, a product page) */
	SCAN_BAD_TOKEN,	      /* token text that is no token (token_status tells why) */
	SCAN_BAD_PHONE,	      /* starts like a phone number but is not +48 and 9 digits */
	SCAN_PRODUCT_BARCODE, /* an EAN-8, UPC-A or EAN-13 with a good check digit: a product */
	SCAN_UNRECOGNISED,    /* anything else */
	SCAN_REASON_MAX
};

struct scan_result {
	enum scan_kind kind;
	enum scan_reason reason;
	/* SCAN_CARD, SCAN_COUPON, SCAN_CLAIM: the token text inside the line (not NUL-terminated),
	 * for token_verify; for a plain card code, the code. SCAN_BAD_TOKEN: the text refused. */
	const char *text;
	size_t text_len;
	/* SCAN_CARD, SCAN_COUPON, SCAN_CLAIM from a token: what token_peek read (NOT
	 * authenticated). Zero for a plain card code. */
	struct token token;
	enum token_status token_status; /* of token_peek: TOKEN_OK, or why SCAN_BAD_TOKEN */
	bool plain_code; /* SCAN_CARD: the card code with no signature (base + code) */
	/* SCAN_CARD: the card code, from the token or the plain form */
	char card_code[TOKEN_CARD_CODE_LEN + 1];
	/* SCAN_PHONE: "+48" and the 9 digits, no separators */
	char phone[SCAN_PHONE_LEN + 1];
};

/*
 * Route the len bytes of line (no NUL needed). card_url_base is the terminal's card page base
 * (e.g. "https://k.example.pl/c/"; NULL: the plain card code form is not recognised): a URL
 * made of it (compared without regard to case) and a card code (strict uppercase) is a card. A
 * token is recognised after the last '/' of a URL on any host, or as the whole line (the signature
 * decides, not the host). Returns 0 and fills *ret_result, or -EINVAL when line is NULL with len >
 * 0 or ret_result is NULL.
 */
__attribute__((warn_unused_result)) int
scan_route(const char *line, size_t len, const char *card_url_base, struct scan_result *ret_result);

/* "unknown", "card", "coupon", "claim", "phone"; never NULL. */
const char *scan_kind_name(enum scan_kind kind);
/* A short English reason for the cashier and logs ("a product barcode, not a loyalty code"). */
const char *scan_reason_str(enum scan_reason reason);
