/*
 * printer_link_test: the "serial", "usb" and "tcp" printer drivers against the printer
 * emulator on a real pty and a real TCP socket on 127.0.0.1: printing, DLE EOT states, paper
 * out mid-receipt, a printer offline from the start, a slow link, refused and unanswered
 * connects, and the reprint queue draining after recovery with no duplicate.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "printer-emu.h"
#include "printer.h"
#include "spool.h"

#define STATUS_MS 300
/* More than a pty holds (its buffers stop at 640 KiB), less than a job may be. */
#define PRINTER_LINK_TEST_BIG (1024 * 1024)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A receipt-like job of len bytes that names itself, so it can be counted in what printed. */
static uint8_t *make_job(const char *name, size_t len)
{
	uint8_t *p = malloc(len);
	assert_non_null(p);
	size_t off = (size_t) snprintf((char *) p, len, "\x1b@RECEIPT %s\n", name);
	for (size_t i = 0; off < len; i++, off++)
		p[off] = (i % 33 == 32) ? '\n' : (uint8_t) ('A' + (i * 7 + name[0]) % 26);
	return p;
}

static struct printer_emu *start_emu(bool pty, bool tcp)
{
	struct printer_emu_config cfg = {.pty = pty, .tcp = tcp};
	struct printer_emu *emu;
	assert_int_equal(printer_emu_start(&cfg, &emu), 0);
	return emu;
}

static struct hal_printer *open_serial(struct printer_emu *emu, int timeout_ms,
				       enum hal_printer_status_mode status)
{
	struct hal_printer_config cfg = {
	    .path = printer_emu_pty_path(emu),
	    .baud = 115200,
	    .flow = HAL_PRINTER_FLOW_RTSCTS,
	    .timeout_ms = timeout_ms,
	    .status_timeout_ms = STATUS_MS,
	    .status = status,
	};
	struct hal_printer *p;
	assert_int_equal(hal_printer_open("serial", &cfg, &p), 0);
	return p;
}

static struct hal_printer *open_tcp(struct printer_emu *emu, int timeout_ms,
				    enum hal_printer_status_mode status)
{
	struct hal_printer_config cfg = {
	    .host = "127.0.0.1",
	    .port = printer_emu_tcp_port(emu),
	    .timeout_ms = timeout_ms,
	    .status_timeout_ms = STATUS_MS,
	    .status = status,
	};
	struct hal_printer *p;
	assert_int_equal(hal_printer_open("tcp", &cfg, &p), 0);
	return p;
}

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/printer_link_test.XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_dir(char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

/* Wait until the emulator has printed at least n bytes (it reads on its own thread). */
static void wait_printed(struct printer_emu *emu, const void *job, size_t len, size_t count)
{
	for (int i = 0; i < 200 && printer_emu_count(emu, job, len) < count; i++)
		usleep(10000);
}

static void test_serial_prints_and_reports_state(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	struct hal_printer *p = open_serial(emu, 3000, HAL_PRINTER_STATUS_AUTO);
	enum hal_printer_state ps;
	uint8_t *job = make_job("T1-000001", 1500);

	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_READY);
	assert_int_equal(hal_printer_print(p, "T1-000001", job, 1500), 0);
	/* the answer after the job came once the emulator read every byte */
	assert_int_equal(printer_emu_count(emu, job, 1500), 1);

	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_PAPER_OUT), 0);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_PAPER_OUT);
	assert_int_equal(hal_printer_print(p, "T1-000002", job, 100), -ENOSPC);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_COVER_OPEN), 0);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_COVER_OPEN);
	assert_int_equal(hal_printer_print(p, "T1-000002", job, 100), -EIO);
	/* it answered before: silence now means offline, quickly */
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_OFFLINE), 0);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	assert_int_equal(hal_printer_print(p, "T1-000002", job, 100), -EIO);
	assert_true(now_ms() - t0 < 4 * STATUS_MS + 300);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_READY), 0);
	assert_int_equal(hal_printer_print(p, "T1-000003", job, 1500), 0);
	assert_int_equal(printer_emu_count(emu, job, 1500), 2);

	hal_printer_close(p);
	printer_emu_stop(emu);
	free(job);
}

