/*
 * printer-emu: an ESC/POS receipt printer on a pseudo-terminal and/or a TCP port on 127.0.0.1,
 * so the real "usb", "serial" and "tcp" printer drivers run in CI without a printer.
 *
 * It takes bytes, keeps those it "prints" (in memory and, when asked, appended to a file), and
 * answers DLE EOT n (10 04 n, n = 1 to 4) from its simulated state. It can be switched at any
 * time: ready; out of paper (now, or after so many more bytes: paper running out mid-receipt);
 * cover open; offline; slow (a limit in bytes per second). The model, kept simple on purpose:
 * - ready: every byte read is printed;
 * - paper out, cover open: bytes are still read and DLE EOT answered, but not printed (dropped,
 *   as by a printer that clears its buffer when it stops);
 * - offline: nothing is read and nothing answered (bytes wait in the pty or socket buffers and
 *   are read, and printed, when it is ready again);
 * - slow: bytes are read no faster than the rate, DLE EOT answered as they are read.
 * One TCP client at a time, as a printer's raw port; others wait in the listen backlog.
 *
 * Each emulator runs one thread of its own; the functions below may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum printer_emu_state {
	PRINTER_EMU_READY,
	PRINTER_EMU_PAPER_OUT,
	PRINTER_EMU_COVER_OPEN,
	PRINTER_EMU_OFFLINE,
	PRINTER_EMU_STATE_MAX
};

struct printer_emu;

struct printer_emu_config {
	bool pty;	    /* open a pseudo-terminal (its slave is the printer's device) */
	const char *link;   /* pty: point this symlink at the slave (never replaces a file) */
	bool tcp;	    /* listen on 127.0.0.1 */
	unsigned port;	    /* tcp: 0 for any free port */
	const char *record; /* append every printed byte to this file; NULL: memory only */
};

/* Start. At least one of pty and tcp. Returns 0 or a negative errno. */
__attribute__((warn_unused_result)) int printer_emu_start(const struct printer_emu_config *config,
							  struct printer_emu **ret_emu);
/* Stop the thread, close everything, remove the symlink, free. Accepts NULL. */
void printer_emu_stop(struct printer_emu *emu);

/* The pty slave's path ("" without a pty); valid until stop. */
const char *printer_emu_pty_path(const struct printer_emu *emu);
/* The TCP port listened on (0 without tcp). */
unsigned printer_emu_tcp_port(const struct printer_emu *emu);

int printer_emu_set_state(struct printer_emu *emu, enum printer_emu_state state);
enum printer_emu_state printer_emu_get_state(struct printer_emu *emu);
/* Print this many more bytes, then run out of paper. */
int printer_emu_paper_out_after(struct printer_emu *emu, size_t bytes);
/* Read at most this many bytes per second; 0: as fast as they come. */
int printer_emu_set_rate(struct printer_emu *emu, unsigned bytes_per_s);

/* A copy of every byte printed since start (the caller frees). Returns 0 or -ENOMEM. */
int printer_emu_printed(struct printer_emu *emu, uint8_t **ret_data, size_t *ret_len);
/* How many times needle occurs, without overlap, in what was printed. */
size_t printer_emu_count(struct printer_emu *emu, const void *needle, size_t len);
/* Bytes read but not printed (paper out, cover open), and DLE EOT questions answered. */
size_t printer_emu_dropped(struct printer_emu *emu);
unsigned printer_emu_queries(struct printer_emu *emu);

/* "ready", "paper-out", "cover-open", "offline" and back; -EINVAL for another name. */
const char *printer_emu_state_name(enum printer_emu_state state);
int printer_emu_state_from_name(const char *name, enum printer_emu_state *ret_state);

/*
 * One control command, as the command line and its control FIFO take them: "ready",
 * "paper-out", "paper-out-after N", "cover-open", "offline", "slow BYTES_PER_S", "fast".
 * Returns 0, or -EINVAL for anything else.
 */
int printer_emu_command(struct printer_emu *emu, const char *line);
