/*
 * rules: the programme applied to one sale, one refund: a pure function from (programme, member
 * state, basket, request, now) to the ledger events to book, the facts the receipt prints, and
 * the trace that explains every point. No I/O, no allocation, no clock: the caller passes the
 * state it read from the ledger and books what comes back, in one transaction. Business
 * refusals ("not enough points", "coupon expired") are values in the result; a negative errno
 * means the caller passed something impossible (a programmer error).
 *
 * The order of the rules, the rounding and the refund policy are described in docs/rules.md.
 *
 * Not for: storage (ledger.h), receipt layout (receipt.h), the sale flow's states.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programme.h"

#define RULES_LINES_MAX	    100
#define RULES_QTY_MAX	    10000
#define RULES_LOTS_MAX	    400 /* points lots a member holds (one per earning day is plenty) */
#define RULES_COUPONS_MAX   8
#define RULES_COUPON_ID_MAX 31
#define RULES_EVENTS_MAX    (13 + PROGRAMME_STAMPS_MAX)
#define RULES_TRACE_MAX	    (8 + PROGRAMME_MULTIPLIERS_MAX + PROGRAMME_PROMOS_MAX)
#define RULES_TEXT_MAX	    256

/* ---- input ---- */

struct rules_line {
	char sku[PROGRAMME_ID_MAX + 1];
	char category[PROGRAMME_ID_MAX + 1];
	int32_t qty;	 /* 1..RULES_QTY_MAX */
	int64_t unit_gr; /* 0..MONEY_MAX_GR */
	bool tax_free;	 /* earns no points */
	bool gift_card;	 /* earns no points, takes no discount, counts for no tier */
};

struct rules_basket {
	const struct rules_line *lines; /* not owned */
	size_t n_lines;			/* 0: no sale (a donation or enrolment alone) */
};

/* Points earned together at one time; they expire programme.expiry_months later. */
struct rules_lot {
	int64_t earned_us;
	int64_t pts; /* > 0 */
};

struct rules_coupon {
	char id[RULES_COUPON_ID_MAX + 1];
	char campaign[PROGRAMME_ID_MAX + 1]; /* "first_purchase", "reactivation" */
	int32_t percent_bp;
	int64_t min_basket_gr;
	int64_t expires_us; /* the first instant it is no longer valid (00:00 Warsaw after the
			       printed last day) */
	bool combinable;    /* with points redemption */
	bool used;
};

/*
 * A member's state as the ledger holds it. balance_pts must equal the sum of the lots, which
 * are ordered by earned_us, oldest first.
 */
struct rules_member {
	int64_t member_id;
	int64_t balance_pts;
	struct rules_lot lots[RULES_LOTS_MAX];
	size_t n_lots;
	int64_t spend_window_gr; /* spend in the tier window before now (ledger_member_spend) */
	int32_t stamps[PROGRAMME_STAMPS_MAX]; /* per programme stamp card, 0..every-1 */
	struct rules_coupon coupons[RULES_COUPONS_MAX];
	size_t n_coupons;
	int64_t last_coupon_us; /* when the last coupon was issued to the member, 0: never */
	bool welcomed;		/* the welcome bonus was given */
	bool first_purchase_done;
	int birth_month, birth_day; /* 0: not known */
	int birthday_bonus_year;    /* the last year a birthday bonus was given, 0: never */
	int64_t referrer_id;	    /* the member who referred this one, 0: none */
	int64_t first_visit_us, last_visit_us; /* 0: never */
	int64_t visits;
	int64_t monetary_gr;	      /* lifetime spend */
	int64_t offline_redeemed_pts; /* redeemed offline on this terminal since the last sync */
};

/* The terminal's side of a request: offline state, budgets used, campaign counts of the day. */
struct rules_request {
	int64_t redeem_pts;	   /* points to turn into a discount, 0: none */
	const char *coupon_id;	   /* coupon presented, NULL or "": none */
	int64_t donate_pts;	   /* points to give to the cause, 0: none */
	const char *new_coupon_id; /* a fresh unique id for a coupon this sale may issue; NULL: the
				      sale issues none */
	bool offline;		   /* the server cannot be reached */
	int64_t last_sync_us;	   /* the last successful sync */
	/*
	 * What the server granted at that sync (budget_granted false: the programme's offline
	 * limits): the points this terminal may still redeem offline today, the cap per member,
	 * the longest time offline before redemption stops (0: the programme's).
	 */
	bool budget_granted;
	int64_t budget_terminal_pts, budget_member_cap_pts, budget_max_age_s;
	int64_t terminal_offline_redeemed_pts; /* redeemed offline on this terminal since then */
	int32_t issued_today_first_purchase; /* coupons this terminal issued today, per campaign */
	int32_t issued_today_reactivation;
	/*
	 * The survey hook: the server awards survey_pts for an answered survey (the card page's
	 * one question). survey_id names it (at most RULES_COUPON_ID_MAX characters); survey_done
	 * says the ledger already holds this member's bonus for it (refused then: once per survey).
	 */
	const char *survey_id;
	bool survey_done;
};

