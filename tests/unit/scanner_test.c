/*
 * scanner_test: barcode scanners (hal/scanner): the line framer on tables of input (CR, LF,
 * CRLF, empty lines, the 512-byte cap, the timeout), the US keymap, the "sim" driver through
 * its backend API, the "serial" driver on a pseudo-terminal and the "hid" driver fed recorded
 * struct input_event records through a pipe (split records, shift, caps lock, unknown keys, a
 * line with no terminator, the device lost and back).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
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

#include "scanner.h"

/* ---- framer ---- */

struct frame_case {
	const char *name;
	const char *input;
	size_t len;	      /* 0: strlen(input) */
	const char *lines[4]; /* the LINE events expected, in order; NULL ends */
};

static const struct frame_case frame_cases[] = {
    {"cr", "ABC\r", 0, {"ABC"}},
    {"lf", "ABC\n", 0, {"ABC"}},
    {"crlf", "ABC\r\n", 0, {"ABC"}},
    {"two crlf lines", "A\r\nB\r\n", 0, {"A", "B"}},
    {"mixed", "A\rB\nC\r\n", 0, {"A", "B", "C"}},
    {"empty lines skipped", "\r\n\r\n\n\r\rA\n\n", 0, {"A"}},
    {"lf cr", "A\n\rB\r", 0, {"A", "B"}},
    {"no terminator", "ABC", 0, {NULL}},
    {"nul kept", "A\0B\r", 4, {"A\0B"}},
    {"spaces kept", " A B \r", 0, {" A B "}},
};

static void test_framer_cases(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *c = &frame_cases[i];
		struct hal_scanner_framer fr;
		struct hal_scanner_event ev;
		size_t len = c->len ? c->len : strlen(c->input), got = 0;
		hal_scanner_framer_init(&fr, 100);
		for (size_t k = 0; k < len; k++) {
			if (!hal_scanner_framer_byte(&fr, (uint8_t) c->input[k], 0, &ev))
				continue;
			if (!c->lines[got])
				fail_msg("%s: an extra line", c->name);
			assert_int_equal(ev.kind, HAL_SCANNER_LINE);
			assert_false(ev.timed_out);
			size_t want = c->len ? 3 : strlen(c->lines[got]);
			assert_int_equal(ev.len, want);
			assert_memory_equal(ev.line, c->lines[got], want);
			assert_int_equal(ev.line[ev.len], '\0');
			got++;
		}
		if (c->lines[got])
			fail_msg("%s: line %zu missing", c->name, got);
	}
}

static void feed(struct hal_scanner_framer *fr, char byte, size_t n, int64_t now)
{
	struct hal_scanner_event ev;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(hal_scanner_framer_byte(fr, (uint8_t) byte, now, &ev), 0);
}

