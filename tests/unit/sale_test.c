/* sale_test: the sale state machine — every allowed path, every refused event, deadlines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sale.h"

#define S INT64_C(1000000)

static void feed_ok(struct sale *s, enum sale_event ev, int64_t now, enum sale_state expect)
{
	assert_int_equal(sale_feed(s, ev, now), 0);
	assert_int_equal(s->state, expect);
}

static void test_happy_paths(void **state)
{
	(void) state;
	struct sale s;
	sale_init(&s, NULL);
	assert_int_equal(s.state, SALE_IDLE);
	assert_int_equal(sale_wait_ms(&s, 0), -1);
	feed_ok(&s, SALE_EV_AMOUNT, 0, SALE_AMOUNT);
	assert_int_equal(sale_wait_ms(&s, 0), 120000);
	assert_true(sale_cancellable(&s));
	feed_ok(&s, SALE_EV_CARD, 5 * S, SALE_IDENTIFIED);
	feed_ok(&s, SALE_EV_OFFER, 5 * S, SALE_OFFER);
	assert_int_equal(sale_wait_ms(&s, 5 * S), 60000);
	feed_ok(&s, SALE_EV_ANSWER, 6 * S, SALE_CONFIRM);
	feed_ok(&s, SALE_EV_CONFIRM, 7 * S, SALE_COMMITTING);
	assert_false(sale_cancellable(&s));
	feed_ok(&s, SALE_EV_BOOKED, 7 * S, SALE_COMMITTED);
	feed_ok(&s, SALE_EV_PRINTED, 8 * S, SALE_PRINTED);
	assert_int_equal(s.end, SALE_END_NONE);
	/* the next sale may start straight from PRINTED */
	feed_ok(&s, SALE_EV_AMOUNT, 9 * S, SALE_AMOUNT);
	feed_ok(&s, SALE_EV_CARD, 9 * S, SALE_IDENTIFIED);
	feed_ok(&s, SALE_EV_NO_OFFER, 9 * S, SALE_CONFIRM);
	feed_ok(&s, SALE_EV_CONFIRM, 9 * S, SALE_COMMITTING);
	feed_ok(&s, SALE_EV_BOOKED, 9 * S, SALE_COMMITTED);
	feed_ok(&s, SALE_EV_PRINT_FAILED, 9 * S, SALE_PRINTED);
	feed_ok(&s, SALE_EV_DONE, 9 * S, SALE_IDLE);
}

/* Every (state, event) pair outside the diagram is refused and changes nothing. */
static void test_refused_events(void **state)
{
	(void) state;
	static const enum sale_event path[] = {SALE_EV_AMOUNT, SALE_EV_CARD,	SALE_EV_OFFER,
					       SALE_EV_ANSWER, SALE_EV_CONFIRM, SALE_EV_BOOKED,
					       SALE_EV_PRINTED};
	static const int allowed[SALE_STATE_MAX][SALE_EV_MAX] = {
	    [SALE_IDLE] = {[SALE_EV_AMOUNT] = 1},
	    [SALE_AMOUNT] = {[SALE_EV_CARD] = 1, [SALE_EV_CANCEL] = 1},
	    [SALE_IDENTIFIED] = {[SALE_EV_OFFER] = 1, [SALE_EV_NO_OFFER] = 1, [SALE_EV_CANCEL] = 1},
	    [SALE_OFFER] = {[SALE_EV_ANSWER] = 1, [SALE_EV_CANCEL] = 1},
	    [SALE_CONFIRM] = {[SALE_EV_ANSWER] = 1, [SALE_EV_CONFIRM] = 1, [SALE_EV_CANCEL] = 1},
	    [SALE_COMMITTING] = {[SALE_EV_BOOKED] = 1, [SALE_EV_BOOK_FAILED] = 1},
	    [SALE_COMMITTED] = {[SALE_EV_PRINTED] = 1, [SALE_EV_PRINT_FAILED] = 1},
	    [SALE_PRINTED] = {[SALE_EV_DONE] = 1, [SALE_EV_AMOUNT] = 1},
	};
	for (size_t depth = 0; depth <= 7; depth++) {
		for (int ev = 0; ev < SALE_EV_MAX; ev++) {
			struct sale s;
			sale_init(&s, NULL);
			for (size_t i = 0; i < depth; i++)
				assert_int_equal(sale_feed(&s, path[i], 0), 0);
			enum sale_state before = s.state;
			int r = sale_feed(&s, (enum sale_event) ev, 0);
			if (allowed[before][ev])
				assert_int_equal(r, 0);
			else {
				assert_int_equal(r, -EPERM);
				assert_int_equal(s.state, before);
			}
		}
	}
	struct sale s;
	sale_init(&s, NULL);
	assert_int_equal(sale_feed(&s, SALE_EV_MAX, 0), -EINVAL);
}

