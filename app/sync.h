/*
 * sync: the terminal's side of the sync protocol (docs/sync-protocol.md) as pure logic: the
 * bodies it sends (a push of outbox events, a registration) and strict parsers of what the
 * server answers (the push answer, the changes page, the registration answer, an error), plus
 * the retry delay. No I/O: firmware/sync_client.c does the HTTP and the ledger.
 *
 * The parsers take any bytes (tests/fuzz/sync_reply_fuzz.c): an answer is accepted whole, with
 * every field this client uses present, of its type and in range, or refused with a sentence
 * naming the field. Fields the client does not know are ignored (the server may add fields
 * within /v1/), but a field it knows given twice is refused. Every number in an answer must be
 * an integer written as digits within +-(2^53 - 1), as the protocol says.
 *
 * Symbols are prefixed tsync_ ("terminal sync"): loyalty-server has its own sync_* functions.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "first_name.h"
#include "ledger.h"

#define TSYNC_BODY_MAX	       (1024 * 1024) /* the server's cap on a request body */
#define TSYNC_BATCH_MAX	       LEDGER_OUTBOX_BATCH_MAX
#define TSYNC_PULL_MAX	       500			 /* changes in one pull answer */
#define TSYNC_INT_MAX	       INT64_C(9007199254740991) /* 2^53 - 1 */
#define TSYNC_ENROL_CODE_LEN   23			 /* XXXXX-XXXXX-XXXXX-XXXXX */
#define TSYNC_PUBLIC_KEY_LEN   32			 /* Ed25519 */
#define TSYNC_SIGNATURE_LEN    64
#define TSYNC_REGISTER_CONTEXT "loyalty/register"
#define TSYNC_CODE_MAX	       32  /* an error or rejection code */
#define TSYNC_MESSAGE_MAX      200 /* its sentence */
#define TSYNC_TIER_MAX	       32
#define TSYNC_PEM_MAX	       (16 * 1024)
#define TSYNC_FLAG_NAMES_MAX   96 /* the flags of one accepted event, comma-separated */

/* ---- what the terminal sends ---- */

/*
 * Append to out (reset first) the push body of the first events of evs (n of them, in seq order,
 * all of terminal_id) that fit in max_body bytes (at most TSYNC_BODY_MAX): {"terminal_id":...,
 * "events":[...]} with every field of struct ledger_event, ids and hashes in lowercase hex.
 * *ret_n says how many events went in (at least 1 unless n is 0). -EINVAL for n over
 * TSYNC_BATCH_MAX or an event that cannot be sent as it is (a control character in its text,
 * another terminal's event), -E2BIG when not even one event fits, -ENOMEM.
 */
__attribute__((warn_unused_result)) int tsync_push_body(const char *terminal_id,
							const struct ledger_event *evs, size_t n,
							size_t max_body, struct buf *out,
							size_t *ret_n);

/* True for a code of the form XXXXX-XXXXX-XXXXX-XXXXX in Crockford base32 capitals. */
bool tsync_enrol_code_valid(const char *code);

/*
 * The bytes the registration signature covers: TSYNC_REGISTER_CONTEXT, the 23 characters of the
 * code, the 32 bytes of the public key. Returns their number (into msg, which must hold
 * TSYNC_REGISTER_MSG_LEN bytes), or -EINVAL for a bad code.
 */
#define TSYNC_REGISTER_MSG_LEN                                                                     \
	(sizeof(TSYNC_REGISTER_CONTEXT) - 1 + TSYNC_ENROL_CODE_LEN + TSYNC_PUBLIC_KEY_LEN)
int tsync_register_message(const char *code, const uint8_t public_key[TSYNC_PUBLIC_KEY_LEN],
			   uint8_t msg[TSYNC_REGISTER_MSG_LEN]);

/* The registration body {"enrolment_code":...,"public_key":...,"signature":...} into out. */
__attribute__((warn_unused_result)) int
tsync_register_body(const char *code, const uint8_t public_key[TSYNC_PUBLIC_KEY_LEN],
		    const uint8_t signature[TSYNC_SIGNATURE_LEN], struct buf *out);

/* ---- what the server answers ---- */

enum tsync_status { TSYNC_ACCEPTED, TSYNC_DUPLICATE, TSYNC_REJECTED };

/* The server's answer for one event of a push. */
struct tsync_result {
	int64_t seq;
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
	enum tsync_status status;
	char code[TSYNC_CODE_MAX];	  /* rejected: hash_mismatch, seq_gap, ... */
	char message[TSYNC_MESSAGE_MAX];  /* rejected: the server's sentence */
	char flags[TSYNC_FLAG_NAMES_MAX]; /* accepted: its flags, comma-separated; "" if none */
};

struct tsync_push_answer {
	int64_t
	    acked_seq; /* the highest seq the server holds for the terminal, all before it too */
	int64_t accepted, duplicates, rejected;
	int64_t server_time_us;
	size_t n_results; /* = the events sent */
	struct tsync_result results[TSYNC_BATCH_MAX];
	/*
	 * What the terminal may acknowledge: the last seq of the longest run of events from the
	 * batch's first that the server answered accepted or duplicate, and no further than
	 * acked_seq; the batch's first seq - 1 when the first was rejected.
	 */
	int64_t ack_seq;
	size_t first_rejected; /* index of the first rejected result, n_results when none */
};