static void test_framer_cap(void **state)
{
	(void) state;
	struct hal_scanner_framer fr;
	struct hal_scanner_event ev;
	hal_scanner_framer_init(&fr, 100);

	/* exactly the cap: a line */
	feed(&fr, 'x', HAL_SCANNER_LINE_MAX, 0);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\r', 0, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_LINE);
	assert_int_equal(ev.len, HAL_SCANNER_LINE_MAX);
	assert_int_equal(strlen(ev.line), HAL_SCANNER_LINE_MAX);

	/* one more: dropped whole, with its length */
	feed(&fr, 'y', HAL_SCANNER_LINE_MAX + 1, 0);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\n', 0, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_TOO_LONG);
	assert_int_equal(ev.len, HAL_SCANNER_LINE_MAX + 1);
	assert_int_equal(ev.line[0], '\0');

	/* far over, then the next line is whole */
	feed(&fr, 'z', 5000, 0);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\r', 0, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_TOO_LONG);
	assert_int_equal(ev.len, 5000);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\n', 0, &ev), 0); /* its CRLF */
	feed(&fr, 'k', 3, 0);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\r', 0, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_LINE);
	assert_string_equal(ev.line, "kkk");

	/* too long and ended by the timeout */
	feed(&fr, 'w', 600, 1000);
	assert_int_equal(hal_scanner_framer_expire(&fr, 1000 + 100000, false, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_TOO_LONG);
	assert_true(ev.timed_out);
	assert_int_equal(ev.len, 600);
}

static void test_framer_timeout(void **state)
{
	(void) state;
	struct hal_scanner_framer fr;
	struct hal_scanner_event ev;
	hal_scanner_framer_init(&fr, 100);

	assert_int_equal(hal_scanner_framer_deadline_us(&fr), INT64_MAX);
	assert_int_equal(hal_scanner_framer_expire(&fr, 1000000000, false, &ev), 0);
	feed(&fr, 'A', 1, 5000);
	feed(&fr, 'B', 1, 20000); /* the silence counts from the last byte */
	assert_true(hal_scanner_framer_pending(&fr));
	assert_int_equal(hal_scanner_framer_deadline_us(&fr), 120000);
	assert_int_equal(hal_scanner_framer_expire(&fr, 119999, false, &ev), 0);
	assert_int_equal(hal_scanner_framer_expire(&fr, 120000, false, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_LINE);
	assert_true(ev.timed_out);
	assert_string_equal(ev.line, "AB");
	assert_false(hal_scanner_framer_pending(&fr));

	/* a CR right after a timed-out line is an empty line, not a second one */
	assert_int_equal(hal_scanner_framer_byte(&fr, '\r', 130000, &ev), 0);

	/* never: only a terminator ends the line (or force) */
	hal_scanner_framer_init(&fr, -1);
	feed(&fr, 'C', 1, 0);
	assert_int_equal(hal_scanner_framer_deadline_us(&fr), INT64_MAX);
	assert_int_equal(hal_scanner_framer_expire(&fr, INT64_MAX - 1, false, &ev), 0);
	assert_int_equal(hal_scanner_framer_expire(&fr, 0, true, &ev), 1);
	assert_string_equal(ev.line, "C");

	/* reset forgets */
	feed(&fr, 'D', 1, 0);
	hal_scanner_framer_reset(&fr);
	assert_false(hal_scanner_framer_pending(&fr));
}

static void test_framer_bad_key(void **state)
{
	(void) state;
	struct hal_scanner_framer fr;
	struct hal_scanner_event ev;
	hal_scanner_framer_init(&fr, 100);

	feed(&fr, 'A', 2, 0);
	hal_scanner_framer_bad_key(&fr, KEY_F1, 0);
	hal_scanner_framer_bad_key(&fr, KEY_F2, 0); /* the first one is told */
	feed(&fr, 'B', 1, 0);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\r', 0, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_BAD_KEY);
	assert_int_equal(ev.key, KEY_F1);
	assert_int_equal(ev.len, 3);
	assert_int_equal(ev.line[0], '\0');

	/* a bad key alone is a line of its own, ended by Enter or by the silence */
	hal_scanner_framer_bad_key(&fr, KEY_UP, 10);
	assert_true(hal_scanner_framer_pending(&fr));
	assert_int_equal(hal_scanner_framer_expire(&fr, 10 + 100000, false, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_BAD_KEY);
	assert_int_equal(ev.key, KEY_UP);
	assert_true(ev.timed_out);

	/* and the next line is clean */
	feed(&fr, 'C', 1, 0);
	assert_int_equal(hal_scanner_framer_byte(&fr, '\n', 0, &ev), 1);
	assert_int_equal(ev.kind, HAL_SCANNER_LINE);
	assert_string_equal(ev.line, "C");
}

static void test_keymap(void **state)
{
	(void) state;
	assert_int_equal(hal_scanner_keymap_us(KEY_A, false), 'a');
	assert_int_equal(hal_scanner_keymap_us(KEY_A, true), 'A');
	assert_int_equal(hal_scanner_keymap_us(KEY_1, true), '!');
	assert_int_equal(hal_scanner_keymap_us(KEY_0, false), '0');
	assert_int_equal(hal_scanner_keymap_us(KEY_SLASH, false), '/');
	assert_int_equal(hal_scanner_keymap_us(KEY_SEMICOLON, true), ':');
	assert_int_equal(hal_scanner_keymap_us(KEY_APOSTROPHE, true), '"');
	assert_int_equal(hal_scanner_keymap_us(KEY_EQUAL, true), '+');
	assert_int_equal(hal_scanner_keymap_us(KEY_MINUS, false), '-');
	assert_int_equal(hal_scanner_keymap_us(KEY_SPACE, true), ' ');
	assert_int_equal(hal_scanner_keymap_us(KEY_KP7, true), '7');
	assert_int_equal(hal_scanner_keymap_us(KEY_KPDOT, false), '.');
	assert_int_equal(hal_scanner_keymap_us(KEY_TAB, false), '\t');
	assert_int_equal(hal_scanner_keymap_us(KEY_F1, false), 0);
	assert_int_equal(hal_scanner_keymap_us(KEY_ENTER, false), 0);
	assert_int_equal(hal_scanner_keymap_us(KEY_ESC, false), 0);
	assert_int_equal(hal_scanner_keymap_us(KEY_UP, false), 0);
	assert_int_equal(hal_scanner_keymap_us(100000, false), 0);
	assert_true(hal_scanner_key_is_enter(KEY_ENTER));
	assert_true(hal_scanner_key_is_enter(KEY_KPENTER));
	assert_false(hal_scanner_key_is_enter(KEY_TAB));
	/* every printable ASCII character can be typed */
	for (int c = 0x20; c < 0x7f; c++) {
		bool found = false;
		for (unsigned k = 0; k < KEY_MAX && !found; k++)
			found = hal_scanner_keymap_us(k, false) == c ||
				hal_scanner_keymap_us(k, true) == c;
		if (!found)
			fail_msg("no key types '%c'", c);
	}
}

/* ---- drivers ---- */

/* The silence that ends a line in the driver tests: long enough that a busy machine does not
 * split a line the test writes in two pieces, short enough to keep the test quick. */
#define TIMEOUT_MS 250

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next event within timeout_ms, polling the scanner's descriptor as a main loop would;
 * 0 when none came. */
static int wait_event(struct hal_scanner *s, struct hal_scanner_event *ev, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		int r = hal_scanner_next_event(s, ev);
		if (r != 0)
			return r;
		int left = (int) (end - now_ms());
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = hal_scanner_fd(s), .events = POLLIN};
		assert_true(poll(&p, 1, left) >= 0);
	}
}

static void expect_line(struct hal_scanner *s, const char *text, bool timed_out)
{
	struct hal_scanner_event ev;
	assert_int_equal(wait_event(s, &ev, 2000), 1);
	if (ev.kind != HAL_SCANNER_LINE)
		fail_msg("want line '%s', got %s", text, hal_scanner_event_name(ev.kind));
	assert_string_equal(ev.line, text);
	assert_int_equal(ev.len, strlen(text));
	assert_int_equal(ev.timed_out, timed_out);
}

static void expect_kind(struct hal_scanner *s, enum hal_scanner_event_kind kind,
			struct hal_scanner_event *ret)
{
	struct hal_scanner_event ev;
	assert_int_equal(wait_event(s, &ev, 2000), 1);
	if (ev.kind != kind)
		fail_msg("want %s, got %s", hal_scanner_event_name(kind),
			 hal_scanner_event_name(ev.kind));
	if (ret)
		*ret = ev;
}

static void expect_none(struct hal_scanner *s, int ms)
{
	struct hal_scanner_event ev;
	assert_int_equal(wait_event(s, &ev, ms), 0);
}

/* Drained: next_event says 0 and the descriptor is not readable (no busy loop) until the next
 * byte or deadline. */
static void expect_quiet(struct hal_scanner *s)
{
	struct hal_scanner_event ev;
	struct pollfd p = {.fd = hal_scanner_fd(s), .events = POLLIN};
	assert_int_equal(hal_scanner_next_event(s, &ev), 0);
	assert_int_equal(poll(&p, 1, 0), 0);
}

static void test_registry(void **state)
{
	(void) state;
	struct hal_scanner *s = NULL;
	char names[64];
	hal_scanner_driver_names(names, sizeof(names));
	assert_string_equal(names, "sim, serial, hid");
	assert_int_equal(hal_scanner_open("laser", NULL, &s), -ENOENT);
	assert_int_equal(hal_scanner_open(NULL, NULL, &s), -ENOENT);
	assert_int_equal(hal_scanner_open("serial", NULL, &s), -EINVAL);
	struct hal_scanner_config rel = {.path = "dev/ttyS0"};
	assert_int_equal(hal_scanner_open("serial", &rel, &s), -EINVAL);
	struct hal_scanner_config baud = {.path = "/dev/null", .baud = 9601};
	assert_int_equal(hal_scanner_open("serial", &baud, &s), -EINVAL);
	struct hal_scanner_config tmo = {.path = "/dev/null", .timeout_ms = -2};
	assert_int_equal(hal_scanner_open("hid", &tmo, &s), -EINVAL);
	struct hal_scanner_config missing = {.path = "/nonexistent/scanner"};
	assert_int_equal(hal_scanner_open("serial", &missing, &s), -ENOENT);
	assert_int_equal(hal_scanner_open("hid", &missing, &s), -ENOENT);
	struct hal_scanner_config null = {.path = "/dev/null"};
	assert_int_equal(hal_scanner_open("serial", &null, &s), -ENOTTY);
	assert_int_equal(hal_scanner_open("hid", &null, &s), -ENOTTY); /* grab: not evdev */
	assert_null(s);
	assert_true(hal_scanner_baud_valid(115200));
	assert_false(hal_scanner_baud_valid(0));
	assert_string_equal(hal_scanner_event_name(HAL_SCANNER_TOO_LONG), "too long");
	assert_string_equal(hal_scanner_event_name(HAL_SCANNER_EVENT_MAX), "unknown");
	hal_scanner_close(NULL);
}

static void test_sim(void **state)
{
	(void) state;
	struct hal_scanner *s;
	struct hal_scanner_event ev;
	char big[HAL_SCANNER_LINE_MAX + 1];

	assert_int_equal(hal_scanner_open("sim", NULL, &s), 0);
	assert_true(hal_scanner_is_sim(s));
	expect_none(s, 0);

	assert_int_equal(hal_scanner_sim_scan(s, "HTTPS://K.EXAMPLE.PL/C/ABC", 26), 0);
	expect_line(s, "HTTPS://K.EXAMPLE.PL/C/ABC", false);
	expect_quiet(s);

	memset(big, 'Q', sizeof(big));
	assert_int_equal(hal_scanner_sim_scan(s, big, HAL_SCANNER_LINE_MAX), 0);
	expect_kind(s, HAL_SCANNER_LINE, &ev);
	assert_int_equal(ev.len, HAL_SCANNER_LINE_MAX);
	assert_int_equal(hal_scanner_sim_scan(s, big, sizeof(big)), 0);
	expect_kind(s, HAL_SCANNER_TOO_LONG, &ev);
	assert_int_equal(ev.len, sizeof(big));

	assert_int_equal(hal_scanner_sim_type(s, "+48 600", 7), 0);
	expect_none(s, 0);
	assert_int_equal(hal_scanner_sim_type(s, " 700 800", 8), 0);
	assert_int_equal(hal_scanner_sim_silence(s), 0);
	expect_line(s, "+48 600 700 800", true);
	assert_int_equal(hal_scanner_sim_silence(s), 0); /* nothing pending: no event */
	expect_none(s, 0);

	assert_int_equal(hal_scanner_sim_type(s, "lost", 4), 0);
	assert_int_equal(hal_scanner_sim_set_connected(s, false), 0);
	expect_kind(s, HAL_SCANNER_LOST, NULL);
	assert_int_equal(hal_scanner_sim_scan(s, "x", 1), -ENODEV);
	assert_int_equal(hal_scanner_sim_set_connected(s, false), 0);
	assert_int_equal(hal_scanner_sim_set_connected(s, true), 0);
	expect_kind(s, HAL_SCANNER_BACK, NULL);
	assert_int_equal(hal_scanner_sim_scan(s, "after", 5), 0);
	expect_line(s, "after", false); /* the partial "lost" went with the device */

	/* a full queue is told, not overwritten */
	int r = 0;
	for (int i = 0; i < 100 && r == 0; i++)
		r = hal_scanner_sim_scan(s, "q", 1);
	assert_int_equal(r, -ENOBUFS);
	assert_int_equal(hal_scanner_sim_scan(s, NULL, 1), -EINVAL);
	hal_scanner_close(s);
}

/* ---- serial on a pseudo-terminal ---- */

static int pty_open(char *path, size_t size)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, path, size), 0);
	return m;
}

