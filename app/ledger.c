/*
 * ledger: SQLite storage of events and member state. Schema changes are migrations run in
 * order, each in its own transaction, tracked by PRAGMA user_version. Each event is hash-chained
 * to the one before it (ledger_hash.h) in the transaction that inserts it.
 */
#include "ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "ledger-priv.h"
#include "ledger_hash.h"
#include "log.h"
#include "random.h"

#define EVENTS_IMMUTABLE_TRIGGER                                                                   \
	"CREATE TRIGGER events_immutable BEFORE UPDATE ON events"                                  \
	"  BEGIN SELECT RAISE(ABORT, 'ledger events are immutable'); END;"

/* Schema 3 on: events may go only when synced and behind the retention checkpoint (the purge). */
#define EVENTS_UNDELETABLE_TRIGGER                                                                 \
	"CREATE TRIGGER events_undeletable BEFORE DELETE ON events"                                \
	"  WHEN OLD.seq > (SELECT acked_seq FROM outbox)"                                          \
	"    OR OLD.seq > COALESCE((SELECT seq FROM checkpoint), 0)"                               \
	"  BEGIN SELECT RAISE(ABORT, 'ledger events cannot be deleted'); END;"

#define EVENTS_INDEXES                                                                             \
	"CREATE INDEX events_by_receipt ON events (receipt_no);"                                   \
	"CREATE INDEX events_by_member ON events (member_id, seq);"

/* The event columns of schema 4, in the order event_v2_from_row() reads them. */
#define EVENT_COLUMNS_V2                                                                           \
	"seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no, time_us,"     \
	" rule, ref, lot_us"
#define EVENT_NCOLUMNS_V2 12

/* The event columns of schema 1 to 3, in the order event_v1_from_row() reads them. */
#define EVENT_COLUMNS_V1                                                                           \
	"seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no, time_us"

static int fill_hashes(struct ledger *l);
static int rehash_v2(struct ledger *l);

/*
 * migrations[i] takes the schema from version i to i + 1: sql, then fill (when set), then
 * sql_after (when set), all in one transaction.
 */
