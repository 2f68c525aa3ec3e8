/*
 * printer-emu: command-line front of the printer emulator, for tests written in shell and for
 * trying the printer drivers by hand. Prints "pty PATH" and/or "port N" (one line each, then
 * "ready"), records what it prints to --record FILE, and takes commands one a line on stdin and
 * on a control FIFO (--control PATH): ready, paper-out, paper-out-after N, cover-open, offline,
 * slow BYTES_PER_S, fast, quit. SIGUSR1 runs the paper out, SIGUSR2 makes it ready. It stops on
 * "quit", SIGTERM, SIGINT, SIGHUP, or when the process that started it goes away.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "printer-emu.h"

#define LINE_MAX_LEN 128

static void usage(FILE *out)
{
	fputs(
	    "usage: printer-emu [--pty] [--link PATH] [--tcp] [--port N] [--record FILE]\n"
	    "                   [--control FIFO] [--state STATE] [--rate BYTES_PER_S]\n"
	    "An ESC/POS printer on a pseudo-terminal (--pty) and/or 127.0.0.1 (--tcp; --port 0 or\n"
	    "none: any free port). Prints 'pty PATH', 'port N', then 'ready'. Commands, one a "
	    "line\n"
	    "on stdin or the control FIFO:\n"
	    "  ready | paper-out | cover-open | offline   switch the state\n"
	    "  paper-out-after N   print N more bytes, then run out of paper\n"
	    "  slow N | fast       read at most N bytes per second | as fast as they come\n"
	    "  quit                stop (also SIGTERM, SIGINT, SIGHUP, the parent going away)\n"
	    "SIGUSR1 runs the paper out, SIGUSR2 makes it ready.\n",
	    out);
}

/* A line buffer per input: commands may arrive in pieces. */
struct input {
	int fd;
	char buf[LINE_MAX_LEN];
	size_t len;
};

/* Returns 1 to go on, 0 to quit. */
static int run_line(struct printer_emu *emu, char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0])
		return 1;
	if (strcmp(line, "quit") == 0)
		return 0;
	if (printer_emu_command(emu, line) < 0)
		fprintf(stderr, "printer-emu: unknown command '%s'\n", line);
	else
		printf("ok %s\n", line);
	fflush(stdout);
	return 1;
}

/* Read what is there; -1 at end of input, 0 to quit, 1 to go on. */
static int read_input(struct printer_emu *emu, struct input *in)
{
	ssize_t n = read(in->fd, in->buf + in->len, sizeof(in->buf) - 1 - in->len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -1;
	if (n == 0)
		return -1;
	in->len += (size_t) n;
	for (;;) {
		char *nl = memchr(in->buf, '\n', in->len);
		if (!nl) {
			if (in->len == sizeof(in->buf) - 1)
				in->len = 0; /* an overlong line: drop it */
			return 1;
		}
		*nl = '\0';
		int go = run_line(emu, in->buf);
		in->len -= (size_t) (nl + 1 - in->buf);
		memmove(in->buf, nl + 1, in->len);
		if (!go)
			return 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"pty", no_argument, NULL, 'P'},	      {"link", required_argument, NULL, 'l'},
	    {"tcp", no_argument, NULL, 'T'},	      {"port", required_argument, NULL, 'p'},
	    {"record", required_argument, NULL, 'r'}, {"control", required_argument, NULL, 'c'},
	    {"state", required_argument, NULL, 's'},  {"rate", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	struct printer_emu_config config = {0};
	enum printer_emu_state state = PRINTER_EMU_READY;
	const char *control = NULL;
	unsigned long rate = 0;
	struct printer_emu *emu;
	pid_t parent = getppid();
	int opt, r;

	while ((opt = getopt_long(argc, argv, "Pl:Tp:r:c:s:R:h", options, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 'P':
			config.pty = true;
			break;
		case 'l':
			config.pty = true;
			config.link = optarg;
			break;
		case 'T':
			config.tcp = true;
			break;
		case 'p':
			config.tcp = true;
			config.port = (unsigned) strtoul(optarg, &end, 10);
			if (*end || config.port > 65535) {
				fprintf(stderr, "printer-emu: bad --port '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			config.record = optarg;
			break;
		case 'c':
			control = optarg;
			break;
		case 's':
			if (printer_emu_state_from_name(optarg, &state) < 0) {
				fprintf(stderr, "printer-emu: bad --state '%s'\n", optarg);
				return 2;
			}
			break;
		case 'R':
			rate = strtoul(optarg, &end, 10);
			if (*end || rate > 100000000) {
				fprintf(stderr, "printer-emu: bad --rate '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!config.pty && !config.tcp)) {
		usage(stderr);
		return 2;
	}

	/* Signals arrive through a descriptor; the parent's death is one of them. */
	static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
	sigset_t mask;
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaddset(&mask, signals[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		perror("printer-emu: signals");
		return EXIT_FAILURE;
	}
	if (getppid() != parent) /* it went away before the death signal was armed */
		return EXIT_SUCCESS;

	struct input in[2] = {{.fd = STDIN_FILENO}, {.fd = -1}};
	if (control) {
		if (mkfifo(control, 0600) < 0 && errno != EEXIST) {
			fprintf(stderr, "printer-emu: %s: %s\n", control, strerror(errno));
			return EXIT_FAILURE;
		}
		/* read-write: the FIFO never reads as ended when a writer closes it */
		in[1].fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (in[1].fd < 0) {
			fprintf(stderr, "printer-emu: %s: %s\n", control, strerror(errno));
			return EXIT_FAILURE;
		}
	}

	r = printer_emu_start(&config, &emu);
	if (r < 0) {
		fprintf(stderr, "printer-emu: cannot start: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}
	(void) printer_emu_set_state(emu, state);
	if (rate)
		(void) printer_emu_set_rate(emu, (unsigned) rate);
	if (config.pty)
		printf("pty %s\n", printer_emu_pty_path(emu));
	if (config.tcp)
		printf("port %u\n", printer_emu_tcp_port(emu));
	printf("ready\n");
	fflush(stdout);

	bool run = true;
	while (run) {
		struct pollfd pfd[3] = {{.fd = sfd, .events = POLLIN},
					{.fd = in[0].fd, .events = POLLIN},
					{.fd = in[1].fd, .events = POLLIN}};
		/* a second look at the parent, once a second, should the signal be missed */
		if (poll(pfd, 3, 1000) < 0 && errno != EINTR)
			break;
		if (getppid() != parent)
			break;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
			if (si.ssi_signo == SIGUSR1)
				(void) printer_emu_set_state(emu, PRINTER_EMU_PAPER_OUT);
			else if (si.ssi_signo == SIGUSR2)
				(void) printer_emu_set_state(emu, PRINTER_EMU_READY);
			else
				run = false;
		}
		for (int i = 0; i < 2 && run; i++) {
			if (in[i].fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP)))
				continue;
			int go = read_input(emu, &in[i]);
			if (go == 0)
				run = false;
			else if (go <
				 0) /* stdin ended: keep running, commands still come by FIFO */
				in[i].fd = -1;
		}
	}
	printer_emu_stop(emu);
	if (in[1].fd >= 0)
		close(in[1].fd);
	return EXIT_SUCCESS;
}
