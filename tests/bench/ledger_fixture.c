/* ledger_fixture: generate and cache a large valid ledger file for the benchmarks. */
#include "ledger_fixture.h"

#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger_hash.h"
#include "rules.h"

#define FIRST_SALE_US	INT64_C(1795780800000000) /* 2026-11-27T12:00:00Z, then every 20 s */
#define SALE_STEP_US	INT64_C(20000000)
#define PROGRESS_EVENTS INT64_C(1000000)
#define GEN_CACHE_KIB	2097152 /* SQLite page cache while generating: the indexes fit */
#define AMOUNT_MIN_GR	100
#define AMOUNT_RANGE_GR 49901 /* amounts 1.00 .. 500.00 zł */
#define GR_PER_POINT	100
#define CARD_CODE_BITS	60
#define FIXTURE_SEED	UINT64_C(0x6c6564676572) /* "ledger" */
#define PSEUDONYM_SALT	UINT64_C(0x70736575646f6e79)
#define EVENT_ID_SALT	UINT64_C(0x6576656e745f6964)

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t ledger_fixture_rand(uint64_t *state)
{
	*state += UINT64_C(0x9e3779b97f4a7c15);
	return mix64(*state);
}

static void put_u64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

/* mix64 is a bijection, so the first 8 bytes alone keep pseudonyms and event ids unique. */
void ledger_fixture_pseudonym(int64_t member_id, uint8_t ret_pseudonym[PSEUDONYM_LEN])
{
	for (int i = 0; i < PSEUDONYM_LEN / 8; i++)
		put_u64(ret_pseudonym + 8 * i,
			mix64(((uint64_t) member_id << 2) + (uint64_t) i + PSEUDONYM_SALT));
}

static void event_id_of(int64_t seq, uint8_t ret_id[LEDGER_EVENT_ID_LEN])
{
	put_u64(ret_id, mix64((uint64_t) seq));
	put_u64(ret_id + 8, mix64((uint64_t) seq ^ EVENT_ID_SALT));
}

/* A bijection of the member id on 60 bits, written in Crockford base32: unique card codes. */
static void card_code_of(int64_t member_id, char code[LEDGER_CARD_CODE_LEN + 1])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	const uint64_t mask = (UINT64_C(1) << CARD_CODE_BITS) - 1;
	uint64_t x = ((uint64_t) member_id * UINT64_C(0x9e3779b97f4a7c15)) & mask;
	x ^= x >> 29;
	x = (x * UINT64_C(0xbf58476d1ce4e5b9)) & mask;
	for (int i = LEDGER_CARD_CODE_LEN - 1; i >= 0; i--) {
		code[i] = alphabet[x & 31];
		x >>= 5;
	}
	code[LEDGER_CARD_CODE_LEN] = '\0';
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "ledger fixture: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
	return -EIO;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(db, sql);
}

static int query_int(sqlite3 *db, const char *sql, int64_t *ret_value)
{
	sqlite3_stmt *st;
	int r;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(db, sql);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret_value = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = fail(db, sql);
	}
	sqlite3_finalize(st);
	return r;
}

static void remove_db(const char *path)
{
	char p[LEDGER_FIXTURE_PATH_MAX + 16];
	(void) unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	(void) unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	(void) unlink(p);
}

/* One member's state as the sales so far left it (what ledger_book would have stored). */
struct member_fold {
	int64_t balance_pts;
	int64_t visits;
	int64_t created_us;
	int64_t last_visit_us;
	int64_t monetary_gr;
	int64_t lots;	     /* points lots held, at most RULES_LOTS_MAX */
	int64_t last_lot_us; /* the newest lot's earned time */
};

/* The generator's state: where the chain and the sequence stand, and each member's fold. */
struct gen {
	sqlite3 *db;
	sqlite3_stmt *ins_event, *ins_lot, *add_lot, *ins_sale;
	uint8_t chain[LEDGER_HASH_LEN];
	int64_t seq;
	struct member_fold *m; /* [member_id], members + 1 entries */
};

static int step_reset(struct gen *g, sqlite3_stmt *st, const char *what)
{
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(g->db, what);
	sqlite3_reset(st);
	return r;
}

