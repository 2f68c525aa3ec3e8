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
 * Schema 4 holds the member state the programme rules need (points lots, coupons, stamp cards,
 * sales records for refunds; ledger_programme.c) and books what rules.h decides; schema 5 adds
 * the award trace of each sale and stamp events that carry the cards' progress.
 *
 * A struct ledger is for one thread at a time (its connection is opened without SQLite's
 * mutex, and it keeps prepared statements); other threads or processes open their own.
 *
 * Not for: programme rules (what a sale earns is decided by rules.h), printing, sync.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "programme.h"
#include "pseudonym.h"
#include "rules.h"

#define LEDGER_SCHEMA_VERSION  9
#define LEDGER_TERMINAL_ID_MAX 16 /* characters of [A-Z0-9], at least one */
#define LEDGER_RECEIPT_NO_MAX  40
#define LEDGER_CARD_CODE_LEN   12 /* Crockford base32, 60 random bits */
#define LEDGER_EVENT_ID_LEN    16
#define LEDGER_SUN_URL_MAX     512 /* characters of an NTAG 424 DNA's SUN URL kept with a sale */

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
	int64_t bonus_pts; /* the member's bonus events of this receipt (welcome, birthday, ...) */
	/* the coupon this sale issued; coupon_id "" when none */
	char coupon_id[LEDGER_RECEIPT_NO_MAX + 1];
	int32_t coupon_percent_bp;
	int64_t coupon_min_basket_gr;
	int64_t coupon_expires_us; /* the first instant it is no longer valid */
};

struct ledger_member {
	int64_t member_id;
	int64_t balance_pts;
	int64_t visits; /* sales booked for the member */
	int64_t created_us;
	int64_t last_visit_us;
	int64_t erased_us; /* 0 unless erased: then the card link and pseudonym are gone */
	char card_code[LEDGER_CARD_CODE_LEN + 1]; /* "" once erased */
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
 * Open the ledger at path read-only, for reports and exports (a running loyaltyd is not
 * disturbed). Nothing is created or migrated: -ENOENT without a file, -EPROTO for a schema
 * other than LEDGER_SCHEMA_VERSION, -EBADMSG for a file that is not a database.
 */
__attribute__((warn_unused_result)) int ledger_open_readonly(const char *path,
							     struct ledger **ret_ledger);

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
__attribute__((warn_unused_result)) int
ledger_member_by_pseudonym(struct ledger *ledger, const uint8_t pseudonym[PSEUDONYM_LEN],
			   struct ledger_member *ret_member);

/* -ENOENT when there is no member with this id. */
__attribute__((warn_unused_result)) int
ledger_member_by_id(struct ledger *ledger, int64_t member_id, struct ledger_member *ret_member);

/* The member whose card page code this is (erased members are not found); -ENOENT if none. */
__attribute__((warn_unused_result)) int
ledger_member_by_card_code(struct ledger *ledger, const char *card_code,
			   struct ledger_member *ret_member);

/*
 * The pseudonym under which the member with card_code was enrolled (the keyed hash of its card's
 * UID), so that a card identified by its card link books as the card itself would. -ENOENT when
 * no member (not erased) has the code.
 */
__attribute__((warn_unused_result)) int
ledger_member_pseudonym(struct ledger *ledger, const char *card_code,
			uint8_t ret_pseudonym[PSEUDONYM_LEN]);

/*
 * The member's spend in (from_us, to_us]: the sum of its sales' amounts (earn events) less the
 * money its refunds paid back, e.g. the rolling 12 months a tier is judged on. Complete as long as
 * the retention period (ledger_purge) is longer than the window asked for.
 */
__attribute__((warn_unused_result)) int ledger_member_spend(struct ledger *ledger,
							    int64_t member_id, int64_t from_us,
							    int64_t to_us, int64_t *ret_spend_gr);

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
	int64_t seq;		   /* the event the problem concerns, 0 when none */
	int64_t member_id;	   /* the member the problem concerns, 0 when none */
	int64_t events;		   /* events in the ledger */
	int64_t members;	   /* members in the ledger */
	int64_t first_seq_checked; /* the hash chain was checked from this seq ... */
	int64_t events_checked;	   /* ... for this many events (up to the problem, if any) */
	int64_t members_checked;   /* members whose balance was checked */
	char message[LEDGER_VERIFY_MSG_MAX]; /* the problem for a technician; "" when none */
};