static const struct migration {
	const char *sql;
	int (*fill)(struct ledger *l);
	const char *sql_after;
} migrations[] = {
    /* 0 -> 1: events, members, meta */
    {"CREATE TABLE meta ("
     "  key TEXT PRIMARY KEY,"
     "  value TEXT NOT NULL"
     ") STRICT;"
     "CREATE TABLE members ("
     "  member_id INTEGER PRIMARY KEY,"
     "  pseudonym BLOB UNIQUE CHECK (pseudonym IS NULL OR length(pseudonym) = 32),"
     "  card_code TEXT NOT NULL UNIQUE,"
     "  balance_pts INTEGER NOT NULL DEFAULT 0,"
     "  created_us INTEGER NOT NULL,"
     "  last_visit_us INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE events ("
     "  seq INTEGER PRIMARY KEY CHECK (seq > 0),"
     "  event_id BLOB NOT NULL UNIQUE CHECK (length(event_id) = 16),"
     "  terminal_id TEXT NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN ('enrol', 'earn')),"
     "  member_id INTEGER REFERENCES members (member_id),"
     "  points INTEGER NOT NULL,"
     "  amount_gr INTEGER NOT NULL CHECK (amount_gr >= 0),"
     "  receipt_no TEXT NOT NULL,"
     "  time_us INTEGER NOT NULL"
     ") STRICT;"
     "CREATE INDEX events_by_receipt ON events (receipt_no);"
     "CREATE INDEX events_by_member ON events (member_id, seq);" EVENTS_IMMUTABLE_TRIGGER
     "CREATE TRIGGER events_undeletable BEFORE DELETE ON events"
     "  BEGIN SELECT RAISE(ABORT, 'ledger events cannot be deleted'); END;",
     NULL, NULL},
    /* 1 -> 2: the hash chain; events written by schema 1 are hashed in seq order */
    {"ALTER TABLE events ADD COLUMN hash BLOB CHECK (hash IS NULL OR length(hash) = 32);"
     "DROP TRIGGER events_immutable;",
     fill_hashes, EVENTS_IMMUTABLE_TRIGGER},
    /* 2 -> 3: visits in member state, erasure, the outbox mark, the retention checkpoint.
     * Events may now be deleted only when synced and behind the checkpoint (the purge). */
    {"ALTER TABLE members ADD COLUMN visits INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN erased_us INTEGER;"
     "UPDATE members SET visits = (SELECT COUNT(*) FROM events e"
     "  WHERE e.member_id = members.member_id AND e.kind = 'earn');"
     "CREATE TABLE outbox ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  acked_seq INTEGER NOT NULL CHECK (acked_seq >= 0)"
     ") STRICT;"
     "INSERT INTO outbox (id, acked_seq) VALUES (1, 0);"
     "CREATE TABLE checkpoint ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  seq INTEGER NOT NULL CHECK (seq > 0),"
     "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
     "  purged_events INTEGER NOT NULL,"
     "  time_us INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE checkpoint_members ("
     "  member_id INTEGER PRIMARY KEY REFERENCES members (member_id),"
     "  points INTEGER NOT NULL,"
     "  visits INTEGER NOT NULL,"
     "  last_visit_us INTEGER NOT NULL"
     ") STRICT;"
     "DROP TRIGGER events_undeletable;" EVENTS_UNDELETABLE_TRIGGER,
     NULL, NULL},
    /* 3 -> 4: the programme's event kinds, rule/ref/lot_us in the events and in the hash
     * (encoding version 2), and the member state the rules need: points lots, coupons, stamp
     * cards, sales records, member facts. A CHECK cannot be altered, so the events table is
     * rebuilt; its indexes and triggers go with the old table and are made again. Every
     * remaining event is checked under encoding 1 and hashed again under encoding 2. */
    {"CREATE TABLE events_v4 ("
     "  seq INTEGER PRIMARY KEY CHECK (seq > 0),"
     "  event_id BLOB NOT NULL UNIQUE CHECK (length(event_id) = 16),"
     "  terminal_id TEXT NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN ('enrol', 'earn', 'bonus', 'redeem', 'donate',"
     "    'expire', 'stamp', 'coupon_use', 'coupon_issue', 'refund', 'reverse', 'recredit')),"
     "  member_id INTEGER REFERENCES members (member_id),"
     "  points INTEGER NOT NULL,"
     "  amount_gr INTEGER NOT NULL CHECK (amount_gr >= 0 OR kind = 'refund'),"
     "  receipt_no TEXT NOT NULL,"
     "  time_us INTEGER NOT NULL,"
     "  hash BLOB CHECK (hash IS NULL OR length(hash) = 32),"
     "  rule TEXT NOT NULL DEFAULT '',"
     "  ref TEXT NOT NULL DEFAULT '',"
     "  lot_us INTEGER NOT NULL DEFAULT 0"
     ") STRICT;"
     "INSERT INTO events_v4 (seq, event_id, terminal_id, kind, member_id, points, amount_gr,"
     "  receipt_no, time_us, hash, rule, ref, lot_us)"
     " SELECT seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no,"
     "  time_us, hash, CASE WHEN kind = 'earn' THEN 'earn' ELSE '' END, '',"
     "  CASE WHEN kind = 'earn' THEN time_us ELSE 0 END FROM events ORDER BY seq;"
     "DROP TABLE events;"
     "ALTER TABLE events_v4 RENAME TO events;" EVENTS_INDEXES
     "ALTER TABLE members ADD COLUMN welcomed INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN first_purchase_done INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN birth_month INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN birth_day INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN birthday_bonus_year INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN referrer_id INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN first_visit_us INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN monetary_gr INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN last_coupon_us INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN offline_redeemed_pts INTEGER NOT NULL DEFAULT 0;"
     "UPDATE members SET first_purchase_done = visits > 0,"
     "  first_visit_us = CASE WHEN visits > 0 THEN created_us ELSE 0 END,"
     "  monetary_gr = (SELECT COALESCE(SUM(e.amount_gr), 0) FROM events e"
     "    WHERE e.member_id = members.member_id AND e.kind = 'earn');"
     "CREATE TABLE lots ("
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  earned_us INTEGER NOT NULL,"
     "  pts INTEGER NOT NULL CHECK (pts > 0),"
     "  PRIMARY KEY (member_id, earned_us)"
     ") STRICT, WITHOUT ROWID;"
     /* schema 3 booked points only by earn events: one lot per earn time; what the purge
      * folded into the checkpoint becomes one lot at the last purged visit */
     "INSERT INTO lots (member_id, earned_us, pts)"
     " SELECT member_id, time_us, SUM(points) FROM events"
     " WHERE kind = 'earn' AND member_id IS NOT NULL GROUP BY member_id, time_us"
     " HAVING SUM(points) > 0;"
     "INSERT INTO lots (member_id, earned_us, pts)"
     " SELECT member_id, last_visit_us, points FROM checkpoint_members WHERE points > 0"
     " ON CONFLICT (member_id, earned_us) DO UPDATE SET pts = pts + excluded.pts;"
     "CREATE TABLE coupons ("
     "  id TEXT PRIMARY KEY,"
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  campaign TEXT NOT NULL,"
     "  percent_bp INTEGER NOT NULL,"
     "  min_basket_gr INTEGER NOT NULL,"
     "  expires_us INTEGER NOT NULL,"
     "  combinable INTEGER NOT NULL,"
     "  issued_us INTEGER NOT NULL,"
     "  used_us INTEGER"
     ") STRICT;"
     "CREATE INDEX coupons_by_member ON coupons (member_id);"
     "CREATE TABLE member_stamps ("
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  card TEXT NOT NULL,"
     "  count INTEGER NOT NULL CHECK (count >= 0),"
     "  PRIMARY KEY (member_id, card)"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE sales ("
     "  receipt_no TEXT PRIMARY KEY,"
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  time_us INTEGER NOT NULL,"
     "  basket_gr INTEGER NOT NULL,"
     "  eligible_basket_gr INTEGER NOT NULL,"
     "  paid_gr INTEGER NOT NULL,"
     "  redeemed_pts INTEGER NOT NULL DEFAULT 0,"
     "  earned_pts INTEGER NOT NULL,"
     "  bonus_pts INTEGER NOT NULL DEFAULT 0,"
     "  refunded_basket_gr INTEGER NOT NULL DEFAULT 0,"
     "  refunded_eligible_gr INTEGER NOT NULL DEFAULT 0,"
     "  refunded_paid_gr INTEGER NOT NULL DEFAULT 0,"
     "  reversed_pts INTEGER NOT NULL DEFAULT 0,"
     "  recredited_pts INTEGER NOT NULL DEFAULT 0"
     ") STRICT;"
     "INSERT INTO sales (receipt_no, member_id, time_us, basket_gr, eligible_basket_gr,"
     "  paid_gr, earned_pts)"
     " SELECT receipt_no, member_id, time_us, amount_gr, amount_gr, amount_gr, points"
     " FROM events WHERE kind = 'earn' AND member_id IS NOT NULL;",
     rehash_v2, EVENTS_IMMUTABLE_TRIGGER EVENTS_UNDELETABLE_TRIGGER},
    /* 4 -> 5: stamp events carry the items counted and the card's progress (hash encoding 3
     * for the events booked from now on; the ones before keep encoding 2), the award trace of
     * each sale, and a checkpoint that holds every member field the events fold into (points
     * lots and stamp cards too). Events written before have no stamp progress: the stored
     * counts become the cards' starting point, like the checkpoint. */
    {"ALTER TABLE events ADD COLUMN items INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE events ADD COLUMN progress INTEGER NOT NULL DEFAULT 0;"
     "INSERT INTO meta (key, value) SELECT 'hash_v3_from_seq', CAST(1 + MAX("
     "  COALESCE((SELECT MAX(seq) FROM events), 0),"
     "  COALESCE((SELECT seq FROM checkpoint), 0)) AS TEXT);"
     "CREATE TABLE sale_traces ("
     "  receipt_no TEXT NOT NULL,"
     "  n INTEGER NOT NULL CHECK (n >= 0),"
     "  rule TEXT NOT NULL,"
     "  base_gr INTEGER NOT NULL,"
     "  base_pts INTEGER NOT NULL,"
     "  permille INTEGER NOT NULL,"
     "  points INTEGER NOT NULL,"
     "  dropped INTEGER NOT NULL,"
     "  PRIMARY KEY (receipt_no, n)"
     ") STRICT, WITHOUT ROWID;"
     "ALTER TABLE checkpoint_members ADD COLUMN first_visit_us INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE checkpoint_members ADD COLUMN monetary_gr INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE checkpoint_members ADD COLUMN last_coupon_us INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE checkpoint_members ADD COLUMN birthday_bonus_year INTEGER NOT NULL DEFAULT 0;"
     /* what schema 4 kept of the purged events: the member's own values, less what the
      * remaining events give */
     "UPDATE checkpoint_members SET"
     "  first_visit_us = CASE WHEN visits > 0 THEN (SELECT m.first_visit_us FROM members m"
     "    WHERE m.member_id = checkpoint_members.member_id) ELSE 0 END,"
     "  monetary_gr = (SELECT m.monetary_gr FROM members m"
     "    WHERE m.member_id = checkpoint_members.member_id)"
     "    - (SELECT COALESCE(SUM(e.amount_gr), 0) FROM events e"
     "    WHERE e.member_id = checkpoint_members.member_id AND e.kind IN ('earn', 'refund')),"
     "  last_coupon_us = (SELECT m.last_coupon_us FROM members m"
     "    WHERE m.member_id = checkpoint_members.member_id),"
     "  birthday_bonus_year = (SELECT m.birthday_bonus_year FROM members m"
     "    WHERE m.member_id = checkpoint_members.member_id);"
     "CREATE TABLE checkpoint_lots ("
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  earned_us INTEGER NOT NULL,"
     "  pts INTEGER NOT NULL CHECK (pts > 0),"
     "  PRIMARY KEY (member_id, earned_us)"
     ") STRICT, WITHOUT ROWID;"
     /* as the migration to schema 4 made them: one lot at the last purged visit */
     "INSERT INTO checkpoint_lots (member_id, earned_us, pts)"
     " SELECT member_id, last_visit_us, points FROM checkpoint_members WHERE points > 0;"
     "CREATE TABLE checkpoint_stamps ("
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  card TEXT NOT NULL,"
     "  count INTEGER NOT NULL CHECK (count > 0),"
     "  PRIMARY KEY (member_id, card)"
     ") STRICT, WITHOUT ROWID;"
     "INSERT INTO checkpoint_stamps (member_id, card, count)"
     " SELECT member_id, card, count FROM member_stamps WHERE count > 0;",
     NULL, NULL},
    /* 5 -> 6: fewer bytes and page writes per event. The event id loses its UNIQUE index (16
     * random bytes: a duplicate is as likely as guessing a key, and nothing looks events up by
     * id; the index cost some 30 bytes and one random page write per event), and the sales
     * records are stored in their receipt-number key's b-tree (WITHOUT ROWID) instead of a
     * rowid table plus an index on that key. Both tables are rebuilt with their rows, indexes
     * and triggers. */
    {"CREATE TABLE events_v6 ("
     "  seq INTEGER PRIMARY KEY CHECK (seq > 0),"
     "  event_id BLOB NOT NULL CHECK (length(event_id) = 16),"
     "  terminal_id TEXT NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN ('enrol', 'earn', 'bonus', 'redeem', 'donate',"
     "    'expire', 'stamp', 'coupon_use', 'coupon_issue', 'refund', 'reverse', 'recredit')),"
     "  member_id INTEGER REFERENCES members (member_id),"
     "  points INTEGER NOT NULL,"
     "  amount_gr INTEGER NOT NULL CHECK (amount_gr >= 0 OR kind = 'refund'),"
     "  receipt_no TEXT NOT NULL,"
     "  time_us INTEGER NOT NULL,"
     "  hash BLOB CHECK (hash IS NULL OR length(hash) = 32),"
     "  rule TEXT NOT NULL DEFAULT '',"
     "  ref TEXT NOT NULL DEFAULT '',"
     "  lot_us INTEGER NOT NULL DEFAULT 0,"
     "  items INTEGER NOT NULL DEFAULT 0,"
     "  progress INTEGER NOT NULL DEFAULT 0"
     ") STRICT;"
     "INSERT INTO events_v6 SELECT seq, event_id, terminal_id, kind, member_id, points,"
     "  amount_gr, receipt_no, time_us, hash, rule, ref, lot_us, items, progress"
     "  FROM events ORDER BY seq;"
     "DROP TABLE events;"
     "ALTER TABLE events_v6 RENAME TO events;" EVENTS_INDEXES EVENTS_IMMUTABLE_TRIGGER
	 EVENTS_UNDELETABLE_TRIGGER "CREATE TABLE sales_v6 ("
     "  receipt_no TEXT PRIMARY KEY,"
     "  member_id INTEGER NOT NULL REFERENCES members (member_id),"
     "  time_us INTEGER NOT NULL,"
     "  basket_gr INTEGER NOT NULL,"
     "  eligible_basket_gr INTEGER NOT NULL,"
     "  paid_gr INTEGER NOT NULL,"
     "  redeemed_pts INTEGER NOT NULL DEFAULT 0,"
     "  earned_pts INTEGER NOT NULL,"
     "  bonus_pts INTEGER NOT NULL DEFAULT 0,"
     "  refunded_basket_gr INTEGER NOT NULL DEFAULT 0,"
     "  refunded_eligible_gr INTEGER NOT NULL DEFAULT 0,"
     "  refunded_paid_gr INTEGER NOT NULL DEFAULT 0,"
     "  reversed_pts INTEGER NOT NULL DEFAULT 0,"
     "  recredited_pts INTEGER NOT NULL DEFAULT 0"
     ") STRICT, WITHOUT ROWID;"
     "INSERT INTO sales_v6 SELECT receipt_no, member_id, time_us, basket_gr,"
     "  eligible_basket_gr, paid_gr, redeemed_pts, earned_pts, bonus_pts, refunded_basket_gr,"
     "  refunded_eligible_gr, refunded_paid_gr, reversed_pts, recredited_pts FROM sales;"
     "DROP TABLE sales;"
     "ALTER TABLE sales_v6 RENAME TO sales;",
     NULL, NULL},
    /* 6 -> 7: what the terminal keeps of the server's changes (ledger_sync.h): the pull
     * cursor, the server's view of members, revoked cards, the other terminals' keys; and the
     * mark of a member taken on from another terminal */
    {"CREATE TABLE sync_cursor ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  cursor INTEGER NOT NULL CHECK (cursor >= 0),"
     "  applied_us INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE server_members ("
     "  card_code TEXT PRIMARY KEY,"
     "  balance_pts INTEGER NOT NULL,"
     "  tier TEXT NOT NULL,"
     "  spend_gr INTEGER NOT NULL,"
     "  updated_us INTEGER NOT NULL,"
     "  as_of_seq INTEGER NOT NULL"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE revoked_cards ("
     "  card_code TEXT PRIMARY KEY,"
     "  revoked_us INTEGER NOT NULL"
     ") STRICT, WITHOUT ROWID;"
     "CREATE TABLE trusted_keys ("
     "  public_key BLOB PRIMARY KEY CHECK (length(public_key) = 32),"
     "  key_id INTEGER NOT NULL,"
     "  terminal_id TEXT NOT NULL,"
     "  added_us INTEGER NOT NULL,"
     "  revoked_us INTEGER NOT NULL DEFAULT 0"
     ") STRICT, WITHOUT ROWID;"
     "ALTER TABLE members ADD COLUMN adopted_us INTEGER NOT NULL DEFAULT 0;",
     NULL, NULL},
    /* 7 -> 8: the SUN message an NTAG 424 DNA card gave at the tap of a sale, kept with the
     * sale's earn event for the server to check (the terminal holds no card keys) */
    {"CREATE TABLE sun_taps ("
     "  seq INTEGER PRIMARY KEY,"
     "  url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 512)"
     ") STRICT;",
     NULL, NULL},
    /* 8 -> 9: the first name a member allows the tills to show, as the server's member
     * change carries it (none without that consent) */
    {"ALTER TABLE server_members ADD COLUMN first_name TEXT"
     "  CHECK (first_name IS NULL OR length(first_name) BETWEEN 1 AND 96);",
     NULL, NULL},
};

#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

#define MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(MIGRATIONS == LEDGER_SCHEMA_VERSION, "one migration per schema version");

const char *ledger_errmsg(struct ledger *ledger)
{
	return ledger && ledger->db ? sqlite3_errmsg(ledger->db) : "no ledger";
}

int ledger_errno_of(int sqlite_code)
{
	switch (sqlite_code & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return -EROFS;
	default:
		return -EIO;
	}
}

int ledger_sql_fail(struct ledger *l, const char *what)
{
	log_debug("ledger: %s: %s", what, sqlite3_errmsg(l->db));
	return ledger_errno_of(sqlite3_extended_errcode(l->db));
}

int ledger_stmt(struct ledger *l, const char *sql, sqlite3_stmt **ret)
{
	size_t free_slot = LEDGER_STMT_CACHE;
	for (size_t i = 0; i < LEDGER_STMT_CACHE; i++) {
		if (l->stmts[i].sql == sql) {
			*ret = l->stmts[i].st;
			return 0;
		}
		if (!l->stmts[i].sql && free_slot == LEDGER_STMT_CACHE)
			free_slot = i;
	}
	/* full: make room from a statement not in use, the next one round */
	for (size_t k = 0; free_slot == LEDGER_STMT_CACHE && k < LEDGER_STMT_CACHE; k++) {
		size_t i = (l->stmt_evict + k) % LEDGER_STMT_CACHE;
		if (!sqlite3_stmt_busy(l->stmts[i].st)) {
			sqlite3_finalize(l->stmts[i].st);
			l->stmts[i].sql = NULL;
			l->stmt_evict = i + 1;
			free_slot = i;
		}
	}
	if (free_slot == LEDGER_STMT_CACHE)
		return -EBUSY; /* cannot happen: as many statements in use at once */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, sql);
	l->stmts[free_slot].sql = sql;
	l->stmts[free_slot].st = st;
	*ret = st;
	return 0;
}

void ledger_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void ledger_stmt_cache_free(struct ledger *l)
{
	for (size_t i = 0; i < LEDGER_STMT_CACHE; i++) {
		sqlite3_finalize(l->stmts[i].st);
		l->stmts[i].sql = NULL;
		l->stmts[i].st = NULL;
	}
}

/* Run sql with n integer parameters to completion; *ret_changes (may be NULL) gets the rows. */
int ledger_run_ints(struct ledger *l, const char *sql, int n, const int64_t *v,
		    int64_t *ret_changes)
{
	sqlite3_stmt *st;
	if (ledger_stmt(l, sql, &st) < 0)
		return ledger_sql_fail(l, sql);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, sql);
	ledger_stmt_done(st);
	if (r == 0 && ret_changes)
		*ret_changes = sqlite3_changes64(l->db);
	return r;
}