/* Insert the next event, hashed under the current encoding and chained. */
static int insert_event(struct gen *g, const char *kind, const char *rule, int64_t member_id,
			int64_t points, int64_t amount_gr, const char *receipt_no, int64_t time_us,
			int64_t lot_us)
{
	static const char terminal_id[] = LEDGER_FIXTURE_TERMINAL_ID;
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
	int64_t seq = ++g->seq;
	event_id_of(seq, event_id);
	struct ledger_hash_event ev = {
	    .seq = seq,
	    .event_id = event_id,
	    .event_id_len = sizeof(event_id),
	    .terminal_id = terminal_id,
	    .terminal_id_len = sizeof(terminal_id) - 1,
	    .kind = kind,
	    .kind_len = strlen(kind),
	    .member_id = member_id,
	    .points = points,
	    .amount_gr = amount_gr,
	    .receipt_no = receipt_no,
	    .receipt_no_len = strlen(receipt_no),
	    .time_us = time_us,
	    .rule = rule,
	    .rule_len = strlen(rule),
	    .ref = "",
	    .ref_len = 0,
	    .lot_us = lot_us,
	};
	int r = ledger_hash_event(&ev, g->chain, g->chain);
	if (r < 0) {
		fprintf(stderr, "ledger fixture: hashing event %lld failed\n", (long long) seq);
		return r;
	}
	sqlite3_stmt *st = g->ins_event;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_blob(st, 2, event_id, sizeof(event_id), SQLITE_STATIC);
	sqlite3_bind_text(st, 3, terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, member_id);
	sqlite3_bind_int64(st, 6, points);
	sqlite3_bind_int64(st, 7, amount_gr);
	sqlite3_bind_text(st, 8, receipt_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, time_us);
	sqlite3_bind_blob(st, 10, g->chain, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, rule, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, lot_us);
	return step_reset(g, st, "insert event");
}

/*
 * Book one earn of a sale the way the ledger does: the event, a points lot (a new one while the
 * member holds fewer than RULES_LOTS_MAX, else the points join the newest lot), the sale record
 * and the member's fold.
 */
static int book_earn(struct gen *g, int64_t member_id, int64_t amount_gr, int64_t earn_pts,
		     const char *receipt_no, int64_t time_us)
{
	struct member_fold *m = &g->m[member_id];
	int r = insert_event(g, "earn", "earn", member_id, earn_pts, amount_gr, receipt_no, time_us,
			     time_us);
	if (r < 0)
		return r;
	if (earn_pts > 0) {
		bool join = m->lots >= RULES_LOTS_MAX;
		sqlite3_stmt *st = join ? g->add_lot : g->ins_lot;
		sqlite3_bind_int64(st, 1, member_id);
		sqlite3_bind_int64(st, 2, join ? m->last_lot_us : time_us);
		sqlite3_bind_int64(st, 3, earn_pts);
		if ((r = step_reset(g, st, "store points lot")) < 0)
			return r;
		if (!join) {
			m->lots++;
			m->last_lot_us = time_us;
		}
	}
	sqlite3_stmt *st = g->ins_sale;
	sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, member_id);
	sqlite3_bind_int64(st, 3, time_us);
	sqlite3_bind_int64(st, 4, amount_gr);
	sqlite3_bind_int64(st, 5, earn_pts);
	if ((r = step_reset(g, st, "insert sale")) < 0)
		return r;
	m->balance_pts += earn_pts;
	m->visits++;
	m->last_visit_us = time_us;
	m->monetary_gr += amount_gr;
	return 0;
}

/*
 * Sales until spec->events events: sale i is a new card when the members so far lag behind
 * i * members / sales, so enrolments spread evenly and the last sale enrols the last member.
 * In the caller's transaction: the random-order index pages are written once, at the end.
 */
static int insert_events(struct gen *g, const struct ledger_fixture *spec)
{
	const int64_t sales = spec->events - spec->members;
	uint64_t rnd = FIXTURE_SEED;
	int64_t known = 0, time_us = FIRST_SALE_US, next_progress = PROGRESS_EVENTS;
	int r;

	for (int64_t i = 0; i < sales; i++, time_us += SALE_STEP_US) {
		char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
		int64_t member_id;
		snprintf(receipt_no, sizeof(receipt_no), "%s-%06lld", LEDGER_FIXTURE_TERMINAL_ID,
			 (long long) g->seq + 1);
		if (known < spec->members && known * sales <= i * spec->members) {
			member_id = ++known;
			g->m[member_id].created_us = time_us;
			if ((r = insert_event(g, "enrol", "", member_id, 0, 0, receipt_no, time_us,
					      0)) < 0)
				return r;
		} else {
			member_id = 1 + (int64_t) (ledger_fixture_rand(&rnd) % (uint64_t) known);
		}
		int64_t amount_gr =
		    AMOUNT_MIN_GR + (int64_t) (ledger_fixture_rand(&rnd) % AMOUNT_RANGE_GR);
		if ((r = book_earn(g, member_id, amount_gr, amount_gr / GR_PER_POINT, receipt_no,
				   time_us)) < 0)
			return r;
		if (g->seq >= next_progress) {
			fprintf(stderr, "ledger fixture: %lld of %lld events\n", (long long) g->seq,
				(long long) spec->events);
			next_progress += PROGRESS_EVENTS;
		}
	}
	if (known != spec->members || g->seq != spec->events) {
		fprintf(stderr, "ledger fixture: made %lld members and %lld events\n",
			(long long) known, (long long) g->seq);
		return -EINVAL;
	}
	return 0;
}

