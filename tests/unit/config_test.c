/* config_test: board profile and terminal config validation, and the shipped files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char good_board[] =
    "{\"version\":1,\"name\":\"t\",\"nfc\":{\"driver\":\"sim\"},"
    "\"printer\":{\"driver\":\"sim\",\"model\":\"POS-5890\",\"width_dots\":384,"
    "\"columns\":32,\"encoding\":\"CP852\",\"codepage_slot\":18,\"qr_module_dots\":5,"
    "\"cutter\":true},\"console\":{\"driver\":\"sim\"},\"clock\":{\"driver\":\"sim\"}}";

/* good_board with the first occurrence of from replaced by to */
static void expect_board_error(const char *from, const char *to, const char *message)
{
	char text[2048], err[CONFIG_ERR_MAX];
	struct board_profile b;
	const char *at = strstr(good_board, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int) (at - good_board), good_board, to,
		 at + strlen(from));
	assert_int_equal(board_profile_parse(text, strlen(text), &b, err, sizeof(err)), -EINVAL);
	if (!strstr(err, message))
		fail_msg("for %s -> %s: got '%s', expected '%s'", from, to, err, message);
}

static void test_board_good(void **state)
{
	(void) state;
	struct board_profile b;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(board_profile_parse(good_board, strlen(good_board), &b, err, sizeof(err)),
			 0);
	assert_string_equal(b.nfc_driver, "sim");
	assert_int_equal(b.printer.width_dots, 384);
	assert_int_equal(b.printer.codepage_slot, 18);
	assert_int_equal(b.printer.encoding, CODEPAGE_CP852);
	assert_true(b.printer.cutter);
}

