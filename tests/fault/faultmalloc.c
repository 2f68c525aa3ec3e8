/*
 * faultmalloc: the failing allocator for SQLite (see faultmalloc.h). Sizes, frees, init and
 * shutdown go to the allocator SQLite had before; only xMalloc and xRealloc are counted and may
 * fail (a failed realloc leaves the old block untouched, as realloc does).
 */
#include "faultmalloc.h"

#include <errno.h>
#include <stddef.h>

#include <sqlite3.h>

static struct {
	bool installed;
	sqlite3_mem_methods real;
	int64_t count;
	int64_t injected;
	bool armed;
	int64_t nth;
	bool persistent;
} fm;

void faultmalloc_reset(void)
{
	fm.count = 0;
	fm.injected = 0;
	fm.armed = false;
}

int64_t faultmalloc_count(void)
{
	return fm.count;
}

void faultmalloc_fail(int64_t nth, bool persistent)
{
	fm.nth = nth;
	fm.persistent = persistent;
	fm.armed = true;
}

void faultmalloc_clear(void)
{
	fm.armed = false;
}

int64_t faultmalloc_injected(void)
{
	return fm.injected;
}

/* Count an allocation; true when it is to fail. */
static bool tick(void)
{
	int64_t n = ++fm.count;
	if (fm.armed && (n == fm.nth || (fm.persistent && n > fm.nth))) {
		fm.injected++;
		return true;
	}
	return false;
}

static void *fm_malloc(int n)
{
	return tick() ? NULL : fm.real.xMalloc(n);
}

static void fm_free(void *p)
{
	fm.real.xFree(p);
}

static void *fm_realloc(void *p, int n)
{
	return tick() ? NULL : fm.real.xRealloc(p, n);
}

static int fm_size(void *p)
{
	return fm.real.xSize(p);
}

static int fm_roundup(int n)
{
	return fm.real.xRoundup(n);
}

static int fm_init(void *app)
{
	(void) app;
	return fm.real.xInit(fm.real.pAppData);
}

static void fm_shutdown(void *app)
{
	(void) app;
	fm.real.xShutdown(fm.real.pAppData);
}

int faultmalloc_install(void)
{
	static const sqlite3_mem_methods methods = {
	    .xMalloc = fm_malloc,
	    .xFree = fm_free,
	    .xRealloc = fm_realloc,
	    .xSize = fm_size,
	    .xRoundup = fm_roundup,
	    .xInit = fm_init,
	    .xShutdown = fm_shutdown,
	};
	if (fm.installed)
		return 0;
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &fm.real) != SQLITE_OK)
		return -EBUSY;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK)
		return -EBUSY;
	fm.installed = true;
	return 0;
}