static int insert_members(struct gen *g, const struct ledger_fixture *spec)
{
	sqlite3_stmt *st;
	int r = 0;
	if (sqlite3_prepare_v2(g->db,
			       "INSERT INTO members (member_id, pseudonym, card_code, balance_pts,"
			       " visits, created_us, last_visit_us, first_purchase_done,"
			       " first_visit_us, monetary_gr)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?6, ?9)",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(g->db, "prepare member insert");
	for (int64_t id = 1; id <= spec->members && r == 0; id++) {
		const struct member_fold *m = &g->m[id];
		uint8_t pseudonym[PSEUDONYM_LEN];
		char code[LEDGER_CARD_CODE_LEN + 1];
		ledger_fixture_pseudonym(id, pseudonym);
		card_code_of(id, code);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_blob(st, 2, pseudonym, sizeof(pseudonym), SQLITE_STATIC);
		sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, m->balance_pts);
		sqlite3_bind_int64(st, 5, m->visits);
		sqlite3_bind_int64(st, 6,
				   m->created_us); /* the enrolling sale is the first visit */
		sqlite3_bind_int64(st, 7, m->last_visit_us);
		sqlite3_bind_int64(st, 8, m->visits > 0);
		sqlite3_bind_int64(st, 9, m->monetary_gr);
		r = step_reset(g, st, "insert member");
	}
	sqlite3_finalize(st);
	return r;
}

static int prepare(struct gen *g, const char *sql, sqlite3_stmt **ret)
{
	return sqlite3_prepare_v2(g->db, sql, -1, ret, NULL) == SQLITE_OK ? 0 : fail(g->db, sql);
}

/* Generate the fixture into path (removed first). */
static int generate(const char *path, const struct ledger_fixture *spec)
{
	struct gen g = {.seq = 0};
	struct ledger *l;
	int64_t version;
	int r;

	remove_db(path);
	/* the schema exactly as the ledger creates it */
	if ((r = ledger_open(path, LEDGER_FIXTURE_TERMINAL_ID, &l)) < 0) {
		fprintf(stderr, "ledger fixture: ledger_open %s: %s\n", path, strerror(-r));
		return r;
	}
	ledger_close(l);
	g.m = calloc((size_t) spec->members + 1, sizeof(*g.m));
	if (!g.m)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &g.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		r = fail(g.db, path);
		goto out;
	}
	if ((r = query_int(g.db, "PRAGMA user_version", &version)) < 0)
		goto out;
	if (version != LEDGER_FIXTURE_SCHEMA) {
		fprintf(stderr,
			"ledger fixture: ledger_open made schema %lld; this generator writes what "
			"schema %d holds\n",
			(long long) version, LEDGER_FIXTURE_SCHEMA);
		r = -EPROTO;
		goto out;
	}
	/* fixture data: no journal, no syncs; the file goes back to WAL at the end */
	char pragmas[160];
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -%d;",
		 GEN_CACHE_KIB);
	if ((r = exec(g.db, pragmas)) < 0 ||
	    (r = prepare(&g,
			 "INSERT INTO events (seq, event_id, terminal_id, kind, member_id, points,"
			 " amount_gr, receipt_no, time_us, hash, rule, ref, lot_us)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, '', ?12)",
			 &g.ins_event)) < 0 ||
	    (r = prepare(&g, "INSERT INTO lots (member_id, earned_us, pts) VALUES (?1, ?2, ?3)",
			 &g.ins_lot)) < 0 ||
	    (r = prepare(&g,
			 "UPDATE lots SET pts = pts + ?3 WHERE member_id = ?1 AND earned_us = ?2",
			 &g.add_lot)) < 0 ||
	    (r = prepare(
		 &g,
		 "INSERT INTO sales (receipt_no, member_id, time_us, basket_gr,"
		 " eligible_basket_gr, paid_gr, earned_pts) VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5)",
		 &g.ins_sale)) < 0)
		goto out;
	if ((r = exec(g.db, "BEGIN")) < 0 || (r = insert_events(&g, spec)) < 0 ||
	    (r = insert_members(&g, spec)) < 0 || (r = exec(g.db, "COMMIT")) < 0)
		goto out;
	r = exec(g.db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
out:
	sqlite3_finalize(g.ins_event);
	sqlite3_finalize(g.ins_lot);
	sqlite3_finalize(g.add_lot);
	sqlite3_finalize(g.ins_sale);
	if (g.db && sqlite3_close(g.db) != SQLITE_OK && r == 0)
		r = fail(g.db, "close");
	free(g.m);
	return r;
}

