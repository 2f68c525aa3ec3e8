/*
 * ledger_bench: the ledger's figures against same-run anchors, as a table and then, on the last
 * line, one JSON object.
 *
 *   - durable commit of one sale (events + member state + chain, WAL, synchronous=FULL) against
 *     a raw single-row INSERT in its own transaction with the same pragmas on the same disk;
 *   - member lookup by pseudonym (ledger_member_by_pseudonym) on a large ledger, against the
 *     same SELECT through a statement prepared once;
 *   - ledger_verify() throughput on that ledger (quick_check on a second connection in a
 *     thread, while the calling thread checks the chain and folds the member state in one pass),
 *     against its parts done bare: quick_check, a plain SELECT scan of the events, the hash
 *     function in memory and a plain SHA-256 of inputs of the same length; with the parts also
 *     ledger_verify_full() (integrity_check instead of quick_check), integrity_check alone and
 *     the SQL member queries of schema 4;
 *   - bytes on disk per event after a checkpoint, against the bytes of the stored fields.
 *
 * The large ledger (1,000,000 members, 10,000,000 events by default) is generated once into a
 * cache folder (ledger_fixture.h) and reused by later runs. The 1-minute load average is printed
 * at the start and the end: on a busy machine the percentiles are the machine's, not the code's.
 *
 *   ledger_bench [--quick] [--no-parts] [--sales N] [--members N] [--events N] [--lookups N]
 *                [--cache DIR]
 *
 * --quick: 100 sales, 10,000 members, 100,000 events, 10,000 lookups (a smoke run of seconds).
 * --no-parts: skip the slow figures (ledger_verify_full, integrity_check and the SQL member
 * queries, each of which takes minutes on the large ledger).
 * The cache folder defaults to bench-cache/ in the build folder (two levels above this program).
 * Durations are measured in nanoseconds and printed in the unit their name says.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "ledger.h"
#include "ledger_fixture.h"
#include "ledger_hash.h"

#define TARGET_RATIO_MILLI     1500
#define TARGET_LOOKUP_P99_NS   50000
#define TARGET_VERIFY_EVENTS_S 1000000
#define HASH_ANCHOR_ROUNDS     1000000
#define LOOKUP_SEED	       UINT64_C(0x6c6f6f6b7570) /* "lookup" */
#define NS_PER_S	       INT64_C(1000000000)
/* ledger_verify's member checks as of schema 4: every event's member exists; state = fold */
#define MEMBER_EXISTS_SQL                                                                          \
	"SELECT e.seq, e.member_id FROM events e WHERE e.member_id IS NOT NULL"                    \
	" AND NOT EXISTS (SELECT 1 FROM members m WHERE m.member_id = e.member_id)"                \
	" ORDER BY e.seq LIMIT 1"
#define MEMBER_FOLD_SQL                                                                            \
	"SELECT m.member_id, m.balance_pts, m.visits, m.last_visit_us,"                            \
	" COALESCE(c.points, 0) + (SELECT COALESCE(SUM(e.points), 0) FROM events e"                \
	"   WHERE e.member_id = m.member_id),"                                                     \
	" COALESCE(c.visits, 0) + (SELECT COUNT(*) FROM events e"                                  \
	"   WHERE e.member_id = m.member_id AND e.kind = 'earn'),"                                 \
	" MAX(m.created_us, COALESCE(c.last_visit_us, 0), COALESCE((SELECT MAX(e.time_us)"         \
	"   FROM events e WHERE e.member_id = m.member_id AND e.kind = 'earn'), 0)),"              \
	" (SELECT COALESCE(SUM(p.pts), 0) FROM lots p WHERE p.member_id = m.member_id)"            \
	" FROM members m LEFT JOIN checkpoint_members c ON c.member_id = m.member_id"              \
	" ORDER BY m.member_id"
/* the chain check's scan: the columns of hash encoding 3, then the stored hash */
#define EVENTS_SELECT                                                                              \
	"SELECT seq, event_id, terminal_id, kind, member_id, points, amount_gr, receipt_no,"       \
	" time_us, rule, ref, lot_us, items, progress, hash FROM events WHERE seq >= 1"            \
	" ORDER BY seq"
