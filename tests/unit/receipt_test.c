/*
 * receipt_test: the receipt layout of a sale (content, order, Polish wording, card URL, the
 * segment's thank-you message).
 */
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

/* Discounts: stamp cards, a coupon and points, each a line, then what is left to pay; the
 * award trace when asked. */
static void test_discounts_and_trace(void **state)
{
	(void) state;
	struct layout l;
	const struct rules_trace trace[] = {
	    {.rule = "base",
	     .base_gr = 1299,
	     .base_pts = 12,
	     .permille = 1000,
	     .points = 12,
	     .dropped = 99},
	    {.rule = "tier:Gold",
	     .base_gr = 1299,
	     .base_pts = 12,
	     .permille = 1250,
	     .points = 3,
	     .dropped = 0},
	};
	struct receipt_facts f = {
	    .receipt_no = "SIM1-000009",
	    .time_us = INT64_C(1795780800000000),
	    .amount_gr = 10000,
	    .earned_pts = 15,
	    .balance_pts = 400,
	    .card_code = "ABCDEFGHJKMN",
	    .stamp_discount_gr = 650,
	    .coupon_used = "7KQ2M9XW4T",
	    .coupon_discount_gr = 935,
	    .redeemed_pts = 300,
	    .points_discount_gr = 3000,
	};
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	int amount = find(&l, LAYOUT_TEXT, "100,00 zł");
	int stamps = find(&l, LAYOUT_TEXT, "Gratis (pieczątki):");
	int coupon = find(&l, LAYOUT_TEXT, "Kupon 7KQ2M9XW4T:");
	int points = find(&l, LAYOUT_TEXT, "Zapłacono 300 pkt:");
	int pay = find(&l, LAYOUT_TEXT, "Do zapłaty:");
	assert_true(amount >= 0 && stamps > amount && coupon > stamps && points > coupon &&
		    pay > points);
	assert_non_null(strstr(l.items[stamps].text, "-6,50 zł"));
	assert_non_null(strstr(l.items[coupon].text, "-9,35 zł"));
	assert_non_null(strstr(l.items[points].text, "-30,00 zł"));
	assert_non_null(strstr(l.items[pay].text, "54,15 zł"));
	assert_true(find(&l, LAYOUT_TEXT, "Jak policzono punkty:") < 0);

	f.trace = trace;
	f.n_trace = 2;
	/* the trace alone gives the reason line its multipliers; explain prints the steps */
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	assert_true(find(&l, LAYOUT_TEXT, "Jak policzono punkty:") < 0);
	assert_true(find(&l, LAYOUT_TEXT, "(1 pkt za każdy pełny 1 zł, Gold") >= 0);
	f.explain = true;
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	int how = find(&l, LAYOUT_TEXT, "Jak policzono punkty:");
	int base = find(&l, LAYOUT_TEXT, " za 12,99 zł");
	int gold = find(&l, LAYOUT_TEXT, " tier:Gold x1,25");
	assert_true(how > pay && base == how + 1 && gold == how + 2);
	assert_non_null(strstr(l.items[base].text, "12 pkt"));
	assert_non_null(strstr(l.items[gold].text, "+3 pkt"));

	/* no discount: no "to pay" line */
	memset(&f.stamp_discount_gr, 0, sizeof(f.stamp_discount_gr));
	f.coupon_discount_gr = f.points_discount_gr = 0;
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	assert_true(find(&l, LAYOUT_TEXT, "Do zapłaty:") < 0);
}

/* The refund slip: what came back, in order, and the card for the balance. */
static void test_refund_slip(void **state)
{
	(void) state;
	struct layout l;
	struct receipt_refund_facts f = {
	    .receipt_no = "SIM1-000014",
	    .of_receipt_no = "SIM1-000012",
	    .time_us = INT64_C(1795780800000000),
	    .money_back_gr = 4900,
	    .reversed_pts = 13,
	    .recredited_pts = 100,
	    .card_code = "ABCDEFGHJKMN",
	};
	assert_int_equal(receipt_build_refund(&f, &store, 32, &l), 0);
	int title = find(&l, LAYOUT_TEXT, "ZWROT");
	int of = find(&l, LAYOUT_TEXT, "Do paragonu:");
	int money = find(&l, LAYOUT_TEXT, "Zwrot pieniędzy:");
	int rev = find(&l, LAYOUT_TEXT, "Punkty odebrane:");
	int rec = find(&l, LAYOUT_TEXT, "Punkty zwrócone:");
	int qr = find(&l, LAYOUT_QR, "https://k.example.pl/c/ABCDEFGHJKMN");
	assert_true(find(&l, LAYOUT_TEXT, "WYDRUK NIEFISKALNY") < title);
	assert_true(title > 0 && of > title && money > of && rev > money && rec > rev && qr > rec);
	assert_non_null(strstr(l.items[of].text, "SIM1-000012"));
	assert_non_null(strstr(l.items[money].text, "49,00 zł"));
	assert_non_null(strstr(l.items[rev].text, "-13 pkt"));
	assert_non_null(strstr(l.items[rec].text, "+100 pkt"));
	assert_true(find(&l, LAYOUT_TEXT, "Punkty wygasłe:") < 0);
	assert_true(l.items[l.n - 1].kind == LAYOUT_CUT);
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

/* The text lines of l from index `from` on, up to the first non-text item. */
static size_t lines_from(const struct layout *l, size_t from, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = from; i < l->n && l->items[i].kind == LAYOUT_TEXT && n < max; i++)
		out[n++] = l->items[i].text;
	return n;
}