/* 0 when the file at path is a complete fixture for spec, -ENOENT or -ESTALE otherwise. */
static int check_cached(const char *path, const struct ledger_fixture *spec)
{
	struct stat sb;
	sqlite3 *db = NULL;
	int64_t version = -1, members = -1, last_seq = -1;

	if (stat(path, &sb) < 0)
		return -ENOENT;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    query_int(db, "PRAGMA user_version", &version) < 0 ||
	    (version == LEDGER_SCHEMA_VERSION &&
	     (query_int(db, "SELECT COUNT(*) FROM members", &members) < 0 ||
	      query_int(db, "SELECT COALESCE(MAX(seq), 0) FROM events", &last_seq) < 0)))
		version = -1;
	sqlite3_close(db);
	if (version != LEDGER_SCHEMA_VERSION || members != spec->members ||
	    last_seq != spec->events) {
		fprintf(
		    stderr,
		    "ledger fixture: %s is stale (schema %lld, %lld members, last event %lld)\n",
		    path, (long long) version, (long long) members, (long long) last_seq);
		return -ESTALE;
	}
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
	char p[LEDGER_FIXTURE_PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int) sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';
		if (*s == '/' || end) {
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			if (end)
				return 0;
			*s = '/';
		}
	}
}

/* Remove the cached files of any version with these sizes. */
static void remove_same_sizes(const char *cache_dir, const struct ledger_fixture *spec)
{
	char pattern[LEDGER_FIXTURE_PATH_MAX];
	glob_t gl;
	snprintf(pattern, sizeof(pattern), "%s/ledger-%lldev-%lldm-*.sqlite", cache_dir,
		 (long long) spec->events, (long long) spec->members);
	if (glob(pattern, 0, NULL, &gl) != 0)
		return;
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		fprintf(stderr, "ledger fixture: removing %s\n", gl.gl_pathv[i]);
		remove_db(gl.gl_pathv[i]);
	}
	globfree(&gl);
}

int ledger_fixture_get(const char *cache_dir, const struct ledger_fixture *spec,
		       char ret_path[LEDGER_FIXTURE_PATH_MAX], int64_t *ret_gen_us)
{
	char path[LEDGER_FIXTURE_PATH_MAX], tmp[LEDGER_FIXTURE_PATH_MAX + 8];
	int r;

	if (!cache_dir || !spec || spec->members < 1 || spec->events < 2 * spec->members)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/ledger-%lldev-%lldm-s%d-g%d.sqlite", cache_dir,
		     (long long) spec->events, (long long) spec->members, LEDGER_SCHEMA_VERSION,
		     LEDGER_FIXTURE_VERSION);
	if (r < 0 || (size_t) r >= sizeof(path))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (check_cached(path, spec) == 0) {
		memcpy(ret_path, path, strlen(path) + 1);
		*ret_gen_us = 0;
		return 0;
	}
	if ((r = make_dirs(cache_dir)) < 0) {
		fprintf(stderr, "ledger fixture: cannot make %s: %s\n", cache_dir, strerror(-r));
		return r;
	}
	remove_same_sizes(cache_dir, spec);
	fprintf(stderr, "ledger fixture: generating %lld members, %lld events into %s\n",
		(long long) spec->members, (long long) spec->events, path);
	int64_t t0 = mono_us();
	if ((r = generate(tmp, spec)) < 0) {
		remove_db(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		fprintf(stderr, "ledger fixture: rename %s: %s\n", tmp, strerror(errno));
		remove_db(tmp);
		return r;
	}
	memcpy(ret_path, path, strlen(path) + 1);
	*ret_gen_us = mono_us() - t0;
	return 0;
}
