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

/* A board whose printer section is the given fields plus the model facts. */
static int parse_printer(const char *fields, struct board_profile *b, char *err, size_t err_size)
{
	char text[1024];
	snprintf(
	    text, sizeof(text),
	    "{\"version\":1,\"name\":\"t\",\"nfc\":{\"driver\":\"sim\"},"
	    "\"printer\":{%s,\"model\":\"TM-T20III\",\"width_dots\":576,\"columns\":48,"
	    "\"encoding\":\"CP852\",\"codepage_slot\":18,\"qr_module_dots\":6,"
	    "\"cutter\":true},\"console\":{\"driver\":\"sim\"},\"clock\":{\"driver\":\"sim\"}}",
	    fields);
	err[0] = '\0';
	return board_profile_parse(text, strlen(text), b, err, err_size);
}

static void expect_printer_error(const char *fields, const char *message)
{
	struct board_profile b;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(parse_printer(fields, &b, err, sizeof(err)), -EINVAL);
	if (!strstr(err, message))
		fail_msg("for %s: got '%s', expected '%s'", fields, err, message);
}

static void test_board_printer_links(void **state)
{
	(void) state;
	struct board_profile b;
	struct hal_printer_config pc;
	char err[CONFIG_ERR_MAX];

	assert_int_equal(parse_printer("\"driver\":\"serial\",\"path\":\"/dev/ttyUSB0\","
				       "\"baud\":115200,\"flow\":\"rtscts\",\"timeout_ms\":5000",
				       &b, err, sizeof(err)),
			 0);
	assert_string_equal(b.printer_driver, "serial");
	assert_int_equal(b.printer_baud, 115200);
	assert_int_equal(b.printer_flow, HAL_PRINTER_FLOW_RTSCTS);
	assert_int_equal(b.printer_timeout_ms, 5000);
	assert_int_equal(b.printer_status_timeout_ms, HAL_PRINTER_STATUS_TIMEOUT_MS_DEFAULT);
	assert_int_equal(b.printer_status, HAL_PRINTER_STATUS_AUTO);
	board_profile_printer_config(&b, &pc);
	assert_string_equal(pc.path, "/dev/ttyUSB0");
	assert_int_equal(pc.baud, 115200);
	assert_null(pc.host);

	/* defaults */
	assert_int_equal(
	    parse_printer("\"driver\":\"serial\",\"path\":\"/dev/ttyS1\"", &b, err, sizeof(err)),
	    0);
	assert_int_equal(b.printer_baud, 9600);
	assert_int_equal(b.printer_flow, HAL_PRINTER_FLOW_NONE);
	assert_int_equal(b.printer_timeout_ms, HAL_PRINTER_TIMEOUT_MS_DEFAULT);
	assert_int_equal(
	    parse_printer("\"driver\":\"tcp\",\"host\":\"10.0.0.7\"", &b, err, sizeof(err)), 0);
	assert_int_equal(b.printer_port, 9100);
	board_profile_printer_config(&b, &pc);
	assert_string_equal(pc.host, "10.0.0.7");
	assert_null(pc.path);
	assert_int_equal(parse_printer("\"driver\":\"tcp\",\"host\":\"fd00::7\",\"port\":9101,"
				       "\"status\":\"required\",\"status_timeout_ms\":500",
				       &b, err, sizeof(err)),
			 0);
	assert_int_equal(b.printer_port, 9101);
	assert_int_equal(b.printer_status, HAL_PRINTER_STATUS_REQUIRED);
	assert_int_equal(b.printer_status_timeout_ms, 500);
	assert_int_equal(parse_printer("\"driver\":\"usb\",\"path\":\"/dev/usb/lp0\","
				       "\"status\":\"none\"",
				       &b, err, sizeof(err)),
			 0);
	assert_int_equal(b.printer_status, HAL_PRINTER_STATUS_NONE);

	expect_printer_error("\"driver\":\"usb\"", "printer.path: required by the 'usb' driver");
	expect_printer_error("\"driver\":\"usb\",\"path\":\"lp0\"",
			     "printer.path: must be an absolute device path, got 'lp0'");
	expect_printer_error("\"driver\":\"serial\",\"path\":\"/dev/ttyS0\",\"baud\":4800",
			     "printer.baud: must be 9600, 19200, 38400, 57600 or 115200");
	expect_printer_error("\"driver\":\"serial\",\"path\":\"/dev/ttyS0\",\"baud\":\"fast\"",
			     "printer.baud: must be a whole number");
	expect_printer_error("\"driver\":\"serial\",\"path\":\"/dev/ttyS0\",\"flow\":\"cts\"",
			     "printer.flow: must be none, rtscts or xonxoff, got 'cts'");
	expect_printer_error("\"driver\":\"usb\",\"path\":\"/dev/usb/lp0\",\"baud\":9600",
			     "printer.baud: only for the serial driver, not 'usb'");
	expect_printer_error("\"driver\":\"tcp\"", "printer.host: missing");
	expect_printer_error("\"driver\":\"tcp\",\"host\":\"printer.local\"",
			     "printer.host: must be an IPv4 or IPv6 address");
	expect_printer_error("\"driver\":\"tcp\",\"host\":\"10.0.0.7\",\"port\":0",
			     "printer.port: must be a whole number from 1 to 65535");
	expect_printer_error(
	    "\"driver\":\"tcp\",\"host\":\"10.0.0.7\",\"path\":\"/dev/lp0\"",
	    "printer.path: only for the escpos, usb and serial drivers, not 'tcp'");
	expect_printer_error("\"driver\":\"tcp\",\"host\":\"10.0.0.7\",\"timeout_ms\":60000",
			     "printer.timeout_ms: must be a whole number from 100 to 10000");
	expect_printer_error("\"driver\":\"tcp\",\"host\":\"10.0.0.7\",\"timeout_ms\":200,"
			     "\"status_timeout_ms\":500",
			     "printer.status_timeout_ms: must not be more than timeout_ms");
	expect_printer_error("\"driver\":\"tcp\",\"host\":\"10.0.0.7\",\"status\":\"always\"",
			     "printer.status: must be auto, required or none, got 'always'");
	expect_printer_error(
	    "\"driver\":\"sim\",\"timeout_ms\":1000",
	    "printer.timeout_ms: only for the usb, serial and tcp drivers, not 'sim'");
	expect_printer_error("\"driver\":\"lp\"",
			     "printer.driver: unknown driver 'lp' (known: sim, "
			     "escpos, usb, serial, tcp)");

	/* the network printer example board */
	const char *src = getenv("LOYALTY_SOURCE_DIR");
	char path[1024], lerr[CONFIG_ERR_MAX + 1024];
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/board/rpi4-pn532-netprinter/board.json", src);
	if (board_profile_load(path, &b, lerr, sizeof(lerr)) != 0)
		fail_msg("%s", lerr);
	assert_string_equal(b.printer_driver, "tcp");
	assert_string_equal(b.printer_host, "192.168.1.50");
}

