/* receipt_test: the receipt layout of a sale (content, order, Polish wording, card URL). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "receipt.h"

static const struct receipt_store store = {
    .name = "Piekarnia Pod Lipą",
    .address = "ul. Długa 5, Kraków",
    .card_url_base = "https://k.example.pl/c/",
};

static int find(const struct layout *l, enum layout_kind kind, const char *text)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->items[i].kind == kind && (!text || strstr(l->items[i].text, text)))
			return (int) i;
	}
	return -1;
}

static void test_receipt_content(void **state)
{
	(void) state;
	struct layout l;
	struct receipt_facts f = {
	    .receipt_no = "SIM1-000001",
	    .time_us = INT64_C(1795780800000000), /* 2026-11-27 12:00:00 UTC */
	    .amount_gr = 123456,
	    .earned_pts = 1234,
	    .balance_pts = 1234,
	    .first_visit = true,
	    .card_code = "ABCDEFGHJKMN",
	};
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	assert_int_equal(l.columns, 32);
	int store_at = find(&l, LAYOUT_TEXT, "Piekarnia Pod Lipą");
	int marking = find(&l, LAYOUT_TEXT, "WYDRUK NIEFISKALNY");
	int thanks = find(&l, LAYOUT_TEXT, "Dziękujemy za pierwsze zakupy.");
	int date = find(&l, LAYOUT_TEXT, "2026-11-27 13:00"); /* CET */
	int amount = find(&l, LAYOUT_TEXT, "1 234,56 zł");
	int points = find(&l, LAYOUT_TEXT, "+1234 pkt");
	int balance = find(&l, LAYOUT_TEXT, "Saldo punktów:");
	int qr = find(&l, LAYOUT_QR, "https://k.example.pl/c/ABCDEFGHJKMN");
	int url = find(&l, LAYOUT_TEXT, "k.example.pl/c/ABCDEFGHJKMN");
	int cut = find(&l, LAYOUT_CUT, NULL);
	assert_true(store_at == 0);
	assert_true(marking > store_at && thanks > marking && date > thanks);
	assert_true(amount > date && points > amount && balance > points);
	assert_true(qr > balance && url == qr + 1);
	assert_true(cut == (int) l.n - 1);
	assert_true(l.items[qr].align == LAYOUT_CENTER);
	/* every text line fits the paper */
	for (size_t i = 0; i < l.n; i++) {
		if (l.items[i].kind != LAYOUT_TEXT)
			continue;
		size_t cols = l.items[i].style & LAYOUT_DOUBLE_WIDTH ? 16 : 32;
		if (utf8_width(l.items[i].text) > cols)
			fail_msg("line too long: '%s'", l.items[i].text);
	}
	/* a returning customer is thanked differently, summer time is CEST */
	f.first_visit = false;
	f.time_us = INT64_C(1782907200000000); /* 2026-07-01 12:00:00 UTC */
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	assert_true(find(&l, LAYOUT_TEXT, "Dziękujemy za zakupy!") >= 0);
	assert_true(find(&l, LAYOUT_TEXT, "pierwsze") < 0);
	assert_true(find(&l, LAYOUT_TEXT, "2026-07-01 14:00") >= 0);
}

static void test_pair_and_limits(void **state)
{
	(void) state;
	struct layout l;
	layout_init(&l, 32);
	assert_int_equal(layout_pair(&l, 0, "Kwota zakupu:", "12,34 zł"), 0);
	assert_string_equal(l.items[0].text, "Kwota zakupu:           12,34 zł");
	assert_int_equal(utf8_width(l.items[0].text), 32);
	/* a left part too long is cut, the value stays whole */
	assert_int_equal(layout_pair(&l, 0, "Bardzo długi opis pozycji na paragonie", "99 zł"), 0);
	assert_int_equal(utf8_width(l.items[1].text), 32);
	assert_non_null(strstr(l.items[1].text, " 99 zł"));
	for (size_t i = l.n; i < LAYOUT_ITEMS_MAX; i++)
		assert_int_equal(layout_rule(&l), 0);
	assert_int_equal(layout_rule(&l), -E2BIG);
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "x"), -E2BIG);

	struct receipt_facts f = {.receipt_no = "T-1", .card_code = "X"};
	struct receipt_store long_url = store;
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	long_url.card_url_base = big;
	assert_int_equal(receipt_build(&f, &long_url, 32, &l), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_receipt_content),
	    cmocka_unit_test(test_pair_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
