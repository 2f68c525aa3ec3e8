/*
 * pn532_emu_test: the PN532 emulator on its own, spoken to in raw frames on its pty: the card
 * models (NTAG213/215/216 version bytes, capability containers and memory bounds; the NTAG 424
 * DNA's ATS and APDUs), the faults as the host sees them on the line (bad checksum, lost, slow
 * and dropped late replies, RF timeout leaving an NTAG idle), and the scenario language's
 * refusals; and the command line (scripts, the control socket and its client). libnfc is not
 * involved (nfc_libnfc_test does that). Every wait is bounded.
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
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ndef.h"
#include "pn532-emu.h"

static const uint8_t uid7[] = {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6};
static const uint8_t ack[] = {0x00, 0x00, 0xff, 0x00, 0xff, 0x00};

struct fixture {
	struct pn532_emu *emu;
	int fd;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_bytes(int fd, const uint8_t *bytes, size_t len)
{
	assert_int_equal(write(fd, bytes, len), (ssize_t) len);
}

static void send_command(int fd, const uint8_t *cmd, size_t len)
{
	uint8_t frame[300] = {0x00, 0x00, 0xff, (uint8_t) (len + 1), (uint8_t) - (len + 1), 0xd4};
	uint8_t sum = 0xd4;

	assert_true(len + 8 <= sizeof(frame) && len < 0xfe);
	memcpy(frame + 6, cmd, len);
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t) (sum + cmd[i]);
	frame[6 + len] = (uint8_t) -sum;
	frame[7 + len] = 0x00;
	send_bytes(fd, frame, len + 8);
}

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

static void expect_ack(int fd)
{
	uint8_t got[6];
	assert_int_equal(recv_bytes(fd, got, 6, 1000), 6);
	assert_memory_equal(got, ack, 6);
}

/*
 * Read one reply frame (normal or extended) to command cmd within timeout_ms: its parameters
 * go to out. Returns their length, or -1 when nothing came. *ret_dcs_ok says whether the data
 * checksum held.
 */
static int recv_reply(int fd, uint8_t cmd, uint8_t *out, size_t cap, int timeout_ms,
		      bool *ret_dcs_ok)
{
	uint8_t h[8], body[300];
	size_t len;

	if (recv_bytes(fd, h, 5, timeout_ms) != 5)
		return -1;
	assert_memory_equal(h, ((const uint8_t[]){0x00, 0x00, 0xff}), 3);
	if (h[3] == 0xff && h[4] == 0xff) {
		assert_int_equal(recv_bytes(fd, h + 5, 3, 1000), 3);
		assert_int_equal((uint8_t) (h[5] + h[6] + h[7]), 0);
		len = (size_t) h[5] << 8 | h[6];
	} else {
		assert_int_equal((uint8_t) (h[3] + h[4]), 0);
		len = h[3];
	}
	assert_true(len >= 2 && len + 2 <= sizeof(body));
	assert_int_equal(recv_bytes(fd, body, len + 2, 1000), len + 2);
	assert_int_equal(body[0], 0xd5);
	assert_int_equal(body[1], cmd + 1);
	uint8_t sum = 0;
	for (size_t i = 0; i <= len; i++)
		sum = (uint8_t) (sum + body[i]);
	if (ret_dcs_ok)
		*ret_dcs_ok = sum == 0;
	else
		assert_int_equal(sum, 0);
	assert_int_equal(body[len + 1], 0x00);
	assert_true(len - 2 <= cap);
	memcpy(out, body + 2, len - 2);
	return (int) len - 2;
}

/* A command and its whole answer; returns the parameters' length. */
static int exchange(int fd, const uint8_t *cmd, size_t len, uint8_t *out, size_t cap)
{
	send_command(fd, cmd, len);
	expect_ack(fd);
	int n = recv_reply(fd, cmd[0], out, cap, 1000, NULL);
	assert_true(n >= 0);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const uint8_t wake[] = {0x55, 0x55, 0x00, 0x00, 0x00, 0x00};
	struct termios tio;

	assert_non_null(f);
	assert_int_equal(pn532_emu_start(NULL, &f->emu), 0);
	f->fd = open(pn532_emu_path(f->emu), O_RDWR | O_NOCTTY);
	assert_true(f->fd >= 0);
	assert_int_equal(tcgetattr(f->fd, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(f->fd, TCSANOW, &tio), 0);
	send_bytes(f->fd, wake, sizeof(wake));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->fd);
	pn532_emu_stop(f->emu);
	free(f);
	return 0;
}