/* ---- output ---- */

enum rules_event_kind {
	RULES_EV_EARN,	       /* points of the sale; amount_gr: the spend it counts for tiers */
	RULES_EV_BONUS,	       /* welcome, birthday, referral (rule says which) */
	RULES_EV_REDEEM,       /* points spent (negative); amount_gr: the discount */
	RULES_EV_DONATE,       /* points given to the cause (negative) */
	RULES_EV_EXPIRE,       /* points expired (negative) */
	RULES_EV_STAMP,	       /* items counted on a stamp card (items, progress); amount_gr:
				  the discount of its free items (0 when none) */
	RULES_EV_COUPON_USE,   /* ref: the coupon; amount_gr: the discount */
	RULES_EV_COUPON_ISSUE, /* ref: the coupon */
	RULES_EV_REFUND,       /* money back (amount_gr negative) */
	RULES_EV_REVERSE,      /* earned points taken back by a refund (negative) */
	RULES_EV_RECREDIT,     /* redeemed points given back by a refund */
	RULES_EV_MAX
};

/* "earn", "bonus", "redeem", ... (at most 15 characters, the ledger's kind). */
const char *rules_event_kind_name(enum rules_event_kind kind);

struct rules_event {
	enum rules_event_kind kind;
	int64_t member_id; /* whose points: the member, or the referrer for its referral bonus */
	int64_t points;	   /* signed */
	int64_t amount_gr; /* signed */
	int64_t lot_us;	   /* for a credit: the earned time of the lot it makes (expiry counts
			      from it); 0 for a debit (taken from the oldest lots first) */
	char rule[PROGRAMME_ID_MAX + 1];   /* the rule that made it */
	char ref[RULES_COUPON_ID_MAX + 1]; /* coupon id, stamp card id, cause; "" when none */
	int64_t items;	  /* stamp: items of the card's category the sale counted; 0 otherwise */
	int64_t progress; /* stamp: the card's count after them (0..every-1); 0 otherwise */
};

/* One step of the points arithmetic, for "why these points". */
struct rules_trace {
	char rule[PROGRAMME_ID_MAX + 1]; /* "base", "tier:Gold", a multiplier/promotion id, ... */
	int64_t base_gr;		 /* eligible grosze the rule looked at */
	int64_t base_pts; /* whole points it multiplied (base: base_gr / gr_per_point) */
	int32_t permille; /* multiplier, 1000 = x1; the rule adds base_pts*(permille-1000)/1000 */
	int64_t points;	  /* points it added */
	int64_t dropped;  /* cut by rounding down: grosze below a point (base) or thousandths of a
			     point (multipliers, bonuses: 0) */
};

enum rules_refusal {
	RULES_OK,
	RULES_REFUSED_REDEEM_MIN,	  /* fewer points than the minimum */
	RULES_REFUSED_REDEEM_STEP,	  /* not a multiple of the unit */
	RULES_REFUSED_REDEEM_BALANCE,	  /* more than the balance */
	RULES_REFUSED_REDEEM_BASKET,	  /* the discount would pass the basket share */
	RULES_REFUSED_OFFLINE_STALE,	  /* offline for too long to redeem */
	RULES_REFUSED_OFFLINE_BUDGET,	  /* the terminal's offline budget is spent */
	RULES_REFUSED_OFFLINE_MEMBER_CAP, /* the member's offline cap is reached */
	RULES_REFUSED_COUPON_UNKNOWN,
	RULES_REFUSED_COUPON_USED,
	RULES_REFUSED_COUPON_EXPIRED,
	RULES_REFUSED_COUPON_MIN_BASKET,
	RULES_REFUSED_COUPON_NOT_COMBINABLE,
	RULES_REFUSED_DONATION_OFF,
	RULES_REFUSED_DONATION_MIN,
	RULES_REFUSED_DONATION_BALANCE,
	RULES_REFUSED_REFUND_TOO_MUCH, /* more returned than the receipt has left */
	RULES_REFUSED_SURVEY_DONE,     /* the survey's bonus was given already */
	RULES_REFUSED_MAX
};

struct rules_result {
	enum rules_refusal refusal;	   /* RULES_OK, or nothing below is to be booked */
	char refusal_text[RULES_TEXT_MAX]; /* for the cashier (English), "" when RULES_OK */

	struct rules_event events[RULES_EVENTS_MAX]; /* to book, in this order */
	size_t n_events;
	struct rules_trace trace[RULES_TRACE_MAX];
	size_t n_trace;

	/* money of the sale */
	int64_t basket_gr;	   /* all lines, before discounts */
	int64_t stamp_discount_gr; /* free stamp-card items */
	int64_t coupon_discount_gr;
	int64_t points_discount_gr; /* paid with points */
	int64_t to_pay_gr;	    /* what the customer pays in money */
	int64_t eligible_gr;	    /* the part of to_pay that earns points */
	int64_t spend_gr;	    /* the part that counts for tiers (no gift cards) */

