/*
 * spool: the reprint queue of receipts the printer could not take.
 *
 * A receipt that failed to print (paper out, printer offline, a timeout) is kept here, encoded
 * (the exact bytes for the printer), one file per job in the spool folder (<state>/spool/),
 * named after the job (the receipt number), written atomically (temporary file, fsync,
 * rename, fsync of the folder). Keyed by job name: a receipt is held once, however often it is
 * added. spool_drain() prints the held jobs oldest first through a hal_printer and removes
 * each one only after the printer took it, stopping at the first failure, so a job is never
 * dropped unprinted and, short of a power cut between the printer taking it and the file's
 * removal, never printed twice.
 *
 * Intended use by the terminal (one thread, the main loop):
 *   - at start: spool_open("<state>/spool", &spool); spool_count() for the status;
 *   - after a sale is committed: hal_printer_print(); on failure, spool_add(receipt_no, bytes,
 *     len) and tell the cashier the receipt will print when the printer is back;
 *   - before printing a new receipt, and from a timer (every few seconds while spool_count()
 *     is not 0) or when the printer's state turns ready: spool_drain(), so older receipts come
 *     out first and a new one never overtakes them (a failed drain means: spool the new one);
 *   - a reprint on request prints from the ledger, as now; it does not touch the spool.
 * The ledger holds the sale whatever happens here; the spool only holds paper still owed.
 */
#pragma once

#include <stddef.h>

#include "printer.h"

/* At most this many jobs wait (-EDQUOT past it) and each is at most SPOOL_JOB_MAX bytes. */
#define SPOOL_JOBS_MAX 1000
#define SPOOL_JOB_MAX  (1024 * 1024)

struct spool;

/*
 * Open the spool folder, creating it (mode 0700) when missing; its parent must exist.
 * Leftover temporary files of an interrupted spool_add() are removed. Returns 0 or a
 * negative errno.
 */
__attribute__((warn_unused_result)) int spool_open(const char *dir, struct spool **ret_spool);
/* Accepts NULL. */
void spool_close(struct spool *spool);

/*
 * Keep a job: job_name as hal_printer_job_name_valid(), 1 to SPOOL_JOB_MAX bytes of data.
 * Returns 0 when stored durably, 1 when a job of that name is already held (it keeps its
 * bytes and its place), -EINVAL, -EFBIG, -EDQUOT (SPOOL_JOBS_MAX held) or an I/O errno.
 */
__attribute__((warn_unused_result)) int spool_add(struct spool *spool, const char *job_name,
						  const void *data, size_t len);

/* How many jobs are held (files that read back as spool jobs), or a negative errno. */
int spool_count(struct spool *spool);

/* Is a job of that name held? 1 yes, 0 no, or -EINVAL. */
int spool_contains(struct spool *spool, const char *job_name);

struct spool_drain_result {
	int printed;	/* jobs the printer took, and removed */
	int left;	/* jobs still held */
	int error;	/* the printer's errno that stopped the drain, 0 when none */
	int unreadable; /* files in the folder that are no spool job (left in place) */
	char failed[HAL_PRINTER_JOB_NAME_MAX + 1]; /* the job that failed, "" when none */
};

/*
 * Print the held jobs oldest first (in the order they were added), removing each one after
 * the printer took it; stop at the first job the printer refuses. Returns the number printed
 * (also when a job failed: see result->error), or a negative errno when the folder cannot be
 * read or a printed job cannot be removed (it would print again). result may be NULL.
 */
__attribute__((warn_unused_result)) int spool_drain(struct spool *spool,
						    struct hal_printer *printer,
						    struct spool_drain_result *ret_result);
