/*
 * faultmalloc: SQLite's allocator wrapped (SQLITE_CONFIG_MALLOC) so a test can count SQLite's
 * allocations and fail the Nth, once or from then on. Installed before SQLite initialises; the
 * wrapper stays for the life of the process and passes through while no fault is set.
 *
 * Not for: allocations outside SQLite (the ledger's own calloc is untouched), or threads.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Install the wrapper over SQLite's default allocator. Call before anything initialises SQLite
 * (sqlite3_initialize, sqlite3_open*, sqlite3_vfs_find, ...). Idempotent. Returns 0, or -EBUSY
 * when SQLite is already initialised.
 */
__attribute__((warn_unused_result)) int faultmalloc_install(void);

/* Zero the counter and the injected count, and clear the fault. */
void faultmalloc_reset(void);

/* Allocations (malloc and realloc) since the last reset, the failed ones included. */
int64_t faultmalloc_count(void);

/* Fail the nth allocation counted since the last reset; with persistent, every later one too. */
void faultmalloc_fail(int64_t nth, bool persistent);

/* No more faults; the counter goes on. */
void faultmalloc_clear(void);

/* Allocations failed on purpose since the last reset. */
int64_t faultmalloc_injected(void);
