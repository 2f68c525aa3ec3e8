/*
 * money_test: money_parse() accepts exactly the amounts its contract allows and names the reason
 * for every refusal; money_format() prints Polish amounts, grouped or not, for every int64_t.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"

#define SENTINEL INT64_C(-777)

static const char WHY_EMPTY[] = "amount is empty";
static const char WHY_SIGN[] = "amount must not have a sign";
static const char WHY_CHAR[] = "amount has a character that is not a digit";
static const char WHY_SEPS[] = "amount has more than one decimal separator";
static const char WHY_SIDES[] = "amount needs digits on both sides of the decimal separator";
static const char WHY_DECIMALS[] = "at most 2 decimal places";
static const char WHY_ZERO[] = "amount must be more than 0";
static const char WHY_BIG[] = "amount is more than 999999.99";

struct good {
	const char *text;
	int64_t gr;
};

static const struct good goods[] = {
    {"12.34", 1234},
    {"12,34", 1234},
    {"12.3", 1230},
    {"12,3", 1230},
    {"12", 1200},
    {"1", 100},
    {"0.01", 1},
    {"0,10", 10},
    {"0.5", 50},
    {"007.50", 750},
    {"000000000000000000000000000001", 100},
    {"0000000000000000000000000999999.99", MONEY_MAX_GR},
    {"999999.99", MONEY_MAX_GR},
    {"999999", 99999900},
    {"  12.34  ", 1234},
    {"\t12,34\t", 1234},
    {" \t 5 \t ", 500},
    {"100000", 10000000},
};

static void test_parse_good(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		int64_t gr = SENTINEL;
		const char *why = NULL;
		int r = money_parse(goods[i].text, &gr, &why);
		if (r != 0)
			fail_msg("\"%s\" refused: %s", goods[i].text, why ? why : "(null)");
		assert_int_equal(gr, goods[i].gr);
		assert_null(why); /* untouched on success */
	}
}

struct bad {
	const char *text;
	const char *why;
};

static const struct bad bads[] = {
    {"", WHY_EMPTY},
    {"  ", WHY_EMPTY},
    {"\t \t", WHY_EMPTY},
    {"-5", WHY_SIGN},
    {"+5", WHY_SIGN},
    {" -0.01", WHY_SIGN},
    {"abc", WHY_CHAR},
    {"1e3", WHY_CHAR},
    {"12 34", WHY_CHAR},
    {"12\t34", WHY_CHAR},
    {"5-", WHY_CHAR},
    {"1 234,50", WHY_CHAR},
    {"12.34 zl", WHY_CHAR},
    {"0x10", WHY_CHAR},
    {"12\n", WHY_CHAR},
    {"\xc2\xa0"
     "12",
     WHY_CHAR},			/* no-break space is not a blank */
    {"\xef\xbc\x91", WHY_CHAR}, /* FULLWIDTH DIGIT ONE */
    {"12345678901234567890x", WHY_CHAR},
    {"1.2.3", WHY_SEPS},
    {"1,2.3", WHY_SEPS},
    {"1..2", WHY_SEPS},
    {"..", WHY_SEPS},
    {"12.", WHY_SIDES},
    {".5", WHY_SIDES},
    {",50", WHY_SIDES},
    {".", WHY_SIDES},
    {"12.345", WHY_DECIMALS},
    {"0.001", WHY_DECIMALS},
    {"1.000000000000000000000000000000000000000000000001", WHY_DECIMALS},
    {"0", WHY_ZERO},
    {"0.00", WHY_ZERO},
    {"0,0", WHY_ZERO},
    {"0000", WHY_ZERO},
    {"1000000", WHY_BIG},
    {"1000000.00", WHY_BIG},
    {"99999999999", WHY_BIG},
    {"9223372036854775807", WHY_BIG},
    {"9223372036854775808", WHY_BIG},
    {"18446744073709551616", WHY_BIG},
    {"184467440737095516160000000000000000000000000000000000000000.99", WHY_BIG},
};

