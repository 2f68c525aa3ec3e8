/*
 * ledger_fault_test: the ledger when the storage under it fails. Every write, sync and truncate
 * one sale makes fails in turn (faultvfs), and every allocation SQLite makes during one sale
 * (faultmalloc), once and from then on, in three situations: the first sale after open, a later
 * sale on the same handle, and a sale that runs the WAL checkpoint. A refused sale returns the
 * errno that names the cause and none of it is in the file, also as a crash right after would
 * leave the file; a sale booked in spite of the fault (one in the checkpoint after the commit) is
 * wholly there; the earlier sales are intact, the ledger verifies, and the next sale on the same
 * handle books with the next seq. Damaged and newer ledger files are refused, reported, and left
 * byte for byte as they were.
 *
 * Not for: kill -9 during commits (crash_test.c), the ledger's ordinary behaviour (unit tests).
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

#include "faultmalloc.h"
#include "faultvfs.h"
#include "ledger.h"
#include "log.h"

#define TERMINAL    "T1"
#define PRIOR_SALES 6
#define NEW_CARD    9 /* not among the prior sales' cards */
#define FOLLOW_CARD 4 /* the sale after the fault: another new card */
#define WARM_CARD   2
#define SALE_GR	    3456 /* the faulted sale */
#define CASE_MAX    200

/* The cards of the template's sales. */
static const uint8_t prior_cards[PRIOR_SALES] = {1, 2, 3, 1, 2, 1};

/* What the current case is, for failure messages. */
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

struct booked {
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
	int64_t balance_pts;
};

struct fixture {
	char dir[64];
	char path[128];	 /* the ledger under test, restored from the template for each case */
	char crash[128]; /* a copy of it as a crash would leave it: database and WAL, no shm */
	uint8_t *template;
	size_t template_len;
	uint8_t
	    *full_wal; /* the template's WAL for full_wal scenarios (the database is the same) */
	size_t full_wal_len;
	struct booked prior[PRIOR_SALES];
	struct ledger_counts prior_counts;
};

/* One way into the faulted sale. */
struct scenario {
	const char *name;
	bool warm;     /* a sale on the same handle first, so the WAL is not empty */
	bool full_wal; /* the WAL is just short of SQLite's auto-checkpoint (1000 pages) */
	uint8_t card;  /* the faulted sale's card */
};

static const struct scenario scenarios[] = {
    {"first sale after open, new card", false, false, NEW_CARD},
    {"second sale on the handle, returning card", true, false, 1},
    {"sale that runs the WAL checkpoint, returning card", false, true, 1},
};

/* Frames in the WAL of the full_wal scenario: a sale adds some 10 and checkpoints at 1000. */
#define FULL_WAL_FRAMES 995

static struct ledger_sale sale_of(uint8_t card, int64_t amount_gr)
{
	struct ledger_sale s = {.amount_gr = amount_gr,
				.earn_pts = amount_gr / 100,
				.time_us = INT64_C(1795000000000000) + amount_gr};
	memset(s.pseudonym, card, sizeof(s.pseudonym));
	return s;
}

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

/* Remove a database and the WAL and shared-memory files beside it. */
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ledger *l;
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ledger_fault_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
	snprintf(f->crash, sizeof(f->crash), "%s/crashed.sqlite", f->dir);

	/* the template: a few sales, some cards returning; closed, so the WAL is folded in */
	char tpl[128];
	snprintf(tpl, sizeof(tpl), "%s/template.sqlite", f->dir);
	assert_int_equal(ledger_open(tpl, TERMINAL, &l), 0);
	for (int i = 0; i < PRIOR_SALES; i++) {
		struct ledger_sale s = sale_of(prior_cards[i], 1000 + 137 * i);
		struct ledger_receipt rc;
		assert_int_equal(ledger_commit_sale(l, &s, &rc), 0);
		memcpy(f->prior[i].receipt_no, rc.receipt_no, sizeof(rc.receipt_no));
		memcpy(f->prior[i].event_id, rc.event_id, LEDGER_EVENT_ID_LEN);
		f->prior[i].balance_pts = rc.balance_pts;
	}
	assert_int_equal(ledger_counts(l, &f->prior_counts), 0);
	ledger_close(l);
	f->template = read_file(tpl, &f->template_len);

	/*
	 * The full WAL: the ledger's header page rewritten in as many transactions (the schema
	 * version set to what it is), kept as a WAL by closing without a checkpoint.
	 */
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
	assert_int_equal(f->full_wal_len, 32 + FULL_WAL_FRAMES * (24 + 4096));
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

