/*
 * pn532-emu: command-line front of the PN532 emulator, for trying the libnfc driver by hand
 * (nfc-list, the sim-libnfc board) without a reader. Prints the slave pty path, then runs a
 * scenario: the lines of --script FILE, then (without --script, or with --stdin) one command a
 * line on stdin. Not a test harness: tests link the pn532_emu library directly.
 *
 * On top of the library's commands (pn532_emu_command()) it knows the timing and process ones:
 * "at SECONDS CMD" (run CMD that long after the start), "wait SECONDS", "crash" (exit at once
 * without tidying up, like a killed process: the host sees the line vanish) and "quit".
 *
 * With --control PATH it also listens on a Unix stream socket: each line a client sends is run
 * like a command of the scenario and answered "ok" or "error: ..." on one line (timing commands
 * are refused there). "pn532-emu --send PATH COMMAND..." is such a client.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pn532-emu.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void) sig;
	quit = 1;
}

static void trace_line(void *userdata, const char *line)
{
	struct timespec ts;

	(void) userdata;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "%5lld.%03ld %s\n", (long long) ts.tv_sec, ts.tv_nsec / 1000000, line);
}

static void usage(FILE *out)
{
	fputs("usage: pn532-emu [--link PATH] [--trace] [--script FILE [--stdin]] [--control "
	      "SOCKET]\n"
	      "       pn532-emu --send SOCKET COMMAND...\n"
	      "Emulates a PN532 on a pseudo-terminal; prints its path, then runs commands:\n"
	      "  tap [ntag213|ntag215|ntag216|ntag424] UID [URI]\n"
	      "              put a card on the reader (default ntag213; no URI: a blank NTAG21x,\n"
	      "              or an NTAG 424 DNA with a SUN test URL)\n"
	      "  remove      take the card away\n"
	      "  back        put the last card back, with what was written to it\n"
	      "  fault rf-timeout|crc|checksum|lost [COUNT] [cmd HEX]\n"
	      "  fault slow MS [COUNT] [cmd HEX]\n"
	      "              spoil the next COUNT (1) replies (to command HEX, e.g. 40)\n"
	      "  fault none  disarm\n"
	      "  poke PAGE HEX   overwrite card memory\n"
	      "  sun-keys META FILE [CTR]\n"
	      "              SUN cards from now on: an ntag424 tapped with a URI without '?'\n"
	      "              makes a fresh SUN message at each read (keys in hex, counter from CTR)\n"
	      "  mute        hang the chip: read the line, answer nothing\n"
	      "  unmute      answer again\n"
	      "  at SECONDS CMD  run CMD that long after the start (scripts)\n"
	      "  wait SECONDS    pause the scenario\n"
	      "  crash       exit at once, as if killed\n"
	      "  quit        stop (also end of input, SIGINT, SIGTERM)\n"
	      "Use it with libnfc as pn532_uart:PATH:115200.\n",
	      out);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Sleep until the monotonic time until_s, or until a signal asks to quit. */
