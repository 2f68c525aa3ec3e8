/*
 * segment_test: customer segments and RFM scores, table-driven on the default programme (the
 * dormancy boundary to the microsecond, first purchase, VIP by tier and by RFM, each score at
 * each breakpoint, the zero state), then a programme's own segments section and its messages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "programme.h"
#include "rules.h"
#include "segment.h"

#define DAY   INT64_C(86400000000)
#define NOW   INT64_C(1795780800000000) /* 2026-11-27 12:00:00 UTC */
#define NEVER INT64_MIN			/* last_ago: last_visit_us stays 0 */

/* A member's state before the visit at NOW, and what segment_of() must say. */
struct seg_case {
	const char *name;
	bool bought; /* first_purchase_done */
	int64_t visits;
	int64_t last_ago; /* NOW - last_visit_us, or NEVER */
	int64_t monetary_gr;
	int64_t spend_window_gr;
	enum segment_kind kind;
	int r, f, m;
	int64_t days; /* days_since_visit */
	unsigned vip;
};

/* Regular: visits 3 (f2), 100 zł lifetime (m2), Silver. */
#define REG	true, 3
#define M2	10000
#define BY_TIER SEGMENT_VIP_BY_TIER
#define BY_RFM	SEGMENT_VIP_BY_RFM

