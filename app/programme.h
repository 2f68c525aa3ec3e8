/*
 * programme: the loyalty programme's rules as configuration (PRODUCT.md, "Programme rules"),
 * parsed from JSON text (version 1) and validated. Every rule has a default
 * (programme_default(), the same as board/programme.json); a key left out of the text keeps its
 * default, an unknown key is refused. Amounts are integer grosze (*_gr), points *_pts, rates
 * integer per-mille (*_permille, 1000 = x1) or basis points (*_bp, 10000 = 100%). Nothing here
 * is a floating-point number: JSON numbers are accepted only when they are exact whole numbers.
 *
 * Not for: reading files (the caller hands in a buffer), applying the rules (rules.h), signature
 * checks of a pushed programme (sync).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRAMME_VERSION	  1
#define PROGRAMME_TEXT_MAX	  (64 * 1024) /* bytes of JSON accepted */
#define PROGRAMME_ERR_MAX	  160	      /* a message naming the field and the problem */
#define PROGRAMME_ID_MAX	  31	      /* rule ids, tier names, categories, skus */
#define PROGRAMME_URL_MAX	  127
#define PROGRAMME_MULTIPLIERS_MAX 32
#define PROGRAMME_PROMOS_MAX	  16
#define PROGRAMME_TIERS_MAX	  4
#define PROGRAMME_STAMPS_MAX	  8
#define PROGRAMME_PERMILLE_MAX	  5000 /* x5: the largest multiplier a rule may set */
#define PROGRAMME_RFM_BREAKS	  4    /* breakpoints between the RFM scores 1..5 */
#define PROGRAMME_SEGMENTS_MAX	  4    /* new, returning, vip, dormant: enum segment_kind */
#define PROGRAMME_MESSAGE_MAX	  127  /* bytes of UTF-8 of a receipt's thank-you message */

/* A category or product multiplier: lines of the category (or the product) earn x permille/1000. */
struct programme_multiplier {
	char id[PROGRAMME_ID_MAX + 1];
	char category[PROGRAMME_ID_MAX + 1]; /* exactly one of category and sku is set */
	char sku[PROGRAMME_ID_MAX + 1];
	int32_t permille; /* 1001..PROGRAMME_PERMILLE_MAX */
};

/*
 * A time-window promotion: while active, eligible lines (of category, or all when "") earn
 * x permille/1000. Active in [start_us, end_us) when those are set, and then also (when weekdays
 * is not 0) only on the weekdays of the mask (bit 0 = Sunday) between from_minute and to_minute
 * of the day, Europe/Warsaw civil time.
 */
struct programme_promo {
	char id[PROGRAMME_ID_MAX + 1];
	char category[PROGRAMME_ID_MAX + 1];
	int32_t permille;
	int64_t start_us, end_us; /* both 0: no date window */
	uint8_t weekdays;	  /* 0: every day, all day */
	int16_t from_minute;	  /* 0..1439, local time */
	int16_t to_minute;	  /* from_minute+1..1440 */
};

struct programme_tier {
	char name[PROGRAMME_ID_MAX + 1];
	int64_t threshold_gr; /* rolling-window spend from which the tier holds */
	int32_t permille;     /* earn multiplier on the base points, >= 1000 */
};

/* Stamp card: every "every"-th item of category is free (the stamp count includes it). */
struct programme_stamp_card {
	char id[PROGRAMME_ID_MAX + 1];
	char category[PROGRAMME_ID_MAX + 1];
	int32_t every; /* 2..100 */
};

/* A coupon campaign (the percent-off coupons the terminal issues itself). */
struct programme_coupon_rule {
	bool enabled;
	int32_t percent_bp;    /* discount off the basket, 1..10000 */
	int64_t min_basket_gr; /* the basket before discounts must reach this */
	int32_t valid_days;    /* valid to the end of the printed day + valid_days, Warsaw */
	bool combinable;       /* with points redemption in the same sale */
	int32_t daily_cap;     /* coupons of this campaign per terminal per day; 0: no cap */
	int32_t dormant_days;  /* reactivation only: days since the last visit */
};

/* The languages of the texts the programme holds; receipts are in Polish by default. */
enum programme_lang { PROGRAMME_LANG_PL, PROGRAMME_LANG_EN, PROGRAMME_LANG_MAX };

