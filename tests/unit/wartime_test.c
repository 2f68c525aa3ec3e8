/*
 * wartime_test: Warsaw civil time at known instants (both summer-time changes, leap days, year
 * ends, weekdays), civil-to-UTC arithmetic with carried fields, and a sweep over 1997-2037
 * against glibc's localtime_r() with TZ=Europe/Warsaw from the system tzdata. TZ is set only
 * inside that one test and restored after it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wartime.h"

#define DAY_S INT64_C(86400)

struct known {
	int64_t utc_s;
	struct wartime want;
};

static const struct known knowns[] = {
    /* the epoch: Thursday, winter */
    {0, {1970, 1, 1, 1, 0, 0, 4, 3600}},
    {-1, {1970, 1, 1, 0, 59, 59, 4, 3600}},
    /* 2026 spring forward: 02:00 CET becomes 03:00 CEST, at 01:00 UTC */
    {INT64_C(1774745999), {2026, 3, 29, 1, 59, 59, 0, 3600}},
    {INT64_C(1774746000), {2026, 3, 29, 3, 0, 0, 0, 7200}},
    /* 2026 fall back: 03:00 CEST becomes 02:00 CET, at 01:00 UTC */
    {INT64_C(1792889999), {2026, 10, 25, 2, 59, 59, 0, 7200}},
    {INT64_C(1792890000), {2026, 10, 25, 2, 0, 0, 0, 3600}},
    /* the first year of the current EU rule */
    {INT64_C(828234000), {1996, 3, 31, 3, 0, 0, 0, 7200}},
    /* a leap day, at noon UTC */
    {INT64_C(1709208000), {2024, 2, 29, 13, 0, 0, 4, 3600}},
    /* New Year comes an hour before it does in UTC */
    {INT64_C(1767222000), {2026, 1, 1, 0, 0, 0, 4, 3600}},
    {INT64_C(1767221999), {2025, 12, 31, 23, 59, 59, 3, 3600}},
    /* 2000-01-01, a Saturday */
    {INT64_C(946684800), {2000, 1, 1, 1, 0, 0, 6, 3600}},
    /* past 2038 on 64 bits */
    {INT64_C(2147483648), {2038, 1, 19, 4, 14, 8, 2, 3600}},
    /* the end of the range */
    {INT64_C(253402297199), {9999, 12, 31, 23, 59, 59, 5, 3600}},
};

static void assert_wartime(int64_t utc_s, const struct wartime *got, const struct wartime *want)
{
	if (got->year != want->year || got->month != want->month || got->day != want->day ||
	    got->hour != want->hour || got->minute != want->minute || got->second != want->second ||
	    got->weekday != want->weekday || got->utc_offset_s != want->utc_offset_s)
		fail_msg("%lld: got %04d-%02d-%02d %02d:%02d:%02d wd %d off %d, "
			 "want %04d-%02d-%02d %02d:%02d:%02d wd %d off %d",
			 (long long) utc_s, got->year, got->month, got->day, got->hour, got->minute,
			 got->second, got->weekday, got->utc_offset_s, want->year, want->month,
			 want->day, want->hour, want->minute, want->second, want->weekday,
			 want->utc_offset_s);
}

static void test_known_instants(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(knowns) / sizeof(knowns[0]); i++) {
		struct wartime w;
		memset(&w, 0x5a, sizeof(w));
		wartime_from_utc(knowns[i].utc_s, &w);
		assert_wartime(knowns[i].utc_s, &w, &knowns[i].want);
	}
}

static void test_utc_from_civil(void **state)
{
	(void) state;
	assert_int_equal(wartime_utc_from_civil(1970, 1, 1, 0, 0, 0), 0);
	assert_int_equal(wartime_utc_from_civil(1969, 12, 31, 23, 59, 59), -1);
	assert_int_equal(wartime_utc_from_civil(2000, 1, 1, 0, 0, 0), 946684800);
	assert_int_equal(wartime_utc_from_civil(2024, 2, 29, 12, 0, 0), 1709208000);
	assert_int_equal(wartime_utc_from_civil(2026, 3, 29, 1, 0, 0), 1774746000);
	assert_int_equal(wartime_utc_from_civil(2038, 1, 19, 3, 14, 8), INT64_C(2147483648));
	assert_int_equal(wartime_utc_from_civil(1, 1, 1, 0, 0, 0), INT64_C(-62135596800));
	assert_int_equal(wartime_utc_from_civil(9999, 12, 31, 23, 59, 59), INT64_C(253402300799));
}