static const struct seg_case cases[] = {
    /* the zero state, and any member before their first purchase, is new */
    {"zero state: first purchase", false, 0, NEVER, 0, 0, SEGMENT_NEW, 1, 1, 1, -1, 0},
    {"first purchase of a top-tier spender", false, 0, NEVER, 0, 300000, SEGMENT_NEW, 1, 1, 1, -1,
     BY_TIER},
    {"second purchase, same day", true, 1, 0, 1234, 1234, SEGMENT_RETURNING, 5, 1, 1, 0, 0},
    {"bought, last visit unknown", true, 1, NEVER, 1234, 1234, SEGMENT_RETURNING, 1, 1, 1, -1, 0},
    {"last visit after now (clock skew)", REG, -5 * 60 * INT64_C(1000000), M2, M2,
     SEGMENT_RETURNING, 5, 2, 2, 0, 0},

    /* dormancy: exactly 90 days, one microsecond less */
    {"dormant: exactly 90 days", REG, 90 * DAY, M2, M2, SEGMENT_DORMANT, 1, 2, 2, 90, 0},
    {"not dormant: 90 days less 1 us", REG, 90 * DAY - 1, M2, M2, SEGMENT_RETURNING, 1, 2, 2, 89,
     0},
    {"dormant: a year", REG, 365 * DAY, M2, M2, SEGMENT_DORMANT, 1, 2, 2, 365, 0},
    {"dormant before VIP", true, 40, 90 * DAY, 400000, 300000, SEGMENT_DORMANT, 1, 5, 5, 90,
     BY_TIER},

    /* VIP by tier: Platinum from 3000 zł in the window */
    {"VIP by tier: Platinum", REG, DAY, M2, 300000, SEGMENT_VIP, 5, 2, 2, 1, BY_TIER},
    {"Gold is not VIP", REG, DAY, M2, 299999, SEGMENT_RETURNING, 5, 2, 2, 1, 0},
    {"VIP by tier 89 days on", REG, 90 * DAY - 1, M2, 300000, SEGMENT_VIP, 1, 2, 2, 89, BY_TIER},

    /* VIP by RFM: recency >= 4, frequency 5, monetary 5 */
    {"VIP by RFM", true, 30, 13 * DAY, 100000, 0, SEGMENT_VIP, 4, 5, 5, 13, BY_RFM},
    {"VIP by RFM and tier", true, 30, 0, 400000, 300000, SEGMENT_VIP, 5, 5, 5, 0, BY_TIER | BY_RFM},
    {"not VIP: recency 3", true, 30, 14 * DAY, 100000, 0, SEGMENT_RETURNING, 3, 5, 5, 14, 0},
    {"not VIP: frequency 4", true, 29, DAY, 100000, 0, SEGMENT_RETURNING, 5, 4, 5, 1, 0},
    {"not VIP: monetary 4", true, 30, DAY, 99999, 0, SEGMENT_RETURNING, 5, 5, 4, 1, 0},

    /* recency at each breakpoint: 7, 14, 30, 60 days */
    {"recency 0 days", REG, 0, M2, M2, SEGMENT_RETURNING, 5, 2, 2, 0, 0},
    {"recency 7 days less 1 us", REG, 7 * DAY - 1, M2, M2, SEGMENT_RETURNING, 5, 2, 2, 6, 0},
    {"recency 7 days", REG, 7 * DAY, M2, M2, SEGMENT_RETURNING, 4, 2, 2, 7, 0},
    {"recency 14 days less 1 us", REG, 14 * DAY - 1, M2, M2, SEGMENT_RETURNING, 4, 2, 2, 13, 0},
    {"recency 14 days", REG, 14 * DAY, M2, M2, SEGMENT_RETURNING, 3, 2, 2, 14, 0},
    {"recency 30 days less 1 us", REG, 30 * DAY - 1, M2, M2, SEGMENT_RETURNING, 3, 2, 2, 29, 0},
    {"recency 30 days", REG, 30 * DAY, M2, M2, SEGMENT_RETURNING, 2, 2, 2, 30, 0},
    {"recency 60 days less 1 us", REG, 60 * DAY - 1, M2, M2, SEGMENT_RETURNING, 2, 2, 2, 59, 0},
    {"recency 60 days", REG, 60 * DAY, M2, M2, SEGMENT_RETURNING, 1, 2, 2, 60, 0},

    /* frequency at each breakpoint: 2, 5, 12, 30 visits */
    {"frequency 1", true, 1, DAY, M2, M2, SEGMENT_RETURNING, 5, 1, 2, 1, 0},
    {"frequency 2", true, 2, DAY, M2, M2, SEGMENT_RETURNING, 5, 2, 2, 1, 0},
    {"frequency 4", true, 4, DAY, M2, M2, SEGMENT_RETURNING, 5, 2, 2, 1, 0},
    {"frequency 5", true, 5, DAY, M2, M2, SEGMENT_RETURNING, 5, 3, 2, 1, 0},
    {"frequency 11", true, 11, DAY, M2, M2, SEGMENT_RETURNING, 5, 3, 2, 1, 0},
    {"frequency 12", true, 12, DAY, M2, M2, SEGMENT_RETURNING, 5, 4, 2, 1, 0},
    {"frequency 29", true, 29, DAY, M2, M2, SEGMENT_RETURNING, 5, 4, 2, 1, 0},
    {"frequency 30", true, 30, DAY, M2, M2, SEGMENT_RETURNING, 5, 5, 2, 1, 0},
    {"frequency huge", true, INT64_MAX, DAY, M2, M2, SEGMENT_RETURNING, 5, 5, 2, 1, 0},

    /* monetary at each breakpoint: 50, 200, 500, 1000 zł */
    {"monetary 0", REG, DAY, 0, 0, SEGMENT_RETURNING, 5, 2, 1, 1, 0},
    {"monetary negative", REG, DAY, -100, 0, SEGMENT_RETURNING, 5, 2, 1, 1, 0},
    {"monetary 49,99", REG, DAY, 4999, 0, SEGMENT_RETURNING, 5, 2, 1, 1, 0},
    {"monetary 50,00", REG, DAY, 5000, 0, SEGMENT_RETURNING, 5, 2, 2, 1, 0},
    {"monetary 199,99", REG, DAY, 19999, 0, SEGMENT_RETURNING, 5, 2, 2, 1, 0},
    {"monetary 200,00", REG, DAY, 20000, 0, SEGMENT_RETURNING, 5, 2, 3, 1, 0},
    {"monetary 499,99", REG, DAY, 49999, 0, SEGMENT_RETURNING, 5, 2, 3, 1, 0},
    {"monetary 500,00", REG, DAY, 50000, 0, SEGMENT_RETURNING, 5, 2, 4, 1, 0},
    {"monetary 999,99", REG, DAY, 99999, 0, SEGMENT_RETURNING, 5, 2, 4, 1, 0},
    {"monetary 1000,00", REG, DAY, 100000, 0, SEGMENT_RETURNING, 5, 2, 5, 1, 0},
};

static struct rules_member member; /* large: one, reset per case */

static void set_member(const struct seg_case *c)
{
	memset(&member, 0, sizeof(member));
	member.member_id = 7;
	member.first_purchase_done = c->bought;
	member.welcomed = c->bought;
	member.visits = c->visits;
	if (c->last_ago != NEVER) {
		member.last_visit_us = NOW - c->last_ago;
		member.first_visit_us = member.last_visit_us; /* segments do not look at it */
	}
	member.monetary_gr = c->monetary_gr;
	member.spend_window_gr = c->spend_window_gr;
}

