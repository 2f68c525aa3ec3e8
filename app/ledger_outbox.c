/*
 * ledger_outbox: the unsynced events are the outbox. Reading events in order (for sync and for
 * export) and the acknowledgement mark; there is no separate queue that could disagree with the
 * ledger.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ledger-priv.h"

_Static_assert(LEDGER_HASH_BYTES == LEDGER_HASH_LEN, "one hash size");

/* The columns event_read() takes, in its order. */
#define EVENT_SELECT                                                                               \
	"SELECT e." LEDGER_EVENT_COLUMNS_E ", e.hash, COALESCE(m.card_code, ''),"                  \
	" COALESCE(m.erased_us, 0), e.rule, e.ref, e.lot_us, e.items, e.progress"                  \
	" FROM events e LEFT JOIN members m ON m.member_id = e.member_id "

#define LEDGER_EVENT_COLUMNS_E                                                                     \
	"seq, e.event_id, e.terminal_id, e.kind, e.member_id, e.points, e.amount_gr,"              \
	" e.receipt_no, e.time_us"

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *) src : "");
}

static void event_read(const struct ledger *l, sqlite3_stmt *st, struct ledger_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = sqlite3_column_int64(st, 0);
	if (sqlite3_column_bytes(st, 1) == LEDGER_EVENT_ID_LEN)
		memcpy(ev->event_id, sqlite3_column_blob(st, 1), LEDGER_EVENT_ID_LEN);
	copy_text(ev->terminal_id, sizeof(ev->terminal_id), sqlite3_column_text(st, 2));
	copy_text(ev->kind, sizeof(ev->kind), sqlite3_column_text(st, 3));
	ev->member_id = sqlite3_column_int64(st, 4);
	ev->points = sqlite3_column_int64(st, 5);
	ev->amount_gr = sqlite3_column_int64(st, 6);
	copy_text(ev->receipt_no, sizeof(ev->receipt_no), sqlite3_column_text(st, 7));
	ev->time_us = sqlite3_column_int64(st, 8);
	if (sqlite3_column_bytes(st, 9) == LEDGER_HASH_LEN)
		memcpy(ev->hash, sqlite3_column_blob(st, 9), LEDGER_HASH_LEN);
	if (!sqlite3_column_int64(st, 11))
		copy_text(ev->card_code, sizeof(ev->card_code), sqlite3_column_text(st, 10));
	copy_text(ev->rule, sizeof(ev->rule), sqlite3_column_text(st, 12));
	copy_text(ev->ref, sizeof(ev->ref), sqlite3_column_text(st, 13));
	ev->lot_us = sqlite3_column_int64(st, 14);
	ev->items = sqlite3_column_int64(st, 15);
	ev->progress = sqlite3_column_int64(st, 16);
	ev->encoding = ledger_encoding_of(l, ev->seq);
}

