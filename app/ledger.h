/*
 * ledger: the terminal's points ledger in one SQLite file (WAL, synchronous=FULL).
 *
 * Every booking is an immutable event row; per-member state (balance, last visit) is kept in
 * the same transaction. A sale is committed durably before its receipt is printed, and the
 * receipt is printed from what was committed, so a reprint gives the same bytes. Events are
 * numbered per terminal (seq, gap-free from 1); the receipt number of a sale is
 * "<terminal>-<seq of its first event, at least 6 digits>". Card UIDs never reach this module:
 * members are found by a pseudonym (see pseudonym.h).
 *
 * Each event carries a SHA-256 hash chained to the event before it (ledger_hash.h,
 * docs/ledger.md); ledger_verify*() check the file, the chain, the sequence and the balances.
 *
 * Not for: programme rules (what a sale earns is decided by the caller), printing, sync.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pseudonym.h"

#define LEDGER_SCHEMA_VERSION	2
#define LEDGER_TERMINAL_ID_MAX	16 /* characters of [A-Z0-9], at least one */
#define LEDGER_RECEIPT_NO_MAX	40
#define LEDGER_CARD_CODE_LEN	12 /* Crockford base32, 60 random bits */
#define LEDGER_EVENT_ID_LEN	16

struct ledger;

struct ledger_sale {
	uint8_t pseudonym[PSEUDONYM_LEN];
	int64_t amount_gr; /* > 0 */
	int64_t earn_pts;  /* >= 0 */
	int64_t time_us;   /* UTC */
};

/* What one committed sale booked, as read back from the ledger. */
struct ledger_receipt {
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	int64_t seq; /* of the sale's earn event */
	int64_t time_us;
	int64_t amount_gr;
	int64_t earned_pts;
	int64_t balance_pts; /* the member's balance right after this sale */
	bool new_member;     /* the sale enrolled the card */
	int64_t member_id;
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
};

struct ledger_member {
	int64_t member_id;
	int64_t balance_pts;
	int64_t created_us;
	int64_t last_visit_us;
	char card_code[LEDGER_CARD_CODE_LEN + 1];
};

struct ledger_counts {
	int64_t events;
	int64_t members;
	int64_t last_seq;
};

/* True for 1 to 16 characters of [A-Z0-9]. */
bool ledger_terminal_id_valid(const char *terminal_id);

/*
 * Open (creating and migrating as needed) the ledger at path for terminal_id. Refuses with
 * -EPROTO a schema newer than this code knows, with -EEXIST a ledger that belongs to another
 * terminal, -EINVAL a bad terminal id, -EIO when SQLite fails (the message goes to the debug log).
 */
__attribute__((warn_unused_result)) int ledger_open(const char *path, const char *terminal_id,
						    struct ledger **ret_ledger);
void ledger_close(struct ledger *ledger);

/*
 * Book a sale in one durable transaction: enrol the card when its pseudonym is new (an "enrol"
 * event with a fresh card code), then an "earn" event, and update the member's balance and last
 * visit. Event ids are fresh random 128-bit values. On success *ret_receipt holds what was
 * booked. -EINVAL for a bad amount or points; on a storage failure nothing is booked and the
 * error says why: -ENOSPC (disk full), -EBUSY (locked by another process), -EBADMSG (damaged
 * file), -EIO (I/O error), -ENOMEM.
 */
__attribute__((warn_unused_result)) int ledger_commit_sale(struct ledger *ledger,
							   const struct ledger_sale *sale,
							   struct ledger_receipt *ret_receipt);

/* The sale booked under receipt_no; -ENOENT when there is none. */
__attribute__((warn_unused_result)) int ledger_get_receipt(struct ledger *ledger,
							   const char *receipt_no,
							   struct ledger_receipt *ret_receipt);

/* The number of the last sale's receipt; -ENOENT when no sale was booked yet. */
__attribute__((warn_unused_result)) int ledger_last_receipt_no(struct ledger *ledger, char *buf,
							       size_t size);

/* -ENOENT when no member has this pseudonym. */
__attribute__((warn_unused_result)) int ledger_member_by_pseudonym(
	struct ledger *ledger, const uint8_t pseudonym[PSEUDONYM_LEN],
	struct ledger_member *ret_member);

__attribute__((warn_unused_result)) int ledger_counts(struct ledger *ledger,
						      struct ledger_counts *ret_counts);

/* What a verification found first; LEDGER_PROBLEM_NONE when the ledger is intact. */
enum ledger_problem {
	LEDGER_PROBLEM_NONE,
	LEDGER_PROBLEM_FILE,	/* not a database, damaged file or unreadable tables */
	LEDGER_PROBLEM_SCHEMA,	/* not a ledger, or a schema version this code cannot check */
	LEDGER_PROBLEM_MISSING, /* an event seq is missing (events deleted) */
	LEDGER_PROBLEM_HASH,	/* an event does not match its hash, or has none */
	LEDGER_PROBLEM_MEMBER,	/* an event names a member the ledger does not hold */
	LEDGER_PROBLEM_BALANCE, /* a member's balance differs from the sum of its events */
	LEDGER_PROBLEM_MAX
};

#define LEDGER_VERIFY_MSG_MAX 256

struct ledger_verify_report {
	enum ledger_problem problem;
	int64_t seq;	   /* the event the problem concerns, 0 when none */
	int64_t member_id; /* the member the problem concerns, 0 when none */
	int64_t events;	   /* events in the ledger */
	int64_t members;   /* members in the ledger */
	int64_t first_seq_checked; /* the hash chain was checked from this seq ... */
	int64_t events_checked;	   /* ... for this many events (up to the problem, if any) */
	int64_t members_checked;   /* members whose balance was checked */
	char message[LEDGER_VERIFY_MSG_MAX]; /* the problem for a technician; "" when none */
};

/*
 * Check the whole ledger in one read transaction (a consistent snapshot, so it may run while
 * another connection books sales): SQLite's integrity_check, seq 1..N without gaps, every
 * event's hash and link to the event before it, every event's member exists, and every member's
 * balance equals the sum of its events' points. Stops at the first problem; a damaged ledger is
 * a report (problem != LEDGER_PROBLEM_NONE) and returns 0. Returns -EINVAL, -ENOMEM, or -EIO
 * when the checks could not run (busy, I/O error; the SQLite message goes to the debug log).
 */
__attribute__((warn_unused_result)) int ledger_verify(struct ledger *ledger,
						      struct ledger_verify_report *ret_report);

/*
 * ledger_verify() for start-up: SQLite's quick_check, the sequence, the hash chain of the last
 * 1000 events only (linked to the stored hash of the event before them), members and balances.
 */
__attribute__((warn_unused_result)) int ledger_verify_quick(
	struct ledger *ledger, struct ledger_verify_report *ret_report);

/*
 * ledger_verify() of the ledger file at path, opened read-only (a running loyaltyd is not
 * disturbed; WAL lets readers in). A file that is not a SQLite database, not a ledger, or of
 * another schema version than LEDGER_SCHEMA_VERSION is reported as a problem. Returns -ENOENT
 * when there is no file at path, otherwise as ledger_verify().
 */
__attribute__((warn_unused_result)) int ledger_verify_file(
	const char *path, struct ledger_verify_report *ret_report);

/* The SQLite message of the last failure, for the debug log and technicians. */
const char *ledger_errmsg(struct ledger *ledger);
