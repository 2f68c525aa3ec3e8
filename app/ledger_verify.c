/*
 * ledger_verify: integrity checks of a ledger file (SQLite integrity, sequence, hash chain,
 * members, balances), reported in words for a technician.
 *
 * Not for: repairs. A damaged ledger is reported, never changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger-priv.h"
#include "log.h"

#define QUICK_CHAIN_EVENTS 1000
/* A verification reads the whole file once: through a memory map (as far as SQLite allows)
 * pages are read in place instead of copied into the page cache. */
#define VERIFY_MMAP_SQL	  "PRAGMA mmap_size = 4294967296"
#define VERIFY_NOMMAP_SQL "PRAGMA mmap_size = 0"

/* Steps return a negative errno, STEP_OK to go on, or STEP_PROBLEM when the report is filled. */
#define STEP_OK	     0
#define STEP_PROBLEM 1

static int problem(struct ledger_verify_report *rep, enum ledger_problem what, int64_t seq,
		   int64_t member_id, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int problem(struct ledger_verify_report *rep, enum ledger_problem what, int64_t seq,
		   int64_t member_id, const char *fmt, ...)
{
	va_list ap;
	rep->problem = what;
	rep->seq = seq;
	rep->member_id = member_id;
	va_start(ap, fmt);
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	va_end(ap);
	return STEP_PROBLEM;
}

/*
 * A failed SQLite call while verifying: a damaged or foreign file is a problem to report; being
 * busy, out of memory or an I/O error means the check could not run.
 */
static int read_failed(struct ledger *l, struct ledger_verify_report *rep, const char *what)
{
	int code = sqlite3_errcode(l->db) & 0xff;
	log_debug("ledger verify: %s: %s", what, sqlite3_errmsg(l->db));
	switch (code) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_ERROR:
	case SQLITE_MISMATCH:
	case SQLITE_FORMAT:
	case SQLITE_SCHEMA:
		return problem(rep, LEDGER_PROBLEM_FILE, 0, 0,
			       "the ledger file cannot be read (%s): %s", what,
			       sqlite3_errmsg(l->db));
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Run sql, which answers one row of integers, into values[0..n-1]. */
static int read_ints(struct ledger *l, struct ledger_verify_report *rep, const char *sql,
		     const int64_t *bind, int64_t *values, int n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return read_failed(l, rep, sql);
	if (bind)
		sqlite3_bind_int64(st, 1, *bind);
	int r = STEP_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			values[i] = sqlite3_column_int64(st, i);
	} else {
		r = read_failed(l, rep, sql);
	}
	sqlite3_finalize(st);
	return r;
}

static int check_file(struct ledger *l, bool full, struct ledger_verify_report *rep)
{
	const char *sql = full ? "PRAGMA integrity_check(1)" : "PRAGMA quick_check(1)";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		return read_failed(l, rep, "integrity check");
	int r = STEP_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *answer = (const char *) sqlite3_column_text(st, 0);
		if (!answer || strcmp(answer, "ok") != 0)
			r = problem(rep, LEDGER_PROBLEM_FILE, 0, 0,
				    "the database file is damaged; SQLite's integrity check says: "
				    "%s",
				    answer ? answer : "?");
	} else {
		r = read_failed(l, rep, "integrity check");
	}
	sqlite3_finalize(st);
	return r;
}

/* Count events and members; events are numbered base+1..N without gaps (base: the purge
 * checkpoint's seq, 0 when nothing was purged). */
static int check_sequence(struct ledger *l, struct ledger_verify_report *rep, int64_t base,
			  int64_t *ret_last)
{
	int64_t v[3], gap, next;
	int r = read_ints(l, rep,
			  "SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0)"
			  " FROM events",
			  NULL, v, 3);
	if (r != STEP_OK)
		return r;
	rep->events = v[0];
	*ret_last = v[2];
	if ((r = read_ints(l, rep, "SELECT COUNT(*) FROM members", NULL, &rep->members, 1)) !=
	    STEP_OK)
		return r;
	if (v[0] == 0 || (v[1] == base + 1 && v[2] - base == v[0]))
		return STEP_OK;
	if (v[1] != base + 1)
		return problem(
		    rep, LEDGER_PROBLEM_MISSING, base + 1, 0,
		    "event %lld is missing: the ledger starts at event %lld (events were "
		    "deleted)",
		    (long long) (base + 1), (long long) v[1]);
	r = read_ints(l, rep,
		      "SELECT seq FROM events e WHERE seq < ?1 AND NOT EXISTS"
		      " (SELECT 1 FROM events n WHERE n.seq = e.seq + 1) ORDER BY seq LIMIT 1",
		      &v[2], &gap, 1);
	if (r != STEP_OK)
		return r;
	if ((r = read_ints(l, rep, "SELECT MIN(seq) FROM events WHERE seq > ?1", &gap, &next, 1)) !=
	    STEP_OK)
		return r;
	if (next == gap + 2)
		return problem(rep, LEDGER_PROBLEM_MISSING, gap + 1, 0,
			       "event %lld is missing: after event %lld comes event %lld (an event "
			       "was deleted)",
			       (long long) (gap + 1), (long long) gap, (long long) next);
	return problem(rep, LEDGER_PROBLEM_MISSING, gap + 1, 0,
		       "events %lld to %lld are missing: after event %lld comes event %lld (events "
		       "were deleted)",
		       (long long) (gap + 1), (long long) (next - 1), (long long) gap,
		       (long long) next);
}