int ledger_for_each_event(struct ledger *ledger, int64_t from_seq, int64_t limit,
			  ledger_event_fn fn, void *userdata)
{
	sqlite3_stmt *st;
	int r = 0, s, n = 0;
	if (!ledger || !fn || limit < 0)
		return -EINVAL;
	if (sqlite3_prepare_v2(ledger->db, EVENT_SELECT "WHERE e.seq >= ?1 ORDER BY e.seq LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(ledger, "prepare event read");
	sqlite3_bind_int64(st, 1, from_seq);
	sqlite3_bind_int64(st, 2, limit ? limit : INT64_MAX);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_event ev;
		event_read(ledger, st, &ev);
		if ((r = fn(userdata, &ev)) != 0)
			break;
		n++;
	}
	if (r == 0 && s != SQLITE_DONE)
		r = ledger_sql_fail(ledger, "read events");
	sqlite3_finalize(st);
	return r < 0 ? r : n;
}

int ledger_outbox_state(struct ledger *ledger, int64_t *ret_acked_seq, int64_t *ret_pending)
{
	sqlite3_stmt *st;
	if (!ledger || !ret_acked_seq || !ret_pending)
		return -EINVAL;
	/* the events after the mark are never deleted (events_undeletable) and their seqs have no
	 * gaps, so their number is the last seq minus the mark: two lookups instead of a count
	 * over the whole queue, which a terminal back from a long time offline does not want at
	 * every batch it pushes */
	if (sqlite3_prepare_v2(ledger->db,
			       "SELECT o.acked_seq, MAX(0, COALESCE((SELECT MAX(seq)"
			       " FROM events), 0) - o.acked_seq) FROM outbox o",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(ledger, "prepare outbox state");
	int r = sqlite3_step(st) == SQLITE_ROW ? 0 : ledger_sql_fail(ledger, "outbox state");
	if (r == 0) {
		*ret_acked_seq = sqlite3_column_int64(st, 0);
		*ret_pending = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return r;
}

struct batch {
	struct ledger_event *events;
	size_t n;
};

static int batch_add(void *userdata, const struct ledger_event *ev)
{
	struct batch *b = userdata;
	b->events[b->n] = *ev;
	b->events[b->n++].sun_url[0] = '\0';
	return 0;
}

/* The SUN URL kept with event seq, into the batch's event of that seq. */
static int batch_sun(void *userdata, int64_t seq, const char *url)
{
	struct batch *b = userdata;
	for (size_t i = 0; i < b->n; i++)
		if (b->events[i].seq == seq) {
			snprintf(b->events[i].sun_url, sizeof(b->events[i].sun_url), "%s", url);
			break;
		}
	return 0;
}

int ledger_outbox_read(struct ledger *ledger, size_t max, struct ledger_event *ret_events,
		       size_t *ret_n)
{
	int64_t acked, pending;
	struct batch b = {.events = ret_events};
	if (!ret_events || !ret_n || max == 0 || max > LEDGER_OUTBOX_BATCH_MAX)
		return -EINVAL;
	int r = ledger_outbox_state(ledger, &acked, &pending);
	if (r < 0)
		return r;
	r = ledger_for_each_event(ledger, acked + 1, (int64_t) max, batch_add, &b);
	if (r < 0)
		return r;
	if (b.n && (r = ledger_sun_taps(ledger, ret_events[0].seq, ret_events[b.n - 1].seq,
					batch_sun, &b)) < 0)
		return r;
	*ret_n = b.n;
	return 0;
}

int ledger_outbox_ack(struct ledger *ledger, int64_t up_to_seq)
{
	sqlite3_stmt *st;
	int64_t last_seq = 0;
	if (!ledger || up_to_seq < 0)
		return -EINVAL;
	/* ledger_counts' last seq, without its counts of every event and member */
	if (sqlite3_prepare_v2(ledger->db,
			       "SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0),"
			       " COALESCE((SELECT seq FROM checkpoint), 0))",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(ledger, "prepare last seq");
	int r = sqlite3_step(st) == SQLITE_ROW ? 0 : ledger_sql_fail(ledger, "last seq");
	if (r == 0)
		last_seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	if (up_to_seq > last_seq)
		return -ERANGE; /* the server acknowledges events this terminal never booked */
	/* never moves back: a late duplicate acknowledgement changes nothing */
	if (sqlite3_prepare_v2(ledger->db,
			       "UPDATE outbox SET acked_seq = MAX(acked_seq, ?1) WHERE id = 1", -1,
			       &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(ledger, "prepare outbox ack");
	sqlite3_bind_int64(st, 1, up_to_seq);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(ledger, "outbox ack");
	sqlite3_finalize(st);
	return r;
}

int ledger_event_hash(const struct ledger_event *ev, const uint8_t prev[LEDGER_HASH_BYTES],
		      uint8_t ret[LEDGER_HASH_BYTES])
{
	struct ledger_hash_event h = {
	    .seq = ev->seq,
	    .event_id = ev->event_id,
	    .event_id_len = LEDGER_EVENT_ID_LEN,
	    .terminal_id = ev->terminal_id,
	    .terminal_id_len = strlen(ev->terminal_id),
	    .kind = ev->kind,
	    .kind_len = strlen(ev->kind),
	    .member_id = ev->member_id,
	    .points = ev->points,
	    .amount_gr = ev->amount_gr,
	    .receipt_no = ev->receipt_no,
	    .receipt_no_len = strlen(ev->receipt_no),
	    .time_us = ev->time_us,
	    .rule = ev->rule,
	    .rule_len = strlen(ev->rule),
	    .ref = ev->ref,
	    .ref_len = strlen(ev->ref),
	    .lot_us = ev->lot_us,
	    .items = ev->items,
	    .progress = ev->progress,
	    .encoding = ev->encoding,
	};
	return ledger_hash_event(&h, prev, ret);
}
