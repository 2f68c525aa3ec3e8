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
 * Same-run anchors, to show where the time goes: reading the outbox alone (100 batches of 1000
 * through ledger_outbox_read, nothing acknowledged) and making the push bodies alone.
 *
 * Usage: sync_bench [--events N] [--cache DIR]   (tools/dev bench sync)
 * Prints a table and, last, one JSON object: {"bench":"sync","events_per_s":...,"drain_s":...,
 * "target":{"drain_s":5},...}.
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

#include "devkey.h"
#include "ledger.h"
#include "ledger_fixture.h"
#include "sync.h"
#include "sync_client.h"

#define TARGET_DRAIN_S 5

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
	int64_t t0 = now_ns(), run_max_ns = 0, run_total_ns = 0;
	if (sync_client_now(sc, 1) < 0)
		die("sync now");
	while (!out.done) {
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
	int64_t drain_ns = now_ns() - t0;
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

	stop_server();
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
	printf("%-52s %12.3f\n", "server CPU, whole run (registration included), s", server_cpu_s);
	printf("target: drain_s <= %d (%s)\n", TARGET_DRAIN_S,
	       drain_s <= TARGET_DRAIN_S ? "met" : "NOT met");
	printf("{\"bench\":\"sync\",\"events\":%" PRId64 ",\"events_per_s\":%.0f,\"drain_s\":%.3f,"
	       "\"per_batch_ms\":%.1f,\"terminal_cpu_s\":%.3f,\"server_cpu_s\":%.3f,"
	       "\"loop_stall_max_ms\":%.1f,"
	       "\"anchor_outbox_read_s\":%.3f,\"anchor_bodies_s\":%.3f,"
	       "\"target\":{\"drain_s\":%d}}\n",
	       events, eps, drain_s, per_batch_ms, client_cpu_s, server_cpu_s,
	       (double) run_max_ns / 1e6, (double) read_ns / 1e9, (double) body_ns / 1e9,
	       TARGET_DRAIN_S);
	cJSON_Delete(out.o);
	sync_client_close(sc);
	ledger_close(l);
	devkey_wipe(&key);
	cleanup();
	return 0;
}
