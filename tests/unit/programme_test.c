/*
 * programme_test: the shipped board/programme.json parses to programme_default(); keys left out
 * keep their defaults; every refusal names the field and the problem (table-driven).
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

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(PROGRAMME_TEXT_MAX + 1);
	*len = buf ? fread(buf, 1, PROGRAMME_TEXT_MAX + 1, f) : 0;
	fclose(f);
	return buf;
}

static void test_shipped_default(void **state)
{
	(void) state;
	const char *src = getenv("LOYALTY_SOURCE_DIR");
	char path[1024], err[PROGRAMME_ERR_MAX];
	size_t len = 0;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/board/programme.json", src);
	char *text = read_all(path, &len);
	assert_non_null(text);
	struct programme p, d;
	if (programme_parse(text, len, &p, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	free(text);
	programme_default(&d);
	assert_memory_equal(&p, &d, sizeof(p));

	assert_int_equal(p.earn_gr_per_point, 100);
	assert_int_equal(p.welcome_pts, 50);
	assert_int_equal(p.survey_pts, 20);
	assert_int_equal(p.n_tiers, 3);
	assert_string_equal(p.tiers[1].name, "Gold");
	assert_int_equal(p.tiers[1].threshold_gr, 100000);
	assert_int_equal(p.tiers[1].permille, 1250);
	assert_int_equal(p.tiers[2].threshold_gr, 300000);
	assert_int_equal(p.tiers[2].permille, 1500);
	assert_int_equal(p.stamps[0].every, 10);
	assert_int_equal(p.first_purchase.percent_bp, 1000);
	assert_int_equal(p.first_purchase.min_basket_gr, 5000);
	assert_int_equal(p.first_purchase.valid_days, 30);
	assert_false(p.first_purchase.combinable);
	assert_int_equal(p.reactivation.dormant_days, 90);
	assert_int_equal(p.coupon_member_interval_days, 7);
	assert_int_equal(p.expiry_months, 12);
	assert_int_equal(p.redeem_unit_pts, 100);
	assert_int_equal(p.redeem_unit_gr, 1000);
	assert_int_equal(p.redeem_min_pts, 100);
	assert_int_equal(p.redeem_max_basket_bp, 5000);
	assert_int_equal(p.refund_policy, PROGRAMME_REFUND_RECREDIT);
	assert_int_equal(p.segments.dormant_days, 90);
	assert_true(p.segments.vip_top_tier && p.segments.vip_rfm);
	assert_int_equal(p.segments.vip_min_recency, 4);
	assert_int_equal(p.segments.vip_min_frequency, 5);
	assert_int_equal(p.segments.vip_min_monetary, 5);
	assert_int_equal(p.segments.recency_days[0], 7);
	assert_int_equal(p.segments.recency_days[3], 60);
	assert_int_equal(p.segments.frequency_visits[3], 30);
	assert_int_equal(p.segments.monetary_gr[3], 100000);
	assert_string_equal(p.segments.message[0][PROGRAMME_LANG_PL],
			    "Cieszymy się, że do nas dołączasz!");
	assert_string_equal(p.segments.message[3][PROGRAMME_LANG_EN],
			    "We missed you! Thank you for coming back.");
}

static void test_minimal_is_default(void **state)
{
	(void) state;
	struct programme p, d;
	const char *t = "{\"version\": 1}";
	assert_int_equal(programme_parse(t, strlen(t), &p, NULL, 0), 0);
	programme_default(&d);
	assert_memory_equal(&p, &d, sizeof(p));
}

static void test_rules_parse(void **state)
{
	(void) state;
	struct programme p;
	char err[PROGRAMME_ERR_MAX];
	const char *t =
	    "{\"version\":1,\"earn\":{\"multipliers\":["
	    "{\"id\":\"m-coffee\",\"category\":\"coffee\",\"permille\":2000},"
	    "{\"id\":\"m-sku\",\"sku\":\"5901234\",\"permille\":1500}],"
	    "\"promotions\":[{\"id\":\"happy\",\"permille\":3000,\"weekdays\":[1,2,3,4,5],"
	    "\"from_minute\":960,\"to_minute\":1080},"
	    "{\"id\":\"may\",\"category\":\"tea\",\"permille\":1100,\"start_us\":1000,"
	    "\"end_us\":2000}]},"
	    "\"tiers\":[{\"name\":\"Basic\",\"threshold_gr\":0,\"permille\":1000},"
	    "{\"name\":\"Top\",\"threshold_gr\":5e4,\"permille\":2000}],"
	    "\"refund\":{\"redeemed_points\":\"forfeit\"}}";
	if (programme_parse(t, strlen(t), &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(p.n_multipliers, 2);
	assert_string_equal(p.multipliers[1].sku, "5901234");
	assert_int_equal(p.n_promos, 2);
	assert_int_equal(p.promos[0].weekdays, 0x3e);
	assert_int_equal(p.promos[0].from_minute, 960);
	assert_int_equal(p.promos[1].to_minute, 1440);
	assert_int_equal(p.n_tiers, 2);
	assert_int_equal(p.tiers[1].threshold_gr, 50000);
	assert_int_equal(p.refund_policy, PROGRAMME_REFUND_FORFEIT);
	assert_int_equal(programme_tier_for(&p, 49999), 0);
	assert_int_equal(programme_tier_for(&p, 50000), 1);
}

static void test_segments_parse(void **state)
{
	(void) state;
	struct programme p, d;
	char err[PROGRAMME_ERR_MAX];
	const char *t = "{\"version\":1,\"segments\":{\"dormant_days\":60,"
			"\"vip\":{\"top_tier\":false,\"min_frequency\":3},"
			"\"rfm\":{\"recency_days\":[1,2,3,4],\"monetary_gr\":[1,2,3,4e6]},"
			"\"messages\":{\"returning\":{\"pl\":\"\",\"en\":\"Hi \\u00e9\"},"
			"\"vip\":{\"en\":\"Top \\ud83d\\ude00\"}}}}";
	if (programme_parse(t, strlen(t), &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	programme_default(&d);
	assert_int_equal(p.segments.dormant_days, 60);
	assert_false(p.segments.vip_top_tier);
	assert_true(p.segments.vip_rfm); /* left out: default */
	assert_int_equal(p.segments.vip_min_frequency, 3);
	assert_int_equal(p.segments.vip_min_recency, 4);
	assert_int_equal(p.segments.recency_days[2], 3);
	assert_int_equal(p.segments.monetary_gr[3], 4000000);
	assert_memory_equal(p.segments.frequency_visits, d.segments.frequency_visits,
			    sizeof(d.segments.frequency_visits));
	assert_string_equal(p.segments.message[1][PROGRAMME_LANG_PL], ""); /* none */
	assert_string_equal(p.segments.message[1][PROGRAMME_LANG_EN], "Hi \xc3\xa9");
	assert_string_equal(p.segments.message[2][PROGRAMME_LANG_EN], "Top \xf0\x9f\x98\x80");
	assert_string_equal(p.segments.message[2][PROGRAMME_LANG_PL],
			    d.segments.message[2][PROGRAMME_LANG_PL]);
	/* a shorter text leaves nothing of the default behind it */
	for (size_t i = strlen("Hi \xc3\xa9"); i <= PROGRAMME_MESSAGE_MAX; i++)
		assert_int_equal(p.segments.message[1][PROGRAMME_LANG_EN][i], 0);

	/* a message of exactly PROGRAMME_MESSAGE_MAX bytes fits, one more does not */
	char big[PROGRAMME_MESSAGE_MAX + 128];
	int n = snprintf(big, sizeof(big),
			 "{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"%0*d\"}}}}",
			 PROGRAMME_MESSAGE_MAX, 0);
	assert_int_equal(programme_parse(big, (size_t) n, &p, err, sizeof(err)), 0);
	assert_int_equal(strlen(p.segments.message[0][PROGRAMME_LANG_PL]), PROGRAMME_MESSAGE_MAX);
	n = snprintf(big, sizeof(big),
		     "{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"%0*d\"}}}}",
		     PROGRAMME_MESSAGE_MAX + 1, 0);
	assert_int_equal(programme_parse(big, (size_t) n, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "segments.messages.new.pl: longer than 127 bytes");
}

