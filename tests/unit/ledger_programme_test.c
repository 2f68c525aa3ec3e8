/*
 * ledger_programme_test: schema 4 on real SQLite files: the migration of a schema-3 ledger, and
 * the programme's results (rules_apply, rules_refund) booked with ledger_book and
 * ledger_book_refund, the member state read back equal to what the rules reported.
 */
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
#include "programme.h"
#include "rules.h"

#define T0	   INT64_C(1795000000000000)
#define US_PER_DAY INT64_C(86400000000)

struct fixture {
	char dir[64];
	char path[128];
	struct ledger *ledger;
	struct programme prog;
};

/* Schema 3 as its firmware wrote it (migrations 0 -> 1 -> 2 -> 3 folded). */
static const char schema3_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "CREATE TABLE members ("
    "  member_id INTEGER PRIMARY KEY,"
    "  pseudonym BLOB UNIQUE CHECK (pseudonym IS NULL OR length(pseudonym) = 32),"
    "  card_code TEXT NOT NULL UNIQUE,"
    "  balance_pts INTEGER NOT NULL DEFAULT 0,"
    "  created_us INTEGER NOT NULL,"
    "  last_visit_us INTEGER NOT NULL,"
    "  visits INTEGER NOT NULL DEFAULT 0,"
    "  erased_us INTEGER"
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
    "  time_us INTEGER NOT NULL,"
    "  hash BLOB CHECK (hash IS NULL OR length(hash) = 32)"
    ") STRICT;"
    "CREATE INDEX events_by_receipt ON events (receipt_no);"
    "CREATE INDEX events_by_member ON events (member_id, seq);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  acked_seq INTEGER NOT NULL CHECK (acked_seq >= 0)) STRICT;"
    "INSERT INTO outbox (id, acked_seq) VALUES (1, 0);"
    "CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq INTEGER NOT NULL CHECK (seq > 0), hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  purged_events INTEGER NOT NULL, time_us INTEGER NOT NULL) STRICT;"
    "CREATE TABLE checkpoint_members (member_id INTEGER PRIMARY KEY REFERENCES members"
    "  (member_id), points INTEGER NOT NULL, visits INTEGER NOT NULL,"
    "  last_visit_us INTEGER NOT NULL) STRICT;"
    "CREATE TRIGGER events_immutable BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'ledger events are immutable'); END;"
    "CREATE TRIGGER events_undeletable BEFORE DELETE ON events"
    "  WHEN OLD.seq > (SELECT acked_seq FROM outbox)"
    "    OR OLD.seq > COALESCE((SELECT seq FROM checkpoint), 0)"
    "  BEGIN SELECT RAISE(ABORT, 'ledger events cannot be deleted'); END;"
    "INSERT INTO meta VALUES ('terminal_id', 'T1');"
    "INSERT INTO members VALUES (1, zeroblob(32), 'ABCDEFGHJKMN', 57, 1795000000000000,"
    "  1795086400000000, 2, NULL);"
    "INSERT INTO members VALUES (2, randomblob(32), 'BCDEFGHJKMNP', 8, 1795000000000000,"
    "  1795000000000000, 1, NULL);"
    "PRAGMA journal_mode = WAL;";

/* The events of the schema-3 ledger: two sales of member 1 (a day apart), one of member 2. */
static const struct {
	const char *kind;
	int64_t member_id, points, amount_gr;
	const char *receipt_no;
	int64_t time_us;
} schema3_events[] = {
    {"enrol", 1, 0, 0, "T1-000001", T0},
    {"earn", 1, 12, 1234, "T1-000001", T0},
    {"earn", 1, 45, 4500, "T1-000003", T0 + US_PER_DAY},
    {"enrol", 2, 0, 0, "T1-000004", T0},
    {"earn", 2, 8, 800, "T1-000004", T0},
};

/* Write a schema-3 ledger at path, hashed under encoding 1; tamper_seq changes one event's
 * points after it was hashed (0: none). */
