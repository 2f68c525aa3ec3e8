/*
 * printer: byte sinks for ESC/POS receipt printers.
 *
 * A receipt is one job: begin_job(name), write()..., end_job(). Drivers:
 * - "usb": a USB printer class device (/dev/usb/lp0), written without blocking, answers read
 *   back through the same device where the printer sends them;
 * - "serial": a serial port set raw at 9600 to 115200 baud, with flow control none, RTS/CTS or
 *   XON/XOFF;
 * - "tcp": a network printer's raw port (9100), one connection per job, non-blocking connect;
 * - "escpos": a character device or a plain file opened for writing (append for files), no
 *   status; kept for files and odd devices;
 * - "sim": each job becomes one file <dir>/<job-name>.escpos, written atomically; the backend
 *   API lets tests read what was printed and make the paper run out.
 * The usb, serial and tcp drivers ask the printer for its state with DLE EOT before a job and
 * after it (the answer to the last question also says the printer took every byte before it),
 * and bound every job by a timeout, so a print never holds the terminal's loop for long.
 * This layer knows bytes, not layouts; docs/printers.md describes the drivers and fields.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>

/* Job names are file-name safe: 1 to 63 of [A-Za-z0-9._-], not starting with '.'. */
#define HAL_PRINTER_JOB_NAME_MAX 63

/* Flow control of the "serial" driver. */
enum hal_printer_flow {
	HAL_PRINTER_FLOW_NONE,
	HAL_PRINTER_FLOW_RTSCTS,
	HAL_PRINTER_FLOW_XONXOFF,
	HAL_PRINTER_FLOW_MAX
};

/* Whether the usb, serial and tcp drivers ask the printer for its state (DLE EOT). */
enum hal_printer_status_mode {
	/* Ask; a printer that never answered is of unknown state and gets the job all the same
	 * (a write-only link); one that answered since open and falls silent is offline. */
	HAL_PRINTER_STATUS_AUTO,
	/* Ask; silence means offline (-EIO): the printer is known to answer. */
	HAL_PRINTER_STATUS_REQUIRED,
	/* Never ask: the link is write-only. */
	HAL_PRINTER_STATUS_NONE,
	HAL_PRINTER_STATUS_MODE_MAX
};

#define HAL_PRINTER_TIMEOUT_MS_DEFAULT	      3000
#define HAL_PRINTER_STATUS_TIMEOUT_MS_DEFAULT 300
#define HAL_PRINTER_BAUD_DEFAULT	      9600
#define HAL_PRINTER_TCP_PORT_DEFAULT	      9100

/* Zero in a field means its default; drivers ignore the fields they do not use. */
struct hal_printer_config {
	/* "escpos", "usb", "serial": device or file path; "sim": output directory; "tcp": used as
	 * "host:port" when host is NULL */
	const char *path;
	unsigned baud;			     /* "serial": 9600, 19200, 38400, 57600 or 115200 */
	enum hal_printer_flow flow;	     /* "serial" */
	const char *host;		     /* "tcp": an IPv4 or IPv6 literal (no name lookups) */
	unsigned port;			     /* "tcp": default 9100 */
	int timeout_ms;			     /* a whole job, connect included: default 3000 */
	int status_timeout_ms;		     /* one DLE EOT round trip: default 300 */
	enum hal_printer_status_mode status; /* usb, serial, tcp */
};

enum hal_printer_state {
	HAL_PRINTER_READY,
	HAL_PRINTER_PAPER_OUT,
	HAL_PRINTER_OFFLINE,
	HAL_PRINTER_COVER_OPEN,
	HAL_PRINTER_STATE_MAX
};

/*
 * What DLE EOT answers tell (ESC/POS "transmit real-time status"). Each answer is one byte
 * 0xx1xx10b: n=1 printer status (bit 3 offline), n=2 offline cause (bit 2 cover open, bit 3
 * paper fed by the button, bit 5 printing stopped at paper end, bit 6 error), n=3 error cause
 * (bit 3 autocutter, bit 5 unrecoverable, bit 6 auto-recoverable), n=4 roll paper sensor
 * (bits 2-3 near end, bits 5-6 paper end).
 */
struct hal_printer_status {
	bool offline;
	bool cover_open;
	bool feeding;
	bool paper_out;
	bool paper_near_end;
	bool error;
};

