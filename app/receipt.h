/*
 * receipt: the thank-you receipt of a sale as a layout (see layout.h), in Polish or English.
 *
 * Built only from committed facts and the store's settings, so the same sale always gives the
 * same layout (and, through escpos, the same bytes). Not for: encoding or printing.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "programme.h"
#include "rules.h"
#include "template.h"

#define RECEIPT_MESSAGE_MAX 255 /* bytes of receipt_facts.message */
#define RECEIPT_COUPONS_MAX 2	/* coupon blocks on one receipt */
#define RECEIPT_STAMPS_MAX  4	/* stamp card rows on one receipt */

/*
 * The store-editable texts, each a template (template.h) over the variables listed in
 * docs/receipts.md: store, address, receipt, date, points, balance, tier, survey_pts,
 * claim_date. A slot the store leaves empty prints the default of the receipt's language.
 * Lines longer than the paper are wrapped at spaces and centred.
 */
enum receipt_text {
	RECEIPT_TEXT_HEADER,	       /* under the store's name: "{address}" */
	RECEIPT_TEXT_THANKS_NEW,       /* the greeting by segment; its first line is bold */
	RECEIPT_TEXT_THANKS_RETURNING,
	RECEIPT_TEXT_THANKS_VIP,
	RECEIPT_TEXT_THANKS_DORMANT,
	RECEIPT_TEXT_THANKS_ANONYMOUS, /* a sale without a card */
	RECEIPT_TEXT_CARD,	       /* above the card QR */
	RECEIPT_TEXT_SURVEY,	       /* under it, when the programme has a survey bonus */
	RECEIPT_TEXT_CLAIM,	       /* above the "claim your points" QR */
	RECEIPT_TEXT_FOOTER,	       /* the last line */
	RECEIPT_TEXT_MAX
};

struct receipt_texts {
	char src[RECEIPT_TEXT_MAX][TEMPLATE_SRC_MAX + 1]; /* "": the language's default */
};

/* The slot's name in terminal.json ("header", "thanks_new", ...); NULL outside the enum. */
const char *receipt_text_name(enum receipt_text slot);
/* The default template of slot in lang; NULL outside the enums. */
const char *receipt_text_default(enum programme_lang lang, enum receipt_text slot);
/*
 * Set the store's template for the slot called name, checked against the receipt's variables.
 * Returns 0, -ENOENT for an unknown slot name, or template_check's error with err filled in.
 */
int receipt_texts_set(struct receipt_texts *texts, const char *name, const char *src, char *err,
		      size_t err_size);

/* Check that each language's numbered labels take the arguments the code passes: 0 or -EINVAL
 * with the label named in err. */
int receipt_check_formats(char *err, size_t err_size);

struct receipt_store {
	const char *name;    /* shown large at the top */
	const char *address; /* one line, may be empty */
	const char
	    *card_url_base; /* e.g. "https://loyalty.example.com/c/"; the card code follows */
	enum programme_lang lang;	   /* PROGRAMME_LANG_PL (0) unless the store says */
	const struct receipt_texts *texts; /* the store's templates; NULL: all defaults */
	const char *terms_url;		   /* the programme's versioned terms; NULL or "": none */
	int64_t survey_pts;		   /* the survey bonus; 0: no survey line */
};

/* How the customer is greeted: the member's segment (segment.h), or by first_visit. */
enum receipt_greeting {
	RECEIPT_GREET_AUTO, /* first_visit ? new : returning */
	RECEIPT_GREET_NEW,
	RECEIPT_GREET_RETURNING,
	RECEIPT_GREET_VIP,
	RECEIPT_GREET_DORMANT,
	RECEIPT_GREET_MAX
};

/* A coupon the sale issued, printed as a block of its full terms and its own QR. */
struct receipt_coupon {
	const char *id;
	int32_t percent_bp;
	int64_t min_basket_gr;
	int64_t expires_us; /* the first instant it is no longer valid */
	const char *qr_url; /* the signed coupon token URL; NULL or "": no QR */
};

/* A stamp card's row: progress of every stamps, and the free items this sale gave. */
struct receipt_stamps {
	const char *name; /* the card's category as the programme names it */
	int32_t progress, every, free_items;
};

struct receipt_facts {
	const char *receipt_no;
	int64_t time_us; /* UTC; shown in Europe/Warsaw */
	int64_t amount_gr;
	int64_t earned_pts;
	int64_t balance_pts;
	bool first_visit;
	enum receipt_greeting greeting;
	/* the member's card code; NULL or "": a sale without a card (see claim_qr_url) */
	const char *card_code;
	int64_t bonus_pts; /* welcome, birthday, referral points of this sale; 0: none */
	struct receipt_coupon coupons[RECEIPT_COUPONS_MAX]; /* issued by this sale */
	size_t n_coupons;
	/* what the sale paid other than with money; all 0 when nothing */
	int64_t redeemed_pts, points_discount_gr; /* points turned into a discount */
	const char *coupon_used;		  /* the coupon used, NULL or "" when none */
	int64_t coupon_discount_gr;
	int64_t stamp_discount_gr; /* free items of stamp cards */
	int64_t donated_pts;	   /* given to the store's cause in this sale */
	/* the member's tier after the sale; NULL: no tier lines */
	const char *tier, *next_tier;	 /* next_tier NULL at the top */
	int64_t to_next_tier_gr, tier_span_gr; /* spend still needed, and the tier's whole span */
	struct receipt_stamps stamps[RECEIPT_STAMPS_MAX];
	size_t n_stamps;
	int64_t next_expiry_us, next_expiry_pts; /* the oldest points' expiry; 0: none */
	/*
	 * The thank-you message for the member's segment (segment_message()), UTF-8, at most
	 * RECEIPT_MESSAGE_MAX bytes: printed centred under the greeting, wrapped at spaces to the
	 * paper width (a word longer than a line is cut). NULL or "": no message line.
	 */
	const char *message;
	/* the award trace's points steps (the caller leaves out steps that carry facts only, as the
	 * terminal's segment and standing): its multipliers make the one-line reason under the
	 * points; with explain, it is also printed as a "how the points were counted" block */
	const struct rules_trace *trace;
	size_t n_trace;
	bool explain;
	/* what the card QR encodes (the signed card token URL); NULL: the card URL as printed */
	const char *card_qr_url;
	/* a sale without a card: the "claim your points" token URL and the first instant it is no
	 * longer valid (earned_pts are the points to claim) */
	const char *claim_qr_url;
	int64_t claim_expires_us;
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
