/*
 * money: decimal text <-> int64_t grosze, without floating point, locale or strto*().
 *
 * The parser is for amounts a cashier types or a scanner sends (one sale, positive, at most
 * MONEY_MAX_GR); it is not a general number parser. The formatter prints any int64_t, for
 * receipts and screens, in the Polish style "1 234,50".
 */
#include "money.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Whole złoty above which any amount is too big, whatever its decimals. */
#define MONEY_MAX_WHOLE (MONEY_MAX_GR / 100)

/* The reason text below spells the limit out. */
#define MONEY_TOO_BIG "amount is more than 999999.99"
_Static_assert(MONEY_MAX_GR == 99999999, "update MONEY_TOO_BIG to the new limit");

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_separator(char c)
{
	return c == '.' || c == ',';
}

static int refuse(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EINVAL;
}

/*
 * One pass over the trimmed text. Syntax is checked to the end before the value is judged, so
 * "12345678x" is reported as a bad character rather than as too big. The whole part stops
 * growing once it passes MONEY_MAX_WHOLE, so no intermediate value can overflow, however many
 * digits the text has.
 */
int money_parse(const char *text, int64_t *ret_gr, const char **ret_why)
{
	if (!text)
		return refuse(ret_why, "amount is empty");
	if (!ret_gr)
		return refuse(ret_why, "no place for the amount");

	const char *p = text;
	while (is_blank(*p))
		p++;
	const char *end = p + strlen(p);
	while (end > p && is_blank(end[-1]))
		end--;

	if (p == end)
		return refuse(ret_why, "amount is empty");
	if (*p == '+' || *p == '-')
		return refuse(ret_why, "amount must not have a sign");

	int64_t whole = 0;
	bool too_big = false;
	size_t int_digits = 0, frac_digits = 0, separators = 0;
	int64_t frac = 0;

	for (const char *q = p; q < end; q++) {
		char c = *q;
		if (is_separator(c)) {
			separators++;
			continue;
		}
		if (!is_digit(c))
			return refuse(ret_why, "amount has a character that is not a digit");
		if (separators == 0) {
			int_digits++;
			if (!too_big) {
				whole = whole * 10 + (c - '0');
				if (whole > MONEY_MAX_WHOLE)
					too_big = true;
			}
		} else {
			frac_digits++;
			if (frac_digits <= 2)
				frac = frac * 10 + (c - '0');
		}
	}

	if (separators > 1)
		return refuse(ret_why, "amount has more than one decimal separator");
	if (separators == 1 && (int_digits == 0 || frac_digits == 0))
		return refuse(ret_why,
			      "amount needs digits on both sides of the decimal separator");
	if (frac_digits > 2)
		return refuse(ret_why, "at most 2 decimal places");
	if (too_big)
		return refuse(ret_why, MONEY_TOO_BIG);

	if (frac_digits == 1)
		frac *= 10;
	int64_t gr = whole * 100 + frac; /* whole <= MONEY_MAX_WHOLE: no overflow */
	if (gr == 0)
		return refuse(ret_why, "amount must be more than 0");
	if (gr > MONEY_MAX_GR)
		return refuse(ret_why, MONEY_TOO_BIG);

	*ret_gr = gr;
	return 0;
}

/*
 * The text is built backwards in a local buffer large enough for INT64_MIN with grouping
 * ("-92 233 720 368 547 758,08", 26 characters), then copied out with snprintf's cutting rule.
 */
int money_format(int64_t gr, int group, char *buf, size_t size)
{
	char tmp[32];
	char *p = tmp + sizeof(tmp);
	/* The magnitude in unsigned arithmetic, so INT64_MIN needs no special case. */
	uint64_t mag = gr < 0 ? UINT64_C(0) - (uint64_t) gr : (uint64_t) gr;
	uint64_t whole = mag / 100;
	unsigned cents = (unsigned) (mag % 100);

	*--p = (char) ('0' + cents % 10);
	*--p = (char) ('0' + cents / 10);
	*--p = ',';
	int n = 0;
	do {
		if (group && n > 0 && n % 3 == 0)
			*--p = ' ';
		*--p = (char) ('0' + whole % 10);
		whole /= 10;
		n++;
	} while (whole);
	if (gr < 0)
		*--p = '-';

	size_t len = (size_t) (tmp + sizeof(tmp) - p);
	if (buf && size > 0) {
		size_t copy = len < size ? len : size - 1;
		memcpy(buf, p, copy);
		buf[copy] = '\0';
	}
	return (int) len;
}
