/*
 * web_events: a push body (POST /v1/events) of hash-chained events of one terminal with every
 * field a terminal's rules fill (rule, ref, items, progress, lot and time), for the card page
 * tests (tests/web). tests/server/server_events makes plain sales; this makes the programme's
 * events: bonuses, stamps, redemptions, expiries.
 *
 *   web_events STATE TERMINAL KIND:CARD:POINTS:AMOUNT:RULE:REF:ITEMS:PROGRESS:DAYS_AGO ...
 *
 * STATE is the terminal's last seq and hash ("seq hex"), shared with server_events and updated.
 * CARD may be "-" for none, RULE and REF "-" for empty. DAYS_AGO dates the event (and the lot
 * of a credit) that many days before now. Events with the same DAYS_AGO in a row share a
 * receipt number, as one sale's events do. Prints the body.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ledger_hash.h"
#include "sync_parse.h"

/* The terminal's member number for a card, as tests/server/server_events gives it. */
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
	fprintf(stderr, "web_events: %s\n", msg);
	return 2;
}

int main(int argc, char **argv)
{
	uint8_t hash[LEDGER_HASH_LEN] = {0};
	char hex[2 * LEDGER_HASH_LEN + 1];
	int64_t seq = 0, receipt_seq = 0, last_days = -1;
	struct timespec ts;

	if (argc < 4 || sodium_init() < 0)
		return fail("usage: web_events STATE TERMINAL "
			    "KIND:CARD:POINTS:AMOUNT:RULE:REF:ITEMS:PROGRESS:DAYS_AGO ...");
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_us = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	FILE *f = fopen(argv[1], "r");
	if (f) {
		if (fscanf(f, "%" SCNd64 " %64s", &seq, hex) != 2 ||
		    !sync_hex_decode(hex, hash, LEDGER_HASH_LEN))
			return fail("bad state file");
		fclose(f);
	}
	const char *term = argv[2];
	printf("{\"terminal_id\":\"%s\",\"events\":[", term);
	for (int i = 3; i < argc; i++) {
		char kind[32], card[32], rule[40], ref[48], receipt[64], idhex[33];
		long long pts, amt, items, progress, days;
		uint8_t id[LEDGER_EVENT_ID_LEN];
		if (sscanf(argv[i], "%31[^:]:%31[^:]:%lld:%lld:%39[^:]:%47[^:]:%lld:%lld:%lld",
			   kind, card, &pts, &amt, rule, ref, &items, &progress, &days) != 9)
			return fail(
			    "an event is KIND:CARD:POINTS:AMOUNT:RULE:REF:ITEMS:PROGRESS:DAYS_AGO");
		if (!strcmp(card, "-"))
			card[0] = '\0';
		if (!strcmp(rule, "-"))
			rule[0] = '\0';
		if (!strcmp(ref, "-"))
			ref[0] = '\0';
		seq++;
		if (days != last_days)
			receipt_seq = seq;
		last_days = days;
		int64_t time_us = now_us - days * 86400 * INT64_C(1000000) + seq;
		int64_t lot = pts > 0 ? time_us : 0;
		randombytes_buf(id, sizeof(id));
		snprintf(receipt, sizeof(receipt), "%s-%06" PRId64, term, receipt_seq);
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
		    .items = items,
		    .progress = progress,
		    .encoding = 3,
		};
		if (ledger_hash_event(&h, hash, hash) < 0)
			return fail("hash failed");
		sync_hex_encode(id, sizeof(id), idhex);
		sync_hex_encode(hash, sizeof(hash), hex);
		printf("%s{\"seq\":%" PRId64 ",\"event_id\":\"%s\",\"terminal_id\":\"%s\",\"kind\":"
		       "\"%s\",\"member_id\":%" PRId64 ",\"card_code\":\"%s\",\"points\":%lld,"
		       "\"amount_gr\":%lld,\"receipt_no\":\"%s\",\"time_us\":%" PRId64
		       ",\"rule\":\"%s\",\"ref\":\"%s\",\"lot_us\":%" PRId64
		       ",\"items\":%lld,\"progress\":%lld,\"encoding\":3,\"hash\":\"%s\"}",
		       i == 3 ? "" : ",", seq, idhex, term, kind, member_of(card), card, pts, amt,
		       receipt, time_us, rule, ref, lot, items, progress, hex);
	}
	printf("]}\n");
	if (!(f = fopen(argv[1], "w")) || fprintf(f, "%" PRId64 " %s\n", seq, hex) < 0 || fclose(f))
		return fail("cannot write the state file");
	return 0;
}
