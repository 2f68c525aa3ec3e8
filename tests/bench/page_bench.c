/*
 * page_bench: the customer's card page (GET /C/<token> on loyalty-server's --pages-listen,
 * docs/card-page.md) under wrk, against a same-run anchor: nginx serving a static HTML file of
 * the same bytes (the card page itself, saved once) on loopback. Both get the same wrk run
 * (threads, connections, duration, --latency), one after the other.
 *
 * Set-up, all in a temporary folder removed at the end: a development CA (tools/dev-ca, for the
 * sync listener serve insists on), a SQLite store made through the store interface with one
 * registered terminal (a fresh Ed25519 key) and a member with a year of history pushed through
 * sync_push_apply() as hash-chained events (sales, a welcome bonus, stamps, a coupon issued and
 * one used, a redemption, an expiry), a card token signed by the terminal's key (as
 * tests/web/web_token does), then `loyalty-server serve --pages-listen 127.0.0.1:0
 * --pages-threads N` and an unprivileged nginx with as many workers (the same number of cores
 * for both), its own prefix and configuration on 127.0.0.1. Everything is stopped at the end,
 * also on failure.
 *
 *   page_bench [--duration S] [--threads N] [--connections N] [--pages-threads N]
 *   (default 10 s, 2 wrk threads, 16 connections, pages threads and nginx workers: the
 *   number of online CPUs)
 *
 * Prints a table and, last, one JSON object: requests per second and p99 latency of both, their
 * ratio (card page / nginx) and the targets (ratio >= 0.3, card page p99 <= 10 ms).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "store.h"
#include "sync.h"
#include "token.h"

#ifndef LOYALTY_SOURCE_DIR
#define LOYALTY_SOURCE_DIR "."
#endif
#ifndef LOYALTY_SERVER
#define LOYALTY_SERVER "loyalty-server"
#endif

#define TERMINAL   "BENCH1"
#define CARD	   "7K3M9QZX2H4P"
#define MEMBER	   4711
#define TOKENS_MAX 20000 /* --tokens: card links of the member, issued an hour apart */