/* The ledger as the template left it, open, and warmed up when the scenario says so. */
static struct ledger *prepare(struct fixture *f, const struct scenario *sc)
{
	struct ledger *l;
	remove_db(f->path);
	write_file(f->path, f->template, f->template_len);
	if (sc->full_wal) {
		char wal[160];
		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		write_file(wal, f->full_wal, f->full_wal_len);
	}
	CHECK_INT(ledger_open(f->path, TERMINAL, &l), 0);
	if (sc->warm) {
		struct ledger_sale s = sale_of(WARM_CARD, 2222);
		struct ledger_receipt rc;
		CHECK_INT(ledger_commit_sale(l, &s, &rc), 0);
	}
	return l;
}

/* Events the ledger holds before the faulted sale. */
static int64_t events_before(const struct fixture *f, const struct scenario *sc)
{
	return f->prior_counts.events + (sc->warm ? 1 : 0);
}

/* The earlier sales are there with their event ids and balances, and the ledger verifies. */
static void check_intact(struct fixture *f, struct ledger *l)
{
	struct ledger_verify_report rep;
	CHECK_INT(ledger_verify(l, &rep), 0);
	if (rep.problem != LEDGER_PROBLEM_NONE)
		fail_msg("%s: verify: %s", ctx, rep.message);
	for (int i = 0; i < PRIOR_SALES; i++) {
		struct ledger_receipt rc;
		CHECK_INT(ledger_get_receipt(l, f->prior[i].receipt_no, &rc), 0);
		CHECK(memcmp(rc.event_id, f->prior[i].event_id, LEDGER_EVENT_ID_LEN) == 0);
		CHECK_INT(rc.balance_pts, f->prior[i].balance_pts);
	}
}

/*
 * The faulted sale (card, receipt_no) is either wholly in l (*ret_present) or not at all, and
 * l holds nothing else beyond the events before it.
 */
static void check_atomic(struct fixture *f, const struct scenario *sc, struct ledger *l,
			 const char *receipt_no, bool *ret_present)
{
	struct ledger_counts c;
	struct ledger_receipt rc;
	struct ledger_member m;
	struct ledger_sale s = sale_of(sc->card, SALE_GR);
	bool is_new = sc->card == NEW_CARD;
	int64_t before = events_before(f, sc), balance = 0;

	for (int i = 0; i < PRIOR_SALES; i++)
		if (prior_cards[i] == sc->card)
			balance = f->prior[i].balance_pts;

	check_intact(f, l);
	CHECK_INT(ledger_counts(l, &c), 0);
	int r = ledger_get_receipt(l, receipt_no, &rc);
	CHECK(r == 0 || r == -ENOENT);
	int mr = ledger_member_by_pseudonym(l, s.pseudonym, &m);
	if (r == -ENOENT) {
		CHECK_INT(c.events, before);
		CHECK_INT(c.last_seq, before);
		CHECK_INT(c.members, f->prior_counts.members);
		CHECK_INT(mr, is_new ? -ENOENT : 0);
		if (mr == 0)
			CHECK_INT(m.balance_pts, balance);
	} else {
		CHECK_INT(c.events, before + (is_new ? 2 : 1));
		CHECK_INT(c.last_seq, c.events);
		CHECK_INT(c.members, f->prior_counts.members + (is_new ? 1 : 0));
		CHECK_INT(rc.new_member, is_new);
		CHECK_INT(mr, 0);
		CHECK_INT(rc.balance_pts, balance + s.earn_pts);
		CHECK_INT(m.balance_pts, rc.balance_pts);
	}
	*ret_present = r == 0;
}

/*
 * Ledger bugs these tests found, both fixed: the flags stay false so that a regression fails the
 * test (set one to true only to tolerate, count and print a bug while it is open).
 *
 * KNOWN_BOOKED_BUT_REFUSED: ledger_commit_sale reads the receipt back after COMMIT; when that
 * read fails (no memory) the sale is booked but the call returns -ENOMEM, so the cashier is told
 * it was refused and a retry books it twice.
 *
 * KNOWN_STUCK_TRANSACTION: when the ROLLBACK after a failed statement cannot run (no memory),
 * the handle stays inside the transaction, holding the write lock, and every later sale on it
 * fails with -EIO ("cannot start a transaction within a transaction") until it is reopened.
 */