static void present(struct fixture *f, enum pn532_emu_card_type type, const char *uri)
{
	const struct pn532_emu_card card = {.type = type, .uid = uid7, .uid_len = 7, .uri = uri};
	assert_int_equal(pn532_emu_present_card(f->emu, &card), 0);
}

/* InListPassiveTarget of one type A card; returns the answer's length. */
static int list(struct fixture *f, uint8_t *out, size_t cap)
{
	return exchange(f->fd, (const uint8_t[]){0x4a, 0x01, 0x00}, 3, out, cap);
}

static void test_ntag21x_models(void **state)
{
	struct fixture *f = *state;
	static const struct {
		enum pn532_emu_card_type type;
		uint8_t storage, cc_size, last_page;
	} models[] = {
	    {PN532_EMU_NTAG213, 0x0f, 0x12, 44},
	    {PN532_EMU_NTAG215, 0x11, 0x3e, 134},
	    {PN532_EMU_NTAG216, 0x13, 0x6d, 230},
	};
	uint8_t out[300];
	int n;

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		present(f, models[i].type, "https://k.example.pl/c/1");
		n = list(f, out, sizeof(out));
		assert_int_equal(n, 13);
		assert_memory_equal(out, ((const uint8_t[]){0x01, 0x01, 0x00, 0x44, 0x00, 0x07}),
				    6);
		assert_memory_equal(out + 6, uid7, 7);
		/* GET_VERSION */
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x60}, 3, out, sizeof(out));
		assert_int_equal(n, 9);
		assert_memory_equal(out,
				    ((const uint8_t[]){0x00, 0x00, 0x04, 0x04, 0x02, 0x01, 0x00,
						       models[i].storage, 0x03}),
				    9);
		/* READ 3: the capability container, then the NDEF TLV */
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x30, 0x03}, 4, out, sizeof(out));
		assert_int_equal(n, 17);
		assert_memory_equal(out,
				    ((const uint8_t[]){0x00, 0xe1, 0x10, models[i].cc_size, 0x00,
						       0x03, 0x15, 0xd1, 0x01, 0x11, 'U', 0x04}),
				    12);
		/* The last page reads; one past it does not (status 01: no answer). */
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x30, models[i].last_page}, 4,
			     out, sizeof(out));
		assert_int_equal(n, 17);
		n = exchange(
		    f->fd, (const uint8_t[]){0x40, 0x01, 0x30, (uint8_t) (models[i].last_page + 1)},
		    4, out, sizeof(out));
		assert_int_equal(n, 1);
		assert_int_equal(out[0], 0x01);
		/* WRITE: user memory yes, the capability container and the config pages no. */
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0xa2, 0x05, 1, 2, 3, 4}, 8, out,
			     sizeof(out));
		assert_int_equal(n, 1);
		assert_int_equal(out[0], 0x00);
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0xa2, 0x03, 1, 2, 3, 4}, 8, out,
			     sizeof(out));
		assert_int_equal(out[0], 0x01);
		n = exchange(f->fd,
			     (const uint8_t[]){0x40, 0x01, 0xa2,
					       (uint8_t) (models[i].last_page - 4), 1, 2, 3, 4},
			     8, out, sizeof(out));
		assert_int_equal(out[0], 0x01);
		/* FAST_READ: up to 60 pages in one frame; 66 do not fit one and get no answer. */
		const uint8_t end = models[i].last_page < 63 ? models[i].last_page : 63;
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x3a, 0x04, end}, 5, out,
			     sizeof(out));
		assert_int_equal(n, (end - 4 + 1) * 4 + 1);
		assert_memory_equal(out + 5, ((const uint8_t[]){1, 2, 3, 4}), 4);
		n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x3a, 0x00, 0x00 + 65}, 5, out,
			     sizeof(out));
		assert_int_equal(n, 1);
		assert_int_equal(out[0], 0x01);
	}
}

