/*
 * nfc_libnfc_test: the "libnfc" NFC driver against the PN532 emulator on a pty, through the real
 * libnfc pn532_uart driver: taps, removal, a lost and returning reader, prompt close; the tag
 * type and NDEF message of NTAG213/215/216 and NTAG 424 DNA cards, a card pulled away mid-read,
 * the enrolment write, and every emulator fault (RF timeout, CRC error, bad checksum, slow and
 * lost replies, a crash) leaving the driver working; nfc-list (libnfc-bin) seeing the cards.
 * Also the emulator's frame layer on its own. Every wait is bounded. Not for real hardware
 * (label hw).
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
#include "ndef.h"
#include "nfc.h"
#include "pn532-emu.h"
#include "sun.h"

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

/* A tap with this tag type and read outcome, and (uri not NULL) an NDEF message holding uri,
 * (uri "") no message at all. Returns the event in *ret_ev if asked. */
static void expect_tap_card(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			    enum hal_nfc_tag tag, enum hal_nfc_read read, const char *uri,
			    struct hal_nfc_event *ret_ev)
{
	static struct hal_nfc_event ev;
	struct ndef_uri u;
	enum ndef_status st;

	assert_int_equal(wait_event(nfc, EVENT_WAIT_MS, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_TAP);
	assert_int_equal(ev.uid_len, uid_len);
	assert_memory_equal(ev.uid, uid, uid_len);
	assert_int_equal(ev.tag, tag);
	assert_int_equal(ev.read, read);
	if (uri && !uri[0]) {
		assert_int_equal(ev.ndef_len, 0);
	} else if (uri) {
		assert_int_equal(ndef_message_uri(ev.ndef, ev.ndef_len, &u, &st), 0);
		assert_int_equal(st, NDEF_OK);
		assert_string_equal(u.text, uri);
	}
	if (ret_ev)
		*ret_ev = ev;
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

/* ---- card types and NDEF ---- */

static const char url_short[] = "https://k.example.pl/c/7K3M9QZX2H4P";

/* A URL of n characters, "https://k.example.pl/c/" and then letters. */
static const char *long_url(size_t n)
{
	static char buf[NDEF_URI_MAX + 1];

	assert_true(n < sizeof(buf) && n > 23);
	memcpy(buf, "https://k.example.pl/c/", 23);
	for (size_t i = 23; i < n; i++)
		buf[i] = (char) ('A' + i % 26);
	buf[n] = '\0';
	return buf;
}

static void present(struct fixture *f, enum pn532_emu_card_type type, const uint8_t *uid,
		    size_t uid_len, const char *uri)
{
	const struct pn532_emu_card card = {
	    .type = type, .uid = uid, .uid_len = uid_len, .uri = uri};
	assert_int_equal(pn532_emu_present_card(f->emu, &card), 0);
}

static void remove_card(struct fixture *f, struct hal_nfc *nfc)
{
	assert_int_equal(pn532_emu_remove(f->emu), 0);
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_REMOVED);
}

static void test_read_ntag21x(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	/* Short and long URLs: a long one takes several FAST_READs and a 3-byte TLV length. */
	present(f, PN532_EMU_NTAG213, uid7, sizeof(uid7), url_short);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG213, HAL_NFC_READ_OK, url_short,
			NULL);
	remove_card(f, nfc);
	present(f, PN532_EMU_NTAG215, uid7, sizeof(uid7), long_url(480));
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK,
			long_url(480), NULL);
	remove_card(f, nfc);
	present(f, PN532_EMU_NTAG216, uid7, sizeof(uid7), long_url(850));
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG216, HAL_NFC_READ_OK,
			long_url(850), NULL);
	/* Held: presence checks, no second tap. */
	expect_quiet(nfc, 500);
	remove_card(f, nfc);

	/* A blank card: read, no message. */
	present(f, PN532_EMU_NTAG215, uid7, sizeof(uid7), NULL);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK, "", NULL);
	remove_card(f, nfc);
	close_promptly(nfc);
}

