/*
 * faultvfs: the fault-injecting VFS shim (see faultvfs.h). Each file opened through it is a
 * struct fault_file followed by the real VFS's file; every method passes through to the real
 * file, xWrite, xSync and xTruncate after counting the call and failing it when told to.
 */
#include "faultvfs.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sqlite3.h>

struct fault_file {
	sqlite3_file base; /* pMethods: one of io_methods[] */
	sqlite3_file *real;
	int open_flags; /* SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL, ... as opened */
};

/* The real file follows struct fault_file, aligned for any of its members. */
#define REAL_OFFSET ((sizeof(struct fault_file) + 15) & ~(size_t) 15)

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	/* one table per io-methods version the real files may have; index = iVersion */
	sqlite3_io_methods io_methods[4];
	int64_t count[FAULTVFS_OP_MAX];
	int64_t injected;
	bool armed;
	enum faultvfs_op op;
	int64_t nth;
	int code;
	bool persistent;
	bool skip_sync;
	int fault_file_kind;
} shim;

const char *faultvfs_op_name(enum faultvfs_op op)
{
	static const char *const names[FAULTVFS_OP_MAX] = {"write", "sync", "truncate"};
	return op < FAULTVFS_OP_MAX ? names[op] : "?";
}

void faultvfs_reset(void)
{
	memset(shim.count, 0, sizeof(shim.count));
	shim.injected = 0;
	shim.armed = false;
	shim.fault_file_kind = 0;
}

int64_t faultvfs_count(enum faultvfs_op op)
{
	return op < FAULTVFS_OP_MAX ? shim.count[op] : 0;
}

void faultvfs_fail(enum faultvfs_op op, int64_t nth, int sqlite_code, bool persistent)
{
	shim.op = op;
	shim.nth = nth;
	shim.code = sqlite_code;
	shim.persistent = persistent;
	shim.armed = op < FAULTVFS_OP_MAX;
}

void faultvfs_clear(void)
{
	shim.armed = false;
}

void faultvfs_real_sync(bool on)
{
	shim.skip_sync = !on;
}

int64_t faultvfs_injected(void)
{
	return shim.injected;
}

int faultvfs_fault_file_kind(void)
{
	return shim.fault_file_kind;
}

/* The kinds of file faultvfs_fault_file_kind() tells apart. */
#define FILE_KINDS                                                                                 \
	(SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB |                    \
	 SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL |            \
	 SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL)

/* Count a call of op on f; SQLITE_OK to go on, or the code to fail it with. */
static int tick(sqlite3_file *f, enum faultvfs_op op)
{
	int64_t n = ++shim.count[op];
	if (!shim.armed || shim.op != op)
		return SQLITE_OK;
	if (n == shim.nth || (shim.persistent && n > shim.nth)) {
		shim.injected++;
		shim.fault_file_kind = ((struct fault_file *) f)->open_flags & FILE_KINDS;
		return shim.code;
	}
	return SQLITE_OK;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct fault_file *) f)->real;
}

static int ff_close(sqlite3_file *f)
{
	sqlite3_file *real = real_of(f);
	int rc = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
	f->pMethods = NULL;
	return rc;
}

static int ff_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 ofs)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xRead(real, buf, amt, ofs);
}

static int ff_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 ofs)
{
	sqlite3_file *real = real_of(f);
	int rc = tick(f, FAULTVFS_WRITE);
	return rc != SQLITE_OK ? rc : real->pMethods->xWrite(real, buf, amt, ofs);
}

static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *real = real_of(f);
	int rc = tick(f, FAULTVFS_TRUNCATE);
	return rc != SQLITE_OK ? rc : real->pMethods->xTruncate(real, size);
}

static int ff_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *real = real_of(f);
	int rc = tick(f, FAULTVFS_SYNC);
	if (rc != SQLITE_OK || shim.skip_sync)
		return rc;
	return real->pMethods->xSync(real, flags);
}

static int ff_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xFileSize(real, size);
}

static int ff_lock(sqlite3_file *f, int level)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xLock(real, level);
}

static int ff_unlock(sqlite3_file *f, int level)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xUnlock(real, level);
}

static int ff_check_reserved_lock(sqlite3_file *f, int *out)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xCheckReservedLock(real, out);
}

static int ff_file_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xFileControl(real, op, arg);
}

static int ff_sector_size(sqlite3_file *f)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xSectorSize(real);
}

static int ff_device_characteristics(sqlite3_file *f)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xDeviceCharacteristics(real);
}

static int ff_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xShmMap(real, region, size, extend, pp);
}

static int ff_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xShmLock(real, offset, n, flags);
}

static void ff_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *real = real_of(f);
	real->pMethods->xShmBarrier(real);
}

static int ff_shm_unmap(sqlite3_file *f, int delete_flag)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xShmUnmap(real, delete_flag);
}

static int ff_fetch(sqlite3_file *f, sqlite3_int64 ofs, int amt, void **pp)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xFetch(real, ofs, amt, pp);
}

static int ff_unfetch(sqlite3_file *f, sqlite3_int64 ofs, void *p)
{
	sqlite3_file *real = real_of(f);
	return real->pMethods->xUnfetch(real, ofs, p);
}