static void test_serial_config_and_not_a_tty(void **state)
{
	(void) state;
	struct hal_printer *p;
	struct hal_printer_config bad_baud = {.path = "/dev/ttyS0", .baud = 4800};
	assert_int_equal(hal_printer_open("serial", &bad_baud, &p), -EINVAL);
	struct hal_printer_config bad_flow = {.path = "/dev/ttyS0", .flow = HAL_PRINTER_FLOW_MAX};
	assert_int_equal(hal_printer_open("serial", &bad_flow, &p), -EINVAL);
	struct hal_printer_config relative = {.path = "ttyS0"};
	assert_int_equal(hal_printer_open("serial", &relative, &p), -EINVAL);

	/* opened at the first job: a missing port is a failed job, not a failed start */
	struct hal_printer_config gone = {.path = "/nonexistent/ttyUSB0", .timeout_ms = 500};
	assert_int_equal(hal_printer_open("serial", &gone, &p), 0);
	assert_int_equal(hal_printer_print(p, "a", "x", 1), -EIO);
	enum hal_printer_state ps;
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	hal_printer_close(p);

	char *dir = temp_dir(), path[128];
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	struct hal_printer_config file = {.path = path};
	assert_int_equal(hal_printer_open("serial", &file, &p), 0);
	assert_int_equal(hal_printer_print(p, "a", "x", 1), -ENOTTY);
	hal_printer_close(p);
	remove_dir(dir);
}

/* Paper runs out 300 bytes into a receipt: the job fails, the spool keeps it, the drain
 * prints it once when the paper is back. */
static void paper_out_mid_receipt(struct printer_emu *emu, struct hal_printer *p)
{
	char *dir = temp_dir(), spool_dir[160];
	struct spool *spool;
	struct spool_drain_result res;
	uint8_t *job = make_job("T1-000007", 2000);

	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", dir);
	assert_int_equal(spool_open(spool_dir, &spool), 0);
	assert_int_equal(printer_emu_paper_out_after(emu, 300), 0);
	assert_int_equal(hal_printer_print(p, "T1-000007", job, 2000), -ENOSPC);
	assert_int_equal(printer_emu_get_state(emu), PRINTER_EMU_PAPER_OUT);
	assert_int_equal(spool_add(spool, "T1-000007", job, 2000), 0);
	assert_int_equal(spool_add(spool, "T1-000007", job, 2000), 1); /* held once */

	/* still out of paper: nothing printed, nothing lost */
	assert_int_equal(spool_drain(spool, p, &res), 0);
	assert_int_equal(res.error, -ENOSPC);
	assert_string_equal(res.failed, "T1-000007");
	assert_int_equal(res.left, 1);
	assert_int_equal(spool_count(spool), 1);

	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_READY), 0);
	assert_int_equal(spool_drain(spool, p, &res), 1);
	assert_int_equal(res.error, 0);
	assert_int_equal(res.left, 0);
	assert_int_equal(spool_count(spool), 0);
	assert_int_equal(spool_drain(spool, p, &res), 0);
	wait_printed(emu, job, 2000, 1);
	assert_int_equal(printer_emu_count(emu, job, 2000), 1);
	/* the receipt's start came out before the paper ended, then the whole receipt once */
	assert_int_equal(printer_emu_count(emu, job, 200), 2);

	spool_close(spool);
	remove_dir(dir);
	free(job);
}

static void test_serial_paper_out_mid_receipt(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	struct hal_printer *p = open_serial(emu, 3000, HAL_PRINTER_STATUS_AUTO);
	paper_out_mid_receipt(emu, p);
	hal_printer_close(p);
	printer_emu_stop(emu);
}