static void test_read_ntag424(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	present(f, PN532_EMU_NTAG424DNA, uid7, sizeof(uid7), NULL);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_OK,
			PN532_EMU_SUN_URI, NULL);
	/* libnfc's ISO-DEP presence check (an R(NAK) block) keeps it on the reader. */
	expect_quiet(nfc, 600);
	assert_true(pn532_emu_count(f->emu, 0x42) >= 2);
	remove_card(f, nfc);
	/* A longer URL in the NDEF file: several READ BINARY. */
	present(f, PN532_EMU_NTAG424DNA, uid7, sizeof(uid7), long_url(240));
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_OK,
			long_url(240), NULL);
	remove_card(f, nfc);
	close_promptly(nfc);
}

/*
 * A SUN card: each tap reads a new message (the next read counter, fresh PICC data) that
 * verifies under the chain's keys, through the real libnfc path.
 */
static void test_read_ntag424_sun(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	uint8_t meta[16], file[16];
	char first[NDEF_URI_MAX + 1] = "";
	memset(meta, 0x11, sizeof(meta));
	memset(file, 0x22, sizeof(file));
	assert_int_equal(pn532_emu_sun_keys(f->emu, meta, file, 100), 0);
	for (uint32_t k = 0; k < 3; k++) {
		struct hal_nfc_event ev;
		struct ndef_uri u;
		enum ndef_status st;
		struct sun_url su;
		struct sun_tap tap;
		enum sun_status ss;
		present(f, PN532_EMU_NTAG424DNA, uid7, sizeof(uid7), "HTTPS://K.EXAMPLE.PL/N");
		expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_OK,
				NULL, &ev);
		assert_int_equal(ndef_message_uri(ev.ndef, ev.ndef_len, &u, &st), 0);
		assert_int_equal(st, NDEF_OK);
		assert_true(strncmp(u.text, "HTTPS://K.EXAMPLE.PL/N?picc_data=", 33) == 0);
		assert_int_equal(
		    sun_url_parse(u.text, strlen(u.text), &sun_url_format_default, &su, &ss), 0);
		assert_int_equal(ss, SUN_OK);
		assert_int_equal(sun_verify(meta, file, &su, &tap, &ss), 0);
		assert_int_equal(ss, SUN_OK);
		assert_memory_equal(tap.uid, uid7, sizeof(uid7));
		assert_int_equal(tap.read_ctr, 100 + k);
		/* under another file key the MAC does not hold */
		file[0] ^= 1;
		assert_int_equal(sun_verify(meta, file, &su, &tap, &ss), 0);
		assert_int_equal(ss, SUN_BAD_MAC);
		file[0] ^= 1;
		if (k == 0)
			snprintf(first, sizeof(first), "%s", u.text);
		else
			assert_string_not_equal(u.text, first);
		remove_card(f, nfc);
	}
	/* a URI with a query stays as it is: a card not set up for SUN */
	present(f, PN532_EMU_NTAG424DNA, uid7, sizeof(uid7), PN532_EMU_SUN_URI);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_OK,
			PN532_EMU_SUN_URI, NULL);
	remove_card(f, nfc);
	close_promptly(nfc);
}

static void test_read_malformed(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	struct pn532_emu_card card = {.type = PN532_EMU_NTAG215, .uid = uid7, .uid_len = 7};
	struct hal_nfc_event ev;
	enum ndef_status st;
	struct ndef_uri u;

	/* An unknown TLV: not read as a message. */
	card.raw = (const uint8_t[]){0x42, 0x01, 0x00, 0xfe};
	card.raw_len = 4;
	assert_int_equal(pn532_emu_present_card(f->emu, &card), 0);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_INVALID, NULL,
			NULL);
	remove_card(f, nfc);
	/* An NDEF TLV longer than the card: not read. */
	card.raw = (const uint8_t[]){0x03, 0xff, 0x03, 0x00, 0xd1};
	card.raw_len = 5;
	assert_int_equal(pn532_emu_present_card(f->emu, &card), 0);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_INVALID, NULL,
			NULL);
	remove_card(f, nfc);
	/* A well-formed TLV around a bad record: handed up, app/ndef refuses it. */
	card.raw = (const uint8_t[]){0x03, 0x04, 0xd1, 0x01, 0x09, 'U', 0xfe};
	card.raw_len = 7;
	assert_int_equal(pn532_emu_present_card(f->emu, &card), 0);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK, NULL, &ev);
	assert_int_equal(ev.ndef_len, 4);
	assert_int_equal(ndef_message_uri(ev.ndef, ev.ndef_len, &u, &st), 0);
	assert_int_equal(st, NDEF_TRUNCATED);
	remove_card(f, nfc);
	/* A 424 DNA whose NDEF file says 2000 bytes. */
	card.type = PN532_EMU_NTAG424DNA;
	card.raw = (const uint8_t[]){0x07, 0xd0};
	card.raw_len = 2;
	assert_int_equal(pn532_emu_present_card(f->emu, &card), 0);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_INVALID, NULL,
			NULL);
	remove_card(f, nfc);
	close_promptly(nfc);
}