static int64_t days_in_year(int year)
{
	return (wartime_utc_from_civil(year + 1, 1, 1, 0, 0, 0) -
		wartime_utc_from_civil(year, 1, 1, 0, 0, 0)) /
	       DAY_S;
}

static void test_leap_years(void **state)
{
	(void) state;
	assert_int_equal(days_in_year(2024), 366);
	assert_int_equal(days_in_year(2023), 365);
	assert_int_equal(days_in_year(2000), 366); /* divisible by 400 */
	assert_int_equal(days_in_year(2100), 365); /* by 100, not by 400 */
	assert_int_equal(days_in_year(1900), 365);
	assert_int_equal(days_in_year(2400), 366);

	/* the day after 28 February, seen in Warsaw */
	static const struct {
		int year, month, day;
	} after[] = {{2024, 2, 29}, {2023, 3, 1}, {2000, 2, 29}, {2100, 3, 1}, {1900, 3, 1}};
	for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
		struct wartime w;
		wartime_from_utc(wartime_utc_from_civil(after[i].year, 2, 28, 12, 0, 0) + DAY_S,
				 &w);
		assert_int_equal(w.year, after[i].year);
		assert_int_equal(w.month, after[i].month);
		assert_int_equal(w.day, after[i].day);
		assert_int_equal(w.hour, 13);
	}

	struct wartime w;
	wartime_from_utc(wartime_utc_from_civil(2100, 3, 1, 12, 0, 0), &w);
	assert_int_equal(w.weekday, 1); /* Monday */
}

/* Fields out of range carry into the next larger one, as with timegm(). */
static void test_carried_fields(void **state)
{
	(void) state;
	assert_int_equal(wartime_utc_from_civil(2025, 13, 1, 0, 0, 0),
			 wartime_utc_from_civil(2026, 1, 1, 0, 0, 0));
	assert_int_equal(wartime_utc_from_civil(2026, 0, 1, 0, 0, 0),
			 wartime_utc_from_civil(2025, 12, 1, 0, 0, 0));
	assert_int_equal(wartime_utc_from_civil(2026, -12, 1, 0, 0, 0),
			 wartime_utc_from_civil(2024, 12, 1, 0, 0, 0));
	assert_int_equal(wartime_utc_from_civil(2026, 3, 0, 0, 0, 0),
			 wartime_utc_from_civil(2026, 2, 28, 0, 0, 0));
	assert_int_equal(wartime_utc_from_civil(2024, 2, 30, 0, 0, 0),
			 wartime_utc_from_civil(2024, 3, 1, 0, 0, 0));
	assert_int_equal(wartime_utc_from_civil(2026, 1, 1, 24, 0, 0),
			 wartime_utc_from_civil(2026, 1, 2, 0, 0, 0));
	assert_int_equal(wartime_utc_from_civil(2026, 1, 1, 0, 0, -1),
			 wartime_utc_from_civil(2025, 12, 31, 23, 59, 59));
	assert_int_equal(wartime_utc_from_civil(2026, 1, 1, 0, 90, 0),
			 wartime_utc_from_civil(2026, 1, 1, 1, 30, 0));
	/* extremes of int do not overflow (checked under the sanitizers) */
	(void) wartime_utc_from_civil(INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
				      INT32_MAX);
	(void) wartime_utc_from_civil(INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN,
				      INT32_MIN);
}

/* Outside years 1-9999 the instant is clamped; NULL is ignored. */
static void test_range(void **state)
{
	(void) state;
	struct wartime lo, hi;
	wartime_from_utc(INT64_MIN, &lo);
	assert_int_equal(lo.year, 1);
	assert_int_equal(lo.month, 1);
	assert_int_equal(lo.day, 1);
	assert_int_equal(lo.hour, 1);
	assert_int_equal(lo.weekday, 1); /* 0001-01-01 proleptic Gregorian was a Monday */
	wartime_from_utc(INT64_MAX, &hi);
	assert_int_equal(hi.year, 10000);
	assert_int_equal(hi.month, 1);
	assert_int_equal(hi.day, 1);
	assert_int_equal(hi.hour, 0);
	assert_int_equal(hi.minute, 59);
	assert_int_equal(hi.second, 59);
	wartime_from_utc(0, NULL);
}

