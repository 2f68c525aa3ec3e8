/*
 * sync_bench: drain a terminal's outbox of 100,000 events to loyalty-server over loopback TLS.
 *
 * The terminal's side is the real sync client (firmware/sync_client.c on libcurl's multi
 * interface, driven by a poll() loop as loyaltyd drives it) on a copy of a fixture ledger
 * (ledger_fixture.h, terminal BENCH1, hash-chained sales of 5,000 members); the server is the
 * real loyalty-server (a child process, its SQLite store in a fresh folder, a CA from
 * tools/dev-ca), so the figure covers both ends: outbox reads, bodies, TLS, the server's checks,
 * fold and commits, the answers and the acknowledgements. One "sync now" round registers the
 * terminal with an enrolment code, pushes every event (batches of 1000) and pulls the changes;
 * the drain time runs from the request to the round's outcome. Afterwards the outbox must be
 * empty and the server must hold every event once, or the run fails.
 *
 * Then the server's ingest with 8 terminals pushing at once: 8 more terminals register (the real
 * client, empty ledgers), and each pushes N/10 events of its own (hash-chained sales of the
 * fixture's members, so the server folds the same members from all of them) in batches of
 * 1000, the bodies made by the terminal's tsync_push_body beforehand, each terminal on its own
 * keep-alive TLS connection sending its next batch when the answer to the last came (as a
 * terminal does); the rate is all their events over the time from the first request to the last
 * answer, every answer checked (all accepted).
 *
 * Same-run anchors, to show where the time goes: reading the outbox alone (100 batches of 1000
 * through ledger_outbox_read, nothing acknowledged), making the push bodies alone, a TLS request
 * round trip on a kept connection (GET /v1/time), and the raw durable SQLite insert of the same
 * events with the server's keys (event id primary key, terminal and seq unique, the card's
 * index; WAL, synchronous=FULL, one transaction per 1000): what storing them costs before any
 * check or fold.
 *
 * Usage: sync_bench [--events N] [--cache DIR]   (tools/dev bench sync)
 * Prints a table and, last, one JSON object: {"bench":"sync","events_per_s":...,"drain_s":...,
 * "ingest_8_events_per_s":...,"target":{"drain_s":5},...}.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>
#include <sqlite3.h>

#include "devkey.h"
#include "ledger.h"
#include "ledger_fixture.h"
#include "ledger_hash.h"
#include "sync.h"
#include "sync_client.h"

#define TARGET_DRAIN_S	 5
#define INGEST_TERMINALS 8
#define RTT_REQUESTS	 200

static char work[] = "/tmp/sync_bench.XXXXXX";
static pid_t server_pid = -1;

static struct rusage server_usage; /* the server's CPU time, once it stopped */

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		wait4(server_pid, NULL, 0, &server_usage);
		server_pid = -1;
	}
}