int ledger_read_int(struct ledger *l, const char *sql, int n, const int64_t *v, int64_t *ret)
{
	sqlite3_stmt *st;
	if (ledger_stmt(l, sql, &st) < 0)
		return ledger_sql_fail(l, sql);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	int r, s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(l, sql);
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_begin(struct ledger *l)
{
	/* a ROLLBACK that itself failed (no memory) leaves the transaction open and the write
	 * lock held: end it before starting anew, or every later booking would fail */
	if (!sqlite3_get_autocommit(l->db)) {
		log_debug("ledger: rolling back a transaction left open by an earlier failure");
		int r = ledger_exec(l, "ROLLBACK");
		if (r < 0)
			return r;
	}
	return ledger_exec(l, "BEGIN IMMEDIATE");
}

int ledger_exec(struct ledger *l, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		log_debug("ledger: %s: %s", sql, err ? err : "?");
		sqlite3_free(err);
		return ledger_errno_of(sqlite3_extended_errcode(l->db));
	}
	return 0;
}

static int query_int(struct ledger *l, const char *sql, int64_t *ret_value)
{
	sqlite3_stmt *st;
	int r = -EIO;
	if (ledger_stmt(l, sql, &st) < 0)
		return ledger_sql_fail(l, sql);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret_value = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = ledger_sql_fail(l, sql);
	}
	ledger_stmt_done(st);
	return r;
}