static void wait_count(struct fixture *f, uint8_t cmd, unsigned n)
{
	const int64_t deadline = mono_ms() + EVENT_WAIT_MS;

	while (pn532_emu_count(f->emu, cmd) < n) {
		assert_true(mono_ms() < deadline);
		usleep(2000);
	}
}

static void test_card_removed_mid_read(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	char err[128];

	/* The first card command (GET_VERSION) is answered late; the card leaves meanwhile. */
	assert_int_equal(pn532_emu_command(f->emu, "fault slow 150 1 cmd 40", err, sizeof(err)), 0);
	unsigned before = pn532_emu_count(f->emu, 0x40);
	present(f, PN532_EMU_NTAG216, uid7, sizeof(uid7), long_url(600));
	wait_count(f, 0x40, before + 1);
	assert_int_equal(pn532_emu_remove(f->emu), 0);
	/* One tap that says "tap again", then the removal. */
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG216, HAL_NFC_READ_FAILED, "",
			NULL);
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_REMOVED);
	expect_quiet(nfc, 300);
	/* Tapped again: read whole. */
	present(f, PN532_EMU_NTAG216, uid7, sizeof(uid7), long_url(600));
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG216, HAL_NFC_READ_OK,
			long_url(600), NULL);
	close_promptly(nfc);
}

/* ---- the enrolment write ---- */

static const char card_url[] = "HTTPS://K.EXAMPLE.PL/C/"
			       "040WBRGTP4049201KBM07K3M9QZX2H4PYZYGP44QD2B7PTBEVMDE91V8QJZ55DBPK"
			       "45JV4RKZ3BWHT5PG5TZK5T9YG8AKPRSCQ1WV3WEV9CVT8XXWPQJQH21X8WQAQRYV6"
			       "4V23G";

static size_t card_message(uint8_t *msg, size_t cap)
{
	int n = ndef_message_encode_uri(card_url, strlen(card_url), msg, cap);
	assert_true(n > 0);
	return (size_t) n;
}

static void expect_write(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			 enum hal_nfc_write write, struct hal_nfc_event *ret_ev)
{
	static struct hal_nfc_event ev;

	assert_int_equal(wait_event(nfc, EVENT_WAIT_MS, &ev), 1);
	assert_int_equal(ev.kind, HAL_NFC_TAP);
	assert_int_equal(ev.write, write);
	assert_int_equal(ev.uid_len, uid_len);
	assert_memory_equal(ev.uid, uid, uid_len);
	if (ret_ev)
		*ret_ev = ev;
}

