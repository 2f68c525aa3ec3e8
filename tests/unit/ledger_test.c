/* ledger_test: the ledger on real SQLite files in a temporary folder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ledger.h"
#include "ledger_hash.h"

#define STR(x)	#x
#define XSTR(x) STR(x)

struct fixture {
	char dir[64];
	char path[128];
	struct ledger *ledger;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ledger_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	ledger_close(f->ledger);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct ledger_sale sale_of(uint8_t card, int64_t amount_gr, int64_t pts)
{
	struct ledger_sale s = {
	    .amount_gr = amount_gr, .earn_pts = pts, .time_us = INT64_C(1795000000000000)};
	memset(s.pseudonym, card, sizeof(s.pseudonym));
	return s;
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t) v;
	}
}

/* Recompute the chain of the events in path with ledger_hash_event; returns the events checked. */
static int64_t check_chain(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	uint8_t chain[LEDGER_HASH_LEN] = {0};
	int64_t n = 0;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "SELECT seq, event_id, terminal_id, kind, member_id,"
			       " points, amount_gr, receipt_no, time_us, hash,"
			       " rule, ref, lot_us, items, progress,"
			       " (SELECT CAST(value AS INTEGER) FROM meta"
			       "  WHERE key = 'hash_v3_from_seq') FROM events ORDER BY seq",
			       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ledger_hash_event ev = {
		    .seq = sqlite3_column_int64(st, 0),
		    .event_id = sqlite3_column_blob(st, 1),
		    .event_id_len = (size_t) sqlite3_column_bytes(st, 1),
		    .terminal_id = (const char *) sqlite3_column_text(st, 2),
		    .terminal_id_len = (size_t) sqlite3_column_bytes(st, 2),
		    .kind = (const char *) sqlite3_column_text(st, 3),
		    .kind_len = (size_t) sqlite3_column_bytes(st, 3),
		    .member_id = sqlite3_column_int64(st, 4),
		    .points = sqlite3_column_int64(st, 5),
		    .amount_gr = sqlite3_column_int64(st, 6),
		    .receipt_no = (const char *) sqlite3_column_text(st, 7),
		    .receipt_no_len = (size_t) sqlite3_column_bytes(st, 7),
		    .time_us = sqlite3_column_int64(st, 8),
		    .rule = (const char *) sqlite3_column_text(st, 10),
		    .rule_len = (size_t) sqlite3_column_bytes(st, 10),
		    .ref = (const char *) sqlite3_column_text(st, 11),
		    .ref_len = (size_t) sqlite3_column_bytes(st, 11),
		    .lot_us = sqlite3_column_int64(st, 12),
		    .items = sqlite3_column_int64(st, 13),
		    .progress = sqlite3_column_int64(st, 14),
		    /* encoding 2 before the migration to schema 5, 3 from it on */
		    .encoding = sqlite3_column_int64(st, 0) < sqlite3_column_int64(st, 15)
				    ? LEDGER_HASH_ENCODING_V2
				    : LEDGER_HASH_ENCODING_VER,
		};
		assert_int_equal(ev.seq, n + 1);
		assert_int_equal(ledger_hash_event(&ev, chain, chain), 0);
		assert_int_equal(sqlite3_column_bytes(st, 9), LEDGER_HASH_LEN);
		assert_memory_equal(sqlite3_column_blob(st, 9), chain, LEDGER_HASH_LEN);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_sales_book_events_and_balances(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt r1, r2, r3;
	struct ledger_sale a = sale_of(0xAA, 1234, 12), b = sale_of(0xBB, 800, 8);

	assert_int_equal(ledger_commit_sale(f->ledger, &a, &r1), 0);
	assert_true(r1.new_member);
	assert_string_equal(r1.receipt_no, "T1-000001");
	assert_int_equal(r1.seq, 2); /* enrol is seq 1 */
	assert_int_equal(r1.balance_pts, 12);
	assert_int_equal(strlen(r1.card_code), LEDGER_CARD_CODE_LEN);

	a.amount_gr = 4567;
	a.earn_pts = 45;
	assert_int_equal(ledger_commit_sale(f->ledger, &a, &r2), 0);
	assert_false(r2.new_member);
	assert_string_equal(r2.receipt_no, "T1-000003");
	assert_int_equal(r2.balance_pts, 57);
	assert_string_equal(r2.card_code, r1.card_code);
	assert_int_equal(r2.member_id, r1.member_id);
	assert_memory_not_equal(r1.event_id, r2.event_id, LEDGER_EVENT_ID_LEN);

	assert_int_equal(ledger_commit_sale(f->ledger, &b, &r3), 0);
	assert_true(r3.new_member);
	assert_int_equal(r3.balance_pts, 8);
	assert_string_not_equal(r3.card_code, r1.card_code);

	struct ledger_counts c;
	assert_int_equal(ledger_counts(f->ledger, &c), 0);
	assert_int_equal(c.events, 5);
	assert_int_equal(c.members, 2);
	assert_int_equal(c.last_seq, 5);

	/* the stored balance equals the sum of events, and seq has no gap */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM members m WHERE balance_pts !="
					  " (SELECT SUM(points) FROM events e"
					  "  WHERE e.member_id = m.member_id)"),
			 0);
	assert_int_equal(sql_int(f->path, "SELECT MAX(seq) - COUNT(*) FROM events"), 0);

	/* reading an old receipt gives the balance as it was then */
	struct ledger_receipt again;
	assert_int_equal(ledger_get_receipt(f->ledger, "T1-000001", &again), 0);
	assert_int_equal(again.balance_pts, 12);
	assert_true(again.new_member);
	assert_memory_equal(again.event_id, r1.event_id, LEDGER_EVENT_ID_LEN);

	char last[64];
	assert_int_equal(ledger_last_receipt_no(f->ledger, last, sizeof(last)), 0);
	assert_string_equal(last, "T1-000004");

	struct ledger_member m;
	assert_int_equal(ledger_member_by_pseudonym(f->ledger, a.pseudonym, &m), 0);
	assert_int_equal(m.balance_pts, 57);
}