static char dir[64];
static pid_t server_pid, nginx_pid;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("page_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void stop(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return;
	kill(*pid, sig);
	for (int i = 0; i < 100; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		usleep(20000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static void cleanup(void)
{
	stop(&nginx_pid, SIGQUIT); /* nginx: graceful stop */
	stop(&server_pid, SIGTERM);
	if (dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			say("could not remove %s", dir);
		dir[0] = '\0';
	}
}

static void on_signal(int sig)
{
	(void) sig;
	exit(1); /* atexit: cleanup */
}

/* Start argv with stdout and stderr into log (or /dev/null); its pid. */
static pid_t spawn(const char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* execvp takes char *const[] but changes nothing */
		execvp(argv[0], (char *const *) (uintptr_t) argv);
		_exit(127);
	}
	return pid;
}

static int run(const char *const argv[], const char *log)
{
	int status;
	pid_t pid = spawn(argv, log);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int read_port(const char *file, pid_t pid, const char *what)
{
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(file, "r");
		int port = 0;
		if (f) {
			int n = fscanf(f, "%d", &port);
			fclose(f);
			if (n == 1 && port > 0)
				return port;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			say("%s stopped at start", what);
			return -1;
		}
		usleep(25000);
	}
	say("%s did not start", what);
	return -1;
}

/* ---- the store: one terminal, one member with history ---- */

struct spec {
	const char *kind;
	int64_t points, amount_gr;
	const char *rule, *ref;
	int64_t items, progress;
	int same_receipt; /* books on the receipt of the event before */
};

static int make_store(const char *db, uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
	struct store *st;
	char err[256];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	if (store_sqlite_open(db, &st, err, sizeof(err)) < 0) {
		say("store: %s", err);
		return -1;
	}
	crypto_sign_keypair(pk, sk);
	struct store_terminal term = {.registered = true, .created_us = wall_us()};
	snprintf(term.terminal_id, sizeof(term.terminal_id), TERMINAL);
	memcpy(term.public_key, pk, sizeof(pk));
	int r = st->ops->begin(st);
	if (r == 0 && (r = st->ops->terminal_put(st, &term)) == 0)
		r = st->ops->commit(st);
	if (r < 0) {
		say("store: cannot add the terminal: %s", st->ops->errmsg(st));
		store_close(st);
		return -1;
	}

	/* a year of visits, one every ten days, the last one yesterday */
	static const struct spec visit[] = {
	    {"earn", 0, 0, "earn", "", 0, 0, 0},
	    {"stamp", 0, 0, "stamps-coffee", "stamps-coffee", 2, 0, 1},
	};
	struct ledger_event ev[200];
	size_t n = 0;
	int64_t now = wall_us(), day = SYNC_DAY_US, seq = 0, coffee = 0;
	int64_t first = now - 361 * day;
	for (int v = 0; v < 36; v++) {
		int64_t t = first + v * 10 * day;
		int64_t amount = 1234 + v * 517 % 6000;
		for (size_t k = 0; k < 2; k++) {
			const struct spec *s = &visit[k];
			struct ledger_event *e = &ev[n++];
			memset(e, 0, sizeof(*e));
			e->seq = ++seq;
			snprintf(e->kind, sizeof(e->kind), "%s", s->kind);
			snprintf(e->rule, sizeof(e->rule), "%s", s->rule);
			snprintf(e->ref, sizeof(e->ref), "%s", s->ref);
			e->time_us = t + (int64_t) k;
			snprintf(e->receipt_no, sizeof(e->receipt_no), TERMINAL "-%06" PRId64,
				 seq - (int64_t) k);
			if (!strcmp(s->kind, "earn")) {
				e->amount_gr = amount;
				e->points = amount / 100 + (v > 20 ? amount / 400 : 0);
				e->lot_us = t;
			} else {
				coffee = (coffee + 2) % 10;
				e->items = 2;
				e->progress = coffee;
			}
		}
		struct spec extra = {0};
		if (v == 0)
			extra = (struct spec){"bonus", 50, 0, "welcome", "", 0, 0, 1};
		else if (v == 1)
			extra = (struct spec){"coupon_issue", 0, 0, "first_purchase",
					      "CPN0000001",   0, 0, 1};
		else if (v == 5)
			extra = (struct spec){"coupon_use", 0, 580, "first_purchase",
					      "CPN0000001", 0, 0,   1};
		else if (v == 20)
			extra = (struct spec){"redeem", -100, 1000, "redemption", "", 0, 0, 1};
		else if (v == 33)
			extra = (struct spec){"coupon_issue", 0, 0, "reactivation",
					      "CPN0000002",   0, 0, 1};
		else if (v == 35)
			extra = (struct spec){"bonus", 15, 0, "survey", "BENCH1-000001", 0, 0, 1};
		if (extra.kind) {
			struct ledger_event *e = &ev[n++];
			memset(e, 0, sizeof(*e));
			e->seq = ++seq;
			snprintf(e->kind, sizeof(e->kind), "%s", extra.kind);
			snprintf(e->rule, sizeof(e->rule), "%s", extra.rule);
			snprintf(e->ref, sizeof(e->ref), "%s", extra.ref);
			e->points = extra.points;
			e->amount_gr = extra.amount_gr;
			e->lot_us = extra.points > 0 ? t : 0;
			e->time_us = t + 2;
			memcpy(e->receipt_no, ev[n - 2].receipt_no, sizeof(e->receipt_no));
		}
	}
	uint8_t hash[LEDGER_HASH_BYTES] = {0};
	for (size_t i = 0; i < n; i++) {
		struct ledger_event *e = &ev[i];
		snprintf(e->terminal_id, sizeof(e->terminal_id), TERMINAL);
		snprintf(e->card_code, sizeof(e->card_code), CARD);
		e->member_id = MEMBER;
		e->encoding = 3;
		randombytes_buf(e->event_id, sizeof(e->event_id));
		if (ledger_event_hash(e, hash, hash) < 0) {
			store_close(st);
			return -1;
		}
		memcpy(e->hash, hash, sizeof(hash));
	}
	struct programme prog;
	programme_default(&prog);
	struct sync_policy pol = {.prog = &prog,
				  .terminal_budget_pts = prog.offline_terminal_budget_pts,
				  .member_cap_pts = prog.offline_member_cap_pts,
				  .max_offline_age_s = prog.offline_max_age_s};
	struct sync_push push = {.n_events = n, .events = ev};
	snprintf(push.terminal_id, sizeof(push.terminal_id), TERMINAL);
	struct sync_error serr = {0};
	cJSON *resp = NULL;
	r = sync_push_apply(st, &pol, TERMINAL, &push, now, &resp, &serr);
	int accepted = -1;
	if (r == 0) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(resp, "accepted");
		/* integers are written raw, as their digits (sync_json_i64) */
		accepted = cJSON_IsRaw(a) ? atoi(a->valuestring) : -1;
	}
	cJSON_Delete(resp);
	store_close(st);
	if (r < 0 || accepted != (int) n) {
		say("push of the history: %d, %d of %zu accepted (%s %s)", r, accepted, n,
		    serr.code, serr.message);
		return -1;
	}
	say("store: terminal %s, member %s with %zu events", TERMINAL, CARD, n);
	return 0;
}

/* ---- one GET over a socket, to check the page and take its bytes ---- */

static int http_get(int port, const char *path, char **ret_body, size_t *ret_len, int *ret_status)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nUser-Agent: page_bench\r\n\r\n",
			 path, port);
	if (write(fd, req, (size_t) n) != n) {
		close(fd);
		return -1;
	}
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t k;
	while (buf && len < cap && (k = read(fd, buf + len, cap - len)) > 0)
		len += (size_t) k;
	close(fd);
	if (!buf)
		return -1;
	buf[len] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", ret_status) != 1 || !body) {
		free(buf);
		return -1;
	}
	body += 4;
	*ret_len = len - (size_t) (body - buf);
	*ret_body = malloc(*ret_len + 1);
	if (*ret_body)
		memcpy(*ret_body, body, *ret_len + 1);
	free(buf);
	return *ret_body ? 0 : -1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *) &a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

