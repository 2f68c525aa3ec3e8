/*
 * wartime: UTC seconds to Warsaw civil time and civil UTC date-times to seconds, by plain
 * day arithmetic (H. Hinnant's days_from_civil / civil_from_days, proleptic Gregorian) and the
 * EU summer-time rule. No timegm(), localtime(), TZ or tzdata, so the result does not depend on
 * how a terminal is set up. Not a general time zone library: Warsaw and UTC only.
 */
#include "wartime.h"

#define DAY_S INT64_C(86400)

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: wartime_from_utc() clamps to these. */
#define UTC_MIN_S INT64_C(-62135596800)
#define UTC_MAX_S INT64_C(253402300799)

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of y-m-d, month 1-12, any day (carried linearly). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;				       /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* from March 1 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	       /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;					     /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		     /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;				     /* 0 = March */
	int m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*ret_y = yoe + era * 400 + (m <= 2);
	*ret_m = m;
	*ret_d = (int) (doy - (153 * mp + 2) / 5 + 1);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday_of_days(int64_t days)
{
	return (int) (days + 4 - floor_div(days + 4, 7) * 7);
}

/* 01:00 UTC on the last Sunday of a 31-day month (March or October) of year y. */
static int64_t last_sunday_0100_utc(int64_t y, int month)
{
	int64_t d31 = days_from_civil(y, month, 31);
	return (d31 - weekday_of_days(d31)) * DAY_S + 3600;
}

/* The civil date-time of utc_s shifted by offset seconds. */
static void civil_at(int64_t utc_s, int offset, struct wartime *ret)
{
	int64_t y;
	int m, d;
	int64_t local = utc_s + offset;
	int64_t days = floor_div(local, DAY_S);
	int64_t secs = local - days * DAY_S;
	civil_from_days(days, &y, &m, &d);
	ret->year = (int) y;
	ret->month = m;
	ret->day = d;
	ret->hour = (int) (secs / 3600);
	ret->minute = (int) (secs / 60 % 60);
	ret->second = (int) (secs % 60);
	ret->weekday = weekday_of_days(days);
	ret->utc_offset_s = offset;
}

/*
 * The summer-time window is worked out for the UTC year of the instant: both changes happen at
 * 01:00 UTC in March and October, far from New Year, so the UTC and Warsaw years agree around
 * them. The rule is applied to every year, also before 1996 when Poland's dates differed; inputs
 * outside years 1-9999 are clamped into that range so the result is always a valid date.
 */
void wartime_from_utc(int64_t utc_s, struct wartime *ret)
{
	if (!ret)
		return;
	if (utc_s < UTC_MIN_S)
		utc_s = UTC_MIN_S;
	if (utc_s > UTC_MAX_S)
		utc_s = UTC_MAX_S;

	int64_t y;
	int m, d;
	civil_from_days(floor_div(utc_s, DAY_S), &y, &m, &d);
	int64_t start = last_sunday_0100_utc(y, 3);
	int64_t end = last_sunday_0100_utc(y, 10);
	int offset = utc_s >= start && utc_s < end ? 7200 : 3600;

	civil_at(utc_s, offset, ret);
}

void wartime_utc(int64_t utc_s, struct wartime *ret)
{
	if (!ret)
		return;
	if (utc_s < UTC_MIN_S)
		utc_s = UTC_MIN_S;
	if (utc_s > UTC_MAX_S)
		utc_s = UTC_MAX_S;
	civil_at(utc_s, 0, ret);
}

/*
 * Fields outside their usual range are carried as timegm() does: month 13 is January of the
 * next year, day 0 the last day of the month before, hour 24 the next day. Any int arguments
 * stay within int64_t, so there is no overflow.
 */
int64_t wartime_utc_from_civil(int year, int month, int day, int hour, int minute, int second)
{
	int64_t m0 = (int64_t) month - 1;
	int64_t y = (int64_t) year + floor_div(m0, 12);
	int64_t m = m0 - floor_div(m0, 12) * 12 + 1;
	int64_t days = days_from_civil(y, m, day);
	return days * DAY_S + (int64_t) hour * 3600 + (int64_t) minute * 60 + second;
}