static void test_bad_input_books_nothing(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt r;
	struct ledger_sale s = sale_of(1, 0, 0);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), -EINVAL);
	s = sale_of(1, -5, 0);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), -EINVAL);
	s = sale_of(1, 100, -1);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), -EINVAL);
	struct ledger_counts c;
	assert_int_equal(ledger_counts(f->ledger, &c), 0);
	assert_int_equal(c.events, 0);
	assert_int_equal(ledger_get_receipt(f->ledger, "T1-000001", &r), -ENOENT);
	char last[64];
	assert_int_equal(ledger_last_receipt_no(f->ledger, last, sizeof(last)), -ENOENT);
	uint8_t p[PSEUDONYM_LEN] = {0};
	struct ledger_member m;
	assert_int_equal(ledger_member_by_pseudonym(f->ledger, p, &m), -ENOENT);
}

static void test_events_are_immutable(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt r;
	struct ledger_sale s = sale_of(7, 1000, 10);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET points = 1000", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sql_int(f->path, "SELECT SUM(points) FROM events"), 10);
}

static void test_durability_settings(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *) sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), LEDGER_SCHEMA_VERSION);
}

static void test_reopen_and_refusals(void **state)
{
	struct fixture *f = *state;
	struct ledger *other;
	struct ledger_receipt r;
	struct ledger_sale s = sale_of(3, 990, 9);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	ledger_close(f->ledger);
	f->ledger = NULL;

	/* another terminal's id is refused */
	assert_int_equal(ledger_open(f->path, "T2", &other), -EEXIST);
	/* bad ids are refused */
	assert_int_equal(ledger_open(f->path, "t1", &other), -EINVAL);
	assert_int_equal(ledger_open(f->path, "", &other), -EINVAL);
	assert_int_equal(ledger_open(f->path, "ABCDEFGHIJKLMNOPQ", &other), -EINVAL);

	/* the same terminal reopens and continues the sequence */
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	assert_string_equal(r.receipt_no, "T1-000003");
	assert_int_equal(r.balance_pts, 18);
	ledger_close(f->ledger);
	f->ledger = NULL;

	/* a schema from a newer firmware is refused */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ledger_open(f->path, "T1", &other), -EPROTO);
	assert_int_equal(ledger_open("/nonexistent/dir/ledger.sqlite", "T1", &other), -EIO);
	/* leave a usable ledger for teardown */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = " XSTR(LEDGER_SCHEMA_VERSION),
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
}

