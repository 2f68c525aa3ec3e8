/*
 * ledger_hash: the canonical encoding of a ledger event and its chained SHA-256 hash.
 *
 * hash(event) = SHA-256(encoding(event) || hash(previous event)), 32 zero bytes before seq 1.
 * The byte layout is specified in docs/ledger.md so that the server can recompute it; any change
 * to it needs a new encoding version and a schema migration.
 *
 * Not for: storage or verification (ledger.c, ledger_verify.c); this file only hashes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LEDGER_HASH_LEN		 32
#define LEDGER_HASH_ENCODING_VER 3 /* what new events are hashed with (schema 5 on) */
#define LEDGER_HASH_ENCODING_V2	 2 /* schema 4, and the events written before schema 5 */
#define LEDGER_HASH_ENCODING_V1	 1 /* schema 2 and 3; read by the migration to schema 4 */

/* One event's fields as stored. Text fields are byte strings with explicit lengths. */
struct ledger_hash_event {
	int64_t seq;
	const uint8_t *event_id;
	size_t event_id_len;
	const char *terminal_id;
	size_t terminal_id_len;
	const char *kind;
	size_t kind_len;
	int64_t member_id; /* 0 when the event has no member */
	int64_t points;
	int64_t amount_gr;
	const char *receipt_no;
	size_t receipt_no_len;
	int64_t time_us;
	/* encoding version 2 adds these three; version 1 leaves them out */
	const char *rule; /* the programme rule that made the event, "" when none */
	size_t rule_len;
	const char *ref; /* coupon id, stamp card, cause or refunded receipt, "" when none */
	size_t ref_len;
	int64_t lot_us; /* for a credit, the earned time of its lot; 0 otherwise */
	/* encoding version 3 adds these two; versions 1 and 2 leave them out */
	int64_t items;	  /* a stamp event: the items of its card counted; 0 otherwise */
	int64_t progress; /* a stamp event: the card's count after them; 0 otherwise */
	uint8_t encoding; /* 0: LEDGER_HASH_ENCODING_VER; V1 or V2 for older events */
};

/*
 * Hash ev chained to prev_hash (the previous event's hash, or LEDGER_HASH_LEN zero bytes for the
 * first event) into ret_hash (which may be prev_hash). Returns 0, -EINVAL for a field longer than
 * 2^32 - 1 bytes or a NULL pointer with a non-zero length, -EIO when OpenSSL fails. Allocates
 * nothing.
 */
__attribute__((warn_unused_result)) int ledger_hash_event(const struct ledger_hash_event *ev,
							  const uint8_t prev_hash[LEDGER_HASH_LEN],
							  uint8_t ret_hash[LEDGER_HASH_LEN]);