static void sleep_until(double until_s)
{
	for (;;) {
		double left = until_s - mono_s();
		if (quit || left <= 0)
			return;
		struct timespec ts = {.tv_sec = (time_t) left,
				      .tv_nsec = (long) ((left - (double) (time_t) left) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

static int parse_seconds(const char *text, double *ret)
{
	char *end;
	double v;

	if (!text)
		return -EINVAL;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= 0) || v > 86400)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Returns 1 to go on, 0 to quit, -1 after an error (reported). */
static int run_line(struct pn532_emu *emu, const char *where, double start_s, char *line)
{
	char err[256], word[16] = "", rest_buf[1], *rest = rest_buf;
	double t;
	int n = 0;

	rest_buf[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (sscanf(line, " %15s %n", word, &n) == 1)
		rest = line + n;
	if (strcmp(word, "at") == 0 || strcmp(word, "wait") == 0) {
		char num[32] = "";
		int m = 0;
		if (sscanf(rest, "%31s %n", num, &m) != 1 || parse_seconds(num, &t) < 0) {
			fprintf(stderr, "pn532-emu: %s: '%s' needs a time in seconds\n", where,
				word);
			return -1;
		}
		sleep_until(word[0] == 'a' ? start_s + t : mono_s() + t);
		if (word[0] == 'w')
			return quit ? 0 : 1;
		line = rest + m;
		word[0] = '\0';
		if (sscanf(line, " %15s", word) != 1)
			return 1;
	}
	if (quit || strcmp(word, "quit") == 0 || strcmp(word, "exit") == 0)
		return 0;
	if (strcmp(word, "crash") == 0) {
		fflush(stdout);
		_exit(3);
	}
	if (strcmp(word, "help") == 0) {
		usage(stdout);
		return 1;
	}
	if (pn532_emu_command(emu, line, err, sizeof(err)) < 0) {
		fprintf(stderr, "pn532-emu: %s: %s\n", where, err);
		return -1;
	}
	if (word[0] && word[0] != '#') {
		puts("ok");
		fflush(stdout);
	}
	return 1;
}

/* Run every line of f; returns 0 to quit, 1 at the end of input, -1 on an error in a script. */
static int run_stream(struct pn532_emu *emu, FILE *f, const char *name, bool stop_on_error,
		      double start_s)
{
	char line[2 * PN532_EMU_URI_MAX + 64], where[64];
	unsigned lineno = 0;

	while (!quit && fgets(line, sizeof(line), f)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		int r = run_line(emu, where, start_s, line);
		if (r == 0)
			return 0;
		if (r < 0 && stop_on_error)
			return -1;
	}
	return 1;
}

/* ---- the control socket ---- */

struct control {
	struct pn532_emu *emu;
	int listen_fd;
	pthread_mutex_t lock; /* held around each command, so stopping never races one */
	bool stopping;
};

static int control_address(const char *path, struct sockaddr_un *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(ret->sun_path))
		return -ENAMETOOLONG;
	strcpy(ret->sun_path, path);
	return 0;
}

/* One client: a command a line, an answer a line, until it hangs up. */
static void control_client(struct control *c, int fd)
{
	char line[2 * PN532_EMU_URI_MAX + 64], err[256], reply[300];
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t) n;
		char *nl;
		while ((nl = memchr(line, '\n', len))) {
			*nl = '\0';
			char word[16] = "";
			(void) sscanf(line, " %15s", word);
			if (strcmp(word, "crash") == 0)
				_exit(3);
			if (strcmp(word, "quit") == 0) {
				quit = 1;
				kill(getpid(), SIGTERM);
				snprintf(reply, sizeof(reply), "ok\n");
			} else if (strcmp(word, "at") == 0 || strcmp(word, "wait") == 0) {
				snprintf(reply, sizeof(reply), "error: '%s' only in scripts\n",
					 word);
			} else {
				pthread_mutex_lock(&c->lock);
				int r = c->stopping
					    ? -ECANCELED
					    : pn532_emu_command(c->emu, line, err, sizeof(err));
				pthread_mutex_unlock(&c->lock);
				if (r == -ECANCELED)
					return;
				if (r < 0)
					snprintf(reply, sizeof(reply), "error: %s\n", err);
				else
					snprintf(reply, sizeof(reply), "ok\n");
			}
			if (write(fd, reply, strlen(reply)) < 0)
				return;
			len -= (size_t) (nl + 1 - line);
			memmove(line, nl + 1, len);
		}
		if (len == sizeof(line) - 1)
			return; /* a line too long: hang up */
	}
}

static void *control_main(void *arg)
{
	struct control *c = arg;

	for (;;) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		control_client(c, fd);
		close(fd);
	}
}