/* The test vectors of docs/ledger.md, computed there with printf, xxd and sha256sum. */
static void test_hash_vectors(void **state)
{
	(void) state;
	uint8_t id1[16], id2[16], zero[LEDGER_HASH_LEN] = {0}, h1[LEDGER_HASH_LEN],
				  h2[LEDGER_HASH_LEN], want[LEDGER_HASH_LEN];
	for (int i = 0; i < 16; i++) {
		id1[i] = (uint8_t) i;
		id2[i] = 0xff;
	}
	struct ledger_hash_event e1 = {
	    .seq = 1,
	    .event_id = id1,
	    .event_id_len = 16,
	    .terminal_id = "T1",
	    .terminal_id_len = 2,
	    .kind = "earn",
	    .kind_len = 4,
	    .member_id = 7,
	    .points = 12,
	    .amount_gr = 1234,
	    .receipt_no = "T1-000001",
	    .receipt_no_len = 9,
	    .time_us = INT64_C(1795000000000000),
	    .encoding = LEDGER_HASH_ENCODING_V1,
	};
	struct ledger_hash_event e2 = {
	    .seq = 2,
	    .event_id = id2,
	    .event_id_len = 16,
	    .terminal_id = "T1",
	    .terminal_id_len = 2,
	    .kind = "enrol",
	    .kind_len = 5,
	    .member_id = 0,
	    .points = -5,
	    .amount_gr = 0,
	    .receipt_no = "T1-000002",
	    .receipt_no_len = 9,
	    .time_us = INT64_C(1795000000000001),
	    .encoding = LEDGER_HASH_ENCODING_V1,
	};
	assert_int_equal(ledger_hash_event(&e1, zero, h1), 0);
	unhex("c8844ffcd3f7cdbd41b11a996865c5f6da04c0090f17783a952b8c1370019283", want, 32);
	assert_memory_equal(h1, want, LEDGER_HASH_LEN);
	assert_int_equal(ledger_hash_event(&e2, h1, h2), 0);
	unhex("26fdcea0413077c59a9157e3dda59afc929f72eb62ecdd48c9ae332589e9a3cf", want, 32);
	assert_memory_equal(h2, want, LEDGER_HASH_LEN);
	/* every field counts */
	e1.points = 13;
	assert_int_equal(ledger_hash_event(&e1, zero, h2), 0);
	assert_memory_not_equal(h1, h2, LEDGER_HASH_LEN);
	e1.points = 12;
	e1.event_id = NULL;
	assert_int_equal(ledger_hash_event(&e1, zero, h2), -EINVAL);
	e1.event_id = id1;

	/* encoding version 2 (schema 4): rule, ref and lot_us after time_us */
	e1.encoding = LEDGER_HASH_ENCODING_V2;
	e1.rule = "earn";
	e1.rule_len = 4;
	e1.ref = "";
	e1.lot_us = INT64_C(1795000000000000);
	assert_int_equal(ledger_hash_event(&e1, zero, h1), 0);
	unhex("5b6625455f6bb67e21a1c2eab6128f783ba8864af4dabfe811abd2d8da65b2e2", want, 32);
	assert_memory_equal(h1, want, LEDGER_HASH_LEN);
	e2.encoding = 2;
	e2.kind = "coupon_issue";
	e2.kind_len = 12;
	e2.member_id = 7;
	e2.points = 0;
	e2.rule = "first_purchase";
	e2.rule_len = 14;
	e2.ref = "C-1";
	e2.ref_len = 3;
	assert_int_equal(ledger_hash_event(&e2, h1, h2), 0);
	unhex("e754ea5e093167fe5164fdef7c43776e198f91093f6ea0e3c5c5e7aa5ef35626", want, 32);
	assert_memory_equal(h2, want, LEDGER_HASH_LEN);
	e2.lot_us = 1;
	assert_int_equal(ledger_hash_event(&e2, h1, h1), 0);
	assert_memory_not_equal(h1, h2, LEDGER_HASH_LEN);
	e2.lot_us = 0;

	/* encoding version 3 (schema 5): items and progress after lot_us; a stamp event chained
	 * to the version-2 event 2 */
	static const uint8_t id3[16] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
					0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
	struct ledger_hash_event e3 = {
	    .seq = 3,
	    .event_id = id3,
	    .event_id_len = 16,
	    .terminal_id = "T1",
	    .terminal_id_len = 2,
	    .kind = "stamp",
	    .kind_len = 5,
	    .member_id = 7,
	    .amount_gr = 1000,
	    .receipt_no = "T1-000003",
	    .receipt_no_len = 9,
	    .time_us = INT64_C(1795000000000002),
	    .rule = "coffee",
	    .rule_len = 6,
	    .ref = "coffee",
	    .ref_len = 6,
	    .items = 3,
	    .progress = 1,
	    .encoding = 0, /* the current version */
	};
	unhex("e754ea5e093167fe5164fdef7c43776e198f91093f6ea0e3c5c5e7aa5ef35626", h1, 32);
	assert_int_equal(ledger_hash_event(&e3, h1, h2), 0);
	unhex("82ae04786cbfdc49ab161409fc812004854cbfdd4e64b43ce944d377606701d5", want, 32);
	assert_memory_equal(h2, want, LEDGER_HASH_LEN);
	e3.progress = 2;
	assert_int_equal(ledger_hash_event(&e3, h1, h2), 0);
	assert_memory_not_equal(h2, want, LEDGER_HASH_LEN);
	e3.encoding = 4;
	assert_int_equal(ledger_hash_event(&e3, h1, h2), -EINVAL);
}