static void test_ntag424_apdus(void **state)
{
	struct fixture *f = *state;
	uint8_t out[300];
	struct ndef_uri u;
	enum ndef_status st;
	int n;

	present(f, PN532_EMU_NTAG424DNA, NULL);
	n = list(f, out, sizeof(out));
	assert_int_equal(n, 19);
	assert_memory_equal(out, ((const uint8_t[]){0x01, 0x01, 0x03, 0x44, 0x20, 0x07}), 6);
	assert_memory_equal(out + 13, ((const uint8_t[]){0x06, 0x77, 0x77, 0x71, 0x02, 0x80}), 6);

	/* The file before the application: not found. */
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0xe1, 0x04},
		     9, out, sizeof(out));
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0x6a, 0x82}), 3);
	n = exchange(f->fd,
		     (const uint8_t[]){0x40, 0x01, 0x00, 0xa4, 0x04, 0x00, 0x07, 0xd2, 0x76, 0x00,
				       0x00, 0x85, 0x01, 0x01, 0x00},
		     15, out, sizeof(out));
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0x90, 0x00}), 3);
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0xe1, 0x04},
		     9, out, sizeof(out));
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0x90, 0x00}), 3);
	/* READ BINARY: NLEN, then the message, a URI with the SUN test data. */
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x00, 0xb0, 0x00, 0x00, 0x02}, 7, out,
		     sizeof(out));
	assert_int_equal(n, 5);
	assert_int_equal(out[3], 0x90);
	const size_t nlen = (size_t) out[1] << 8 | out[2];
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x00, 0xb0, 0x00, 0x02, (uint8_t) nlen},
		     7, out, sizeof(out));
	assert_int_equal(n, (int) nlen + 3);
	assert_int_equal(ndef_message_uri(out + 1, nlen, &u, &st), 0);
	assert_int_equal(st, NDEF_OK);
	assert_string_equal(u.text, PN532_EMU_SUN_URI);
	/* Past the file: wrong offset. */
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x00, 0xb0, 0x02, 0x00, 0x10}, 7, out,
		     sizeof(out));
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0x6b, 0x00}), 3);
	/* GetVersion: three frames, hardware type NTAG, subtype 424 DNA. */
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x90, 0x60, 0x00, 0x00, 0x00}, 7, out,
		     sizeof(out));
	assert_int_equal(n, 10);
	assert_memory_equal(
	    out, ((const uint8_t[]){0x00, 0x04, 0x04, 0x02, 0x30, 0x00, 0x11, 0x05, 0x91, 0xaf}),
	    10);
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x90, 0xaf, 0x00, 0x00, 0x00}, 7, out,
		     sizeof(out));
	assert_int_equal(out[n - 1], 0xaf);
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x90, 0xaf, 0x00, 0x00, 0x00}, 7, out,
		     sizeof(out));
	assert_int_equal(n, 17);
	assert_memory_equal(out + 1, uid7, 7);
	assert_memory_equal(out + 15, ((const uint8_t[]){0x91, 0x00}), 2);
	/* An instruction it does not know; libnfc's presence check (R(NAK)) gets an R(ACK). */
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x00, 0xca, 0x00, 0x00, 0x00}, 7, out,
		     sizeof(out));
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0x6d, 0x00}), 3);
	n = exchange(f->fd, (const uint8_t[]){0x42, 0xb2}, 2, out, sizeof(out));
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0xa2}), 2);
	/* No status byte ever has the NAD (0x80) or MI (0x40) bit libnfc cannot take. */
	assert_int_equal(out[0] & 0xc0, 0);
}

static void arm(struct fixture *f, const char *line)
{
	char err[200];
	int r = pn532_emu_command(f->emu, line, err, sizeof(err));
	if (r < 0)
		print_message("%s: %s\n", line, err);
	assert_int_equal(r, 0);
}