/*
 * Check the whole ledger: SQLite's quick_check of the file; seq 1..N without gaps; every
 * event's hash and link to the event before it; every event's member exists; and every
 * member's balance equals the sum of its events' points and of its lots, and its whole state
 * equals the fold of the checkpoint and its events (LEDGER_PROBLEM_BALANCE names the field).
 * The chain and the members are checked in one read transaction (a consistent snapshot, so it
 * may run while another connection books sales), in one pass over the events; quick_check runs
 * at the same time on a second read-only connection in a thread of its own (on its own
 * snapshot). The chain and the fold read every row's content; quick_check checks the file's
 * structure; what it leaves out (that every index entry matches its table row) is
 * ledger_verify_full()'s. Stops at the first problem; a damaged ledger is a report (problem !=
 * LEDGER_PROBLEM_NONE) and returns 0. Returns -EINVAL, -ENOMEM, or -EIO when the checks could
 * not run (busy, I/O error; the SQLite message goes to the debug log).
 */
__attribute__((warn_unused_result)) int ledger_verify(struct ledger *ledger,
						      struct ledger_verify_report *ret_report);

/*
 * ledger_verify() with SQLite's integrity_check in place of quick_check: it also cross-checks
 * every index against its table (UNIQUE and NOT NULL constraints included), which takes about
 * ten times as long on a large ledger.
 */
__attribute__((warn_unused_result)) int ledger_verify_full(struct ledger *ledger,
							   struct ledger_verify_report *ret_report);

/*
 * ledger_verify() for start-up: SQLite's quick_check, the sequence, the hash chain of the last
 * 1000 events only (linked to the stored hash of the event before them), members and their
 * state (one pass over the events for the fold).
 */
__attribute__((warn_unused_result)) int
ledger_verify_quick(struct ledger *ledger, struct ledger_verify_report *ret_report);

/*
 * ledger_verify() of the ledger file at path, opened read-only (a running loyaltyd is not
 * disturbed; WAL lets readers in). A file that is not a SQLite database, not a ledger, or of
 * another schema version than LEDGER_SCHEMA_VERSION is reported as a problem. Returns -ENOENT
 * when there is no file at path, otherwise as ledger_verify().
 */
__attribute__((warn_unused_result)) int ledger_verify_file(const char *path,
							   struct ledger_verify_report *ret_report);

/* ledger_verify_file() with integrity_check, as ledger_verify_full(). */
__attribute__((warn_unused_result)) int
ledger_verify_file_full(const char *path, struct ledger_verify_report *ret_report);

/* ---- events, the outbox, retention (schema 3) ---- */

#define LEDGER_KIND_MAX		  15 /* "coupon_issue" is the longest kind */
#define LEDGER_OUTBOX_BATCH_MAX	  1000
#define LEDGER_RETENTION_DAYS_MIN 400 /* longer than the 12-month windows judged on events */
#define LEDGER_HASH_BYTES	  32
#define LEDGER_REF_MAX		  LEDGER_RECEIPT_NO_MAX

/* One event as stored, with the member's card code ("" when none or erased). */
struct ledger_event {
	int64_t seq;
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	char kind[LEDGER_KIND_MAX + 1];
	int64_t member_id; /* 0 when none */
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	int64_t points;
	int64_t amount_gr;
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	int64_t time_us;
	uint8_t hash[LEDGER_HASH_BYTES];
	char rule[PROGRAMME_ID_MAX + 1]; /* schema 4: the rule that made it, "" when none */
	char ref[LEDGER_REF_MAX + 1];	 /* coupon id, stamp card, cause, refunded receipt */
	int64_t lot_us;			 /* for a credit, its lot's earned time; 0 otherwise */
	int64_t items;			 /* schema 5, a stamp event: items counted on the card */
	int64_t progress;		 /* schema 5, a stamp event: the card's count after them */
	uint8_t encoding; /* the hash encoding version of this event (2 or 3, docs/ledger.md) */
	/* schema 8, an earn event: the card's SUN URL at the sale's tap, "" when none; not hashed
	 * (the server checks its MAC with the card keys); filled by ledger_outbox_read() */
	char sun_url[LEDGER_SUN_URL_MAX + 1];
};