static void write_schema3(const char *path, int64_t tamper_seq)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	uint8_t chain[LEDGER_HASH_LEN] = {0};
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, schema3_sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "INSERT INTO events VALUES (?1, ?2, 'T1', ?3, ?4, ?5, ?6,"
			       " ?7, ?8, ?9)",
			       -1, &st, NULL),
	    SQLITE_OK);
	for (size_t i = 0; i < sizeof(schema3_events) / sizeof(schema3_events[0]); i++) {
		uint8_t id[16];
		memset(id, (int) i + 1, sizeof(id));
		struct ledger_hash_event ev = {
		    .seq = (int64_t) i + 1,
		    .event_id = id,
		    .event_id_len = sizeof(id),
		    .terminal_id = "T1",
		    .terminal_id_len = 2,
		    .kind = schema3_events[i].kind,
		    .kind_len = strlen(schema3_events[i].kind),
		    .member_id = schema3_events[i].member_id,
		    .points = schema3_events[i].points,
		    .amount_gr = schema3_events[i].amount_gr,
		    .receipt_no = schema3_events[i].receipt_no,
		    .receipt_no_len = strlen(schema3_events[i].receipt_no),
		    .time_us = schema3_events[i].time_us,
		    .encoding = LEDGER_HASH_ENCODING_V1,
		};
		assert_int_equal(ledger_hash_event(&ev, chain, chain), 0);
		sqlite3_bind_int64(st, 1, ev.seq);
		sqlite3_bind_blob(st, 2, id, sizeof(id), SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ev.kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, ev.member_id);
		sqlite3_bind_int64(st, 5, ev.points + (ev.seq == tamper_seq));
		sqlite3_bind_int64(st, 6, ev.amount_gr);
		sqlite3_bind_text(st, 7, ev.receipt_no, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, ev.time_us);
		sqlite3_bind_blob(st, 9, chain, sizeof(chain), SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ledger_programme_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
	write_schema3(f->path, 0);
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
	programme_default(&f->prog);
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

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void assert_verified(struct fixture *f)
{
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	if (rep.problem != LEDGER_PROBLEM_NONE)
		fail_msg("verify: %s", rep.message);
}

/* Every field of the rules' member state, compared one by one. */
static void assert_member_equal(const struct rules_member *want, const struct rules_member *got)
{
	assert_int_equal(got->member_id, want->member_id);
	assert_int_equal(got->balance_pts, want->balance_pts);
	assert_int_equal(got->n_lots, want->n_lots);
	for (size_t i = 0; i < want->n_lots; i++) {
		assert_int_equal(got->lots[i].earned_us, want->lots[i].earned_us);
		assert_int_equal(got->lots[i].pts, want->lots[i].pts);
	}
	assert_int_equal(got->spend_window_gr, want->spend_window_gr);
	for (size_t k = 0; k < PROGRAMME_STAMPS_MAX; k++)
		assert_int_equal(got->stamps[k], want->stamps[k]);
	assert_int_equal(got->n_coupons, want->n_coupons);
	for (size_t i = 0; i < want->n_coupons; i++) {
		const struct rules_coupon *a = &want->coupons[i], *b = &got->coupons[i];
		assert_string_equal(b->id, a->id);
		assert_string_equal(b->campaign, a->campaign);
		assert_int_equal(b->percent_bp, a->percent_bp);
		assert_int_equal(b->min_basket_gr, a->min_basket_gr);
		assert_int_equal(b->expires_us, a->expires_us);
		assert_int_equal(b->combinable, a->combinable);
		assert_int_equal(b->used, a->used);
	}
	assert_int_equal(got->last_coupon_us, want->last_coupon_us);
	assert_int_equal(got->welcomed, want->welcomed);
	assert_int_equal(got->first_purchase_done, want->first_purchase_done);
	assert_int_equal(got->birth_month, want->birth_month);
	assert_int_equal(got->birth_day, want->birth_day);
	assert_int_equal(got->birthday_bonus_year, want->birthday_bonus_year);
	assert_int_equal(got->referrer_id, want->referrer_id);
	assert_int_equal(got->first_visit_us, want->first_visit_us);
	assert_int_equal(got->last_visit_us, want->last_visit_us);
	assert_int_equal(got->visits, want->visits);
	assert_int_equal(got->monetary_gr, want->monetary_gr);
	assert_int_equal(got->offline_redeemed_pts, want->offline_redeemed_pts);
}

/* A schema-3 ledger migrates to 4 and 5: a valid chain under encoding 2, lots from the earn events,
 * a sale record per sale, the events' triggers back as schema 3 had them. */
static void test_migration_from_schema3(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), LEDGER_SCHEMA_VERSION);
	assert_int_equal(LEDGER_SCHEMA_VERSION, 9);
	assert_verified(f);
	/* 8 -> 9: the server's members keep the first name a member allows the tills to show */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM pragma_table_info('server_members')"
					  " WHERE name = 'first_name'"),
			 1);
	/* and on to 5: the events so far keep encoding 2, new ones get 3 */
	assert_int_equal(sql_int(f->path, "SELECT value FROM meta WHERE key = 'hash_v3_from_seq'"),
			 6);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"), 5);
	/* one lot per earn event, at its time */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM lots"), 3);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM lots l JOIN events e ON"
					  " e.member_id = l.member_id AND e.time_us = l.earned_us"
					  " AND e.points = l.pts AND e.kind = 'earn'"),
			 3);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sales"), 3);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master WHERE type ="
					  " 'trigger' AND tbl_name = 'events'"),
			 2);
	assert_int_equal(sql_int(f->path, "SELECT instr(sql, 'WHEN OLD.seq > (SELECT acked_seq"
					  " FROM outbox)') > 0 FROM sqlite_master WHERE name ="
					  " 'events_undeletable'"),
			 1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master WHERE type ="
					  " 'index' AND name IN ('events_by_receipt',"
					  " 'events_by_member')"),
			 2);

	struct rules_member m;
	assert_int_equal(ledger_member_state(f->ledger, 1, &f->prog, T0 + 2 * US_PER_DAY, &m), 0);
	assert_int_equal(m.balance_pts, 57);
	assert_int_equal(m.n_lots, 2);
	assert_int_equal(m.lots[0].earned_us, T0);
	assert_int_equal(m.lots[0].pts, 12);
	assert_int_equal(m.lots[1].pts, 45);
	assert_int_equal(m.visits, 2);
	assert_true(m.first_purchase_done);
	assert_int_equal(m.first_visit_us, T0);
	assert_int_equal(m.last_visit_us, T0 + US_PER_DAY);
	assert_int_equal(m.monetary_gr, 5734);
	assert_int_equal(m.spend_window_gr, 5734);

	struct rules_sale_record rec;
	assert_int_equal(ledger_sale_record(f->ledger, "T1-000003", &rec), 0);
	assert_int_equal(rec.basket_gr, 4500);
	assert_int_equal(rec.earned_pts, 45);
	assert_int_equal(ledger_sale_record(f->ledger, "T1-000002", &rec), -ENOENT);

	/* the old booking path goes on, and makes a lot */
	struct ledger_sale s = {.amount_gr = 500, .earn_pts = 5, .time_us = T0 + 2 * US_PER_DAY};
	struct ledger_receipt r;
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &r), 0);
	assert_int_equal(r.member_id, 1);
	assert_int_equal(r.balance_pts, 62);
	assert_verified(f);
	assert_int_equal(ledger_member_state(f->ledger, 1, &f->prog, T0 + 2 * US_PER_DAY, &m), 0);
	assert_int_equal(m.n_lots, 3);
	assert_int_equal(m.lots[2].pts, 5);
}