#define KNOWN_BOOKED_BUT_REFUSED false
#define KNOWN_STUCK_TRANSACTION	 false

/* Statistics of a fault loop, printed at its end. */
struct tally {
	bool alloc; /* allocation failures, where the known bugs show */
	int cases;
	int refused;	 /* the sale returned an error */
	int booked;	 /* the fault did not stop the sale (SQLite could do without) */
	int after_crash; /* refused, yet a crash right after would bring the sale back */
	int known_booked_but_refused;
	int known_stuck;
};

/*
 * After a sale that returned r under a fault: a refused sale is not in the file (seen by a
 * fresh connection), a booked one is wholly there; the same holds, atomically, for the files as
 * a crash right now would leave them; the next sale on the same handle books with the next seq;
 * and after closing and reopening everything verifies.
 */
static void check_after(struct fixture *f, const struct scenario *sc, struct ledger *l, int r,
			const struct ledger_receipt *booked, bool crash_copy, struct tally *t)
{
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	struct ledger *fresh;
	bool present, is_booked = r == 0;

	snprintf(receipt_no, sizeof(receipt_no), "%s-%06lld", TERMINAL,
		 (long long) events_before(f, sc) + 1);
	t->cases++;
	if (r == 0) {
		t->booked++;
		CHECK(strcmp(booked->receipt_no, receipt_no) == 0);
	} else {
		t->refused++;
	}

	/* a second connection, opened now */
	CHECK_INT(ledger_open(f->path, TERMINAL, &fresh), 0);
	check_atomic(f, sc, fresh, receipt_no, &present);
	if (t->alloc && r == -ENOMEM && present && KNOWN_BOOKED_BUT_REFUSED) {
		t->known_booked_but_refused++;
		is_booked = true;
	}
	CHECK_INT(present, is_booked);
	ledger_close(fresh);

	/* the database and WAL as a crash now would leave them; the first open recovers */
	if (crash_copy) {
		char p[160], q[160];
		remove_db(f->crash);
		copy_file(f->path, f->crash);
		snprintf(p, sizeof(p), "%s-wal", f->path);
		snprintf(q, sizeof(q), "%s-wal", f->crash);
		if (access(p, F_OK) == 0)
			copy_file(p, q);
		CHECK_INT(ledger_open(f->crash, TERMINAL, &fresh), 0);
		check_atomic(f, sc, fresh, receipt_no, &present);
		if (!is_booked && present)
			t->after_crash++;
		if (is_booked)
			CHECK(present);
		ledger_close(fresh);
	}

	/* the next sale on the handle that saw the fault */
	struct ledger_sale next = sale_of(FOLLOW_CARD, 4321);
	struct ledger_receipt rc;
	int64_t expect_seq = events_before(f, sc) +
			     (is_booked ? (sc->card == NEW_CARD ? 2 : 1) : 0) +
			     2; /* FOLLOW_CARD is new: enrol, then earn */
	int rn = ledger_commit_sale(l, &next, &rc);
	if (t->alloc && rn == -EIO && KNOWN_STUCK_TRANSACTION) {
		t->known_stuck++;
		ledger_close(l);
		CHECK_INT(ledger_open(f->path, TERMINAL, &l), 0);
		rn = ledger_commit_sale(l, &next, &rc);
	}
	CHECK_INT(rn, 0);
	CHECK_INT(rc.seq, expect_seq);
	CHECK(rc.new_member);
	ledger_close(l);

	CHECK_INT(ledger_open(f->path, TERMINAL, &fresh), 0);
	check_intact(f, fresh);
	struct ledger_counts c;
	CHECK_INT(ledger_counts(fresh, &c), 0);
	CHECK_INT(c.events, expect_seq);
	CHECK_INT(c.last_seq, expect_seq);
	struct ledger_receipt again;
	CHECK_INT(ledger_get_receipt(fresh, rc.receipt_no, &again), 0);
	CHECK(memcmp(again.event_id, rc.event_id, LEDGER_EVENT_ID_LEN) == 0);
	/* a refused sale used no number: the next sale's receipt takes it */
	if (!is_booked)
		CHECK(strcmp(rc.receipt_no, receipt_no) == 0);
	ledger_close(fresh);
}