static void check(const struct programme *p, const struct seg_case *c)
{
	struct segment s;
	set_member(c);
	assert_int_equal(segment_of(p, &member, NOW, &s), 0);
	if (s.kind != c->kind || s.recency != c->r || s.frequency != c->f || s.monetary != c->m ||
	    s.days_since_visit != c->days || s.vip != c->vip)
		fail_msg("%s: got %s R%d F%d M%d days %lld vip %u, want %s R%d F%d M%d days %lld "
			 "vip %u",
			 c->name, segment_name(s.kind), s.recency, s.frequency, s.monetary,
			 (long long) s.days_since_visit, s.vip, segment_name(c->kind), c->r, c->f,
			 c->m, (long long) c->days, c->vip);
	assert_int_equal(s.tier, programme_tier_for(p, c->spend_window_gr));
}

static void test_default_table(void **state)
{
	(void) state;
	struct programme p;
	programme_default(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&p, &cases[i]);
}

/* A programme's own section: other breakpoints and dormancy, VIP by RFM only. */
static void test_configured(void **state)
{
	(void) state;
	static const char text[] =
	    "{\"version\":1,\"segments\":{\"dormant_days\":45,"
	    "\"vip\":{\"top_tier\":false,\"min_recency\":5,\"min_frequency\":3,\"min_monetary\":2},"
	    "\"rfm\":{\"recency_days\":[1,2,3,4],\"frequency_visits\":[10,20,30,40],"
	    "\"monetary_gr\":[100,200,300,400]}}}";
	static const struct seg_case own[] = {
	    {"dormant: exactly 45 days", REG, 45 * DAY, M2, M2, SEGMENT_DORMANT, 1, 1, 5, 45, 0},
	    {"45 days less 1 us", REG, 45 * DAY - 1, M2, M2, SEGMENT_RETURNING, 1, 1, 5, 44, 0},
	    {"top tier is not VIP here", REG, 0, M2, 300000, SEGMENT_RETURNING, 5, 1, 5, 0, 0},
	    {"recency 1 day", REG, DAY, M2, M2, SEGMENT_RETURNING, 4, 1, 5, 1, 0},
	    {"recency 4 days", REG, 4 * DAY, M2, M2, SEGMENT_RETURNING, 1, 1, 5, 4, 0},
	    {"VIP by RFM", true, 20, DAY - 1, 200, 0, SEGMENT_VIP, 5, 3, 3, 0, BY_RFM},
	    {"not VIP: monetary 1", true, 20, 0, 99, 0, SEGMENT_RETURNING, 5, 3, 1, 0, 0},
	    {"frequency 39", true, 39, 0, 400, 0, SEGMENT_VIP, 5, 4, 5, 0, BY_RFM},
	    {"frequency 40", true, 40, 0, 400, 0, SEGMENT_VIP, 5, 5, 5, 0, BY_RFM},
	};
	struct programme p;
	char err[PROGRAMME_ERR_MAX];
	if (programme_parse(text, strlen(text), &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		check(&p, &own[i]);
}

/* VIP by tier needs a top tier above another: a one-tier programme has no VIP by tier. */
static void test_one_tier_and_no_vip(void **state)
{
	(void) state;
	struct programme p;
	struct segment s;
	programme_default(&p);
	p.n_tiers = 1;
	const struct seg_case silver = {"one tier", REG, DAY, M2, 0, SEGMENT_RETURNING,
					5,	    2,	 2,   1,  0};
	check(&p, &silver);

	programme_default(&p);
	p.segments.vip_top_tier = false;
	p.segments.vip_rfm = false;
	set_member(&(const struct seg_case){"", true, 100, 0, 1000000, 1000000});
	assert_int_equal(segment_of(&p, &member, NOW, &s), 0);
	assert_int_equal(s.kind, SEGMENT_RETURNING);
	assert_int_equal(s.vip, 0);
	assert_int_equal(s.recency + s.frequency + s.monetary, 15);
}

/* The state after the sale would be wrong: the same first purchase reads as returning. */
static void test_state_before_the_sale(void **state)
{
	(void) state;
	struct programme p;
	struct segment s;
	programme_default(&p);
	set_member(&cases[0]);
	struct rules_line line = {.sku = "1", .category = "bread", .qty = 1, .unit_gr = 1234};
	struct rules_basket b = {.lines = &line, .n_lines = 1};
	struct rules_request req = {0};
	static struct rules_result res;
	assert_int_equal(rules_apply(&p, &member, &b, &req, NOW, &res), 0);
	assert_int_equal(segment_of(&p, &member, NOW, &s), 0);
	assert_int_equal(s.kind, SEGMENT_NEW);
	assert_int_equal(segment_of(&p, &res.member, NOW, &s), 0);
	assert_int_equal(s.kind, SEGMENT_RETURNING);

	/* the rules' reactivation coupon and the dormant segment agree at the boundary */
	for (int64_t ago = 90 * DAY - 1; ago <= 90 * DAY; ago++) {
		set_member(&(const struct seg_case){"", REG, ago, M2, M2});
		req.new_coupon_id = "R-1";
		line.unit_gr = 6000; /* over the coupon's minimum basket */
		assert_int_equal(rules_apply(&p, &member, &b, &req, NOW, &res), 0);
		assert_int_equal(segment_of(&p, &member, NOW, &s), 0);
		assert_int_equal(res.coupon_issued, s.kind == SEGMENT_DORMANT);
		assert_int_equal(s.kind == SEGMENT_DORMANT, ago == 90 * DAY);
	}
}

static void test_names_messages_and_errors(void **state)
{
	(void) state;
	static const char text[] =
	    "{\"version\":1,\"segments\":{\"messages\":{"
	    "\"new\":{\"pl\":\"N-pl\",\"en\":\"N-en\"},\"returning\":{\"pl\":\"R-pl\",\"en\":\"\"},"
	    "\"vip\":{\"pl\":\"V-pl\",\"en\":\"V-en\"},\"dormant\":{\"pl\":\"D-pl\",\"en\":\"D-"
	    "en\"}}}}";
	static const char *const want[SEGMENT_MAX][PROGRAMME_LANG_MAX] = {
	    {"N-pl", "N-en"}, {"R-pl", ""}, {"V-pl", "V-en"}, {"D-pl", "D-en"}};
	static const char *const names[SEGMENT_MAX] = {"new", "returning", "vip", "dormant"};
	struct programme p;
	char err[PROGRAMME_ERR_MAX];
	if (programme_parse(text, strlen(text), &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	for (int k = 0; k < SEGMENT_MAX; k++) {
		assert_string_equal(segment_name((enum segment_kind) k), names[k]);
		for (int l = 0; l < PROGRAMME_LANG_MAX; l++)
			assert_string_equal(
			    segment_message(&p, (enum segment_kind) k, (enum programme_lang) l),
			    want[k][l]);
	}
	assert_null(segment_name(SEGMENT_MAX));
	assert_null(segment_message(&p, SEGMENT_MAX, PROGRAMME_LANG_PL));
	assert_null(segment_message(&p, SEGMENT_NEW, PROGRAMME_LANG_MAX));
	assert_null(segment_message(NULL, SEGMENT_NEW, PROGRAMME_LANG_PL));

	/* the defaults: a message for every segment in both languages */
	programme_default(&p);
	for (int k = 0; k < SEGMENT_MAX; k++)
		for (int l = 0; l < PROGRAMME_LANG_MAX; l++)
			assert_true(strlen(segment_message(&p, (enum segment_kind) k,
							   (enum programme_lang) l)) > 0);
	assert_string_equal(segment_message(&p, SEGMENT_NEW, PROGRAMME_LANG_PL),
			    "Cieszymy się, że do nas dołączasz!");

	struct segment s;
	memset(&s, 0x5a, sizeof(s));
	memset(&member, 0, sizeof(member));
	assert_int_equal(segment_of(NULL, &member, NOW, &s), -EINVAL);
	assert_int_equal(segment_of(&p, NULL, NOW, &s), -EINVAL);
	assert_int_equal(segment_of(&p, &member, NOW, NULL), -EINVAL);
	assert_int_equal(((unsigned char *) &s)[0], 0x5a); /* untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_table),
	    cmocka_unit_test(test_configured),
	    cmocka_unit_test(test_one_tier_and_no_vip),
	    cmocka_unit_test(test_state_before_the_sale),
	    cmocka_unit_test(test_names_messages_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