/*
 * Every event from seq first on matches its hash, chained to the stored hash before it, or to
 * start_hash when given (the checkpoint's, or NULL for zeros at seq 1).
 */
static int check_chain(struct ledger *l, struct ledger_verify_report *rep, int64_t first,
		       const uint8_t *start_hash, struct ledger_fold *fold)
{
	uint8_t chain[LEDGER_HASH_LEN] = {0}, hash[LEDGER_HASH_LEN];
	sqlite3_stmt *st;
	int r = STEP_OK, s;

	rep->first_seq_checked = first;
	if (sqlite3_prepare_v2(l->db,
			       "SELECT " LEDGER_EVENT_COLUMNS ", hash FROM events WHERE seq >= ?1"
			       " ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		return read_failed(l, rep, "read events");
	/* the chain starts from the stored hash of the event before first */
	bool linking = first > 1 && !start_hash;
	if (start_hash)
		memcpy(chain, start_hash, LEDGER_HASH_LEN);
	int64_t expect = linking ? first - 1 : first;
	sqlite3_bind_int64(st, 1, expect);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_hash_event ev;
		ledger_event_from_row(l, st, 0, &ev);
		const void *stored = sqlite3_column_blob(st, LEDGER_EVENT_NCOLUMNS);
		if (ev.seq != expect) {
			r = problem(rep, LEDGER_PROBLEM_MISSING, expect, 0,
				    "event %lld is missing: after event %lld comes event %lld",
				    (long long) expect, (long long) (expect - 1),
				    (long long) ev.seq);
			break;
		}
		expect++;
		if (sqlite3_column_bytes(st, LEDGER_EVENT_NCOLUMNS) != LEDGER_HASH_LEN || !stored) {
			r = problem(rep, LEDGER_PROBLEM_HASH, ev.seq, ev.member_id,
				    "event %lld has no hash (it was written or changed outside "
				    "loyaltyd)",
				    (long long) ev.seq);
			break;
		}
		if (linking) {
			memcpy(chain, stored, LEDGER_HASH_LEN);
			linking = false;
			continue;
		}
		if ((r = ledger_hash_event(&ev, chain, hash)) < 0)
			break;
		if (memcmp(hash, stored, LEDGER_HASH_LEN) != 0) {
			r = problem(rep, LEDGER_PROBLEM_HASH, ev.seq, ev.member_id,
				    "event %lld does not match its hash: it or the event before it "
				    "was changed, or events were moved, after they were written",
				    (long long) ev.seq);
			break;
		}
		memcpy(chain, hash, LEDGER_HASH_LEN);
		rep->events_checked++;
		if (fold)
			ledger_fold_event(fold, &ev);
	}
	if (r == STEP_OK && s != SQLITE_DONE)
		r = read_failed(l, rep, "read events");
	sqlite3_finalize(st);
	return r;
}

static int member_problem(void *userdata, const struct ledger_fold_diff *d)
{
	struct ledger_verify_report *rep = userdata;
	long long id = (long long) d->member_id;
	if (d->what & LEDGER_FOLD_BALANCE)
		return problem(rep, LEDGER_PROBLEM_BALANCE, 0, d->member_id,
			       "member %lld has a balance of %lld pts but its events add up to "
			       "%lld pts (the balance was changed)",
			       id, (long long) d->stored_balance_pts,
			       (long long) d->fold_balance_pts);
	if (d->what & LEDGER_FOLD_LOTSUM)
		return problem(rep, LEDGER_PROBLEM_BALANCE, 0, d->member_id,
			       "member %lld has a balance of %lld pts but its points lots add "
			       "up to %lld pts (the lots were changed)",
			       id, (long long) d->stored_balance_pts,
			       (long long) d->stored_lots_pts);
	if (d->what & LEDGER_FOLD_VISITS)
		return problem(rep, LEDGER_PROBLEM_BALANCE, 0, d->member_id,
			       "member %lld's visits or last visit differ from its events "
			       "(%lld visits stored, %lld booked; the member state was changed)",
			       id, (long long) d->stored_visits, (long long) d->fold_visits);
	if (d->what)
		return problem(rep, LEDGER_PROBLEM_BALANCE, 0, d->member_id,
			       "member %lld's state differs from its events (%s; the member state "
			       "was changed)",
			       id, d->detail);
	rep->members_checked++;
	return STEP_OK;
}

/* Every event's member exists, and each member's stored state (balance, points lots, visits,
 * stamp cards, the facts the events carry) is the fold of the checkpoint and its events. */
static int check_members(struct ledger *l, struct ledger_verify_report *rep,
			 struct ledger_fold *fold)
{
	int r;

	/* the fold noted the first event whose member is not in the members table */
	int64_t seq, member_id;
	if (ledger_fold_missing_member(fold, &seq, &member_id))
		return problem(rep, LEDGER_PROBLEM_MEMBER, seq, member_id,
			       "event %lld belongs to member %lld, who is not in the ledger (the "
			       "member was deleted)",
			       (long long) seq, (long long) member_id);
	r = ledger_fold_compare(l, fold, member_problem, rep);
	if (r == -EIO || r == -EBADMSG)
		r = read_failed(l, rep, "read member state");
	return r;
}

/* How much a verification checks. */
enum verify_mode {
	VERIFY_QUICK,	/* start-up: quick_check, the chain of the last events */
	VERIFY_DEFAULT, /* quick_check, the whole chain, the fold */
	VERIFY_FULL,	/* integrity_check, the whole chain, the fold */
};

/*
 * SQLite's own check of the file, run on a second read-only connection in a thread of its own
 * while the calling thread checks the chain and the member state: on two cores the two take
 * the time of the longer one. The thread has its own snapshot (a sale committed in between is
 * in one and not the other); both are consistent, and the check looks at the file's structure.
 */
struct file_check {
	struct ledger conn;
	bool full;
	int r;
	struct ledger_verify_report rep;
};

static void *file_check_run(void *userdata)
{
	struct file_check *fc = userdata;
	if (sqlite3_exec(fc->conn.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		fc->r = read_failed(&fc->conn, &fc->rep, "begin file check");
		return NULL;
	}
	fc->r = check_file(&fc->conn, fc->full, &fc->rep);
	(void) sqlite3_exec(fc->conn.db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

/* Start the file check on its own connection; false when it must run inline instead. */
static bool file_check_start(struct ledger *l, struct file_check *fc, pthread_t *ret_thread)
{
	const char *path = sqlite3_db_filename(l->db, "main");
	memset(fc, 0, sizeof(*fc));
	if (!path || !path[0])
		return false; /* an in-memory or temporary database */
	if (sqlite3_open_v2(path, &fc->conn.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(fc->conn.db);
		return false;
	}
	sqlite3_busy_timeout(fc->conn.db, LEDGER_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(fc->conn.db, 1);
	(void) sqlite3_exec(fc->conn.db, VERIFY_MMAP_SQL, NULL, NULL, NULL);
	if (pthread_create(ret_thread, NULL, file_check_run, fc) != 0) {
		sqlite3_close(fc->conn.db);
		return false;
	}
	return true;
}

static int verify(struct ledger *l, enum verify_mode mode, struct ledger_verify_report *ret_report)
{
	struct ledger_verify_report rep = {.problem = LEDGER_PROBLEM_NONE};
	struct file_check fc;
	pthread_t thread;
	int64_t last = 0;
	int r = STEP_OK;
	const bool full = mode == VERIFY_FULL;

	bool threaded = mode != VERIFY_QUICK && file_check_start(l, &fc, &thread);
	if (mode != VERIFY_QUICK)
		(void) sqlite3_exec(l->db, VERIFY_MMAP_SQL, NULL, NULL, NULL);
	/* one read transaction: every step sees the same snapshot */
	if (sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "begin verify");
		goto join;
	}
	struct ledger_checkpoint cp;
	struct ledger_fold *fold = NULL;
	if ((threaded || (r = check_file(l, full, &rep)) == STEP_OK) &&
	    (r = ledger_checkpoint_read(l, &cp)) == 0 &&
	    (r = check_sequence(l, &rep, cp.seq, &last)) == STEP_OK &&
	    (r = ledger_fold_new(l, &fold)) == 0) {
		int64_t first = cp.seq + 1;
		if (mode == VERIFY_QUICK && last - QUICK_CHAIN_EVENTS + 1 > first)
			first = last - QUICK_CHAIN_EVENTS + 1;
		/* the whole chain folds the member state on its way; the quick one reads the
		 * events again for it */
		bool whole = first == cp.seq + 1;
		if ((r = check_chain(l, &rep, first, whole && cp.seq ? cp.hash : NULL,
				     whole ? fold : NULL)) == STEP_OK &&
		    (whole || (r = ledger_fold_events(l, fold, cp.seq + 1, 0)) == 0))
			r = check_members(l, &rep, fold);
	}
	ledger_fold_free(fold);
	(void) sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
join:
	if (mode != VERIFY_QUICK)
		(void) sqlite3_exec(l->db, VERIFY_NOMMAP_SQL, NULL, NULL, NULL);
	if (threaded) {
		(void) pthread_join(thread, NULL);
		sqlite3_close(fc.conn.db);
		/* a damaged file is the first problem to name: the rest follows from it */
		if (fc.r < 0 && r >= 0)
			r = fc.r;
		else if (fc.r == STEP_PROBLEM && r >= 0) {
			int64_t events = rep.events, members = rep.members;
			rep = fc.rep;
			rep.events = events;
			rep.members = members;
			r = STEP_PROBLEM;
		}
	}
	if (r < 0)
		return r;
	*ret_report = rep;
	return 0;
}

int ledger_verify(struct ledger *ledger, struct ledger_verify_report *ret_report)
{
	if (!ledger || !ret_report)
		return -EINVAL;
	return verify(ledger, VERIFY_DEFAULT, ret_report);
}

int ledger_verify_full(struct ledger *ledger, struct ledger_verify_report *ret_report)
{
	if (!ledger || !ret_report)
		return -EINVAL;
	return verify(ledger, VERIFY_FULL, ret_report);
}

int ledger_verify_quick(struct ledger *ledger, struct ledger_verify_report *ret_report)
{
	if (!ledger || !ret_report)
		return -EINVAL;
	return verify(ledger, VERIFY_QUICK, ret_report);
}

/* The file's schema version is the one this code checks; otherwise a problem. */
static int check_schema(struct ledger *l, struct ledger_verify_report *rep)
{
	int64_t version;
	int r = read_ints(l, rep, "PRAGMA user_version", NULL, &version, 1);
	if (r != STEP_OK)
		return r;
	if (version == 0)
		return problem(rep, LEDGER_PROBLEM_SCHEMA, 0, 0,
			       "this is not a ledger: the database has no ledger schema");
	if (version > LEDGER_SCHEMA_VERSION)
		return problem(rep, LEDGER_PROBLEM_SCHEMA, 0, 0,
			       "the ledger has schema version %lld, written by a newer firmware; "
			       "this one knows up to %d: use that firmware's loyaltyctl",
			       (long long) version, LEDGER_SCHEMA_VERSION);
	if (version < LEDGER_SCHEMA_VERSION)
		return problem(rep, LEDGER_PROBLEM_SCHEMA, 0, 0,
			       "the ledger has the older schema version %lld; start loyaltyd once "
			       "to migrate it to version %d, then verify again",
			       (long long) version, LEDGER_SCHEMA_VERSION);
	return STEP_OK;
}

static int verify_file(const char *path, enum verify_mode mode,
		       struct ledger_verify_report *ret_report)
{
	struct ledger l = {.db = NULL};
	struct ledger_verify_report rep = {.problem = LEDGER_PROBLEM_NONE};
	struct stat sb;
	int r;

	if (!path || !ret_report)
		return -EINVAL;
	if (stat(path, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EISDIR;
	if (sqlite3_open_v2(path, &l.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		r = l.db ? ledger_sql_fail(&l, path) : -ENOMEM;
		goto out;
	}
	sqlite3_busy_timeout(l.db, LEDGER_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(l.db, 1);
	if ((r = check_schema(&l, &rep)) < 0)
		goto out;
	if (r == STEP_OK && ledger_encoding_load(&l) < 0)
		r = problem(&rep, LEDGER_PROBLEM_SCHEMA, 0, 0,
			    "the ledger does not say from which event on the hash encoding 3 "
			    "applies (its meta table was changed)");
	if (r == STEP_PROBLEM) {
		*ret_report = rep;
		r = 0;
		goto out;
	}
	r = verify(&l, mode, ret_report);
out:
	ledger_stmt_cache_free(&l);
	sqlite3_close(l.db);
	return r;
}

int ledger_verify_file(const char *path, struct ledger_verify_report *ret_report)
{
	return verify_file(path, VERIFY_DEFAULT, ret_report);
}

int ledger_verify_file_full(const char *path, struct ledger_verify_report *ret_report)
{
	return verify_file(path, VERIFY_FULL, ret_report);
}
