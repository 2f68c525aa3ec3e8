/*
 * nfc_libnfc_test: the "libnfc" NFC driver against the PN532 emulator on a pty, through the real
 * libnfc pn532_uart driver: taps, removal, a lost and returning reader, prompt close. Also the
 * emulator's frame layer on its own. Every wait is bounded. Not for real hardware (label hw).
 */
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
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "nfc.h"
#include "pn532-emu.h"

#define EVENT_WAIT_MS 4000 /* a tap or removal shows up well within this */
#define BACK_WAIT_MS  6000 /* reopen backoff starts at 0.5 s; allow a few rounds */
#define QUIET_MS      1000 /* several presence checks */
#define CLOSE_MAX_MS  500  /* the thread sleeps between commands: close() is at once */
#define CLOSE_HUNG_MS 2000 /* libnfc waits out its ACK timeouts on a silent reader */

static const uint8_t uid7[] = {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6};
static const uint8_t uid4[] = {0x5e, 0x11, 0x22, 0x33};

struct fixture {
	char dir[64];
	char link[96];
	char connstring[128];
	struct pn532_emu *emu;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void trace_stderr(void *userdata, const char *line)
{
	(void) userdata;
	fprintf(stderr, "pn532-emu %s\n", line);
}

static int start_emu(struct fixture *f)
{
	struct pn532_emu_config config = {.link = f->link};
	if (getenv("PN532_EMU_TRACE"))
		config.trace = trace_stderr;
	return pn532_emu_start(&config, &f->emu);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* libnfc reads its settings from the environment; keep it quiet unless asked. */
	setenv("LIBNFC_LOG_LEVEL", "0", 0);
	setenv("LIBNFC_AUTO_SCAN", "false", 1);
	setenv("LIBNFC_INTRUSIVE_SCAN", "false", 1);
	if (getenv("NFC_TEST_DEBUG"))
		log_set_level(LOG_LVL_DEBUG);
	strcpy(f->dir, "/tmp/nfc_libnfc_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->link, sizeof(f->link), "%s/pn532", f->dir);
	snprintf(f->connstring, sizeof(f->connstring), "pn532_uart:%s:115200", f->link);
	assert_int_equal(start_emu(f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pn532_emu_stop(f->emu);
	unlink(f->link);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Next event within timeout_ms: 1 and *ret_ev, or 0 when none came. */
static int wait_event(struct hal_nfc *nfc, int timeout_ms, struct hal_nfc_event *ret_ev)
{
	const int64_t deadline = mono_ms() + timeout_ms;

	for (;;) {
		int r = hal_nfc_next_event(nfc, ret_ev);
		assert_true(r >= 0);
		if (r == 1)
			return 1;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = hal_nfc_fd(nfc), .events = POLLIN};
		assert_true(poll(&pfd, 1, (int) left) >= 0);
	}
}

static void expect_event(struct hal_nfc *nfc, int timeout_ms, enum hal_nfc_event_kind kind)
{
	struct hal_nfc_event ev;

	assert_int_equal(wait_event(nfc, timeout_ms, &ev), 1);
	assert_int_equal(ev.kind, kind);
}

static void expect_tap(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len)
{
	struct hal_nfc_event ev;

	assert_int_equal(wait_event(nfc, EVENT_WAIT_MS, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_TAP);
	assert_int_equal(ev.uid_len, uid_len);
	assert_memory_equal(ev.uid, uid, uid_len);
}

static void expect_quiet(struct hal_nfc *nfc, int ms)
{
	struct hal_nfc_event ev;
	assert_int_equal(wait_event(nfc, ms, &ev), 0);
}

static struct hal_nfc *open_reader(struct fixture *f)
{
	const struct hal_nfc_config config = {.connstring = f->connstring};
	struct hal_nfc *nfc = NULL;

	assert_int_equal(hal_nfc_open("libnfc", &config, &nfc), 0);
	assert_non_null(nfc);
	assert_true(hal_nfc_fd(nfc) >= 0);
	return nfc;
}

static void close_within(struct hal_nfc *nfc, int max_ms)
{
	const int64_t t0 = mono_ms();
	hal_nfc_close(nfc);
	assert_true(mono_ms() - t0 < max_ms);
}

static void close_promptly(struct hal_nfc *nfc)
{
	close_within(nfc, CLOSE_MAX_MS);
}

/* ---- the driver ---- */

static void test_open_missing_reader(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc_config config = {.connstring = NULL};
	struct hal_nfc *nfc = NULL;
	char missing[160];
	int64_t t0 = mono_ms();

	snprintf(missing, sizeof(missing), "pn532_uart:%s/absent:115200", f->dir);
	config.connstring = missing;
	assert_int_equal(hal_nfc_open("libnfc", &config, &nfc), -ENODEV);
	assert_null(nfc);
	config.connstring = "no_such_driver:/dev/null";
	assert_int_equal(hal_nfc_open("libnfc", &config, &nfc), -ENODEV);
	assert_true(mono_ms() - t0 < 2000);
}

static void test_open_and_close_idle(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	expect_quiet(nfc, 300);
	assert_true(pn532_emu_count(f->emu, 0x4a) > 0); /* it polls */
	close_promptly(nfc);
}

static void test_tap_hold_remove(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	assert_int_equal(pn532_emu_present(f->emu, uid7, sizeof(uid7)), 0);
	expect_tap(nfc, uid7, sizeof(uid7));

	/* Held on the reader: checked again and again, reported once. */
	unsigned checks = pn532_emu_count(f->emu, 0x40);
	expect_quiet(nfc, QUIET_MS);
	assert_true(pn532_emu_count(f->emu, 0x40) >= checks + 2);

	assert_int_equal(pn532_emu_remove(f->emu), 0);
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_REMOVED);
	expect_quiet(nfc, 300);

	assert_int_equal(pn532_emu_present(f->emu, uid4, sizeof(uid4)), 0);
	expect_tap(nfc, uid4, sizeof(uid4));

	/* A card swapped faster than a presence check: the old one leaves, the new one taps. */
	assert_int_equal(pn532_emu_present(f->emu, uid7, sizeof(uid7)), 0);
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_REMOVED);
	expect_tap(nfc, uid7, sizeof(uid7));

	close_promptly(nfc);
}

static void test_reader_lost_and_back(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	assert_int_equal(pn532_emu_present(f->emu, uid7, sizeof(uid7)), 0);
	expect_tap(nfc, uid7, sizeof(uid7));

	/* Unplug: one READER_LOST, nothing more while it stays away. */
	pn532_emu_stop(f->emu);
	f->emu = NULL;
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_READER_LOST);
	expect_quiet(nfc, 1200);

	/* Plug back under the same name (a new pty behind the symlink). */
	assert_int_equal(start_emu(f), 0);
	expect_event(nfc, BACK_WAIT_MS, HAL_NFC_READER_BACK);
	expect_quiet(nfc, 300);

	assert_int_equal(pn532_emu_present(f->emu, uid4, sizeof(uid4)), 0);
	expect_tap(nfc, uid4, sizeof(uid4));

	close_promptly(nfc);
}

static void test_reader_hangs(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	assert_int_equal(pn532_emu_present(f->emu, uid7, sizeof(uid7)), 0);
	expect_tap(nfc, uid7, sizeof(uid7));

	/* Still plugged in, no longer answering: libnfc times out instead of failing at once. */
	assert_int_equal(pn532_emu_set_mute(f->emu, true), 0);
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_READER_LOST);
	expect_quiet(nfc, 1000);
	assert_int_equal(pn532_emu_set_mute(f->emu, false), 0);
	expect_event(nfc, BACK_WAIT_MS, HAL_NFC_READER_BACK);
	expect_tap(nfc, uid7, sizeof(uid7));

	/* Close while the thread waits on a silent reader. */
	assert_int_equal(pn532_emu_set_mute(f->emu, true), 0);
	usleep(200 * 1000);
	close_within(nfc, CLOSE_HUNG_MS);
}

static void test_close_while_reader_lost(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	pn532_emu_stop(f->emu);
	f->emu = NULL;
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_READER_LOST);
	close_promptly(nfc); /* in the middle of the reopen backoff */
}

