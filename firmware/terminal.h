/*
 * terminal: the running terminal — devices, ledger, control socket, register API and the sale in
 * progress — and its main loop. One poll() loop owns every descriptor; nothing on the sale path
 * waits for the network or a blocking library.
 *
 * A sale: an amount or a basket arrives (console, control socket or register), then a card tap,
 * the offer and the answer, the confirmation; the sale is booked in the ledger durably, then the
 * receipt is printed from what was booked (firmware/checkout.c).
 */
#pragma once

#include <stdbool.h>

#include "config.h"

#define TERMINAL_DEBOUNCE_US 2000000 /* the same card within 2 s is one tap */

struct terminal_options {
	const char *board_path;
	const char *state_dir;
	const char *terminal_path;   /* NULL: <state_dir>/terminal.json */
	const char *programme_path;  /* NULL: <state_dir>/programme.json, or the built-in default */
	bool headless;		     /* the console is the "sim" driver whatever the board says */
	const char *register_listen; /* NULL: as terminal.json says; "off", or an address */
};

struct terminal;

/*
 * Load the configuration, open the devices and the ledger, listen on the control socket.
 * Returns 0, or a negative errno after logging what failed and what to do about it.
 */
__attribute__((warn_unused_result)) int terminal_open(const struct terminal_options *opt,
						      struct terminal **ret_terminal);
void terminal_close(struct terminal *t);

/* Run until SIGINT/SIGTERM or the cashier quits. Returns 0 or a negative errno. */
int terminal_run(struct terminal *t);
