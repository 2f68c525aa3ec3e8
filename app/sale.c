/* sale: the transition table of the cashier's sale, and its deadlines. */
#include "sale.h"

#include <errno.h>
#include <stddef.h>

const struct sale_timeouts sale_default_timeouts = {
    .card_us = INT64_C(120000000),
    .answer_us = INT64_C(60000000),
    .printer_us = INT64_C(30000000),
};

/* next[state][event]: 1 + the state an event leads to; 0 when the event is not allowed. */
#define TO(st) ((unsigned char) ((st) + 1))
static const unsigned char next[SALE_STATE_MAX][SALE_EV_MAX] = {
    [SALE_IDLE] = {[SALE_EV_AMOUNT] = TO(SALE_AMOUNT)},
    [SALE_AMOUNT] = {[SALE_EV_CARD] = TO(SALE_IDENTIFIED), [SALE_EV_CANCEL] = TO(SALE_IDLE)},
    [SALE_IDENTIFIED] = {[SALE_EV_OFFER] = TO(SALE_OFFER),
			 [SALE_EV_NO_OFFER] = TO(SALE_CONFIRM),
			 [SALE_EV_CANCEL] = TO(SALE_IDLE)},
    [SALE_OFFER] = {[SALE_EV_ANSWER] = TO(SALE_CONFIRM), [SALE_EV_CANCEL] = TO(SALE_IDLE)},
    [SALE_CONFIRM] = {[SALE_EV_ANSWER] = TO(SALE_CONFIRM),
		      [SALE_EV_CONFIRM] = TO(SALE_COMMITTING),
		      [SALE_EV_CANCEL] = TO(SALE_IDLE)},
    [SALE_COMMITTING] =
	{[SALE_EV_BOOKED] = TO(SALE_COMMITTED), [SALE_EV_BOOK_FAILED] = TO(SALE_IDLE)},
    [SALE_COMMITTED] =
	{[SALE_EV_PRINTED] = TO(SALE_PRINTED), [SALE_EV_PRINT_FAILED] = TO(SALE_PRINTED)},
    [SALE_PRINTED] = {[SALE_EV_DONE] = TO(SALE_IDLE), [SALE_EV_AMOUNT] = TO(SALE_AMOUNT)},
};

void sale_init(struct sale *s, const struct sale_timeouts *timeouts)
{
	s->state = SALE_IDLE;
	s->end = SALE_END_NONE;
	s->deadline_us = 0;
	s->timeouts = timeouts ? *timeouts : sale_default_timeouts;
}

static int64_t wait_of(const struct sale *s, enum sale_state st)
{
	switch (st) {
	case SALE_AMOUNT:
		return s->timeouts.card_us;
	case SALE_OFFER:
	case SALE_CONFIRM:
		return s->timeouts.answer_us;
	case SALE_COMMITTED:
		return s->timeouts.printer_us;
	case SALE_IDLE:
	case SALE_IDENTIFIED:
	case SALE_COMMITTING:
	case SALE_PRINTED:
	case SALE_STATE_MAX:
		break;
	}
	return 0;
}

static void enter(struct sale *s, enum sale_state st, int64_t now_us)
{
	int64_t wait = wait_of(s, st);
	s->state = st;
	s->deadline_us = wait ? now_us + wait : 0;
}

int sale_feed(struct sale *s, enum sale_event ev, int64_t now_us)
{
	if (!s || s->state >= SALE_STATE_MAX || ev >= SALE_EV_MAX)
		return -EINVAL;
	if (!next[s->state][ev])
		return -EPERM;
	enum sale_state to = (enum sale_state)(next[s->state][ev] - 1);
	if (ev == SALE_EV_AMOUNT)
		s->end = SALE_END_NONE;
	else if (ev == SALE_EV_CANCEL)
		s->end = SALE_END_CANCELLED;
	else if (ev == SALE_EV_BOOK_FAILED)
		s->end = SALE_END_BOOK_FAILED;
	enter(s, to, now_us);
	return 0;
}

bool sale_tick(struct sale *s, int64_t now_us)
{
	if (!s || !s->deadline_us || now_us < s->deadline_us)
		return false;
	if (s->state == SALE_COMMITTED) {
		enter(s, SALE_PRINTED, now_us);
		return true;
	}
	s->end = SALE_END_TIMEOUT;
	enter(s, SALE_IDLE, now_us);
	return true;
}

int sale_wait_ms(const struct sale *s, int64_t now_us)
{
	if (!s || !s->deadline_us)
		return -1;
	int64_t left = s->deadline_us - now_us;
	if (left <= 0)
		return 0;
	if (left > INT64_C(2000000000))
		return 2000000;
	return (int) ((left + 999) / 1000);
}

bool sale_cancellable(const struct sale *s)
{
	return s && s->state >= SALE_AMOUNT && s->state <= SALE_CONFIRM;
}

const char *sale_state_name(enum sale_state state)
{
	static const char *const names[SALE_STATE_MAX] = {
	    [SALE_IDLE] = "idle",
	    [SALE_AMOUNT] = "waiting for card",
	    [SALE_IDENTIFIED] = "identified",
	    [SALE_OFFER] = "offer",
	    [SALE_CONFIRM] = "confirm",
	    [SALE_COMMITTING] = "committing",
	    [SALE_COMMITTED] = "committed",
	    [SALE_PRINTED] = "printed",
	};
	return state < SALE_STATE_MAX ? names[state] : "unknown";
}