/* Every summer-time change from 1996 to 2100 falls on a Sunday at 01:00 UTC, March and October. */
static void test_changes_every_year(void **state)
{
	(void) state;
	for (int year = 1996; year <= 2100; year++) {
		int changes = 0;
		int64_t from = wartime_utc_from_civil(year, 1, 1, 0, 0, 0);
		int64_t to = wartime_utc_from_civil(year + 1, 1, 1, 0, 0, 0);
		struct wartime prev, w;
		wartime_from_utc(from, &prev);
		for (int64_t t = from + 3600; t <= to; t += 3600) {
			wartime_from_utc(t, &w);
			if (w.utc_offset_s != prev.utc_offset_s) {
				struct wartime before;
				wartime_from_utc(t - 1, &before);
				assert_int_equal(before.utc_offset_s, prev.utc_offset_s);
				assert_int_equal(w.weekday, 0);
				assert_int_equal(w.month, changes == 0 ? 3 : 10);
				assert_true(w.day >= 25);
				assert_int_equal(t % DAY_S, 3600);
				changes++;
			}
			prev = w;
		}
		assert_int_equal(changes, 2);
	}
}

static void compare_with_libc(int64_t t)
{
	time_t tt = (time_t) t;
	struct tm tm;
	struct wartime w;

	if (!localtime_r(&tt, &tm))
		fail_msg("localtime_r(%lld) failed", (long long) t);
	wartime_from_utc(t, &w);
	const struct wartime want = {
	    .year = tm.tm_year + 1900,
	    .month = tm.tm_mon + 1,
	    .day = tm.tm_mday,
	    .hour = tm.tm_hour,
	    .minute = tm.tm_min,
	    .second = tm.tm_sec,
	    .weekday = tm.tm_wday,
	    .utc_offset_s = (int) tm.tm_gmtoff,
	};
	assert_wartime(t, &w, &want);
	/* and back: the civil fields minus the offset give the instant */
	assert_int_equal(
	    wartime_utc_from_civil(w.year, w.month, w.day, w.hour, w.minute, w.second) -
		w.utc_offset_s,
	    t);
}

static void test_against_libc(void **state)
{
	(void) state;
	static const char zone[] = "/usr/share/zoneinfo/Europe/Warsaw";
	if (access(zone, R_OK) != 0) {
		print_message("no %s (tzdata not installed): skipped\n", zone);
		skip();
	}

	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	assert_int_equal(setenv("TZ", "Europe/Warsaw", 1), 0);
	tzset();

	int64_t from = wartime_utc_from_civil(1997, 1, 1, 0, 0, 0);
	int64_t to = wartime_utc_from_civil(2038, 1, 1, 0, 0, 0);
	long n = 0;

	/* a step that is not a divisor of an hour or a day, so every time of day comes round */
	for (int64_t t = from; t < to; t += 3 * 3600 + 7 * 60 + 11, n++)
		compare_with_libc(t);

	/* the last eight days of March and October, every 15 minutes and the second before */
	for (int year = 1997; year <= 2037; year++) {
		for (int month = 3; month <= 10; month += 7) {
			int64_t a = wartime_utc_from_civil(year, month, 24, 0, 0, 0);
			int64_t b = wartime_utc_from_civil(year, month + 1, 1, 0, 0, 0);
			for (int64_t t = a; t < b; t += 900, n += 2) {
				compare_with_libc(t - 1);
				compare_with_libc(t);
			}
		}
	}
	print_message("%ld instants agree with localtime_r\n", n);

	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* wartime_utc: the plain UTC breakdown, for exports and logs. */
static void test_utc_breakdown(void **state)
{
	(void) state;
	struct wartime t;
	wartime_utc(INT64_C(1795780800), &t); /* 2026-11-27 12:00:00 UTC, a Friday */
	assert_int_equal(t.year, 2026);
	assert_int_equal(t.month, 11);
	assert_int_equal(t.day, 27);
	assert_int_equal(t.hour, 12);
	assert_int_equal(t.minute, 0);
	assert_int_equal(t.weekday, 5);
	assert_int_equal(t.utc_offset_s, 0);
	wartime_utc(-1, &t);
	assert_int_equal(t.year, 1969);
	assert_int_equal(t.month, 12);
	assert_int_equal(t.day, 31);
	assert_int_equal(t.second, 59);
	for (int64_t s = 0; s < INT64_C(4102444800); s += 86399 * 37) {
		wartime_utc(s, &t);
		assert_true(wartime_utc_from_civil(t.year, t.month, t.day, t.hour, t.minute,
						   t.second) == s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_instants),     cmocka_unit_test(test_utc_from_civil),
	    cmocka_unit_test(test_utc_breakdown),      cmocka_unit_test(test_leap_years),
	    cmocka_unit_test(test_carried_fields),     cmocka_unit_test(test_range),
	    cmocka_unit_test(test_changes_every_year), cmocka_unit_test(test_against_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