/* ---- CPU time of the servers, from /proc ---- */

/* utime + stime of pid in microseconds, 0 when unreadable */
static int64_t proc_cpu_us(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	char *s = ok ? strrchr(line, ')') : NULL; /* after the command name, which may hold spaces */
	unsigned long long ut = 0, st = 0;
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	return (int64_t) ((ut + st) * 1000000ULL / (unsigned long long) (hz > 0 ? hz : 100));
}

static pid_t proc_ppid(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	char *s = ok ? strrchr(line, ')') : NULL;
	int ppid;
	return s && sscanf(s + 2, "%*c %d", &ppid) == 1 ? (pid_t) ppid : -1;
}

/* The CPU time of pid and of its children (nginx's workers) in microseconds. */
static int64_t tree_cpu_us(pid_t pid)
{
	int64_t us = proc_cpu_us(pid);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long child = strtol(e->d_name, &end, 10);
		if (*end == '\0' && child > 0 && proc_ppid((pid_t) child) == pid)
			us += proc_cpu_us((pid_t) child);
	}
	if (d)
		closedir(d);
	return us;
}

static void loadavg(double *ret_1min)
{
	FILE *f = fopen("/proc/loadavg", "r");
	*ret_1min = -1;
	if (f) {
		if (fscanf(f, "%lf", ret_1min) != 1)
			*ret_1min = -1;
		fclose(f);
	}
}

/* ---- wrk ---- */

struct wrk {
	double req_per_s, p50_ms, p90_ms, p99_ms, max_ms;
	long long requests, non2xx, socket_errors;
};

/* "1.23ms", "850.00us", "1.02s", "2.00m" in milliseconds */
static double to_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (!strncmp(end, "us", 2))
		return v / 1000;
	if (!strncmp(end, "ms", 2))
		return v;
	if (!strncmp(end, "s", 1))
		return v * 1000;
	if (!strncmp(end, "m", 1))
		return v * 60000;
	return -1;
}

