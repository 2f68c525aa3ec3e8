/*
 * ledger_book_fault_test: the programme's bookings when the storage under them fails. Each
 * booking (a new card's first sale with its enrolment, welcome bonus, stamp card and
 * first-purchase coupon; a returning card using its coupon; a returning card redeeming points;
 * a partial refund by receipt) runs with every write, sync and truncate it makes failing in turn
 * (faultvfs: an I/O error or a full disk, once and from then on), on a cold handle and on one
 * whose WAL is about to be checkpointed. Random bytes (card codes, event ids) come from a
 * seeded generator (hal_random_bytes is wrapped at link time), so a booking writes the same
 * rows every time: after each fault the whole database, every table, is byte for byte either
 * as before the booking or as after the same booking without a fault, also as a crash right
 * after would leave it; the ledger verifies, and the next sale on the same handle books.
 *
 * Not for: ledger_commit_sale and allocation failures (ledger_fault_test.c), kill -9
 * (crash_test.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "faultvfs.h"
#include "ledger.h"
#include "log.h"
#include "programme.h"
#include "rules.h"

#define TERMINAL	"T1"
#define T0		INT64_C(1795000000000000)
#define US_PER_DAY	INT64_C(86400000000)
#define NEW_CARD	9
#define FOLLOW_CARD	4
#define CASE_MAX	240
#define FULL_WAL_FRAMES 990

static char ctx[CASE_MAX];

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("%s: %s (line %d)", ctx, #cond, __LINE__);                        \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long) (a), b_ = (long long) (b);                              \
		if (a_ != b_)                                                                      \
			fail_msg("%s: %s is %lld, expected %lld (line %d)", ctx, #a, a_, b_,       \
				 __LINE__);                                                        \
	} while (0)

/* ---- seeded random bytes in place of the operating system's ---- */

int __wrap_hal_random_bytes(void *buf, size_t n);
static uint64_t rnd_state;

int __wrap_hal_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++) {
		rnd_state ^= rnd_state << 13;
		rnd_state ^= rnd_state >> 7;
		rnd_state ^= rnd_state << 17;
		p[i] = (uint8_t) (rnd_state >> 32);
	}
	return 0;
}

static void rnd_seed(uint64_t seed)
{
	rnd_state = seed | 1;
}

/* ---- files ---- */

static uint8_t *read_file(const char *path, size_t *ret_len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	long n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	uint8_t *buf = malloc((size_t) n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t) n, fp), (size_t) n);
	fclose(fp);
	*ret_len = (size_t) n;
	return buf;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void remove_db(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char p[160];
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		(void) unlink(p);
	}
}

static void copy_file(const char *from, const char *to)
{
	size_t n;
	uint8_t *buf = read_file(from, &n);
	write_file(to, buf, n);
	free(buf);
}

/* ---- the whole database as text ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Every row of every table (sqlite_master included), each row as one line, the lines of a table
 * sorted: two files with the same content give the same text, whatever their page layout.
 */
static char *dump(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *tables, *st;
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db,
				     "SELECT name FROM sqlite_master WHERE type = 'table'"
				     " UNION ALL SELECT 'sqlite_master' ORDER BY 1",
				     -1, &tables, NULL),
		  SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		char sql[160];
		const char *name = (const char *) sqlite3_column_text(tables, 0);
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		char **rows = NULL;
		size_t n = 0, rcap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			char line[4096];
			size_t ll = (size_t) snprintf(line, sizeof(line), "%s:", name);
			for (int c = 0; c < sqlite3_column_count(st) && ll < sizeof(line); c++) {
				if (sqlite3_column_type(st, c) == SQLITE_BLOB) {
					const uint8_t *b = sqlite3_column_blob(st, c);
					int bn = sqlite3_column_bytes(st, c);
					ll += (size_t) snprintf(line + ll, sizeof(line) - ll, "x");
					for (int i = 0; i < bn && ll < sizeof(line); i++)
						ll += (size_t) snprintf(
						    line + ll, sizeof(line) - ll, "%02x", b[i]);
					ll += (size_t) snprintf(line + ll, sizeof(line) - ll, "|");
				} else {
					const unsigned char *t = sqlite3_column_text(st, c);
					ll += (size_t) snprintf(line + ll, sizeof(line) - ll, "%s|",
								t ? (const char *) t : "NULL");
				}
			}
			if (n == rcap) {
				rcap = rcap ? 2 * rcap : 64;
				rows = realloc(rows, rcap * sizeof(*rows));
				assert_non_null(rows);
			}
			rows[n++] = strdup(line);
		}
		sqlite3_finalize(st);
		if (n)
			qsort(rows, n, sizeof(*rows), cmp_str);
		for (size_t i = 0; i < n; i++) {
			size_t rl = strlen(rows[i]);
			while (len + rl + 2 > cap) {
				cap *= 2;
				out = realloc(out, cap);
				assert_non_null(out);
			}
			memcpy(out + len, rows[i], rl);
			len += rl;
			out[len++] = '\n';
			out[len] = '\0';
			free(rows[i]);
		}
		free(rows);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
	return out;
}

