/*
 * segment: which customer segment a member is in and their RFM scores (recency, frequency,
 * monetary, 1..5 each), from the member's ledger state, the programme's "segments" section and
 * the time. A pure function: no I/O, no clock, no allocation. The terminal uses it to pick the
 * receipt's thank-you message; the same function gives the server's RFM segments.
 *
 * The state is the one BEFORE the visit being classified: the member as they walk in. now_us is
 * the time of the visit (the sale's time, the same now_us given to rules_apply()), or the time
 * the segment is asked for when there is no visit (a report). So:
 *   - "new" is a member with no purchase before this one (first_purchase_done false, as for the
 *     rules' welcome bonus and first-purchase coupon);
 *   - "dormant" is a member whose last visit before this one is dormant_days (x 24 h) ago or
 *     more, the same test as the rules' reactivation coupon;
 *   - recency counts from that last visit, frequency the visits before this one, monetary the
 *     lifetime spend before this sale; the tier is the one the member walked in with.
 * Passing the state after the sale instead would make every first purchase "returning" and every
 * dormant member's recency 0 days: the caller must not.
 *
 * Precedence: new, then dormant, then VIP, then returning. Rules (docs/rules.md, "Segments"):
 *   - recency: 5 while the whole days of 24 h since the last visit are below recency_days[0],
 *     4 from it, 3 from [1], 2 from [2], 1 from [3]; 1 with no visit (or no known last visit);
 *     a last visit after now_us (another terminal's clock) counts as 0 days;
 *   - frequency (visits) and monetary (monetary_gr): 1 below their [0], 2 from it, ... 5 from
 *     their [3]; negative values score 1;
 *   - VIP: vip_top_tier and the member's tier (programme_tier_for(spend_window_gr)) is the top
 *     one of a programme with 2 tiers or more; or vip_rfm and each score reaches its minimum.
 *
 * Not for: booking anything, choosing coupons (rules.h), the receipt's layout (receipt.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programme.h"
#include "rules.h"

enum segment_kind {
	SEGMENT_NEW,	   /* no purchase before this one */
	SEGMENT_RETURNING, /* bought before, none of the others */
	SEGMENT_VIP,	   /* top tier or RFM scores at the programme's minimums */
	SEGMENT_DORMANT,   /* the last visit is dormant_days or more ago */
	SEGMENT_MAX
};

#define SEGMENT_VIP_BY_TIER (1u << 0) /* the member is in the top tier */
#define SEGMENT_VIP_BY_RFM  (1u << 1) /* every score reaches the programme's minimum */

struct segment {
	enum segment_kind kind;
	int recency, frequency, monetary; /* 1..5, 5 the best */
	int64_t days_since_visit;	  /* whole days of 24 h since the last visit; -1: none */
	size_t tier;			  /* the tier the member walked in with */
	unsigned vip;			  /* SEGMENT_VIP_BY_*: what makes the member VIP, even
					     when another segment came first (new, dormant) */
};

/*
 * Classify the member whose state before this visit is *before at now_us under prog's
 * segments section. Returns 0, or -EINVAL when prog, before or ret is NULL. *ret is written
 * only on 0.
 */
__attribute__((warn_unused_result)) int segment_of(const struct programme *prog,
						   const struct rules_member *before,
						   int64_t now_us, struct segment *ret);

/* "new", "returning", "vip", "dormant" (the keys of segments.messages); NULL outside the enum. */
const char *segment_name(enum segment_kind kind);

/*
 * The programme's thank-you message for the segment in lang, for the receipt
 * (receipt_facts.message). "" when the programme has none for it; NULL when kind or lang is
 * outside its enum or prog is NULL. The string lives in *prog.
 */
const char *segment_message(const struct programme *prog, enum segment_kind kind,
			    enum programme_lang lang);