/*
 * Customer segments and RFM scores (segment.h applies them; docs/rules.md, "Segments").
 * Breakpoints are strictly ascending. Recency counts whole days of 24 h since the last visit:
 * the score is 5 below recency_days[0], 4 from it, ... 1 from recency_days[3] (and with no
 * visit). Frequency (visits) and monetary (lifetime spend) score 1 below their [0], 2 from
 * it, ... 5 from their [3].
 */
struct programme_segments {
	int32_t dormant_days; /* a member whose last visit is this many days ago or more */
	bool vip_top_tier;    /* VIP: the member is in the top tier (with 2 tiers or more) ... */
	bool vip_rfm;	      /* ... or every score reaches its minimum below */
	int32_t vip_min_recency, vip_min_frequency, vip_min_monetary; /* 1..5 */
	int32_t recency_days[PROGRAMME_RFM_BREAKS];
	int64_t frequency_visits[PROGRAMME_RFM_BREAKS];
	int64_t monetary_gr[PROGRAMME_RFM_BREAKS];
	/* the receipt's thank-you message per segment (enum segment_kind) and language; "": none */
	char message[PROGRAMME_SEGMENTS_MAX][PROGRAMME_LANG_MAX][PROGRAMME_MESSAGE_MAX + 1];
};

enum programme_refund_policy {
	PROGRAMME_REFUND_RECREDIT, /* points spent on the sale come back in proportion */
	PROGRAMME_REFUND_FORFEIT,  /* points spent stay spent (the money part is refunded) */
	PROGRAMME_REFUND_MAX
};

struct programme {
	int version;
	char id[PROGRAMME_ID_MAX + 1];	       /* e.g. "default-1" */
	char terms_url[PROGRAMME_URL_MAX + 1]; /* versioned terms, printed with every coupon */

	/* earn */
	int64_t earn_gr_per_point; /* 100: 1 point per full PLN */
	struct programme_multiplier multipliers[PROGRAMME_MULTIPLIERS_MAX];
	size_t n_multipliers;
	struct programme_promo promos[PROGRAMME_PROMOS_MAX];
	size_t n_promos;

	/* bonuses */
	int64_t welcome_pts;
	int64_t birthday_pts;
	int64_t referral_referrer_pts;
	int64_t referral_referred_pts;
	int64_t survey_pts;

	/* tiers, ascending thresholds; tiers[0].threshold_gr is 0 */
	struct programme_tier tiers[PROGRAMME_TIERS_MAX];
	size_t n_tiers;
	int32_t tier_window_days;

	struct programme_stamp_card stamps[PROGRAMME_STAMPS_MAX];
	size_t n_stamps;

	struct programme_coupon_rule first_purchase;
	struct programme_coupon_rule reactivation;
	int32_t coupon_member_interval_days; /* at most one coupon per member per this many days */

	int32_t expiry_months; /* points expire this many months after they were earned */

	/* redemption: redeem_unit_pts points are worth redeem_unit_gr */
	int64_t redeem_unit_pts;
	int64_t redeem_unit_gr;
	int64_t redeem_min_pts;
	int32_t redeem_max_basket_bp; /* of the basket after coupon and stamp discounts */

	bool donation_enabled;
	char donation_cause[PROGRAMME_ID_MAX + 1];
	int64_t donation_min_pts;

	enum programme_refund_policy refund_policy;

	/* offline redemption, until the server grants budgets at sync */
	int64_t offline_terminal_budget_pts;
	int64_t offline_member_cap_pts;
	int64_t offline_max_age_s;

	struct programme_segments segments;
};

/* The default programme of PRODUCT.md (the same as board/programme.json). */
void programme_default(struct programme *ret);

/*
 * Parse and validate a programme from len bytes of JSON (no terminator needed). Keys left out
 * keep their default; unknown keys, wrong types, fractional or out-of-range numbers and
 * inconsistent rules are refused with -EINVAL and a message in err naming the field and the
 * problem ("tiers[1].threshold_gr: must be >= tiers[0].threshold_gr"). -EFBIG for more than
 * PROGRAMME_TEXT_MAX bytes, -ENOMEM. *ret is written only on success; err may be NULL.
 */
__attribute__((warn_unused_result)) int
programme_parse(const char *text, size_t len, struct programme *ret, char *err, size_t err_size);

/* The tier index for a rolling-window spend (the highest whose threshold it reaches). */
size_t programme_tier_for(const struct programme *p, int64_t spend_gr);
