/*
 * clock: wall time (UTC) and monotonic time for everything time-dependent.
 *
 * Drivers: "real" (the system clocks) and "sim" (follows real time from a settable point, or
 * stands still when frozen; the backend API below lets tests and the simulator set it).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct hal_clock;

struct hal_clock_ops {
	const char *name;
	int (*open)(struct hal_clock **ret_clock);
	void (*close)(struct hal_clock *clock);
	/* Microseconds since the Unix epoch, UTC. */
	int64_t (*now_us)(struct hal_clock *clock);
	/* Microseconds on a clock that never jumps; only differences mean anything. */
	int64_t (*mono_us)(struct hal_clock *clock);
};

/* Every driver's handle starts with this. */
struct hal_clock {
	const struct hal_clock_ops *ops;
};

extern const struct hal_clock_ops hal_clock_real_ops;
extern const struct hal_clock_ops hal_clock_sim_ops;

/* Open the driver called name. Returns 0, -ENOENT for an unknown name, or another -errno. */
__attribute__((warn_unused_result)) int hal_clock_open(const char *name,
						       struct hal_clock **ret_clock);
void hal_clock_close(struct hal_clock *clock);

static inline int64_t hal_clock_now_us(struct hal_clock *clock)
{
	return clock->ops->now_us(clock);
}

static inline int64_t hal_clock_mono_us(struct hal_clock *clock)
{
	return clock->ops->mono_us(clock);
}

/* Backend API of the "sim" driver; each returns -ENOTSUP on another driver. */
bool hal_clock_is_sim(const struct hal_clock *clock);
/* Set wall time to utc_us; with freeze, both clocks stand still until advanced or set again. */
int hal_clock_sim_set(struct hal_clock *clock, int64_t utc_us, bool freeze);
/* Move both clocks forward by delta_us (frozen or not). */
int hal_clock_sim_advance(struct hal_clock *clock, int64_t delta_us);
