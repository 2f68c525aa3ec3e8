/*
 * faultvfs: a SQLite VFS over the default one that counts the writes, syncs and truncates made
 * through it and can fail the Nth of them, once or from then on, with a chosen SQLite code
 * (SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_FULL for a full disk, ...). A failed write
 * writes nothing. Registered as the default VFS, so the code under test opens its databases
 * through it without knowing.
 *
 * Not for: reads, locks, shared memory (passed through untouched), or threads (the counters are
 * plain process-wide state; the fault tests are single-threaded).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum faultvfs_op { FAULTVFS_WRITE, FAULTVFS_SYNC, FAULTVFS_TRUNCATE, FAULTVFS_OP_MAX };

/* "write", "sync", "truncate". */
const char *faultvfs_op_name(enum faultvfs_op op);

/*
 * Register the shim as the default VFS, wrapping the VFS that was the default until then.
 * Idempotent. Returns 0, or -ENOENT when SQLite has no default VFS, -ENOMEM.
 */
__attribute__((warn_unused_result)) int faultvfs_register(void);

/* Zero the counters and the injected count, and clear the fault. */
void faultvfs_reset(void);

/* Calls of op since the last reset, the failed ones included. */
int64_t faultvfs_count(enum faultvfs_op op);

/*
 * Fail the nth call of op counted since the last reset (1 is the next one when the count is 0)
 * with sqlite_code; with persistent, that call and every later one of op fail. Replaces any fault
 * set before.
 */
void faultvfs_fail(enum faultvfs_op op, int64_t nth, int sqlite_code, bool persistent);

/* No more faults; the counters go on. */
void faultvfs_clear(void);

/*
 * With false, syncs are still counted and may still fail but are not passed down: for loops
 * that do not test durability against power loss and would otherwise wait on the disk. true
 * (the default) passes them down.
 */
void faultvfs_real_sync(bool on);

/* Calls failed on purpose since the last reset. */
int64_t faultvfs_injected(void);

/*
 * The kind of file the last injected fault hit: SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL,
 * SQLITE_OPEN_MAIN_JOURNAL, ...; 0 when none since the last reset.
 */
int faultvfs_fault_file_kind(void);
