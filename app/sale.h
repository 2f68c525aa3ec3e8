/*
 * sale: the cashier's sale as a state machine, driven by the terminal.
 *
 *   IDLE --amount--> AMOUNT --card--> IDENTIFIED --(offer?)--> OFFER --answer--> CONFIRM
 *                                              \--(nothing to offer)-----------> CONFIRM
 *   CONFIRM --answer--> CONFIRM (the customer changed the answer; the deadline restarts)
 *   CONFIRM --confirm--> COMMITTING --booked--> COMMITTED --printed/print failed--> PRINTED
 *   PRINTED --(next amount or done)--> IDLE
 *
 * Cancel is possible in every state before the sale is booked and returns to IDLE; once booked,
 * a sale can only be undone by a refund. Each waiting state has a deadline on the monotonic
 * clock: AMOUNT waits for a card, OFFER and CONFIRM for the cashier, COMMITTED for the printer;
 * a deadline before booking cancels the sale, after booking it ends the wait for the printer
 * (the sale stays booked and can be reprinted). The machine holds no I/O: the terminal performs
 * the actions the states ask for and reports back.
 *
 * Not for: what a sale earns (rules.h) or how it is stored (ledger.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum sale_state {
	SALE_IDLE,
	SALE_AMOUNT,	 /* amount known, waiting for the card */
	SALE_IDENTIFIED, /* card known; the terminal works out the offer */
	SALE_OFFER,	 /* redemption offered, waiting for the answer */
	SALE_CONFIRM,	 /* waiting for the cashier's (or register's) confirmation */
	SALE_COMMITTING, /* the terminal books the sale */
	SALE_COMMITTED,	 /* booked; the receipt is printing */
	SALE_PRINTED,	 /* done (printed, or the print failed and a reprint is due) */
	SALE_STATE_MAX
};

enum sale_event {
	SALE_EV_AMOUNT,	     /* the total is known */
	SALE_EV_CARD,	     /* a member was identified */
	SALE_EV_OFFER,	     /* the terminal has an offer to make (from IDENTIFIED) */
	SALE_EV_NO_OFFER,    /* nothing to offer (from IDENTIFIED) */
	SALE_EV_ANSWER,	     /* the customer answered the offer */
	SALE_EV_CONFIRM,     /* the cashier confirmed */
	SALE_EV_BOOKED,	     /* the ledger committed the sale */
	SALE_EV_BOOK_FAILED, /* the ledger could not: nothing booked */
	SALE_EV_PRINTED,
	SALE_EV_PRINT_FAILED,
	SALE_EV_DONE, /* back to idle after PRINTED */
	SALE_EV_CANCEL,
	SALE_EV_MAX
};

/* What ended a sale that did not complete. */
enum sale_end {
	SALE_END_NONE,
	SALE_END_CANCELLED,
	SALE_END_TIMEOUT,
	SALE_END_BOOK_FAILED,
	SALE_END_MAX
};

struct sale_timeouts {
	int64_t card_us;    /* AMOUNT */
	int64_t answer_us;  /* OFFER and CONFIRM */
	int64_t printer_us; /* COMMITTED */
};

/* 120 s for the card, 60 s for an answer, 30 s for the printer. */
extern const struct sale_timeouts sale_default_timeouts;

struct sale {
	enum sale_state state;
	enum sale_end end;   /* why the last sale ended early; SALE_END_NONE otherwise */
	int64_t deadline_us; /* monotonic; 0 when the state does not wait */
	struct sale_timeouts timeouts;
};

void sale_init(struct sale *s, const struct sale_timeouts *timeouts);

/*
 * Feed one event at monotonic time now_us. Returns 0 and moves to the next state, or -EPERM
 * when the event is not allowed in this state (nothing changes): a cancel after booking, a
 * card before an amount, a confirm while an offer waits.
 */
__attribute__((warn_unused_result)) int sale_feed(struct sale *s, enum sale_event ev,
						  int64_t now_us);

/*
 * Apply the deadline: past it, a sale not yet booked is cancelled (IDLE, end TIMEOUT) and a
 * booked sale waiting for its printer ends as PRINTED. Returns true when the state changed.
 */
bool sale_tick(struct sale *s, int64_t now_us);

/* The milliseconds until the deadline (for poll), or -1 when the state does not wait. */
int sale_wait_ms(const struct sale *s, int64_t now_us);

/* True while the sale may still be cancelled (it is not booked yet). */
bool sale_cancellable(const struct sale *s);

const char *sale_state_name(enum sale_state state);
