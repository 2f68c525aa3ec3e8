/* loyaltyd: the terminal daemon. Parses the command line and runs the terminal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "terminal.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: loyaltyd --board FILE [options]\n"
		"\n"
		"The counter loyalty terminal daemon.\n"
		"\n"
		"  --board FILE       board profile (e.g. board/sim/board.json)\n"
		"  --state DIR        state folder: ledger, keys, control socket\n"
		"                     (default /var/lib/loyaltyd)\n"
		"  --terminal FILE    terminal config (default <state>/terminal.json)\n"
		"  --programme FILE   loyalty programme (default <state>/programme.json if\n"
		"                     present, else the built-in default, board/programme.json)\n"
		"  --headless         no cashier console on this terminal (simulated keypad)\n"
		"  --register ADDR    the register API on ADDR (127.0.0.1:8731, [::1]:0, ...) or\n"
		"                     \"off\", instead of the terminal config's register.listen\n"
		"  --log-level LEVEL  err, warn, info (default) or debug\n"
		"  --syslog           log to syslog instead of stderr\n"
		"  --version          print the version\n"
		"  --help             this text\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"board", required_argument, NULL, 'b'},
	    {"state", required_argument, NULL, 's'},
	    {"terminal", required_argument, NULL, 't'},
	    {"programme", required_argument, NULL, 'p'},
	    {"headless", no_argument, NULL, 'H'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"syslog", no_argument, NULL, 'S'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {"register", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct terminal_options opt = {.state_dir = "/var/lib/loyaltyd"};
	enum log_level level;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opt.board_path = optarg;
			break;
		case 's':
			opt.state_dir = optarg;
			break;
		case 't':
			opt.terminal_path = optarg;
			break;
		case 'p':
			opt.programme_path = optarg;
			break;
		case 'H':
			opt.headless = true;
			break;
		case 'r':
			opt.register_listen = optarg;
			break;
		case 'l':
			if (log_level_from_name(optarg, &level) < 0) {
				fprintf(stderr,
					"loyaltyd: --log-level: '%s' is not err, warn, info "
					"or debug\n",
					optarg);
				return 2;
			}
			log_set_level(level);
			break;
		case 'S':
			log_use_syslog(true);
			break;
		case 'V':
			printf("loyaltyd %s\n", LOYALTY_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loyaltyd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!opt.board_path) {
		fprintf(stderr, "loyaltyd: --board is required\n");
		usage(stderr);
		return 2;
	}
	if (!opt.state_dir[0]) {
		fprintf(stderr, "loyaltyd: --state must not be empty\n");
		return 2;
	}
	struct terminal *t;
	if (terminal_open(&opt, &t) < 0)
		return 1;
	int r = terminal_run(t);
	terminal_close(t);
	return r < 0 ? 1 : 0;
}