/* A damaged schema-3 chain is not hashed again: the migration stops and changes nothing. */
static void test_migration_refuses_broken_chain(void **state)
{
	struct fixture *f = *state;
	char path[160];
	struct ledger *l = NULL;
	snprintf(path, sizeof(path), "%s/tampered.sqlite", f->dir);
	write_schema3(path, 3);
	assert_int_equal(ledger_open(path, "T1", &l), -EBADMSG);
	assert_null(l);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 3);
}

/* Verify notices lots that do not add up to the balance. */
static void test_verify_checks_lots(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE lots SET pts = pts + 1 WHERE member_id = 2", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_BALANCE);
	assert_int_equal(rep.member_id, 2);
	assert_non_null(strstr(rep.message, "lots"));
}

struct kinds {
	char seen[256];
};

static int note_kind(void *userdata, const struct ledger_event *ev)
{
	struct kinds *k = userdata;
	size_t n = strlen(k->seen);
	snprintf(k->seen + n, sizeof(k->seen) - n, "%s ", ev->kind);
	return 0;
}

static struct rules_line line(const char *cat, int32_t qty, int64_t unit)
{
	struct rules_line l = {.qty = qty, .unit_gr = unit};
	snprintf(l.sku, sizeof(l.sku), "%s-1", cat);
	snprintf(l.category, sizeof(l.category), "%s", cat);
	return l;
}

