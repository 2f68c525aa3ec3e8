/*
 * rules_test: golden cases of rules_apply() and rules_refund() with the default programme
 * (rounding at the boundaries, exclusions, coupons at their expiry across a summer-time change,
 * caps, tiers, redemption limits, refunds and the buy-earn-refund exploit, expiry), and a
 * property test: random sales, redemptions and refunds, with the events folded here, by this
 * file's own code, into the state the rules report.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "programme.h"
#include "rules.h"
#include "wartime.h"

#define S   INT64_C(1000000)
#define DAY (86400 * S)

static struct programme prog;
static struct rules_member mem; /* the member of a case, reset by fresh_member() */
static struct rules_result res; /* large: static */
static struct rules_refund_result rres;

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return wartime_utc_from_civil(y, mo, d, h, mi, s) * S;
}

static int setup(void **state)
{
	(void) state;
	programme_default(&prog);
	return 0;
}

/* A known member: welcomed, first purchase done, visited yesterday, no points. */
static void fresh_member(int64_t now)
{
	memset(&mem, 0, sizeof(mem));
	mem.member_id = 7;
	mem.welcomed = true;
	mem.first_purchase_done = true;
	mem.first_visit_us = now - 100 * DAY;
	mem.last_visit_us = now - DAY;
	mem.visits = 3;
}

static void give(int64_t t, int64_t pts)
{
	mem.lots[mem.n_lots++] = (struct rules_lot){.earned_us = t, .pts = pts};
	mem.balance_pts += pts;
}

static struct rules_line line(const char *cat, int32_t qty, int64_t unit, bool tax_free, bool gift)
{
	struct rules_line l = {
	    .qty = qty, .unit_gr = unit, .tax_free = tax_free, .gift_card = gift};
	snprintf(l.category, sizeof(l.category), "%s", cat);
	snprintf(l.sku, sizeof(l.sku), "sku-%s", cat);
	return l;
}

static void apply(const struct rules_line *lines, size_t n, const struct rules_request *req,
		  int64_t now)
{
	struct rules_basket b = {.lines = lines, .n_lines = n};
	struct rules_request none = {0};
	assert_int_equal(rules_apply(&prog, &mem, &b, req ? req : &none, now, &res), 0);
}

static const struct rules_event *find_event(enum rules_event_kind kind, const char *rule)
{
	for (size_t i = 0; i < res.n_events; i++)
		if (res.events[i].kind == kind && (!rule || strcmp(res.events[i].rule, rule) == 0))
			return &res.events[i];
	return NULL;
}

/* ---- earn ---- */

struct earn_case {
	const char *name;
	int64_t spend_window_gr; /* decides the tier */
	struct {
		const char *cat;
		int32_t qty;
		int64_t unit;
		bool tax_free, gift;
	} lines[3];
	size_t n;
	int64_t eligible_gr, earned_pts;
};

static const struct earn_case earn_cases[] = {
    {"12,99 zl earns 12", 0, {{"food", 1, 1299, false, false}}, 1, 1299, 12},
    {"0,99 zl earns 0", 0, {{"food", 1, 99, false, false}}, 1, 99, 0},
    {"1,00 zl earns 1", 0, {{"food", 1, 100, false, false}}, 1, 100, 1},
    /* Gold x1,25 on 13 points: 13 + floor(13 * 250 / 1000) = 13 + 3 (3,25 cut) = 16 */
    {"Gold x1,25 on 13 points is 16", 100000, {{"food", 1, 1300, false, false}}, 1, 1300, 16},
    {"Gold x1,25 on 13,99 zl is 16", 100000, {{"food", 1, 1399, false, false}}, 1, 1399, 16},
    {"Gold x1,25 on 4 points is 5", 100000, {{"food", 4, 100, false, false}}, 1, 400, 5},
    {"Gold x1,25 on 3 points stays 3", 100000, {{"food", 3, 100, false, false}}, 1, 300, 3},
    {"Platinum x1,5 on 13 points is 19", 300000, {{"food", 1, 1300, false, false}}, 1, 1300, 19},
    {"Gold threshold minus 1 gr is Silver", 99999, {{"food", 1, 1300, false, false}}, 1, 1300, 13},
    {"tax-free line earns nothing",
     0,
     {{"food", 1, 550, false, false}, {"tobacco", 1, 1000, true, false}},
     2,
     550,
     5},
    {"gift card earns nothing",
     0,
     {{"giftcard", 1, 10000, false, true}, {"food", 2, 100, false, false}},
     2,
     200,
     2},
    {"floor is on the sum, not per line",
     0,
     {{"food", 1, 150, false, false}, {"drink", 1, 150, false, false}},
     2,
     300,
     3},
};