/* ---- bookings ---- */

struct fixture {
	char dir[64];
	char path[128];
	char crash[128];
	uint8_t *template;
	size_t template_len;
	uint8_t *full_wal;
	size_t full_wal_len;
	char sale2_receipt[LEDGER_RECEIPT_NO_MAX + 1]; /* card 1's second sale: the refunded one */
	struct programme prog;
};

enum booking_kind { BOOK_NEW_CARD, BOOK_COUPON, BOOK_REDEEM, BOOK_REFUND, BOOK_MAX };

static const char *const booking_names[BOOK_MAX] = {
    [BOOK_NEW_CARD] = "new card: enrol, welcome bonus, stamps, first-purchase coupon",
    [BOOK_COUPON] = "returning card uses its coupon",
    [BOOK_REDEEM] = "returning card redeems 100 points",
    [BOOK_REFUND] = "half of a sale refunded by receipt",
};

/* What one booking books, computed from the template's state before any fault. */
struct booking {
	enum booking_kind kind;
	uint8_t card[PSEUDONYM_LEN];
	struct rules_result res;
	struct rules_refund_result refund;
	int64_t time_us;
	int64_t eligible_gr;
};

static struct rules_line line(const char *cat, int32_t qty, int64_t unit)
{
	struct rules_line l = {.qty = qty, .unit_gr = unit};
	snprintf(l.sku, sizeof(l.sku), "%s-1", cat);
	snprintf(l.category, sizeof(l.category), "%s", cat);
	return l;
}

/* Apply the programme to a sale of the card at now on l (the rules' view of its state). */
static void apply(struct fixture *f, struct ledger *l, uint8_t card, int64_t now,
		  const struct rules_line *lines, size_t n, const struct rules_request *req,
		  struct booking *b)
{
	static struct rules_member before;
	struct ledger_member m;
	memset(b->card, card, sizeof(b->card));
	int64_t id = ledger_member_by_pseudonym(l, b->card, &m) == 0 ? m.member_id : 0;
	CHECK_INT(ledger_member_state(l, id, &f->prog, now, &before), 0);
	struct rules_basket basket = {.lines = lines, .n_lines = n};
	CHECK_INT(rules_apply(&f->prog, &before, &basket, req, now, &b->res), 0);
	CHECK_INT(b->res.refusal, RULES_OK);
	b->time_us = now;
	b->eligible_gr = 0;
	for (size_t i = 0; i < n; i++)
		b->eligible_gr += lines[i].qty * lines[i].unit_gr;
}

static int book(struct fixture *f, struct ledger *l, const struct booking *b,
		struct ledger_receipt *rc)
{
	if (b->kind == BOOK_REFUND)
		return ledger_book_refund(l, f->sale2_receipt, &b->refund, b->time_us, rc);
	struct ledger_booking bk = {
	    .prog = &f->prog, .time_us = b->time_us, .eligible_basket_gr = b->eligible_gr};
	return ledger_book(l, b->card, &b->res, &bk, rc);
}