/*
 * The chained hash of ev (ledger_hash_event() of its fields under ev->encoding) after prev
 * (32 zero bytes before seq 1) into ret (which may be prev): what the server recomputes for a
 * pushed event, and what tools that make events write into ev->hash. Errors as
 * ledger_hash_event().
 */
__attribute__((warn_unused_result)) int ledger_event_hash(const struct ledger_event *ev,
							  const uint8_t prev[LEDGER_HASH_BYTES],
							  uint8_t ret[LEDGER_HASH_BYTES]);

/* Called per event; a non-zero return stops the walk and is returned. */
typedef int (*ledger_event_fn)(void *userdata, const struct ledger_event *ev);

/*
 * Call fn for the events from seq from_seq on, in seq order, at most limit of them (0: all).
 * Returns the number of events passed to fn, fn's non-zero return, or a negative errno.
 */
int ledger_for_each_event(struct ledger *ledger, int64_t from_seq, int64_t limit,
			  ledger_event_fn fn, void *userdata);

/* The acknowledgement mark and the number of events after it (the outbox depth). */
__attribute__((warn_unused_result)) int
ledger_outbox_state(struct ledger *ledger, int64_t *ret_acked_seq, int64_t *ret_pending);

/*
 * The oldest unacknowledged events, in seq order: at most max (1..LEDGER_OUTBOX_BATCH_MAX) into
 * ret_events; *ret_n says how many (0 when all are acknowledged).
 */
__attribute__((warn_unused_result)) int ledger_outbox_read(struct ledger *ledger, size_t max,
							   struct ledger_event *ret_events,
							   size_t *ret_n);

/*
 * Mark every event up to up_to_seq acknowledged by the server. Idempotent; the mark never moves
 * back. -ERANGE when up_to_seq is beyond the last event booked.
 */
__attribute__((warn_unused_result)) int ledger_outbox_ack(struct ledger *ledger, int64_t up_to_seq);

struct ledger_purge_report {
	int64_t purged_events;	/* removed by this call */
	int64_t checkpoint_seq; /* the last purged event, 0 when none ever was */
};

/*
 * Remove the events that are acknowledged and older than retention_days (at least
 * LEDGER_RETENTION_DAYS_MIN) before now_us, as a prefix of the ledger, leaving a checkpoint
 * (the last removed event's seq and hash, and per member the points, visits and last visit
 * folded from what was removed) so the chain and the member state stay verifiable. One
 * transaction. -EINVAL for a shorter retention.
 */
__attribute__((warn_unused_result)) int ledger_purge(struct ledger *ledger, int64_t now_us,
						     int retention_days,
						     struct ledger_purge_report *ret_report);

/*
 * Erase a member (a server tombstone, or the member's own request): the card pseudonym and the
 * card code go; the events stay as anonymous amounts and points. Idempotent; -ENOENT for an
 * unknown member.
 */
__attribute__((warn_unused_result)) int ledger_erase_member(struct ledger *ledger,
							    int64_t member_id, int64_t now_us);

struct ledger_rebuild_report {
	int64_t members;	      /* members recomputed */
	int64_t changed;	      /* whose stored state differed from the events */
	int64_t first_changed_member; /* 0 when none */
};

/*
 * Recompute every member's state from the checkpoint and the events (balance and points lots,
 * visits, last and first visit, lifetime spend, last coupon, birthday bonus year, stamp cards:
 * docs/ledger.md, "Member state and rebuild") and store it for the members whose stored state
 * differs. Trusts the events: run ledger_verify() first to know they are intact.
 */
__attribute__((warn_unused_result)) int ledger_rebuild(struct ledger *ledger,
						       struct ledger_rebuild_report *ret_report);

/* ---- the programme: member state for rules.h and booking its results (schema 4) ---- */

/*
 * The member's state as rules_apply() and rules_refund() take it, at now_us: balance and points
 * lots (oldest first; past RULES_LOTS_MAX the newer lots join the last one, as rules.h does),
 * spend in the programme's tier window before now (ledger_member_spend), stamps per programme
 * stamp card (by card id), coupons held, and the member facts. member_id 0 gives the state of a
 * card not enrolled yet (all zero). -ENOENT for an unknown member.
 */
__attribute__((warn_unused_result)) int
ledger_member_state(struct ledger *ledger, int64_t member_id, const struct programme *prog,
		    int64_t now_us, struct rules_member *ret_state);