static void test_chain_after_sales(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt r;
	for (int i = 0; i < 6; i++) {
		struct ledger_sale s = sale_of((uint8_t) (i % 3), 1000 + i, 10 + i);
		s.time_us += i;
		assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	}
	assert_int_equal(check_chain(f->path), 9); /* 3 enrol + 6 earn */
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 9);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE length(hash) = 32"),
			 9);
}

/* The SQL of migration 0 -> 1, as schema 1 firmware wrote it. */
static const char schema1_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
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
    "CREATE INDEX events_by_member ON events (member_id, seq);"
    "CREATE TRIGGER events_immutable BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'ledger events are immutable'); END;"
    "CREATE TRIGGER events_undeletable BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'ledger events cannot be deleted'); END;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA user_version = 1;";

/* A ledger written by schema 1 firmware (one sale of a new card) is hashed by migration 1 -> 2. */
static void test_migration_fills_chain(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	ledger_close(f->ledger);
	f->ledger = NULL;
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, schema1_sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
			 "INSERT INTO meta VALUES ('terminal_id', 'T1');"
			 "INSERT INTO members VALUES (1, zeroblob(32), 'ABCDEFGHJKMN', 12,"
			 "  1795000000000000, 1795000000000000);"
			 "INSERT INTO events VALUES (1, x'000102030405060708090a0b0c0d0e0f',"
			 "  'T1', 'enrol', 1, 0, 0, 'T1-000001', 1795000000000000);"
			 "INSERT INTO events VALUES (2, x'101112131415161718191a1b1c1d1e1f',"
			 "  'T1', 'earn', 1, 12, 1234, 'T1-000001', 1795000000000000);",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), LEDGER_SCHEMA_VERSION);
	assert_int_equal(check_chain(f->path), 2);
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 2);
	/* the update trigger is back */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET points = 99", NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
	/* the next sale continues the chain and the balance */
	struct ledger_sale s = sale_of(0, 500, 5);
	struct ledger_receipt r;
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	assert_string_equal(r.receipt_no, "T1-000003");
	assert_false(r.new_member);
	assert_int_equal(r.balance_pts, 17);
	assert_int_equal(check_chain(f->path), 3);
}

/* Three sales: events 1 enrol A, 2 earn A 12, 3 earn A 45, 4 enrol B, 5 earn B 8. */
static void three_sales(struct fixture *f)
{
	struct ledger_receipt r;
	struct ledger_sale a = sale_of(0xAA, 1234, 12), b = sale_of(0xBB, 800, 8);
	assert_int_equal(ledger_commit_sale(f->ledger, &a, &r), 0);
	a.amount_gr = 4567;
	a.earn_pts = 45;
	assert_int_equal(ledger_commit_sale(f->ledger, &a, &r), 0);
	assert_int_equal(ledger_commit_sale(f->ledger, &b, &r), 0);
}