#define EVENTS_SELECT_COLUMNS 15
#define EVENTS_HASH_COLUMN    14
/* encoding 3 (docs/ledger.md): version byte, 8 integers, 6 length-prefixed byte strings */
#define ENCODING_FIXED_BYTES (1 + 8 * 8 + 6 * 4)

struct options {
	bool quick;
	int sales;
	int64_t members;
	int64_t events;
	int lookups;
	bool parts; /* time the slow parts of verify (integrity_check, member queries) bare too */
	const char *cache_dir;
};

struct commit_figures {
	int64_t p50_ns, p99_ns, anchor_p50_ns, anchor_p99_ns, ratio_milli;
};

struct lookup_figures {
	int n, warmup;
	int64_t p50_ns, p99_ns, anchor_p50_ns, anchor_p99_ns;
};

struct verify_figures {
	int64_t events, members;
	int64_t verify_ns, events_per_s;
	int64_t verify_full_ns; /* ledger_verify_full(); -1 when not measured (--no-parts) */
	int64_t integrity_ns;	/* -1 when not measured (--no-parts) */
	int64_t quick_check_ns; /* what the start-up check runs instead */
	int64_t scan_ns, scan_events_per_s;
	int64_t hash_input_bytes; /* average length of one event's hash input */
	int64_t hash_event_per_s; /* ledger_hash_event() in memory */
	int64_t sha256_per_s;	  /* plain SHA-256 of hash_input_bytes, one context reused */
	int64_t members_ns;	  /* the member queries of the verification; -1 when not measured */
};

