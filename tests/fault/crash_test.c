/*
 * crash_test: the crash proof of the ledger. It runs crash_writer on one ledger file, reads the
 * receipts it reports on a pipe, kills it with SIGKILL after a random delay (0-30 ms after it
 * opened the ledger, or while it opens it), and starts it again, KILLS times. After every round
 * the sales booked since the round before must be exactly those reported, in order, plus at most
 * the one that was in flight; every few rounds and at the end the whole ledger is checked: every
 * reported receipt is there with its event id and balance, no event id appears twice, seq runs
 * 1..N, each sale is whole (an enrol only right before its earn, one earn per receipt, one enrol
 * per member), every balance is the sum of its member's events, and ledger_verify() passes.
 *
 *   crash_test WRITER KILLS [SEED]
 *
 * The seed is printed; the same seed gives the same cards, amounts and delays (those during
 * start-up scale with the start-up time measured in the run). Not for: power loss (the kernel's
 * page cache survives SIGKILL), I/O errors (ledger_fault_test.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"

#define TERMINAL	 "CRASH1" /* as crash_writer.c */
#define MAX_DELAY_US	 30000
#define FULL_CHECKS	 20 /* in a long run; a short one checks every 10 rounds */
#define READY_TIMEOUT_US (30 * INT64_C(1000000))
#define EOF_TIMEOUT_US	 (10 * INT64_C(1000000))
#define LINE_MAX_LEN	 128
#define KILL_AT_OPEN_IN	 5 /* one round in this many kills during start-up */

struct report {
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
	int64_t balance_pts;
};

static struct {
	const char *writer;
	char dir[64];
	char path[128];
	uint64_t seed;
	uint64_t rng;
	int round;
	pid_t child;
	struct report *reports;
	size_t n_reports, cap_reports;
	int64_t last_seq; /* the ledger's last seq after the previous round */
	/* figures for the summary */
	int kills_at_open, kills_in_sales, in_flight_booked, full_checks;
	int64_t startup_us; /* from start to "ready" in the last round that waited for it */
} t;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	if (t.child > 0) {
		kill(t.child, SIGKILL);
		(void) waitpid(t.child, NULL, 0);
	}
	fprintf(stderr, "crash_test: round %d: ", t.round);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ncrash_test: seed %" PRIu64 "; the ledger is kept in %s\n", t.seed,
		t.dir);
	exit(1);
}