static void put(int fd, const void *data, size_t len)
{
	assert_int_equal(write(fd, data, len), (ssize_t) len);
}

static void test_serial_pty(void **state)
{
	(void) state;
	char path[128];
	int m = pty_open(path, sizeof(path));
	struct hal_scanner *s;
	struct hal_scanner_event ev;
	struct hal_scanner_config cfg = {.path = path, .baud = 115200, .timeout_ms = TIMEOUT_MS};

	assert_int_equal(hal_scanner_open("serial", &cfg, &s), 0);
	assert_false(hal_scanner_is_sim(s));
	assert_int_equal(hal_scanner_sim_scan(s, "x", 1), -ENOTSUP);

	/* raw at the configured baud */
	int slave = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	struct termios tio;
	assert_true(slave >= 0);
	assert_int_equal(tcgetattr(slave, &tio), 0);
	assert_int_equal(cfgetispeed(&tio), B115200);
	assert_int_equal(tio.c_lflag & (ICANON | ECHO), 0);
	assert_int_equal(tio.c_iflag & (ICRNL | IXON), 0);
	close(slave);

	expect_none(s, 0);
	put(m, "HTTPS://K.EXAMPLE.PL/C/7K3M\r\n", 29);
	expect_line(s, "HTTPS://K.EXAMPLE.PL/C/7K3M", false);
	expect_quiet(s);
	put(m, "ONE\rTWO\n", 8);
	expect_line(s, "ONE", false);
	expect_line(s, "TWO", false);

	/* bytes in pieces make one line */
	put(m, "+48 ", 4);
	expect_none(s, 10);
	put(m, "600700800\r", 10);
	expect_line(s, "+48 600700800", false);

	/* no terminator: the silence ends it */
	int64_t t0 = now_ms();
	put(m, "PARTIAL", 7);
	expect_line(s, "PARTIAL", true);
	assert_true(now_ms() - t0 >= TIMEOUT_MS);
	put(m, "\r\n", 2); /* a late terminator is an empty line */
	expect_none(s, TIMEOUT_MS + 20);

	/* over the cap: dropped whole, and the next line is fine */
	char big[700];
	memset(big, 'A', sizeof(big));
	put(m, big, sizeof(big));
	put(m, "\r\nOK\r\n", 6);
	expect_kind(s, HAL_SCANNER_TOO_LONG, &ev);
	assert_int_equal(ev.len, sizeof(big));
	expect_line(s, "OK", false);

	/* the far end hangs up: lost, and the attempts to reopen do not spin */
	close(m);
	expect_kind(s, HAL_SCANNER_LOST, NULL);
	expect_quiet(s);
	expect_none(s, 50);
	hal_scanner_close(s);
}