bool ledger_terminal_id_valid(const char *terminal_id)
{
	size_t n = terminal_id ? strlen(terminal_id) : 0;
	if (n == 0 || n > LEDGER_TERMINAL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = terminal_id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static int migrate(struct ledger *l)
{
	int64_t version;
	int r = query_int(l, "PRAGMA user_version", &version);
	if (r < 0)
		return r;
	if (version > LEDGER_SCHEMA_VERSION) {
		log_debug("ledger: schema version %lld, this code knows up to %d",
			  (long long) version, LEDGER_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (int64_t v = version; v < LEDGER_SCHEMA_VERSION; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %lld", (long long) v + 1);
		if ((r = ledger_exec(l, "BEGIN IMMEDIATE")) < 0)
			return r;
		const struct migration *m = &migrations[v];
		if ((r = ledger_exec(l, m->sql)) < 0 || (m->fill && (r = m->fill(l)) < 0) ||
		    (m->sql_after && (r = ledger_exec(l, m->sql_after)) < 0) ||
		    (r = ledger_exec(l, pragma)) < 0) {
			(void) ledger_exec(l, "ROLLBACK");
			return r;
		}
		if ((r = ledger_exec(l, "COMMIT")) < 0)
			return r;
		log_debug("ledger: migrated schema to version %lld", (long long) v + 1);
	}
	return 0;
}

/* Bind the ledger to terminal_id on first use; refuse another terminal's ledger. */
static int bind_terminal(struct ledger *l)
{
	sqlite3_stmt *st;
	int r = 0;
	if (sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = 'terminal_id'", -1, &st,
			       NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "read terminal id");
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const char *owner = (const char *) sqlite3_column_text(st, 0);
		if (!owner || strcmp(owner, l->terminal_id) != 0) {
			log_debug("ledger: belongs to terminal '%s'", owner ? owner : "?");
			r = -EEXIST;
		}
	} else if (s != SQLITE_DONE) {
		r = ledger_sql_fail(l, "read terminal id");
	}
	sqlite3_finalize(st);
	if (r < 0 || s == SQLITE_ROW)
		return r;
	if (sqlite3_prepare_v2(l->db, "INSERT INTO meta (key, value) VALUES ('terminal_id', ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "store terminal id");
	sqlite3_bind_text(st, 1, l->terminal_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = ledger_sql_fail(l, "store terminal id");
	sqlite3_finalize(st);
	return r;
}

int ledger_open(const char *path, const char *terminal_id, struct ledger **ret_ledger)
{
	if (!path || !ledger_terminal_id_valid(terminal_id))
		return -EINVAL;
	struct ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	memcpy(l->terminal_id, terminal_id, strlen(terminal_id) + 1);
	int r = -EIO;
	if (sqlite3_open_v2(path, &l->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		r = l->db ? ledger_sql_fail(l, path) : -ENOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(l->db, LEDGER_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(l->db, 1);
	/* journal_mode answers with a row; query_int reads it (the text "wal" is not a number). */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(l->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *) sqlite3_column_text(st, 0), "wal") != 0) {
		r = ledger_sql_fail(l, "journal_mode = WAL");
		sqlite3_finalize(st);
		goto fail;
	}
	sqlite3_finalize(st);
	if ((r = ledger_exec(l, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
				"PRAGMA cache_size = -" STRINGIFY(LEDGER_CACHE_KIB) ";")) < 0)
		goto fail;
	if ((r = migrate(l)) < 0 || (r = bind_terminal(l)) < 0 || (r = ledger_encoding_load(l)) < 0)
		goto fail;
	*ret_ledger = l;
	return 0;
fail:
	ledger_stmt_cache_free(l);
	sqlite3_close(l->db);
	free(l);
	return r;
}

int ledger_open_readonly(const char *path, struct ledger **ret_ledger)
{
	struct stat sb;
	int64_t version;
	if (!path || !ret_ledger)
		return -EINVAL;
	if (stat(path, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EISDIR;
	struct ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	int r;
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		r = l->db ? ledger_sql_fail(l, path) : -ENOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(l->db, LEDGER_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(l->db, 1);
	if ((r = query_int(l, "PRAGMA user_version", &version)) < 0)
		goto fail;
	if (version != LEDGER_SCHEMA_VERSION) {
		log_debug("ledger: %s has schema version %lld, this code reads %d", path,
			  (long long) version, LEDGER_SCHEMA_VERSION);
		r = -EPROTO;
		goto fail;
	}
	if ((r = ledger_encoding_load(l)) < 0)
		goto fail;
	*ret_ledger = l;
	return 0;
fail:
	ledger_stmt_cache_free(l);
	sqlite3_close(l->db);
	free(l);
	return r;
}

void ledger_close(struct ledger *ledger)
{
	if (!ledger)
		return;
	sqlite3_finalize(ledger->member_by_pseudonym);
	ledger_stmt_cache_free(ledger);
	sqlite3_close(ledger->db);
	free(ledger);
}

static int make_card_code(char code[LEDGER_CARD_CODE_LEN + 1])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford */
	uint8_t rnd[LEDGER_CARD_CODE_LEN];
	int r = hal_random_bytes(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	for (size_t i = 0; i < LEDGER_CARD_CODE_LEN; i++)
		code[i] = alphabet[rnd[i] & 31];
	code[LEDGER_CARD_CODE_LEN] = '\0';
	return 0;
}

/* The columns of EVENT_COLUMNS_V1, as encoding version 1 hashes them. */
static void event_v1_from_row(sqlite3_stmt *st, int col, struct ledger_hash_event *ret_ev)
{
	struct ledger_hash_event ev = {
	    .seq = sqlite3_column_int64(st, col),
	    .event_id = sqlite3_column_blob(st, col + 1),
	    .event_id_len = (size_t) sqlite3_column_bytes(st, col + 1),
	    .terminal_id = (const char *) sqlite3_column_text(st, col + 2),
	    .terminal_id_len = (size_t) sqlite3_column_bytes(st, col + 2),
	    .kind = (const char *) sqlite3_column_text(st, col + 3),
	    .kind_len = (size_t) sqlite3_column_bytes(st, col + 3),
	    .member_id = sqlite3_column_int64(st, col + 4), /* NULL reads as 0 */
	    .points = sqlite3_column_int64(st, col + 5),
	    .amount_gr = sqlite3_column_int64(st, col + 6),
	    .receipt_no = (const char *) sqlite3_column_text(st, col + 7),
	    .receipt_no_len = (size_t) sqlite3_column_bytes(st, col + 7),
	    .time_us = sqlite3_column_int64(st, col + 8),
	    .encoding = LEDGER_HASH_ENCODING_V1,
	};
	*ret_ev = ev;
}

/* The columns of EVENT_COLUMNS_V2, as encoding version 2 hashes them. */
static void event_v2_from_row(sqlite3_stmt *st, int col, struct ledger_hash_event *ret_ev)
{
	event_v1_from_row(st, col, ret_ev);
	ret_ev->rule = (const char *) sqlite3_column_text(st, col + 9);
	ret_ev->rule_len = (size_t) sqlite3_column_bytes(st, col + 9);
	ret_ev->ref = (const char *) sqlite3_column_text(st, col + 10);
	ret_ev->ref_len = (size_t) sqlite3_column_bytes(st, col + 10);
	ret_ev->lot_us = sqlite3_column_int64(st, col + 11);
	ret_ev->encoding = LEDGER_HASH_ENCODING_V2;
}

void ledger_event_from_row(const struct ledger *l, sqlite3_stmt *st, int col,
			   struct ledger_hash_event *ret_ev)
{
	event_v2_from_row(st, col, ret_ev);
	ret_ev->items = sqlite3_column_int64(st, col + 12);
	ret_ev->progress = sqlite3_column_int64(st, col + 13);
	ret_ev->encoding = ledger_encoding_of(l, ret_ev->seq);
}

int ledger_encoding_load(struct ledger *l)
{
	int64_t v;
	int r = ledger_read_int(l,
				"SELECT CAST(value AS INTEGER) FROM meta"
				" WHERE key = 'hash_v3_from_seq'",
				0, NULL, &v);
	if (r == -ENOENT) {
		log_debug("ledger: no hash encoding mark in meta");
		return -EBADMSG;
	}
	if (r == 0)
		l->v3_from_seq = v;
	return r;
}

int ledger_chain_tip(struct ledger *l, struct ledger_chain *ret)
{
	sqlite3_stmt *st;
	if (ledger_stmt(l, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", &st) < 0)
		return ledger_sql_fail(l, "prepare chain tip");
	int r = 0, s = sqlite3_step(st);
	if (s == SQLITE_ROW && sqlite3_column_bytes(st, 1) == LEDGER_HASH_LEN) {
		ret->seq = sqlite3_column_int64(st, 0);
		memcpy(ret->hash, sqlite3_column_blob(st, 1), LEDGER_HASH_LEN);
	} else if (s == SQLITE_ROW) {
		log_debug("ledger: event %lld has no hash",
			  (long long) sqlite3_column_int64(st, 0));
		r = -EIO;
	} else if (s == SQLITE_DONE) {
		/* every event purged: the chain goes on from the checkpoint */
		struct ledger_checkpoint cp;
		if ((r = ledger_checkpoint_read(l, &cp)) == 0) {
			ret->seq = cp.seq;
			memcpy(ret->hash, cp.hash, LEDGER_HASH_LEN);
		}
	} else {
		r = ledger_sql_fail(l, "chain tip");
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_insert_event(struct ledger *l, struct ledger_chain *chain,
			const struct ledger_new_event *e)
{
	uint8_t event_id[LEDGER_EVENT_ID_LEN], hash[LEDGER_HASH_LEN];
	const char *rule = e->rule ? e->rule : "", *ref = e->ref ? e->ref : "";
	int64_t seq = chain->seq + 1;
	int r = hal_random_bytes(event_id, sizeof(event_id));
	if (r < 0)
		return r;
	struct ledger_hash_event ev = {
	    .seq = seq,
	    .event_id = event_id,
	    .event_id_len = sizeof(event_id),
	    .terminal_id = l->terminal_id,
	    .terminal_id_len = strlen(l->terminal_id),
	    .kind = e->kind,
	    .kind_len = strlen(e->kind),
	    .member_id = e->member_id,
	    .points = e->points,
	    .amount_gr = e->amount_gr,
	    .receipt_no = e->receipt_no,
	    .receipt_no_len = strlen(e->receipt_no),
	    .time_us = e->time_us,
	    .rule = rule,
	    .rule_len = strlen(rule),
	    .ref = ref,
	    .ref_len = strlen(ref),
	    .lot_us = e->lot_us,
	    .items = e->items,
	    .progress = e->progress,
	    .encoding = ledger_encoding_of(l, seq),
	};
	if ((r = ledger_hash_event(&ev, chain->hash, hash)) < 0) {
		log_debug("ledger: hashing event %lld failed", (long long) seq);
		return r;
	}
	sqlite3_stmt *st;
	if (ledger_stmt(l,
			"INSERT INTO events (seq, event_id, terminal_id, kind, member_id,"
			" points, amount_gr, receipt_no, time_us, hash, rule, ref, lot_us,"
			" items, progress) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
			" ?11, ?12, ?13, ?14, ?15)",
			&st) < 0)
		return ledger_sql_fail(l, "prepare event insert");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_blob(st, 2, event_id, sizeof(event_id), SQLITE_STATIC);
	sqlite3_bind_text(st, 3, l->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->kind, -1, SQLITE_STATIC);
	if (e->member_id)
		sqlite3_bind_int64(st, 5, e->member_id);
	sqlite3_bind_int64(st, 6, e->points);
	sqlite3_bind_int64(st, 7, e->amount_gr);
	sqlite3_bind_text(st, 8, e->receipt_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, e->time_us);
	sqlite3_bind_blob(st, 10, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_text(st, 11, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, e->lot_us);
	sqlite3_bind_int64(st, 14, e->items);
	sqlite3_bind_int64(st, 15, e->progress);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "insert event");
	ledger_stmt_done(st);
	if (r == 0) {
		chain->seq = seq;
		memcpy(chain->hash, hash, LEDGER_HASH_LEN);
	}
	return r;
}

/* Migration 1 -> 2: hash the events written by schema 1, in seq order (encoding version 1). */
static int fill_hashes(struct ledger *l)
{
	sqlite3_stmt *sel, *upd = NULL;
	uint8_t chain[LEDGER_HASH_LEN] = {0};
	int64_t n = 0;
	int r = 0, s;
	if (sqlite3_prepare_v2(l->db, "SELECT " EVENT_COLUMNS_V1 " FROM events ORDER BY seq", -1,
			       &sel, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "prepare event read");
	if (sqlite3_prepare_v2(l->db, "UPDATE events SET hash = ?1 WHERE seq = ?2", -1, &upd,
			       NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare hash update");
		goto out;
	}
	while ((s = sqlite3_step(sel)) == SQLITE_ROW) {
		struct ledger_hash_event ev;
		event_v1_from_row(sel, 0, &ev);
		if ((r = ledger_hash_event(&ev, chain, chain)) < 0)
			goto out;
		sqlite3_bind_blob(upd, 1, chain, sizeof(chain), SQLITE_STATIC);
		sqlite3_bind_int64(upd, 2, ev.seq);
		if (sqlite3_step(upd) != SQLITE_DONE) {
			r = ledger_sql_fail(l, "store event hash");
			goto out;
		}
		sqlite3_reset(upd);
		n++;
	}
	if (s != SQLITE_DONE)
		r = ledger_sql_fail(l, "read events");
	else
		log_debug("ledger: hashed %lld events written by schema 1", (long long) n);
out:
	sqlite3_finalize(upd);
	sqlite3_finalize(sel);
	return r;
}

/*
 * Migration 3 -> 4: check every remaining event against its stored encoding-1 hash, chained from
 * the retention checkpoint (or zeros), and store its encoding-2 hash on the same chain start.
 * A broken chain stops the migration (-EBADMSG): hashing it again would hide the damage.
 */
static int rehash_v2(struct ledger *l)
{
	sqlite3_stmt *sel, *upd = NULL;
	struct ledger_checkpoint cp;
	uint8_t old_chain[LEDGER_HASH_LEN], new_chain[LEDGER_HASH_LEN];
	int r, s;
	if ((r = ledger_checkpoint_read(l, &cp)) < 0)
		return r;
	memcpy(old_chain, cp.hash, LEDGER_HASH_LEN);
	memcpy(new_chain, cp.hash, LEDGER_HASH_LEN);
	int64_t expect = cp.seq + 1;
	if (sqlite3_prepare_v2(l->db, "SELECT " EVENT_COLUMNS_V2 ", hash FROM events ORDER BY seq",
			       -1, &sel, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "prepare event read");
	if (sqlite3_prepare_v2(l->db, "UPDATE events SET hash = ?1 WHERE seq = ?2", -1, &upd,
			       NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare hash update");
		goto out;
	}
	while ((s = sqlite3_step(sel)) == SQLITE_ROW) {
		struct ledger_hash_event ev;
		uint8_t h1[LEDGER_HASH_LEN];
		event_v2_from_row(sel, 0, &ev);
		ev.encoding = LEDGER_HASH_ENCODING_V1;
		if ((r = ledger_hash_event(&ev, old_chain, h1)) < 0)
			goto out;
		if (ev.seq != expect++ ||
		    sqlite3_column_bytes(sel, EVENT_NCOLUMNS_V2) != LEDGER_HASH_LEN ||
		    memcmp(sqlite3_column_blob(sel, EVENT_NCOLUMNS_V2), h1, LEDGER_HASH_LEN)) {
			log_debug("ledger: event %lld is missing or does not match its hash; not "
				  "migrating a damaged ledger (run loyaltyctl ledger verify)",
				  (long long) (expect - 1));
			r = -EBADMSG;
			goto out;
		}
		memcpy(old_chain, h1, LEDGER_HASH_LEN);
		ev.encoding = LEDGER_HASH_ENCODING_V2;
		if ((r = ledger_hash_event(&ev, new_chain, new_chain)) < 0)
			goto out;
		sqlite3_bind_blob(upd, 1, new_chain, LEDGER_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(upd, 2, ev.seq);
		if (sqlite3_step(upd) != SQLITE_DONE) {
			r = ledger_sql_fail(l, "store event hash");
			goto out;
		}
		sqlite3_reset(upd);
	}
	r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "read events");
	if (r == 0)
		log_debug("ledger: hashed %lld events again under encoding 2",
			  (long long) (expect - cp.seq - 1));
out:
	sqlite3_finalize(upd);
	sqlite3_finalize(sel);
	return r;
}

int ledger_member_for_pseudonym(struct ledger *l, const uint8_t pseudonym[PSEUDONYM_LEN],
				int64_t time_us, int64_t *ret_id, bool *ret_new)
{
	struct ledger_member m;
	int r = ledger_member_by_pseudonym(l, pseudonym, &m);
	if (r == 0) {
		*ret_id = m.member_id;
		*ret_new = false;
		return 0;
	}
	if (r != -ENOENT)
		return r;
	for (int attempt = 0; attempt < 4; attempt++) {
		char code[LEDGER_CARD_CODE_LEN + 1];
		if ((r = make_card_code(code)) < 0)
			return r;
		sqlite3_stmt *st;
		if (ledger_stmt(l,
				"INSERT INTO members (pseudonym, card_code, created_us,"
				" last_visit_us) VALUES (?1, ?2, ?3, ?3)",
				&st) < 0)
			return ledger_sql_fail(l, "prepare member insert");
		sqlite3_bind_blob(st, 1, pseudonym, PSEUDONYM_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, time_us);
		int s = sqlite3_step(st);
		ledger_stmt_done(st);
		if (s == SQLITE_DONE) {
			*ret_id = sqlite3_last_insert_rowid(l->db);
			*ret_new = true;
			return 0;
		}
		if (s != SQLITE_CONSTRAINT_UNIQUE)
			return ledger_sql_fail(l, "insert member");
		/* a card code collision: draw another */
	}
	return -EIO;
}

/*
 * A sale without a programme: the enrol event of a new card and one earn event, which make the
 * points one lot at the sale's time. The same booking path as ledger_book() (ledger_programme.c).
 */
int ledger_commit_sale(struct ledger *ledger, const struct ledger_sale *sale,
		       struct ledger_receipt *ret_receipt)
{
	if (!ledger || !sale || sale->amount_gr <= 0 || sale->earn_pts < 0)
		return -EINVAL;
	struct ledger *l = ledger;
	struct ledger_receipt booked;
	int r = ledger_begin(l);
	if (r < 0)
		return r;
	int64_t member_id = 0;
	bool is_new;
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	struct ledger_chain chain;
	if ((r = ledger_chain_tip(l, &chain)) < 0)
		goto rollback;
	if ((r = ledger_member_for_pseudonym(l, sale->pseudonym, sale->time_us, &member_id,
					     &is_new)) < 0)
		goto rollback;
	snprintf(receipt_no, sizeof(receipt_no), "%s-%06lld", l->terminal_id,
		 (long long) (chain.seq + 1));
	struct ledger_new_event ev = {
	    .kind = "enrol",
	    .member_id = member_id,
	    .receipt_no = receipt_no,
	    .time_us = sale->time_us,
	};
	if (is_new && (r = ledger_insert_event(l, &chain, &ev)) < 0)
		goto rollback;
	ev.kind = "earn";
	ev.points = sale->earn_pts;
	ev.amount_gr = sale->amount_gr;
	ev.rule = "earn";
	ev.lot_us = sale->time_us;
	if ((r = ledger_insert_event(l, &chain, &ev)) < 0 || (r = ledger_apply_event(l, &ev)) < 0)
		goto rollback;
	struct rules_sale_record rec = {
	    .time_us = sale->time_us,
	    .basket_gr = sale->amount_gr,
	    .eligible_basket_gr = sale->amount_gr,
	    .paid_gr = sale->amount_gr,
	    .earned_pts = sale->earn_pts,
	};
	if ((r = ledger_sale_insert(l, receipt_no, member_id, &rec)) < 0)
		goto rollback;
	/* read what was booked before committing: once committed, the call must not fail */
	if ((r = ledger_receipt_read(l, receipt_no, true, &booked)) < 0 ||
	    (r = ledger_exec(l, "COMMIT")) < 0)
		goto rollback;
	*ret_receipt = booked;
	return 0;
rollback:
	(void) ledger_exec(l, "ROLLBACK");
	return r;
}

#define RECEIPT_SELECT_HEAD                                                                        \
	"SELECT e.seq, e.time_us, e.amount_gr, e.points, e.member_id, e.event_id,"                 \
	"  m.card_code,"                                                                           \
	"  (SELECT COUNT(*) FROM events x WHERE x.receipt_no = e.receipt_no"                       \
	"     AND x.kind = 'enrol'),"
#define RECEIPT_SELECT_TAIL                                                                        \
	"  (SELECT COALESCE(SUM(b.points), 0) FROM events b WHERE b.receipt_no ="                  \
	"     e.receipt_no AND b.kind = 'bonus' AND b.member_id = e.member_id),"                   \
	"  k.id, k.percent_bp, k.min_basket_gr, k.expires_us"                                      \
	" FROM events e LEFT JOIN members m ON m.member_id = e.member_id"                               \
	" LEFT JOIN coupons k ON k.id = (SELECT i.ref FROM events i"                               \
	"   WHERE i.receipt_no = e.receipt_no AND i.kind = 'coupon_issue' LIMIT 1)"                \
	" WHERE e.receipt_no = ?1 AND e.kind = 'earn'"

int ledger_get_receipt(struct ledger *ledger, const char *receipt_no,
		       struct ledger_receipt *ret_receipt)
{
	return ledger_receipt_read(ledger, receipt_no, false, ret_receipt);
}

int ledger_receipt_read(struct ledger *ledger, const char *receipt_no, bool just_booked,
			struct ledger_receipt *ret_receipt)
{
	if (!ledger || !receipt_no || strlen(receipt_no) > LEDGER_RECEIPT_NO_MAX)
		return -EINVAL;
	struct ledger *l = ledger;
	sqlite3_stmt *st;
	/* The sale's earn event, whether an enrol event came first, and the member's balance
	 * after it: for a sale just booked (still inside its transaction) the member's balance as
	 * it stands; for an older receipt the sum of the member's events up to this sale. */
	static const char *const sql[2] = {
	    RECEIPT_SELECT_HEAD
	    "  (SELECT COALESCE(SUM(points), 0) FROM events y"
	    "     WHERE y.member_id = e.member_id AND y.seq <= (SELECT MAX(z.seq)"
	    "       FROM events z WHERE z.receipt_no = e.receipt_no))"
	    "  + COALESCE((SELECT c.points FROM checkpoint_members c"
	    "     WHERE c.member_id = e.member_id), 0)," RECEIPT_SELECT_TAIL,
	    RECEIPT_SELECT_HEAD "  m.balance_pts," RECEIPT_SELECT_TAIL,
	};
	if (ledger_stmt(l, sql[just_booked], &st) < 0)
		return ledger_sql_fail(l, "prepare receipt query");
	sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	int r = 0;
	if (s == SQLITE_ROW) {
		struct ledger_receipt rc = {0};
		memcpy(rc.receipt_no, receipt_no, strlen(receipt_no) + 1);
		rc.seq = sqlite3_column_int64(st, 0);
		rc.time_us = sqlite3_column_int64(st, 1);
		rc.amount_gr = sqlite3_column_int64(st, 2);
		rc.earned_pts = sqlite3_column_int64(st, 3);
		rc.member_id = sqlite3_column_int64(st, 4);
		if (sqlite3_column_bytes(st, 5) == LEDGER_EVENT_ID_LEN)
			memcpy(rc.event_id, sqlite3_column_blob(st, 5), LEDGER_EVENT_ID_LEN);
		const char *code = (const char *) sqlite3_column_text(st, 6);
		snprintf(rc.card_code, sizeof(rc.card_code), "%s", code ? code : "");
		rc.new_member = sqlite3_column_int64(st, 7) > 0;
		rc.balance_pts = sqlite3_column_int64(st, 8);
		rc.bonus_pts = sqlite3_column_int64(st, 9);
		const char *coupon = (const char *) sqlite3_column_text(st, 10);
		if (coupon) {
			snprintf(rc.coupon_id, sizeof(rc.coupon_id), "%s", coupon);
			rc.coupon_percent_bp = (int32_t) sqlite3_column_int64(st, 11);
			rc.coupon_min_basket_gr = sqlite3_column_int64(st, 12);
			rc.coupon_expires_us = sqlite3_column_int64(st, 13);
		}
		*ret_receipt = rc;
	} else if (s == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = ledger_sql_fail(l, "receipt query");
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_last_receipt_no(struct ledger *ledger, char *buf, size_t size)
{
	sqlite3_stmt *st;
	if (ledger_stmt(ledger,
			"SELECT receipt_no FROM events WHERE kind = 'earn'"
			" ORDER BY seq DESC LIMIT 1",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare last receipt");
	int s = sqlite3_step(st);
	int r;
	if (s == SQLITE_ROW) {
		const char *no = (const char *) sqlite3_column_text(st, 0);
		r = (size_t) snprintf(buf, size, "%s", no ? no : "") < size ? 0 : -ENOBUFS;
	} else {
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(ledger, "last receipt");
	}
	ledger_stmt_done(st);
	return r;
}

/* The member columns member_from_row() reads, in its order. */
#define MEMBER_SELECT                                                                              \
	"SELECT member_id, balance_pts, visits, created_us, last_visit_us, card_code,"             \
	" COALESCE(erased_us, 0) FROM members "

static int member_from_row(sqlite3_stmt *st, struct ledger_member *ret_member);

int ledger_member_by_pseudonym(struct ledger *ledger, const uint8_t pseudonym[PSEUDONYM_LEN],
			       struct ledger_member *ret_member)
{
	if (!ledger || !pseudonym || !ret_member)
		return -EINVAL;
	/* prepared once per connection; reset, not finalized, after each use */
	if (!ledger->member_by_pseudonym &&
	    sqlite3_prepare_v3(ledger->db, MEMBER_SELECT "WHERE pseudonym = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &ledger->member_by_pseudonym,
			       NULL) != SQLITE_OK)
		return ledger_sql_fail(ledger, "prepare member query");
	sqlite3_stmt *st = ledger->member_by_pseudonym;
	sqlite3_bind_blob(st, 1, pseudonym, PSEUDONYM_LEN, SQLITE_STATIC);
	int s = sqlite3_step(st);
	int r = 0;
	if (s == SQLITE_ROW)
		r = member_from_row(st, ret_member);
	else
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(ledger, "member query");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int member_from_row(sqlite3_stmt *st, struct ledger_member *ret_member)
{
	struct ledger_member m = {0};
	m.member_id = sqlite3_column_int64(st, 0);
	m.balance_pts = sqlite3_column_int64(st, 1);
	m.visits = sqlite3_column_int64(st, 2);
	m.created_us = sqlite3_column_int64(st, 3);
	m.last_visit_us = sqlite3_column_int64(st, 4);
	m.erased_us = sqlite3_column_int64(st, 6);
	const char *code = (const char *) sqlite3_column_text(st, 5);
	if (!m.erased_us)
		snprintf(m.card_code, sizeof(m.card_code), "%s", code ? code : "");
	*ret_member = m;
	return 0;
}

/* Read one member row selected by st (prepared from MEMBER_SELECT, bound); finalizes st. */
static int member_read(struct ledger *l, sqlite3_stmt *st, struct ledger_member *ret_member)
{
	int s = sqlite3_step(st);
	int r = s == SQLITE_ROW	   ? member_from_row(st, ret_member)
		: s == SQLITE_DONE ? -ENOENT
				   : ledger_sql_fail(l, "member query");
	ledger_stmt_done(st);
	return r;
}

int ledger_member_by_id(struct ledger *ledger, int64_t member_id, struct ledger_member *ret_member)
{
	sqlite3_stmt *st;
	if (!ledger || !ret_member)
		return -EINVAL;
	if (ledger_stmt(ledger, MEMBER_SELECT "WHERE member_id = ?1", &st) < 0)
		return ledger_sql_fail(ledger, "prepare member query");
	sqlite3_bind_int64(st, 1, member_id);
	return member_read(ledger, st, ret_member);
}

int ledger_member_by_card_code(struct ledger *ledger, const char *card_code,
			       struct ledger_member *ret_member)
{
	sqlite3_stmt *st;
	if (!ledger || !card_code || !ret_member || strlen(card_code) != LEDGER_CARD_CODE_LEN)
		return -EINVAL;
	if (ledger_stmt(ledger, MEMBER_SELECT "WHERE card_code = ?1 AND erased_us IS NULL", &st) <
	    0)
		return ledger_sql_fail(ledger, "prepare member query");
	sqlite3_bind_text(st, 1, card_code, -1, SQLITE_STATIC);
	return member_read(ledger, st, ret_member);
}

int ledger_member_pseudonym(struct ledger *ledger, const char *card_code,
			    uint8_t ret_pseudonym[PSEUDONYM_LEN])
{
	sqlite3_stmt *st;
	if (!ledger || !card_code || !ret_pseudonym || strlen(card_code) != LEDGER_CARD_CODE_LEN)
		return -EINVAL;
	if (ledger_stmt(ledger,
			"SELECT pseudonym FROM members WHERE card_code = ?1 AND erased_us IS NULL",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare pseudonym query");
	sqlite3_bind_text(st, 1, card_code, -1, SQLITE_STATIC);
	int s = sqlite3_step(st), r;
	if (s == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PSEUDONYM_LEN) {
		memcpy(ret_pseudonym, sqlite3_column_blob(st, 0), PSEUDONYM_LEN);
		r = 0;
	} else if (s == SQLITE_ROW || s == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = ledger_sql_fail(ledger, "pseudonym query");
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_member_spend(struct ledger *ledger, int64_t member_id, int64_t from_us, int64_t to_us,
			int64_t *ret_spend_gr)
{
	sqlite3_stmt *st;
	if (!ledger || !ret_spend_gr || from_us > to_us)
		return -EINVAL;
	if (ledger_stmt(ledger,
			"SELECT COALESCE(SUM(amount_gr), 0) FROM events WHERE member_id = ?1"
			" AND kind IN ('earn', 'refund') AND time_us > ?2 AND time_us <= ?3",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare spend query");
	sqlite3_bind_int64(st, 1, member_id);
	sqlite3_bind_int64(st, 2, from_us);
	sqlite3_bind_int64(st, 3, to_us);
	int r = sqlite3_step(st) == SQLITE_ROW ? 0 : ledger_sql_fail(ledger, "spend query");
	if (r == 0)
		*ret_spend_gr = sqlite3_column_int64(st, 0);
	ledger_stmt_done(st);
	return r;
}

int ledger_counts(struct ledger *ledger, struct ledger_counts *ret_counts)
{
	struct ledger_counts c;
	int r;
	if ((r = query_int(ledger, "SELECT COUNT(*) FROM events", &c.events)) < 0 ||
	    (r = query_int(ledger, "SELECT COUNT(*) FROM members", &c.members)) < 0 ||
	    (r = query_int(ledger,
			   "SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0),"
			   " COALESCE((SELECT seq FROM checkpoint), 0))",
			   &c.last_seq)) < 0)
		return r;
	*ret_counts = c;
	return 0;
}