static void test_enrol_write(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	uint8_t msg[HAL_NFC_NDEF_MAX], mem[126 * 4];
	const size_t len = card_message(msg, sizeof(msg));
	struct hal_nfc_event ev;
	struct ndef_uri u;
	enum ndef_status st;

	assert_int_equal(strlen(card_url), 158);
	/* A blank NTAG215: written, then read back in the answer. */
	present(f, PN532_EMU_NTAG215, uid7, sizeof(uid7), NULL);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK, "", NULL);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, len), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_OK, &ev);
	assert_int_equal(ev.tag, HAL_NFC_TAG_NTAG215);
	assert_int_equal(ev.read, HAL_NFC_READ_OK);
	assert_int_equal(ev.ndef_len, len);
	assert_memory_equal(ev.ndef, msg, len);
	/* The card's memory holds it as any phone reads it. */
	assert_int_equal(pn532_emu_peek(f->emu, 4, mem, sizeof(mem)), 0);
	assert_int_equal(ndef_t2_uri(mem, sizeof(mem), &u, &st), 0);
	assert_int_equal(st, NDEF_OK);
	assert_string_equal(u.text, card_url);
	/* Writing the same again is no harm; no second tap came meanwhile. */
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, len), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_OK, NULL);
	expect_quiet(nfc, 300);

	/* Taken away and tapped again (the same memory): the URL comes with the tap. */
	remove_card(f, nfc);
	const struct pn532_emu_card again = {.type = PN532_EMU_NTAG215,
					     .uid = uid7,
					     .uid_len = sizeof(uid7),
					     .raw = mem,
					     .raw_len = sizeof(mem)};
	assert_int_equal(pn532_emu_present_card(f->emu, &again), 0);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK, card_url,
			NULL);

	/* Another message on a card that holds one: refused, the card unchanged. */
	uint8_t other[64];
	int n = ndef_message_encode_uri("https://k.example.pl/c/OTHER", 28, other, sizeof(other));
	assert_true(n > 0);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), other, (size_t) n), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_NOT_BLANK, &ev);
	assert_int_equal(ev.ndef_len, len);
	/* A UID that is not on the reader. */
	assert_int_equal(hal_nfc_write_ndef(nfc, uid4, sizeof(uid4), msg, len), 0);
	expect_write(nfc, uid4, sizeof(uid4), HAL_NFC_WRITE_NO_CARD, NULL);
	remove_card(f, nfc);

	/* The card URL does not fit an NTAG213; a 424 DNA is not written. */
	present(f, PN532_EMU_NTAG213, uid7, sizeof(uid7), NULL);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG213, HAL_NFC_READ_OK, "", NULL);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, len), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_TOO_BIG, &ev);
	assert_int_equal(ev.ndef_len, 0);
	remove_card(f, nfc);
	present(f, PN532_EMU_NTAG424DNA, uid7, sizeof(uid7), NULL);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_OK,
			PN532_EMU_SUN_URI, NULL);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, len), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_UNSUPPORTED, NULL);

	/* Bad requests are refused at once. */
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, 0), -EINVAL);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, 0, msg, len), -EINVAL);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, HAL_NFC_NDEF_MAX + 1),
			 -EINVAL);
	close_promptly(nfc);
}

static void test_enrol_write_torn(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	uint8_t msg[HAL_NFC_NDEF_MAX], mem[126 * 4];
	const size_t len = card_message(msg, sizeof(msg));
	struct hal_nfc_event ev;
	struct ndef_uri u;
	enum ndef_status st;
	char err[128];

	present(f, PN532_EMU_NTAG215, uid7, sizeof(uid7), NULL);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK, "", NULL);
	/* Page 4 ("empty message") and page 5 are written, then every WRITE goes unanswered, as
	 * when the card leaves the field halfway. */
	assert_int_equal(
	    pn532_emu_command(f->emu, "fault rf-timeout 100 card a2 skip 2", err, sizeof(err)), 0);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, len), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_FAILED, &ev);
	/* Read back: blank, not half a message. */
	assert_int_equal(ev.read, HAL_NFC_READ_OK);
	assert_int_equal(ev.ndef_len, 0);
	assert_int_equal(pn532_emu_peek(f->emu, 4, mem, sizeof(mem)), 0);
	assert_int_equal(ndef_t2_uri(mem, sizeof(mem), &u, &st), 0);
	assert_int_equal(st, NDEF_EMPTY);
	assert_memory_equal(mem + 4, msg + 2, 4); /* page 5 did get written */
	/* Tap again, write again. */
	assert_int_equal(pn532_emu_command(f->emu, "fault none", err, sizeof(err)), 0);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, len), 0);
	expect_write(nfc, uid7, sizeof(uid7), HAL_NFC_WRITE_OK, &ev);
	assert_int_equal(ev.ndef_len, len);
	close_promptly(nfc);
}

/* ---- faults ---- */

