/*
 * pn532-emu: command-line front of the PN532 emulator, for trying the libnfc driver by hand
 * (nfc-list, the simulator board) without a reader. Prints the slave pty path, then reads one
 * command a line on stdin. Not a test harness: tests link the pn532_emu library directly.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	fputs("usage: pn532-emu [--link PATH] [--trace]\n"
	      "Emulates a PN532 on a pseudo-terminal; prints its path, then reads commands:\n"
	      "  tap HEX   put an NTAG213 with this UID (4, 7 or 10 bytes) on the reader\n"
	      "  remove    take the card away\n"
	      "  mute      hang the chip: read the line, answer nothing\n"
	      "  unmute    answer again\n"
	      "  quit      stop (also end of input, SIGINT, SIGTERM)\n"
	      "Use it with libnfc as pn532_uart:PATH:115200.\n",
	      out);
}

/* Returns 1 to go on, 0 to quit. */
static int run_command(struct pn532_emu *emu, char *line)
{
	char *cmd = strtok(line, " \t\r\n");
	char *arg = strtok(NULL, "\r\n");
	uint8_t uid[PN532_EMU_UID_MAX];
	int n, r;

	if (!cmd)
		return 1;
	if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
		return 0;
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
	} else if (strcmp(cmd, "mute") == 0 || strcmp(cmd, "unmute") == 0) {
		(void) pn532_emu_set_mute(emu, cmd[0] == 'm');
		puts("ok");
	} else if (strcmp(cmd, "remove") == 0) {
		(void) pn532_emu_remove(emu);
		puts("ok");
	} else if (strcmp(cmd, "tap") == 0) {
		n = arg ? pn532_emu_parse_hex(arg, uid, sizeof(uid)) : -EINVAL;
		r = n < 0 ? n : pn532_emu_present(emu, uid, (size_t) n);
		if (r < 0)
			fprintf(stderr, "error: tap needs a UID of 4, 7 or 10 bytes in hex\n");
		else
			puts("ok");
	} else {
		fprintf(stderr, "error: unknown command '%s' (try help)\n", cmd);
	}
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"link", required_argument, NULL, 'l'},
	    {"trace", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct pn532_emu_config config = {0};
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: fgets() returns */
	struct pn532_emu *emu;
	char line[256];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "l:th", options, NULL)) != -1) {
		switch (opt) {
		case 'l':
			config.link = optarg;
			break;
		case 't':
			config.trace = trace_line;
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
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	r = pn532_emu_start(&config, &emu);
	if (r < 0) {
		fprintf(stderr, "pn532-emu: cannot start%s%s: %s\n", config.link ? " at " : "",
			config.link ? config.link : "", strerror(-r));
		return EXIT_FAILURE;
	}
	printf("%s\n", pn532_emu_path(emu));
	fflush(stdout);
	while (!quit && fgets(line, sizeof(line), stdin)) {
		if (!run_command(emu, line))
			break;
	}
	pn532_emu_stop(emu);
	return EXIT_SUCCESS;
}