/* ---- hid through a pipe ---- */

struct rec {
	struct input_event ev[256];
	size_t n;
};

static void rec_add(struct rec *r, unsigned type, unsigned code, int value)
{
	assert_true(r->n < 256);
	struct input_event *e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->type = (uint16_t) type;
	e->code = (uint16_t) code;
	e->value = value;
}

/* A key as a scanner sends it: the scan code, the press, a sync, the release, a sync. */
static void rec_key(struct rec *r, unsigned code)
{
	rec_add(r, EV_MSC, MSC_SCAN, 0x70000 + (int) code);
	rec_add(r, EV_KEY, code, 1);
	rec_add(r, EV_SYN, SYN_REPORT, 0);
	rec_add(r, EV_KEY, code, 0);
	rec_add(r, EV_SYN, SYN_REPORT, 0);
}

static void rec_shifted(struct rec *r, unsigned code)
{
	rec_add(r, EV_KEY, KEY_LEFTSHIFT, 1);
	rec_key(r, code);
	rec_add(r, EV_KEY, KEY_LEFTSHIFT, 0);
}

static void rec_send(int fd, struct rec *r)
{
	put(fd, r->ev, r->n * sizeof(r->ev[0]));
	r->n = 0;
}

struct hid_pipe {
	int rd, wr;
	char path[64];
};