/* Arm a fault, tap a card: the read recovers, the fault was used, the driver works on. */
static void tap_through_fault(struct fixture *f, struct hal_nfc *nfc, const char *fault)
{
	char err[128];

	print_message("%s\n", fault);
	assert_int_equal(pn532_emu_command(f->emu, fault, err, sizeof(err)), 0);
	present(f, PN532_EMU_NTAG215, uid7, sizeof(uid7), long_url(300));
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, HAL_NFC_READ_OK,
			long_url(300), NULL);
	assert_int_equal(pn532_emu_fault_left(f->emu), 0);
	expect_quiet(nfc, 200);
	remove_card(f, nfc);
}

static void test_faults_leave_driver_working(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);

	tap_through_fault(f, nfc, "fault rf-timeout 1 cmd 40");
	tap_through_fault(f, nfc, "fault crc 2");
	tap_through_fault(f, nfc, "fault checksum 1 cmd 40");
	tap_through_fault(f, nfc, "fault lost 1 cmd 40");
	tap_through_fault(f, nfc, "fault slow 50 3 cmd 40");  /* within the timeout */
	tap_through_fault(f, nfc, "fault slow 500 1 cmd 40"); /* past it: the late reply dropped */
	tap_through_fault(f, nfc, "fault lost 1 cmd 4a");     /* the search itself */
	tap_through_fault(f, nfc, "fault checksum 1 cmd 4a");
	/* And a plain card after all of it. */
	present(f, PN532_EMU_NTAG424DNA, uid4, sizeof(uid4), NULL);
	expect_tap_card(nfc, uid4, sizeof(uid4), HAL_NFC_TAG_NTAG424DNA, HAL_NFC_READ_OK,
			PN532_EMU_SUN_URI, NULL);
	close_promptly(nfc);
}

static void test_emulator_crash_mid_read(void **state)
{
	struct fixture *f = *state;
	struct hal_nfc *nfc = open_reader(f);
	char err[128];

	assert_int_equal(pn532_emu_command(f->emu, "fault slow 250 1 cmd 40", err, sizeof(err)), 0);
	unsigned before = pn532_emu_count(f->emu, 0x40);
	present(f, PN532_EMU_NTAG216, uid7, sizeof(uid7), url_short);
	wait_count(f, 0x40, before + 1);
	/* The reader dies while the card is read: no tap, the reader lost, then back. */
	pn532_emu_stop(f->emu);
	f->emu = NULL;
	expect_event(nfc, EVENT_WAIT_MS, HAL_NFC_READER_LOST);
	assert_int_equal(start_emu(f), 0);
	expect_event(nfc, BACK_WAIT_MS, HAL_NFC_READER_BACK);
	present(f, PN532_EMU_NTAG216, uid7, sizeof(uid7), url_short);
	expect_tap_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG216, HAL_NFC_READ_OK, url_short,
			NULL);
	close_promptly(nfc);
}

/* ---- nfc-list (libnfc-bin) ---- */

static void test_nfc_list_sees_cards(void **state)
{
	struct fixture *f = *state;
	char cmd[512], out[8192];
	size_t n;
	FILE *p;

	if (access("/usr/bin/nfc-list", X_OK) != 0) {
		print_message("nfc-list not installed (apt-get install libnfc-bin)\n");
		skip();
	}
	present(f, PN532_EMU_NTAG215, uid7, sizeof(uid7), url_short);
	snprintf(cmd, sizeof(cmd),
		 "LIBNFC_DEVICE='%s' LIBNFC_LOG_LEVEL=0 timeout 10 nfc-list -t 1 2>&1",
		 f->connstring);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "1 ISO14443A passive target(s) found"));
	assert_non_null(strstr(out, "04  a1  b2  c3  d4  e5  f6"));
	assert_non_null(strstr(out, "ATQA (SENS_RES): 00  44"));

	present(f, PN532_EMU_NTAG424DNA, uid7, sizeof(uid7), NULL);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "ATQA (SENS_RES): 03  44"));
	assert_non_null(strstr(out, "SAK (SEL_RES): 20"));
	assert_non_null(strstr(out, "ATS: 77  77  71  02  80"));
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
	    cmocka_unit_test_setup_teardown(test_read_ntag21x, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_ntag424, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_ntag424_sun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_card_removed_mid_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enrol_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enrol_write_torn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_faults_leave_driver_working, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emulator_crash_mid_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nfc_list_sees_cards, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
