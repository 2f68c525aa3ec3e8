/*
 * crash_writer: books sales on a ledger in a loop until it is killed, for crash_test. It opens
 * the ledger at the path it is given, writes "ready" on stdout, then for each sale that
 * ledger_commit_sale booked writes one line "<receipt_no> <event_id hex> <balance_pts>" with a
 * single write(2): that moment stands for "receipt printed". Cards come from a set of 50
 * pseudonyms, so some sales enrol a card and some find it again; amounts are 1..50000 gr.
 *
 *   crash_writer LEDGER SEED
 *
 * Exits 2 when a sale fails, 1 on bad usage. Not for: anything but the crash test.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"

#define TERMINAL "CRASH1"
#define CARDS	 50

static uint64_t rng_state;

/* splitmix64 */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* One line, in one write(2), so a reader never sees half of it from a live writer. */
static void say(const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(3); /* the driver is gone */
		line += n;
		len -= (size_t) n;
	}
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct ledger *l;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: crash_writer LEDGER SEED\n");
		return 1;
	}
	errno = 0;
	rng_state = strtoull(argv[2], &end, 10);
	if (errno || *end) {
		fprintf(stderr, "crash_writer: bad seed '%s'\n", argv[2]);
		return 1;
	}
	int r = ledger_open(argv[1], TERMINAL, &l);
	if (r < 0) {
		fprintf(stderr, "crash_writer: open %s: %s\n", argv[1], strerror(-r));
		return 2;
	}
	say("ready\n", 6);
	for (;;) {
		unsigned card = (unsigned) (rng_next() % CARDS);
		struct ledger_sale sale = {.amount_gr = 1 + (int64_t) (rng_next() % 50000),
					   .time_us = now_us()};
		struct ledger_receipt rc;
		char line[LEDGER_RECEIPT_NO_MAX + 2 * LEDGER_EVENT_ID_LEN + 32];

		sale.earn_pts = sale.amount_gr / 100;
		for (size_t i = 0; i < sizeof(sale.pseudonym); i++)
			sale.pseudonym[i] = (uint8_t) (card * 37 + i * 11 + 1);
		r = ledger_commit_sale(l, &sale, &rc);
		if (r < 0) {
			fprintf(stderr, "crash_writer: sale failed: %s (%s)\n", strerror(-r),
				ledger_errmsg(l));
			return 2;
		}
		int n = snprintf(line, sizeof(line), "%s ", rc.receipt_no);
		for (size_t i = 0; i < LEDGER_EVENT_ID_LEN; i++)
			n += snprintf(line + n, sizeof(line) - (size_t) n, "%02x", rc.event_id[i]);
		n +=
		    snprintf(line + n, sizeof(line) - (size_t) n, " %" PRId64 "\n", rc.balance_pts);
		say(line, (size_t) n);
	}
}
