/*
 * earn: the base earn rule, 1 point per full 1 PLN of the eligible amount (12,99 zł earns 12).
 * The full programme (multipliers, bonuses, tiers) builds on this.
 */
#pragma once

#include <stdint.h>

#define EARN_GR_PER_POINT 100

/* Points for eligible_gr grosze; 0 for amounts below 1 PLN or negative. */
static inline int64_t earn_base_points(int64_t eligible_gr)
{
	return eligible_gr > 0 ? eligible_gr / EARN_GR_PER_POINT : 0;
}