/* Apply the programme to a sale for the card, book it, and check the ledger against the rules. */
static void sale(struct fixture *f, const uint8_t *card, int64_t member_id, int64_t now,
		 const struct rules_line *lines, size_t n, const struct rules_request *req,
		 struct rules_result *res, struct ledger_receipt *rc)
{
	static struct rules_member before, after;
	int64_t eligible = 0;
	assert_int_equal(ledger_member_state(f->ledger, member_id, &f->prog, now, &before), 0);
	struct rules_basket basket = {.lines = lines, .n_lines = n};
	assert_int_equal(rules_apply(&f->prog, &before, &basket, req, now, res), 0);
	assert_int_equal(res->refusal, RULES_OK);
	for (size_t i = 0; i < n; i++)
		eligible += lines[i].qty * lines[i].unit_gr;
	struct ledger_booking b = {
	    .prog = &f->prog, .time_us = now, .eligible_basket_gr = eligible};
	assert_int_equal(ledger_book(f->ledger, card, res, &b, rc), 0);
	assert_verified(f);
	assert_int_equal(ledger_member_state(f->ledger, rc->member_id, &f->prog, now, &after), 0);
	res->member.member_id = rc->member_id; /* a new card: the rules saw member 0 */
	assert_member_equal(&res->member, &after);
	assert_int_equal(rc->balance_pts, res->balance_pts);
}

/* First sale (welcome bonus, coupon issued), a sale with the coupon and a stamp card, a sale
 * paid partly with points, then a refund of half of it by receipt. */