static void test_faults_on_the_line(void **state)
{
	struct fixture *f = *state;
	const uint8_t version[] = {0x40, 0x01, 0x60};
	uint8_t out[300];
	bool dcs_ok = true;
	int n;

	present(f, PN532_EMU_NTAG215, NULL);
	assert_int_equal(list(f, out, sizeof(out)), 13);

	/* A spoilt data checksum, once. */
	arm(f, "fault checksum 1 cmd 40");
	send_command(f->fd, version, sizeof(version));
	expect_ack(f->fd);
	assert_int_equal(recv_reply(f->fd, 0x40, out, sizeof(out), 1000, &dcs_ok), 9);
	assert_false(dcs_ok);
	assert_int_equal(pn532_emu_fault_left(f->emu), 0);
	assert_int_equal(exchange(f->fd, version, sizeof(version), out, sizeof(out)), 9);

	/* A lost reply: the ACK, then nothing. */
	arm(f, "fault lost");
	send_command(f->fd, version, sizeof(version));
	expect_ack(f->fd);
	assert_int_equal(recv_reply(f->fd, 0x40, out, sizeof(out), 300, NULL), -1);

	/* A slow reply comes late; one the host gave up on is dropped at its next command. */
	arm(f, "fault slow 150");
	int64_t t0 = mono_ms();
	assert_int_equal(exchange(f->fd, version, sizeof(version), out, sizeof(out)), 9);
	assert_true(mono_ms() - t0 >= 140);
	arm(f, "fault slow 300 cmd 40");
	send_command(f->fd, version, sizeof(version));
	expect_ack(f->fd);
	assert_int_equal(recv_reply(f->fd, 0x40, out, sizeof(out), 100, NULL), -1);
	send_command(f->fd, (const uint8_t[]){0x02}, 1); /* GetFirmwareVersion */
	expect_ack(f->fd);
	assert_int_equal(recv_reply(f->fd, 0x02, out, sizeof(out), 1000, NULL), 4);
	uint8_t extra[1];
	assert_int_equal(recv_bytes(f->fd, extra, 1, 400), 0); /* the late one never came */

	/* An RF timeout: status 01, and the NTAG is idle until it is selected again. */
	arm(f, "fault rf-timeout 1 card 60");
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x30, 0x04}, 4, out, sizeof(out));
	assert_int_equal(n, 17); /* not a GET_VERSION: let through */
	n = exchange(f->fd, version, sizeof(version), out, sizeof(out));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0x01);
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x30, 0x04}, 4, out, sizeof(out));
	assert_int_equal(out[0], 0x01);
	assert_int_equal(list(f, out, sizeof(out)), 13);
	n = exchange(f->fd, (const uint8_t[]){0x40, 0x01, 0x30, 0x04}, 4, out, sizeof(out));
	assert_int_equal(n, 17);
	/* A CRC error, skipping the first command it could hit. */
	arm(f, "fault crc 1 skip 1");
	n = exchange(f->fd, version, sizeof(version), out, sizeof(out));
	assert_int_equal(n, 9);
	n = exchange(f->fd, version, sizeof(version), out, sizeof(out));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0x02);
}

