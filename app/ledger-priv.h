/*
 * ledger-priv: what ledger.c and ledger_verify.c share. Not to be included outside app/ledger*.c.
 */
#pragma once

#include <sqlite3.h>

#include "ledger.h"
#include "ledger_hash.h"

#define LEDGER_BUSY_TIMEOUT_MS 5000

struct ledger {
	sqlite3 *db;
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
};

/* The event columns that ledger_event_from_row() reads, in its order. */
#define LEDGER_EVENT_COLUMNS                                                                       \
	"seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no, time_us"

/*
 * Fill *ret_ev from the LEDGER_EVENT_COLUMNS of the current row of st, starting at column col.
 * The pointers in *ret_ev stay valid until st steps or is finalized.
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
	" COALESCE(c.points, 0) + (SELECT COALESCE(SUM(e.points), 0) FROM events e"                \
	"   WHERE e.member_id = m.member_id),"                                                     \
	" COALESCE(c.visits, 0) + (SELECT COUNT(*) FROM events e"                                  \
	"   WHERE e.member_id = m.member_id AND e.kind = 'earn'),"                                 \
	" MAX(m.created_us, COALESCE(c.last_visit_us, 0), COALESCE((SELECT MAX(e.time_us)"         \
	"   FROM events e WHERE e.member_id = m.member_id AND e.kind = 'earn'), 0))"               \
	" FROM members m LEFT JOIN checkpoint_members c ON c.member_id = m.member_id"              \
	" ORDER BY m.member_id"

struct ledger_member_fold {
	int64_t member_id;
	int64_t balance_pts, visits, last_visit_us;		   /* stored */
	int64_t fold_balance_pts, fold_visits, fold_last_visit_us; /* from the events */
};

void ledger_member_fold_from_row(sqlite3_stmt *st, struct ledger_member_fold *ret);