static void test_programme_sales_and_refund(void **state)
{
	struct fixture *f = *state;
	static struct rules_result res;
	static struct rules_refund_result rr;
	struct ledger_receipt r1, r2, r3, rf;
	uint8_t card[PSEUDONYM_LEN];
	memset(card, 0xCC, sizeof(card));

	/* 1: a new card, 50 PLN of food: 50 points, welcome 50, the first-purchase coupon */
	struct rules_line l1[] = {line("food", 1, 5000)};
	struct rules_request q1 = {.new_coupon_id = "C-0001"};
	sale(f, card, 0, T0, l1, 1, &q1, &res, &r1);
	assert_true(r1.new_member);
	assert_int_equal(r1.balance_pts, 100);
	assert_true(res.coupon_issued);
	assert_string_equal(r1.receipt_no, "T1-000006");
	int64_t id = r1.member_id;

	/* 2: twelve coffees with the coupon: one free by the stamp card, 10% off the rest */
	struct rules_line l2[] = {line("coffee", 12, 1000)};
	struct rules_request q2 = {.coupon_id = "C-0001", .new_coupon_id = "C-0002"};
	sale(f, card, id, T0 + US_PER_DAY, l2, 1, &q2, &res, &r2);
	assert_int_equal(res.stamp_discount_gr, 1000);
	assert_int_equal(res.coupon_discount_gr, 1100);
	assert_false(res.coupon_issued);
	assert_int_equal(sql_int(f->path, "SELECT count FROM member_stamps"), 2);
	assert_int_equal(sql_int(f->path, "SELECT used_us FROM coupons WHERE id = 'C-0001'"),
			 T0 + US_PER_DAY);

	/* 3: 100 PLN, 100 points redeemed (10 PLN) */
	struct rules_line l3[] = {line("food", 2, 5000)};
	struct rules_request q3 = {.redeem_pts = 100};
	int64_t now3 = T0 + 2 * US_PER_DAY;
	sale(f, card, id, now3, l3, 1, &q3, &res, &r3);
	assert_int_equal(res.points_discount_gr, 1000);
	assert_int_equal(res.redeemed_pts, 100);

	/* refund of one of the two items, by receipt, from the record the ledger keeps */
	struct rules_sale_record rec;
	static struct rules_member before, after;
	int64_t now4 = T0 + 3 * US_PER_DAY;
	assert_int_equal(ledger_sale_record(f->ledger, r3.receipt_no, &rec), 0);
	assert_int_equal(rec.paid_gr, 9000);
	assert_int_equal(rec.redeemed_pts, 100);
	assert_int_equal(rec.eligible_basket_gr, 10000);
	assert_int_equal(ledger_member_state(f->ledger, id, &f->prog, now4, &before), 0);
	struct rules_refund_request half = {.basket_gr = 5000, .eligible_gr = 5000};
	assert_int_equal(rules_refund(&f->prog, &before, &rec, &half, now4, &rr), 0);
	assert_int_equal(rr.refusal, RULES_OK);
	assert_int_equal(ledger_book_refund(f->ledger, r3.receipt_no, &rr, now4, &rf), 0);
	assert_verified(f);
	assert_int_equal(ledger_member_state(f->ledger, id, &f->prog, now4, &after), 0);
	assert_member_equal(&rr.member, &after);
	assert_int_equal(rf.balance_pts, rr.balance_pts);
	assert_int_equal(rf.amount_gr, -rr.money_back_gr);
	assert_int_equal(ledger_sale_record(f->ledger, r3.receipt_no, &rec), 0);
	assert_int_equal(rec.refunded_basket_gr, 5000);
	assert_int_equal(rec.recredited_pts, rr.recredited_pts);
	assert_int_equal(rec.reversed_pts, rr.reversed_pts);
	/* the same result again is stale: the record moved on */
	assert_int_equal(ledger_book_refund(f->ledger, r3.receipt_no, &rr, now4, &rf), -ESTALE);

	/* the outbox carries the new kinds, with rule, ref and lot */
	struct kinds k = {{0}};
	assert_true(ledger_for_each_event(f->ledger, 6, 0, note_kind, &k) > 0);
	assert_string_equal(k.seen, "enrol earn bonus coupon_issue stamp coupon_use earn "
				    "redeem earn recredit reverse refund ");
	static struct ledger_event batch[LEDGER_OUTBOX_BATCH_MAX];
	size_t n;
	assert_int_equal(ledger_outbox_read(f->ledger, LEDGER_OUTBOX_BATCH_MAX, batch, &n), 0);
	assert_int_equal(n, 17);
	assert_string_equal(batch[8].kind, "coupon_issue");
	assert_string_equal(batch[8].ref, "C-0001");
	assert_string_equal(batch[8].rule, "first_purchase");
	assert_string_equal(batch[14].kind, "recredit");
	assert_int_equal(batch[14].lot_us, now3);
	assert_string_equal(batch[16].ref, r3.receipt_no);
	assert_true(batch[16].amount_gr < 0);

	/* a refused result, or one for another member, books nothing */
	res.refusal = RULES_REFUSED_REDEEM_MIN;
	struct ledger_booking b = {.prog = &f->prog, .time_us = now4};
	assert_int_equal(ledger_book(f->ledger, card, &res, &b, &r1), -EINVAL);
	res.refusal = RULES_OK;
	res.member.member_id = 1;
	assert_int_equal(ledger_book(f->ledger, card, &res, &b, &r1), -EINVAL);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"), 17);
}