static void test_tcp_paper_out_mid_receipt(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(false, true);
	struct hal_printer *p = open_tcp(emu, 3000, HAL_PRINTER_STATUS_AUTO);
	paper_out_mid_receipt(emu, p);
	hal_printer_close(p);
	printer_emu_stop(emu);
}

/* The printer is offline before the first job: with status "required" the job fails at once,
 * nothing of it reaches the printer, and it prints once from the spool when the printer is
 * back. With "auto", a printer never heard is of unknown state. */
static void offline_at_start(struct printer_emu *emu, struct hal_printer *p,
			     struct hal_printer *unsure)
{
	char *dir = temp_dir(), spool_dir[160];
	struct spool *spool;
	struct spool_drain_result res;
	enum hal_printer_state ps;
	uint8_t *job = make_job("T1-000009", 1200);

	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", dir);
	assert_int_equal(spool_open(spool_dir, &spool), 0);
	assert_int_equal(hal_printer_state(unsure, &ps), -ENODATA);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000009", job, 1200), -EIO);
	assert_true(now_ms() - t0 < STATUS_MS + 500);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	assert_int_equal(spool_add(spool, "T1-000009", job, 1200), 0);
	assert_int_equal(spool_drain(spool, p, &res), 0);
	assert_int_equal(res.error, -EIO);

	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_READY), 0);
	assert_int_equal(spool_drain(spool, p, &res), 1);
	assert_int_equal(spool_count(spool), 0);
	assert_int_equal(hal_printer_state(unsure, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_READY);
	wait_printed(emu, job, 1200, 1);
	usleep(100000);
	assert_int_equal(printer_emu_count(emu, job, 1200), 1);

	spool_close(spool);
	remove_dir(dir);
	free(job);
}

static void test_serial_offline_at_start(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_OFFLINE), 0);
	struct hal_printer *p = open_serial(emu, 3000, HAL_PRINTER_STATUS_REQUIRED);
	struct hal_printer *unsure = open_serial(emu, 3000, HAL_PRINTER_STATUS_AUTO);
	offline_at_start(emu, p, unsure);
	hal_printer_close(unsure);
	hal_printer_close(p);
	printer_emu_stop(emu);
}

static void test_tcp_offline_at_start(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(false, true);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_OFFLINE), 0);
	struct hal_printer *p = open_tcp(emu, 3000, HAL_PRINTER_STATUS_REQUIRED);
	struct hal_printer *unsure = open_tcp(emu, 3000, HAL_PRINTER_STATUS_AUTO);
	offline_at_start(emu, p, unsure);
	hal_printer_close(unsure);
	hal_printer_close(p);
	printer_emu_stop(emu);
}

/* Questions asked while the printer was offline are answered when it is back: those late
 * answers are not taken for the answers about the next job. */
static void test_serial_late_answers(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	struct hal_printer *p = open_serial(emu, 3000, HAL_PRINTER_STATUS_AUTO);
	uint8_t *job = make_job("T1-000010", 2500);
	enum hal_printer_state ps;

	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_OFFLINE), 0);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	/* back, and slow: six answers owed come before the ones about this job */
	assert_int_equal(printer_emu_set_rate(emu, 5000), 0);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_READY), 0);
	assert_int_equal(hal_printer_print(p, "T1-000010", job, 2500), 0);
	/* confirmed only once the printer read the whole job */
	assert_int_equal(printer_emu_count(emu, job, 2500), 1);
	hal_printer_close(p);
	printer_emu_stop(emu);
	free(job);
}

/* A link that takes 4000 bytes a second: 6000 bytes go through within a 4 s timeout, at the
 * link's pace; at 1000 bytes a second they do not, and the job fails at its deadline. */
