/*
 * pn532-emu: command-line front of the PN532 emulator, for trying the libnfc driver by hand
 * (nfc-list, the sim-libnfc board) without a reader. Prints the slave pty path, then runs a
 * scenario: the lines of --script FILE, then (without --script, or with --stdin) one command a
 * line on stdin. Not a test harness: tests link the pn532_emu library directly.
 *
 * On top of the library's commands (pn532_emu_command()) it knows the timing and process ones:
 * "at SECONDS CMD" (run CMD that long after the start), "wait SECONDS", "crash" (exit at once
 * without tidying up, like a killed process: the host sees the line vanish) and "quit".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	fputs("usage: pn532-emu [--link PATH] [--trace] [--script FILE [--stdin]]\n"
	      "Emulates a PN532 on a pseudo-terminal; prints its path, then runs commands:\n"
	      "  tap [ntag213|ntag215|ntag216|ntag424] UID [URI]\n"
	      "              put a card on the reader (default ntag213; no URI: a blank NTAG21x,\n"
	      "              or an NTAG 424 DNA with a SUN test URL)\n"
	      "  remove      take the card away\n"
	      "  fault rf-timeout|crc|checksum|lost [COUNT] [cmd HEX]\n"
	      "  fault slow MS [COUNT] [cmd HEX]\n"
	      "              spoil the next COUNT (1) replies (to command HEX, e.g. 40)\n"
	      "  fault none  disarm\n"
	      "  poke PAGE HEX   overwrite card memory\n"
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

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"link", required_argument, NULL, 'l'},   {"trace", no_argument, NULL, 't'},
	    {"script", required_argument, NULL, 's'}, {"stdin", no_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	struct pn532_emu_config config = {0};
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: fgets() returns */
	struct pn532_emu *emu;
	const char *script = NULL;
	bool use_stdin = false;
	int opt, r, status = EXIT_SUCCESS;

	while ((opt = getopt_long(argc, argv, "l:ts:ih", options, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!script)
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
	pn532_emu_stop(emu);
	return status;
}