static void hid_pipe_open(struct hid_pipe *p)
{
	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	p->rd = fds[0];
	p->wr = fds[1];
	snprintf(p->path, sizeof(p->path), "/proc/self/fd/%d", p->rd);
}

static void test_hid_pipe(void **state)
{
	(void) state;
	struct hid_pipe p;
	struct hal_scanner *s;
	struct hal_scanner_event ev;
	struct rec r = {.n = 0};

	hid_pipe_open(&p);
	struct hal_scanner_config grab = {.path = p.path};
	assert_int_equal(hal_scanner_open("hid", &grab, &s), -ENOTTY); /* a pipe is no evdev */
	struct hal_scanner_config cfg = {
	    .path = p.path, .no_grab = true, .timeout_ms = TIMEOUT_MS, .retry_ms = 20};
	assert_int_equal(hal_scanner_open("hid", &cfg, &s), 0);

	/* "Ab1!/-" and Enter, with scan codes and syncs between */
	rec_shifted(&r, KEY_A);
	rec_key(&r, KEY_B);
	rec_key(&r, KEY_1);
	rec_shifted(&r, KEY_1);
	rec_key(&r, KEY_SLASH);
	rec_key(&r, KEY_KPMINUS);
	rec_key(&r, KEY_ENTER);
	rec_send(p.wr, &r);
	expect_line(s, "Ab1!/-", false);
	expect_quiet(s);

	/* records split across writes, the keypad's Enter */
	rec_shifted(&r, KEY_H);
	rec_shifted(&r, KEY_SEMICOLON);
	rec_key(&r, KEY_KPENTER);
	size_t bytes = r.n * sizeof(r.ev[0]), half = sizeof(r.ev[0]) * 3 + 5;
	put(p.wr, r.ev, half);
	expect_none(s, 10);
	put(p.wr, (const char *) r.ev + half, bytes - half);
	r.n = 0;
	expect_line(s, "H:", false);

	/* caps lock inverts letters only; right shift counts too */
	rec_key(&r, KEY_CAPSLOCK);
	rec_key(&r, KEY_X);
	rec_key(&r, KEY_2);
	rec_add(&r, EV_KEY, KEY_RIGHTSHIFT, 1);
	rec_key(&r, KEY_Y);
	rec_key(&r, KEY_2);
	rec_add(&r, EV_KEY, KEY_RIGHTSHIFT, 0);
	rec_key(&r, KEY_CAPSLOCK);
	rec_key(&r, KEY_Z);
	rec_key(&r, KEY_ENTER);
	rec_send(p.wr, &r);
	expect_line(s, "X2y@z", false);

	/* repeats are ignored */
	rec_add(&r, EV_KEY, KEY_Q, 1);
	rec_add(&r, EV_KEY, KEY_Q, 2);
	rec_add(&r, EV_KEY, KEY_Q, 2);
	rec_add(&r, EV_KEY, KEY_Q, 0);
	rec_key(&r, KEY_ENTER);
	rec_send(p.wr, &r);
	expect_line(s, "q", false);

	/* a function key or Ctrl drops the line, told with the key */
	rec_key(&r, KEY_A);
	rec_key(&r, KEY_F5);
	rec_key(&r, KEY_B);
	rec_key(&r, KEY_ENTER);
	rec_add(&r, EV_KEY, KEY_LEFTCTRL, 1);
	rec_key(&r, KEY_C);
	rec_add(&r, EV_KEY, KEY_LEFTCTRL, 0);
	rec_key(&r, KEY_ENTER);
	rec_key(&r, KEY_D);
	rec_key(&r, KEY_ENTER);
	rec_send(p.wr, &r);
	expect_kind(s, HAL_SCANNER_BAD_KEY, &ev);
	assert_int_equal(ev.key, KEY_F5);
	assert_int_equal(ev.len, 2);
	expect_kind(s, HAL_SCANNER_BAD_KEY, &ev);
	assert_int_equal(ev.key, KEY_C);
	expect_line(s, "d", false);

	/* no Enter: the silence ends the line */
	rec_key(&r, KEY_4);
	rec_key(&r, KEY_8);
	rec_send(p.wr, &r);
	expect_line(s, "48", true);

	/* over the cap, sent in pieces the driver reads as they come */
	for (int i = 0; i < 11; i++) {
		for (int k = 0; k < 50; k++)
			rec_key(&r, KEY_7);
		rec_send(p.wr, &r);
		expect_none(s, 0);
	}
	rec_key(&r, KEY_ENTER);
	rec_send(p.wr, &r);
	expect_kind(s, HAL_SCANNER_TOO_LONG, &ev);
	assert_int_equal(ev.len, 550);
	assert_false(ev.timed_out);

	/* the writer goes: lost; a new pipe at the same path: back */
	close(p.wr);
	expect_kind(s, HAL_SCANNER_LOST, NULL);
	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_true(dup2(fds[0], p.rd) == p.rd);
	close(fds[0]);
	p.wr = fds[1];
	expect_kind(s, HAL_SCANNER_BACK, NULL);
	rec_key(&r, KEY_O);
	rec_key(&r, KEY_K);
	rec_key(&r, KEY_ENTER);
	rec_send(p.wr, &r);
	expect_line(s, "ok", false);
	expect_quiet(s);

	hal_scanner_close(s);
	close(p.wr);
	close(p.rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_framer_cases),
	    cmocka_unit_test(test_framer_cap),
	    cmocka_unit_test(test_framer_timeout),
	    cmocka_unit_test(test_framer_bad_key),
	    cmocka_unit_test(test_keymap),
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_sim),
	    cmocka_unit_test(test_serial_pty),
	    cmocka_unit_test(test_hid_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