static void test_serial_slow_link(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	struct hal_printer *p = open_serial(emu, 4000, HAL_PRINTER_STATUS_AUTO);
	uint8_t *job = make_job("T1-000011", 6000);
	enum hal_printer_state ps;

	assert_int_equal(hal_printer_state(p, &ps), 0); /* heard: it answers */
	assert_int_equal(printer_emu_set_rate(emu, 4000), 0);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000011", job, 6000), 0);
	int64_t took = now_ms() - t0;
	assert_true(took >= 1200 && took < 4000);
	assert_int_equal(printer_emu_count(emu, job, 6000), 1);
	hal_printer_close(p);

	p = open_serial(emu, 800, HAL_PRINTER_STATUS_AUTO);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(printer_emu_set_rate(emu, 1000), 0);
	t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000012", job, 6000), -ETIMEDOUT);
	took = now_ms() - t0;
	assert_true(took >= 700 && took < 1500);
	hal_printer_close(p);
	printer_emu_stop(emu);
	free(job);
}

/* A printer that stops reading, on a write-only link: the writes give up at the deadline. */
static void test_serial_write_timeout(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	struct hal_printer *p = open_serial(emu, 500, HAL_PRINTER_STATUS_NONE);
	uint8_t *job = make_job("T1-000015", PRINTER_LINK_TEST_BIG);

	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_OFFLINE), 0);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000015", job, PRINTER_LINK_TEST_BIG), -ETIMEDOUT);
	int64_t took = now_ms() - t0;
	assert_true(took >= 450 && took < 1500);
	hal_printer_close(p);
	printer_emu_stop(emu);
	free(job);
}

static void test_usb_on_a_character_device(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(true, false);
	struct hal_printer_config cfg = {
	    .path = printer_emu_pty_path(emu), .timeout_ms = 2000, .status_timeout_ms = STATUS_MS};
	struct hal_printer *p;
	enum hal_printer_state ps;
	uint8_t *job = make_job("T1-000013", 800);

	assert_int_equal(hal_printer_open("usb", &cfg, &p), 0);
	assert_int_equal(hal_printer_print(p, "T1-000013", job, 800), 0);
	assert_int_equal(printer_emu_count(emu, job, 800), 1);
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_PAPER_OUT), 0);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_PAPER_OUT);
	assert_int_equal(hal_printer_print(p, "T1-000014", job, 800), -ENOSPC);
	hal_printer_close(p);

	/* status "none": write-only, no questions asked, no state */
	cfg.status = HAL_PRINTER_STATUS_NONE;
	assert_int_equal(printer_emu_set_state(emu, PRINTER_EMU_READY), 0);
	assert_int_equal(hal_printer_open("usb", &cfg, &p), 0);
	assert_int_equal(hal_printer_state(p, &ps), -ENODATA);
	unsigned asked = printer_emu_queries(emu);
	assert_int_equal(hal_printer_print(p, "T1-000015", job, 800), 0);
	wait_printed(emu, job, 800, 2);
	assert_int_equal(printer_emu_count(emu, job, 800), 2);
	assert_int_equal(printer_emu_queries(emu), asked);
	hal_printer_close(p);
	printer_emu_stop(emu);

	/* a device that never answers (here a file, read at its end): the job goes out, the
	 * questions cost no more than their timeout, the state stays unknown */
	char *dir = temp_dir(), path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/lp0", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	cfg.path = path;
	cfg.status = HAL_PRINTER_STATUS_AUTO;
	assert_int_equal(hal_printer_open("usb", &cfg, &p), 0);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000016", job, 800), 0);
	assert_true(now_ms() - t0 < 2 * STATUS_MS + 300);
	assert_int_equal(hal_printer_state(p, &ps), -ENODATA);
	hal_printer_close(p);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 9 + 800 + 9 + 9); /* questions, job, question, question */
	remove_dir(dir);
	free(job);
}