static int fv_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		   int *out_flags)
{
	(void) vfs;
	struct fault_file *ff = (struct fault_file *) f;
	ff->real = (sqlite3_file *) ((char *) f + REAL_OFFSET);
	ff->open_flags = flags;
	ff->real->pMethods = NULL;
	f->pMethods = NULL;
	int rc = shim.real->xOpen(shim.real, name, ff->real, flags, out_flags);
	const sqlite3_io_methods *m = ff->real->pMethods;
	if (m) {
		/* SQLite calls xClose whenever pMethods is set, even when the open failed */
		int v = m->iVersion < 1 ? 1 : m->iVersion > 3 ? 3 : m->iVersion;
		f->pMethods = &shim.io_methods[v];
	}
	return rc;
}

static int fv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void) vfs;
	return shim.real->xDelete(shim.real, name, sync_dir);
}

static int fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void) vfs;
	return shim.real->xAccess(shim.real, name, flags, out);
}

static int fv_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void) vfs;
	return shim.real->xFullPathname(shim.real, name, n, out);
}

static void *fv_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void) vfs;
	return shim.real->xDlOpen(shim.real, name);
}

static void fv_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void) vfs;
	shim.real->xDlError(shim.real, n, msg);
}

static void (*fv_dl_sym(sqlite3_vfs *vfs, void *handle, const char *sym))(void)
{
	(void) vfs;
	return shim.real->xDlSym(shim.real, handle, sym);
}

static void fv_dl_close(sqlite3_vfs *vfs, void *handle)
{
	(void) vfs;
	shim.real->xDlClose(shim.real, handle);
}

static int fv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void) vfs;
	return shim.real->xRandomness(shim.real, n, out);
}

static int fv_sleep(sqlite3_vfs *vfs, int us)
{
	(void) vfs;
	return shim.real->xSleep(shim.real, us);
}

static int fv_current_time(sqlite3_vfs *vfs, double *out)
{
	(void) vfs;
	return shim.real->xCurrentTime(shim.real, out);
}

static int fv_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void) vfs;
	return shim.real->xGetLastError ? shim.real->xGetLastError(shim.real, n, out) : 0;
}

static int fv_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void) vfs;
	return shim.real->xCurrentTimeInt64(shim.real, out);
}

static int fv_set_system_call(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	(void) vfs;
	return shim.real->xSetSystemCall(shim.real, name, p);
}

static sqlite3_syscall_ptr fv_get_system_call(sqlite3_vfs *vfs, const char *name)
{
	(void) vfs;
	return shim.real->xGetSystemCall(shim.real, name);
}

static const char *fv_next_system_call(sqlite3_vfs *vfs, const char *name)
{
	(void) vfs;
	return shim.real->xNextSystemCall(shim.real, name);
}

int faultvfs_register(void)
{
	if (shim.real)
		return 0;
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);
	if (!real)
		return -ENOENT;
	for (int v = 1; v <= 3; v++) {
		shim.io_methods[v] = (sqlite3_io_methods){
		    .iVersion = v,
		    .xClose = ff_close,
		    .xRead = ff_read,
		    .xWrite = ff_write,
		    .xTruncate = ff_truncate,
		    .xSync = ff_sync,
		    .xFileSize = ff_file_size,
		    .xLock = ff_lock,
		    .xUnlock = ff_unlock,
		    .xCheckReservedLock = ff_check_reserved_lock,
		    .xFileControl = ff_file_control,
		    .xSectorSize = ff_sector_size,
		    .xDeviceCharacteristics = ff_device_characteristics,
		    .xShmMap = v >= 2 ? ff_shm_map : NULL,
		    .xShmLock = v >= 2 ? ff_shm_lock : NULL,
		    .xShmBarrier = v >= 2 ? ff_shm_barrier : NULL,
		    .xShmUnmap = v >= 2 ? ff_shm_unmap : NULL,
		    .xFetch = v >= 3 ? ff_fetch : NULL,
		    .xUnfetch = v >= 3 ? ff_unfetch : NULL,
		};
	}
	/* Only what the real VFS has is offered; its iVersion says how far its struct goes. */
	shim.vfs = (sqlite3_vfs){
	    .iVersion = real->iVersion < 3 ? real->iVersion : 3,
	    .szOsFile = (int) REAL_OFFSET + real->szOsFile,
	    .mxPathname = real->mxPathname,
	    .zName = "faultvfs",
	    .xOpen = fv_open,
	    .xDelete = fv_delete,
	    .xAccess = fv_access,
	    .xFullPathname = fv_full_pathname,
	    .xDlOpen = real->xDlOpen ? fv_dl_open : NULL,
	    .xDlError = real->xDlError ? fv_dl_error : NULL,
	    .xDlSym = real->xDlSym ? fv_dl_sym : NULL,
	    .xDlClose = real->xDlClose ? fv_dl_close : NULL,
	    .xRandomness = fv_randomness,
	    .xSleep = fv_sleep,
	    .xCurrentTime = fv_current_time,
	    .xGetLastError = fv_get_last_error,
	};
	if (real->iVersion >= 2)
		shim.vfs.xCurrentTimeInt64 = fv_current_time_int64;
	if (real->iVersion >= 3) {
		shim.vfs.xSetSystemCall = fv_set_system_call;
		shim.vfs.xGetSystemCall = fv_get_system_call;
		shim.vfs.xNextSystemCall = fv_next_system_call;
	}
	shim.real = real;
	int rc = sqlite3_vfs_register(&shim.vfs, 1);
	if (rc != SQLITE_OK) {
		shim.real = NULL;
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	return 0;
}