/* The booking of kind k, from the state of l (the template). */
static void make_booking(struct fixture *f, struct ledger *l, enum booking_kind k,
			 struct booking *b)
{
	int64_t now = T0 + 3 * US_PER_DAY;
	memset(b, 0, sizeof(*b));
	b->kind = k;
	switch (k) {
	case BOOK_NEW_CARD: {
		struct rules_line lines[] = {line("food", 1, 6000), line("coffee", 3, 1200)};
		struct rules_request q = {.new_coupon_id = "C-9"};
		apply(f, l, NEW_CARD, now, lines, 2, &q, b);
		CHECK(b->res.coupon_issued);
		CHECK(b->res.bonus_pts > 0);
		break;
	}
	case BOOK_COUPON: {
		struct rules_line lines[] = {line("food", 2, 4000)};
		struct rules_request q = {.coupon_id = "C-1"};
		apply(f, l, 1, now, lines, 1, &q, b);
		CHECK(b->res.coupon_discount_gr > 0);
		break;
	}
	case BOOK_REDEEM: {
		struct rules_line lines[] = {line("food", 3, 2500)};
		struct rules_request q = {.redeem_pts = 100};
		apply(f, l, 2, now, lines, 1, &q, b);
		CHECK_INT(b->res.redeemed_pts, 100);
		break;
	}
	case BOOK_REFUND: {
		static struct rules_member before;
		struct rules_sale_record rec;
		int64_t member_id;
		struct ledger_member m;
		memset(b->card, 1, sizeof(b->card));
		CHECK_INT(ledger_member_by_pseudonym(l, b->card, &m), 0);
		member_id = m.member_id;
		CHECK_INT(ledger_sale_record(l, f->sale2_receipt, &rec), 0);
		CHECK_INT(ledger_member_state(l, member_id, &f->prog, now, &before), 0);
		struct rules_refund_request rq = {.basket_gr = rec.basket_gr / 2,
						  .eligible_gr = rec.eligible_basket_gr / 2};
		CHECK_INT(rules_refund(&f->prog, &before, &rec, &rq, now, &b->refund), 0);
		CHECK_INT(b->refund.refusal, RULES_OK);
		CHECK(b->refund.n_events >= 2);
		b->time_us = now;
		break;
	}
	case BOOK_MAX:
		break;
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ledger *l;
	struct ledger_receipt rc;
	static struct booking b;
	assert_non_null(f);
	programme_default(&f->prog);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ledger_book_fault_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
	snprintf(f->crash, sizeof(f->crash), "%s/crashed.sqlite", f->dir);

	/* the template: card 1 (a coupon, two sales), card 2 (points to redeem) */
	char tpl[128];
	snprintf(tpl, sizeof(tpl), "%s/template.sqlite", f->dir);
	snprintf(ctx, sizeof(ctx), "template");
	rnd_seed(1);
	assert_int_equal(ledger_open(tpl, TERMINAL, &l), 0);
	struct rules_line l1[] = {line("food", 1, 10000)};
	struct rules_request q1 = {.new_coupon_id = "C-1"};
	apply(f, l, 1, T0, l1, 1, &q1, &b);
	CHECK(b.res.coupon_issued);
	CHECK_INT(book(f, l, &b, &rc), 0);
	struct rules_line l2[] = {line("coffee", 4, 1100), line("food", 1, 3000)};
	struct rules_request none = {0};
	apply(f, l, 1, T0 + US_PER_DAY, l2, 2, &none, &b);
	CHECK_INT(book(f, l, &b, &rc), 0);
	snprintf(f->sale2_receipt, sizeof(f->sale2_receipt), "%s", rc.receipt_no);
	struct rules_request q3 = {.new_coupon_id = "C-2"};
	apply(f, l, 2, T0 + US_PER_DAY, l1, 1, &q3, &b);
	CHECK_INT(book(f, l, &b, &rc), 0);
	CHECK(rc.balance_pts >= 100);
	ledger_close(l);
	f->template = read_file(tpl, &f->template_len);

	/* a WAL just short of the auto-checkpoint, as in ledger_fault_test.c */
	sqlite3 *db;
	char sql[64], wal[160];
	assert_int_equal(sqlite3_open_v2(tpl, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL),
			 SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", LEDGER_SCHEMA_VERSION);
	for (int i = 0; i < FULL_WAL_FRAMES; i++)
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", tpl);
	f->full_wal = read_file(wal, &f->full_wal_len);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->template);
	free(f->full_wal);
	free(f);
	return 0;
}

static struct ledger *prepare(struct fixture *f, bool full_wal)
{
	struct ledger *l;
	remove_db(f->path);
	write_file(f->path, f->template, f->template_len);
	if (full_wal) {
		char wal[160];
		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		write_file(wal, f->full_wal, f->full_wal_len);
	}
	CHECK_INT(ledger_open(f->path, TERMINAL, &l), 0);
	return l;
}

static void check_verifies(const char *path)
{
	struct ledger_verify_report rep;
	CHECK_INT(ledger_verify_file(path, &rep), 0);
	if (rep.problem != LEDGER_PROBLEM_NONE)
		fail_msg("%s: verify: %s", ctx, rep.message);
}

#define BOOKING_SEED 77

struct tally {
	int cases, refused, booked, after_crash;
};

static void io_faults(struct fixture *f, bool persistent)
{
	static const struct {
		enum faultvfs_op op;
		int code;
		const char *code_name;
		int expect;
	} kinds[] = {
	    {FAULTVFS_WRITE, SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE", -EIO},
	    {FAULTVFS_WRITE, SQLITE_FULL, "SQLITE_FULL", -ENOSPC},
	    {FAULTVFS_SYNC, SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC", -EIO},
	    {FAULTVFS_SYNC, SQLITE_FULL, "SQLITE_FULL", -ENOSPC},
	    {FAULTVFS_TRUNCATE, SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE", -EIO},
	    {FAULTVFS_TRUNCATE, SQLITE_FULL, "SQLITE_FULL", -ENOSPC},
	};
	struct tally t = {0};
	static struct booking b;

	/* the crash copies are taken from the files, not from a power cut: the disk's flushes
	 * are not what this loop tests, and would make it wait on the disk some 2000 times */
	faultvfs_real_sync(false);

	for (int full_wal = 0; full_wal < 2; full_wal++) {
		for (int k = 0; k < BOOK_MAX; k++) {
			struct ledger_receipt rc;
			int64_t counts[FAULTVFS_OP_MAX];
			snprintf(ctx, sizeof(ctx), "%s%s, without a fault", booking_names[k],
				 full_wal ? " (WAL checkpoint)" : "");

			/* the state before, and after the booking without a fault */
			struct ledger *l = prepare(f, full_wal);
			make_booking(f, l, (enum booking_kind) k, &b);
			ledger_close(l);
			char *before = dump(f->path);
			check_verifies(f->path);
			l = prepare(f, full_wal);
			rnd_seed(BOOKING_SEED);
			faultvfs_reset();
			CHECK_INT(book(f, l, &b, &rc), 0);
			for (int op = 0; op < FAULTVFS_OP_MAX; op++)
				counts[op] = faultvfs_count(op);
			ledger_close(l);
			char *whole = dump(f->path);
			check_verifies(f->path);
			CHECK(strcmp(before, whole) != 0);
			if (!persistent)
				printf("# %s%s: %lld writes, %lld syncs, %lld truncates\n",
				       booking_names[k], full_wal ? " (WAL checkpoint)" : "",
				       (long long) counts[FAULTVFS_WRITE],
				       (long long) counts[FAULTVFS_SYNC],
				       (long long) counts[FAULTVFS_TRUNCATE]);
			CHECK(counts[FAULTVFS_WRITE] > 0);
			CHECK(counts[FAULTVFS_SYNC] > 0);

			for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
				for (int64_t n = 1; n <= counts[kinds[i].op]; n++) {
					snprintf(
					    ctx, sizeof(ctx),
					    "%s%s: %s %lld of %lld fails with %s%s",
					    booking_names[k], full_wal ? " (WAL checkpoint)" : "",
					    faultvfs_op_name(kinds[i].op), (long long) n,
					    (long long) counts[kinds[i].op], kinds[i].code_name,
					    persistent ? " from then on" : " once");
					l = prepare(f, full_wal);
					rnd_seed(BOOKING_SEED);
					faultvfs_reset();
					faultvfs_fail(kinds[i].op, n, kinds[i].code, persistent);
					int r = book(f, l, &b, &rc);
					faultvfs_clear();
					CHECK(faultvfs_injected() >= 1);
					t.cases++;
					/* a fault in the checkpoint after the commit leaves the
					 * booking booked (SQLite checkpoints on a best-effort
					 * basis) */
					if (faultvfs_fault_file_kind() == SQLITE_OPEN_MAIN_DB) {
						CHECK(full_wal);
						CHECK_INT(r, 0);
					} else if (r != 0 || !full_wal) {
						CHECK_INT(r, kinds[i].expect);
					}
					if (r == 0)
						t.booked++;
					else
						t.refused++;

					/* seen by another connection now: the booking whole if it
					 * was reported booked, else nothing of it */
					char *now = dump(f->path);
					CHECK(strcmp(now, r == 0 ? whole : before) == 0);
					free(now);

					/* as a crash now would leave the files: all or nothing */
					char p[160], q[160];
					remove_db(f->crash);
					copy_file(f->path, f->crash);
					snprintf(p, sizeof(p), "%s-wal", f->path);
					snprintf(q, sizeof(q), "%s-wal", f->crash);
					if (access(p, F_OK) == 0)
						copy_file(p, q);
					struct ledger *c;
					CHECK_INT(ledger_open(f->crash, TERMINAL, &c), 0);
					ledger_close(c);
					char *crashed = dump(f->crash);
					if (strcmp(crashed, whole) == 0) {
						if (r != 0)
							t.after_crash++;
					} else {
						CHECK(r != 0);
						CHECK(strcmp(crashed, before) == 0);
					}
					free(crashed);
					check_verifies(f->crash);

					/* the next sale on the faulted handle books; then the file
					 * is the booking whole or not at all, plus that sale */
					struct ledger_sale next = {.amount_gr = 4321,
								   .earn_pts = 43,
								   .time_us = T0 + 4 * US_PER_DAY};
					memset(next.pseudonym, FOLLOW_CARD, sizeof(next.pseudonym));
					struct ledger_receipt nrc;
					CHECK_INT(ledger_commit_sale(l, &next, &nrc), 0);
					ledger_close(l);
					check_verifies(f->path);
					struct ledger *v;
					CHECK_INT(ledger_open(f->path, TERMINAL, &v), 0);
					struct ledger_counts cnt;
					CHECK_INT(ledger_counts(v, &cnt), 0);
					CHECK_INT(cnt.last_seq, nrc.seq);
					if (r == 0) {
						struct ledger_receipt again;
						CHECK_INT(
						    ledger_get_receipt(v, nrc.receipt_no, &again),
						    0);
						CHECK(strcmp(rc.receipt_no, nrc.receipt_no) != 0);
					}
					ledger_close(v);
				}
			}
			free(before);
			free(whole);
		}
	}
	faultvfs_real_sync(true);
	printf("# %s: %d cases, %d refused, %d booked anyway, %d refused but back after a "
	       "crash\n",
	       persistent ? "I/O faults from then on" : "I/O faults once", t.cases, t.refused,
	       t.booked, t.after_crash);
}

static void test_book_io_fault_once(void **state)
{
	io_faults(*state, false);
}

static void test_book_io_fault_persistent(void **state)
{
	io_faults(*state, true);
}

int main(int argc, char **argv)
{
	if (faultvfs_register() < 0) {
		fprintf(stderr, "ledger_book_fault_test: cannot install the fault VFS\n");
		return 1;
	}
	if (getenv("FAULT_DEBUG"))
		log_set_level(LOG_LVL_DEBUG);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_book_io_fault_once),
	    cmocka_unit_test(test_book_io_fault_persistent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