static void test_events_kept_while_caller_is_busy(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	struct hal_nfc_event ev;
	int taps = 0, removals = 0;

	/* Nobody reads for a while; every event is kept, in order. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pn532_emu_present(f->emu, uid7, sizeof(uid7)), 0);
		usleep(400 * 1000);
		assert_int_equal(pn532_emu_remove(f->emu), 0);
		usleep(400 * 1000);
	}
	while (wait_event(nfc, 500, &ev) == 1) {
		assert_int_equal(ev.kind, taps == removals ? HAL_NFC_TAP : HAL_NFC_REMOVED);
		if (ev.kind == HAL_NFC_TAP)
			taps++;
		else
			removals++;
	}
	assert_int_equal(taps, 3);
	assert_int_equal(removals, 3);
	close_promptly(nfc);
}

/* ---- the emulator's frame layer ---- */

static int open_line(const struct fixture *f)
{
	struct termios tio;
	int fd = open(pn532_emu_path(f->emu), O_RDWR | O_NOCTTY);

	assert_true(fd >= 0);
	assert_int_equal(tcgetattr(fd, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(fd, TCSANOW, &tio), 0);
	return fd;
}

static void send_bytes(int fd, const uint8_t *bytes, size_t len)
{
	assert_int_equal(write(fd, bytes, len), (ssize_t) len);
}

static void send_command(int fd, const uint8_t *cmd, size_t len)
{
	uint8_t frame[64] = {0x00, 0x00, 0xff, (uint8_t) (len + 1), (uint8_t) - (len + 1), 0xd4};
	uint8_t sum = 0xd4;

	memcpy(frame + 6, cmd, len);
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t) (sum + cmd[i]);
	frame[6 + len] = (uint8_t) -sum;
	frame[7 + len] = 0x00;
	send_bytes(fd, frame, len + 8);
}

/* Read exactly len bytes within timeout_ms; returns how many came. */
static size_t recv_bytes(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
	const int64_t deadline = mono_ms() + timeout_ms;
	size_t got = 0;

	while (got < len) {
		int64_t left = deadline - mono_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int) left) <= 0)
			break;
		ssize_t r = read(fd, buf + got, len - got);
		if (r <= 0)
			break;
		got += (size_t) r;
	}
	return got;
}