	/* points */
	int64_t earned_pts; /* the earn event */
	int64_t bonus_pts;  /* this member's bonuses */
	int64_t redeemed_pts, donated_pts, expired_pts;
	int64_t balance_before_pts, balance_pts;
	char earn_text[RULES_TEXT_MAX]; /* one line for the receipt, Polish */

	/* tier after the sale (the sale earns at the tier before it: tier_before) */
	size_t tier_before, tier;
	int64_t to_next_tier_gr; /* spend still needed for tier + 1; 0 at the top tier */

	int32_t stamps_free[PROGRAMME_STAMPS_MAX]; /* free items per card in this sale */

	int64_t next_expiry_us; /* when the oldest points expire, 0: no points */
	int64_t next_expiry_pts;

	bool coupon_issued;
	struct rules_coupon coupon;		   /* the coupon issued */
	int coupon_year, coupon_month, coupon_day; /* its printed last day, Warsaw */
	char coupon_text[RULES_TEXT_MAX];	   /* its full terms, Polish, for the receipt */
	const char *coupon_withheld; /* why a due coupon was not issued (a cap), or NULL */

	struct rules_member member; /* the state after the events (what folding them gives) */
	int64_t terminal_offline_redeemed_pts; /* after this sale */
};

/*
 * Apply the programme to a sale (or, with an empty basket, to a donation or an enrolment) at
 * now_us. On a business refusal ret->refusal says why, ret->refusal_text says it to the
 * cashier and there are no events: the caller asks again without the refused part. Returns 0,
 * or -EINVAL for impossible input (a balance that is not the sum of the lots, lots out of order,
 * a quantity or price out of range, a basket over MONEY_MAX_GR). *ret is written only on 0.
 */
__attribute__((warn_unused_result)) int rules_apply(const struct programme *prog,
						    const struct rules_member *state,
						    const struct rules_basket *basket,
						    const struct rules_request *req, int64_t now_us,
						    struct rules_result *ret);

/*
 * A sale as booked, with what its refunds booked so far: the ledger keeps these per receipt.
 * rules_refund returns the updated record in ret->record.
 */
struct rules_sale_record {
	int64_t time_us;
	int64_t basket_gr;	    /* result.basket_gr */
	int64_t eligible_basket_gr; /* gross value of the lines that earn (not tax-free/gift) */
	int64_t paid_gr;	    /* result.to_pay_gr */
	int64_t redeemed_pts;	    /* result.redeemed_pts */
	int64_t earned_pts;	    /* result.earned_pts */
	int64_t bonus_pts;	    /* result.bonus_pts: taken back only by a whole refund */
	/* cumulative over the refunds so far */
	int64_t refunded_basket_gr, refunded_eligible_gr, refunded_paid_gr;
	int64_t reversed_pts, recredited_pts;
};

/* What comes back: gross value of the returned items and the part from earning lines. */
struct rules_refund_request {
	int64_t basket_gr;
	int64_t eligible_gr;
};

struct rules_refund_result {
	enum rules_refusal refusal;
	char refusal_text[RULES_TEXT_MAX];
	struct rules_event events[RULES_EVENTS_MAX];
	size_t n_events;
	int64_t money_back_gr; /* to pay out, after any shortfall */
	int64_t reversed_pts;  /* earned points taken back (from the balance or the money) */
	int64_t recredited_pts;
	int64_t shortfall_pts; /* reversed points the balance no longer held ... */
	int64_t shortfall_gr;  /* ... and their value, kept from the money back */
	int64_t expired_pts;
	int64_t balance_pts;
	struct rules_sale_record record; /* updated */
	struct rules_member member;	 /* the state after the events */
};

/*
 * Refund part or all of a sale (by receipt: the caller finds the record). Earned points are
 * reversed in proportion to the eligible value returned, rounded up (in the member's disfavour)
 * and never past what was earned; a whole refund reverses exactly what was earned plus the sale's
 * bonuses. Money back and re-credited points are in proportion to the value returned, rounded
 * down, and reach exactly what was paid/redeemed on the whole refund, never more. Points the
 * member has already spent are taken from the money back at the redemption rate (rounded up),
 * so buy, earn, spend, refund gains nothing. Same return convention as rules_apply().
 */
__attribute__((warn_unused_result)) int
rules_refund(const struct programme *prog, const struct rules_member *state,
	     const struct rules_sale_record *record, const struct rules_refund_request *req,
	     int64_t now_us, struct rules_refund_result *ret);

/* When points earned at earned_us expire: expiry_months later, same UTC clock time. */
int64_t rules_lot_expiry_us(const struct programme *prog, int64_t earned_us);

/* The first instant of the Warsaw civil day that begins days after the one holding utc_us. */
int64_t rules_warsaw_day_start_us(int64_t utc_us, int days);
