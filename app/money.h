/*
 * money: amounts of money as int64_t grosze (1 PLN = 100 gr), parsed from and formatted to
 * decimal text without floating point.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The largest amount one sale may carry: 999 999,99 PLN. */
#define MONEY_MAX_GR INT64_C(99999999)

/*
 * Parse a positive amount of PLN written as digits with an optional decimal part of one or two
 * digits after '.' or ',' ("12", "12.3", "12,34", "0.01"); leading zeros are fine. Leading and
 * trailing blanks (space, tab) are ignored; any other character, including a blank or a thousands
 * space inside the amount, is refused. Refused, with -EINVAL and *ret_why set to a short English
 * reason naming the problem: empty text, a sign, letters or other characters, more than two
 * decimals, a separator without digits on both sides, more than one separator, zero, more than
 * MONEY_MAX_GR. *ret_gr is written only on success; ret_why may be NULL. *ret_why points to a
 * static string.
 */
__attribute__((warn_unused_result)) int money_parse(const char *text, int64_t *ret_gr,
						    const char **ret_why);

/*
 * Format gr as "12,34" (Polish decimal comma; thousands grouped with a space when group is
 * non-zero: "1 234,50"); negative amounts get a leading '-'. Returns the length written
 * (snprintf semantics: output is cut at size but the full length is returned). Grouped text is
 * for display only: money_parse() refuses it.
 */
int money_format(int64_t gr, int group, char *buf, size_t size);
