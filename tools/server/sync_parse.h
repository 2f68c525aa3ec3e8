/*
 * sync_parse: the request bodies of the sync protocol (docs/sync-protocol.md), parsed strictly
 * from untrusted bytes: a batch of events (POST /v1/events) and a registration (POST
 * /v1/register). Every field is required and checked (type, range, length, alphabet); unknown or
 * repeated keys, numbers with a fraction or an exponent, and integers beyond +-(2^53 - 1) are
 * refused, so every integer accepted is exactly the one written.
 *
 * Not for: authentication, the hash chain or anything stored (sync.c decides on the events).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define SYNC_BODY_MAX	      (1024 * 1024)	      /* bytes of a request body */
#define SYNC_BATCH_MAX	      LEDGER_OUTBOX_BATCH_MAX /* events in one push */
#define SYNC_INT_MAX	      9007199254740991LL      /* 2^53 - 1: exact in any JSON parser */
#define SYNC_ENROL_CODE_LEN   23 /* XXXXX-XXXXX-XXXXX-XXXXX, Crockford base32 */
#define SYNC_PUBLIC_KEY_LEN   32 /* Ed25519 */
#define SYNC_SIGNATURE_LEN    64
#define SYNC_REGISTER_CONTEXT "loyalty/register"

/* A refusal: a machine-readable code (docs/sync-protocol.md, "Errors") and a sentence. */
struct sync_error {
	char code[32];
	char message[256];
};

/* POST /v1/events. events is allocated by sync_parse_push(); free with sync_push_free(). */
struct sync_push {
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	size_t n_events;
	struct ledger_event *events;
};

/* POST /v1/register */
struct sync_register {
	char enrolment_code[SYNC_ENROL_CODE_LEN + 1];
	uint8_t public_key[SYNC_PUBLIC_KEY_LEN];
	uint8_t signature[SYNC_SIGNATURE_LEN];
};

/*
 * Parse a push body of len bytes (no terminator needed). Returns 0 and fills *ret (its events
 * are the caller's, sync_push_free()), or -EINVAL with the code and message in *err: code
 * "malformed_json", "bad_field" (the message names it, e.g. "events[3].hash: must be 64
 * lowercase hex digits"), "batch_too_large"; -EFBIG with "body_too_large" past SYNC_BODY_MAX;
 * -ENOMEM. Checks the fields one by one, not the hash chain or who sent them.
 */
__attribute__((warn_unused_result)) int
sync_parse_push(const char *text, size_t len, struct sync_push *ret, struct sync_error *err);

void sync_push_free(struct sync_push *push);

/* Parse a registration body; errors as sync_parse_push(). Does not check the signature. */
__attribute__((warn_unused_result)) int sync_parse_register(const char *text, size_t len,
							    struct sync_register *ret,
							    struct sync_error *err);

/* Whether kind is one of the ledger's event kinds (docs/ledger.md). */
bool sync_kind_valid(const char *kind);

/* 2n lowercase hex digits into out; false for anything else. */
bool sync_hex_decode(const char *hex, uint8_t *out, size_t n);

/* n bytes as 2n lowercase hex digits and a NUL into out. */
void sync_hex_encode(const uint8_t *in, size_t n, char *out);
