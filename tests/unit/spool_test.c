/*
 * spool_test: the reprint queue on real files: durable adds keyed by job name, oldest first
 * across a reopen, a drain that stops at the first refusal and removes only what printed,
 * files that are no job left alone, leftovers of an interrupted add cleaned at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "printer-emu.h"
#include "printer.h"
#include "spool.h"

struct fixture {
	char dir[64];
	char spool_dir[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/spool_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static bool exists(const struct fixture *f, const char *name)
{
	char path[160];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", f->spool_dir, name);
	return stat(path, &st) == 0;
}

static void write_file(const struct fixture *f, const char *name, const char *text)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", f->spool_dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_add_is_durable_and_keyed(void **state)
{
	struct fixture *f = *state;
	struct spool *s;
	assert_int_equal(spool_open(f->spool_dir, &s), 0);
	struct stat st;
	assert_int_equal(stat(f->spool_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(spool_count(s), 0);
	assert_int_equal(spool_add(s, "T1-000001", "receipt one", 11), 0);
	assert_int_equal(spool_add(s, "T1-000001", "other bytes", 11), 1);
	assert_int_equal(spool_count(s), 1);
	assert_int_equal(spool_contains(s, "T1-000001"), 1);
	assert_int_equal(spool_contains(s, "T1-000002"), 0);
	assert_true(exists(f, "T1-000001.job"));
	assert_false(exists(f, ".T1-000001.tmp"));

	assert_int_equal(spool_add(s, "../evil", "x", 1), -EINVAL);
	assert_int_equal(spool_add(s, ".hidden", "x", 1), -EINVAL);
	assert_int_equal(spool_add(s, "T1-000002", "x", 0), -EINVAL);
	assert_int_equal(spool_contains(s, ""), -EINVAL);
	uint8_t *big = calloc(1, SPOOL_JOB_MAX + 1);
	assert_non_null(big);
	assert_int_equal(spool_add(s, "T1-000002", big, SPOOL_JOB_MAX + 1), -EFBIG);
	free(big);
	assert_int_equal(spool_count(s), 1);
	spool_close(s);
	spool_close(NULL);
	assert_int_equal(spool_open("", &s), -EINVAL);
	assert_int_equal(spool_open("/nonexistent/dir/spool", &s), -ENOENT);
}

/* Drain through the printer emulator and report where each job's bytes start. */
static void test_oldest_first_across_reopen(void **state)
{
	struct fixture *f = *state;
	struct printer_emu_config ec = {.tcp = true};
	struct printer_emu *emu;
	struct spool *s;
	struct hal_printer *p;
	struct spool_drain_result res;

	assert_int_equal(printer_emu_start(&ec, &emu), 0);
	struct hal_printer_config pc = {.host = "127.0.0.1", .port = printer_emu_tcp_port(emu)};
	assert_int_equal(hal_printer_open("tcp", &pc, &p), 0);

	assert_int_equal(spool_open(f->spool_dir, &s), 0);
	/* added in this order, names sorting otherwise */
	assert_int_equal(spool_add(s, "T1-000003", "<third-added-first>", 19), 0);
	assert_int_equal(spool_add(s, "T1-000001", "<one-added-second>", 18), 0);
	spool_close(s);
	assert_int_equal(spool_open(f->spool_dir, &s), 0);
	assert_int_equal(spool_add(s, "T1-000002", "<two-added-last>", 16), 0);
	assert_int_equal(spool_count(s), 3);

	assert_int_equal(spool_drain(s, p, &res), 3);
	assert_int_equal(res.printed, 3);
	assert_int_equal(res.left, 0);
	assert_int_equal(res.error, 0);
	assert_int_equal(spool_count(s), 0);

	uint8_t *out;
	size_t len;
	assert_int_equal(printer_emu_printed(emu, &out, &len), 0);
	const uint8_t *a = memmem(out, len, "<third-added-first>", 19);
	const uint8_t *b = memmem(out, len, "<one-added-second>", 18);
	const uint8_t *c = memmem(out, len, "<two-added-last>", 16);
	assert_true(a && b && c && a < b && b < c);
	free(out);

	/* once printed, the same receipt may be spooled again (a later failure) */
	assert_int_equal(spool_add(s, "T1-000001", "<one-again>", 11), 0);
	assert_int_equal(spool_drain(s, p, NULL), 1);
	assert_int_equal(printer_emu_count(emu, "<one-added-second>", 18), 1);
	spool_close(s);
	hal_printer_close(p);
	printer_emu_stop(emu);
}