static void test_earn_table(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	for (size_t c = 0; c < sizeof(earn_cases) / sizeof(earn_cases[0]); c++) {
		const struct earn_case *ec = &earn_cases[c];
		struct rules_line lines[3];
		for (size_t i = 0; i < ec->n; i++)
			lines[i] = line(ec->lines[i].cat, ec->lines[i].qty, ec->lines[i].unit,
					ec->lines[i].tax_free, ec->lines[i].gift);
		fresh_member(now);
		mem.spend_window_gr = ec->spend_window_gr;
		apply(lines, ec->n, NULL, now);
		if (res.refusal != RULES_OK || res.eligible_gr != ec->eligible_gr ||
		    res.earned_pts != ec->earned_pts)
			fail_msg("%s: refusal %d eligible %lld earned %lld", ec->name, res.refusal,
				 (long long) res.eligible_gr, (long long) res.earned_pts);
		/* the trace adds up to the points */
		int64_t sum = 0;
		for (size_t i = 0; i < res.n_trace; i++)
			sum += res.trace[i].points;
		assert_int_equal(sum, ec->earned_pts);
		const struct rules_event *e = find_event(RULES_EV_EARN, "earn");
		assert_non_null(e);
		assert_int_equal(e->points, ec->earned_pts);
		assert_int_equal(res.balance_pts, ec->earned_pts);
	}
}

static void test_trace_explains(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	mem.spend_window_gr = 150000;
	struct rules_line l = line("food", 1, 1399, false, false);
	apply(&l, 1, NULL, now);
	assert_int_equal(res.n_trace, 2);
	assert_string_equal(res.trace[0].rule, "base");
	assert_int_equal(res.trace[0].base_gr, 1399);
	assert_int_equal(res.trace[0].points, 13);
	assert_int_equal(res.trace[0].dropped, 99);
	assert_string_equal(res.trace[1].rule, "tier:Gold");
	assert_int_equal(res.trace[1].base_pts, 13);
	assert_int_equal(res.trace[1].permille, 1250);
	assert_int_equal(res.trace[1].points, 3);
	assert_int_equal(res.trace[1].dropped, 250);
	assert_non_null(strstr(res.earn_text, "16 pkt za 13,99 zl"));
	assert_non_null(strstr(res.earn_text, "Gold x1,25 +3"));
}