/*
 * Parse the 200 answer to a push of sent[0..n_sent): ok true, the terminal's id, the counts,
 * server_time_us, and one result per event sent, in order, with the seq and event id sent.
 * Counts must agree with the results. Returns 0, or -EBADMSG with err naming the problem.
 */
__attribute__((warn_unused_result)) int
tsync_parse_push_answer(const char *text, size_t len, const char *terminal_id,
			const struct ledger_event *sent, size_t n_sent,
			struct tsync_push_answer *ret, char *err, size_t err_size);

enum tsync_change_type {
	TSYNC_CHANGE_MEMBER,
	TSYNC_CHANGE_TOMBSTONE,
	TSYNC_CHANGE_REVOKED_CARD,
	TSYNC_CHANGE_TERMINAL_KEY,
	TSYNC_CHANGE_REVOKED_KEY,
	TSYNC_CHANGE_CONFIG,
	TSYNC_CHANGE_OTHER, /* a type this client does not know: skipped, its cursor kept */
	TSYNC_CHANGE_MAX
};

/* One change of a pull; the fields of its type are set, the others zero. */
struct tsync_change {
	int64_t cursor;
	enum tsync_change_type type;
	char card_code[LEDGER_CARD_CODE_LEN + 1]; /* member, tombstone, revoked_card */
	int64_t balance_pts;			  /* member */
	char tier[TSYNC_TIER_MAX];		  /* member */
	int64_t spend_gr;			  /* member */
	char first_name[FIRST_NAME_MAX]; /* member: the one it allows the tills to show, or "" */
	int64_t time_us; /* member: updated_us; tombstone: erased_us; revoked_card: revoked_us;
			    config: issued_us */
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1]; /* terminal_key, revoked_key */
	uint8_t public_key[TSYNC_PUBLIC_KEY_LEN];     /* keys, config */
	uint32_t key_id;			      /* keys, config */
	uint8_t signature[TSYNC_SIGNATURE_LEN];	      /* config */
	size_t programme_b64_len;		      /* config: its base64 text's length */
};

/*
 * Check a config change: its public key is config_key (the one registration gave) and its
 * Ed25519 signature covers programme_sig_message() of issued_us and the programme. 0, or
 * -EKEYREJECTED (another key), -EBADMSG (the signature does not hold), -EINVAL, -ENOMEM.
 */
__attribute__((warn_unused_result)) int
tsync_config_check(const struct tsync_change *ch, const uint8_t *programme, size_t len,
		   const uint8_t config_key[TSYNC_PUBLIC_KEY_LEN]);

/* Today's offline budget as the server grants it. */
struct tsync_budget {
	int64_t day_start_us, day_end_us;
	int64_t terminal_pts, member_cap_pts, max_offline_age_s;
	int64_t redeemed_pts, remaining_pts, coupon_overdraw_gr;
};

struct tsync_changes {
	size_t n;
	struct tsync_change changes[TSYNC_PULL_MAX];
	/* the page's latest config change (-1: none) and its programme's bytes, decoded */
	int64_t config_index;
	uint8_t programme[PROGRAMME_TEXT_MAX];
	size_t programme_len;
	int64_t cursor; /* where the next pull starts */
	bool more;
	int64_t server_time_us;
	struct tsync_budget budget;
};

/*
 * Parse the 200 answer to GET /v1/changes?since=since&limit=limit: the changes in strictly
 * increasing cursor order after since (at most limit), the cursor (since, or the last change's),
 * more, server_time_us and the budget. Returns 0, or -EBADMSG with err naming the problem.
 */
__attribute__((warn_unused_result)) int tsync_parse_changes(const char *text, size_t len,
							    int64_t since, size_t limit,
							    struct tsync_changes *ret, char *err,
							    size_t err_size);

struct tsync_register_answer {
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	char certificate[TSYNC_PEM_MAX];    /* PEM */
	char ca_certificate[TSYNC_PEM_MAX]; /* PEM */
	bool has_config_key;
	uint8_t config_key[TSYNC_PUBLIC_KEY_LEN];
	int64_t server_time_us;
};

/* Parse the 201 answer to a registration. Returns 0, or -EBADMSG with err naming the problem. */
__attribute__((warn_unused_result)) int
tsync_parse_register_answer(const char *text, size_t len, struct tsync_register_answer *ret,
			    char *err, size_t err_size);

/*
 * Parse a refusal {"ok":false,"error":{"code":...,"message":...}} into code and message.
 * Returns 0, or -EBADMSG (code and message are then "").
 */
int tsync_parse_error(const char *text, size_t len, char code[TSYNC_CODE_MAX],
		      char message[TSYNC_MESSAGE_MAX]);

/* ---- retries ---- */

#define TSYNC_BACKOFF_BASE_MS 1000
#define TSYNC_BACKOFF_CAP_MS  (5 * 60 * 1000)

/*
 * The wait before retry number attempt (1 for the first retry) after a failure: exponential
 * from TSYNC_BACKOFF_BASE_MS, doubled per attempt up to TSYNC_BACKOFF_CAP_MS, with jitter: a
 * value in [d/2, d] picked by random (any 32 random bits), so terminals that lost the server
 * together do not come back together.
 */
int64_t tsync_backoff_ms(unsigned attempt, uint32_t random);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void tsync_hex(const uint8_t *in, size_t n, char *out);