static void test_parse_bad(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		int64_t gr = SENTINEL;
		const char *why = NULL;
		int r = money_parse(bads[i].text, &gr, &why);
		if (r != -EINVAL)
			fail_msg("\"%s\": r=%d, want -EINVAL", bads[i].text, r);
		assert_int_equal(gr, SENTINEL); /* written only on success */
		assert_non_null(why);
		if (strcmp(why, bads[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", bads[i].text, why, bads[i].why);
	}
}

/* A digit string far longer than any int64_t, built at run time. */
static void test_parse_huge_digit_strings(void **state)
{
	(void) state;
	static char text[10000];
	int64_t gr = SENTINEL;
	const char *why = NULL;

	memset(text, '9', sizeof(text) - 1);
	assert_int_equal(money_parse(text, &gr, &why), -EINVAL);
	assert_string_equal(why, WHY_BIG);

	/* leading zeros alone never make an amount too big */
	memset(text, '0', sizeof(text) - 1);
	memcpy(text + sizeof(text) - 6, "12,34", 5);
	assert_int_equal(money_parse(text, &gr, &why), 0);
	assert_int_equal(gr, 1234);

	/* ...and zeros alone are still zero */
	memset(text, '0', sizeof(text) - 1);
	assert_int_equal(money_parse(text, &gr, &why), -EINVAL);
	assert_string_equal(why, WHY_ZERO);
}

static void test_parse_null_arguments(void **state)
{
	(void) state;
	int64_t gr = SENTINEL;
	const char *why = NULL;

	assert_int_equal(money_parse(NULL, &gr, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(gr, SENTINEL);
	why = NULL;
	assert_int_equal(money_parse("12", NULL, &why), -EINVAL);
	assert_non_null(why);
	/* ret_why may be NULL */
	assert_int_equal(money_parse("abc", &gr, NULL), -EINVAL);
	assert_int_equal(money_parse("12,34", &gr, NULL), 0);
	assert_int_equal(gr, 1234);
}

struct fmt {
	int64_t gr;
	int group;
	const char *text;
};

static const struct fmt fmts[] = {
    {0, 0, "0,00"},
    {1, 0, "0,01"},
    {10, 0, "0,10"},
    {99, 0, "0,99"},
    {100, 0, "1,00"},
    {1234, 0, "12,34"},
    {123450, 0, "1234,50"},
    {123450, 1, "1 234,50"},
    {99999, 1, "999,99"},
    {100000, 1, "1 000,00"},
    {MONEY_MAX_GR, 0, "999999,99"},
    {MONEY_MAX_GR, 1, "999 999,99"},
    {100000000, 1, "1 000 000,00"},
    {-1, 0, "-0,01"},
    {-99, 1, "-0,99"},
    {-1234, 0, "-12,34"},
    {-123450, 1, "-1 234,50"},
    {-100000, 1, "-1 000,00"},
    {INT64_MAX, 0, "92233720368547758,07"},
    {INT64_MAX, 1, "92 233 720 368 547 758,07"},
    {INT64_MIN, 0, "-92233720368547758,08"},
    {INT64_MIN, 1, "-92 233 720 368 547 758,08"},
    {INT64_MIN + 1, 0, "-92233720368547758,07"},
};

static void test_format(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char buf[64];
		memset(buf, 'x', sizeof(buf));
		int n = money_format(fmts[i].gr, fmts[i].group, buf, sizeof(buf));
		assert_string_equal(buf, fmts[i].text);
		assert_int_equal(n, strlen(fmts[i].text));
	}
}

/* snprintf semantics: cut at size with a NUL, full length returned; size 0 writes nothing. */
static void test_format_truncates(void **state)
{
	(void) state;
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(money_format(123450, 1, buf, 5), 8);
	assert_string_equal(buf, "1 23");
	assert_int_equal(buf[5], 'x');

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(money_format(1234, 0, buf, 1), 5);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'x');

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(money_format(1234, 0, buf, 0), 5);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(money_format(INT64_MIN, 1, NULL, 0), 26);

	/* exactly fits, and one short */
	assert_int_equal(money_format(-1234, 0, buf, 7), 6);
	assert_string_equal(buf, "-12,34");
	assert_int_equal(money_format(-1234, 0, buf, 6), 6);
	assert_string_equal(buf, "-12,3");
}

/* Every amount a sale may carry survives format then parse, around the edges and in between. */
static void test_round_trip(void **state)
{
	(void) state;
	char buf[32];
	for (int64_t gr = 1; gr <= MONEY_MAX_GR; gr = gr < 2000 ? gr + 1 : gr * 3 / 2 + 7) {
		int64_t back = 0;
		const char *why = NULL;
		money_format(gr, 0, buf, sizeof(buf));
		if (money_parse(buf, &back, &why) != 0)
			fail_msg("\"%s\" refused: %s", buf, why);
		assert_int_equal(back, gr);
	}
	int64_t back = 0;
	money_format(MONEY_MAX_GR, 0, buf, sizeof(buf));
	assert_int_equal(money_parse(buf, &back, NULL), 0);
	assert_int_equal(back, MONEY_MAX_GR);
	money_format(MONEY_MAX_GR + 1, 0, buf, sizeof(buf));
	assert_int_equal(money_parse(buf, &back, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_huge_digit_strings),
	    cmocka_unit_test(test_parse_null_arguments),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_truncates),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