struct disk_figures {
	int64_t file_bytes, bytes_per_event, field_bytes_per_event;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("ledger_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of v[0..n-1]; sorts v. */
static int64_t pct(int64_t *v, int n, int p)
{
	qsort(v, (size_t) n, sizeof(*v), cmp64);
	int i = (n * p + 99) / 100 - 1;
	return v[i < 0 ? 0 : i];
}

/* count per second for count (< 9e9) things done in ns nanoseconds */
static int64_t per_s(int64_t count, int64_t ns)
{
	return ns > 0 ? count * NS_PER_S / ns : 0;
}

/* v / 10^div_digits with `decimals` decimals, rounded down: "12.3" */
static const char *fixed(char *buf, size_t size, int64_t v, int div_digits, int decimals)
{
	int64_t div = 1, cut = 1;
	for (int i = 0; i < div_digits; i++)
		div *= 10;
	for (int i = 0; i < div_digits - decimals; i++)
		cut *= 10;
	if (decimals == 0)
		snprintf(buf, size, "%lld", (long long) (v / div));
	else
		snprintf(buf, size, "%lld.%0*lld", (long long) (v / div), decimals,
			 (long long) (v % div / cut));
	return buf;
}

#define NUM_LEN		 48 /* room for any int64_t with separators or decimals */
#define FIXED(v, d, dec) fixed((char[NUM_LEN]){0}, NUM_LEN, (v), (d), (dec))
#define US1(v)		 FIXED((v), 3, 1) /* ns as µs with one decimal */
#define US0(v)		 FIXED((v), 3, 0) /* ns as whole µs */
#define MS0(v)		 FIXED((v), 6, 0) /* ns as whole ms */
#define S1(v)		 FIXED((v), 9, 1) /* ns as s with one decimal */

/* 1234567 as "1,234,567" */
static const char *grouped(char *buf, size_t size, int64_t v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long) (v < 0 ? -v : v)), o = 0;
	if (v < 0 && o + 1 < (int) size)
		buf[o++] = '-';
	for (int i = 0; i < n && o + 2 < (int) size; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

#define G(v) grouped((char[NUM_LEN]){0}, NUM_LEN, (v))

static const char *met(bool ok)
{
	return ok ? "met" : "NOT met";
}

static void usage(FILE *f)
{
	fputs("usage: ledger_bench [--quick] [--no-parts] [--sales N] [--members N] [--events N]"
	      " [--lookups N] [--cache DIR]\n",
	      f);
}

static int64_t parse_count(const char *s, const char *what, int64_t min, int64_t max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("%s must be a number from %lld to %lld", what, (long long) min,
		    (long long) max);
	return v;
}

/* <build>/bench-cache, where this program is <build>/tests/bench/ledger_bench */
static const char *default_cache_dir(void)
{
	static char dir[LEDGER_FIXTURE_PATH_MAX];
	char exe[LEDGER_FIXTURE_PATH_MAX - 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		die("cannot find this program's folder; pass --cache DIR");
	exe[n] = '\0';
	char *d = exe;
	for (int i = 0; i < 3; i++)
		d = dirname(d);
	snprintf(dir, sizeof(dir), "%s/bench-cache", d);
	return dir;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"sales", required_argument, NULL, 's'},
	    {"members", required_argument, NULL, 'm'},
	    {"events", required_argument, NULL, 'e'},
	    {"lookups", required_argument, NULL, 'l'},
	    {"cache", required_argument, NULL, 'c'},
	    {"no-parts", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t sales = -1, members = -1, events = -1, lookups = -1;
	int c;
	o->quick = false;
	o->parts = true;
	o->cache_dir = NULL;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 's':
			sales = parse_count(optarg, "--sales", 10, 1000000);
			break;
		case 'm':
			members = parse_count(optarg, "--members", 1, INT64_C(100000000));
			break;
		case 'e':
			events = parse_count(optarg, "--events", 2, INT64_C(1000000000));
			break;
		case 'l':
			lookups = parse_count(optarg, "--lookups", 100, 10000000);
			break;
		case 'c':
			o->cache_dir = optarg;
			break;
		case 'p':
			o->parts = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	/* the old form: ledger_bench SALES */
	if (optind < argc && sales < 0)
		sales = parse_count(argv[optind++], "SALES", 10, 1000000);
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	o->sales = (int) (sales > 0 ? sales : o->quick ? 100 : 400);
	o->members = members > 0 ? members : o->quick ? 10000 : 1000000;
	o->events = events > 0 ? events : o->quick ? 100000 : 10000000;
	o->lookups = (int) (lookups > 0 ? lookups : o->quick ? 10000 : 100000);
	if (o->events < 2 * o->members)
		die("--events must be at least twice --members (a member's first sale books an "
		    "enrol and an earn event)");
	if (!o->cache_dir)
		o->cache_dir = default_cache_dir();
}

/* Durable commits of sales on a new ledger, interleaved with the anchor's durable inserts. */
static void bench_commit(int n, struct commit_figures *ret)
{
	char dir[] = "/var/tmp/ledger_bench.XXXXXX", path[128], raw[128];
	if (!mkdtemp(dir))
		die("cannot make a temporary folder: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/ledger.sqlite", dir);
	snprintf(raw, sizeof(raw), "%s/raw.sqlite", dir);
	int64_t *sale_ns = calloc((size_t) n, sizeof(int64_t));
	int64_t *raw_ns = calloc((size_t) n, sizeof(int64_t));
	if (!sale_ns || !raw_ns)
		die("out of memory");

	/* anchor: raw durable single-row insert */
	sqlite3 *db;
	sqlite3_stmt *st;
	if (sqlite3_open(raw, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 "CREATE TABLE t (seq INTEGER PRIMARY KEY, id BLOB, points INTEGER,"
			 " amount_gr INTEGER, time_us INTEGER)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO t (id, points, amount_gr, time_us)"
			       " VALUES (randomblob(16), ?1, ?2, ?3)",
			       -1, &st, NULL) != SQLITE_OK)
		die("anchor database: %s", sqlite3_errmsg(db));

	struct ledger *l;
	int r = ledger_open(path, "BENCH1", &l);
	if (r < 0)
		die("ledger_open %s: %s", path, strerror(-r));

	/* interleave the two so both see the same disk conditions */
	for (int i = 0; i < n; i++) {
		struct ledger_sale s = {
		    .amount_gr = 1234 + i,
		    .earn_pts = 12,
		    .time_us = INT64_C(1795780800000000) + i,
		};
		struct ledger_receipt rc;
		memset(s.pseudonym, 0, sizeof(s.pseudonym));
		memcpy(s.pseudonym, &i, sizeof(i)); /* a new member every 4th sale */
		s.pseudonym[8] = (uint8_t) (i % 4);
		int64_t t0 = now_ns();
		if ((r = ledger_commit_sale(l, &s, &rc)) < 0)
			die("ledger_commit_sale: %s", strerror(-r));
		int64_t t1 = now_ns();
		sqlite3_bind_int64(st, 1, 12);
		sqlite3_bind_int64(st, 2, 1234 + i);
		sqlite3_bind_int64(st, 3, s.time_us);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("anchor insert: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
		int64_t t2 = now_ns();
		sale_ns[i] = t1 - t0;
		raw_ns[i] = t2 - t1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	ledger_close(l);

	ret->p50_ns = pct(sale_ns, n, 50);
	ret->p99_ns = pct(sale_ns, n, 99);
	ret->anchor_p50_ns = pct(raw_ns, n, 50);
	ret->anchor_p99_ns = pct(raw_ns, n, 99);
	ret->ratio_milli = ret->anchor_p50_ns > 0 ? ret->p50_ns * 1000 / ret->anchor_p50_ns : 0;
	const char *files[] = {path, raw};
	for (size_t i = 0; i < 2; i++) {
		char p[160];
		(void) unlink(files[i]);
		snprintf(p, sizeof(p), "%s-wal", files[i]);
		(void) unlink(p);
		snprintf(p, sizeof(p), "%s-shm", files[i]);
		(void) unlink(p);
	}
	if (rmdir(dir) < 0)
		fprintf(stderr, "ledger_bench: could not remove %s: %s\n", dir, strerror(errno));
	free(sale_ns);
	free(raw_ns);
}

static sqlite3 *open_raw(const char *path, int flags)
{
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
		die("open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* File size after a checkpoint, per event; the anchor is the bytes of the stored fields. */
static void measure_disk(const char *path, int64_t events, int64_t field_bytes,
			 struct disk_figures *ret)
{
	sqlite3 *db = open_raw(path, SQLITE_OPEN_READWRITE);
	struct stat sb;
	if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		die("checkpoint: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	if (stat(path, &sb) < 0)
		die("stat %s: %s", path, strerror(errno));
	ret->file_bytes = (int64_t) sb.st_size;
	ret->bytes_per_event = ret->file_bytes / events;
	ret->field_bytes_per_event = field_bytes / events;
}

/*
 * Random existing members looked up through the public API after a warm-up, each call timed;
 * the anchor runs the same query through one prepared statement on its own connection.
 */
static void bench_lookup(struct ledger *l, const char *path, int64_t members, int n,
			 struct lookup_figures *ret)
{
	uint64_t rnd = LOOKUP_SEED;
	int warmup = n / 10;
	int total = warmup + n;
	uint8_t(*pseudonyms)[PSEUDONYM_LEN] = calloc((size_t) total, PSEUDONYM_LEN);
	int64_t *ids = calloc((size_t) total, sizeof(int64_t));
	int64_t *ns = calloc((size_t) n, sizeof(int64_t));
	if (!pseudonyms || !ids || !ns)
		die("out of memory");
	for (int i = 0; i < total; i++) {
		ids[i] = 1 + (int64_t) (ledger_fixture_rand(&rnd) % (uint64_t) members);
		ledger_fixture_pseudonym(ids[i], pseudonyms[i]);
	}
	for (int i = 0; i < total; i++) {
		struct ledger_member m;
		int64_t t0 = now_ns();
		int r = ledger_member_by_pseudonym(l, pseudonyms[i], &m);
		int64_t t1 = now_ns();
		if (r < 0)
			die("ledger_member_by_pseudonym (member %lld): %s", (long long) ids[i],
			    strerror(-r));
		if (m.member_id != ids[i])
			die("lookup of member %lld found member %lld", (long long) ids[i],
			    (long long) m.member_id);
		if (i >= warmup)
			ns[i - warmup] = t1 - t0;
	}
	ret->n = n;
	ret->warmup = warmup;
	ret->p50_ns = pct(ns, n, 50);
	ret->p99_ns = pct(ns, n, 99);

	sqlite3 *db = open_raw(path, SQLITE_OPEN_READONLY);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT member_id, balance_pts, created_us, last_visit_us, card_code"
			       " FROM members WHERE pseudonym = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		die("prepare anchor lookup: %s", sqlite3_errmsg(db));
	for (int i = 0; i < total; i++) {
		int64_t t0 = now_ns();
		sqlite3_bind_blob(st, 1, pseudonyms[i], PSEUDONYM_LEN, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != ids[i])
			die("anchor lookup of member %lld failed", (long long) ids[i]);
		(void) sqlite3_column_text(st, 4);
		sqlite3_reset(st);
		int64_t t1 = now_ns();
		if (i >= warmup)
			ns[i - warmup] = t1 - t0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	ret->anchor_p50_ns = pct(ns, n, 50);
	ret->anchor_p99_ns = pct(ns, n, 99);
	free(pseudonyms);
	free(ids);
	free(ns);
}

static int64_t time_sql(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t t0 = now_ns();
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("prepare %s: %s", sql, sqlite3_errmsg(db));
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (s != SQLITE_DONE)
		die("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return now_ns() - t0;
}

/*
 * The bare SELECT scan that the chain check runs, every column read. Sums the bytes of the
 * stored fields into *ret_field_bytes and of the hash inputs (docs/ledger.md) into
 * *ret_input_bytes.
 */
static int64_t time_scan(sqlite3 *db, int64_t events, int64_t *ret_field_bytes,
			 int64_t *ret_input_bytes)
{
	sqlite3_stmt *st;
	int64_t t0 = now_ns(), rows = 0, fields = 0, texts = 0, check = 0;
	if (sqlite3_prepare_v2(db, EVENTS_SELECT, -1, &st, NULL) != SQLITE_OK)
		die("prepare scan: %s", sqlite3_errmsg(db));
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < EVENTS_SELECT_COLUMNS; c++) {
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_INTEGER:
				check += sqlite3_column_int64(st, c);
				fields += 8;
				break;
			case SQLITE_TEXT:
			case SQLITE_BLOB: {
				const uint8_t *p = sqlite3_column_blob(st, c);
				int n = sqlite3_column_bytes(st, c);
				check += n > 0 ? p[0] : 0;
				fields += n;
				if (c != EVENTS_HASH_COLUMN)
					texts += n;
				break;
			}
			default:
				break;
			}
		}
		rows++;
	}
	if (s != SQLITE_DONE)
		die("scan: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	int64_t ns = now_ns() - t0;
	if (rows != events)
		die("scan read %lld events, expected %lld (checksum %lld)", (long long) rows,
		    (long long) events, (long long) check);
	*ret_field_bytes = fields;
	/* the encoding, then the previous hash */
	*ret_input_bytes = rows * (ENCODING_FIXED_BYTES + LEDGER_HASH_LEN) + texts;
	return ns;
}

/* ledger_hash_event() on one typical earn event, chained to its own output, in memory. */
static int64_t hash_event_rate(int rounds)
{
	static const uint8_t id[LEDGER_EVENT_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	uint8_t chain[LEDGER_HASH_LEN] = {0};
	struct ledger_hash_event ev = {
	    .seq = 1234567,
	    .event_id = id,
	    .event_id_len = sizeof(id),
	    .terminal_id = LEDGER_FIXTURE_TERMINAL_ID,
	    .terminal_id_len = strlen(LEDGER_FIXTURE_TERMINAL_ID),
	    .kind = "earn",
	    .kind_len = 4,
	    .member_id = 4321,
	    .points = 123,
	    .amount_gr = 12345,
	    .receipt_no = LEDGER_FIXTURE_TERMINAL_ID "-1234567",
	    .receipt_no_len = strlen(LEDGER_FIXTURE_TERMINAL_ID "-1234567"),
	    .time_us = INT64_C(1795780800000000),
	    .rule = "earn",
	    .rule_len = 4,
	    .ref = "",
	    .ref_len = 0,
	    .lot_us = INT64_C(1795780800000000),
	    .items = 0,
	    .progress = 0,
	};
	int64_t t0 = now_ns();
	for (int i = 0; i < rounds; i++) {
		ev.seq++;
		if (ledger_hash_event(&ev, chain, chain) < 0)
			die("ledger_hash_event failed");
	}
	return per_s(rounds, now_ns() - t0);
}

/* Plain SHA-256 of len-byte inputs, chained, one fetched digest and one context reused. */
static int64_t sha256_rate(int rounds, size_t len)
{
	uint8_t buf[1024] = {0};
	unsigned int md_len;
	if (len < LEDGER_HASH_LEN || len > sizeof(buf))
		die("hash input of %zu bytes", len);
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!md || !ctx)
		die("OpenSSL SHA-256");
	int64_t t0 = now_ns();
	for (int i = 0; i < rounds; i++) {
		buf[0] = (uint8_t) i;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, buf, len) != 1 ||
		    EVP_DigestFinal_ex(ctx, buf + len - LEDGER_HASH_LEN, &md_len) != 1)
			die("SHA-256 failed");
	}
	int64_t ns = now_ns() - t0;
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return per_s(rounds, ns);
}

/* ledger_verify() in full, then its parts done bare on a connection of the bench's own. */
static void bench_verify(struct ledger *l, const char *path, bool parts, struct verify_figures *ret,
			 int64_t *ret_field_bytes)
{
	struct ledger_verify_report rep;
	int64_t t0 = now_ns();
	int r = ledger_verify(l, &rep);
	ret->verify_ns = now_ns() - t0;
	if (r < 0)
		die("ledger_verify: %s", strerror(-r));
	if (rep.problem != LEDGER_PROBLEM_NONE)
		die("ledger_verify finds the fixture %s damaged: %s. Remove the file to have it "
		    "generated again; if a new one fails too, the generator "
		    "(tests/bench/ledger_fixture.c) does not yet write what schema %d checks",
		    path, rep.message, LEDGER_SCHEMA_VERSION);
	if (rep.events_checked != rep.events || rep.members_checked != rep.members)
		die("ledger_verify checked %lld of %lld events, %lld of %lld members",
		    (long long) rep.events_checked, (long long) rep.events,
		    (long long) rep.members_checked, (long long) rep.members);
	ret->events = rep.events;
	ret->members = rep.members;
	ret->events_per_s = per_s(rep.events, ret->verify_ns);
	ret->verify_full_ns = -1;
	if (parts) {
		t0 = now_ns();
		r = ledger_verify_full(l, &rep);
		ret->verify_full_ns = now_ns() - t0;
		if (r < 0 || rep.problem != LEDGER_PROBLEM_NONE)
			die("ledger_verify_full: %s", r < 0 ? strerror(-r) : rep.message);
	}

	sqlite3 *db = open_raw(path, SQLITE_OPEN_READONLY);
	int64_t input_bytes;
	ret->integrity_ns = parts ? time_sql(db, "PRAGMA integrity_check(1)") : -1;
	ret->quick_check_ns = time_sql(db, "PRAGMA quick_check(1)");
	ret->scan_ns = time_scan(db, rep.events, ret_field_bytes, &input_bytes);
	ret->scan_events_per_s = per_s(rep.events, ret->scan_ns);
	ret->members_ns =
	    parts ? time_sql(db, MEMBER_EXISTS_SQL) + time_sql(db, MEMBER_FOLD_SQL) : -1;
	sqlite3_close(db);
	ret->hash_input_bytes = input_bytes / rep.events;
	int rounds = rep.events < HASH_ANCHOR_ROUNDS ? (int) rep.events : HASH_ANCHOR_ROUNDS;
	ret->hash_event_per_s = hash_event_rate(rounds);
	ret->sha256_per_s = sha256_rate(rounds, (size_t) ret->hash_input_bytes);
}

/* The 1-minute load average as the kernel prints it ("0.52"), so the figures can be judged. */
static void loadavg(char buf[16])
{
	FILE *f = fopen("/proc/loadavg", "r");
	if (!f || fscanf(f, "%15[0-9.]", buf) != 1)
		snprintf(buf, 16, "0");
	if (f)
		fclose(f);
}

/* ns as whole ms, or null when not measured (negative) */
static const char *ms_or_null(char *buf, size_t size, int64_t ns)
{
	if (ns < 0)
		snprintf(buf, size, "null");
	else
		fixed(buf, size, ns, 6, 0);
	return buf;
}

#define MSN(v) ms_or_null((char[NUM_LEN]){0}, NUM_LEN, (v))

static void print_report(const struct options *o, const char *fixture, int64_t gen_ns,
			 const char *load_start, const struct commit_figures *c,
			 const struct lookup_figures *lk, const struct verify_figures *v,
			 const struct disk_figures *d)
{
	bool ratio_ok = c->ratio_milli <= TARGET_RATIO_MILLI;
	bool lookup_ok = lk->p99_ns <= TARGET_LOOKUP_P99_NS;
	bool verify_ok = v->events_per_s >= TARGET_VERIFY_EVENTS_S;
	bool parts = v->integrity_ns >= 0 && v->members_ns >= 0;
	/* ledger_hash_event() for every event, at its in-memory rate */
	int64_t hash_ns = v->hash_event_per_s > 0 ? v->events * NS_PER_S / v->hash_event_per_s : 0;
	char load_end[16];

	loadavg(load_end);
	printf("ledger bench%s: %s events, %s members; %d durable sales\n",
	       o->quick ? " (quick)" : "", G(v->events), G(v->members), o->sales);
	printf("load average (1 min) %s at the start, %s at the end, on %ld cores\n", load_start,
	       load_end, sysconf(_SC_NPROCESSORS_ONLN));
	printf("fixture %s: %s\n", fixture, gen_ns ? "generated now" : "reused from the cache");
	if (gen_ns)
		printf("  generation took %s s\n", S1(gen_ns));

	printf("\n%-44s %12s %12s\n", "durable commit (WAL, synchronous=FULL)", "p50 us", "p99 us");
	printf("  %-42s %12s %12s\n", "commit one sale (ledger_commit_sale)", US0(c->p50_ns),
	       US0(c->p99_ns));
	printf("  %-42s %12s %12s\n", "anchor: raw durable single-row INSERT",
	       US0(c->anchor_p50_ns), US0(c->anchor_p99_ns));
	printf("  %-42s %12s   target <= 1.500: %s\n", "ratio of the p50s",
	       FIXED(c->ratio_milli, 3, 3), met(ratio_ok));

	printf("\n%-44s %12s %12s\n", "member lookup by pseudonym (warm cache)", "p50 us",
	       "p99 us");
	printf("  %-42s %12s %12s   target p99 <= 50: %s\n", "ledger_member_by_pseudonym",
	       US1(lk->p50_ns), US1(lk->p99_ns), met(lookup_ok));
	printf("  %-42s %12s %12s\n", "anchor: the same SELECT, prepared once",
	       US1(lk->anchor_p50_ns), US1(lk->anchor_p99_ns));
	printf("  (%s random members after %s warm-up lookups)\n", G(lk->n), G(lk->warmup));

	printf("\n%-44s %12s %12s\n", "verify (quick_check || chain + fold)", "s", "events/s");
	printf("  %-42s %12s %12s   target >= 1,000,000: %s\n", "ledger_verify", S1(v->verify_ns),
	       G(v->events_per_s), met(verify_ok));
	if (parts) {
		printf("  %-42s %12s %12s\n", "ledger_verify_full (integrity_check)",
		       S1(v->verify_full_ns), G(per_s(v->events, v->verify_full_ns)));
		printf("  %-42s %12s %12s\n", "anchor: PRAGMA integrity_check", S1(v->integrity_ns),
		       G(per_s(v->events, v->integrity_ns)));
		printf("  %-42s %12s\n", "anchor: schema-4 member queries in SQL",
		       S1(v->members_ns));
	} else {
		printf("  %-42s %12s\n", "anchor: integrity_check, member queries", "skipped");
	}
	printf("  %-42s %12s %12s\n", "anchor: SELECT scan of the events", S1(v->scan_ns),
	       G(v->scan_events_per_s));
	printf("  %-42s %12s %12s\n", "anchor: ledger_hash_event in memory", S1(hash_ns),
	       G(v->hash_event_per_s));
	printf("  %-42s %12s %12s\n", "anchor: plain SHA-256, same input length", "",
	       G(v->sha256_per_s));
	printf("  %-42s %12s\n", "scan + hashing (the chain, bare)", S1(v->scan_ns + hash_ns));
	printf("  %-42s %12s\n", "for scale: PRAGMA quick_check", S1(v->quick_check_ns));
	printf("  (hash input %lld bytes per event)\n", (long long) v->hash_input_bytes);

	printf("\n%-44s %12s\n", "disk (after a checkpoint)", "bytes");
	printf("  %-42s %12s\n", "ledger file", G(d->file_bytes));
	printf("  %-42s %12s\n", "per event", G(d->bytes_per_event));
	printf("  %-42s %12s\n", "anchor: stored event fields per event",
	       G(d->field_bytes_per_event));

	printf("{\"bench\":\"ledger\",\"quick\":%s,\"members\":%lld,\"events\":%lld,"
	       "\"loadavg_start\":%s,\"loadavg_end\":%s,"
	       "\"fixture_generated\":%s,\"fixture_gen_ms\":%s,"
	       "\"sales\":%d,\"commit_p50_us\":%s,\"commit_p99_us\":%s,"
	       "\"anchor_insert_p50_us\":%s,\"anchor_insert_p99_us\":%s,\"ratio\":%s,"
	       "\"lookups\":%d,\"lookup_p50_us\":%s,\"lookup_p99_us\":%s,"
	       "\"anchor_lookup_prepared_p50_us\":%s,\"anchor_lookup_prepared_p99_us\":%s,"
	       "\"verify_ms\":%s,\"verify_events_per_s\":%lld,\"verify_full_ms\":%s,"
	       "\"anchor_integrity_check_ms\":%s,\"anchor_member_queries_ms\":%s,"
	       "\"anchor_scan_ms\":%s,\"anchor_scan_events_per_s\":%lld,"
	       "\"anchor_hash_event_per_s\":%lld,\"anchor_sha256_per_s\":%lld,"
	       "\"quick_check_ms\":%s,\"hash_input_bytes\":%lld,"
	       "\"file_bytes\":%lld,\"bytes_per_event\":%lld,\"anchor_field_bytes_per_event\":%lld,"
	       "\"target\":{\"ratio_max\":1.5,\"lookup_p99_us_max\":50,"
	       "\"verify_events_per_s_min\":1000000},"
	       "\"met\":{\"ratio\":%s,\"lookup_p99\":%s,\"verify\":%s}}\n",
	       o->quick ? "true" : "false", (long long) v->members, (long long) v->events,
	       load_start, load_end, gen_ns ? "true" : "false", MS0(gen_ns), o->sales,
	       US0(c->p50_ns), US0(c->p99_ns), US0(c->anchor_p50_ns), US0(c->anchor_p99_ns),
	       FIXED(c->ratio_milli, 3, 3), lk->n, US1(lk->p50_ns), US1(lk->p99_ns),
	       US1(lk->anchor_p50_ns), US1(lk->anchor_p99_ns), MS0(v->verify_ns),
	       (long long) v->events_per_s, MSN(v->verify_full_ns), MSN(v->integrity_ns),
	       MSN(v->members_ns), MS0(v->scan_ns), (long long) v->scan_events_per_s,
	       (long long) v->hash_event_per_s, (long long) v->sha256_per_s, MS0(v->quick_check_ns),
	       (long long) v->hash_input_bytes, (long long) d->file_bytes,
	       (long long) d->bytes_per_event, (long long) d->field_bytes_per_event,
	       ratio_ok ? "true" : "false", lookup_ok ? "true" : "false",
	       verify_ok ? "true" : "false");
}

int main(int argc, char **argv)
{
	struct options o;
	struct commit_figures c;
	struct lookup_figures lk;
	struct verify_figures v;
	struct disk_figures d;
	struct ledger_fixture spec;
	char fixture[LEDGER_FIXTURE_PATH_MAX];
	int64_t gen_us, field_bytes;
	struct ledger *l;
	char load_start[16];
	int r;

	loadavg(load_start);
	parse_options(argc, argv, &o);
	bench_commit(o.sales, &c);

	spec.members = o.members;
	spec.events = o.events;
	if ((r = ledger_fixture_get(o.cache_dir, &spec, fixture, &gen_us)) < 0)
		die("no fixture ledger in %s: %s", o.cache_dir, strerror(-r));
	if (gen_us)
		fprintf(stderr, "ledger_bench: generated %s in %s s\n", fixture, S1(gen_us * 1000));
	if ((r = ledger_open(fixture, LEDGER_FIXTURE_TERMINAL_ID, &l)) < 0)
		die("ledger_open %s: %s", fixture, strerror(-r));
	bench_lookup(l, fixture, o.members, o.lookups, &lk);
	bench_verify(l, fixture, o.parts, &v, &field_bytes);
	ledger_close(l);
	if (v.members != o.members || v.events != o.events)
		die("the fixture holds %lld members and %lld events", (long long) v.members,
		    (long long) v.events);
	measure_disk(fixture, v.events, field_bytes, &d);
	print_report(&o, fixture, gen_us * 1000, load_start, &c, &lk, &v, &d);
	return 0;
}