/* Change the file behind the ledger's back, as someone with sqlite3 would. */
static void tamper(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
	sqlite3_close(db);
}

/* Full, quick and file verification all find the same first problem. */
static void expect_problem(struct fixture *f, enum ledger_problem what, int64_t seq,
			   int64_t member_id, const char *words)
{
	struct ledger_verify_report full, quick, file;
	assert_int_equal(ledger_verify(f->ledger, &full), 0);
	assert_int_equal(ledger_verify_quick(f->ledger, &quick), 0);
	assert_int_equal(ledger_verify_file(f->path, &file), 0);
	struct ledger_verify_report *reps[] = {&full, &quick, &file};
	for (size_t i = 0; i < 3; i++) {
		struct ledger_verify_report *rep = reps[i];
		if (!strstr(rep->message, words))
			fail_msg("report %zu: '%s' does not say '%s'", i, rep->message, words);
		assert_int_equal(rep->problem, what);
		assert_int_equal(rep->seq, seq);
		assert_int_equal(rep->member_id, member_id);
	}
}

static void test_verify_intact(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report rep;
	/* an empty ledger is intact */
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events, 0);
	three_sales(f);
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_string_equal(rep.message, "");
	assert_int_equal(rep.events, 5);
	assert_int_equal(rep.events_checked, 5);
	assert_int_equal(rep.first_seq_checked, 1);
	assert_int_equal(rep.members, 2);
	assert_int_equal(rep.members_checked, 2);
	assert_int_equal(ledger_verify_quick(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 5);
	/* with integrity_check in place of quick_check */
	assert_int_equal(ledger_verify_full(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 5);
	assert_int_equal(rep.members_checked, 2);
	assert_int_equal(ledger_verify_file_full(f->path, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 5);
	/* read-only, beside the open ledger */
	assert_int_equal(ledger_verify_file(f->path, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 5);
	/* and after the ledger is closed (no WAL files left) */
	ledger_close(f->ledger);
	f->ledger = NULL;
	assert_int_equal(ledger_verify_file(f->path, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.events_checked, 5);
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
}

static void test_verify_changed_event(void **state)
{
	struct fixture *f = *state;
	three_sales(f);
	tamper(f->path, "DROP TRIGGER events_immutable;"
			"UPDATE events SET points = 99 WHERE seq = 3;"
			"UPDATE members SET balance_pts = 111 WHERE member_id = 1;");
	expect_problem(f, LEDGER_PROBLEM_HASH, 3, 1, "event 3 does not match its hash");
}

static void test_verify_deleted_event(void **state)
{
	struct fixture *f = *state;
	three_sales(f);
	tamper(f->path, "DROP TRIGGER events_undeletable; DELETE FROM events WHERE seq = 3;");
	expect_problem(f, LEDGER_PROBLEM_MISSING, 3, 0,
		       "event 3 is missing: after event 2 comes event 4");
	tamper(f->path, "DELETE FROM events WHERE seq = 1;");
	expect_problem(f, LEDGER_PROBLEM_MISSING, 1, 0, "event 1 is missing");
}

static void test_verify_swapped_events(void **state)
{
	struct fixture *f = *state;
	three_sales(f);
	tamper(f->path, "DROP TRIGGER events_immutable;"
			"UPDATE events SET seq = 100 WHERE seq = 2;"
			"UPDATE events SET seq = 2 WHERE seq = 3;"
			"UPDATE events SET seq = 3 WHERE seq = 100;");
	expect_problem(f, LEDGER_PROBLEM_HASH, 2, 1, "event 2 does not match its hash");
}

static void test_verify_changed_balance(void **state)
{
	struct fixture *f = *state;
	three_sales(f);
	tamper(f->path, "UPDATE members SET balance_pts = 1057 WHERE member_id = 1;");
	expect_problem(f, LEDGER_PROBLEM_BALANCE, 0, 1,
		       "member 1 has a balance of 1057 pts but its events add up to 57 pts");
}

static void test_verify_removed_hash_and_member(void **state)
{
	struct fixture *f = *state;
	three_sales(f);
	tamper(f->path, "PRAGMA foreign_keys = OFF; DELETE FROM members WHERE member_id = 2;");
	expect_problem(f, LEDGER_PROBLEM_MEMBER, 4, 2, "event 4 belongs to member 2");
	tamper(f->path, "DROP TRIGGER events_immutable;"
			"UPDATE events SET hash = NULL WHERE seq = 5;");
	expect_problem(f, LEDGER_PROBLEM_HASH, 5, 2, "event 5 has no hash");
}

/* The quick check hashes the last 1000 events only, linked to the stored hash before them. */
static void test_verify_quick_window(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report rep;
	struct ledger_receipt r;
	for (int i = 0; i < 501; i++) { /* an enrol and an earn event each: 1002 events */
		struct ledger_sale s = sale_of(0, 100, 1);
		s.pseudonym[0] = (uint8_t) i;
		s.pseudonym[1] = (uint8_t) (i >> 8);
		assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	}
	assert_int_equal(ledger_verify_quick(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(rep.first_seq_checked, 3);
	assert_int_equal(rep.events_checked, 1000);
	/* an old enrol event changed: only the full check sees it */
	tamper(f->path, "DROP TRIGGER events_immutable;"
			"UPDATE events SET event_id = zeroblob(16) WHERE seq = 1;");
	assert_int_equal(ledger_verify_quick(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_HASH);
	assert_int_equal(rep.seq, 1);
	/* a changed hash just before the window breaks the link to the window's first event */
	tamper(f->path, "UPDATE events SET hash = zeroblob(32) WHERE seq = 2;");
	assert_int_equal(ledger_verify_quick(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_HASH);
	assert_int_equal(rep.seq, 3);
}

static void test_verify_file_refusals(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report rep;
	char path[160];
	three_sales(f);
	assert_int_equal(ledger_verify_file("/nonexistent/ledger.sqlite", &rep), -ENOENT);

	/* a file of random-looking bytes */
	snprintf(path, sizeof(path), "%s/junk.sqlite", f->dir);
	FILE *junk = fopen(path, "w");
	assert_non_null(junk);
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919) & 0xff, junk);
	fclose(junk);
	assert_int_equal(ledger_verify_file(path, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_FILE);
	assert_non_null(strstr(rep.message, "not a database"));

	/* an empty database is not a ledger */
	snprintf(path, sizeof(path), "%s/empty.sqlite", f->dir);
	junk = fopen(path, "w");
	assert_non_null(junk);
	fclose(junk);
	assert_int_equal(ledger_verify_file(path, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_SCHEMA);
	assert_non_null(strstr(rep.message, "not a ledger"));

	/* a newer schema is refused by open and reported by verify */
	ledger_close(f->ledger);
	f->ledger = NULL;
	tamper(f->path, "PRAGMA user_version = 99");
	struct ledger *other;
	assert_int_equal(ledger_open(f->path, "T1", &other), -EPROTO);
	assert_int_equal(ledger_verify_file(f->path, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_SCHEMA);
	assert_non_null(strstr(rep.message, "newer firmware"));
	tamper(f->path, "PRAGMA user_version = " XSTR(LEDGER_SCHEMA_VERSION));
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
}

static void test_terminal_id_rules(void **state)
{
	(void) state;
	assert_true(ledger_terminal_id_valid("KRK01"));
	assert_true(ledger_terminal_id_valid("A"));
	assert_false(ledger_terminal_id_valid(NULL));
	assert_false(ledger_terminal_id_valid("krk01"));
	assert_false(ledger_terminal_id_valid("KRK-01"));
	assert_false(ledger_terminal_id_valid("KRK 1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sales_book_events_and_balances, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_books_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_are_immutable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durability_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_and_refusals, setup, teardown),
	    cmocka_unit_test(test_terminal_id_rules),
	    cmocka_unit_test(test_hash_vectors),
	    cmocka_unit_test_setup_teardown(test_chain_after_sales, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_fills_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_changed_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_deleted_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_swapped_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_changed_balance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_removed_hash_and_member, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_quick_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_file_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
