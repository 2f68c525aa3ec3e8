/* printer_status_test: DLE EOT answers (ESC/POS real-time status) and the state they mean. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "printer.h"

struct answers {
	uint8_t printer, offline_cause, paper; /* to DLE EOT 1, 2 and 4 */
	enum hal_printer_state state;
	const char *what;
};

static void test_answers_to_state(void **state)
{
	(void) state;
	static const struct answers table[] = {
	    {0x12, 0x12, 0x12, HAL_PRINTER_READY, "all clear"},
	    {0x16, 0x12, 0x12, HAL_PRINTER_READY, "drawer pin 3 high is no fault"},
	    {0x12, 0x12, 0x1e, HAL_PRINTER_READY, "near end alone still prints"},
	    {0x1a, 0x32, 0x7e, HAL_PRINTER_PAPER_OUT, "paper end: offline, stopped, sensor"},
	    {0x12, 0x12, 0x72, HAL_PRINTER_PAPER_OUT, "paper end sensor alone"},
	    {0x12, 0x12, 0x32, HAL_PRINTER_READY, "one bit of the end pair is not an end"},
	    {0x1a, 0x16, 0x12, HAL_PRINTER_COVER_OPEN, "cover open"},
	    {0x1a, 0x36, 0x7e, HAL_PRINTER_COVER_OPEN, "cover open wins over paper out"},
	    {0x1a, 0x12, 0x12, HAL_PRINTER_OFFLINE, "offline without a cause"},
	    {0x32, 0x12, 0x12, HAL_PRINTER_OFFLINE, "waiting for online recovery"},
	    {0x1a, 0x52, 0x12, HAL_PRINTER_OFFLINE, "error"},
	    {0x1a, 0x1a, 0x12, HAL_PRINTER_OFFLINE, "paper fed by the button"},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct hal_printer_status st = {0};
		assert_int_equal(hal_printer_dle_eot_parse(1, table[i].printer, &st), 0);
		assert_int_equal(hal_printer_dle_eot_parse(2, table[i].offline_cause, &st), 0);
		assert_int_equal(hal_printer_dle_eot_parse(4, table[i].paper, &st), 0);
		if (hal_printer_status_state(&st) != table[i].state)
			fail_msg("%s: got %s, expected %s", table[i].what,
				 hal_printer_state_name(hal_printer_status_state(&st)),
				 hal_printer_state_name(table[i].state));
	}
}

static void test_bits(void **state)
{
	(void) state;
	struct hal_printer_status st = {0};
	assert_int_equal(hal_printer_dle_eot_parse(4, 0x1e, &st), 0);
	assert_true(st.paper_near_end);
	assert_false(st.paper_out);
	assert_int_equal(hal_printer_dle_eot_parse(2, 0x16, &st), 0);
	assert_true(st.cover_open);
	memset(&st, 0, sizeof(st));
	assert_int_equal(hal_printer_dle_eot_parse(3, 0x1a, &st), 0); /* autocutter error */
	assert_true(st.error);
	memset(&st, 0, sizeof(st));
	assert_int_equal(hal_printer_dle_eot_parse(3, 0x12, &st), 0);
	assert_false(st.error);
}

static void test_not_status_bytes(void **state)
{
	(void) state;
	struct hal_printer_status st = {0};
	/* fixed bits 0, 1, 4, 7 must read 0, 1, 1, 0 */
	static const uint8_t bad[] = {0x00, 0x10, 0x02, 0x13, 0x92, 0xff, 0x11, 0x0a};
	for (size_t i = 0; i < sizeof(bad); i++)
		assert_int_equal(hal_printer_dle_eot_parse(1, bad[i], &st), -EINVAL);
	assert_int_equal(hal_printer_dle_eot_parse(0, 0x12, &st), -EINVAL);
	assert_int_equal(hal_printer_dle_eot_parse(5, 0x12, &st), -EINVAL);
	assert_int_equal(hal_printer_status_state(&st), HAL_PRINTER_READY);
}

static void test_names(void **state)
{
	(void) state;
	enum hal_printer_flow flow;
	enum hal_printer_status_mode mode;
	assert_string_equal(hal_printer_state_name(HAL_PRINTER_COVER_OPEN), "cover open");
	assert_string_equal(hal_printer_state_name(HAL_PRINTER_STATE_MAX), "unknown");
	assert_int_equal(hal_printer_state_errno(HAL_PRINTER_READY), 0);
	assert_int_equal(hal_printer_state_errno(HAL_PRINTER_PAPER_OUT), -ENOSPC);
	assert_int_equal(hal_printer_state_errno(HAL_PRINTER_COVER_OPEN), -EIO);
	assert_int_equal(hal_printer_state_errno(HAL_PRINTER_OFFLINE), -EIO);
	assert_int_equal(hal_printer_flow_from_name("rtscts", &flow), 0);
	assert_int_equal(flow, HAL_PRINTER_FLOW_RTSCTS);
	assert_string_equal(hal_printer_flow_name(HAL_PRINTER_FLOW_XONXOFF), "xonxoff");
	assert_int_equal(hal_printer_flow_from_name("hardware", &flow), -EINVAL);
	assert_int_equal(hal_printer_status_mode_from_name("required", &mode), 0);
	assert_int_equal(mode, HAL_PRINTER_STATUS_REQUIRED);
	assert_int_equal(hal_printer_status_mode_from_name("", &mode), -EINVAL);
	assert_true(hal_printer_baud_valid(115200));
	assert_false(hal_printer_baud_valid(4800));
	assert_false(hal_printer_baud_valid(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers_to_state),
	    cmocka_unit_test(test_bits),
	    cmocka_unit_test(test_not_status_bytes),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
