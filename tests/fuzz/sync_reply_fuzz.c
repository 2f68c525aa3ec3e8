/*
 * sync_reply_fuzz: the terminal's parsers of loyalty-server's answers (app/sync.c: a push answer
 * for three events sent, a changes page, a registration answer, an error) from any bytes: an
 * answer is taken whole with every field in range and consistent with what was sent, or
 * refused with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENT 3

/* Three events of terminal T1, seq 5 to 7, event ids 05..., 06..., 07... (as in the corpus). */
static void sent_events(struct ledger_event ev[SENT])
{
	memset(ev, 0, SENT * sizeof(*ev));
	for (int i = 0; i < SENT; i++) {
		ev[i].seq = 5 + i;
		memset(ev[i].event_id, 5 + i, LEDGER_EVENT_ID_LEN);
		memcpy(ev[i].terminal_id, "T1", 3);
	}
}

static void check_push(const struct tsync_push_answer *a, const struct ledger_event *ev)
{
	int64_t n[3] = {0};
	if (a->n_results != SENT || a->first_rejected > SENT || a->ack_seq < ev[0].seq - 1 ||
	    a->ack_seq > ev[SENT - 1].seq || a->ack_seq > a->acked_seq)
		abort();
	for (size_t i = 0; i < SENT; i++) {
		const struct tsync_result *r = &a->results[i];
		if (r->seq != ev[i].seq ||
		    memcmp(r->event_id, ev[i].event_id, LEDGER_EVENT_ID_LEN) ||
		    (r->status != TSYNC_ACCEPTED && r->status != TSYNC_DUPLICATE &&
		     r->status != TSYNC_REJECTED) ||
		    (i < a->first_rejected && r->status == TSYNC_REJECTED) ||
		    (i == a->first_rejected && r->status != TSYNC_REJECTED) ||
		    (r->status == TSYNC_REJECTED && !r->code[0]))
			abort();
		n[r->status]++;
	}
	if (n[TSYNC_ACCEPTED] != a->accepted || n[TSYNC_DUPLICATE] != a->duplicates ||
	    n[TSYNC_REJECTED] != a->rejected)
		abort();
	/* everything up to the acknowledgement was answered as held by the server */
	for (size_t i = 0; i < SENT && ev[i].seq <= a->ack_seq; i++)
		if (a->results[i].status == TSYNC_REJECTED)
			abort();
}

static void check_changes(const struct tsync_changes *c, int64_t since, size_t limit)
{
	int64_t last = since;
	if (c->n > limit || (c->more && !c->n))
		abort();
	for (size_t i = 0; i < c->n; i++) {
		const struct tsync_change *ch = &c->changes[i];
		if (ch->cursor <= last || ch->type >= TSYNC_CHANGE_MAX)
			abort();
		if ((ch->type == TSYNC_CHANGE_MEMBER || ch->type == TSYNC_CHANGE_TOMBSTONE ||
		     ch->type == TSYNC_CHANGE_REVOKED_CARD) &&
		    strlen(ch->card_code) != LEDGER_CARD_CODE_LEN)
			abort();
		if ((ch->type == TSYNC_CHANGE_TERMINAL_KEY ||
		     ch->type == TSYNC_CHANGE_REVOKED_KEY) &&
		    !ledger_terminal_id_valid(ch->terminal_id))
			abort();
		last = ch->cursor;
	}
	if (c->cursor != last || c->budget.day_end_us <= c->budget.day_start_us ||
	    c->budget.remaining_pts > c->budget.terminal_pts || c->server_time_us < 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tsync_push_answer push;
	static struct tsync_changes changes;
	static struct tsync_register_answer reg;
	struct ledger_event ev[SENT];
	char err[256], code[TSYNC_CODE_MAX], message[TSYNC_MESSAGE_MAX];
	const char *text = (const char *) data;

	sent_events(ev);
	err[0] = '\0';
	if (tsync_parse_push_answer(text, size, "T1", ev, SENT, &push, err, sizeof(err)) == 0)
		check_push(&push, ev);
	else if (!err[0])
		abort();
	err[0] = '\0';
	if (tsync_parse_changes(text, size, 2, 4, &changes, err, sizeof(err)) == 0)
		check_changes(&changes, 2, 4);
	else if (!err[0])
		abort();
	err[0] = '\0';
	if (tsync_parse_register_answer(text, size, &reg, err, sizeof(err)) == 0) {
		if (!ledger_terminal_id_valid(reg.terminal_id) ||
		    strncmp(reg.certificate, "-----BEGIN CERTIFICATE-----", 27) ||
		    strncmp(reg.ca_certificate, "-----BEGIN CERTIFICATE-----", 27))
			abort();
	} else if (!err[0]) {
		abort();
	}
	if (tsync_parse_error(text, size, code, message) == 0) {
		if (!code[0])
			abort();
	} else if (code[0] || message[0]) {
		abort();
	}
	return 0;
}
