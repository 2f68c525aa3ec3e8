/* ctl_test: control request parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"

static int parse(const char *text, struct ctl_request *req, char *err)
{
	return ctl_request_parse(text, strlen(text), req, err, 160);
}

static void test_requests(void **state)
{
	(void) state;
	struct ctl_request r;
	char err[160];
	assert_int_equal(parse("{\"cmd\":\"status\"}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_STATUS);
	assert_int_equal(parse("{\"cmd\":\"sale\",\"amount\":\"12.34\"}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_SALE);
	assert_string_equal(r.amount, "12.34");
	assert_true(r.wait);
	assert_int_equal(parse("{\"cmd\":\"sale\",\"amount\":\"1\",\"wait\":false}", &r, err), 0);
	assert_false(r.wait);
	assert_int_equal(parse("{\"cmd\":\"sim_tap\",\"uid\":\"04A1B2C3D4E5F6\"}", &r, err), 0);
	assert_string_equal(r.uid, "04A1B2C3D4E5F6");
	assert_int_equal(parse("{\"cmd\":\"reprint\"}", &r, err), 0);
	assert_string_equal(r.receipt_no, "");
	assert_int_equal(parse("{\"cmd\":\"reprint\",\"receipt\":\"T1-000002\"}", &r, err), 0);
	assert_string_equal(r.receipt_no, "T1-000002");
	assert_int_equal(
	    parse("{\"cmd\":\"sim_clock\",\"utc_us\":1795000000000000,\"freeze\":true}", &r, err),
	    0);
	assert_true(r.utc_us == INT64_C(1795000000000000));
	assert_true(r.freeze);
	assert_int_equal(parse("{\"cmd\":\"sim_clock\",\"advance_s\":121}", &r, err), 0);
	assert_true(r.advance_us == INT64_C(121000000));

	/* the sale flow with an offer */
	assert_int_equal(
	    parse("{\"cmd\":\"sale\",\"amount\":\"9\",\"redeem\":\"max\",\"coupon\":\"auto\"}", &r,
		  err),
	    0);
	assert_true(r.redeem_pts == -1);
	assert_true(r.coupon_set);
	assert_string_equal(r.coupon, "auto");
	assert_false(r.ask);
	assert_int_equal(parse("{\"cmd\":\"sale\",\"amount\":\"9\",\"ask\":true}", &r, err), 0);
	assert_true(r.ask);
	assert_false(r.coupon_set);
	assert_int_equal(parse("{\"cmd\":\"answer\",\"redeem\":300}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_ANSWER);
	assert_true(r.redeem_pts == 300);
	assert_int_equal(parse("{\"cmd\":\"confirm\"}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_CONFIRM);
	assert_int_equal(
	    parse("{\"cmd\":\"refund\",\"receipt\":\"T1-000002\",\"amount\":\"5.00\"}", &r, err),
	    0);
	assert_int_equal(r.cmd, CTL_REFUND);
	assert_false(r.whole);
	assert_int_equal(
	    parse("{\"cmd\":\"refund\",\"receipt\":\"T1-000002\",\"whole\":true}", &r, err), 0);
	assert_true(r.whole);
	assert_int_equal(parse("{\"cmd\":\"explain\",\"receipt\":\"T1-000002\"}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_EXPLAIN);
}

static void expect_error(const char *text, const char *message)
{
	struct ctl_request r;
	char err[160];
	assert_int_equal(parse(text, &r, err), -EINVAL);
	if (!strstr(err, message))
		fail_msg("%s: got '%s', expected '%s'", text, err, message);
}

static void test_bad_requests(void **state)
{
	(void) state;
	expect_error("", "not a JSON object");
	expect_error("[1]", "not a JSON object");
	expect_error("{\"cmd\":7}", "'cmd' is missing or not a string");
	expect_error("{\"cmd\":\"answer\",\"redeem\":-1}", "'redeem' must be whole points");
	expect_error("{\"cmd\":\"answer\",\"redeem\":1.5}", "'redeem' must be whole points");
	expect_error("{\"cmd\":\"answer\",\"redeem\":\"all\"}", "'redeem' must be whole points");
	expect_error("{\"cmd\":\"answer\",\"amount\":\"1\"}", "unknown field 'amount'");
	expect_error("{\"cmd\":\"sale\",\"amount\":\"1\",\"ask\":true,\"redeem\":100}",
		     "exclude each other");
	expect_error("{\"cmd\":\"refund\",\"receipt\":\"T1-1\"}", "either 'amount' or");
	expect_error("{\"cmd\":\"refund\",\"receipt\":\"T1-1\",\"amount\":\"1\",\"whole\":true}",
		     "either 'amount' or");
	expect_error("{\"cmd\":\"refund\",\"amount\":\"1\"}", "'receipt' is missing");
	expect_error("{\"cmd\":\"explain\"}", "'receipt' is missing");
	expect_error("{\"cmd\":\"confirm\",\"now\":true}", "unknown field 'now'");
	expect_error("{\"cmd\":\"format_disk\"}", "unknown command 'format_disk'");
	expect_error("{\"cmd\":\"sale\"}", "'amount' is missing");
	expect_error("{\"cmd\":\"sale\",\"amount\":12.34}", "'amount' must be a string");
	expect_error("{\"cmd\":\"sale\",\"amount\":\"1\",\"wait\":1}", "'wait' must be true");
	expect_error("{\"cmd\":\"sale\",\"amount\":\"1\",\"tip\":\"5\"}", "unknown field 'tip'");
	expect_error("{\"cmd\":\"sim_tap\"}", "'uid' is missing");
	expect_error("{\"cmd\":\"sim_clock\",\"utc_us\":-1}", "'utc_us' must be whole");
	expect_error("{\"cmd\":\"sim_clock\",\"utc_us\":1.5}", "'utc_us' must be whole");
	expect_error("{\"cmd\":\"sim_clock\",\"advance_s\":-1}", "'advance_s' must be whole");
	expect_error("{\"cmd\":\"sim_clock\",\"advance_s\":5,\"utc_us\":0}", "alone");
	expect_error("{\"cmd\":\"sale\",\"amount\":\"111111111111111111111111111111111111\"}",
		     "'amount' is longer than");
	char big[CTL_REQUEST_MAX + 10];
	memset(big, ' ', sizeof(big));
	struct ctl_request r;
	char err[160];
	assert_int_equal(ctl_request_parse(big, sizeof(big), &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_bad_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
