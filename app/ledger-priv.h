/*
 * ledger-priv: what ledger.c and ledger_verify.c share. Not to be included outside app/ledger*.c.
 */
#pragma once

#include <sqlite3.h>

#include "ledger.h"
#include "ledger_hash.h"
#include "rules.h"

#define LEDGER_BUSY_TIMEOUT_MS 5000

#define LEDGER_STMT_CACHE 64

struct ledger {
	sqlite3 *db;
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	sqlite3_stmt *member_by_pseudonym; /* prepared once: the lookup of every tap */
	int64_t v3_from_seq; /* events from this seq on are hashed under encoding 3 (schema 5) */
	struct {
		const char *sql; /* a string literal: found by its address */
		sqlite3_stmt *st;
	} stmts[LEDGER_STMT_CACHE]; /* the statements of the booking path, prepared once */
	size_t stmt_evict;
};

/*
 * The statement for sql (a string literal or other text that lives as long as l), prepared on
 * first use and kept: a sale runs some thirty statements, and preparing them again for every
 * sale cost more than its page writes. Give it back with ledger_stmt_done() (reset, bindings
 * cleared), never sqlite3_finalize(). A negative errno when it cannot be prepared.
 */
int ledger_stmt(struct ledger *l, const char *sql, sqlite3_stmt **ret);
void ledger_stmt_done(sqlite3_stmt *st);
/* Finalize every kept statement (before sqlite3_close). */
void ledger_stmt_cache_free(struct ledger *l);

/* Read v3_from_seq (meta 'hash_v3_from_seq') of a schema-5 ledger into l. */
int ledger_encoding_load(struct ledger *l);

/* The hash encoding of event seq: 2 before the migration to schema 5, 3 from it on. */
static inline uint8_t ledger_encoding_of(const struct ledger *l, int64_t seq)
{
	return seq < l->v3_from_seq ? LEDGER_HASH_ENCODING_V2 : LEDGER_HASH_ENCODING_VER;
}

/* The SQLite page cache of a ledger connection, in KiB (a tap's lookup stays in memory). */
#define LEDGER_CACHE_KIB 32768

/* The event columns that ledger_event_from_row() reads, in its order (schema 5). */
#define LEDGER_EVENT_COLUMNS                                                                       \
	"seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no, time_us,"     \
	" rule, ref, lot_us, items, progress"
#define LEDGER_EVENT_NCOLUMNS 14

/*
 * Fill *ret_ev from the LEDGER_EVENT_COLUMNS of the current row of st, starting at column col,
 * with the encoding l hashes that event with. The pointers in *ret_ev stay valid until st steps
 * or is finalized.
 */
void ledger_event_from_row(const struct ledger *l, sqlite3_stmt *st, int col,
			   struct ledger_hash_event *ret_ev);

/*
 * Log the SQLite message at debug level with what failed; returns the negative errno of the
 * connection's last error: -ENOSPC (disk full), -EBUSY, -EBADMSG (corrupt or not a database),
 * -ENOMEM, -EROFS, else -EIO.
 */
int ledger_sql_fail(struct ledger *l, const char *what);
/* The negative errno for an SQLite result code (extended codes accepted). */
int ledger_errno_of(int sqlite_code);

/* Run sql (no parameters, no rows); a negative errno on failure. */
/* BEGIN IMMEDIATE, after ending a transaction an earlier failure left open. */
int ledger_begin(struct ledger *l);

/* Run sql with n integer parameters to completion; *ret_changes (may be NULL) gets the rows. */
int ledger_run_ints(struct ledger *l, const char *sql, int n, const int64_t *v,
		    int64_t *ret_changes);

/* The first column of the first row of sql with n integer parameters; -ENOENT for no row. */
int ledger_read_int(struct ledger *l, const char *sql, int n, const int64_t *v, int64_t *ret);
int ledger_exec(struct ledger *l, const char *sql);

/* Where the chain stands inside a booking transaction: the last event and its hash. */
struct ledger_chain {
	int64_t seq;
	uint8_t hash[LEDGER_HASH_LEN];
};

/* The last event's seq and hash, or the checkpoint's when every event was purged. */
int ledger_chain_tip(struct ledger *l, struct ledger_chain *ret);

/* An event to book: the stored fields other than seq, event id, terminal and hash. */
struct ledger_new_event {
	const char *kind;
	int64_t member_id; /* 0: none (stored as NULL) */
	int64_t points;
	int64_t amount_gr;
	const char *receipt_no;
	int64_t time_us;
	const char *rule; /* "" when none */
	const char *ref;  /* "" when none */
	int64_t lot_us;	  /* for a credit, its lot's earned time; 0 otherwise */
	int64_t items;	  /* stamp: items counted on the card (ref) */
	int64_t progress; /* stamp: the card's count after them */
};