static void print_tally(const char *what, const struct tally *t)
{
	printf("# %s: %d cases, %d refused, %d booked anyway, %d refused but back after a crash\n",
	       what, t->cases, t->refused, t->booked, t->after_crash);
	if (t->known_booked_but_refused)
		printf(
		    "# KNOWN BUG: %d sales booked although ledger_commit_sale returned -ENOMEM\n",
		    t->known_booked_but_refused);
	if (t->known_stuck)
		printf("# KNOWN BUG: %d times the handle stayed in a transaction after a failed "
		       "ROLLBACK; the next sale on it failed with -EIO\n",
		       t->known_stuck);
}

/* The writes, syncs and truncates one sale makes in scenario sc. */
static void count_io(struct fixture *f, const struct scenario *sc, int64_t counts[FAULTVFS_OP_MAX])
{
	struct ledger_sale s = sale_of(sc->card, SALE_GR);
	struct ledger_receipt rc;
	snprintf(ctx, sizeof(ctx), "counting I/O, %s", sc->name);
	struct ledger *l = prepare(f, sc);
	faultvfs_reset();
	CHECK_INT(ledger_commit_sale(l, &s, &rc), 0);
	for (int op = 0; op < FAULTVFS_OP_MAX; op++)
		counts[op] = faultvfs_count(op);
	ledger_close(l);
	printf("# one sale, %s: %lld writes, %lld syncs, %lld truncates\n", sc->name,
	       (long long) counts[FAULTVFS_WRITE], (long long) counts[FAULTVFS_SYNC],
	       (long long) counts[FAULTVFS_TRUNCATE]);
}

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

	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		const struct scenario *sc = &scenarios[s];
		int64_t counts[FAULTVFS_OP_MAX];
		int booked_before = t.booked;
		count_io(f, sc, counts);
		CHECK(counts[FAULTVFS_WRITE] > 0);
		CHECK(counts[FAULTVFS_SYNC] > 0);
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			for (int64_t n = 1; n <= counts[kinds[k].op]; n++) {
				struct ledger_sale sale = sale_of(sc->card, SALE_GR);
				struct ledger_receipt rc;
				snprintf(ctx, sizeof(ctx), "%s: %s %lld of %lld fails with %s%s",
					 sc->name, faultvfs_op_name(kinds[k].op), (long long) n,
					 (long long) counts[kinds[k].op], kinds[k].code_name,
					 persistent ? " from then on" : " once");
				struct ledger *l = prepare(f, sc);
				faultvfs_reset();
				faultvfs_fail(kinds[k].op, n, kinds[k].code, persistent);
				int r = ledger_commit_sale(l, &sale, &rc);
				faultvfs_clear();
				CHECK(faultvfs_injected() >= 1);
				/*
				 * Only the checkpoint after the commit writes the database file
				 * during a sale; SQLite does it on a best-effort basis, so a
				 * fault there leaves the sale booked.
				 */
				if (faultvfs_fault_file_kind() == SQLITE_OPEN_MAIN_DB) {
					CHECK(sc->full_wal);
					CHECK_INT(r, 0);
				} else if (r != 0 || !sc->full_wal) {
					CHECK_INT(r, kinds[k].expect);
				}
				check_after(f, sc, l, r, &rc, true, &t);
			}
		}
		/* the checkpoint ran inside the sale, and its faults were seen */
		if (sc->full_wal)
			CHECK(t.booked > booked_before);
	}
	print_tally(persistent ? "I/O faults from then on" : "I/O faults once", &t);
}

static void test_io_fault_once(void **state)
{
	io_faults(*state, false);
}

static void test_io_fault_persistent(void **state)
{
	io_faults(*state, true);
}

static void alloc_faults(struct fixture *f, bool persistent)
{
	struct tally t = {.alloc = true};

	/* over a thousand cases: the disk's flushes are not what this loop tests */
	faultvfs_real_sync(false);

	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		const struct scenario *sc = &scenarios[s];
		struct ledger_sale sale = sale_of(sc->card, SALE_GR);
		struct ledger_receipt rc;

		/* a warm handle makes the same allocations for a sale, less one WAL header */
		if (sc->warm)
			continue;

		snprintf(ctx, sizeof(ctx), "counting allocations, %s", sc->name);
		struct ledger *l = prepare(f, sc);
		faultmalloc_reset();
		CHECK_INT(ledger_commit_sale(l, &sale, &rc), 0);
		int64_t count = faultmalloc_count();
		ledger_close(l);
		printf("# one sale, %s: %lld SQLite allocations\n", sc->name, (long long) count);
		CHECK(count > 0);

		for (int64_t n = 1; n <= count; n++) {
			snprintf(ctx, sizeof(ctx), "%s: allocation %lld of %lld fails%s", sc->name,
				 (long long) n, (long long) count,
				 persistent ? " from then on" : " once");
			l = prepare(f, sc);
			faultmalloc_reset();
			faultmalloc_fail(n, persistent);
			int r = ledger_commit_sale(l, &sale, &rc);
			faultmalloc_clear();
			CHECK(faultmalloc_injected() >= 1);
			if (r != 0)
				CHECK_INT(r, -ENOMEM);
			/* a crash copy would add nothing: no I/O failed */
			check_after(f, sc, l, r, &rc, false, &t);
		}
	}
	faultvfs_real_sync(true);
	print_tally(persistent ? "allocation failures from then on" : "allocation failures once",
		    &t);
}