/* The whole stored member state as text: members' folded fields, lots, stamp cards. */
static char *state_text(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(
		db,
		"SELECT (SELECT group_concat(x, ';') FROM (SELECT member_id || ':' || balance_pts"
		"   || ',' || visits || ',' || last_visit_us || ',' || first_visit_us || ','"
		"   || monetary_gr || ',' || first_purchase_done || ',' || last_coupon_us || ','"
		"   || birthday_bonus_year || ',' || welcomed AS x FROM members ORDER BY "
		"member_id))"
		" || '|' || COALESCE((SELECT group_concat(x, ';') FROM (SELECT member_id || ':'"
		"   || earned_us || '=' || pts AS x FROM lots ORDER BY member_id, earned_us)), '')"
		" || '|' || COALESCE((SELECT group_concat(x, ';') FROM (SELECT member_id || ':'"
		"   || card || '=' || count AS x FROM member_stamps WHERE count > 0"
		"   ORDER BY member_id, card)), '')",
		-1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	out = strdup((const char *) sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_non_null(out);
	return out;
}

static void tamper(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void expect_member_problem(struct fixture *f, int64_t member_id, const char *words)
{
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	if (rep.problem != LEDGER_PROBLEM_BALANCE)
		fail_msg("verify found no member problem, expected '%s'", words);
	assert_int_equal(rep.member_id, member_id);
	if (!strstr(rep.message, words))
		fail_msg("report '%s' does not say '%s'", rep.message, words);
}

/* The award trace of a sale is stored with it, read back step by step, and purged with it. */
static void test_sale_trace(void **state)
{
	struct fixture *f = *state;
	static struct rules_result res;
	struct ledger_receipt rc;
	struct rules_trace t[RULES_TRACE_MAX];
	size_t n = 99;
	uint8_t card[PSEUDONYM_LEN];
	memset(card, 0x7A, sizeof(card));

	struct rules_line l1[] = {line("food", 3, 4567), line("coffee", 2, 1000)};
	struct rules_request q = {0};
	sale(f, card, 0, T0 + US_PER_DAY, l1, 2, &q, &res, &rc);
	assert_true(res.n_trace >= 2); /* the base points and the welcome bonus at least */
	assert_int_equal(ledger_sale_trace(f->ledger, rc.receipt_no, t, RULES_TRACE_MAX, &n), 0);
	assert_int_equal(n, res.n_trace);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(t[i].rule, res.trace[i].rule);
		assert_int_equal(t[i].base_gr, res.trace[i].base_gr);
		assert_int_equal(t[i].base_pts, res.trace[i].base_pts);
		assert_int_equal(t[i].permille, res.trace[i].permille);
		assert_int_equal(t[i].points, res.trace[i].points);
		assert_int_equal(t[i].dropped, res.trace[i].dropped);
	}
	/* too small a buffer, an unknown receipt, bad arguments */
	assert_int_equal(ledger_sale_trace(f->ledger, rc.receipt_no, t, 1, &n), -ENOBUFS);
	assert_int_equal(ledger_sale_trace(f->ledger, "T1-999999", t, RULES_TRACE_MAX, &n),
			 -ENOENT);
	assert_int_equal(ledger_sale_trace(f->ledger, NULL, t, RULES_TRACE_MAX, &n), -EINVAL);
	/* a receipt booked before schema 5 has no trace, but is known */
	n = 99;
	assert_int_equal(ledger_sale_trace(f->ledger, "T1-000001", t, RULES_TRACE_MAX, &n), 0);
	assert_int_equal(n, 0);

	/* the purge takes the sale's record and trace with its events */
	int64_t last = sql_int(f->path, "SELECT MAX(seq) FROM events");
	struct ledger_purge_report pr;
	assert_int_equal(ledger_outbox_ack(f->ledger, last), 0);
	assert_int_equal(ledger_purge(f->ledger, T0 + 500 * US_PER_DAY, 400, &pr), 0);
	assert_int_equal(pr.checkpoint_seq, last);
	assert_int_equal(ledger_sale_trace(f->ledger, rc.receipt_no, t, RULES_TRACE_MAX, &n),
			 -ENOENT);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sale_traces"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sales"), 0);
	assert_verified(f);
}

