/*
 * store_sqlite: the embedded store, one SQLite file (WAL, synchronous=FULL). Events are a rowid
 * table whose rowid is the order of arrival (the first coupon use to arrive wins) with the event
 * id as its PRIMARY KEY, kept for good. Statements are prepared once and cached.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

#define STMT_CACHE 64

/* The WAL's length (in pages) past which the checkpointer is woken (SQLite's own default), and
 * past which the writer copies the WAL back itself, as SQLite would, because the checkpointer
 * cannot keep up or a reader holds it back (at most 64 MiB of WAL). */
#define CHECKPOINT_FRAMES	 1000
#define CHECKPOINT_FRAMES_WRITER 16384

/* A thread with a connection of its own that copies the WAL back into the database file while
 * the writer goes on (store_sqlite_checkpoint_apart). */
struct checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	sqlite3 *db;
	bool due, stop;
};

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
	struct checkpointer *ckpt; /* NULL: SQLite checkpoints at the commit that fills the WAL */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    /* the server folds every event it takes: keep the hot pages in memory (64 MiB a
     * connection) instead of reading them back from the OS for each batch */
    "PRAGMA cache_size=-65536;"
    /* deleted rows (an erased member, a withdrawn first name) are overwritten with zeros */
    "PRAGMA secure_delete=ON;"
    "CREATE TABLE IF NOT EXISTS terminals(terminal_id TEXT PRIMARY KEY NOT NULL,"
    " public_key BLOB, revoked INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL,"
    " last_hash BLOB NOT NULL, created_us INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS enrolment_codes(code_hash BLOB PRIMARY KEY NOT NULL,"
    " terminal_id TEXT NOT NULL, expires_us INTEGER NOT NULL, used_us INTEGER, used_key BLOB);"
    "CREATE TABLE IF NOT EXISTS events(event_id BLOB PRIMARY KEY NOT NULL,"
    " terminal_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
    " member_id INTEGER NOT NULL, card_code TEXT NOT NULL, points INTEGER NOT NULL,"
    " amount_gr INTEGER NOT NULL, receipt_no TEXT NOT NULL, time_us INTEGER NOT NULL,"
    " rule TEXT NOT NULL, ref TEXT NOT NULL, lot_us INTEGER NOT NULL, items INTEGER NOT NULL,"
    " progress INTEGER NOT NULL, encoding INTEGER NOT NULL, hash BLOB NOT NULL,"
    " received_us INTEGER NOT NULL, UNIQUE(terminal_id, seq));"
    "CREATE INDEX IF NOT EXISTS events_card ON events(card_code, time_us) WHERE card_code <> '';"
    "CREATE INDEX IF NOT EXISTS events_redeem ON events(terminal_id, time_us)"
    " WHERE kind = 'redeem';"
    "CREATE INDEX IF NOT EXISTS events_coupon ON events(ref) WHERE kind = 'coupon_use';"
    "CREATE TABLE IF NOT EXISTS member_links(terminal_id TEXT NOT NULL,"
    " member_id INTEGER NOT NULL, card_code TEXT NOT NULL, PRIMARY KEY(terminal_id, member_id))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS revoked_cards(card_code TEXT PRIMARY KEY NOT NULL,"
    " revoked_us INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sun_counters(uid_hash BLOB PRIMARY KEY NOT NULL,"
    " read_ctr INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS members(card_code TEXT PRIMARY KEY NOT NULL,"
    " balance_pts INTEGER NOT NULL, events INTEGER NOT NULL, tier TEXT NOT NULL,"
    " updated_us INTEGER NOT NULL, first_name TEXT);"
    "CREATE TABLE IF NOT EXISTS flags(id INTEGER PRIMARY KEY, code TEXT NOT NULL,"
    " event_id BLOB NOT NULL, terminal_id TEXT NOT NULL, card_code TEXT NOT NULL,"
    " amount INTEGER NOT NULL, detail TEXT NOT NULL, time_us INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS flags_code ON flags(code, terminal_id, time_us);"
    "CREATE TABLE IF NOT EXISTS changes(cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL UNIQUE, json TEXT NOT NULL);"
    /* the customer's pages: claims and surveys one per receipt, consents per card */
    "CREATE TABLE IF NOT EXISTS claims(terminal_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " card_code TEXT NOT NULL, points INTEGER NOT NULL, bonus_pts INTEGER NOT NULL,"
    " amount_gr INTEGER NOT NULL, new_card INTEGER NOT NULL, claimed_us INTEGER NOT NULL,"
    " PRIMARY KEY(terminal_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS claims_card ON claims(card_code, claimed_us);"
    "CREATE TABLE IF NOT EXISTS surveys(terminal_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " card_code TEXT NOT NULL, score INTEGER NOT NULL CHECK(score BETWEEN 0 AND 10),"
    " comment TEXT NOT NULL, bonus_pts INTEGER NOT NULL, time_us INTEGER NOT NULL,"
    " PRIMARY KEY(terminal_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS surveys_card ON surveys(card_code, time_us);"
    "CREATE TABLE IF NOT EXISTS consents(card_code TEXT PRIMARY KEY NOT NULL,"
    " marketing INTEGER NOT NULL, first_name INTEGER NOT NULL, updated_us INTEGER NOT NULL,"
    " name TEXT) WITHOUT ROWID;";