/*
 * How many coupons of campaign this ledger issued from since_us on (for the programme's daily
 * campaign caps). Reads the coupons table whole: call it once a day and count on from there.
 */
__attribute__((warn_unused_result)) int ledger_coupons_issued_since(struct ledger *ledger,
								    const char *campaign,
								    int64_t since_us,
								    int64_t *ret_count);

/* What a sale booked with ledger_book() needs besides the rules' result. */
struct ledger_booking {
	const struct programme *prog; /* the programme the result came from (stamp card ids) */
	int64_t time_us;	      /* the now_us given to rules_apply() */
	int64_t eligible_basket_gr;   /* gross value of the lines that earn (for refunds) */
	/* the SUN URL the card gave at this sale's tap (an NTAG 424 DNA), kept with the earn event
	 * for the server to check; NULL or "" when none. At most LEDGER_SUN_URL_MAX characters. */
	const char *sun_url;
};


/* Called per SUN message kept, in seq order; a non-zero return stops the walk. */
typedef int (*ledger_sun_fn)(void *userdata, int64_t seq, const char *url);

/*
 * The SUN messages kept with the events from_seq..to_seq (both included), in seq order.
 * Returns the number passed to fn, fn's non-zero return, or a negative errno.
 */
int ledger_sun_taps(struct ledger *ledger, int64_t from_seq, int64_t to_seq, ledger_sun_fn fn,
		    void *userdata);

/*
 * Book a rules_apply() result for the card with this pseudonym in one durable transaction: a
 * new card is enrolled first (an "enrol" event; the result must then come from the state of
 * member 0, ledger_member_state()), then res->events in order on the hash chain, each applied to
 * the member state (balance and lots, visits, spend, coupons used and issued, stamps, member
 * facts); a sale (an earn event) also stores its record for refunds (ledger_sale_record()).
 * Events for member 0 are the card's member's. The receipt number is "<terminal>-<seq of the
 * first event>". pseudonym NULL books a sale without a card: res must hold exactly one earn
 * event for member 0 (its points wait for a claim through the receipt's QR; no member state,
 * no sale record, so no refund of points follows it). -EINVAL for a refused result (nothing to book) or a result computed for
 * another member; storage failures as ledger_commit_sale().
 */
__attribute__((warn_unused_result)) int ledger_book(struct ledger *ledger,
						    const uint8_t pseudonym[PSEUDONYM_LEN],
						    const struct rules_result *res,
						    const struct ledger_booking *booking,
						    struct ledger_receipt *ret_receipt);

/*
 * The award trace rules_apply() gave for the booking receipt_no (ledger_book() stores it with
 * the events; RULES_TRACE_MAX steps at most): its steps in order into ret (up to max of them),
 * their number in *ret_n (0 for a receipt booked without a trace: ledger_commit_sale(), a
 * refund, a ledger older than schema 5). -ENOENT for a receipt the ledger does not hold (never
 * booked, or purged), -ENOBUFS when the trace has more than max steps (ret may then be
 * partly written, *ret_n is not).
 */
__attribute__((warn_unused_result)) int ledger_sale_trace(struct ledger *ledger,
							  const char *receipt_no,
							  struct rules_trace *ret, size_t max,
							  size_t *ret_n);

/* The record of the sale booked under receipt_no, refunds so far included; -ENOENT if none. */
__attribute__((warn_unused_result)) int ledger_sale_record(struct ledger *ledger,
							   const char *receipt_no,
							   struct rules_sale_record *ret_record);

/*
 * Book a rules_refund() result for the sale receipt_no at now_us, in one durable transaction:
 * its events under a new receipt number (their ref names the refunded receipt when the rules
 * left it empty), applied to the member state, and the updated sale record. -ENOENT for an
 * unknown receipt, -EINVAL for a refused result, -ESTALE when the result was computed from a
 * record that is no longer the stored one (another refund came first).
 */
__attribute__((warn_unused_result)) int ledger_book_refund(struct ledger *ledger,
							   const char *receipt_no,
							   const struct rules_refund_result *res,
							   int64_t now_us,
							   struct ledger_receipt *ret_receipt);

/* The SQLite message of the last failure, for the debug log and technicians. */
const char *ledger_errmsg(struct ledger *ledger);