static void test_drain_stops_at_a_refusal(void **state)
{
	struct fixture *f = *state;
	struct spool *s;
	struct hal_printer *p;
	struct spool_drain_result res;
	char out[96];

	snprintf(out, sizeof(out), "%s/printed", f->dir);
	assert_int_equal(mkdir(out, 0700), 0);
	struct hal_printer_config pc = {.path = out};
	assert_int_equal(hal_printer_open("sim", &pc, &p), 0);
	assert_int_equal(spool_open(f->spool_dir, &s), 0);
	assert_int_equal(spool_add(s, "A-1", "aaa", 3), 0);
	assert_int_equal(spool_add(s, "A-2", "bbb", 3), 0);

	assert_int_equal(hal_printer_sim_set_state(p, HAL_PRINTER_PAPER_OUT), 0);
	assert_int_equal(spool_drain(s, p, &res), 0);
	assert_int_equal(res.error, -ENOSPC);
	assert_string_equal(res.failed, "A-1");
	assert_int_equal(res.left, 2);
	assert_true(exists(f, "A-1.job") && exists(f, "A-2.job"));

	assert_int_equal(hal_printer_sim_set_state(p, HAL_PRINTER_READY), 0);
	assert_int_equal(spool_drain(s, p, &res), 2);
	assert_int_equal(hal_printer_sim_job_count(p), 2);
	const uint8_t *data;
	size_t len;
	assert_int_equal(hal_printer_sim_last_job(p, &data, &len), 0);
	assert_memory_equal(data, "bbb", 3);
	assert_false(exists(f, "A-1.job"));
	assert_int_equal(spool_drain(NULL, p, &res), -EINVAL);
	spool_close(s);
	hal_printer_close(p);
}

static void test_strays_and_leftovers(void **state)
{
	struct fixture *f = *state;
	struct spool *s;
	struct hal_printer *p;
	struct spool_drain_result res;
	char out[96];

	assert_int_equal(mkdir(f->spool_dir, 0700), 0);
	write_file(f, ".T1-000005.tmp", "half a job");
	write_file(f, "T1-000006.job", "LSPOOL1\nnot a whole job");
	write_file(f, "notes.txt", "a technician's note");
	assert_int_equal(spool_open(f->spool_dir, &s), 0);
	assert_false(exists(f, ".T1-000005.tmp"));
	assert_int_equal(spool_count(s), 0);
	assert_int_equal(spool_contains(s, "T1-000006"), 0);

	assert_int_equal(spool_add(s, "T1-000007", "good", 4), 0);
	snprintf(out, sizeof(out), "%s/printed", f->dir);
	assert_int_equal(mkdir(out, 0700), 0);
	struct hal_printer_config pc = {.path = out};
	assert_int_equal(hal_printer_open("sim", &pc, &p), 0);
	assert_int_equal(spool_drain(s, p, &res), 1);
	assert_int_equal(res.unreadable, 2);
	assert_true(exists(f, "T1-000006.job") && exists(f, "notes.txt"));
	/* a damaged job file of the same name is replaced by the good bytes */
	assert_int_equal(spool_add(s, "T1-000006", "fixed", 5), 0);
	assert_int_equal(spool_drain(s, p, &res), 1);
	assert_int_equal(res.unreadable, 1);
	assert_false(exists(f, "T1-000006.job"));

	/* a flipped byte in a job's bytes is caught by its hash */
	assert_int_equal(spool_add(s, "T1-000008", "intact", 6), 0);
	char path[160];
	snprintf(path, sizeof(path), "%s/T1-000008.job", f->spool_dir);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 24), 1);
	close(fd);
	assert_int_equal(spool_drain(s, p, &res), 0);
	assert_int_equal(res.unreadable, 2);
	assert_true(exists(f, "T1-000008.job"));
	spool_close(s);
	hal_printer_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_add_is_durable_and_keyed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oldest_first_across_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drain_stops_at_a_refusal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strays_and_leftovers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