static void test_board_errors_name_the_field(void **state)
{
	(void) state;
	expect_board_error("\"version\":1", "\"version\":2", "version: only version 1");
	expect_board_error("\"driver\":\"sim\"},\"printer\"", "\"driver\":\"pn999\"},\"printer\"",
			   "nfc.driver: unknown driver 'pn999' (known: sim, libnfc)");
	expect_board_error("\"width_dots\":384", "\"width_dots\":38.4",
			   "printer.width_dots: must be a whole number");
	expect_board_error("\"width_dots\":384", "\"width_dots\":99999",
			   "printer.width_dots: must be a whole number from 128 to 1024");
	expect_board_error("\"encoding\":\"CP852\"", "\"encoding\":\"UTF-8\"",
			   "printer.encoding: 'UTF-8' is not CP852 or CP1250");
	expect_board_error("\"qr_module_dots\":5", "\"qr_module_dots\":3",
			   "printer.qr_module_dots: must be a whole number from 4");
	expect_board_error("\"cutter\":true", "\"cutter\":\"yes\"",
			   "printer.cutter: must be true or false");
	expect_board_error("\"cutter\":true", "\"cuter\":true", "printer.cuter: unknown key");
	expect_board_error("\"clock\":{\"driver\":\"sim\"}", "\"clock\":7", "clock: must be an");
	expect_board_error("\"name\":\"t\",", "", "name: missing");
	expect_board_error("{\"version\"", "[{\"version\"", "not valid JSON");
	expect_board_error("\"driver\":\"sim\",\"model\"", "\"driver\":\"escpos\",\"model\"",
			   "printer.path: required by the 'escpos' driver");

	struct board_profile b;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(board_profile_parse("", 0, &b, err, sizeof(err)), -EINVAL);
	assert_int_equal(board_profile_parse("[]", 2, &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "must be a JSON object");
}

static void test_terminal_config(void **state)
{
	(void) state;
	struct terminal_config t;
	char err[CONFIG_ERR_MAX];
	const char *good = "{\"version\":1,\"terminal_id\":\"KRK01\",\"store\":{\"name\":\"Sklep\","
			   "\"address\":\"ul. Długa 5\"},\"card_url_base\":\"https://k.pl/c/\"}";
	assert_int_equal(terminal_config_parse(good, strlen(good), &t, err, sizeof(err)), 0);
	assert_string_equal(t.terminal_id, "KRK01");
	assert_string_equal(t.store_address, "ul. Długa 5");

	const char *bad_id = "{\"version\":1,\"terminal_id\":\"krk-1\",\"store\":{\"name\":\"S\"},"
			     "\"card_url_base\":\"https://k.pl/c/\"}";
	assert_int_equal(terminal_config_parse(bad_id, strlen(bad_id), &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "terminal_id: must be 1 to 16 of A-Z and 0-9"));

	assert_int_equal(t.retention_days, CONFIG_RETENTION_DAYS_DEFAULT);
	const char *short_keep = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
				 "\"card_url_base\":\"https://k.pl/c/\",\"retention_days\":30}";
	assert_int_equal(
	    terminal_config_parse(short_keep, strlen(short_keep), &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "retention_days: must be a whole number from 400 to 36500");
	const char *keep = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
			   "\"card_url_base\":\"https://k.pl/c/\",\"retention_days\":1000}";
	assert_int_equal(terminal_config_parse(keep, strlen(keep), &t, err, sizeof(err)), 0);
	assert_int_equal(t.retention_days, 1000);

	const char *bad_url = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
			      "\"card_url_base\":\"http://k.pl/c/\"}";
	assert_int_equal(terminal_config_parse(bad_url, strlen(bad_url), &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "card_url_base: must be an https:// URL"));
}

/* the register section: an IP literal and port; a token off loopback */
static void expect_register(const char *reg, int want, const char *message)
{
	struct terminal_config t;
	char err[CONFIG_ERR_MAX], text[512];
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
		 "\"card_url_base\":\"https://k.pl/c/\",\"register\":%s}",
		 reg);
	err[0] = '\0';
	assert_int_equal(terminal_config_parse(text, strlen(text), &t, err, sizeof(err)), want);
	if (message && !strstr(err, message))
		fail_msg("%s: got '%s', expected '%s'", reg, err, message);
}

static void test_register_config(void **state)
{
	(void) state;
	expect_register("{\"listen\":\"127.0.0.1:8731\"}", 0, NULL);
	expect_register("{\"listen\":\"[::1]:0\"}", 0, NULL);
	expect_register("{\"listen\":\"0.0.0.0:8731\",\"token\":\"0123456789abcdef\"}", 0, NULL);
	expect_register("{\"listen\":\"0.0.0.0:8731\"}", -EINVAL,
			"register.token: required when register.listen is not loopback");
	expect_register("{\"listen\":\"127.0.0.1:8731\",\"token\":\"short\"}", -EINVAL,
			"register.token: must be at least 16 characters");
	expect_register("{\"listen\":\"localhost:8731\"}", -EINVAL,
			"register.listen: must be an IP address and port");
	expect_register("{\"listen\":\"127.0.0.1:70000\"}", -EINVAL, "register.listen");
	expect_register("{\"listen\":\"127.0.0.1:-1\"}", -EINVAL, "register.listen");
	expect_register("{\"listen\":\"::1:80\"}", -EINVAL, "register.listen");
	expect_register("{\"listen\":\"127.0.0.1:80\",\"port\":1}", -EINVAL, "register.port");
	expect_register("{}", -EINVAL, "register.listen");
	expect_register("\"127.0.0.1:80\"", -EINVAL, "register");
}

static void test_shipped_files_load(void **state)
{
	(void) state;
	const char *src = getenv("LOYALTY_SOURCE_DIR");
	char path[1024], err[CONFIG_ERR_MAX + 1024];
	struct board_profile b;
	struct terminal_config t;
	assert_non_null(src);
	static const char *const boards[] = {"sim", "rpi4-pn532-usbprinter"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/board/%s/board.json", src, boards[i]);
		if (board_profile_load(path, &b, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_string_equal(b.name, boards[i]);
	}
	snprintf(path, sizeof(path), "%s/board/sim/terminal.json", src);
	assert_int_equal(terminal_config_load(path, &t, err, sizeof(err)), 0);
	assert_int_equal(board_profile_load("/nonexistent.json", &b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent.json: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_board_good),
	    cmocka_unit_test(test_board_errors_name_the_field),
	    cmocka_unit_test(test_terminal_config),
	    cmocka_unit_test(test_register_config),
	    cmocka_unit_test(test_shipped_files_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