/*
 * The schema version (PRAGMA user_version) and the steps from each older one: 1 -> 2 adds the
 * first name a member allows the tills to show (consents.name, its copy members.first_name).
 */
#define SCHEMA_VERSION 2
static const char *const upgrades[SCHEMA_VERSION] = {
    [1] = "ALTER TABLE members ADD COLUMN first_name TEXT;"
	  "ALTER TABLE consents ADD COLUMN name TEXT;",
};

/* Create the tables of a new file, or bring an older one up to SCHEMA_VERSION. */
static int schema_apply(sqlite3 *db)
{
	sqlite3_stmt *q;
	int version = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version < 0 || version > SCHEMA_VERSION)
		return -EPROTO; /* a newer server's file */
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (version == SCHEMA_VERSION)
		return 0;
	char pragma[40];
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d;", SCHEMA_VERSION);
	/* a new file got the tables of this version; an older one takes the steps from its own */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	for (int v = version ? version : SCHEMA_VERSION; v < SCHEMA_VERSION; v++) {
		if (sqlite3_exec(db, upgrades[v], NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
	}
	if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

static struct store_sqlite *S(struct store *st)
{
	return (struct store_sqlite *) st;
}

static sqlite3_stmt *prep(struct store *st, const char *sql)
{
	struct store_sqlite *s = S(st);
	size_t i;
	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	}
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return NULL;
	if (i < STMT_CACHE) {
		s->cache[i].sql = sql;
		s->cache[i].stmt = stmt;
	}
	return stmt;
}

/* Statements beyond the cache are finalized by done(); cached ones are only reset. */
static void done(struct store *st, sqlite3_stmt *stmt)
{
	struct store_sqlite *s = S(st);
	for (size_t i = 0; i < STMT_CACHE; i++)
		if (s->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			return;
		}
	sqlite3_finalize(stmt);
}

static int exec(struct store *st, const char *sql)
{
	return sqlite3_exec(S(st)->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int step_done(struct store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	done(st, q);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static void text(sqlite3_stmt *q, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	size_t n = t ? (size_t) sqlite3_column_bytes(q, col) : 0;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

static void blob(sqlite3_stmt *q, int col, uint8_t *out, size_t n)
{
	const void *b = sqlite3_column_blob(q, col);
	if (b && (size_t) sqlite3_column_bytes(q, col) == n)
		memcpy(out, b, n);
	else
		memset(out, 0, n);
}

static void checkpointer_stop(struct store_sqlite *s)
{
	struct checkpointer *c = s->ckpt;
	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
	s->ckpt = NULL;
	/* back to SQLite's own checkpoints for whatever this connection still writes */
	(void) sqlite3_wal_autocheckpoint(s->db, CHECKPOINT_FRAMES);
}

static void op_close(struct store *st)
{
	struct store_sqlite *s = S(st);
	checkpointer_stop(s);
	for (size_t i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

static const char *op_errmsg(struct store *st)
{
	return sqlite3_errmsg(S(st)->db);
}

static int op_begin(struct store *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

static int op_commit(struct store *st)
{
	return exec(st, "COMMIT");
}

static void op_rollback(struct store *st)
{
	(void) exec(st, "ROLLBACK");
}

static int op_read_begin(struct store *st)
{
	return exec(st, "BEGIN DEFERRED");
}

static int op_terminal_get(struct store *st, const char *id, struct store_terminal *ret)
{
	static const char sql[] = "SELECT public_key, revoked, last_seq, last_hash, created_us"
				  " FROM terminals WHERE terminal_id = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		struct store_terminal t = {0};
		snprintf(t.terminal_id, sizeof(t.terminal_id), "%s", id);
		t.registered = sqlite3_column_type(q, 0) == SQLITE_BLOB;
		blob(q, 0, t.public_key, sizeof(t.public_key));
		t.revoked = sqlite3_column_int(q, 1) != 0;
		t.last_seq = sqlite3_column_int64(q, 2);
		blob(q, 3, t.last_hash, sizeof(t.last_hash));
		t.created_us = sqlite3_column_int64(q, 4);
		*ret = t;
	}
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_terminal_put(struct store *st, const struct store_terminal *t)
{
	static const char sql[] =
	    "INSERT INTO terminals(terminal_id, public_key, revoked, last_seq, last_hash,"
	    " created_us) VALUES(?,?,?,?,?,?) ON CONFLICT(terminal_id) DO UPDATE SET"
	    " public_key = excluded.public_key, revoked = excluded.revoked,"
	    " last_seq = excluded.last_seq, last_hash = excluded.last_hash";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, t->terminal_id, -1, SQLITE_STATIC);
	if (t->registered)
		sqlite3_bind_blob(q, 2, t->public_key, sizeof(t->public_key), SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 2);
	sqlite3_bind_int(q, 3, t->revoked);
	sqlite3_bind_int64(q, 4, t->last_seq);
	sqlite3_bind_blob(q, 5, t->last_hash, sizeof(t->last_hash), SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, t->created_us);
	return step_done(st, q);
}

static int op_enrolment_add(struct store *st, const uint8_t hash[STORE_CODE_HASH_LEN],
			    const char *terminal_id, int64_t expires_us)
{
	static const char sql[] =
	    "INSERT INTO enrolment_codes(code_hash, terminal_id, expires_us) VALUES(?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_blob(q, 1, hash, STORE_CODE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, expires_us);
	return step_done(st, q);
}

static int op_enrolment_take(struct store *st, const uint8_t hash[STORE_CODE_HASH_LEN],
			     const uint8_t key[STORE_PUBLIC_KEY_LEN], int64_t now_us,
			     char ret_terminal_id[LEDGER_TERMINAL_ID_MAX + 1])
{
	static const char sel[] = "SELECT terminal_id, expires_us, used_us, used_key"
				  " FROM enrolment_codes WHERE code_hash = ?";
	static const char upd[] =
	    "UPDATE enrolment_codes SET used_us = ?, used_key = ? WHERE code_hash = ?";
	char id[LEDGER_TERMINAL_ID_MAX + 1];
	uint8_t used_key[STORE_PUBLIC_KEY_LEN];
	sqlite3_stmt *q = prep(st, sel);
	if (!q)
		return -EIO;
	sqlite3_bind_blob(q, 1, hash, STORE_CODE_HASH_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(q), r = 0;
	if (rc == SQLITE_ROW) {
		text(q, 0, id, sizeof(id));
		blob(q, 3, used_key, sizeof(used_key));
		if (sqlite3_column_type(q, 2) != SQLITE_NULL)
			r = memcmp(used_key, key, sizeof(used_key)) ? -EALREADY : 1;
		else if (sqlite3_column_int64(q, 1) <= now_us)
			r = -ETIMEDOUT;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	done(st, q);
	if (r < 0)
		return r;
	if (r == 0) {
		if (!(q = prep(st, upd)))
			return -EIO;
		sqlite3_bind_int64(q, 1, now_us);
		sqlite3_bind_blob(q, 2, key, STORE_PUBLIC_KEY_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(q, 3, hash, STORE_CODE_HASH_LEN, SQLITE_STATIC);
		if ((r = step_done(st, q)) < 0)
			return r;
	}
	memcpy(ret_terminal_id, id, sizeof(id));
	return r;
}

static int event_ref(struct store *st, sqlite3_stmt *q, struct store_event_ref *ret)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		struct store_event_ref e;
		text(q, 0, e.terminal_id, sizeof(e.terminal_id));
		e.seq = sqlite3_column_int64(q, 1);
		blob(q, 2, e.hash, sizeof(e.hash));
		e.received_us = sqlite3_column_int64(q, 3);
		*ret = e;
	}
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_event_get(struct store *st, const uint8_t id[LEDGER_EVENT_ID_LEN],
			struct store_event_ref *ret)
{
	static const char sql[] =
	    "SELECT terminal_id, seq, hash, received_us FROM events WHERE event_id = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_blob(q, 1, id, LEDGER_EVENT_ID_LEN, SQLITE_STATIC);
	return event_ref(st, q, ret);
}

static int op_event_put(struct store *st, const struct ledger_event *ev, int64_t received_us)
{
	static const char sql[] =
	    "INSERT INTO events(event_id, terminal_id, seq, kind, member_id, card_code, points,"
	    " amount_gr, receipt_no, time_us, rule, ref, lot_us, items, progress, encoding, hash,"
	    " received_us) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_blob(q, 1, ev->event_id, LEDGER_EVENT_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, ev->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, ev->seq);
	sqlite3_bind_text(q, 4, ev->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, ev->member_id);
	sqlite3_bind_text(q, 6, ev->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, ev->points);
	sqlite3_bind_int64(q, 8, ev->amount_gr);
	sqlite3_bind_text(q, 9, ev->receipt_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 10, ev->time_us);
	sqlite3_bind_text(q, 11, ev->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, ev->ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 13, ev->lot_us);
	sqlite3_bind_int64(q, 14, ev->items);
	sqlite3_bind_int64(q, 15, ev->progress);
	sqlite3_bind_int(q, 16, ev->encoding);
	sqlite3_bind_blob(q, 17, ev->hash, LEDGER_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(q, 18, received_us);
	return step_done(st, q);
}

static int op_coupon_first_use(struct store *st, const char *ref, struct store_event_ref *ret)
{
	static const char sql[] = "SELECT terminal_id, seq, hash, received_us FROM events"
				  " WHERE kind = 'coupon_use' AND ref = ? ORDER BY rowid LIMIT 1";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
	return event_ref(st, q, ret);
}

static int scalar(struct store *st, sqlite3_stmt *q, int64_t *ret)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(q, 0);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

static int op_redeemed_pts(struct store *st, const char *terminal_id, const char *card_code,
			   int64_t from_us, int64_t to_us, int64_t *ret_pts)
{
	static const char by_terminal[] =
	    "SELECT coalesce(-sum(points), 0) FROM events WHERE kind = 'redeem'"
	    " AND terminal_id = ? AND time_us >= ? AND time_us < ?";
	static const char by_card[] =
	    "SELECT coalesce(-sum(points), 0) FROM events WHERE kind = 'redeem'"
	    " AND card_code = ? AND card_code <> '' AND time_us >= ? AND time_us < ?";
	sqlite3_stmt *q = prep(st, terminal_id ? by_terminal : by_card);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, terminal_id ? terminal_id : card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from_us);
	sqlite3_bind_int64(q, 3, to_us);
	return scalar(st, q, ret_pts);
}

static int op_member_spend(struct store *st, const char *card_code, int64_t from_us, int64_t to_us,
			   int64_t *ret_gr)
{
	static const char sql[] =
	    "SELECT coalesce(sum(a), 0) FROM (SELECT amount_gr AS a FROM events"
	    " WHERE card_code = ?1 AND card_code <> '' AND kind IN ('earn', 'refund')"
	    " AND time_us > ?2 AND time_us <= ?3"
	    " UNION ALL SELECT amount_gr FROM claims WHERE card_code = ?1 AND card_code <> ''"
	    " AND claimed_us > ?2 AND claimed_us <= ?3)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from_us);
	sqlite3_bind_int64(q, 3, to_us);
	return scalar(st, q, ret_gr);
}

static int op_flag_sum(struct store *st, const char *code, const char *terminal_id, int64_t from_us,
		       int64_t to_us, int64_t *ret_sum)
{
	static const char sql[] = "SELECT coalesce(sum(amount), 0) FROM flags WHERE code = ?"
				  " AND terminal_id = ? AND time_us >= ? AND time_us < ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, from_us);
	sqlite3_bind_int64(q, 4, to_us);
	return scalar(st, q, ret_sum);
}

static int op_link_get(struct store *st, const char *terminal_id, int64_t member_id,
		       char ret_card_code[LEDGER_CARD_CODE_LEN + 1])
{
	static const char sql[] =
	    "SELECT card_code FROM member_links WHERE terminal_id = ? AND member_id = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, member_id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		text(q, 0, ret_card_code, LEDGER_CARD_CODE_LEN + 1);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_link_put(struct store *st, const char *terminal_id, int64_t member_id,
		       const char *card_code)
{
	static const char sql[] =
	    "INSERT OR REPLACE INTO member_links(terminal_id, member_id, card_code) VALUES(?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, member_id);
	sqlite3_bind_text(q, 3, card_code, -1, SQLITE_STATIC);
	return step_done(st, q);
}

static int op_card_revoke(struct store *st, const char *card_code, int64_t now_us)
{
	static const char sql[] =
	    "INSERT OR IGNORE INTO revoked_cards(card_code, revoked_us) VALUES(?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now_us);
	return step_done(st, q);
}

static int op_card_revoked(struct store *st, const char *card_code)
{
	static const char sql[] = "SELECT 1 FROM revoked_cards WHERE card_code = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	done(st, q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static int op_sun_counter(struct store *st, const uint8_t uid_hash[32], int64_t read_ctr,
			  int64_t *ret_last)
{
	static const char get[] = "SELECT read_ctr FROM sun_counters WHERE uid_hash = ?";
	static const char put[] = "INSERT INTO sun_counters(uid_hash, read_ctr) VALUES(?,?)"
				  " ON CONFLICT(uid_hash) DO UPDATE SET read_ctr = excluded.read_ctr";
	sqlite3_stmt *q = prep(st, get);
	if (!q)
		return -EIO;
	sqlite3_bind_blob(q, 1, uid_hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	*ret_last = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	done(st, q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (read_ctr <= *ret_last)
		return 0;
	if (!(q = prep(st, put)))
		return -EIO;
	sqlite3_bind_blob(q, 1, uid_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, read_ctr);
	int r = step_done(st, q);
	return r < 0 ? r : 1;
}

static void member_row(sqlite3_stmt *q, struct store_member *m)
{
	memset(m, 0, sizeof(*m));
	text(q, 0, m->card_code, sizeof(m->card_code));
	m->balance_pts = sqlite3_column_int64(q, 1);
	m->events = sqlite3_column_int64(q, 2);
	text(q, 3, m->tier, sizeof(m->tier));
	m->updated_us = sqlite3_column_int64(q, 4);
	text(q, 5, m->first_name, sizeof(m->first_name));
}

static int op_member_get(struct store *st, const char *card_code, struct store_member *ret)
{
	static const char sql[] = "SELECT card_code, balance_pts, events, tier, updated_us,"
				  " first_name FROM members WHERE card_code = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		member_row(q, ret);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_member_put(struct store *st, const struct store_member *m)
{
	/* an update in place (OR REPLACE would delete the row and insert it again) */
	static const char sql[] =
	    "INSERT INTO members(card_code, balance_pts, events, tier, updated_us, first_name)"
	    " VALUES(?,?,?,?,?,?) ON CONFLICT(card_code) DO UPDATE SET"
	    " balance_pts = excluded.balance_pts, events = excluded.events, tier = excluded.tier,"
	    " updated_us = excluded.updated_us, first_name = excluded.first_name";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, m->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, m->balance_pts);
	sqlite3_bind_int64(q, 3, m->events);
	sqlite3_bind_text(q, 4, m->tier, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, m->updated_us);
	if (m->first_name[0])
		sqlite3_bind_text(q, 6, m->first_name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 6);
	return step_done(st, q);
}

static int op_member_erase(struct store *st, const char *card_code)
{
	static const char del[] = "DELETE FROM members WHERE card_code = ?";
	static const char anon[] = "UPDATE events SET card_code = '' WHERE card_code = ?";
	static const char anon_flags[] = "UPDATE flags SET card_code = '' WHERE card_code = ?";
	static const char links[] = "DELETE FROM member_links WHERE card_code = ?";
	static const char claims[] = "UPDATE claims SET card_code = '' WHERE card_code = ?";
	static const char surveys[] =
	    "UPDATE surveys SET card_code = '', comment = '' WHERE card_code = ?";
	static const char consents[] = "DELETE FROM consents WHERE card_code = ?";
	const char *const sqls[] = {del, anon, anon_flags, links, claims, surveys, consents};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		sqlite3_stmt *q = prep(st, sqls[i]);
		if (!q)
			return -EIO;
		sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
		int r = step_done(st, q);
		if (r < 0)
			return r;
	}
	return 0;
}

static int op_flag_add(struct store *st, const struct store_flag *f)
{
	static const char sql[] =
	    "INSERT INTO flags(code, event_id, terminal_id, card_code, amount,"
	    " detail, time_us) VALUES(?,?,?,?,?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, f->code, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, f->event_id, LEDGER_EVENT_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, f->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, f->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, f->amount);
	sqlite3_bind_text(q, 6, f->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, f->time_us);
	return step_done(st, q);
}

static int op_change_put(struct store *st, const char *key, const char *json)
{
	static const char del[] = "DELETE FROM changes WHERE key = ?";
	static const char ins[] = "INSERT INTO changes(key, json) VALUES(?,?)";
	sqlite3_stmt *q = prep(st, del);
	int r;
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if ((r = step_done(st, q)) < 0)
		return r;
	if (!(q = prep(st, ins)))
		return -EIO;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, json, -1, SQLITE_STATIC);
	return step_done(st, q);
}

static int op_changes_read(struct store *st, int64_t after, size_t max, store_change_fn fn,
			   void *userdata)
{
	static const char sql[] =
	    "SELECT cursor, key, json FROM changes WHERE cursor > ? ORDER BY cursor LIMIT ?";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0, n = 0;
	if (!q)
		return -EIO;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int64(q, 2, (int64_t) max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_change c = {
		    .cursor = sqlite3_column_int64(q, 0),
		    .key = (const char *) sqlite3_column_text(q, 1),
		    .json = (const char *) sqlite3_column_text(q, 2),
		};
		if ((r = fn(userdata, &c)) != 0)
			break;
		n++;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? n : -EIO;
}

static int op_flags_read(struct store *st, store_flag_fn fn, void *userdata)
{
	static const char sql[] = "SELECT id, code, event_id, terminal_id, card_code, amount,"
				  " detail, time_us FROM flags ORDER BY id";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_flag f;
		f.id = sqlite3_column_int64(q, 0);
		text(q, 1, f.code, sizeof(f.code));
		blob(q, 2, f.event_id, sizeof(f.event_id));
		text(q, 3, f.terminal_id, sizeof(f.terminal_id));
		text(q, 4, f.card_code, sizeof(f.card_code));
		f.amount = sqlite3_column_int64(q, 5);
		text(q, 6, f.detail, sizeof(f.detail));
		f.time_us = sqlite3_column_int64(q, 7);
		if ((r = fn(userdata, &f)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

static int op_members_read(struct store *st, store_member_fn fn, void *userdata)
{
	static const char sql[] = "SELECT card_code, balance_pts, events, tier, updated_us,"
				  " first_name FROM members ORDER BY card_code";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_member m;
		member_row(q, &m);
		if ((r = fn(userdata, &m)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

static int op_count_events(struct store *st, int64_t *ret_n)
{
	static const char sql[] = "SELECT count(*) FROM events";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	return scalar(st, q, ret_n);
}

/* ---- the customer's pages ---- */

static int op_terminals_read(struct store *st, store_terminal_fn fn, void *userdata)
{
	static const char sql[] = "SELECT terminal_id, public_key, revoked, last_seq, last_hash,"
				  " created_us FROM terminals ORDER BY terminal_id";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_terminal t = {0};
		text(q, 0, t.terminal_id, sizeof(t.terminal_id));
		t.registered = sqlite3_column_type(q, 1) == SQLITE_BLOB;
		blob(q, 1, t.public_key, sizeof(t.public_key));
		t.revoked = sqlite3_column_int(q, 2) != 0;
		t.last_seq = sqlite3_column_int64(q, 3);
		blob(q, 4, t.last_hash, sizeof(t.last_hash));
		t.created_us = sqlite3_column_int64(q, 5);
		if ((r = fn(userdata, &t)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

#define EVENT_COLUMNS                                                                              \
	"event_id, terminal_id, seq, kind, member_id, card_code, points, amount_gr, receipt_no,"   \
	" time_us, rule, ref, lot_us, items, progress, encoding, hash"

static void event_row(sqlite3_stmt *q, struct ledger_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	blob(q, 0, ev->event_id, sizeof(ev->event_id));
	text(q, 1, ev->terminal_id, sizeof(ev->terminal_id));
	ev->seq = sqlite3_column_int64(q, 2);
	text(q, 3, ev->kind, sizeof(ev->kind));
	ev->member_id = sqlite3_column_int64(q, 4);
	text(q, 5, ev->card_code, sizeof(ev->card_code));
	ev->points = sqlite3_column_int64(q, 6);
	ev->amount_gr = sqlite3_column_int64(q, 7);
	text(q, 8, ev->receipt_no, sizeof(ev->receipt_no));
	ev->time_us = sqlite3_column_int64(q, 9);
	text(q, 10, ev->rule, sizeof(ev->rule));
	text(q, 11, ev->ref, sizeof(ev->ref));
	ev->lot_us = sqlite3_column_int64(q, 12);
	ev->items = sqlite3_column_int64(q, 13);
	ev->progress = sqlite3_column_int64(q, 14);
	ev->encoding = (uint8_t) sqlite3_column_int(q, 15);
	blob(q, 16, ev->hash, sizeof(ev->hash));
}

static int op_event_at(struct store *st, const char *terminal_id, int64_t seq,
		       struct ledger_event *ret)
{
	static const char sql[] =
	    "SELECT " EVENT_COLUMNS " FROM events WHERE terminal_id = ? AND seq = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		event_row(q, ret);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_member_events(struct store *st, const char *card_code, size_t max,
			    store_event_fn fn, void *userdata)
{
	static const char sql[] = "SELECT " EVENT_COLUMNS " FROM events WHERE card_code = ?"
				  " AND card_code <> '' ORDER BY time_us DESC, rowid DESC LIMIT ?";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (int64_t) max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ledger_event ev;
		event_row(q, &ev);
		if ((r = fn(userdata, &ev)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

static void claim_row(sqlite3_stmt *q, struct store_claim *c)
{
	memset(c, 0, sizeof(*c));
	text(q, 0, c->terminal_id, sizeof(c->terminal_id));
	c->seq = sqlite3_column_int64(q, 1);
	text(q, 2, c->card_code, sizeof(c->card_code));
	c->points = sqlite3_column_int64(q, 3);
	c->bonus_pts = sqlite3_column_int64(q, 4);
	c->amount_gr = sqlite3_column_int64(q, 5);
	c->new_card = sqlite3_column_int(q, 6) != 0;
	c->claimed_us = sqlite3_column_int64(q, 7);
}

#define CLAIM_COLUMNS                                                                              \
	"terminal_id, seq, card_code, points, bonus_pts, amount_gr, new_card, claimed_us"

static int op_claim_get(struct store *st, const char *terminal_id, int64_t seq,
			struct store_claim *ret)
{
	static const char sql[] =
	    "SELECT " CLAIM_COLUMNS " FROM claims WHERE terminal_id = ? AND seq = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		claim_row(q, ret);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* An INSERT whose primary key may exist already: -EEXIST then. */
static int step_insert(struct store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	int ext = sqlite3_extended_errcode(S(st)->db);
	done(st, q);
	if (rc == SQLITE_DONE)
		return 0;
	return ext == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EIO;
}

static int op_claim_put(struct store *st, const struct store_claim *c)
{
	static const char sql[] = "INSERT INTO claims(" CLAIM_COLUMNS ") VALUES(?,?,?,?,?,?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, c->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, c->seq);
	sqlite3_bind_text(q, 3, c->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, c->points);
	sqlite3_bind_int64(q, 5, c->bonus_pts);
	sqlite3_bind_int64(q, 6, c->amount_gr);
	sqlite3_bind_int(q, 7, c->new_card);
	sqlite3_bind_int64(q, 8, c->claimed_us);
	return step_insert(st, q);
}

#define SURVEY_COLUMNS "terminal_id, seq, card_code, score, comment, bonus_pts, time_us"

static void survey_row(sqlite3_stmt *q, struct store_survey *s)
{
	memset(s, 0, sizeof(*s));
	text(q, 0, s->terminal_id, sizeof(s->terminal_id));
	s->seq = sqlite3_column_int64(q, 1);
	text(q, 2, s->card_code, sizeof(s->card_code));
	s->score = sqlite3_column_int(q, 3);
	text(q, 4, s->comment, sizeof(s->comment));
	s->bonus_pts = sqlite3_column_int64(q, 5);
	s->time_us = sqlite3_column_int64(q, 6);
}

static int op_survey_get(struct store *st, const char *terminal_id, int64_t seq,
			 struct store_survey *ret)
{
	static const char sql[] =
	    "SELECT " SURVEY_COLUMNS " FROM surveys WHERE terminal_id = ? AND seq = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		survey_row(q, ret);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_survey_put(struct store *st, const struct store_survey *s)
{
	static const char sql[] = "INSERT INTO surveys(" SURVEY_COLUMNS ") VALUES(?,?,?,?,?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, s->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, s->seq);
	sqlite3_bind_text(q, 3, s->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, s->score);
	sqlite3_bind_text(q, 5, s->comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, s->bonus_pts);
	sqlite3_bind_int64(q, 7, s->time_us);
	return step_insert(st, q);
}

static int op_survey_counts(struct store *st, struct store_nps *ret)
{
	static const char sql[] = "SELECT coalesce(sum(score >= 9), 0),"
				  " coalesce(sum(score BETWEEN 7 AND 8), 0),"
				  " coalesce(sum(score <= 6), 0) FROM surveys";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		ret->promoters = sqlite3_column_int64(q, 0);
		ret->passives = sqlite3_column_int64(q, 1);
		ret->detractors = sqlite3_column_int64(q, 2);
	}
	done(st, q);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

static int op_consent_get(struct store *st, const char *card_code, struct store_consent *ret)
{
	static const char sql[] = "SELECT marketing, first_name, updated_us, name FROM consents"
				  " WHERE card_code = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		memset(ret, 0, sizeof(*ret));
		snprintf(ret->card_code, sizeof(ret->card_code), "%s", card_code);
		ret->marketing = sqlite3_column_int(q, 0) != 0;
		ret->first_name = sqlite3_column_int(q, 1) != 0;
		ret->updated_us = sqlite3_column_int64(q, 2);
		text(q, 3, ret->name, sizeof(ret->name));
	}
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_consent_put(struct store *st, const struct store_consent *c)
{
	static const char sql[] = "INSERT OR REPLACE INTO consents(card_code, marketing,"
				  " first_name, updated_us, name) VALUES(?,?,?,?,?)";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, c->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, c->marketing);
	sqlite3_bind_int(q, 3, c->first_name);
	sqlite3_bind_int64(q, 4, c->updated_us);
	/* the name is kept only while the consent to show it stands */
	if (c->first_name && c->name[0])
		sqlite3_bind_text(q, 5, c->name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	return step_done(st, q);
}

static int op_purge(struct store *st)
{
	int log = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(S(st)->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	return rc == SQLITE_OK ? 0 : rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? -EBUSY : -EIO;
}

static int op_change_get(struct store *st, const char *key, char *json, size_t size)
{
	static const char sql[] = "SELECT json FROM changes WHERE key = ?";
	sqlite3_stmt *q = prep(st, sql);
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		text(q, 0, json, size);
	done(st, q);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static int op_member_claims(struct store *st, const char *card_code,
			    int (*fn)(void *userdata, const struct store_claim *c), void *userdata)
{
	static const char sql[] = "SELECT " CLAIM_COLUMNS " FROM claims WHERE card_code = ?"
				  " AND card_code <> '' ORDER BY claimed_us";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_claim c;
		claim_row(q, &c);
		if ((r = fn(userdata, &c)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

static int op_member_surveys(struct store *st, const char *card_code,
			     int (*fn)(void *userdata, const struct store_survey *s),
			     void *userdata)
{
	static const char sql[] = "SELECT " SURVEY_COLUMNS " FROM surveys WHERE card_code = ?"
				  " AND card_code <> '' ORDER BY time_us";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_survey s;
		survey_row(q, &s);
		if ((r = fn(userdata, &s)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

static const struct store_ops sqlite_ops = {
    .close = op_close,
    .errmsg = op_errmsg,
    .begin = op_begin,
    .commit = op_commit,
    .rollback = op_rollback,
    .read_begin = op_read_begin,
    .terminal_get = op_terminal_get,
    .terminal_put = op_terminal_put,
    .enrolment_add = op_enrolment_add,
    .enrolment_take = op_enrolment_take,
    .event_get = op_event_get,
    .event_put = op_event_put,
    .coupon_first_use = op_coupon_first_use,
    .redeemed_pts = op_redeemed_pts,
    .member_spend = op_member_spend,
    .flag_sum = op_flag_sum,
    .link_get = op_link_get,
    .link_put = op_link_put,
    .card_revoke = op_card_revoke,
    .card_revoked = op_card_revoked,
    .sun_counter = op_sun_counter,
    .member_get = op_member_get,
    .member_put = op_member_put,
    .member_erase = op_member_erase,
    .flag_add = op_flag_add,
    .change_put = op_change_put,
    .changes_read = op_changes_read,
    .flags_read = op_flags_read,
    .members_read = op_members_read,
    .count_events = op_count_events,
    .terminals_read = op_terminals_read,
    .event_at = op_event_at,
    .member_events = op_member_events,
    .claim_get = op_claim_get,
    .claim_put = op_claim_put,
    .survey_get = op_survey_get,
    .survey_put = op_survey_put,
    .survey_counts = op_survey_counts,
    .consent_get = op_consent_get,
    .consent_put = op_consent_put,
    .change_get = op_change_get,
    .purge = op_purge,
    .member_claims = op_member_claims,
    .member_surveys = op_member_surveys,
};

int store_sqlite_open(const char *path, struct store **ret, char *err, size_t err_size)
{
	struct store_sqlite *s = calloc(1, sizeof(*s));
	int r = 0;
	if (!s)
		return -ENOMEM;
	s->base.ops = &sqlite_ops;
	/* a connection is used by one thread at a time (each libmicrohttpd daemon has its own) */
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) !=
		SQLITE_OK ||
	    sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK || (r = schema_apply(s->db)) < 0) {
		if (r == -EPROTO)
			snprintf(err, err_size,
				 "%s: made by a newer loyalty-server (schema above %d)", path,
				 SCHEMA_VERSION);
		else
			snprintf(err, err_size, "%s: %s", path,
				 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		sqlite3_close(s->db);
		free(s);
		return -EIO;
	}
	*ret = &s->base;
	return 0;
}

/* ---- for the card pages (store.h): the reads of every view, prepared once ---- */

int store_sqlite_read_begin(struct store *st)
{
	static const char sql[] = "BEGIN DEFERRED";
	sqlite3_stmt *q = prep(st, sql);
	return q ? step_done(st, q) : -EIO;
}

int store_sqlite_read_end(struct store *st)
{
	static const char sql[] = "COMMIT";
	sqlite3_stmt *q = prep(st, sql);
	return q ? step_done(st, q) : -EIO;
}

int store_sqlite_card_page_events(struct store *st, const char *card_code, size_t max,
				  store_event_fn fn, void *userdata)
{
	/* member_events' rows and order, fewer columns */
	static const char sql[] =
	    "SELECT kind, points, amount_gr, receipt_no, time_us, rule, ref, lot_us, items,"
	    " progress FROM events WHERE card_code = ? AND card_code <> ''"
	    " ORDER BY time_us DESC, rowid DESC LIMIT ?";
	sqlite3_stmt *q = prep(st, sql);
	int rc, r = 0;
	if (!q)
		return -EIO;
	sqlite3_bind_text(q, 1, card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (int64_t) max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct ledger_event ev;
		memset(&ev, 0, sizeof(ev));
		text(q, 0, ev.kind, sizeof(ev.kind));
		ev.points = sqlite3_column_int64(q, 1);
		ev.amount_gr = sqlite3_column_int64(q, 2);
		text(q, 3, ev.receipt_no, sizeof(ev.receipt_no));
		ev.time_us = sqlite3_column_int64(q, 4);
		text(q, 5, ev.rule, sizeof(ev.rule));
		text(q, 6, ev.ref, sizeof(ev.ref));
		ev.lot_us = sqlite3_column_int64(q, 7);
		ev.items = sqlite3_column_int64(q, 8);
		ev.progress = sqlite3_column_int64(q, 9);
		if ((r = fn(userdata, &ev)) != 0)
			break;
	}
	done(st, q);
	return r ? r : rc == SQLITE_DONE ? 0 : -EIO;
}

/* ---- checkpoints apart from the writer (store.h) ---- */

static void *checkpointer_run(void *arg)
{
	struct checkpointer *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->due && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		c->due = false;
		pthread_mutex_unlock(&c->lock);
		/* PASSIVE: copies what no reader needs, never waits for the writer; what it
		 * leaves is copied at the next wake-up */
		(void) sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
						 NULL);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* After each commit of the writer's connection, with the WAL's length in pages. */
static int checkpointer_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct checkpointer *c = arg;
	if (frames >= CHECKPOINT_FRAMES_WRITER) {
		(void) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (frames >= CHECKPOINT_FRAMES) {
		pthread_mutex_lock(&c->lock);
		c->due = true;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
	}
	return SQLITE_OK;
}

int store_sqlite_checkpoint_apart(struct store *st)
{
	struct store_sqlite *s = S(st);
	const char *path = sqlite3_db_filename(s->db, "main");
	if (s->ckpt)
		return 0;
	if (!path || !path[0])
		return -EINVAL;
	struct checkpointer *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* synchronous=FULL here too: the database file is synced before the WAL is reused */
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(c->db);
		free(c);
		return -EIO;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, checkpointer_run, c) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		sqlite3_close(c->db);
		free(c);
		return -EAGAIN;
	}
	s->ckpt = c;
	/* replaces SQLite's own checkpoint at the commit (sqlite3_wal_autocheckpoint) */
	sqlite3_wal_hook(s->db, checkpointer_hook, c);
	return 0;
}
