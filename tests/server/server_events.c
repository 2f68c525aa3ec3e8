/*
 * server_events: makes a push body (POST /v1/events) of well-formed events of one terminal,
 * hash-chained as a terminal's ledger chains them (app/ledger_hash), for the server's tests.
 *
 *   server_events STATE TERMINAL [--time-us N] KIND:CARD:POINTS:AMOUNT[:REF] ...
 *
 * STATE is a file holding the terminal's last seq and hash ("0 000...0" when missing); it is
 * updated, so the next call goes on from there. CARD may be "-" for no card. Prints the body.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ledger_hash.h"
#include "sync_parse.h"

/* The terminal's member number for a card: fixed per card, as a terminal's ledger keeps it. */
static int64_t member_of(const char *card)
{
	uint32_t h = 2166136261u;
	if (!card[0])
		return 0;
	for (; *card; card++)
		h = (h ^ (uint8_t) *card) * 16777619u;
	return (int64_t) (h % 1000000) + 1;
}

static int fail(const char *msg)
{
	fprintf(stderr, "server_events: %s\n", msg);
	return 2;
}

int main(int argc, char **argv)
{
	uint8_t hash[LEDGER_HASH_LEN] = {0};
	char hex[2 * LEDGER_HASH_LEN + 1];
	int64_t seq = 0, time_us;
	struct timespec ts;
	int i = 3;

	if (argc < 4 || sodium_init() < 0)
		return fail("usage: server_events STATE TERMINAL [--time-us N] SPEC...");
	clock_gettime(CLOCK_REALTIME, &ts);
	time_us = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (!strcmp(argv[3], "--time-us")) {
		if (argc < 6)
			return fail("--time-us needs a value and events");
		time_us = strtoll(argv[4], NULL, 10);
		i = 5;
	}
	FILE *f = fopen(argv[1], "r");
	if (f) {
		if (fscanf(f, "%" SCNd64 " %64s", &seq, hex) != 2 ||
		    !sync_hex_decode(hex, hash, LEDGER_HASH_LEN))
			return fail("bad state file");
		fclose(f);
	}
	const char *term = argv[2];
	printf("{\"terminal_id\":\"%s\",\"events\":[", term);
	for (int first = 1; i < argc; i++, first = 0) {
		char kind[32], card[32], ref[64] = "", receipt[64];
		long long pts, amt;
		uint8_t id[LEDGER_EVENT_ID_LEN];
		char idhex[2 * LEDGER_EVENT_ID_LEN + 1];
		int n = sscanf(argv[i], "%31[^:]:%31[^:]:%lld:%lld:%40[^\n]", kind, card, &pts,
			       &amt, ref);
		if (n < 4)
			return fail("an event is KIND:CARD:POINTS:AMOUNT[:REF]");
		if (!strcmp(card, "-"))
			card[0] = '\0';
		seq++;
		time_us++;
		randombytes_buf(id, sizeof(id));
		snprintf(receipt, sizeof(receipt), "%s-%06" PRId64, term, seq);
		const char *rule = !strcmp(kind, "earn") ? "earn" : "";
		int64_t lot = pts > 0 ? time_us : 0;
		struct ledger_hash_event h = {
		    .seq = seq,
		    .event_id = id,
		    .event_id_len = sizeof(id),
		    .terminal_id = term,
		    .terminal_id_len = strlen(term),
		    .kind = kind,
		    .kind_len = strlen(kind),
		    .member_id = member_of(card),
		    .points = pts,
		    .amount_gr = amt,
		    .receipt_no = receipt,
		    .receipt_no_len = strlen(receipt),
		    .time_us = time_us,
		    .rule = rule,
		    .rule_len = strlen(rule),
		    .ref = ref,
		    .ref_len = strlen(ref),
		    .lot_us = lot,
		    .encoding = 3,
		};
		if (ledger_hash_event(&h, hash, hash) < 0)
			return fail("hash failed");
		sync_hex_encode(id, sizeof(id), idhex);
		sync_hex_encode(hash, sizeof(hash), hex);
		printf("%s{\"seq\":%" PRId64 ",\"event_id\":\"%s\",\"terminal_id\":\"%s\",\"kind\":"
		       "\"%s\",\"member_id\":%" PRId64
		       ",\"card_code\":\"%s\",\"points\":%lld,\"amount_gr\":"
		       "%lld,\"receipt_no\":\"%s\",\"time_us\":%" PRId64 ",\"rule\":\"%s\",\"ref\":"
		       "\"%s\",\"lot_us\":%" PRId64 ",\"items\":0,\"progress\":0,\"encoding\":3,"
		       "\"hash\":\"%s\"}",
		       first ? "" : ",", seq, idhex, term, kind, member_of(card), card, pts, amt,
		       receipt, time_us, rule, ref, lot, hex);
	}
	printf("]}\n");
	if (!(f = fopen(argv[1], "w")) || fprintf(f, "%" PRId64 " %s\n", seq, hex) < 0 || fclose(f))
		return fail("cannot write the state file");
	return 0;
}