static void test_scenario_refusals(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *line;
		const char *why;
	} bad[] = {
	    {"tap", "usage: tap"},
	    {"tap ntag215", "usage: tap"},
	    {"tap ntag215 04A1B2", "not a UID"},
	    {"tap ntag215 zz", "not a UID"},
	    {"tap ntag215 04A1B2C3D4E5F6 https://x/ extra", "usage: tap"},
	    {"fault", "usage: fault"},
	    {"fault bogus", "usage: fault"},
	    {"fault slow", "delay in ms"},
	    {"fault slow 99999999", "delay in ms"},
	    {"fault lost 0", "count of 1 or more"},
	    {"fault lost cmd", "expected 'cmd HEX'"},
	    {"fault lost cmd zz", "expected 'cmd HEX'"},
	    {"fault lost 1 sometimes", "expected 'cmd HEX'"},
	    {"poke 4", "usage: poke"},
	    {"poke 4 0300FE00", "no card"},
	    {"sun-keys", "usage: sun-keys"},
	    {"sun-keys 00112233445566778899AABBCCDDEEFF", "usage: sun-keys"},
	    {"sun-keys 00112233445566778899AABBCCDDEEFF 0011", "usage: sun-keys"},
	    {"sun-keys 00112233445566778899AABBCCDDEEFF 00112233445566778899AABBCCDDEEFF 16777216",
	     "usage: sun-keys"},
	    {"frobnicate", "unknown command 'frobnicate'"},
	};
	char err[200], line[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pn532_emu_command(f->emu, bad[i].line, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].why))
			print_message("'%s' said '%s'\n", bad[i].line, err);
		assert_non_null(strstr(err, bad[i].why));
	}
	assert_int_equal(pn532_emu_command(f->emu,
					   "sun-keys 00112233445566778899AABBCCDDEEFF "
					   "00112233445566778899AABBCCDDEEFF 7",
					   err, sizeof(err)),
			 0);
	/* A URL an NTAG213 cannot hold. */
	snprintf(line, sizeof(line), "tap ntag213 04A1B2C3D4E5F6 https://k.example.pl/c/%0150d", 0);
	assert_int_equal(pn532_emu_command(f->emu, line, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not fit"));
	line[10] = '6'; /* an NTAG216 can */
	assert_int_equal(pn532_emu_command(f->emu, line, err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "poke 250 00", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "past the end"));
	/* Comments, blank lines and the good forms. */
	assert_int_equal(pn532_emu_command(f->emu, "", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "  # just a note", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "tap 04A1B2C3", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "tap ntag424 04A1B2C3D4E5F6 # SUN test URL", err,
					   sizeof(err)),
			 0);
	assert_int_equal(pn532_emu_command(f->emu, "poke 0 0003", err, sizeof(err)), 0);
	assert_int_equal(
	    pn532_emu_command(f->emu, "fault rf-timeout 3 card a2 skip 2", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_fault_left(f->emu), 3);
	assert_int_equal(pn532_emu_command(f->emu, "fault none", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_fault_left(f->emu), 0);
	assert_int_equal(pn532_emu_command(f->emu, "mute", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "unmute", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "remove", err, sizeof(err)), 0);
	assert_int_equal(pn532_emu_command(f->emu, "poke 4 00", err, sizeof(err)), -EINVAL);
}

/* ---- the command line ---- */

extern char **environ;

/* Exit status of a shell command (bounded by timeout(1)). */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command_line(void **state)
{
	const char *build = getenv("LOYALTY_BUILD_DIR");
	char emu[512], dir[] = "/tmp/pn532_emu_test.XXXXXX", sock[600], link[600], script[600];
	struct stat st;
	pid_t pid;
	int status = 0;

	(void) state;
	if (!build) {
		print_message("LOYALTY_BUILD_DIR not set (run through ctest)\n");
		skip();
	}
	snprintf(emu, sizeof(emu), "%s/tools/pn532-emu/pn532-emu", build);
	assert_int_equal(access(emu, X_OK), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(link, sizeof(link), "%s/pn532", dir);
	snprintf(script, sizeof(script), "%s/scenario", dir);

	/* A scenario file: good lines, then a crash (exit 3); a bad line stops it (exit 1). */
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs(
	    "# a card, a fault, gone\nat 0.05 tap ntag215 04A1B2C3D4E5F6 https://k.example.pl/c/X\n"
	    "wait 0.05\nfault lost 1 cmd 40\nremove\ncrash\ntap 04A1B2C3\n",
	    f);
	fclose(f);
	assert_int_equal(run("timeout 5 %s --script %s >/dev/null", emu, script), 3);
	f = fopen(script, "w");
	assert_non_null(f);
	fputs("tap ntag215 04A1B2C3D4E5F6\nfault sometimes\nquit\n", f);
	fclose(f);
	assert_int_equal(run("timeout 5 %s --script %s >/dev/null 2>&1", emu, script), 1);

	/* The control socket. */
	char opt_link[] = "--link", opt_control[] = "--control";
	char *const argv[] = {emu, opt_link, link, opt_control, sock, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawn(&pid, emu, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	const int64_t deadline = mono_ms() + 3000;
	while (stat(sock, &st) != 0 && mono_ms() < deadline)
		usleep(10000);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(lstat(link, &st), 0);
	assert_int_equal(
	    run("timeout 5 %s --send %s tap ntag424 04A1B2C3D4E5F6 >/dev/null", emu, sock), 0);
	assert_int_equal(run("timeout 5 %s --send %s fault bogus 2>/dev/null", emu, sock), 1);
	assert_int_equal(run("timeout 5 %s --send %s wait 1 2>/dev/null", emu, sock), 1);
	assert_int_equal(run("timeout 5 %s --send %s quit >/dev/null", emu, sock), 0);
	const int64_t end = mono_ms() + 3000;
	pid_t w;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && mono_ms() < end)
		usleep(10000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	assert_int_equal(w, pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* It tidied up: no link, no socket. */
	assert_int_not_equal(lstat(link, &st), 0);
	assert_int_not_equal(stat(sock, &st), 0);
	/* Nobody listening any more. */
	assert_int_equal(run("timeout 5 %s --send %s remove 2>/dev/null", emu, sock), 1);
	unlink(script);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ntag21x_models, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ntag424_apdus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_faults_on_the_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scenario_refusals, setup, teardown),
	    cmocka_unit_test(test_command_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