static void expect_bytes(int fd, const uint8_t *want, size_t len)
{
	uint8_t got[64];

	assert_true(len <= sizeof(got));
	assert_int_equal(recv_bytes(fd, got, len, 1000), len);
	assert_memory_equal(got, want, len);
}

static const uint8_t ack[] = {0x00, 0x00, 0xff, 0x00, 0xff, 0x00};

static void test_emu_frames(void **state)
{
	struct fixture *f = *state;
	static const uint8_t wake[] = {0x55, 0x55, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t firmware[] = {0x00, 0x00, 0xff, 0x06, 0xfa, 0xd5, 0x03,
					   0x32, 0x01, 0x06, 0x07, 0xe8, 0x00};
	static const uint8_t syntax_error[] = {0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00};
	uint8_t buf[64];
	int fd = open_line(f);

	/* Asleep until the wake-up preamble: the first command goes unheard. */
	send_command(fd, (const uint8_t[]){0x02}, 1);
	assert_int_equal(recv_bytes(fd, buf, 1, 200), 0);
	send_bytes(fd, wake, sizeof(wake));
	send_command(fd, (const uint8_t[]){0x02}, 1);
	expect_bytes(fd, ack, sizeof(ack));
	expect_bytes(fd, firmware, sizeof(firmware));

	/* An unknown command is ACKed, then refused with the syntax error frame. */
	send_command(fd, (const uint8_t[]){0x7e, 0x01}, 2);
	expect_bytes(fd, ack, sizeof(ack));
	expect_bytes(fd, syntax_error, sizeof(syntax_error));

	/* A bad checksum gets no answer at all. */
	send_bytes(fd, (const uint8_t[]){0x00, 0x00, 0xff, 0x02, 0xfe, 0xd4, 0x02, 0x00, 0x00}, 9);
	assert_int_equal(recv_bytes(fd, buf, 1, 200), 0);
	close(fd);
}

static void test_emu_list_waits_for_a_card(void **state)
{
	struct fixture *f = *state;
	static const uint8_t wake[] = {0x55, 0x55, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t list[] = {0x4a, 0x01, 0x00};
	uint8_t buf[64];
	int fd = open_line(f);

	send_bytes(fd, wake, sizeof(wake));
	/* Infinite retries (the reset default): no answer until a card comes. */
	send_command(fd, list, sizeof(list));
	expect_bytes(fd, ack, sizeof(ack));
	assert_int_equal(recv_bytes(fd, buf, 1, 200), 0);
	assert_int_equal(pn532_emu_present(f->emu, uid7, sizeof(uid7)), 0);
	assert_int_equal(recv_bytes(fd, buf, 22, 1000), 22);
	assert_memory_equal(buf + 5,
			    ((const uint8_t[]){0xd5, 0x4b, 0x01, 0x01, 0x00, 0x44, 0x00, 0x07}), 8);
	assert_memory_equal(buf + 13, uid7, sizeof(uid7));

	/* A host ACK aborts the wait: the card that comes later is not announced. */
	assert_int_equal(pn532_emu_remove(f->emu), 0);
	send_command(fd, list, sizeof(list));
	expect_bytes(fd, ack, sizeof(ack));
	send_bytes(fd, ack, sizeof(ack));
	usleep(50 * 1000);
	assert_int_equal(pn532_emu_present(f->emu, uid4, sizeof(uid4)), 0);
	assert_int_equal(recv_bytes(fd, buf, 1, 200), 0);

	/* Finite retries: "no target" at once. */
	assert_int_equal(pn532_emu_remove(f->emu), 0);
	send_command(fd, (const uint8_t[]){0x32, 0x05, 0x00, 0x01, 0x02}, 5);
	expect_bytes(fd, ack, sizeof(ack));
	expect_bytes(fd, (const uint8_t[]){0x00, 0x00, 0xff, 0x02, 0xfe, 0xd5, 0x33, 0xf8, 0x00},
		     9);
	send_command(fd, list, sizeof(list));
	expect_bytes(fd, ack, sizeof(ack));
	expect_bytes(
	    fd, (const uint8_t[]){0x00, 0x00, 0xff, 0x03, 0xfd, 0xd5, 0x4b, 0x00, 0xe0, 0x00}, 10);
	close(fd);
}

static void test_emu_parse_hex(void **state)
{
	uint8_t b[7];

	(void) state;
	assert_int_equal(pn532_emu_parse_hex("04A1B2C3D4E5F6", b, sizeof(b)), 7);
	assert_memory_equal(b, uid7, sizeof(uid7));
	assert_int_equal(pn532_emu_parse_hex("5e:11 22:33", b, sizeof(b)), 4);
	assert_memory_equal(b, uid4, sizeof(uid4));
	assert_int_equal(pn532_emu_parse_hex("0", b, sizeof(b)), -EINVAL);
	assert_int_equal(pn532_emu_parse_hex("zz", b, sizeof(b)), -EINVAL);
	assert_int_equal(pn532_emu_parse_hex("0102030405060708", b, sizeof(b)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_emu_parse_hex),
	    cmocka_unit_test_setup_teardown(test_emu_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emu_list_waits_for_a_card, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_missing_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_and_close_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap_hold_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_lost_and_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_hangs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_while_reader_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_kept_while_caller_is_busy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
