/*
 * programme_fuzz: programme_parse() on arbitrary bytes. It must not crash; on success the
 * programme holds its invariants (tiers ascending from 0, multipliers within their range,
 * redemption minimum a multiple of the unit, RFM breakpoints ascending, messages within their cap)
 * and rules_apply() runs on it for a small basket, segment_of() on the member before and after; on
 * failure it returns -EINVAL or -EFBIG with a message and leaves the result alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "programme.h"
#include "rules.h"
#include "segment.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "programme_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct programme p;
	static struct rules_member m;
	static struct rules_result res;
	char err[PROGRAMME_ERR_MAX];

	memset(&p, 0x5a, sizeof(p));
	err[0] = '\0';
	int r = programme_parse((const char *) data, size, &p, err, sizeof(err));
	if (r != 0) {
		CHECK(r == -EINVAL || r == -EFBIG);
		CHECK(err[0] != '\0');
		CHECK(((const unsigned char *) &p)[0] == 0x5a);
		return 0;
	}
	CHECK(p.version == PROGRAMME_VERSION);
	CHECK(p.n_tiers >= 1 && p.n_tiers <= PROGRAMME_TIERS_MAX);
	CHECK(p.tiers[0].threshold_gr == 0);
	for (size_t i = 1; i < p.n_tiers; i++)
		CHECK(p.tiers[i].threshold_gr > p.tiers[i - 1].threshold_gr);
	for (size_t i = 0; i < p.n_multipliers; i++)
		CHECK(p.multipliers[i].permille > 1000 &&
		      p.multipliers[i].permille <= PROGRAMME_PERMILLE_MAX);
	CHECK(p.earn_gr_per_point > 0 && p.redeem_unit_pts > 0);
	CHECK(p.redeem_min_pts % p.redeem_unit_pts == 0);

	memset(&m, 0, sizeof(m));
	m.member_id = 1;
	struct rules_line lines[2] = {
	    {.sku = "1", .category = "coffee", .qty = 12, .unit_gr = 1299},
	    {.sku = "2", .category = "food", .qty = 1, .unit_gr = 99999}};
	struct rules_basket b = {.lines = lines, .n_lines = 2};
	struct rules_request req = {.new_coupon_id = "F-1"};
	CHECK(rules_apply(&p, &m, &b, &req, INT64_C(1749549600000000), &res) == 0);
	CHECK(res.refusal == RULES_OK);
	CHECK(res.balance_pts == res.earned_pts + res.bonus_pts);
	CHECK(res.earned_pts >= res.eligible_gr / p.earn_gr_per_point);

	for (size_t i = 1; i < PROGRAMME_RFM_BREAKS; i++) {
		CHECK(p.segments.recency_days[i] > p.segments.recency_days[i - 1]);
		CHECK(p.segments.frequency_visits[i] > p.segments.frequency_visits[i - 1]);
		CHECK(p.segments.monetary_gr[i] > p.segments.monetary_gr[i - 1]);
	}
	CHECK(p.segments.dormant_days >= 1);
	struct segment s;
	CHECK(segment_of(&p, &m, INT64_C(1749549600000000), &s) == 0);
	CHECK(s.kind == SEGMENT_NEW && s.recency == 1 && s.frequency == 1 && s.monetary == 1);
	CHECK(segment_of(&p, &res.member, INT64_C(1749549600000000), &s) == 0);
	CHECK(s.kind == SEGMENT_RETURNING || s.kind == SEGMENT_VIP);
	CHECK(s.recency == 5 && s.days_since_visit == 0);
	CHECK(s.frequency >= 1 && s.frequency <= 5 && s.monetary >= 1 && s.monetary <= 5);
	int64_t later = INT64_C(1749549600000000) + p.segments.dormant_days * INT64_C(86400000000);
	CHECK(segment_of(&p, &res.member, later, &s) == 0);
	CHECK(s.kind == SEGMENT_DORMANT && s.days_since_visit == p.segments.dormant_days);
	for (int k = 0; k < SEGMENT_MAX; k++)
		for (int l = 0; l < PROGRAMME_LANG_MAX; l++) {
			const char *msg =
			    segment_message(&p, (enum segment_kind) k, (enum programme_lang) l);
			CHECK(msg && strlen(msg) <= PROGRAMME_MESSAGE_MAX);
		}
	return 0;
}
