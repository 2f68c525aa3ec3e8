/* clock: driver registry and the "real" driver. */
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"

static const struct hal_clock_ops *const drivers[] = {&hal_clock_real_ops, &hal_clock_sim_ops};

int hal_clock_open(const char *name, struct hal_clock **ret_clock)
{
	HAL_REGISTRY_FIND(drivers, name, ops);
	return ops->open(ret_clock);
}

void hal_clock_close(struct hal_clock *clock)
{
	if (clock)
		clock->ops->close(clock);
}

static int64_t timespec_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int real_open(struct hal_clock **ret_clock)
{
	struct hal_clock *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ops = &hal_clock_real_ops;
	*ret_clock = c;
	return 0;
}

static void real_close(struct hal_clock *clock)
{
	free(clock);
}

static int64_t real_now_us(struct hal_clock *clock)
{
	(void) clock;
	return timespec_us(CLOCK_REALTIME);
}

static int64_t real_mono_us(struct hal_clock *clock)
{
	(void) clock;
	return timespec_us(CLOCK_MONOTONIC);
}

const struct hal_clock_ops hal_clock_real_ops = {
    .name = "real",
    .open = real_open,
    .close = real_close,
    .now_us = real_now_us,
    .mono_us = real_mono_us,
};

/* ---- sim ---- */

struct sim_clock {
	struct hal_clock base;
	bool frozen;
	int64_t wall_offset_us; /* added to real time when running */
	int64_t mono_offset_us;
	int64_t frozen_wall_us;
	int64_t frozen_mono_us;
};

static int sim_open(struct hal_clock **ret_clock)
{
	struct sim_clock *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base.ops = &hal_clock_sim_ops;
	*ret_clock = &c->base;
	return 0;
}

static int64_t sim_now_us(struct hal_clock *clock)
{
	struct sim_clock *c = (struct sim_clock *) clock;
	return c->frozen ? c->frozen_wall_us : timespec_us(CLOCK_REALTIME) + c->wall_offset_us;
}

static int64_t sim_mono_us(struct hal_clock *clock)
{
	struct sim_clock *c = (struct sim_clock *) clock;
	return c->frozen ? c->frozen_mono_us : timespec_us(CLOCK_MONOTONIC) + c->mono_offset_us;
}

const struct hal_clock_ops hal_clock_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = real_close,
    .now_us = sim_now_us,
    .mono_us = sim_mono_us,
};

bool hal_clock_is_sim(const struct hal_clock *clock)
{
	return clock && clock->ops == &hal_clock_sim_ops;
}

int hal_clock_sim_set(struct hal_clock *clock, int64_t utc_us, bool freeze)
{
	if (!hal_clock_is_sim(clock))
		return -ENOTSUP;
	struct sim_clock *c = (struct sim_clock *) clock;
	int64_t mono = sim_mono_us(clock);
	c->frozen = freeze;
	c->frozen_wall_us = utc_us;
	c->frozen_mono_us = mono;
	c->wall_offset_us = utc_us - timespec_us(CLOCK_REALTIME);
	c->mono_offset_us = mono - timespec_us(CLOCK_MONOTONIC);
	return 0;
}

int hal_clock_sim_advance(struct hal_clock *clock, int64_t delta_us)
{
	if (!hal_clock_is_sim(clock))
		return -ENOTSUP;
	if (delta_us < 0)
		return -EINVAL;
	struct sim_clock *c = (struct sim_clock *) clock;
	c->frozen_wall_us += delta_us;
	c->frozen_mono_us += delta_us;
	c->wall_offset_us += delta_us;
	c->mono_offset_us += delta_us;
	return 0;
}
