/*
 * log: the one logger of the process (stderr in the simulator, syslog on the device).
 *
 * Lower layers log at debug level only; the caller that decides logs once, with context.
 * Never log a card UID, a key, a token or personal data: log a redacted form.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_MAX };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Route messages to syslog (true) or stderr (false, the default). */
void log_use_syslog(bool on);
/* Parse "err", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int log_level_from_name(const char *name, enum log_level *ret_level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log "<message>: <strerror(-r)>" at error level and return r (a negative errno). */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