static void test_tcp_prints_and_config(void **state)
{
	(void) state;
	struct printer_emu *emu = start_emu(false, true);
	struct hal_printer *p;
	char path[64];
	uint8_t *job = make_job("T1-000020", 3000);
	enum hal_printer_state ps;

	/* "host:port" in path when no host is given */
	snprintf(path, sizeof(path), "127.0.0.1:%u", printer_emu_tcp_port(emu));
	struct hal_printer_config cfg = {.path = path, .status_timeout_ms = STATUS_MS};
	assert_int_equal(hal_printer_open("tcp", &cfg, &p), 0);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_READY);
	assert_int_equal(hal_printer_print(p, "T1-000020", job, 3000), 0);
	assert_int_equal(hal_printer_print(p, "T1-000021", job, 3000), 0); /* a new connection */
	assert_int_equal(printer_emu_count(emu, job, 3000), 2);
	hal_printer_close(p);

	static const char *const bad[] = {"printer.local:9100", "127.0.0.1:0", "127.0.0.1:70000",
					  "127.0.0.1:",		"[::1",	       ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hal_printer_config b = {.path = bad[i]};
		if (hal_printer_open("tcp", &b, &p) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	}
	struct hal_printer_config v6 = {.path = "[::1]:9100"};
	assert_int_equal(hal_printer_open("tcp", &v6, &p), 0);
	hal_printer_close(p);
	struct hal_printer_config named = {.host = "printer.local"};
	assert_int_equal(hal_printer_open("tcp", &named, &p), -EINVAL);
	printer_emu_stop(emu);
	free(job);
}

static void test_tcp_connect_refused(void **state)
{
	(void) state;
	/* a port that was just free: nothing listens there */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	close(fd);

	struct hal_printer_config cfg = {.host = "127.0.0.1", .port = ntohs(a.sin_port)};
	struct hal_printer *p;
	enum hal_printer_state ps;
	assert_int_equal(hal_printer_open("tcp", &cfg, &p), 0);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000030", "x", 1), -EIO);
	assert_true(now_ms() - t0 < 500);
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	hal_printer_close(p);
}

/* A listener that never accepts, its backlog full: connects go unanswered. */
static void test_tcp_connect_timeout(void **state)
{
	(void) state;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fillers[8], n = 0;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *) &a, &len), 0);
	for (; n < 8; n++) {
		fillers[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int r = connect(fillers[n], (struct sockaddr *) &a, sizeof(a));
		assert_true(r == 0 || errno == EINPROGRESS);
		struct pollfd pfd = {.fd = fillers[n], .events = POLLOUT};
		if (poll(&pfd, 1, 200) == 0) {
			n++;
			break; /* this one hangs: the backlog is full */
		}
	}
	assert_true(n < 8);

	struct hal_printer_config cfg = {.host = "127.0.0.1",
					 .port = ntohs(a.sin_port),
					 .timeout_ms = 600,
					 .status_timeout_ms = STATUS_MS};
	struct hal_printer *p;
	enum hal_printer_state ps;
	assert_int_equal(hal_printer_open("tcp", &cfg, &p), 0);
	int64_t t0 = now_ms();
	assert_int_equal(hal_printer_print(p, "T1-000031", "x", 1), -ETIMEDOUT);
	int64_t took = now_ms() - t0;
	assert_true(took >= 550 && took < 1500);
	t0 = now_ms();
	assert_int_equal(hal_printer_state(p, &ps), 0);
	assert_int_equal(ps, HAL_PRINTER_OFFLINE);
	assert_true(now_ms() - t0 < STATUS_MS + 300);
	hal_printer_close(p);
	for (int i = 0; i < n; i++)
		close(fillers[i]);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serial_prints_and_reports_state),
	    cmocka_unit_test(test_serial_config_and_not_a_tty),
	    cmocka_unit_test(test_serial_paper_out_mid_receipt),
	    cmocka_unit_test(test_tcp_paper_out_mid_receipt),
	    cmocka_unit_test(test_serial_offline_at_start),
	    cmocka_unit_test(test_tcp_offline_at_start),
	    cmocka_unit_test(test_serial_late_answers),
	    cmocka_unit_test(test_serial_slow_link),
	    cmocka_unit_test(test_serial_write_timeout),
	    cmocka_unit_test(test_usb_on_a_character_device),
	    cmocka_unit_test(test_tcp_prints_and_config),
	    cmocka_unit_test(test_tcp_connect_refused),
	    cmocka_unit_test(test_tcp_connect_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