struct msg_case {
	const char *message;
	int columns;
	const char *lines[4]; /* the lines under the greeting, NULL-terminated */
};

static const struct msg_case msg_cases[] = {
    /* exactly 32 characters (Polish letters count one each), then the rest */
    {"Stęskniliśmy się! Dziękujemy, że do nas wracasz.",
     32,
     {"Stęskniliśmy się! Dziękujemy, że", "do nas wracasz."}},
    {"Jesteś jednym z naszych najwierniejszych klientów. Dziękujemy!",
     32,
     {"Jesteś jednym z naszych", "najwierniejszych klientów.", "Dziękujemy!"}},
    {"Jesteś jednym z naszych najwierniejszych klientów. Dziękujemy!",
     48,
     {"Jesteś jednym z naszych najwierniejszych", "klientów. Dziękujemy!"}},
    {"Cieszymy się, że do nas dołączasz!", 32, {"Cieszymy się, że do nas", "dołączasz!"}},
    {"We missed you!", 32, {"We missed you!"}},
    /* a word longer than the line is cut; spaces around and inside collapse at the breaks */
    {"  Abcdefghijklmnopqrstuvwxyz0123456789  x ",
     32,
     {"Abcdefghijklmnopqrstuvwxyz012345", "6789  x"}},
    /* a newline breaks the line, other control characters print as spaces */
    {"Hej\nhej", 32, {"Hej", "hej"}},
    {"Hej\thej", 32, {"Hej hej"}},
};

static void test_segment_message(void **state)
{
	(void) state;
	static struct layout none, empty, l;
	struct receipt_facts f = {
	    .receipt_no = "SIM1-000002",
	    .time_us = INT64_C(1795780800000000),
	    .amount_gr = 1234,
	    .earned_pts = 12,
	    .balance_pts = 74,
	    .card_code = "ABCDEFGHJKMN",
	};
	/* no message: no line, the same layout as before messages existed */
	assert_int_equal(receipt_build(&f, &store, 32, &none), 0);
	f.message = "";
	assert_int_equal(receipt_build(&f, &store, 32, &empty), 0);
	assert_int_equal(none.n, empty.n);
	assert_memory_equal(none.items, empty.items, none.n * sizeof(none.items[0]));
	int greeting = find(&none, LAYOUT_TEXT, "Miło znów Cię widzieć.");
	assert_true(greeting > 0);
	assert_int_equal(none.items[greeting + 1].kind, LAYOUT_FEED);

	for (size_t i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];
		const char *got[8];
		size_t want_n = 0;
		while (want_n < 4 && c->lines[want_n])
			want_n++;
		f.message = c->message;
		f.first_visit = i % 2 == 0; /* under either greeting */
		assert_int_equal(receipt_build(&f, &store, c->columns, &l), 0);
		int g = find(&l, LAYOUT_TEXT,
			     f.first_visit ? "Dziękujemy za pierwsze zakupy."
					   : "Miło znów Cię widzieć.");
		assert_true(g > 0);
		size_t n = lines_from(&l, (size_t) g + 1, got, 8);
		if (n != want_n)
			fail_msg("case %zu: %zu lines, want %zu", i, n, want_n);
		for (size_t k = 0; k < n; k++) {
			const struct layout_item *it = &l.items[(size_t) g + 1 + k];
			if (strcmp(got[k], c->lines[k]) != 0)
				fail_msg("case %zu line %zu: '%s', want '%s'", i, k, got[k],
					 c->lines[k]);
			assert_int_equal(it->align, LAYOUT_CENTER);
			assert_int_equal(it->style, 0);
			assert_true(utf8_width(got[k]) <= (size_t) c->columns);
		}
		/* then the receipt goes on as without a message */
		assert_int_equal(l.items[(size_t) g + 1 + n].kind, LAYOUT_FEED);
		f.message = NULL;
		assert_int_equal(receipt_build(&f, &store, c->columns, &empty), 0);
		assert_int_equal(l.n, empty.n + n);
	}

	/* at most RECEIPT_MESSAGE_MAX bytes */
	char big[RECEIPT_MESSAGE_MAX + 2];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 8 == 7 ? ' ' : 'a';
	big[RECEIPT_MESSAGE_MAX] = '\0';
	f.message = big;
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	big[RECEIPT_MESSAGE_MAX] = 'a';
	big[RECEIPT_MESSAGE_MAX + 1] = '\0';
	assert_int_equal(receipt_build(&f, &store, 32, &l), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_receipt_content), cmocka_unit_test(test_pair_and_limits),
	    cmocka_unit_test(test_refund_slip),	    cmocka_unit_test(test_discounts_and_trace),
	    cmocka_unit_test(test_segment_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