/*
 * Fold the answer to DLE EOT n (1 to 4) into status (fields only set, never cleared, so the
 * answers to 1, 2 and 4 add up). Returns 0, or -EINVAL for another n or a byte that is not a
 * status byte (the fixed bits 0, 1, 4, 7 must read 0, 1, 1, 0).
 */
__attribute__((warn_unused_result)) int
hal_printer_dle_eot_parse(unsigned n, uint8_t answer, struct hal_printer_status *status);

/* The state the terminal shows: cover open, then paper out, then offline (offline flag, an
 * error, feeding, stopped), else ready. A near end alone is ready. */
enum hal_printer_state hal_printer_status_state(const struct hal_printer_status *status);

/* The errno a job fails with in this state: 0 ready, -ENOSPC paper out, -EIO otherwise. */
int hal_printer_state_errno(enum hal_printer_state state);

struct hal_printer;

struct hal_printer_ops {
	const char *name;
	int (*open)(const struct hal_printer_config *config, struct hal_printer **ret_printer);
	void (*close)(struct hal_printer *printer);
	int (*begin_job)(struct hal_printer *printer, const char *job_name);
	int (*write)(struct hal_printer *printer, const void *data, size_t len);
	/* Flush the job out; 0 once the bytes were handed to the device. */
	int (*end_job)(struct hal_printer *printer);
	/* Optional. Asks the printer where it can (a short round trip, bounded by the status
	 * timeout, and by the connect for "tcp"); -ENODATA when the printer does not say. */
	int (*state)(struct hal_printer *printer, enum hal_printer_state *ret_state);
};

struct hal_printer {
	const struct hal_printer_ops *ops;
};

extern const struct hal_printer_ops hal_printer_sim_ops;
extern const struct hal_printer_ops hal_printer_escpos_ops;
extern const struct hal_printer_ops hal_printer_usb_ops;
extern const struct hal_printer_ops hal_printer_serial_ops;
extern const struct hal_printer_ops hal_printer_tcp_ops;

__attribute__((warn_unused_result)) int hal_printer_open(const char *name,
							 const struct hal_printer_config *config,
							 struct hal_printer **ret_printer);
void hal_printer_close(struct hal_printer *printer);
void hal_printer_driver_names(char *buf, size_t size);
bool hal_printer_job_name_valid(const char *name);
const char *hal_printer_state_name(enum hal_printer_state state);
/* "none", "rtscts", "xonxoff" and back; -EINVAL for another name. */
const char *hal_printer_flow_name(enum hal_printer_flow flow);
int hal_printer_flow_from_name(const char *name, enum hal_printer_flow *ret_flow);
/* "auto", "required", "none" and back; -EINVAL for another name. */
const char *hal_printer_status_mode_name(enum hal_printer_status_mode mode);
int hal_printer_status_mode_from_name(const char *name, enum hal_printer_status_mode *ret_mode);
/* Is this a baud rate the "serial" driver sets? */
bool hal_printer_baud_valid(unsigned baud);

/*
 * Print one whole job. Returns 0 once the printer (or the link, for a write-only one) took
 * every byte, or a negative errno: -ENOSPC paper out, -EIO offline, cover open or unreachable,
 * -ETIMEDOUT the job did not go through within the timeout, -EINVAL a bad job name.
 */
__attribute__((warn_unused_result)) int
hal_printer_print(struct hal_printer *printer, const char *job_name, const void *data, size_t len);

/* -ENOTSUP when the driver cannot tell, -ENODATA when the printer did not say. */
static inline int hal_printer_state(struct hal_printer *printer, enum hal_printer_state *ret_state)
{
	if (!printer->ops->state)
		return -ENOTSUP;
	return printer->ops->state(printer, ret_state);
}

/* Backend API of the "sim" driver; each returns -ENOTSUP on another driver. */
bool hal_printer_is_sim(const struct hal_printer *printer);
/* The last finished job (pointer valid until the next job); -ENOENT when nothing was printed. */
int hal_printer_sim_last_job(struct hal_printer *printer, const uint8_t **ret_data,
			     size_t *ret_len);
/* Jobs finished since open. */
int hal_printer_sim_job_count(struct hal_printer *printer);
/* Make the next jobs fail as the given state would (HAL_PRINTER_READY restores). */
int hal_printer_sim_set_state(struct hal_printer *printer, enum hal_printer_state state);
