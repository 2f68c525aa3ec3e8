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
