/* log: stderr or syslog sink with a level filter. Not for structured audit records. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum log_level max_level = LOG_LVL_INFO;
static bool to_syslog;

static const char *const level_names[LOG_LVL_MAX] = {"err", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	if (level < LOG_LVL_MAX)
		max_level = level;
}

enum log_level log_get_level(void)
{
	return max_level;
}

void log_use_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("loyaltyd", LOG_PID, LOG_DAEMON);
	to_syslog = on;
}

int log_level_from_name(const char *name, enum log_level *ret_level)
{
	for (int i = 0; i < LOG_LVL_MAX; i++) {
		if (name && strcmp(name, level_names[i]) == 0) {
			*ret_level = (enum log_level) i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_v(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (to_syslog) {
		static const int prio[LOG_LVL_MAX] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		syslog(prio[level], "%s%s", msg, suffix);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ldZ %-5s %s%s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[level], msg, suffix);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(level, "", fmt, ap);
	va_end(ap);
}

int log_errno(int r, const char *fmt, ...)
{
	char suffix[160];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(r < 0 ? -r : r));
	va_start(ap, fmt);
	log_v(LOG_LVL_ERR, suffix, fmt, ap);
	va_end(ap);
	return r;
}