/* wrk on url for secs seconds; with script (a Lua file choosing the paths), through it. */
static int run_wrk(const char *url, const char *script, int threads, int conns, int secs,
		   const char *log, struct wrk *w)
{
	char t[16], c[16], d[16];
	snprintf(t, sizeof(t), "-t%d", threads);
	snprintf(c, sizeof(c), "-c%d", conns);
	snprintf(d, sizeof(d), "-d%ds", secs);
	const char *argv[] = {"wrk", t, c, d, "--latency", url, NULL, NULL, NULL};
	if (script) {
		argv[5] = "-s";
		argv[6] = script;
		argv[7] = url;
	}
	if (run(argv, log) != 0) {
		say("wrk failed on %s (is the Debian package wrk installed?), see %s", url, log);
		return -1;
	}
	FILE *f = fopen(log, "r");
	char line[512], v[64];
	memset(w, 0, sizeof(*w));
	w->req_per_s = w->p99_ms = -1;
	while (f && fgets(line, sizeof(line), f)) {
		long long a, b, x, y;
		if (sscanf(line, " Latency %*s %*s %63s", v) == 1)
			w->max_ms = to_ms(v);
		else if (sscanf(line, " 50%% %63s", v) == 1)
			w->p50_ms = to_ms(v);
		else if (sscanf(line, " 90%% %63s", v) == 1)
			w->p90_ms = to_ms(v);
		else if (sscanf(line, " 99%% %63s", v) == 1)
			w->p99_ms = to_ms(v);
		else if (sscanf(line, " %lld requests in", &a) == 1)
			w->requests = a;
		else if (sscanf(line, " Non-2xx or 3xx responses: %lld", &a) == 1)
			w->non2xx = a;
		else if (sscanf(line,
				" Socket errors: connect %lld, read %lld, write %lld, timeout %lld",
				&a, &b, &x, &y) == 4)
			w->socket_errors = a + b + x + y;
		else
			(void) sscanf(line, "Requests/sec: %lf", &w->req_per_s);
	}
	if (f)
		fclose(f);
	if (w->req_per_s < 0 || w->p99_ms < 0) {
		say("cannot read wrk's output in %s", log);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int secs = 10, threads = 2, conns = 16, workers = (int) sysconf(_SC_NPROCESSORS_ONLN);
	int warmup = 2, n_tokens = 1;
	if (workers < 1)
		workers = 1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--duration"))
			secs = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--threads"))
			threads = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--connections"))
			conns = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--pages-threads"))
			workers = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--warmup"))
			warmup = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--tokens"))
			n_tokens = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: page_bench [--duration S] [--threads N] "
					"[--connections N] [--pages-threads N] [--warmup S] "
					"[--tokens N]\n");
			return 2;
		}
	}
	if (secs < 1 || threads < 1 || conns < threads || workers < 1 || workers > 64 ||
	    warmup < 0 || n_tokens < 1 || n_tokens > TOKENS_MAX) {
		fprintf(stderr, "page_bench: duration >= 1, threads >= 1, connections >= threads, "
				"pages threads 1 to 64, warm-up >= 0, tokens 1 to %d\n",
			TOKENS_MAX);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/page-bench.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		say("mkdtemp: %s", strerror(errno));
		return 1;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	char path[512], ca[128], db[128], log[128], card[TOKEN_TEXT_MAX + 1];
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	const char *devca[] = {LOYALTY_SOURCE_DIR "/tools/dev-ca", ca, NULL};
	snprintf(log, sizeof(log), "%s/dev-ca.log", dir);
	if (run(devca, log) != 0) {
		say("tools/dev-ca failed (openssl?)");
		return 1;
	}

	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	snprintf(db, sizeof(db), "%s/server.sqlite", dir);
	if (make_store(db, sk) < 0)
		return 1;
	/* the card's links: one, or n_tokens issued an hour apart (so n_tokens texts, each
	 * verified and its QR drawn anew unless the server keeps it) */
	char(*tokens)[TOKEN_TEXT_MAX + 1] = calloc((size_t) n_tokens, sizeof(*tokens));
	if (!tokens)
		return 1;
	for (int k = 0; k < n_tokens; k++) {
		struct token tok = {.type = TOKEN_CARD};
		snprintf(tok.card_code, sizeof(tok.card_code), CARD);
		tok.issued_s = wall_us() / 1000000 - (int64_t) k * 3600;
		tok.expires_s = wall_us() / 1000000 + 365 * 86400;
		int tr = token_sign(&tok, sk, tokens[k], sizeof(tokens[k]));
		if (tr < 0) {
			say("token_sign: %d", tr);
			return 1;
		}
	}
	sodium_memzero(sk, sizeof(sk));
	memcpy(card, tokens[0], sizeof(card));

	/* loyalty-server */
	char cert[160], key[160], cacert[160], portf[160], pportf[160];
	snprintf(cert, sizeof(cert), "%s/server.pem", ca);
	snprintf(key, sizeof(key), "%s/server.key", ca);
	snprintf(cacert, sizeof(cacert), "%s/ca.pem", ca);
	snprintf(portf, sizeof(portf), "%s/port", dir);
	snprintf(pportf, sizeof(pportf), "%s/pages.port", dir);
	char exit_after[16], pages_threads[16];
	snprintf(exit_after, sizeof(exit_after), "%d", 2 * secs + 120);
	snprintf(pages_threads, sizeof(pages_threads), "%d", workers);
	const char *srv[] = {LOYALTY_SERVER,
			     "serve",
			     "--db",
			     db,
			     "--cert",
			     cert,
			     "--key",
			     key,
			     "--ca",
			     cacert,
			     "--port",
			     "0",
			     "--port-file",
			     portf,
			     "--pages-listen",
			     "127.0.0.1:0",
			     "--pages-port-file",
			     pportf,
			     "--pages-threads",
			     pages_threads,
			     "--store-name",
			     "Piekarnia Pod Lipą",
			     "--exit-after",
			     exit_after,
			     NULL};
	snprintf(log, sizeof(log), "%s/server.log", dir);
	server_pid = spawn(srv, log);
	int pport = read_port(portf, server_pid, "loyalty-server") < 0
			? -1
			: read_port(pportf, server_pid, "loyalty-server's pages");
	if (pport < 0)
		return 1;

	char page_path[TOKEN_TEXT_MAX + 8], *body = NULL;
	size_t body_len = 0;
	int status = 0;
	snprintf(page_path, sizeof(page_path), "/C/%s", card);
	if (http_get(pport, page_path, &body, &body_len, &status) < 0 || status != 200 ||
	    !strstr(body, "data-points=")) {
		say("the card page did not answer 200 with the balance (status %d)", status);
		free(body);
		return 1;
	}

	/* nginx: the same bytes as a static file */
	/* run as root, nginx's worker is another user (www-data): it may pass through the folder
	 * (the CA's own folder stays 0700) and read the file */
	chmod(dir, 0711);
	snprintf(path, sizeof(path), "%s/nginx", dir);
	mkdir(path, 0711);
	snprintf(path, sizeof(path), "%s/nginx/www", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nginx/www/card.html", dir);
	if (write_file(path, body, body_len) < 0) {
		free(body);
		return 1;
	}
	free(body);
	int nport = free_port();
	char conf[4096], conf_path[160], prefix[160], nginx_err[160];
	snprintf(prefix, sizeof(prefix), "%s/nginx", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/nginx/nginx.conf", dir);
	snprintf(nginx_err, sizeof(nginx_err), "%s/nginx/error.log", dir);
	snprintf(conf, sizeof(conf),
		 "daemon off;\nmaster_process on;\nworker_processes %d;\npid %s/nginx.pid;\n"
		 "error_log %s warn;\nevents { worker_connections 1024; }\n"
		 "http {\n  access_log off;\n  client_body_temp_path %s/tmp;\n"
		 "  proxy_temp_path %s/tmp;\n  fastcgi_temp_path %s/tmp;\n"
		 "  uwsgi_temp_path %s/tmp;\n  scgi_temp_path %s/tmp;\n"
		 "  types { text/html html; }\n  sendfile on;\n  keepalive_requests 100000;\n"
		 "  server {\n    listen 127.0.0.1:%d;\n    root %s/www;\n"
		 "    location / { }\n  }\n}\n",
		 workers, prefix, nginx_err, prefix, prefix, prefix, prefix, prefix, nport, prefix);
	if (nport < 0 || write_file(conf_path, conf, strlen(conf)) < 0)
		return 1;
	const char *ngx[] = {"nginx", "-p", prefix, "-c", conf_path, "-e", nginx_err, NULL};
	snprintf(log, sizeof(log), "%s/nginx/stdout.log", dir);
	nginx_pid = spawn(ngx, log);
	int up = 0;
	for (int i = 0; i < 200 && !up; i++) {
		char *b = NULL;
		size_t bl;
		int s = 0;
		if (http_get(nport, "/card.html", &b, &bl, &s) == 0 && s == 200 && bl == body_len)
			up = 1;
		free(b);
		if (!up) {
			if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
				nginx_pid = 0;
				break;
			}
			usleep(25000);
		}
	}
	if (!up) {
		say("nginx did not serve the file (is the Debian package nginx installed?); its "
		    "log:");
		snprintf(path, sizeof(path), "tail -n 5 '%s' '%s' >&2", nginx_err, log);
		if (system(path) != 0)
			say("no log");
		return 1;
	}

	char url_card[TOKEN_TEXT_MAX + 64], url_nginx[64];
	snprintf(url_card, sizeof(url_card), "http://127.0.0.1:%d%s", pport, page_path);
	snprintf(url_nginx, sizeof(url_nginx), "http://127.0.0.1:%d/card.html", nport);
	/* more than one link: wrk takes them in turn through a Lua script, and nginx's run goes
	 * through the same script with its one path, so that wrk does the same work for both */
	char lua_card[160], lua_nginx[160];
	const char *script_card = NULL, *script_nginx = NULL;
	if (n_tokens > 1) {
		snprintf(lua_card, sizeof(lua_card), "%s/card.lua", dir);
		snprintf(lua_nginx, sizeof(lua_nginx), "%s/nginx.lua", dir);
		static const char tail[] = "}\nlocal i = 0\nrequest = function()\n"
					   "  i = i % #paths + 1\n"
					   "  return wrk.format(nil, paths[i])\nend\n";
		FILE *fc = fopen(lua_card, "w"), *fn = fopen(lua_nginx, "w");
		if (fc) {
			fputs("local paths = {\n", fc);
			for (int k = 0; k < n_tokens; k++)
				fprintf(fc, "\"/C/%s\",\n", tokens[k]);
			fputs(tail, fc);
		}
		if (fn)
			fprintf(fn, "local paths = {\"/card.html\",\n%s", tail);
		if (!fc || !fn || fclose(fc) != 0 || fclose(fn) != 0) {
			say("cannot write the wrk scripts");
			return 1;
		}
		script_card = lua_card;
		script_nginx = lua_nginx;
		/* the last link too answers with the card */
		char last[TOKEN_TEXT_MAX + 8], *b = NULL;
		size_t bl;
		int s = 0;
		snprintf(last, sizeof(last), "/C/%s", tokens[n_tokens - 1]);
		if (http_get(pport, last, &b, &bl, &s) < 0 || s != 200 || !strstr(b, "data-points=")) {
			say("the card page of the last link did not answer 200 (status %d)", s);
			free(b);
			return 1;
		}
		free(b);
	}
	free(tokens);
	say("wrk -t%d -c%d -d%ds --latency: card page (%zu bytes, %d threads), then nginx (%d "
	    "workers)",
	    threads, conns, secs, body_len, workers, workers);
	struct wrk wc, wn, warm;
	char log_card[160], log_nginx[160], log_warm[160];
	double load_start, load_end;
	snprintf(log_card, sizeof(log_card), "%s/wrk-card.txt", dir);
	snprintf(log_nginx, sizeof(log_nginx), "%s/wrk-nginx.txt", dir);
	snprintf(log_warm, sizeof(log_warm), "%s/wrk-warm-up.txt", dir);
	loadavg(&load_start);
	/* each: a warm-up run of the same kind (caches, connections, page cache), then the
	 * measured run with the server's CPU time (all its threads; nginx's master and workers)
	 * taken around it */
	if (warmup > 0 && run_wrk(url_card, script_card, threads, conns, warmup, log_warm, &warm) < 0)
		return 1;
	int64_t cpu0 = proc_cpu_us(server_pid);
	if (run_wrk(url_card, script_card, threads, conns, secs, log_card, &wc) < 0)
		return 1;
	int64_t cpu_card = proc_cpu_us(server_pid) - cpu0;
	if (warmup > 0 &&
	    run_wrk(url_nginx, script_nginx, threads, conns, warmup, log_warm, &warm) < 0)
		return 1;
	cpu0 = tree_cpu_us(nginx_pid);
	if (run_wrk(url_nginx, script_nginx, threads, conns, secs, log_nginx, &wn) < 0)
		return 1;
	int64_t cpu_nginx = tree_cpu_us(nginx_pid) - cpu0;
	loadavg(&load_end);
	cleanup();
	double cpu_card_req = wc.requests > 0 ? (double) cpu_card / (double) wc.requests : 0;
	double cpu_nginx_req = wn.requests > 0 ? (double) cpu_nginx / (double) wn.requests : 0;

	double ratio = wn.req_per_s > 0 ? wc.req_per_s / wn.req_per_s : 0;
	printf("page_bench: wrk -t%d -c%d -d%ds --latency on 127.0.0.1 after a %d s warm-up each, "
	       "page %zu bytes, %d card link%s, %d pages threads, %d nginx workers, load average "
	       "%.2f -> %.2f\n",
	       threads, conns, secs, warmup, body_len, n_tokens, n_tokens > 1 ? "s" : "", workers,
	       workers, load_start, load_end);
	printf("%-20s %9s %8s %8s %8s %8s %9s %7s %6s %11s\n", "target", "req/s", "p50 ms",
	       "p90 ms", "p99 ms", "max ms", "requests", "non-2xx", "errors", "CPU us/req");
	printf("%-20s %9.1f %8.3f %8.3f %8.3f %8.3f %9lld %7lld %6lld %11.1f\n", "card page (server)",
	       wc.req_per_s, wc.p50_ms, wc.p90_ms, wc.p99_ms, wc.max_ms, wc.requests, wc.non2xx,
	       wc.socket_errors, cpu_card_req);
	printf("%-20s %9.1f %8.3f %8.3f %8.3f %8.3f %9lld %7lld %6lld %11.1f\n", "static file (nginx)",
	       wn.req_per_s, wn.p50_ms, wn.p90_ms, wn.p99_ms, wn.max_ms, wn.requests, wn.non2xx,
	       wn.socket_errors, cpu_nginx_req);
	int ok = ratio >= 0.3 && wc.p99_ms <= 10 && !wc.non2xx && !wn.non2xx;
	printf("ratio card/nginx %.3f (target >= 0.3), card p99 %.3f ms (target <= 10): %s\n",
	       ratio, wc.p99_ms, ok ? "met" : "MISSED");
	if (wc.non2xx || wn.non2xx)
		printf("warning: non-2xx answers (card %lld, nginx %lld)\n", wc.non2xx, wn.non2xx);
	printf("{\"bench\":\"page\",\"card_page_req_per_s\":%.1f,\"card_page_p99_ms\":%.3f,"
	       "\"nginx_static_req_per_s\":%.1f,\"nginx_static_p99_ms\":%.3f,\"ratio\":%.3f,"
	       "\"page_bytes\":%zu,\"card_page_non2xx\":%lld,\"threads\":%d,\"connections\":%d,"
	       "\"duration_s\":%d,\"warmup_s\":%d,\"card_links\":%d,\"pages_threads\":%d,"
	       "\"nginx_workers\":%d,\"card_page_cpu_us_per_req\":%.1f,"
	       "\"nginx_static_cpu_us_per_req\":%.1f,\"loadavg_1min_start\":%.2f,"
	       "\"loadavg_1min_end\":%.2f,\"target\":{\"ratio\":0.3,\"p99_ms\":10}}\n",
	       wc.req_per_s, wc.p99_ms, wn.req_per_s, wn.p99_ms, ratio, body_len, wc.non2xx,
	       threads, conns, secs, warmup, n_tokens, workers, workers, cpu_card_req, cpu_nginx_req,
	       load_start, load_end);
	return 0;
}
