/* segment: customer segment and RFM scores of a member before a visit (contract in segment.h). */
#include "segment.h"

#include <errno.h>

#define US_PER_DAY INT64_C(86400000000)

_Static_assert(SEGMENT_MAX == PROGRAMME_SEGMENTS_MAX,
	       "programme.segments.message has one entry per segment");

/* How many of the ascending breakpoints v reaches (0..PROGRAMME_RFM_BREAKS). */
static int reached(const int64_t *breaks, int64_t v)
{
	int n = 0;
	for (size_t i = 0; i < PROGRAMME_RFM_BREAKS; i++)
		n += v >= breaks[i];
	return n;
}

int segment_of(const struct programme *prog, const struct rules_member *before, int64_t now_us,
	       struct segment *ret)
{
	if (!prog || !before || !ret)
		return -EINVAL;
	const struct programme_segments *ps = &prog->segments;
	struct segment s = {.days_since_visit = -1};

	int64_t recency_days[PROGRAMME_RFM_BREAKS];
	for (size_t i = 0; i < PROGRAMME_RFM_BREAKS; i++)
		recency_days[i] = ps->recency_days[i];
	if (before->last_visit_us > 0) {
		/* both positive: no overflow; a visit "in the future" is today */
		int64_t gap = before->last_visit_us < now_us ? now_us - before->last_visit_us : 0;
		s.days_since_visit = gap / US_PER_DAY;
		s.recency = 5 - reached(recency_days, s.days_since_visit);
	} else {
		s.recency = 1;
	}
	s.frequency = 1 + reached(ps->frequency_visits, before->visits);
	s.monetary = 1 + reached(ps->monetary_gr, before->monetary_gr);

	s.tier = programme_tier_for(prog, before->spend_window_gr);
	if (ps->vip_top_tier && prog->n_tiers >= 2 && s.tier == prog->n_tiers - 1)
		s.vip |= SEGMENT_VIP_BY_TIER;
	if (ps->vip_rfm && s.recency >= ps->vip_min_recency &&
	    s.frequency >= ps->vip_min_frequency && s.monetary >= ps->vip_min_monetary)
		s.vip |= SEGMENT_VIP_BY_RFM;

	if (!before->first_purchase_done)
		s.kind = SEGMENT_NEW;
	else if (s.days_since_visit >= ps->dormant_days)
		s.kind = SEGMENT_DORMANT;
	else if (s.vip)
		s.kind = SEGMENT_VIP;
	else
		s.kind = SEGMENT_RETURNING;
	*ret = s;
	return 0;
}

const char *segment_name(enum segment_kind kind)
{
	static const char *const names[SEGMENT_MAX] = {
	    [SEGMENT_NEW] = "new",
	    [SEGMENT_RETURNING] = "returning",
	    [SEGMENT_VIP] = "vip",
	    [SEGMENT_DORMANT] = "dormant",
	};
	return (unsigned) kind < SEGMENT_MAX ? names[kind] : NULL;
}

const char *segment_message(const struct programme *prog, enum segment_kind kind,
			    enum programme_lang lang)
{
	if (!prog || (unsigned) kind >= SEGMENT_MAX || (unsigned) lang >= PROGRAMME_LANG_MAX)
		return NULL;
	return prog->segments.message[kind][lang];
}