static void test_alloc_fault_once(void **state)
{
	alloc_faults(*state, false);
}

static void test_alloc_fault_persistent(void **state)
{
	alloc_faults(*state, true);
}

/*
 * A bad ledger file at path: ledger_open refuses it with expect_open, ledger_verify_file reports
 * problem with a message containing words, and the file is byte for byte what it was.
 */
static void check_refused(const char *path, int expect_open, enum ledger_problem problem,
			  const char *words)
{
	size_t len, after_len;
	uint8_t *before = read_file(path, &len);
	struct ledger *l = NULL;
	struct ledger_verify_report rep;

	CHECK_INT(ledger_open(path, TERMINAL, &l), expect_open);
	CHECK(l == NULL);
	CHECK_INT(ledger_verify_file(path, &rep), 0);
	CHECK_INT(rep.problem, problem);
	printf("# %s: open %d (%s); verify: %s\n", ctx, expect_open, strerror(-expect_open),
	       rep.message);
	if (!strstr(rep.message, words))
		fail_msg("%s: report \"%s\" does not say \"%s\"", ctx, rep.message, words);
	uint8_t *after = read_file(path, &after_len);
	CHECK_INT(after_len, len);
	CHECK(memcmp(before, after, len) == 0);
	free(after);
	free(before);
}

static void test_bad_files(void **state)
{
	struct fixture *f = *state;
	char path[160];

	/* a real ledger cut short, at half its length and at other points */
	CHECK(f->template_len >= 4 * 4096);
	const size_t cuts[] = {f->template_len / 2, f->template_len / 2 - 100, 4096 + 1000, 100};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		snprintf(ctx, sizeof(ctx), "ledger cut to %zu of %zu bytes", cuts[i],
			 f->template_len);
		snprintf(path, sizeof(path), "%s/cut%zu.sqlite", f->dir, i);
		write_file(path, f->template, cuts[i]);
		check_refused(path, -EBADMSG, LEDGER_PROBLEM_FILE, "");
	}

	/* random bytes */
	snprintf(ctx, sizeof(ctx), "16 KiB of random bytes");
	snprintf(path, sizeof(path), "%s/random.sqlite", f->dir);
	uint8_t junk[16384];
	uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		junk[i] = (uint8_t) (x >> 24);
	}
	write_file(path, junk, sizeof(junk));
	check_refused(path, -EBADMSG, LEDGER_PROBLEM_FILE, "not a database");

	/* a ledger from a newer firmware */
	snprintf(ctx, sizeof(ctx), "a ledger of schema version 99");
	snprintf(path, sizeof(path), "%s/newer.sqlite", f->dir);
	write_file(path, f->template, f->template_len);
	sqlite3 *db;
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_close(db), SQLITE_OK);
	check_refused(path, -EPROTO, LEDGER_PROBLEM_SCHEMA, "newer firmware");
}

/* With an argument, only the tests whose names match it (a cmocka filter pattern) run. */
int main(int argc, char **argv)
{
	/* the allocator first: registering the VFS initialises SQLite */
	if (faultmalloc_install() < 0 || faultvfs_register() < 0) {
		fprintf(stderr, "ledger_fault_test: cannot install the fault shims\n");
		return 1;
	}
	if (getenv("FAULT_DEBUG"))
		log_set_level(LOG_LVL_DEBUG);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_io_fault_once),    cmocka_unit_test(test_io_fault_persistent),
	    cmocka_unit_test(test_alloc_fault_once), cmocka_unit_test(test_alloc_fault_persistent),
	    cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