/* splitmix64 */
static uint64_t rng_next(void)
{
	uint64_t z = (t.rng += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void spawn(int *ret_fd)
{
	int fds[2];
	char seed[32];
	if (pipe2(fds, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	snprintf(seed, sizeof(seed), "%" PRIu64, rng_next());
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(126);
		execl(t.writer, t.writer, t.path, seed, (char *) NULL);
		_exit(127);
	}
	close(fds[1]);
	t.child = pid;
	*ret_fd = fds[0];
}

static int unhex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One complete line from the writer: "ready", or a receipt. */
static void take_line(const char *line, bool *ready)
{
	struct report rep = {0};
	char hex[2 * LEDGER_EVENT_ID_LEN + 1];

	if (strcmp(line, "ready") == 0) {
		*ready = true;
		return;
	}
	if (sscanf(line, "%40s %32s %" SCNd64, rep.receipt_no, hex, &rep.balance_pts) != 3 ||
	    strlen(hex) != 2 * LEDGER_EVENT_ID_LEN)
		die("bad line from the writer: '%s'", line);
	for (size_t i = 0; i < LEDGER_EVENT_ID_LEN; i++) {
		int hi = unhex_nibble(hex[2 * i]), lo = unhex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			die("bad event id from the writer: '%s'", line);
		rep.event_id[i] = (uint8_t) (hi << 4 | lo);
	}
	if (t.n_reports == t.cap_reports) {
		t.cap_reports = t.cap_reports ? 2 * t.cap_reports : 1024;
		t.reports = realloc(t.reports, t.cap_reports * sizeof(*t.reports));
		if (!t.reports)
			die("out of memory");
	}
	t.reports[t.n_reports++] = rep;
}

/*
 * Read what the writer says until deadline_us (or, with until_ready, until it says "ready"),
 * or until end of file. Returns false at end of file. Complete lines go to take_line; a partial
 * line waits in buf.
 */
static bool read_until(int fd, char *buf, size_t *len, int64_t deadline_us, bool until_ready,
		       bool *ready)
{
	for (;;) {
		int64_t left = deadline_us - mono_us();
		if (left <= 0 || (until_ready && *ready))
			return true;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = (left % 1000000) * 1000};
		int n = ppoll(&p, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("poll: %s", strerror(errno));
		if (n == 0)
			continue;
		ssize_t got = read(fd, buf + *len, LINE_MAX_LEN - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			die("read: %s", strerror(errno));
		if (got == 0)
			return false;
		*len += (size_t) got;
		char *nl;
		while ((nl = memchr(buf, '\n', *len))) {
			*nl = '\0';
			take_line(buf, ready);
			size_t used = (size_t) (nl - buf) + 1;
			memmove(buf, nl + 1, *len - used);
			*len -= used;
		}
		if (*len == LINE_MAX_LEN)
			die("a line from the writer is too long");
	}
}

/*
 * Run the writer once and kill it; its reports are appended to t.reports. Most rounds kill it
 * 0-30 ms after it opened the ledger; one in KILL_AT_OPEN_IN kills it while it starts (creating,
 * migrating or recovering the ledger), within the time the last start took.
 */
static void one_round(void)
{
	char buf[LINE_MAX_LEN];
	size_t len = 0;
	bool ready = false, at_open = t.round == 1 || rng_next() % KILL_AT_OPEN_IN == 0;
	uint64_t range = at_open ? (uint64_t) t.startup_us : MAX_DELAY_US;
	int64_t delay_us = (int64_t) (rng_next() % (range + 1));
	int fd, status;

	spawn(&fd);
	int64_t start = mono_us();
	bool alive = true;
	if (!at_open) {
		alive = read_until(fd, buf, &len, start + READY_TIMEOUT_US, true, &ready);
		if (alive && !ready)
			die("the writer did not open the ledger within %lld s",
			    (long long) (READY_TIMEOUT_US / 1000000));
		t.startup_us = mono_us() - start;
		start = mono_us();
	}
	if (alive)
		alive = read_until(fd, buf, &len, start + delay_us, false, &ready);
	if (!alive) {
		(void) waitpid(t.child, &status, 0);
		t.child = 0;
		die("the writer ended by itself (status %#x)", (unsigned) status);
	}
	kill(t.child, SIGKILL);
	/* the complete lines it wrote before it died; the pipe ends when it is gone */
	if (read_until(fd, buf, &len, mono_us() + EOF_TIMEOUT_US, false, &ready))
		die("no end of the writer's output %lld s after SIGKILL",
		    (long long) (EOF_TIMEOUT_US / 1000000));
	close(fd);
	if (waitpid(t.child, &status, 0) < 0)
		die("waitpid: %s", strerror(errno));
	t.child = 0;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		die("the writer ended with status %#x before it was killed", (unsigned) status);
	if (ready)
		t.kills_in_sales++;
	else
		t.kills_at_open++;
}

static sqlite3 *db_open(void)
{
	sqlite3 *db;
	/* read-write, so that this connection may recover the WAL the writer left */
	if (sqlite3_open_v2(t.path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die("open %s: %s", t.path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		die("%s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * The sales booked since the last round are the ones reported in it, in order, and at most one
 * more: the sale in flight when the writer was killed. first is the first report of the round.
 */
static void check_round(size_t first)
{
	if (access(t.path, F_OK) != 0)
		return; /* killed before SQLite created the file */
	sqlite3 *db = db_open();
	sqlite3_stmt *st;
	const char *sql = "SELECT receipt_no, event_id, seq FROM events WHERE kind = 'earn'"
			  " AND seq > ?1 ORDER BY seq";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		/* killed while the first migration ran: no tables yet is fine, once */
		if (t.n_reports == 0 && strstr(sqlite3_errmsg(db), "no such table")) {
			sqlite3_close(db);
			return;
		}
		die("%s: %s", sql, sqlite3_errmsg(db));
	}
	sqlite3_bind_int64(st, 1, t.last_seq);
	size_t i = first;
	int extra = 0, s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *no = (const char *) sqlite3_column_text(st, 0);
		const void *id = sqlite3_column_blob(st, 1);
		if (i < t.n_reports) {
			const struct report *rep = &t.reports[i++];
			if (!no || strcmp(no, rep->receipt_no) != 0 ||
			    sqlite3_column_bytes(st, 1) != LEDGER_EVENT_ID_LEN ||
			    memcmp(id, rep->event_id, LEDGER_EVENT_ID_LEN) != 0)
				die("reported receipt %s is not the next sale in the ledger (found "
				    "%s)",
				    rep->receipt_no, no ? no : "?");
		} else if (++extra > 1) {
			die("more than one unreported sale after the kill (%s)", no ? no : "?");
		}
	}
	if (s != SQLITE_DONE)
		die("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (i < t.n_reports)
		die("reported receipt %s is not in the ledger", t.reports[i].receipt_no);
	t.in_flight_booked += extra;
	t.last_seq = sql_int(db, "SELECT COALESCE(MAX(seq), 0) FROM events");
	sqlite3_close(db);
}

/* Queries that count broken rules; each must answer 0. */
static const struct {
	const char *rule;
	const char *sql;
} rules[] = {
    {"no event id appears twice", "SELECT COUNT(*) - COUNT(DISTINCT event_id) FROM events"},
    /* seq is a unique integer > 0, so N rows up to N are 1..N */
    {"seq runs 1..N", "SELECT COUNT(*) != COALESCE(MAX(seq), 0) FROM events"},
    {"one earn event per receipt",
     "SELECT COUNT(*) FROM (SELECT receipt_no FROM events GROUP BY receipt_no"
     " HAVING SUM(kind = 'earn') != 1)"},
    {"an enrol event comes right before the earn event of its sale",
     "SELECT COUNT(*) FROM events e WHERE kind = 'enrol' AND NOT EXISTS (SELECT 1 FROM"
     " events n WHERE n.seq = e.seq + 1 AND n.kind = 'earn' AND n.member_id = e.member_id"
     " AND n.receipt_no = e.receipt_no)"},
    {"the receipt number is the seq of the sale's first event",
     "SELECT COUNT(*) FROM events e WHERE receipt_no != printf('%s-%06d', terminal_id,"
     " (SELECT MIN(seq) FROM events x WHERE x.receipt_no = e.receipt_no))"},
    {"every member has one enrol event, and it is the member's first",
     "SELECT COUNT(*) FROM members m WHERE (SELECT COUNT(*) FROM events e WHERE"
     " e.member_id = m.member_id AND e.kind = 'enrol') != 1 OR (SELECT kind FROM events e"
     " WHERE e.member_id = m.member_id ORDER BY seq LIMIT 1) != 'enrol'"},
    {"every event's member exists",
     "SELECT COUNT(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM members m WHERE"
     " m.member_id = e.member_id)"},
    {"every balance is the sum of its member's events",
     "SELECT COUNT(*) FROM members m WHERE balance_pts != (SELECT COALESCE(SUM(points), 0)"
     " FROM events e WHERE e.member_id = m.member_id)"},
    {"at most 50 cards", "SELECT COUNT(*) > 50 FROM members"},
};

static void full_check(void)
{
	struct ledger *l;
	struct ledger_verify_report rep;
	int r;

	if ((r = ledger_open(t.path, TERMINAL, &l)) < 0)
		die("ledger_open: %s", strerror(-r));
	if ((r = ledger_verify(l, &rep)) < 0)
		die("ledger_verify: %s", strerror(-r));
	if (rep.problem != LEDGER_PROBLEM_NONE)
		die("ledger_verify: %s", rep.message);
	for (size_t i = 0; i < t.n_reports; i++) {
		struct ledger_receipt rc;
		const struct report *want = &t.reports[i];
		if ((r = ledger_get_receipt(l, want->receipt_no, &rc)) < 0)
			die("reported receipt %s: %s", want->receipt_no, strerror(-r));
		if (memcmp(rc.event_id, want->event_id, LEDGER_EVENT_ID_LEN) != 0)
			die("receipt %s has another event id than reported", want->receipt_no);
		if (rc.balance_pts != want->balance_pts)
			die("receipt %s: balance %" PRId64 " pts, reported %" PRId64,
			    want->receipt_no, rc.balance_pts, want->balance_pts);
	}
	ledger_close(l);

	sqlite3 *db = db_open();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		int64_t broken = sql_int(db, rules[i].sql);
		if (broken != 0)
			die("%s: broken %" PRId64 " times", rules[i].rule, broken);
	}
	int64_t earns = sql_int(db, "SELECT COUNT(*) FROM events WHERE kind = 'earn'");
	if (earns != (int64_t) t.n_reports + t.in_flight_booked)
		die("%" PRId64 " sales in the ledger, %zu reported and %d in flight", earns,
		    t.n_reports, t.in_flight_booked);
	sqlite3_close(db);
	t.full_checks++;
}

int main(int argc, char **argv)
{
	char *end;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: crash_test WRITER KILLS [SEED]\n");
		return 2;
	}
	t.writer = argv[1];
	long kills = strtol(argv[2], &end, 10);
	if (*end || kills < 1) {
		fprintf(stderr, "crash_test: bad number of kills '%s'\n", argv[2]);
		return 2;
	}
	if (argc == 4) {
		errno = 0;
		t.seed = strtoull(argv[3], &end, 10);
		if (errno || *end) {
			fprintf(stderr, "crash_test: bad seed '%s'\n", argv[3]);
			return 2;
		}
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t.seed = (uint64_t) ts.tv_sec * 1000000007u ^ (uint64_t) ts.tv_nsec ^
			 (uint64_t) getpid() << 32;
	}
	t.rng = t.seed;
	t.startup_us = MAX_DELAY_US; /* until measured */
	printf("crash_test: seed %" PRIu64 ", %ld kills (repeat: crash_test WRITER %ld %" PRIu64
	       ")\n",
	       t.seed, kills, kills, t.seed);
	fflush(stdout);
	snprintf(t.dir, sizeof(t.dir), "/tmp/crash_test.XXXXXX");
	if (!mkdtemp(t.dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(t.path, sizeof(t.path), "%s/ledger.sqlite", t.dir);

	long every = kills / FULL_CHECKS > 10 ? kills / FULL_CHECKS : 10;
	int64_t start = mono_us();
	for (t.round = 1; t.round <= kills; t.round++) {
		size_t first = t.n_reports;
		one_round();
		check_round(first);
		if (t.round % every == 0 || t.round == kills)
			full_check();
	}
	double secs = (double) (mono_us() - start) / 1e6;
	printf("crash_test: %ld kills (%d during start-up, %d during sales), %zu sales reported, "
	       "%d more booked in flight and none lost, %d full checks, %.1f s\n",
	       kills, t.kills_at_open, t.kills_in_sales, t.n_reports, t.in_flight_booked,
	       t.full_checks, secs);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "crash_test: could not remove %s\n", t.dir);
	free(t.reports);
	return 0;
}
