/*
 * printer-priv: what the "usb", "serial" and "tcp" drivers share, internal to hal/printer*.c.
 *
 * The three are one machine over a file descriptor (printer-link.c): the job's bytes are
 * collected, then end_job connects (opens the device, sets the line, or connects the socket),
 * asks DLE EOT, writes with a deadline, and asks again so the printer confirms it took every
 * byte. The drivers only say how to get the descriptor and what to drop after a failure.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "printer.h"

/* Answers still owed by questions that timed out are counted up to this. */
#define PRINTER_LINK_OWED_MAX 9

/* A job larger than this is refused (-EFBIG); receipts are at most 64 KiB. */
#define PRINTER_LINK_JOB_MAX (1024 * 1024)

struct printer_link;

struct printer_link_ops {
	/* Make l->fd usable before the deadline (monotonic ms), leaving it open when it already
	 * is. Sets l->can_read. Returns 0 or a negative errno. */
	int (*connect)(struct printer_link *l, int64_t deadline_ms);
	/* Optional: after a failed job, drop bytes still queued towards the printer. */
	void (*discard)(struct printer_link *l);
	/* Close the descriptor after every job and status question (one connection per job). */
	bool per_job;
	/* The descriptor is a socket: send() with MSG_NOSIGNAL. */
	bool socket;
};

struct printer_link {
	struct hal_printer base;
	const struct printer_link_ops *lops;
	int fd;
	bool can_read;
	bool heard;  /* the printer answered a DLE EOT since open */
	size_t owed; /* answers to earlier questions that may still come */
	enum hal_printer_status_mode status;
	int timeout_ms;
	int status_timeout_ms;

	bool in_job;
	uint8_t *job;
	size_t job_len;
	size_t job_cap;

	/* usb, serial */
	char path[PATH_MAX];
	unsigned baud;
	enum hal_printer_flow flow;
	/* tcp */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

/* Monotonic milliseconds. */
int64_t printer_link_now_ms(void);

/* Allocate a link with the config's common fields (timeouts, status mode) checked and
 * defaulted. Returns 0 or -EINVAL / -ENOMEM. */
int printer_link_new(const struct hal_printer_ops *ops, const struct printer_link_ops *lops,
		     const struct hal_printer_config *config, struct printer_link **ret_link);

/* Close the descriptor if open. */
void printer_link_disconnect(struct printer_link *l);

/* The hal_printer_ops functions the three drivers share. */
void printer_link_close(struct hal_printer *printer);
int printer_link_begin_job(struct hal_printer *printer, const char *job_name);
int printer_link_write(struct hal_printer *printer, const void *data, size_t len);
int printer_link_end_job(struct hal_printer *printer);
int printer_link_state(struct hal_printer *printer, enum hal_printer_state *ret_state);