static int control_start(struct control *c, const char *path)
{
	struct sockaddr_un addr;
	pthread_t thread;
	sigset_t all, old;
	int r;

	if ((r = control_address(path, &addr)) < 0)
		return r;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return -errno;
	(void) unlink(path);
	if (bind(c->listen_fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 ||
	    listen(c->listen_fd, 4) < 0) {
		r = -errno;
		close(c->listen_fd);
		return r;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&thread, NULL, control_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		pthread_detach(thread);
	return r;
}

/* --send: one command to a running emulator; prints its answer, exit 0 on "ok". */
static int control_send(const char *path, int argc, char **argv)
{
	struct sockaddr_un addr;
	char line[2 * PN532_EMU_URI_MAX + 64], reply[300];
	size_t len = 0, got = 0;
	int fd;

	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t) n >= sizeof(line) - len - 1) {
			fprintf(stderr, "pn532-emu: command too long\n");
			return 2;
		}
		len += (size_t) n;
	}
	line[len++] = '\n';
	if (control_address(path, &addr) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "pn532-emu: bad control socket path %s\n", path);
		return EXIT_FAILURE;
	}
	if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 ||
	    write(fd, line, len) != (ssize_t) len) {
		fprintf(stderr, "pn532-emu: cannot reach %s: %s\n", path, strerror(errno));
		close(fd);
		return EXIT_FAILURE;
	}
	while (got < sizeof(reply) - 1) {
		ssize_t n = read(fd, reply + got, sizeof(reply) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t) n;
		if (reply[got - 1] == '\n')
			break;
	}
	close(fd);
	reply[got] = '\0';
	if (got == 0 && strcmp(argv[0], "crash") == 0)
		return EXIT_SUCCESS; /* it is gone, as asked */
	fputs(got ? reply : "error: no answer\n", strncmp(reply, "ok", 2) == 0 ? stdout : stderr);
	return strncmp(reply, "ok", 2) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"link", required_argument, NULL, 'l'},    {"trace", no_argument, NULL, 't'},
	    {"script", required_argument, NULL, 's'},  {"stdin", no_argument, NULL, 'i'},
	    {"control", required_argument, NULL, 'c'}, {"send", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	struct pn532_emu_config config = {0};
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: fgets() returns */
	struct pn532_emu *emu;
	const char *script = NULL, *control = NULL, *send = NULL;
	struct control ctl = {.listen_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};
	bool use_stdin = false;
	int opt, r, status = EXIT_SUCCESS;

	while ((opt = getopt_long(argc, argv, "+l:ts:ic:S:h", options, NULL)) != -1) {
		switch (opt) {
		case 'l':
			config.link = optarg;
			break;
		case 't':
			config.trace = trace_line;
			break;
		case 's':
			script = optarg;
			break;
		case 'i':
			use_stdin = true;
			break;
		case 'c':
			control = optarg;
			break;
		case 'S':
			send = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (send) {
		if (optind == argc) {
			usage(stderr);
			return 2;
		}
		return control_send(send, argc - optind, argv + optind);
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!script && !control)
		use_stdin = true;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	FILE *sf = NULL;
	if (script && !(sf = strcmp(script, "-") == 0 ? stdin : fopen(script, "r"))) {
		fprintf(stderr, "pn532-emu: cannot open script %s: %s\n", script, strerror(errno));
		return EXIT_FAILURE;
	}
	r = pn532_emu_start(&config, &emu);
	if (r < 0) {
		fprintf(stderr, "pn532-emu: cannot start%s%s: %s\n", config.link ? " at " : "",
			config.link ? config.link : "", strerror(-r));
		if (sf && sf != stdin)
			fclose(sf);
		return EXIT_FAILURE;
	}
	if (control) {
		ctl.emu = emu;
		r = control_start(&ctl, control);
		if (r < 0) {
			fprintf(stderr, "pn532-emu: cannot listen on %s: %s\n", control,
				strerror(-r));
			pn532_emu_stop(emu);
			return EXIT_FAILURE;
		}
	}
	printf("%s\n", pn532_emu_path(emu));
	fflush(stdout);
	const double start_s = mono_s();
	r = 1;
	if (sf) {
		r = run_stream(emu, sf, script, true, start_s);
		if (sf != stdin)
			fclose(sf);
		if (r < 0)
			status = EXIT_FAILURE;
	}
	if (r == 1 && use_stdin)
		r = run_stream(emu, stdin, "stdin", false, start_s);
	else if (r == 1)
		while (!quit)
			pause(); /* the script ran out: keep the reader until a signal */
	if (control) {
		(void) unlink(control); /* the control thread ends with the process */
		pthread_mutex_lock(&ctl.lock);
		ctl.stopping = true;
		pthread_mutex_unlock(&ctl.lock);
	}
	pn532_emu_stop(emu);
	return status;
}
