/*
 * ledger_bench: the durable commit of one sale (enrol or earn events + member state, WAL,
 * synchronous=FULL) against the same-run anchor, a raw single-row INSERT in its own transaction
 * with the same pragmas on the same disk. Prints a table, then one JSON line.
 *
 *   ledger_bench [SALES]   (default 400; each sale and each anchor insert is fsynced)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, int n, int p)
{
	qsort(v, (size_t) n, sizeof(*v), cmp64);
	int i = (n * p + 99) / 100 - 1;
	return v[i < 0 ? 0 : i];
}

static void die(const char *what)
{
	fprintf(stderr, "ledger_bench: %s\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400;
	if (n < 10 || n > 1000000)
		die("SALES must be from 10 to 1000000");
	char dir[] = "/var/tmp/ledger_bench.XXXXXX", path[128], raw[128], cmd[160];
	if (!mkdtemp(dir))
		die("cannot make a temporary folder");
	snprintf(path, sizeof(path), "%s/ledger.sqlite", dir);
	snprintf(raw, sizeof(raw), "%s/raw.sqlite", dir);
	int64_t *sale_us = calloc((size_t) n, sizeof(int64_t));
	int64_t *raw_us = calloc((size_t) n, sizeof(int64_t));
	if (!sale_us || !raw_us)
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
	    sqlite3_prepare_v2(db, "INSERT INTO t (id, points, amount_gr, time_us)"
				   " VALUES (randomblob(16), ?1, ?2, ?3)",
			       -1, &st, NULL) != SQLITE_OK)
		die("anchor database");

	struct ledger *l;
	if (ledger_open(path, "BENCH1", &l) < 0)
		die("ledger_open");

	/* interleave the two so both see the same disk conditions */
	for (int i = 0; i < n; i++) {
		struct ledger_sale s = {.amount_gr = 1234 + i, .earn_pts = 12,
					.time_us = INT64_C(1795780800000000) + i};
		struct ledger_receipt rc;
		memset(s.pseudonym, 0, sizeof(s.pseudonym));
		memcpy(s.pseudonym, &i, sizeof(i)); /* a new member every 4th sale */
		s.pseudonym[8] = (uint8_t) (i % 4);
		int64_t t0 = now_us();
		if (ledger_commit_sale(l, &s, &rc) < 0)
			die("ledger_commit_sale");
		int64_t t1 = now_us();
		sqlite3_bind_int64(st, 1, 12);
		sqlite3_bind_int64(st, 2, 1234 + i);
		sqlite3_bind_int64(st, 3, s.time_us);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("anchor insert");
		sqlite3_reset(st);
		int64_t t2 = now_us();
		sale_us[i] = t1 - t0;
		raw_us[i] = t2 - t1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	ledger_close(l);

	int64_t s50 = pct(sale_us, n, 50), s99 = pct(sale_us, n, 99);
	int64_t r50 = pct(raw_us, n, 50), r99 = pct(raw_us, n, 99);
	/* ratio in thousandths, integer arithmetic */
	int64_t ratio_milli = r50 > 0 ? s50 * 1000 / r50 : 0;
	printf("ledger bench: %d durable sales (WAL, synchronous=FULL)\n", n);
	printf("%-34s %10s %10s\n", "", "p50 us", "p99 us");
	printf("%-34s %10lld %10lld\n", "commit one sale (ledger)", (long long) s50, (long long) s99);
	printf("%-34s %10lld %10lld\n", "anchor: raw durable INSERT", (long long) r50,
	       (long long) r99);
	printf("%-34s %6lld.%03lld (target <= 1.500)\n", "ratio p50 sale / anchor",
	       (long long) (ratio_milli / 1000), (long long) (ratio_milli % 1000));
	printf("{\"bench\":\"ledger\",\"sales\":%d,\"commit_p50_us\":%lld,\"commit_p99_us\":%lld,"
	       "\"anchor_insert_p50_us\":%lld,\"anchor_insert_p99_us\":%lld,"
	       "\"ratio\":%lld.%03lld,\"target\":{\"ratio_max\":1.5}}\n",
	       n, (long long) s50, (long long) s99, (long long) r50, (long long) r99,
	       (long long) (ratio_milli / 1000), (long long) (ratio_milli % 1000));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "ledger_bench: could not remove %s\n", dir);
	free(sale_us);
	free(raw_us);
	return 0;
}
