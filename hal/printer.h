/*
 * printer: byte sinks for ESC/POS receipt printers.
 *
 * A receipt is one job: begin_job(name), write()..., end_job(). Drivers: "escpos" (a character
 * device such as /dev/usb/lp0, a serial port, or a plain file, opened for append), and "sim"
 * (each job becomes one file <dir>/<job-name>.escpos, written atomically; the backend API lets
 * tests read what was printed and make the paper run out). This layer knows bytes, not layouts.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>

/* Job names are file-name safe: 1 to 63 of [A-Za-z0-9._-], not starting with '.'. */
#define HAL_PRINTER_JOB_NAME_MAX 63

struct hal_printer_config {
	const char *path; /* "escpos": device or file path; "sim": output directory */
};

enum hal_printer_state {
	HAL_PRINTER_READY,
	HAL_PRINTER_PAPER_OUT,
	HAL_PRINTER_OFFLINE,
	HAL_PRINTER_STATE_MAX
};

struct hal_printer;

struct hal_printer_ops {
	const char *name;
	int (*open)(const struct hal_printer_config *config, struct hal_printer **ret_printer);
	void (*close)(struct hal_printer *printer);
	int (*begin_job)(struct hal_printer *printer, const char *job_name);
	int (*write)(struct hal_printer *printer, const void *data, size_t len);
	/* Flush the job out; 0 once the bytes were handed to the device. */
	int (*end_job)(struct hal_printer *printer);
	/* Optional. */
	int (*state)(struct hal_printer *printer, enum hal_printer_state *ret_state);
};

struct hal_printer {
	const struct hal_printer_ops *ops;
};

extern const struct hal_printer_ops hal_printer_sim_ops;
extern const struct hal_printer_ops hal_printer_escpos_ops;

__attribute__((warn_unused_result)) int hal_printer_open(const char *name,
							 const struct hal_printer_config *config,
							 struct hal_printer **ret_printer);
void hal_printer_close(struct hal_printer *printer);
void hal_printer_driver_names(char *buf, size_t size);
bool hal_printer_job_name_valid(const char *name);
const char *hal_printer_state_name(enum hal_printer_state state);

/* Print one whole job. Returns 0 or a negative errno (-ENOSPC: paper out, -EIO: offline). */
__attribute__((warn_unused_result)) int
hal_printer_print(struct hal_printer *printer, const char *job_name, const void *data, size_t len);

/* -ENOTSUP when the driver cannot tell. */
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