static double cpu_s(const struct rusage *u)
{
	return (double) (u->ru_utime.tv_sec + u->ru_stime.tv_sec) +
	       (double) (u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e6;
}

static void cleanup(void)
{
	stop_server();
	if (work[strlen(work) - 1] != 'X') {
		char cmd[sizeof(work) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		(void) !system(cmd);
	}
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sync_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* <build>, where this program is <build>/tests/bench/sync_bench */
static void build_dir(char *out, size_t size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		die("cannot find this program's folder");
	exe[n] = '\0';
	char *d = exe;
	for (int i = 0; i < 3; i++)
		d = dirname(d);
	snprintf(out, size, "%s", d);
}

/* Run a command, its standard output into out (trimmed). */
static void run(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	if (!p)
		die("cannot run %s", cmd);
	size_t got = out ? fread(out, 1, size - 1, p) : 0;
	if (!out) {
		char scratch[256];
		while (fread(scratch, 1, sizeof(scratch), p) > 0)
			;
	}
	int st = pclose(p);
	if (st != 0)
		die("'%s' failed (status %d)", cmd, st);
	if (out) {
		out[got] = '\0';
		while (got && (out[got - 1] == '\n' || out[got - 1] == ' '))
			out[--got] = '\0';
	}
}

static void copy_file(const char *from, const char *to)
{
	run(NULL, 0, "cp '%s' '%s'", from, to);
}

static int start_server(const char *server, unsigned *ret_port)
{
	char port_file[256], log[256], db[256];
	snprintf(port_file, sizeof(port_file), "%s/port", work);
	snprintf(log, sizeof(log), "%s/server.log", work);
	snprintf(db, sizeof(db), "%s/server.sqlite", work);
	server_pid = fork();
	if (server_pid < 0)
		die("fork: %s", strerror(errno));
	if (server_pid == 0) {
		char ca[256], cert[256], key[256], cakey[256];
		snprintf(ca, sizeof(ca), "%s/ca/ca.pem", work);
		snprintf(cakey, sizeof(cakey), "%s/ca/ca.key", work);
		snprintf(cert, sizeof(cert), "%s/ca/server.pem", work);
		snprintf(key, sizeof(key), "%s/ca/server.key", work);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(server, server, "serve", "--db", db, "--cert", cert, "--key", key, "--ca", ca,
		      "--ca-key", cakey, "--port", "0", "--port-file", port_file, "--exit-after",
		      "900", (char *) NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(port_file, "r");
		if (f) {
			unsigned p = 0;
			int ok = fscanf(f, "%u", &p) == 1 && p > 0;
			fclose(f);
			if (ok) {
				*ret_port = p;
				return 0;
			}
		}
		if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
			server_pid = -1;
			die("loyalty-server did not start (see %s)", log);
		}
		usleep(25000);
	}
	die("loyalty-server did not write its port file");
}

struct outcome {
	bool done;
	cJSON *o;
};

static void on_done(void *userdata, unsigned waiter, cJSON *o)
{
	struct outcome *out = userdata;
	(void) waiter;
	/* the outcome's integers are raw digits: through text to read them back */
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	out->done = true;
	out->o = text ? cJSON_Parse(text) : NULL;
	free(text);
}

static int64_t json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (int64_t) v->valuedouble : -1;
}

struct collect {
	struct ledger_event *evs;
	size_t n;
};

static int collect_event(void *userdata, const struct ledger_event *ev)
{
	struct collect *c = userdata;
	c->evs[c->n++] = *ev;
	return 0;
}

/* Anchor: the events read in batches of 1000 as the outbox reads them (and, with bodies, made
 * into push bodies). */
static int64_t anchor(struct ledger *l, int64_t events, bool bodies, int64_t *ret_bytes)
{
	struct collect c = {.evs = calloc(TSYNC_BATCH_MAX, sizeof(*c.evs))};
	struct buf b;
	if (!c.evs)
		die("out of memory");
	buf_init(&b, TSYNC_BODY_MAX);
	int64_t t0 = now_ns(), bytes = 0;
	for (int64_t from = 1; from <= events; from += TSYNC_BATCH_MAX) {
		c.n = 0;
		int r = ledger_for_each_event(l, from, TSYNC_BATCH_MAX, collect_event, &c);
		if (r < 0)
			die("reading events: %s", strerror(-r));
		if (bodies) {
			size_t in = 0;
			if (tsync_push_body(LEDGER_FIXTURE_TERMINAL_ID, c.evs, c.n, 0, &b, &in) < 0)
				die("push body");
			bytes += (int64_t) b.len;
		}
	}
	int64_t ns = now_ns() - t0;
	buf_free(&b);
	free(c.evs);
	if (ret_bytes)
		*ret_bytes = bytes;
	return ns;
}

/* The server's CPU time so far (user + system), from /proc. */
static double server_cpu_now_s(void)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) server_pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* after the command name in parentheses: fields 3.. ; utime and stime are 14 and 15 */
	char *p = strrchr(line, ')');
	unsigned long long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

/* One sync round of the client, driven as loyaltyd's loop drives it; the outcome in *out. */
static void run_round(struct sync_client *sc, struct outcome *out, int64_t *ret_run_total_ns,
		      int64_t *ret_run_max_ns)
{
	int64_t run_max_ns = 0, run_total_ns = 0;
	if (sync_client_now(sc, 1) < 0)
		die("sync now");
	while (!out->done) {
		struct pollfd fds[SYNC_CLIENT_FDS_MAX];
		size_t n = sync_client_pollfds(sc, fds, SYNC_CLIENT_FDS_MAX);
		int wait = sync_client_wait_ms(sc);
		if (wait < 0 || wait > 1000)
			wait = 1000;
		if (poll(fds, n, wait) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		int64_t r0 = now_ns();
		sync_client_run(sc, fds, n);
		int64_t took = now_ns() - r0;
		if (took > run_max_ns)
			run_max_ns = took;
		run_total_ns += took;
	}
	if (ret_run_total_ns)
		*ret_run_total_ns = run_total_ns;
	if (ret_run_max_ns)
		*ret_run_max_ns = run_max_ns;
}

/* The device key's seed as a PKCS#8 PEM private key, as the client hands it to libcurl. */
static void key_pem(const struct devkey *key, char *out, size_t size)
{
	static const uint8_t prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
					   0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
	uint8_t der[48];
	char b64[80];
	memcpy(der, prefix, sizeof(prefix));
	memcpy(der + sizeof(prefix), key->secret_key, 32);
	sodium_bin2base64(b64, sizeof(b64), der, sizeof(der), sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, size, "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", b64);
}

static size_t into_buf(char *data, size_t size, size_t nmemb, void *userp)
{
	return buf_append(userp, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* Anchor: the mean of RTT_REQUESTS GET /v1/time on one kept TLS connection, in ms. */
static double anchor_rtt_ms(const char *url, const char *ca)
{
	char u[128];
	struct buf b;
	buf_init(&b, 4096);
	snprintf(u, sizeof(u), "%s/v1/time", url);
	CURL *e = curl_easy_init();
	if (!e)
		die("curl");
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, into_buf);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	int64_t t0 = 0;
	for (int i = 0; i <= RTT_REQUESTS; i++) {
		if (i == 1)
			t0 = now_ns(); /* the first request makes the connection */
		buf_reset(&b);
		long status = 0;
		if (curl_easy_perform(e) != CURLE_OK ||
		    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
		    status != 200)
			die("GET /v1/time failed");
	}
	double ms = (double) (now_ns() - t0) / 1e6 / RTT_REQUESTS;
	curl_easy_cleanup(e);
	buf_free(&b);
	return ms;
}

static void sql(sqlite3 *db, const char *s)
{
	if (sqlite3_exec(db, s, NULL, NULL, NULL) != SQLITE_OK)
		die("sqlite: %s: %s", s, sqlite3_errmsg(db));
}

/* Anchor: the events inserted durably into a table with the server's keys, 1000 a commit;
 * returns the seconds it took. */
static double anchor_sqlite_s(const struct ledger_event *evs, int64_t n)
{
	char path[300];
	sqlite3 *db;
	sqlite3_stmt *q;
	snprintf(path, sizeof(path), "%s/anchor.sqlite", work);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("sqlite: cannot open %s", path);
	sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
		"CREATE TABLE events(event_id BLOB PRIMARY KEY NOT NULL, terminal_id TEXT NOT NULL,"
		" seq INTEGER NOT NULL, kind TEXT NOT NULL, member_id INTEGER NOT NULL,"
		" card_code TEXT NOT NULL, points INTEGER NOT NULL, amount_gr INTEGER NOT NULL,"
		" receipt_no TEXT NOT NULL, time_us INTEGER NOT NULL, rule TEXT NOT NULL,"
		" ref TEXT NOT NULL, lot_us INTEGER NOT NULL, items INTEGER NOT NULL,"
		" progress INTEGER NOT NULL, encoding INTEGER NOT NULL, hash BLOB NOT NULL,"
		" received_us INTEGER NOT NULL, UNIQUE(terminal_id, seq));"
		"CREATE INDEX events_card ON events(card_code, time_us) WHERE card_code <> '';");
	if (sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &q, NULL) != SQLITE_OK)
		die("sqlite: %s", sqlite3_errmsg(db));
	int64_t t0 = now_ns();
	for (int64_t i = 0; i < n; i++) {
		const struct ledger_event *ev = &evs[i];
		if (i % TSYNC_BATCH_MAX == 0)
			sql(db, "BEGIN IMMEDIATE");
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
		sqlite3_bind_int64(q, 18, ev->time_us);
		if (sqlite3_step(q) != SQLITE_DONE)
			die("sqlite insert: %s", sqlite3_errmsg(db));
		sqlite3_reset(q);
		if (i % TSYNC_BATCH_MAX == TSYNC_BATCH_MAX - 1 || i == n - 1)
			sql(db, "COMMIT");
	}
	double s = (double) (now_ns() - t0) / 1e9;
	sqlite3_finalize(q);
	sqlite3_close(db);
	return s;
}

/* One of the terminals of the ingest run: its bodies, its connection, where it is. */
struct pusher {
	char id[LEDGER_TERMINAL_ID_MAX + 1];
	char state[300];
	struct ledger_event *evs;
	int64_t n;
	struct buf *bodies; /* one per batch of TSYNC_BATCH_MAX */
	size_t n_bodies, next;
	struct buf answer;
	char key_pem[256];
	char cert[340];
	CURL *e;
};

/* n sales of the fixture's members (card codes from cards[1..n_cards]) hash-chained for
 * terminal p->id. */
static void make_events(struct pusher *p, int64_t n, char (*cards)[LEDGER_CARD_CODE_LEN + 1],
			int64_t n_cards, uint64_t seed)
{
	uint8_t prev[LEDGER_HASH_BYTES] = {0};
	uint64_t rnd = seed;
	int64_t t = 1796800000000000;
	if (!(p->evs = calloc((size_t) n, sizeof(*p->evs))))
		die("out of memory");
	p->n = n;
	for (int64_t i = 0; i < n; i++) {
		struct ledger_event *ev = &p->evs[i];
		ev->seq = i + 1;
		for (int k = 0; k < LEDGER_EVENT_ID_LEN; k += 8) {
			uint64_t r = ledger_fixture_rand(&rnd);
			memcpy(ev->event_id + k, &r, 8);
		}
		snprintf(ev->terminal_id, sizeof(ev->terminal_id), "%s", p->id);
		snprintf(ev->kind, sizeof(ev->kind), "earn");
		ev->member_id = 1 + (int64_t) (ledger_fixture_rand(&rnd) % (uint64_t) n_cards);
		memcpy(ev->card_code, cards[ev->member_id], sizeof(ev->card_code));
		ev->amount_gr = 100 + (int64_t) (ledger_fixture_rand(&rnd) % 49901);
		ev->points = ev->amount_gr / 100;
		snprintf(ev->receipt_no, sizeof(ev->receipt_no), "%s-%06" PRId64, p->id, i + 1);
		ev->time_us = t += 20000000;
		snprintf(ev->rule, sizeof(ev->rule), "earn");
		ev->lot_us = ev->time_us;
		ev->encoding = LEDGER_HASH_ENCODING_VER;
		if (ledger_event_hash(ev, prev, ev->hash) < 0)
			die("hash");
		memcpy(prev, ev->hash, sizeof(prev));
	}
	/* the bodies as the terminal makes them */
	p->n_bodies = (size_t) ((n + TSYNC_BATCH_MAX - 1) / TSYNC_BATCH_MAX);
	if (!(p->bodies = calloc(p->n_bodies, sizeof(*p->bodies))))
		die("out of memory");
	for (size_t b = 0; b < p->n_bodies; b++) {
		size_t from = b * TSYNC_BATCH_MAX, cnt = (size_t) n - from, in = 0;
		if (cnt > TSYNC_BATCH_MAX)
			cnt = TSYNC_BATCH_MAX;
		buf_init(&p->bodies[b], TSYNC_BODY_MAX);
		if (tsync_push_body(p->id, p->evs + from, cnt, TSYNC_BODY_MAX, &p->bodies[b], &in) <
			0 ||
		    in != cnt)
			die("push body of %s", p->id);
	}
}

static void push_next(struct pusher *p, CURLM *multi, const char *url, const char *ca)
{
	char u[128];
	struct curl_blob blob = {.data = p->key_pem, .len = strlen(p->key_pem)};
	struct buf *body = &p->bodies[p->next];
	snprintf(u, sizeof(u), "%s/v1/events", url);
	buf_reset(&p->answer);
	curl_easy_setopt(p->e, CURLOPT_URL, u);
	curl_easy_setopt(p->e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(p->e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(p->e, CURLOPT_SSLCERT, p->cert);
	curl_easy_setopt(p->e, CURLOPT_SSLKEY_BLOB, &blob);
	curl_easy_setopt(p->e, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(p->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->e, CURLOPT_WRITEFUNCTION, into_buf);
	curl_easy_setopt(p->e, CURLOPT_WRITEDATA, &p->answer);
	curl_easy_setopt(p->e, CURLOPT_POSTFIELDS, (const char *) body->data);
	curl_easy_setopt(p->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body->len);
	curl_easy_setopt(p->e, CURLOPT_PRIVATE, p);
	if (curl_multi_add_handle(multi, p->e) != CURLM_OK)
		die("curl_multi_add_handle");
}

/* The answer to p's batch p->next: every event accepted, or the run fails. */
static void check_answer(struct pusher *p, long status, struct tsync_push_answer *a)
{
	char err[256];
	size_t from = p->next * TSYNC_BATCH_MAX, cnt = (size_t) p->n - from;
	if (cnt > TSYNC_BATCH_MAX)
		cnt = TSYNC_BATCH_MAX;
	if (status != 200)
		die("%s: push answered HTTP %ld: %.200s", p->id, status,
		    (const char *) p->answer.data);
	if (tsync_parse_push_answer((const char *) p->answer.data, p->answer.len, p->id,
				    p->evs + from, cnt, a, err, sizeof(err)) < 0)
		die("%s: the push answer: %s", p->id, err);
	if (a->accepted != (int64_t) cnt)
		die("%s: %" PRId64 " of %zu events accepted", p->id, a->accepted, cnt);
}

/*
 * INGEST_TERMINALS terminals registered (the real client, empty ledgers) and pushing their
 * events at once; returns the seconds from the first request to the last answer, the server's
 * CPU seconds for it in *ret_cpu_s.
 */
static double ingest(const char *server, const char *url, const char *ca, int64_t per_terminal,
		     char (*cards)[LEDGER_CARD_CODE_LEN + 1], int64_t n_cards, double *ret_cpu_s)
{
	struct pusher p[INGEST_TERMINALS];
	struct tsync_push_answer *a = malloc(sizeof(*a));
	CURLM *multi = curl_multi_init();
	if (!a || !multi)
		die("out of memory");
	for (int k = 0; k < INGEST_TERMINALS; k++) {
		struct pusher *t = &p[k];
		char ledger_path[340], code[64], err[256];
		struct devkey key;
		struct ledger *l;
		struct sync_client *sc;
		struct outcome out = {0};
		memset(t, 0, sizeof(*t));
		snprintf(t->id, sizeof(t->id), "INGEST%d", k + 1);
		snprintf(t->state, sizeof(t->state), "%s/INGEST%d", work, k + 1);
		snprintf(ledger_path, sizeof(ledger_path), "%s/ledger.sqlite", t->state);
		snprintf(t->cert, sizeof(t->cert), "%s/INGEST%d/keys/client.pem", work, k + 1);
		mkdir(t->state, 0700);
		if (devkey_load(t->state, DEVKEY_CREATE, &key, err, sizeof(err)) < 0)
			die("device key: %s", err);
		run(code, sizeof(code), "'%s' enrol --db '%s/server.sqlite' --terminal %s", server,
		    work, t->id);
		if (ledger_open(ledger_path, t->id, &l) < 0)
			die("cannot open %s", ledger_path);
		struct sync_client_config cfg = {
		    .state_dir = t->state,
		    .terminal_id = t->id,
		    .server_url = url,
		    .ca_file = ca,
		    .enrolment_code = code,
		    .interval_s = 3600,
		    .devkey = &key,
		    .done = on_done,
		    .done_userdata = &out,
		};
		if (sync_client_open(&cfg, l, &sc) < 0)
			die("sync client of %s", t->id);
		run_round(sc, &out, NULL, NULL);
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out.o, "ok")))
			die("%s did not register", t->id);
		cJSON_Delete(out.o);
		sync_client_close(sc);
		ledger_close(l);
		key_pem(&key, t->key_pem, sizeof(t->key_pem));
		devkey_wipe(&key);
		buf_init(&t->answer, 4 * 1024 * 1024);
		make_events(t, per_terminal, cards, n_cards, 0x5eed0000u + (uint64_t) k);
		if (!(t->e = curl_easy_init()))
			die("curl");
	}
	double cpu0 = server_cpu_now_s();
	int64_t t0 = now_ns();
	int running = 0;
	for (int k = 0; k < INGEST_TERMINALS; k++)
		push_next(&p[k], multi, url, ca);
	for (;;) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			die("curl_multi_perform");
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left))) {
			struct pusher *t;
			long status = 0;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &t);
			if (m->data.result != CURLE_OK)
				die("%s: %s", t->id, curl_easy_strerror(m->data.result));
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			curl_multi_remove_handle(multi, m->easy_handle);
			check_answer(t, status, a);
			if (++t->next < t->n_bodies)
				push_next(t, multi, url, ca);
		}
		bool all = true;
		for (int k = 0; k < INGEST_TERMINALS; k++)
			all = all && p[k].next == p[k].n_bodies;
		if (all)
			break;
		if (curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)
			die("curl_multi_poll");
	}
	double s = (double) (now_ns() - t0) / 1e9;
	*ret_cpu_s = server_cpu_now_s() - cpu0;
	for (int k = 0; k < INGEST_TERMINALS; k++) {
		curl_easy_cleanup(p[k].e);
		for (size_t b = 0; b < p[k].n_bodies; b++)
			buf_free(&p[k].bodies[b]);
		free(p[k].bodies);
		free(p[k].evs);
		buf_free(&p[k].answer);
		sodium_memzero(p[k].key_pem, sizeof(p[k].key_pem));
	}
	curl_multi_cleanup(multi);
	free(a);
	return s;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"events", required_argument, NULL, 'e'},
	    {"cache", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t events = 100000;
	const char *cache = NULL;
	char build[4096], cache_buf[4200], server[4200], devca[4200];
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'e') {
			char *end;
			events = strtoll(optarg, &end, 10);
			if (*end || events < 10000 || events > 10000000)
				die("--events: a number from 10000 to 10000000");
		} else if (c == 'c') {
			cache = optarg;
		} else {
			printf("Usage: sync_bench [--events N] [--cache DIR]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	build_dir(build, sizeof(build));
	if (!cache) {
		snprintf(cache_buf, sizeof(cache_buf), "%s/bench-cache", build);
		cache = cache_buf;
	}
	snprintf(server, sizeof(server), "%s/tools/server/loyalty-server", build);
	snprintf(devca, sizeof(devca), "%s/tools/dev-ca", LOYALTY_SOURCE_DIR);
	if (access(server, X_OK) < 0)
		die("no loyalty-server at %s (build it first)", server);
	if (!mkdtemp(work))
		die("mkdtemp: %s", strerror(errno));

	/* the terminal: a copy of the fixture ledger, a device key */
	struct ledger_fixture spec = {.members = 5000, .events = events};
	char fixture[LEDGER_FIXTURE_PATH_MAX], state[256], ledger_path[300], code[64];
	int64_t gen_us;
	if (ledger_fixture_get(cache, &spec, fixture, &gen_us) < 0)
		die("no fixture ledger in %s", cache);
	snprintf(state, sizeof(state), "%s/state", work);
	snprintf(ledger_path, sizeof(ledger_path), "%s/ledger.sqlite", state);
	mkdir(state, 0700);
	copy_file(fixture, ledger_path);
	struct devkey key;
	char err[512];
	if (devkey_load(state, DEVKEY_CREATE, &key, err, sizeof(err)) < 0)
		die("device key: %s", err);

	/* the server: a CA, an enrolment code, loopback with a port chosen by the system */
	run(NULL, 0, "'%s' '%s/ca'", devca, work);
	unsigned port;
	start_server(server, &port);
	run(code, sizeof(code), "'%s' enrol --db '%s/server.sqlite' --terminal %s", server, work,
	    LEDGER_FIXTURE_TERMINAL_ID);

	struct ledger *l;
	if (ledger_open(ledger_path, LEDGER_FIXTURE_TERMINAL_ID, &l) < 0)
		die("cannot open %s", ledger_path);
	int64_t acked, pending;
	if (ledger_outbox_state(l, &acked, &pending) < 0 || pending != events)
		die("the fixture's outbox holds %" PRId64 " events, not %" PRId64, pending, events);

	/* anchors first, so the drain does not warm the page cache for them unfairly: run each
	 * twice and keep the second */
	int64_t body_bytes;
	(void) anchor(l, events, false, NULL);
	int64_t read_ns = anchor(l, events, false, NULL);
	int64_t body_ns = anchor(l, events, true, &body_bytes) - read_ns;

	/* all the events, for the SQLite anchor, and the members' card codes for the ingest */
	struct collect all = {.evs = calloc((size_t) events, sizeof(*all.evs))};
	char(*cards)[LEDGER_CARD_CODE_LEN + 1] = calloc((size_t) spec.members + 1, sizeof(*cards));
	if (!all.evs || !cards)
		die("out of memory");
	if (ledger_for_each_event(l, 1, events, collect_event, &all) < 0 ||
	    all.n != (size_t) events)
		die("reading the events");
	for (size_t i = 0; i < all.n; i++)
		if (all.evs[i].member_id >= 1 && all.evs[i].member_id <= spec.members &&
		    all.evs[i].card_code[0])
			memcpy(cards[all.evs[i].member_id], all.evs[i].card_code, sizeof(*cards));
	for (int64_t m = 1; m <= spec.members; m++)
		if (!cards[m][0])
			die("member %" PRId64 " has no card code in the fixture", m);

	char url[64], ca[300];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	snprintf(ca, sizeof(ca), "%s/ca/ca.pem", work);
	struct outcome out = {0};
	struct sync_client_config cfg = {
	    .state_dir = state,
	    .terminal_id = LEDGER_FIXTURE_TERMINAL_ID,
	    .server_url = url,
	    .ca_file = ca,
	    .enrolment_code = code,
	    .interval_s = 3600,
	    .devkey = &key,
	    .done = on_done,
	    .done_userdata = &out,
	};
	struct sync_client *sc;
	if (sync_client_open(&cfg, l, &sc) < 0)
		die("sync client");
	/* the loop, as loyaltyd's: poll the client's sockets, run it */
	struct rusage self_before;
	getrusage(RUSAGE_SELF, &self_before);
	double server_cpu0_s = server_cpu_now_s();
	int64_t t0 = now_ns(), run_max_ns = 0, run_total_ns = 0;
	run_round(sc, &out, &run_total_ns, &run_max_ns);
	int64_t drain_ns = now_ns() - t0;
	double server_drain_cpu_s = server_cpu_now_s() - server_cpu0_s;
	struct rusage self_after;
	getrusage(RUSAGE_SELF, &self_after);

	cJSON *s = cJSON_GetObjectItemCaseSensitive(out.o, "sync");
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out.o, "ok"));
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(out.o, "error");
	if (!ok)
		die("the sync failed: %s", cJSON_IsString(e) ? e->valuestring : "?");
	if (ledger_outbox_state(l, &acked, &pending) < 0 || pending != 0 || acked != events)
		die("the outbox still holds %" PRId64 " events", pending);
	char stored[64];
	run(stored, sizeof(stored), "'%s' stats --db '%s/server.sqlite' | tr -cd 0-9", server,
	    work);
	if (strtoll(stored, NULL, 10) != events)
		die("the server stored %s events, not %" PRId64, stored, events);

	/* the same server with 8 terminals pushing at once, and a request's round trip */
	double rtt_ms = anchor_rtt_ms(url, ca);
	int64_t per_terminal = events / 10, ingested = INGEST_TERMINALS * per_terminal;
	double ingest_cpu_s,
	    ingest_s = ingest(server, url, ca, per_terminal, cards, spec.members, &ingest_cpu_s);
	run(stored, sizeof(stored), "'%s' stats --db '%s/server.sqlite' | tr -cd 0-9", server,
	    work);
	if (strtoll(stored, NULL, 10) != events + ingested)
		die("the server stored %s events, not %" PRId64, stored, events + ingested);

	stop_server();
	double sqlite_s = anchor_sqlite_s(all.evs, events);
	double client_cpu_s = cpu_s(&self_after) - cpu_s(&self_before);
	double server_cpu_s = cpu_s(&server_usage);
	double drain_s = (double) drain_ns / 1e9;
	double eps = (double) events / drain_s;
	double per_batch_ms = (double) drain_ns / 1e6 / (double) ((events + 999) / 1000);
	printf("sync: drain one terminal's outbox to loyalty-server over loopback TLS\n");
	printf("fixture %s (%s)\n", fixture, gen_us ? "generated now" : "reused from the cache");
	printf("%-52s %12s\n", "", "figure");
	printf("%-52s %12" PRId64 "\n", "events drained (pushed, accepted, stored once)", events);
	printf("%-52s %12" PRId64 "\n", "accepted by the server", json_num(s, "accepted"));
	printf("%-52s %12" PRId64 "\n", "batches (1000 events, one POST each)",
	       (events + 999) / 1000);
	printf("%-52s %12.3f\n", "drain, s (register + push all + pull)", drain_s);
	printf("%-52s %12.0f\n", "events per second", eps);
	printf("%-52s %12.1f\n", "per batch, ms", per_batch_ms);
	printf("%-52s %12.1f\n", "push bodies, MiB", (double) body_bytes / (1024.0 * 1024.0));
	printf("%-52s %12.3f\n", "anchor: outbox read alone (batches of 1000), s",
	       (double) read_ns / 1e9);
	printf("%-52s %12.3f\n", "anchor: making the push bodies alone, s", (double) body_ns / 1e9);
	printf("%-52s %12.3f\n", "terminal CPU during the drain, s", client_cpu_s);
	printf("%-52s %12.3f\n", "loop time in sync_client_run, s", (double) run_total_ns / 1e9);
	printf("%-52s %12.1f\n", "longest sync_client_run call (a loop stall), ms",
	       (double) run_max_ns / 1e6);
	printf("%-52s %12.3f\n", "server CPU during the drain, s", server_drain_cpu_s);
	printf("%-52s %12.3f\n", "server CPU, whole run (all phases), s", server_cpu_s);
	printf("%-52s %12" PRId64 "\n", "ingest: terminals pushing at once",
	       (int64_t) INGEST_TERMINALS);
	printf("%-52s %12" PRId64 "\n", "ingest: events (each terminal its own)", ingested);
	printf("%-52s %12.3f\n", "ingest: first request to last answer, s", ingest_s);
	printf("%-52s %12.0f\n", "ingest: server's events per second",
	       (double) ingested / ingest_s);
	printf("%-52s %12.3f\n", "ingest: server CPU, s", ingest_cpu_s);
	printf("%-52s %12.3f\n", "anchor: TLS request round trip (kept connection), ms", rtt_ms);
	printf("%-52s %12.3f\n", "anchor: raw SQLite durable insert of the events, s", sqlite_s);
	printf("%-52s %12.0f\n", "anchor: raw SQLite durable inserts per second",
	       (double) events / sqlite_s);
	printf("target: drain_s <= %d (%s)\n", TARGET_DRAIN_S,
	       drain_s <= TARGET_DRAIN_S ? "met" : "NOT met");
	printf("{\"bench\":\"sync\",\"events\":%" PRId64 ",\"events_per_s\":%.0f,\"drain_s\":%.3f,"
	       "\"per_batch_ms\":%.1f,\"terminal_cpu_s\":%.3f,\"server_drain_cpu_s\":%.3f,"
	       "\"server_cpu_s\":%.3f,\"loop_stall_max_ms\":%.1f,"
	       "\"ingest_8_events\":%" PRId64 ",\"ingest_8_s\":%.3f,\"ingest_8_events_per_s\":%.0f,"
	       "\"ingest_8_server_cpu_s\":%.3f,"
	       "\"anchor_outbox_read_s\":%.3f,\"anchor_bodies_s\":%.3f,\"anchor_tls_rtt_ms\":%.3f,"
	       "\"anchor_sqlite_insert_s\":%.3f,\"anchor_sqlite_insert_events_per_s\":%.0f,"
	       "\"target\":{\"drain_s\":%d}}\n",
	       events, eps, drain_s, per_batch_ms, client_cpu_s, server_drain_cpu_s, server_cpu_s,
	       (double) run_max_ns / 1e6, ingested, ingest_s, (double) ingested / ingest_s,
	       ingest_cpu_s, (double) read_ns / 1e9, (double) body_ns / 1e9, rtt_ms, sqlite_s,
	       (double) events / sqlite_s, TARGET_DRAIN_S);
	free(all.evs);
	free(cards);
	cJSON_Delete(out.o);
	sync_client_close(sc);
	ledger_close(l);
	devkey_wipe(&key);
	cleanup();
	return 0;
}