/* A board with the given scanner section (NULL: none). */
static int parse_scanner(const char *scanner, struct board_profile *b, char *err, size_t err_size)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"name\":\"t\",\"nfc\":{\"driver\":\"sim\"},"
		 "\"printer\":{\"driver\":\"sim\",\"model\":\"X\",\"width_dots\":384,"
		 "\"columns\":32,\"encoding\":\"CP852\",\"codepage_slot\":18,"
		 "\"qr_module_dots\":5,\"cutter\":true},%s%s%s\"console\":{\"driver\":\"sim\"},"
		 "\"clock\":{\"driver\":\"sim\"}}",
		 scanner ? "\"scanner\":{" : "", scanner ? scanner : "", scanner ? "}," : "");
	err[0] = '\0';
	return board_profile_parse(text, strlen(text), b, err, err_size);
}

static void test_board_scanner(void **state)
{
	(void) state;
	static const struct {
		const char *fields, *error;
	} bad[] = {
	    {"\"driver\":\"usbkbd\"", "scanner.driver: unknown driver 'usbkbd'"},
	    {"\"driver\":\"serial\"", "scanner.path: the 'serial' driver needs an absolute device path"},
	    {"\"driver\":\"hid\",\"path\":\"event3\"", "scanner.path: the 'hid' driver needs"},
	    {"\"driver\":\"hid\",\"path\":\"/dev/input/event3\",\"baud\":9600",
	     "scanner.baud: only for the 'serial' driver"},
	    {"\"driver\":\"serial\",\"path\":\"/dev/ttyACM0\",\"baud\":1234",
	     "scanner.baud: only for the 'serial' driver, 1200 to 115200"},
	    {"\"driver\":\"sim\",\"speed\":1", "scanner.speed: unknown key"},
	};
	struct board_profile b;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(parse_scanner(NULL, &b, err, sizeof(err)), 0);
	assert_string_equal(b.scanner_driver, "");
	assert_int_equal(parse_scanner("\"driver\":\"serial\",\"path\":\"/dev/ttyACM0\",\"baud\":115200",
				       &b, err, sizeof(err)),
			 0);
	assert_string_equal(b.scanner_driver, "serial");
	assert_string_equal(b.scanner_path, "/dev/ttyACM0");
	assert_int_equal(b.scanner_baud, 115200);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_scanner(bad[i].fields, &b, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].error))
			fail_msg("for %s: got '%s', expected '%s'", bad[i].fields, err, bad[i].error);
	}
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
	/* plain http only to this machine (a development server's card pages) */
	const char *dev_url = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
			      "\"card_url_base\":\"http://127.0.0.1:8080/c/\"}";
	assert_int_equal(terminal_config_parse(dev_url, strlen(dev_url), &t, err, sizeof(err)), 0);
	const char *lan_url = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
			      "\"card_url_base\":\"http://127.0.0.10:8080/c/\"}";
	assert_int_equal(terminal_config_parse(lan_url, strlen(lan_url), &t, err, sizeof(err)),
			 -EINVAL);
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

	/* a chain's server */
	struct terminal_config t;
	char err[CONFIG_ERR_MAX];
	const char *srv = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
			  "\"card_url_base\":\"https://k.pl/c/\",\"server_url\":\"https://s.pl/\"}";
	assert_int_equal(terminal_config_parse(srv, strlen(srv), &t, err, sizeof(err)), 0);
	assert_string_equal(t.server_url, "https://s.pl/");
	const char *bad = "{\"version\":1,\"terminal_id\":\"K1\",\"store\":{\"name\":\"S\"},"
			  "\"card_url_base\":\"https://k.pl/c/\",\"server_url\":\"http://s.pl/\"}";
	assert_int_equal(terminal_config_parse(bad, strlen(bad), &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "server_url: must be an https:// URL without spaces");
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
	    cmocka_unit_test(test_board_printer_links),
	    cmocka_unit_test(test_board_scanner),
	    cmocka_unit_test(test_terminal_config),
	    cmocka_unit_test(test_register_config),
	    cmocka_unit_test(test_shipped_files_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
