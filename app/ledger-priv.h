/*
 * ledger-priv: what ledger.c and ledger_verify.c share. Not to be included outside app/ledger*.c.
 */
#pragma once

#include <sqlite3.h>

#include "ledger.h"
#include "ledger_hash.h"
#include "rules.h"

#define LEDGER_BUSY_TIMEOUT_MS 5000

struct ledger {
	sqlite3 *db;
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	sqlite3_stmt *member_by_pseudonym; /* prepared once: the lookup of every tap */
};

/* The SQLite page cache of a ledger connection, in KiB (a tap's lookup stays in memory). */
#define LEDGER_CACHE_KIB 32768

/* The event columns that ledger_event_from_row() reads, in its order (schema 4). */
#define LEDGER_EVENT_COLUMNS                                                                       \
	"seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no, time_us,"     \
	" rule, ref, lot_us"
#define LEDGER_EVENT_NCOLUMNS 12

/*
 * Fill *ret_ev (hash encoding version 2) from the LEDGER_EVENT_COLUMNS of the current row of st,
 * starting at column col. The pointers in *ret_ev stay valid until st steps or is finalized.
 */
void ledger_event_from_row(sqlite3_stmt *st, int col, struct ledger_hash_event *ret_ev);

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
 * Member state as stored next to the fold of the checkpoint and the events: one row per member,
 * in member_id order. Verify compares the two; rebuild writes the fold.
 */
#define LEDGER_MEMBER_FOLD_SQL                                                                     \
	"SELECT m.member_id, m.balance_pts, m.visits, m.last_visit_us,"                            \
	" COALESCE(c.points, 0) + COALESCE(e.pts, 0),"                                             \
	" COALESCE(c.visits, 0) + COALESCE(e.visits, 0),"                                          \
	" MAX(m.created_us, COALESCE(c.last_visit_us, 0), COALESCE(e.last_us, 0)),"                \
	" COALESCE(p.pts, 0)"                                                                      \
	" FROM members m LEFT JOIN checkpoint_members c ON c.member_id = m.member_id"              \
	" LEFT JOIN (SELECT member_id, SUM(points) AS pts, SUM(kind = 'earn') AS visits,"          \
	"   MAX(CASE WHEN kind = 'earn' THEN time_us END) AS last_us FROM events"                  \
	"   WHERE member_id IS NOT NULL GROUP BY member_id) e ON e.member_id = m.member_id"        \
	" LEFT JOIN (SELECT member_id, SUM(pts) AS pts FROM lots GROUP BY member_id) p"            \
	"   ON p.member_id = m.member_id"                                                          \
	" ORDER BY m.member_id"

/* (One pass over the events grouped by member, not a lookup per member: the fold of a
 * 10-million-event ledger reads each event once.) */

struct ledger_member_fold {
	int64_t member_id;
	int64_t balance_pts, visits, last_visit_us;		   /* stored */
	int64_t fold_balance_pts, fold_visits, fold_last_visit_us; /* from the events */
	int64_t lots_pts; /* the sum of the member's points lots, stored: must be the balance */
};

void ledger_member_fold_from_row(sqlite3_stmt *st, struct ledger_member_fold *ret);

/*
 * ledger_get_receipt(), or with just_booked (inside the transaction that booked the sale) the
 * member's balance as it stands instead of the sum of its events up to the sale.
 */
int ledger_receipt_read(struct ledger *ledger, const char *receipt_no, bool just_booked,
			struct ledger_receipt *ret_receipt);