static void test_cancel_and_deadlines(void **state)
{
	(void) state;
	struct sale s;
	struct sale_timeouts t = {.card_us = 10 * S, .answer_us = 5 * S, .printer_us = 3 * S};
	sale_init(&s, &t);
	feed_ok(&s, SALE_EV_AMOUNT, 100 * S, SALE_AMOUNT);
	assert_false(sale_tick(&s, 109 * S));
	assert_int_equal(sale_wait_ms(&s, 109 * S), 1000);
	assert_true(sale_tick(&s, 110 * S));
	assert_int_equal(s.state, SALE_IDLE);
	assert_int_equal(s.end, SALE_END_TIMEOUT);

	feed_ok(&s, SALE_EV_AMOUNT, 200 * S, SALE_AMOUNT);
	assert_int_equal(s.end, SALE_END_NONE);
	feed_ok(&s, SALE_EV_CARD, 201 * S, SALE_IDENTIFIED);
	feed_ok(&s, SALE_EV_OFFER, 201 * S, SALE_OFFER);
	feed_ok(&s, SALE_EV_CANCEL, 202 * S, SALE_IDLE);
	assert_int_equal(s.end, SALE_END_CANCELLED);

	/* a confirm that waits too long cancels; a booked sale never does */
	feed_ok(&s, SALE_EV_AMOUNT, 300 * S, SALE_AMOUNT);
	feed_ok(&s, SALE_EV_CARD, 300 * S, SALE_IDENTIFIED);
	feed_ok(&s, SALE_EV_NO_OFFER, 300 * S, SALE_CONFIRM);
	assert_true(sale_tick(&s, 305 * S));
	assert_int_equal(s.end, SALE_END_TIMEOUT);
	feed_ok(&s, SALE_EV_AMOUNT, 400 * S, SALE_AMOUNT);
	feed_ok(&s, SALE_EV_CARD, 400 * S, SALE_IDENTIFIED);
	feed_ok(&s, SALE_EV_NO_OFFER, 400 * S, SALE_CONFIRM);
	feed_ok(&s, SALE_EV_CONFIRM, 400 * S, SALE_COMMITTING);
	assert_false(sale_tick(&s, 999 * S)); /* booking has no deadline of its own */
	assert_int_equal(sale_feed(&s, SALE_EV_CANCEL, 400 * S), -EPERM);
	feed_ok(&s, SALE_EV_BOOKED, 400 * S, SALE_COMMITTED);
	assert_int_equal(sale_feed(&s, SALE_EV_CANCEL, 400 * S), -EPERM);
	assert_true(sale_tick(&s, 403 * S));
	assert_int_equal(s.state, SALE_PRINTED);
	assert_int_equal(s.end, SALE_END_NONE);

	/* the ledger failing ends the sale with nothing booked */
	feed_ok(&s, SALE_EV_AMOUNT, 500 * S, SALE_AMOUNT);
	feed_ok(&s, SALE_EV_CARD, 500 * S, SALE_IDENTIFIED);
	feed_ok(&s, SALE_EV_NO_OFFER, 500 * S, SALE_CONFIRM);
	feed_ok(&s, SALE_EV_CONFIRM, 500 * S, SALE_COMMITTING);
	feed_ok(&s, SALE_EV_BOOK_FAILED, 500 * S, SALE_IDLE);
	assert_int_equal(s.end, SALE_END_BOOK_FAILED);
	assert_string_equal(sale_state_name(SALE_AMOUNT), "waiting for card");
	assert_string_equal(sale_state_name(SALE_STATE_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_happy_paths),
	    cmocka_unit_test(test_refused_events),
	    cmocka_unit_test(test_cancel_and_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
