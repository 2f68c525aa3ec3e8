/* server_body_fuzz: loyalty-server's request bodies (a push of events, a registration) from any
 * bytes: a body is accepted whole with every field in range, or refused with a code and a
 * message. Links server_parse (tools/server/CMakeLists.txt adds it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const struct ledger_event *ev)
{
	if (ev->seq < 1 || ev->seq > SYNC_INT_MAX || ev->time_us < 1 || ev->member_id < 0 ||
	    ev->lot_us < 0 || ev->items < 0 || ev->progress < 0 ||
	    (ev->encoding != 2 && ev->encoding != 3) || !sync_kind_valid(ev->kind) ||
	    (ev->amount_gr < 0 && strcmp(ev->kind, "refund")) || !ev->terminal_id[0] ||
	    !ev->receipt_no[0] ||
	    (ev->card_code[0] && strlen(ev->card_code) != LEDGER_CARD_CODE_LEN) ||
	    ev->points > SYNC_INT_MAX || ev->points < -SYNC_INT_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sync_push push;
	struct sync_register reg;
	struct sync_error err;
	const char *text = (const char *) data;

	err.code[0] = '\0';
	if (sync_parse_push(text, size, &push, &err) == 0) {
		if (push.n_events < 1 || push.n_events > SYNC_BATCH_MAX || !push.terminal_id[0])
			abort();
		for (size_t i = 0; i < push.n_events; i++)
			check_event(&push.events[i]);
		sync_push_free(&push);
	} else if (!err.code[0] || !err.message[0]) {
		abort();
	}
	err.code[0] = '\0';
	if (sync_parse_register(text, size, &reg, &err) == 0) {
		if (strlen(reg.enrolment_code) != SYNC_ENROL_CODE_LEN)
			abort();
	} else if (!err.code[0] || !err.message[0]) {
		abort();
	}
	return 0;
}