struct bad {
	const char *text;
	const char *msg;
};

#define TIERS2(a, b)                                                                               \
	"{\"version\":1,\"tiers\":[{\"name\":\"S\",\"threshold_gr\":" a ",\"permille\":1000},"     \
	"{\"name\":\"G\",\"threshold_gr\":" b ",\"permille\":1250}]}"

static const struct bad bads[] = {
    {"", "programme: not valid JSON"},
    {"{\"version\":1,", "programme: not valid JSON (near line 1)"},
    {"[1]", "programme: must be a JSON object"},
    {"{}", "version: missing"},
    {"{\"version\":2}", "version: only version 1 is known"},
    {"{\"version\":1,\"colour\":1}", "colour: unknown key"},
    {"{\"version\":1,\"earn\":{\"gr_per_pt\":1}}", "earn.gr_per_pt: unknown key"},
    {"{\"version\":1,\"earn\":{\"gr_per_point\":100.5}}",
     "earn.gr_per_point: must be a whole number"},
    {"{\"version\":1,\"earn\":{\"gr_per_point\":\"100\"}}", "earn.gr_per_point: must be a number"},
    {"{\"version\":1,\"earn\":{\"gr_per_point\":0}}",
     "earn.gr_per_point: must be from 1 to 100000"},
    {"{\"version\":1,\"earn\":{\"gr_per_point\":1e300}}",
     "earn.gr_per_point: must be a whole number"},
    {"{\"version\":1,\"earn\":[]}", "earn: must be an object"},
    {TIERS2("0", "0"), "tiers[1].threshold_gr: must be > tiers[0].threshold_gr"},
    {TIERS2("5", "10"), "tiers[0].threshold_gr: must be 0"},
    {"{\"version\":1,\"tiers\":[]}", "tiers: needs at least one tier"},
    {"{\"version\":1,\"tiers\":[{\"name\":\"S\",\"threshold_gr\":0,\"permille\":900}]}",
     "tiers[0].permille: must be from 1000 to 5000"},
    {"{\"version\":1,\"tiers\":[{\"name\":\"S\",\"threshold_gr\":0}]}",
     "tiers[0].permille: missing"},
    {"{\"version\":1,\"earn\":{\"multipliers\":[{\"id\":\"a\",\"permille\":2000}]}}",
     "earn.multipliers[0]: needs exactly one of category and sku"},
    {"{\"version\":1,\"earn\":{\"multipliers\":[{\"id\":\"a\",\"sku\":\"1\",\"permille\":1000}]}}",
     "earn.multipliers[0].permille: must be from 1001 to 5000"},
    {"{\"version\":1,\"earn\":{\"multipliers\":[{\"id\":\"a "
     "b\",\"sku\":\"1\",\"permille\":1500}]}}",
     "earn.multipliers[0].id: only letters"},
    {"{\"version\":1,\"earn\":{\"promotions\":[{\"id\":\"p\",\"permille\":2000}]}}",
     "earn.promotions[0]: needs start_us/end_us or weekdays"},
    {"{\"version\":1,\"earn\":{\"promotions\":[{\"id\":\"p\",\"permille\":2000,\"start_us\":5,"
     "\"end_us\":5}]}}",
     "earn.promotions[0].end_us: must be after earn.promotions[0].start_us"},
    {"{\"version\":1,\"earn\":{\"promotions\":[{\"id\":\"p\",\"permille\":2000,\"weekdays\":[7]}]}"
     "}",
     "earn.promotions[0].weekdays[0]: must be 0 (Sunday) to 6"},
    {"{\"version\":1,\"stamps\":[{\"id\":\"s\",\"category\":\"c\",\"every\":1}]}",
     "stamps[0].every: must be from 2 to 100"},
    {"{\"version\":1,\"stamps\":[{\"id\":\"s\",\"category\":\"c\",\"every\":5},"
     "{\"id\":\"t\",\"category\":\"c\",\"every\":5}]}",
     "stamps[1].category: 'c' already has stamps[0]"},
    {"{\"version\":1,\"coupons\":{\"first_purchase\":{\"percent_bp\":10001}}}",
     "coupons.first_purchase.percent_bp: must be from 1 to 10000"},
    {"{\"version\":1,\"coupons\":{\"first_purchase\":{\"dormant_days\":3}}}",
     "coupons.first_purchase.dormant_days: unknown key"},
    {"{\"version\":1,\"coupons\":{\"reactivation\":{\"enabled\":1}}}",
     "coupons.reactivation.enabled: must be true or false"},
    {"{\"version\":1,\"redemption\":{\"min_points\":150}}",
     "redemption.min_points: must be a multiple of redemption.unit_points"},
    {"{\"version\":1,\"refund\":{\"redeemed_points\":\"cash\"}}",
     "refund.redeemed_points: must be \"recredit\" or \"forfeit\""},
    {"{\"version\":1,\"offline\":{\"member_cap_points\":30000}}",
     "offline.member_cap_points: must be <= offline.terminal_budget_points"},
    {"{\"version\":1,\"terms_url\":\"http://x\"}", "terms_url: must be an https:// URL"},
    {"{\"version\":1,\"donation\":{\"cause\":\"\"}}", "donation.cause: must not be empty"},
    {"{\"version\":1,\"segments\":[]}", "segments: must be an object"},
    {"{\"version\":1,\"segments\":{\"dormant\":90}}", "segments.dormant: unknown key"},
    {"{\"version\":1,\"segments\":{\"dormant_days\":0}}",
     "segments.dormant_days: must be from 1 to 3660"},
    {"{\"version\":1,\"segments\":{\"dormant_days\":90.5}}",
     "segments.dormant_days: must be a whole number"},
    {"{\"version\":1,\"segments\":{\"vip\":{\"top_tier\":\"yes\"}}}",
     "segments.vip.top_tier: must be true or false"},
    {"{\"version\":1,\"segments\":{\"vip\":{\"min_recency\":6}}}",
     "segments.vip.min_recency: must be from 1 to 5"},
    {"{\"version\":1,\"segments\":{\"vip\":{\"min_monetary\":0}}}",
     "segments.vip.min_monetary: must be from 1 to 5"},
    {"{\"version\":1,\"segments\":{\"vip\":{\"tier\":\"Gold\"}}}",
     "segments.vip.tier: unknown key"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"recency_days\":7}}}",
     "segments.rfm.recency_days: must be an array"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"recency_days\":[7,14,30]}}}",
     "segments.rfm.recency_days: must have 4 entries"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"recency_days\":[7,14,30,60,90]}}}",
     "segments.rfm.recency_days: more than 4 entries"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"recency_days\":[7,14,14,60]}}}",
     "segments.rfm.recency_days[2]: must be > segments.rfm.recency_days[1]"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"recency_days\":[0,14,30,60]}}}",
     "segments.rfm.recency_days[0]: must be from 1 to 3660"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"frequency_visits\":[2,5,\"12\",30]}}}",
     "segments.rfm.frequency_visits[2]: must be a number"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"frequency_visits\":[2,5,12,30.5]}}}",
     "segments.rfm.frequency_visits[3]: must be a whole number"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"monetary_gr\":[5000,4000,50000,100000]}}}",
     "segments.rfm.monetary_gr[1]: must be > segments.rfm.monetary_gr[0]"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"monetary_gr\":[-1,4000,50000,100000]}}}",
     "segments.rfm.monetary_gr[0]: must be from 1 to 100000000000"},
    {"{\"version\":1,\"segments\":{\"rfm\":{\"monetary\":[1,2,3,4]}}}",
     "segments.rfm.monetary: unknown key"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"loyal\":{}}}}",
     "segments.messages.loyal: unknown key"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"new\":\"Hej\"}}}",
     "segments.messages.new: must be an object"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"vip\":{\"de\":\"Danke\"}}}}",
     "segments.messages.vip.de: unknown key"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"dormant\":{\"en\":5}}}}",
     "segments.messages.dormant.en: must be a string"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"a\\nb\"}}}}",
     "segments.messages.new.pl: must not hold control characters"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"a\\u0085b\"}}}}",
     "segments.messages.new.pl: must not hold control characters"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"Dzi\xc4\"}}}}",
     "segments.messages.new.pl: must be valid UTF-8"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"\xc0\xaf\"}}}}",
     "segments.messages.new.pl: must be valid UTF-8"},
    {"{\"version\":1,\"segments\":{\"messages\":{\"new\":{\"pl\":\"\xed\xa0\x80\"}}}}",
     "segments.messages.new.pl: must be valid UTF-8"},
};

static void test_refusals_name_the_field(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct programme p;
		memset(&p, 0x5a, sizeof(p));
		char err[PROGRAMME_ERR_MAX] = "";
		int r = programme_parse(bads[i].text, strlen(bads[i].text), &p, err, sizeof(err));
		if (r != -EINVAL || strncmp(err, bads[i].msg, strlen(bads[i].msg)) != 0)
			fail_msg("case %zu: r=%d err='%s', want '%s'", i, r, err, bads[i].msg);
		assert_int_equal(((unsigned char *) &p)[0], 0x5a); /* untouched */
	}
}

static void test_too_big(void **state)
{
	(void) state;
	size_t n = PROGRAMME_TEXT_MAX + 1;
	char *t = malloc(n);
	assert_non_null(t);
	memset(t, ' ', n);
	struct programme p;
	char err[PROGRAMME_ERR_MAX];
	assert_int_equal(programme_parse(t, n, &p, err, sizeof(err)), -EFBIG);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_default),
	    cmocka_unit_test(test_minimal_is_default),
	    cmocka_unit_test(test_rules_parse),
	    cmocka_unit_test(test_segments_parse),
	    cmocka_unit_test(test_refusals_name_the_field),
	    cmocka_unit_test(test_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
