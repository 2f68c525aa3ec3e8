/*
 * receipt: the thank-you receipt of a sale as a layout (see layout.h), in Polish.
 *
 * Built only from committed facts and the store's settings, so the same sale always gives the
 * same layout (and, through escpos, the same bytes). Not for: encoding or printing.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "rules.h"

#define RECEIPT_MESSAGE_MAX 255 /* bytes of receipt_facts.message */

struct receipt_store {
	const char *name;    /* shown large at the top */
	const char *address; /* one line, may be empty */
	const char
	    *card_url_base; /* e.g. "https://loyalty.example.com/c/"; the card code follows */
};

struct receipt_facts {
	const char *receipt_no;
	int64_t time_us; /* UTC; shown in Europe/Warsaw */
	int64_t amount_gr;
	int64_t earned_pts;
	int64_t balance_pts;
	bool first_visit;
	const char *card_code;
	int64_t bonus_pts; /* welcome, birthday, referral points of this sale; 0: none */
	/* a coupon the sale issued: coupon_percent_bp 0 when none */
	const char *coupon_id;
	int32_t coupon_percent_bp;
	int64_t coupon_min_basket_gr;
	int64_t coupon_expires_us; /* the first instant it is no longer valid */
	/* what the sale paid other than with money; all 0 when nothing */
	int64_t redeemed_pts, points_discount_gr; /* points turned into a discount */
	const char *coupon_used;		  /* the coupon used, NULL or "" when none */
	int64_t coupon_discount_gr;
	int64_t stamp_discount_gr; /* free items of stamp cards */
	/*
	 * The thank-you message for the member's segment (segment_message()), UTF-8, at most
	 * RECEIPT_MESSAGE_MAX bytes: printed centred under the greeting, wrapped at spaces to the
	 * paper width (a word longer than a line is cut). NULL or "": no message line.
	 */
	const char *message;
	/* the award trace, printed as a short "how the points were counted" block; n_trace 0: none
	 * (the receipt of a sale prints it only when asked: a reprint with explanation) */
	const struct rules_trace *trace;
	size_t n_trace;
	/* what the card QR encodes (the signed card token URL); NULL: the card URL as printed */
	const char *card_qr_url;
};

/* The card page URL printed in the QR: card_url_base + card_code. -ENOBUFS when too long. */
int receipt_card_url(const struct receipt_store *store, const char *card_code, char *buf,
		     size_t size);

/*
 * Lay out the receipt into *ret_layout (initialised here for `columns` characters per line).
 * Returns 0, or -E2BIG when a field is too long for the layout.
 */
__attribute__((warn_unused_result)) int receipt_build(const struct receipt_facts *facts,
						      const struct receipt_store *store,
						      int columns, struct layout *ret_layout);

/* A refund slip: what a refund booked, from its events. */
struct receipt_refund_facts {
	const char *receipt_no;	   /* the refund's own number */
	const char *of_receipt_no; /* the sale it refunds */
	int64_t time_us;
	int64_t money_back_gr;
	int64_t reversed_pts;	/* earned points taken back */
	int64_t recredited_pts; /* redeemed points given back */
	int64_t expired_pts;	/* points that expired at the refund */
	const char *card_code;
	const char *card_qr_url; /* as receipt_facts.card_qr_url */
};

/* Lay out a refund slip ("ZWROT"); same conventions as receipt_build(). */
__attribute__((warn_unused_result)) int receipt_build_refund(const struct receipt_refund_facts *f,
							     const struct receipt_store *store,
							     int columns,
							     struct layout *ret_layout);
