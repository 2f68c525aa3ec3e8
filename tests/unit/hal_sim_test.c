/* hal_sim_test: the simulated drivers and their backend APIs, the registry, the file printer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "console.h"
#include "nfc.h"
#include "printer.h"

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

static void test_nfc_sim(void **state)
{
	(void) state;
	struct hal_nfc *nfc;
	struct hal_nfc_event ev;
	const uint8_t a[7] = {0x04, 1, 2, 3, 4, 5, 6}, b[4] = {0xAA, 0xBB, 0xCC, 0xDD};
	assert_int_equal(hal_nfc_open("nope", NULL, &nfc), -ENOENT);
	assert_int_equal(hal_nfc_open("sim", NULL, &nfc), 0);
	assert_true(hal_nfc_is_sim(nfc));
	assert_false(readable(hal_nfc_fd(nfc)));
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 0);

	assert_int_equal(hal_nfc_sim_present(nfc, a, sizeof(a)), 0);
	assert_true(readable(hal_nfc_fd(nfc)));
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_TAP);
	assert_int_equal(ev.uid_len, 7);
	assert_memory_equal(ev.uid, a, 7);
	assert_false(readable(hal_nfc_fd(nfc)));

	/* a second card replaces the first: removal, then the tap */
	assert_int_equal(hal_nfc_sim_present(nfc, b, sizeof(b)), 0);
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_REMOVED);
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_TAP);
	assert_int_equal(ev.uid_len, 4);
	assert_int_equal(hal_nfc_sim_remove(nfc), 0);
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_REMOVED);
	assert_int_equal(hal_nfc_sim_remove(nfc), 0); /* nothing there: no event */
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 0);

	assert_int_equal(hal_nfc_sim_present(nfc, a, 5), -EINVAL);
	assert_int_equal(hal_nfc_sim_set_connected(nfc, false), 0);
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_READER_LOST);
	assert_int_equal(hal_nfc_sim_present(nfc, a, 7), -ENODEV);
	assert_int_equal(hal_nfc_sim_set_connected(nfc, true), 0);
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_READER_BACK);
	hal_nfc_close(nfc);
}

static void test_printer_sim_and_file(void **state)
{
	(void) state;
	char dir[] = "/tmp/hal_sim_test.XXXXXX", path[128], cmd[160];
	struct hal_printer *p;
	const uint8_t *data;
	size_t len;
	assert_non_null(mkdtemp(dir));
	struct hal_printer_config cfg = {.path = dir};
	assert_int_equal(hal_printer_open("sim", &cfg, &p), 0);
	assert_int_equal(hal_printer_sim_last_job(p, &data, &len), -ENOENT);
	assert_int_equal(hal_printer_print(p, "T1-000001", "\x1b@hello", 7), 0);
	assert_int_equal(hal_printer_sim_job_count(p), 1);
	assert_int_equal(hal_printer_sim_last_job(p, &data, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "\x1b@hello", 7);
	snprintf(path, sizeof(path), "%s/T1-000001.escpos", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 7);

	/* bad job names and paper out */
	assert_int_equal(hal_printer_print(p, "../evil", "x", 1), -EINVAL);
	assert_int_equal(hal_printer_print(p, "", "x", 1), -EINVAL);
	assert_int_equal(hal_printer_sim_set_state(p, HAL_PRINTER_PAPER_OUT), 0);
	assert_int_equal(hal_printer_print(p, "T1-000002", "x", 1), -ENOSPC);
	snprintf(path, sizeof(path), "%s/T1-000002.escpos", dir);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(hal_printer_sim_job_count(p), 1);
	enum hal_printer_state ps;
	assert_int_equal(hal_printer_sim_set_state(p, HAL_PRINTER_COVER_OPEN), 0);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_COVER_OPEN);
	assert_int_equal(hal_printer_print(p, "T1-000002", "x", 1), -EIO);
	assert_int_equal(hal_printer_sim_set_state(p, HAL_PRINTER_STATE_MAX), -EINVAL);
	assert_int_equal(hal_printer_sim_set_state(p, HAL_PRINTER_READY), 0);
	hal_printer_close(p);

	/* the escpos driver on a plain file appends job after job */
	snprintf(path, sizeof(path), "%s/lp0", dir);
	struct hal_printer_config fcfg = {.path = path};
	assert_int_equal(hal_printer_open("escpos", &fcfg, &p), 0);
	assert_false(hal_printer_is_sim(p));
	assert_int_equal(hal_printer_sim_job_count(p), -ENOTSUP);
	assert_int_equal(hal_printer_print(p, "a", "abc", 3), 0);
	assert_int_equal(hal_printer_print(p, "b", "de", 2), 0);
	hal_printer_close(p);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 5);
	struct hal_printer_config missing = {.path = "/nonexistent/dir/lp0"};
	assert_int_equal(hal_printer_open("escpos", &missing, &p), -ENOENT);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_clock_sim(void **state)
{
	(void) state;
	struct hal_clock *c, *real;
	assert_int_equal(hal_clock_open("sim", &c), 0);
	assert_int_equal(hal_clock_open("real", &real), 0);
	assert_int_equal(hal_clock_sim_set(real, 0, true), -ENOTSUP);
	int64_t t0 = INT64_C(1795000000000000);
	assert_int_equal(hal_clock_sim_set(c, t0, true), 0);
	int64_t m0 = hal_clock_mono_us(c);
	usleep(2000);
	assert_true(hal_clock_now_us(c) == t0);
	assert_true(hal_clock_mono_us(c) == m0);
	assert_int_equal(hal_clock_sim_advance(c, 2500000), 0);
	assert_true(hal_clock_now_us(c) == t0 + 2500000);
	assert_true(hal_clock_mono_us(c) == m0 + 2500000);
	assert_int_equal(hal_clock_sim_advance(c, -1), -EINVAL);
	/* running again from a set point */
	assert_int_equal(hal_clock_sim_set(c, t0, false), 0);
	usleep(2000);
	assert_true(hal_clock_now_us(c) > t0);
	assert_true(hal_clock_now_us(c) < t0 + 1000000);
	hal_clock_close(c);
	hal_clock_close(real);
}

static void test_console_sim(void **state)
{
	(void) state;
	struct hal_console *c;
	int key;
	assert_int_equal(hal_console_open("sim", &c), 0);
	assert_int_equal(hal_console_next_key(c, &key), 0);
	assert_int_equal(hal_console_sim_feed(c, "1,5\n\x1b\b"), 0);
	const int expect[] = {'1', ',', '5', HAL_KEY_ENTER, HAL_KEY_CANCEL, HAL_KEY_BACKSPACE};
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(hal_console_next_key(c, &key), 1);
		assert_int_equal(key, expect[i]);
	}
	assert_int_equal(hal_console_next_key(c, &key), 0);
	const char *lines[] = {"Kwota: 12,34 zł", "Przyłóż kartę"};
	assert_int_equal(hal_console_show(c, lines, 2), 0);
	assert_string_equal(hal_console_sim_display(c), "Kwota: 12,34 zł\nPrzyłóż kartę");
	/* overlong lines are cut on a character boundary */
	char longline[200];
	memset(longline, 'x', sizeof(longline));
	memcpy(longline + 62, "ł", 2);
	longline[199] = '\0';
	const char *one[] = {longline};
	assert_int_equal(hal_console_show(c, one, 1), 0);
	assert_int_equal(strlen(hal_console_sim_display(c)), 62);
	hal_console_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nfc_sim),
	    cmocka_unit_test(test_printer_sim_and_file),
	    cmocka_unit_test(test_clock_sim),
	    cmocka_unit_test(test_console_sim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
