/*
 * wartime: UTC instants as civil time in Europe/Warsaw (CET, UTC+1; CEST, UTC+2 from the last
 * Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC, the EU rule in force since
 * 1996), computed without the system time zone database or TZ, so receipts print the same on
 * every terminal. Dates shown to people use this; everything stored stays UTC.
 */
#pragma once

#include <stdint.h>

struct wartime {
	int year, month, day; /* month 1-12, day 1-31 */
	int hour, minute, second;
	int weekday;	  /* 0 = Sunday */
	int utc_offset_s; /* 3600 or 7200 */
};

/*
 * Civil time in Warsaw of utc_s seconds since the epoch (any value from 1996 to 9999; the EU rule
 * is applied to earlier years too, and instants outside years 1-9999 are clamped into them).
 */
void wartime_from_utc(int64_t utc_s, struct wartime *ret);

/* The same breakdown in UTC itself (utc_offset_s 0), for logs and exports. */
void wartime_utc(int64_t utc_s, struct wartime *ret);

/*
 * Seconds since the epoch of a civil date-time in UTC (proleptic Gregorian). Fields out of range
 * carry over as with timegm(): month 13 is January of the next year, day 0 the last day of the
 * month before, second -1 the last second of the minute before.
 */
int64_t wartime_utc_from_civil(int year, int month, int day, int hour, int minute, int second);