/* Insert ev as event chain->seq + 1, hashed and chained; chain moves to it on success. */
int ledger_insert_event(struct ledger *l, struct ledger_chain *chain,
			const struct ledger_new_event *ev);

/*
 * Apply one booked event to its member's state (balance, lots, visits, spend, coupons used), in
 * the booking transaction (ledger_programme.c). -EBADMSG when a debit finds fewer points in the
 * lots than it takes (the state disagrees with the events).
 */
int ledger_apply_event(struct ledger *l, const struct ledger_new_event *ev);

/* Store the sale record of receipt_no (ledger_sale_record() reads it back). */
int ledger_sale_insert(struct ledger *l, const char *receipt_no, int64_t member_id,
		       const struct rules_sale_record *rec);

/*
 * The member of a card pseudonym, enrolled (a new member row and card code) when unknown;
 * *ret_new says which.
 */
int ledger_member_for_pseudonym(struct ledger *l, const uint8_t pseudonym[PSEUDONYM_LEN],
				int64_t time_us, int64_t *ret_id, bool *ret_new);

/* The retention checkpoint: the last purged event (seq 0 and a zero hash when none). */
struct ledger_checkpoint {
	int64_t seq;
	uint8_t hash[LEDGER_HASH_LEN];
	int64_t purged_events;
	int64_t time_us;
};

/* 0 and *ret filled (zeros when nothing was purged), or a negative errno. */
int ledger_checkpoint_read(struct ledger *l, struct ledger_checkpoint *ret);

/*
 * The fold: every member's state recomputed from the retention checkpoint and the events, in
 * memory (ledger_retention.c). Verify compares it with the stored state, rebuild stores it,
 * the purge moves the checkpoint with it.
 */
struct ledger_fold;

/* A fold of the checkpoint alone, sized for every member of the ledger. */
int ledger_fold_new(struct ledger *l, struct ledger_fold **ret_fold);
void ledger_fold_free(struct ledger_fold *f);

/*
 * Apply one event (seq order per member; events wait in a small batch, folded before any
 * result is read). An event of a member the members table does not hold is not folded but
 * noted (the first one): ledger_fold_missing_member() says which.
 */
void ledger_fold_event(struct ledger_fold *f, const struct ledger_hash_event *ev);

/* True, with the event and its member, when a folded event named a member not in the ledger. */
bool ledger_fold_missing_member(struct ledger_fold *f, int64_t *ret_seq, int64_t *ret_member_id);

/* Apply the events seq from_seq..to_seq (to_seq 0: to the end) in seq order. */
int ledger_fold_events(struct ledger *l, struct ledger_fold *f, int64_t from_seq, int64_t to_seq);

/* What differs between a member's stored state and its fold (bits) and the first field. */
#define LEDGER_FOLD_BALANCE 0x01u
#define LEDGER_FOLD_LOTSUM  0x02u /* the stored lots do not add up to the stored balance */
#define LEDGER_FOLD_VISITS  0x04u /* visits or last visit */
#define LEDGER_FOLD_FACTS                                                                          \
	0x08u /* first visit, spend, first purchase, coupon, birthday, welcome                     \
	       */
#define LEDGER_FOLD_LOTS   0x10u
#define LEDGER_FOLD_STAMPS 0x20u

struct ledger_fold_diff {
	int64_t member_id;
	unsigned what; /* LEDGER_FOLD_* bits, 0 when the member agrees */
	int64_t stored_balance_pts, fold_balance_pts, stored_lots_pts;
	int64_t stored_visits, fold_visits;
	char detail[160]; /* the first difference in words */
};

/* Called per member in member_id order; a non-zero return stops the walk and is returned. */
typedef int (*ledger_fold_fn)(void *userdata, const struct ledger_fold_diff *d);

/* Compare every stored member (members, lots, member_stamps) with the fold. */
int ledger_fold_compare(struct ledger *l, struct ledger_fold *f, ledger_fold_fn fn, void *userdata);

/* Store the fold of member_id as its state (members row, lots, member_stamps). */
int ledger_fold_store(struct ledger *l, struct ledger_fold *f, int64_t member_id);

/* Write the fold of the members it touched as the checkpoint state (the purge). */
int ledger_fold_store_checkpoint(struct ledger *l, struct ledger_fold *f);

/*
 * ledger_get_receipt(), or with just_booked (inside the transaction that booked the sale) the
 * member's balance as it stands instead of the sum of its events up to the sale.
 */
int ledger_receipt_read(struct ledger *ledger, const char *receipt_no, bool just_booked,
			struct ledger_receipt *ret_receipt);

/* Erase member_id (its pseudonym and card link, birthday) inside the caller's transaction. */
int ledger_erase_member_in_tx(struct ledger *l, int64_t member_id, int64_t now_us);