static uint64_t rng = 0x9E3779B97F4A7C15u;

static int64_t rnd(int64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (int64_t) (rng % (uint64_t) n);
}

/* Random sales (stamp cards, coupons, redemptions), refunds, expiry and a purge over four
 * years: after it all, wiping the member state and rebuilding it from the checkpoint and the
 * events gives back exactly what the bookings stored; each tampered field is reported. */
static void test_rebuild_equals_state(void **state)
{
	struct fixture *f = *state;
	static struct rules_result res;
	static struct rules_refund_result rr;
	static struct rules_member before;
	static char receipts[200][LEDGER_RECEIPT_NO_MAX + 1];
	size_t n_receipts = 0;
	uint8_t cards[3][PSEUDONYM_LEN];
	int64_t ids[3] = {0, 0, 0};
	struct ledger_receipt rc;
	int64_t now = T0 + US_PER_DAY;
	bool purged = false;
	for (int c = 0; c < 3; c++)
		memset(cards[c], 0x40 + c, PSEUDONYM_LEN);

	for (int step = 0; step < 160; step++) {
		now += rnd(15 * US_PER_DAY) + 1000000;
		int c = (int) rnd(3);
		if (rnd(5) == 0 && n_receipts > 0) {
			const char *no = receipts[rnd((int64_t) n_receipts)];
			struct rules_sale_record rec;
			int64_t member_id;
			if (ledger_sale_record(f->ledger, no, &rec) != 0)
				continue; /* purged */
			int64_t left = rec.basket_gr - rec.refunded_basket_gr;
			int64_t left_el = rec.eligible_basket_gr - rec.refunded_eligible_gr;
			if (left <= 0)
				continue;
			char q[160];
			snprintf(q, sizeof(q),
				 "SELECT member_id FROM sales WHERE receipt_no = '%s'", no);
			member_id = sql_int(f->path, q);
			assert_int_equal(
			    ledger_member_state(f->ledger, member_id, &f->prog, now, &before), 0);
			int64_t gr = rnd(2) ? left : rnd(left) + 1;
			struct rules_refund_request rq = {
			    .basket_gr = gr, .eligible_gr = left_el < gr ? left_el : gr};
			assert_int_equal(rules_refund(&f->prog, &before, &rec, &rq, now, &rr), 0);
			if (rr.refusal != RULES_OK)
				continue;
			struct ledger_receipt rf;
			assert_int_equal(ledger_book_refund(f->ledger, no, &rr, now, &rf), 0);
			assert_verified(f);
			continue;
		}
		struct rules_line lines[3];
		size_t n = (size_t) rnd(3) + 1;
		for (size_t i = 0; i < n; i++)
			lines[i] =
			    line(rnd(2) ? "coffee" : "food", (int32_t) rnd(6) + 1, rnd(3000) + 100);
		char coupon[32];
		snprintf(coupon, sizeof(coupon), "C-%04d", step);
		struct rules_request q = {.new_coupon_id = coupon};
		if (ids[c]) {
			assert_int_equal(
			    ledger_member_state(f->ledger, ids[c], &f->prog, now, &before), 0);
			if (before.balance_pts >= 200 && rnd(2))
				q.redeem_pts = 100;
			for (size_t k = 0; k < before.n_coupons; k++)
				if (!before.coupons[k].used && before.coupons[k].expires_us > now &&
				    rnd(2))
					q.coupon_id = before.coupons[k].id;
		}
		struct rules_basket basket = {.lines = lines, .n_lines = n};
		assert_int_equal(rules_apply(&f->prog, &before, &basket, &q, now, &res), 0);
		if (res.refusal != RULES_OK) {
			q.redeem_pts = 0;
			q.coupon_id = NULL;
		}
		if (!ids[c])
			memset(&before, 0, sizeof(before));
		sale(f, cards[c], ids[c], now, lines, n, &q, &res, &rc);
		ids[c] = rc.member_id;
		if (n_receipts < 200)
			snprintf(receipts[n_receipts++], sizeof(receipts[0]), "%s", rc.receipt_no);
		if (!purged && now > T0 + 800 * US_PER_DAY) {
			struct ledger_purge_report pr;
			assert_int_equal(
			    ledger_outbox_ack(f->ledger,
					      sql_int(f->path, "SELECT MAX(seq) FROM events")),
			    0);
			assert_int_equal(ledger_purge(f->ledger, now, 400, &pr), 0);
			assert_true(pr.purged_events > 0);
			assert_verified(f);
			purged = true;
		}
	}
	assert_true(purged);
	assert_true(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE kind = 'expire'") > 0);
	assert_true(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE kind = 'stamp'") > 0);
	assert_true(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE kind = 'refund'") > 0);
	assert_true(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE kind = 'redeem'") > 0);
	assert_true(sql_int(f->path, "SELECT COUNT(*) FROM checkpoint_lots") > 0);

	struct ledger_rebuild_report rb;
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	assert_int_equal(rb.changed, 0);
	char *want = state_text(f->path);

	/* each stored field changed alone is reported by verify */
	int64_t m = ids[0];
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "UPDATE members SET monetary_gr = monetary_gr + 1"
		 " WHERE member_id = %lld",
		 (long long) m);
	tamper(f->path, sql);
	expect_member_problem(f, m, "lifetime spend");
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	assert_int_equal(rb.changed, 1);
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO member_stamps (member_id, card, count) VALUES (%lld,"
		 " 'stamps-coffee', (SELECT COALESCE(MAX(count), 0) + 1 FROM member_stamps"
		 "  WHERE member_id = %lld) %% 10)",
		 (long long) m, (long long) m);
	tamper(f->path, sql);
	expect_member_problem(f, m, "stamp card stamps-coffee");
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	snprintf(sql, sizeof(sql), "UPDATE members SET last_coupon_us = 1 WHERE member_id = %lld",
		 (long long) m);
	tamper(f->path, sql);
	expect_member_problem(f, m, "last coupon");
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	/* the same points in other lots (the sum still matches the balance): the next expiry */
	snprintf(sql, sizeof(sql),
		 "UPDATE lots SET earned_us = earned_us - 1 WHERE member_id = %lld"
		 " AND earned_us = (SELECT MIN(earned_us) FROM lots WHERE member_id = %lld)",
		 (long long) m, (long long) m);
	tamper(f->path, sql);
	expect_member_problem(f, m, "points lots");
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	char *got = state_text(f->path);
	assert_string_equal(got, want);
	free(got);

	/* wiped whole, rebuilt exactly */
	tamper(f->path, "DELETE FROM lots; DELETE FROM member_stamps;"
			"UPDATE members SET balance_pts = 0, visits = 0, last_visit_us = 0,"
			" first_visit_us = 0, monetary_gr = 0, first_purchase_done = 0,"
			" last_coupon_us = 0, birthday_bonus_year = 0");
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_BALANCE);
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	assert_int_equal(rb.changed, 5); /* the two members of the schema-3 ledger, three cards */
	got = state_text(f->path);
	assert_string_equal(got, want);
	free(got);
	free(want);
	assert_verified(f);
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	assert_int_equal(rb.changed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migration_from_schema3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_refuses_broken_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_checks_lots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_programme_sales_and_refund, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sale_trace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rebuild_equals_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