static void test_multipliers_and_promotions(void **state)
{
	(void) state;
	const char *t = "{\"version\":1,\"earn\":{\"multipliers\":["
			"{\"id\":\"coffee-x2\",\"category\":\"coffee\",\"permille\":2000},"
			"{\"id\":\"bean-x3\",\"sku\":\"sku-bean\",\"permille\":3000}],"
			"\"promotions\":[{\"id\":\"evening\",\"permille\":1500,\"weekdays\":[2],"
			"\"from_minute\":1080,\"to_minute\":1200}]}}";
	char err[PROGRAMME_ERR_MAX];
	if (programme_parse(t, strlen(t), &prog, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* 2025-06-10 is a Tuesday; 16:30 UTC is 18:30 in Warsaw (CEST) */
	int64_t evening = utc(2025, 6, 10, 16, 30, 0), morning = utc(2025, 6, 10, 6, 0, 0);
	struct rules_line lines[3] = {line("coffee", 1, 1000, false, false),
				      line("bean", 1, 1000, false, false),
				      line("food", 1, 1000, false, false)};
	snprintf(lines[1].category, sizeof(lines[1].category), "coffee"); /* sku rule wins */
	fresh_member(morning);
	apply(lines, 3, NULL, morning);
	/* base 30, coffee-x2 +10 (coffee line only), bean-x3 +20 */
	assert_int_equal(res.earned_pts, 60);
	fresh_member(evening);
	apply(lines, 3, NULL, evening);
	assert_int_equal(res.earned_pts, 75); /* evening x1,5 on 30: +15 */
	programme_default(&prog);
}

/* ---- bonuses ---- */

static void test_welcome_birthday_referral(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	mem.welcomed = false;
	mem.first_purchase_done = false;
	mem.referrer_id = 99;
	mem.birth_month = 6;
	mem.birth_day = 10;
	struct rules_line l = line("food", 1, 1000, false, false);
	apply(&l, 1, NULL, now);
	assert_int_equal(res.earned_pts, 10);
	assert_int_equal(res.bonus_pts, 50 + 100 + 50);
	assert_int_equal(res.balance_pts, 210);
	const struct rules_event *ref = find_event(RULES_EV_BONUS, "referral-referrer");
	assert_non_null(ref);
	assert_int_equal(ref->member_id, 99);
	assert_int_equal(ref->points, 50);
	assert_true(res.member.welcomed);
	assert_int_equal(res.member.birthday_bonus_year, 2025);
	/* the same day again: no second birthday bonus, no second referral */
	mem = res.member;
	apply(&l, 1, NULL, now + 3600 * S);
	assert_int_equal(res.bonus_pts, 0);
}

/* The survey hook: the server's bonus for an answered survey, once per survey. */
static void test_survey_bonus(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	int64_t before = mem.balance_pts;
	struct rules_request req = {.survey_id = "Q2025-06"};
	apply(NULL, 0, &req, now);
	assert_int_equal(res.refusal, RULES_OK);
	assert_int_equal(res.bonus_pts, prog.survey_pts);
	assert_int_equal(res.balance_pts, before + prog.survey_pts);
	const struct rules_event *e = find_event(RULES_EV_BONUS, "survey");
	assert_non_null(e);
	assert_string_equal(e->ref, "Q2025-06");
	assert_int_equal(res.member.visits, mem.visits); /* not a visit */
	/* the same survey again: refused, nothing to book */
	req.survey_done = true;
	apply(NULL, 0, &req, now);
	assert_int_equal(res.refusal, RULES_REFUSED_SURVEY_DONE);
	assert_int_equal(res.n_events, 0);
	/* an id too long is a caller's error */
	struct rules_basket b = {0};
	req.survey_id = "0123456789012345678901234567890123456789";
	assert_int_equal(rules_apply(&prog, &mem, &b, &req, now, &res), -EINVAL);
}

/* ---- coupons ---- */

static void test_coupon_issue_and_expiry_across_dst(void **state)
{
	(void) state;
	/* first purchase on 2025-03-01 (CET); valid 30 days: through 2025-03-31 (CEST) */
	int64_t t0 = utc(2025, 3, 1, 12, 0, 0);
	fresh_member(t0);
	mem.first_purchase_done = false;
	struct rules_line l = line("food", 1, 6000, false, false);
	struct rules_request req = {.new_coupon_id = "C-0001"};
	apply(&l, 1, &req, t0);
	assert_true(res.coupon_issued);
	assert_int_equal(res.coupon_year, 2025);
	assert_int_equal(res.coupon_month, 3);
	assert_int_equal(res.coupon_day, 31);
	/* 2025-04-01 00:00 CEST is 2025-03-31 22:00 UTC */
	assert_int_equal(res.coupon.expires_us, utc(2025, 3, 31, 22, 0, 0));
	assert_non_null(strstr(res.coupon_text, "10% rabatu"));
	assert_non_null(strstr(res.coupon_text, "min. koszyk 50,00 zl"));
	assert_non_null(strstr(res.coupon_text, "wazny do 2025-03-31"));
	assert_non_null(strstr(res.coupon_text, prog.terms_url));
	assert_non_null(find_event(RULES_EV_COUPON_ISSUE, "first_purchase"));
	struct rules_member after = res.member;
	int64_t exp = res.coupon.expires_us;

	struct rules_request use = {.coupon_id = "C-0001"};
	/* 23:59:59 Warsaw on the last day: accepted, 10% off */
	mem = after;
	apply(&l, 1, &use, exp - S);
	assert_int_equal(res.refusal, RULES_OK);
	assert_int_equal(res.coupon_discount_gr, 600);
	assert_int_equal(res.to_pay_gr, 5400);
	assert_int_equal(res.earned_pts, 54);
	/* the same coupon twice */
	mem = res.member;
	apply(&l, 1, &use, exp - S / 2);
	assert_int_equal(res.refusal, RULES_REFUSED_COUPON_USED);
	assert_int_equal(res.n_events, 0);
	/* one second after 23:59:59: refused */
	mem = after;
	apply(&l, 1, &use, exp);
	assert_int_equal(res.refusal, RULES_REFUSED_COUPON_EXPIRED);
	assert_int_equal(res.n_events, 0);
	assert_memory_equal(&res.member, &mem, sizeof(mem));
	/* below the minimum basket; with points; unknown */
	mem = after;
	struct rules_line small = line("food", 1, 4999, false, false);
	apply(&small, 1, &use, t0 + DAY);
	assert_int_equal(res.refusal, RULES_REFUSED_COUPON_MIN_BASKET);
	give(t0, 500);
	struct rules_request both = {.coupon_id = "C-0001", .redeem_pts = 100};
	apply(&l, 1, &both, t0 + DAY);
	assert_int_equal(res.refusal, RULES_REFUSED_COUPON_NOT_COMBINABLE);
	struct rules_request other = {.coupon_id = "C-9999"};
	apply(&l, 1, &other, t0 + DAY);
	assert_int_equal(res.refusal, RULES_REFUSED_COUPON_UNKNOWN);
}

static void test_coupon_caps(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	struct rules_line l = line("food", 1, 6000, false, false);
	struct rules_request req = {.new_coupon_id = "R-1"};
	/* dormant 90 days: a reactivation coupon */
	fresh_member(now);
	mem.last_visit_us = now - 90 * DAY;
	apply(&l, 1, &req, now);
	assert_true(res.coupon_issued);
	assert_string_equal(res.coupon.campaign, "reactivation");
	/* 89 days: none */
	fresh_member(now);
	mem.last_visit_us = now - 89 * DAY;
	apply(&l, 1, &req, now);
	assert_false(res.coupon_issued);
	assert_null(res.coupon_withheld);
	/* a coupon 6 days ago: the member cap withholds it */
	fresh_member(now);
	mem.last_visit_us = now - 90 * DAY;
	mem.last_coupon_us = now - 6 * DAY;
	apply(&l, 1, &req, now);
	assert_false(res.coupon_issued);
	assert_string_equal(res.coupon_withheld, "member frequency cap");
	/* 7 days: allowed again */
	mem.last_coupon_us = now - 7 * DAY;
	apply(&l, 1, &req, now);
	assert_true(res.coupon_issued);
	/* the campaign's daily cap */
	mem.last_coupon_us = 0;
	req.issued_today_reactivation = prog.reactivation.daily_cap;
	apply(&l, 1, &req, now);
	assert_false(res.coupon_issued);
	assert_string_equal(res.coupon_withheld, "campaign daily cap");
}

/* ---- tiers, stamps ---- */

static void test_tier_change_by_the_sale(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	mem.spend_window_gr = 95000;
	struct rules_line l = line("food", 1, 6000, false, false);
	apply(&l, 1, NULL, now);
	assert_int_equal(res.tier_before, 0);
	assert_int_equal(res.tier, 1);
	assert_int_equal(res.earned_pts, 60); /* earned at the tier it walked in with */
	assert_int_equal(res.member.spend_window_gr, 101000);
	assert_int_equal(res.to_next_tier_gr, 300000 - 101000);
	/* the next sale earns at Gold */
	mem = res.member;
	apply(&l, 1, NULL, now + S);
	assert_int_equal(res.earned_pts, 75);
	/* progress for a Silver member */
	fresh_member(now);
	apply(&l, 1, NULL, now);
	assert_int_equal(res.to_next_tier_gr, 100000 - 6000);
}

static void test_stamps(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	mem.stamps[0] = 8;
	/* 3 coffees at 10 zl with 8 stamps: the 10th is free, 1 stamp left */
	struct rules_line l = line("coffee", 3, 1000, false, false);
	apply(&l, 1, NULL, now);
	assert_int_equal(res.stamps_free[0], 1);
	assert_int_equal(res.stamp_discount_gr, 1000);
	assert_int_equal(res.to_pay_gr, 2000);
	assert_int_equal(res.earned_pts, 20);
	assert_int_equal(res.member.stamps[0], 1);
	/* 25 at once from 0: two free */
	fresh_member(now);
	l.qty = 25;
	apply(&l, 1, NULL, now);
	assert_int_equal(res.stamps_free[0], 2);
	assert_int_equal(res.member.stamps[0], 5);
	const struct rules_event *ev = find_event(RULES_EV_STAMP, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->items, 25);
	assert_int_equal(ev->progress, 5);
	assert_int_equal(ev->amount_gr, 2000);
	/* a sale that counts items but frees none still books them (the ledger folds them) */
	mem = res.member;
	l.qty = 2;
	apply(&l, 1, NULL, now);
	assert_int_equal(res.stamps_free[0], 0);
	ev = find_event(RULES_EV_STAMP, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->items, 2);
	assert_int_equal(ev->progress, 7);
	assert_int_equal(ev->amount_gr, 0);
	assert_string_equal(ev->ref, prog.stamps[0].id);
	/* no item of the card's category: no stamp event */
	struct rules_line food = line("food", 1, 1000, false, false);
	apply(&food, 1, NULL, now);
	assert_null(find_event(RULES_EV_STAMP, NULL));
}

/* ---- redemption ---- */

static void test_redemption_limits(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	struct rules_line l = line("food", 1, 10000, false, false);
	static const struct {
		int64_t balance, redeem;
		enum rules_refusal want;
	} cases[] = {
	    {500, 50, RULES_REFUSED_REDEEM_MIN},
	    {500, 99, RULES_REFUSED_REDEEM_MIN},
	    {500, 150, RULES_REFUSED_REDEEM_STEP},
	    {500, 600, RULES_REFUSED_REDEEM_BALANCE},
	    {1000, 600, RULES_REFUSED_REDEEM_BASKET},
	    {1000, 500, RULES_OK},
	    {100, 100, RULES_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fresh_member(now);
		give(now - 10 * DAY, cases[i].balance);
		struct rules_request req = {.redeem_pts = cases[i].redeem};
		apply(&l, 1, &req, now);
		if (res.refusal != cases[i].want)
			fail_msg("case %zu: refusal %d (%s), want %d", i, res.refusal,
				 res.refusal_text, cases[i].want);
		if (res.refusal != RULES_OK) {
			assert_int_equal(res.n_events, 0);
			assert_true(res.refusal_text[0]);
			continue;
		}
		assert_int_equal(res.points_discount_gr, cases[i].redeem * 10);
		assert_int_equal(res.to_pay_gr, 10000 - cases[i].redeem * 10);
		/* no points on the part paid with points */
		assert_int_equal(res.earned_pts, (10000 - cases[i].redeem * 10) / 100);
		assert_int_equal(res.balance_pts,
				 cases[i].balance - cases[i].redeem + res.earned_pts);
	}
	/* the refusal text tells the cashier the most allowed */
	fresh_member(now);
	give(now - DAY, 1000);
	struct rules_request req = {.redeem_pts = 600};
	apply(&l, 1, &req, now);
	assert_non_null(strstr(res.refusal_text, "at most 500 points"));
}

static void test_offline_budgets(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	struct rules_line l = line("food", 1, 100000, false, false);
	fresh_member(now);
	give(now - DAY, 5000);
	struct rules_request req = {
	    .redeem_pts = 1000, .offline = true, .last_sync_us = now - 3600 * S};
	apply(&l, 1, &req, now);
	assert_int_equal(res.refusal, RULES_OK);
	assert_int_equal(res.member.offline_redeemed_pts, 1000);
	assert_int_equal(res.terminal_offline_redeemed_pts, 1000);
	mem = res.member;
	req.redeem_pts = 100;
	apply(&l, 1, &req, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_MEMBER_CAP);
	fresh_member(now);
	give(now - DAY, 5000);
	req.terminal_offline_redeemed_pts = prog.offline_terminal_budget_pts - 50;
	apply(&l, 1, &req, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_BUDGET);
	req.terminal_offline_redeemed_pts = 0;
	req.last_sync_us = now - prog.offline_max_age_s * S - 1;
	apply(&l, 1, &req, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_STALE);

	/* the server's grant replaces the programme's limits: what is left of the day's budget,
	 * its member cap, its longest time offline */
	struct rules_request granted = {.redeem_pts = 300,
					.offline = true,
					.last_sync_us = now - 3600 * S,
					.budget_granted = true,
					.budget_terminal_pts = 400,
					.budget_member_cap_pts = 300,
					.budget_max_age_s = 1800};
	apply(&l, 1, &granted, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_STALE); /* 1 h > its 30 min */
	granted.last_sync_us = now - 600 * S;
	apply(&l, 1, &granted, now);
	assert_int_equal(res.refusal, RULES_OK);
	granted.terminal_offline_redeemed_pts = 200; /* 200 + 300 > 400 left */
	apply(&l, 1, &granted, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_BUDGET);
	granted.terminal_offline_redeemed_pts = 0;
	granted.redeem_pts = 400; /* over the member cap of 300 */
	apply(&l, 1, &granted, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_MEMBER_CAP);
	granted.budget_terminal_pts = 0; /* the day's budget used up: nothing, not the default */
	granted.redeem_pts = 100;
	apply(&l, 1, &granted, now);
	assert_int_equal(res.refusal, RULES_REFUSED_OFFLINE_BUDGET);
}

/* ---- expiry ---- */

static void test_expiry_oldest_first(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	give(utc(2024, 6, 10, 9, 59, 59), 40); /* 12 months and 1 s old: expired */
	give(utc(2024, 7, 1, 0, 0, 0), 300);   /* expires 2025-07-01 */
	give(utc(2025, 1, 1, 0, 0, 0), 200);
	struct rules_request req = {.redeem_pts = 200};
	struct rules_line l = line("food", 1, 100000, false, false);
	apply(&l, 1, &req, now);
	assert_int_equal(res.refusal, RULES_OK);
	assert_int_equal(res.expired_pts, 40);
	assert_int_equal(res.events[0].kind, RULES_EV_EXPIRE);
	assert_int_equal(res.events[0].points, -40);
	/* the redemption takes 200 of the oldest lot's 300 */
	assert_int_equal(res.member.n_lots, 3);
	assert_int_equal(res.member.lots[0].pts, 100);
	assert_int_equal(res.member.lots[1].pts, 200);
	assert_int_equal(res.member.lots[2].pts, 980); /* earned now on 980 zl paid */
	assert_int_equal(res.next_expiry_us, utc(2025, 7, 1, 0, 0, 0));
	assert_int_equal(res.next_expiry_pts, 100);
	assert_int_equal(res.balance_pts, 540 - 40 - 200 + 980);
}

/* ---- refunds ---- */

static struct rules_sale_record record_of(int64_t t)
{
	return (struct rules_sale_record){.time_us = t,
					  .basket_gr = res.basket_gr,
					  .eligible_basket_gr = res.basket_gr,
					  .paid_gr = res.to_pay_gr,
					  .redeemed_pts = res.redeemed_pts,
					  .earned_pts = res.earned_pts,
					  .bonus_pts = res.bonus_pts};
}

static void refund(const struct rules_sale_record *rec, int64_t gr, int64_t el, int64_t now)
{
	struct rules_refund_request rq = {.basket_gr = gr, .eligible_gr = el};
	int rr = rules_refund(&prog, &mem, rec, &rq, now, &rres);
	if (rr)
		fail_msg("refund %lld/%lld of %lld/%lld refunded %lld/%lld paid %lld bal %lld",
			 (long long) gr, (long long) el, (long long) rec->basket_gr,
			 (long long) rec->eligible_basket_gr, (long long) rec->refunded_basket_gr,
			 (long long) rec->refunded_eligible_gr, (long long) rec->paid_gr,
			 (long long) mem.balance_pts);
}

static void test_refund_after_earn_no_exploit(void **state)
{
	(void) state;
	int64_t t1 = utc(2025, 6, 10, 10, 0, 0), t2 = t1 + 3600 * S, t3 = t2 + 3600 * S;
	fresh_member(t1);
	struct rules_line big = line("tv", 1, 200000, false, false);
	apply(&big, 1, NULL, t1);
	assert_int_equal(res.earned_pts, 2000);
	struct rules_sale_record rec = record_of(t1);
	mem = res.member;
	/* spend all of them on a basket that earns nothing (tax-free goods) */
	struct rules_line other = line("tobacco", 1, 400000, true, false);
	struct rules_request req = {.redeem_pts = 2000};
	apply(&other, 1, &req, t2);
	assert_int_equal(res.refusal, RULES_OK);
	assert_int_equal(res.points_discount_gr, 20000);
	mem = res.member;
	assert_int_equal(mem.balance_pts, 0);
	/* refund the first sale: 2000 points to reverse, none held: their value is kept */
	refund(&rec, 200000, 200000, t3);
	assert_int_equal(rres.refusal, RULES_OK);
	assert_int_equal(rres.reversed_pts, 2000);
	assert_int_equal(rres.shortfall_pts, 2000);
	assert_int_equal(rres.shortfall_gr, 20000);
	assert_int_equal(rres.money_back_gr, 200000 - 20000);
	assert_int_equal(rres.balance_pts, 0);
	assert_int_equal(rres.record.reversed_pts, 2000);
	/* the customer paid 2000 + 3800 zl, got 1800 back: 4000 zl for the 4000 zl basket */
	/* and again: nothing left to refund */
	mem = rres.member;
	struct rules_sale_record rec2 = rres.record;
	refund(&rec2, 1, 1, t3 + S);
	assert_int_equal(rres.refusal, RULES_REFUSED_REFUND_TOO_MUCH);
	assert_int_equal(rres.n_events, 0);
}

static void test_partial_refund_paid_with_points(void **state)
{
	(void) state;
	int64_t t1 = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(t1);
	give(t1 - 30 * DAY, 200);
	struct rules_line lines[2] = {line("food", 1, 5000, false, false),
				      line("drink", 1, 5000, false, false)};
	struct rules_request req = {.redeem_pts = 200};
	apply(lines, 2, &req, t1);
	assert_int_equal(res.to_pay_gr, 8000);
	assert_int_equal(res.earned_pts, 80);
	struct rules_sale_record rec = record_of(t1);
	mem = res.member;
	assert_int_equal(mem.balance_pts, 80);

	refund(&rec, 5000, 5000, t1 + DAY);
	assert_int_equal(rres.money_back_gr, 4000);
	assert_int_equal(rres.recredited_pts, 100);
	assert_int_equal(rres.reversed_pts, 40);
	assert_int_equal(rres.balance_pts, 80 + 100 - 40);
	mem = rres.member;
	rec = rres.record;
	refund(&rec, 5000, 5000, t1 + 2 * DAY);
	assert_int_equal(rres.money_back_gr, 4000);
	assert_int_equal(rres.recredited_pts, 100);
	assert_int_equal(rres.reversed_pts, 40);
	assert_int_equal(rres.balance_pts, 200);
	/* money back + points back = what was paid, no more: 80 zl and 200 points */
	assert_int_equal(rres.record.refunded_paid_gr, 8000);
	assert_int_equal(rres.record.recredited_pts, 200);
	assert_int_equal(rres.record.reversed_pts, 80);
}

static void test_partial_refunds_round_against_the_member(void **state)
{
	(void) state;
	int64_t t1 = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(t1);
	struct rules_line l = line("food", 3, 333, false, false); /* 9,99: 9 points */
	apply(&l, 1, NULL, t1);
	struct rules_sale_record rec = record_of(t1);
	mem = res.member;
	int64_t back = 0, rev = 0;
	for (int i = 0; i < 3; i++) {
		refund(&rec, 333, 333, t1 + (i + 1) * S);
		assert_int_equal(rres.refusal, RULES_OK);
		back += rres.money_back_gr;
		rev += rres.reversed_pts;
		/* reversed so far is never below the exact share, and never above what was
		 * earned */
		assert_true(rev * 999 >= 9 * 333 * (i + 1));
		assert_true(rev <= 9);
		mem = rres.member;
		rec = rres.record;
	}
	assert_int_equal(back, 999);
	assert_int_equal(rev, 9);
	assert_int_equal(mem.balance_pts, 0);
}

/* ---- property: random sales, redemptions, refunds; the fold of the events ---- */

struct fold {
	int64_t balance;
	struct rules_lot lots[RULES_LOTS_MAX];
	size_t n;
};

static void fold_event(struct fold *f, const struct rules_event *e, int64_t member_id,
		       const struct rules_member *before, const struct programme *p)
{
	(void) before;
	(void) p;
	if (e->member_id != member_id || e->points == 0)
		return;
	f->balance += e->points;
	if (e->points > 0) {
		size_t pos = f->n;
		while (pos > 0 && f->lots[pos - 1].earned_us > e->lot_us)
			pos--;
		if (pos > 0 && f->lots[pos - 1].earned_us == e->lot_us) {
			f->lots[pos - 1].pts += e->points;
			return;
		}
		memmove(&f->lots[pos + 1], &f->lots[pos], (f->n - pos) * sizeof(f->lots[0]));
		f->lots[pos] = (struct rules_lot){e->lot_us, e->points};
		f->n++;
		return;
	}
	int64_t take = -e->points;
	while (take > 0) {
		assert_true(f->n > 0);
		if (f->lots[0].pts <= take) {
			take -= f->lots[0].pts;
			memmove(&f->lots[0], &f->lots[1], (f->n - 1) * sizeof(f->lots[0]));
			f->n--;
		} else {
			f->lots[0].pts -= take;
			take = 0;
		}
	}
}

static void check_fold(struct fold *f, const struct rules_member *m)
{
	assert_true(f->balance >= 0);
	assert_int_equal(f->balance, m->balance_pts);
	assert_int_equal(f->n, m->n_lots);
	for (size_t i = 0; i < f->n; i++) {
		assert_int_equal(f->lots[i].earned_us, m->lots[i].earned_us);
		assert_int_equal(f->lots[i].pts, m->lots[i].pts);
	}
}

static uint64_t rng = 88172645463325252u;

static int64_t rnd(int64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (int64_t) (rng % (uint64_t) n);
}

static void test_property_fold(void **state)
{
	(void) state;
	static const char *const cats[] = {"food", "coffee", "drink", "tobacco"};
	static struct rules_sale_record recs[64];
	static struct fold f;
	for (int run = 0; run < 40; run++) {
		int64_t now = utc(2024, 1, 1, 8, 0, 0);
		fresh_member(now);
		memset(&f, 0, sizeof(f));
		size_t n_recs = 0;
		for (int step = 0; step < 60; step++) {
			now += rnd(20 * DAY) + S;
			int what = (int) rnd(3);
			if (what < 2 || n_recs == 0) {
				struct rules_line lines[5];
				size_t n = (size_t) rnd(5) + 1;
				int64_t el = 0;
				for (size_t i = 0; i < n; i++) {
					lines[i] = line(cats[rnd(4)], (int32_t) rnd(3) + 1,
							rnd(20000), rnd(8) == 0, rnd(12) == 0);
					if (!lines[i].tax_free && !lines[i].gift_card)
						el += lines[i].qty * lines[i].unit_gr;
				}
				struct rules_request req = {0};
				if (what == 1)
					req.redeem_pts = (rnd(8) + 1) * 100;
				if (rnd(6) == 0)
					req.donate_pts = rnd(200) + 1;
				apply(lines, n, &req, now);
				if (res.refusal != RULES_OK)
					continue;
				for (size_t i = 0; i < res.n_events; i++)
					fold_event(&f, &res.events[i], mem.member_id, &mem, &prog);
				check_fold(&f, &res.member);
				mem = res.member;
				if (n_recs < 64 && res.basket_gr > 0) {
					recs[n_recs] = record_of(now);
					recs[n_recs].eligible_basket_gr = el;
					n_recs++;
				}
			} else {
				struct rules_sale_record *rec = &recs[rnd((int64_t) n_recs)];
				int64_t left = rec->basket_gr - rec->refunded_basket_gr;
				int64_t left_el =
				    rec->eligible_basket_gr - rec->refunded_eligible_gr;
				if (left == 0)
					continue;
				int64_t gr = rnd(2) ? left : rnd(left) + 1;
				int64_t el = left_el < gr ? left_el : gr;
				refund(rec, gr, el, now);
				assert_int_equal(rres.refusal, RULES_OK);
				assert_true(rres.money_back_gr >= 0);
				assert_true(rres.record.refunded_paid_gr <= rec->paid_gr);
				assert_true(rres.record.recredited_pts <= rec->redeemed_pts);
				assert_true(rres.record.reversed_pts <=
					    rec->earned_pts + rec->bonus_pts);
				for (size_t i = 0; i < rres.n_events; i++)
					fold_event(&f, &rres.events[i], mem.member_id, &mem, &prog);
				check_fold(&f, &rres.member);
				if (gr == left) {
					assert_int_equal(rres.record.refunded_paid_gr,
							 rec->paid_gr);
					assert_int_equal(rres.record.reversed_pts,
							 rec->earned_pts + rec->bonus_pts);
				}
				mem = rres.member;
				*rec = rres.record;
			}
		}
	}
}

static void test_bad_input(void **state)
{
	(void) state;
	int64_t now = utc(2025, 6, 10, 10, 0, 0);
	fresh_member(now);
	struct rules_request req = {0};
	struct rules_line l = line("food", 0, 100, false, false);
	struct rules_basket b = {.lines = &l, .n_lines = 1};
	assert_int_equal(rules_apply(&prog, &mem, &b, &req, now, &res), -EINVAL);
	l.qty = 1;
	mem.balance_pts = 5; /* no lots hold them */
	assert_int_equal(rules_apply(&prog, &mem, &b, &req, now, &res), -EINVAL);
	fresh_member(now);
	l.unit_gr = 100000000;
	l.qty = 2;
	assert_int_equal(rules_apply(&prog, &mem, &b, &req, now, &res), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_earn_table),
	    cmocka_unit_test(test_trace_explains),
	    cmocka_unit_test(test_multipliers_and_promotions),
	    cmocka_unit_test(test_welcome_birthday_referral),
	    cmocka_unit_test(test_survey_bonus),
	    cmocka_unit_test(test_coupon_issue_and_expiry_across_dst),
	    cmocka_unit_test(test_coupon_caps),
	    cmocka_unit_test(test_tier_change_by_the_sale),
	    cmocka_unit_test(test_stamps),
	    cmocka_unit_test(test_redemption_limits),
	    cmocka_unit_test(test_offline_budgets),
	    cmocka_unit_test(test_expiry_oldest_first),
	    cmocka_unit_test(test_refund_after_earn_no_exploit),
	    cmocka_unit_test(test_partial_refund_paid_with_points),
	    cmocka_unit_test(test_partial_refunds_round_against_the_member),
	    cmocka_unit_test(test_property_fold),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
