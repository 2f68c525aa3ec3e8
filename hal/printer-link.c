/*
 * printer-link: the job machine of the "usb", "serial" and "tcp" printer drivers (see
 * printer-priv.h). Every wait is a poll() against one deadline per job, so a printer that
 * stops reading, a link that is slow or a host that does not answer costs at most the job's
 * timeout. Not a spooler: a failed job is the caller's to keep (app/spool).
 */
#include "printer-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

/* DLE EOT 1 (printer), 2 (offline cause), 4 (roll paper sensor), asked in one go. */
static const uint8_t status_query[] = {0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x04};
static const unsigned status_query_n[] = {1, 2, 4};
#define STATUS_ANSWERS 3

#define TIMEOUT_MS_MAX 60000

int64_t printer_link_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline_ms)
{
	int64_t left = deadline_ms - printer_link_now_ms();
	return left <= 0 ? 0 : left > TIMEOUT_MS_MAX ? TIMEOUT_MS_MAX : (int) left;
}

int printer_link_new(const struct hal_printer_ops *ops, const struct printer_link_ops *lops,
		     const struct hal_printer_config *config, struct printer_link **ret_link)
{
	if (config->timeout_ms < 0 || config->timeout_ms > TIMEOUT_MS_MAX ||
	    config->status_timeout_ms < 0 || config->status_timeout_ms > TIMEOUT_MS_MAX ||
	    (unsigned) config->status >= HAL_PRINTER_STATUS_MODE_MAX)
		return -EINVAL;
	struct printer_link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = ops;
	l->lops = lops;
	l->fd = -1;
	l->status = config->status;
	l->timeout_ms = config->timeout_ms ? config->timeout_ms : HAL_PRINTER_TIMEOUT_MS_DEFAULT;
	l->status_timeout_ms = config->status_timeout_ms ? config->status_timeout_ms
							 : HAL_PRINTER_STATUS_TIMEOUT_MS_DEFAULT;
	*ret_link = l;
	return 0;
}

void printer_link_disconnect(struct printer_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void printer_link_close(struct hal_printer *printer)
{
	struct printer_link *l = (struct printer_link *) printer;
	printer_link_disconnect(l);
	free(l->job);
	free(l);
}

int printer_link_begin_job(struct hal_printer *printer, const char *job_name)
{
	struct printer_link *l = (struct printer_link *) printer;
	if (!hal_printer_job_name_valid(job_name))
		return -EINVAL;
	l->job_len = 0;
	l->in_job = true;
	return 0;
}

int printer_link_write(struct hal_printer *printer, const void *data, size_t len)
{
	struct printer_link *l = (struct printer_link *) printer;
	if (!l->in_job)
		return -EINVAL;
	if (len > PRINTER_LINK_JOB_MAX - l->job_len)
		return -EFBIG;
	if (l->job_len + len > l->job_cap) {
		size_t cap = l->job_cap ? l->job_cap : 4096;
		while (cap < l->job_len + len)
			cap *= 2;
		uint8_t *n = realloc(l->job, cap);
		if (!n)
			return -ENOMEM;
		l->job = n;
		l->job_cap = cap;
	}
	if (len)
		memcpy(l->job + l->job_len, data, len);
	l->job_len += len;
	return 0;
}

/* The link broke under us: the printer is gone or unreachable. */
static int link_errno(int e)
{
	switch (e) {
	case EPIPE:
	case ECONNRESET:
	case ECONNREFUSED:
	case ECONNABORTED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case ENOENT:
	case ENODEV:
	case ENXIO:
	case ENOTCONN:
		return -EIO;
	default:
		return -e;
	}
}

/* Write all of data before the deadline. */
static int write_all(struct printer_link *l, const uint8_t *data, size_t len, int64_t deadline_ms)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = l->lops->socket ? send(l->fd, data + off, len - off, MSG_NOSIGNAL)
					    : write(l->fd, data + off, len - off);
		if (n >= 0) {
			off += (size_t) n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return link_errno(errno);
		struct pollfd pfd = {.fd = l->fd, .events = POLLOUT};
		int wait = remaining_ms(deadline_ms);
		if (wait == 0)
			return -ETIMEDOUT;
		int pr = poll(&pfd, 1, wait);
		if (pr < 0 && errno != EINTR)
			return -errno;
		if (pr > 0 && (pfd.revents & (POLLERR | POLLHUP)) && !(pfd.revents & POLLOUT))
			return -EIO;
	}
	return 0;
}

/* A device that cannot be read (usblp says EINVAL for a printer that does not talk back):
 * from now on the link is write-only and the printer's state unknown. */
static int read_failed(struct printer_link *l, int e)
{
	if (!l->lops->socket && (e == EINVAL || e == EOPNOTSUPP || e == EBADF)) {
		l->can_read = false;
		return -ENODATA;
	}
	return link_errno(e);
}

/* Drop whatever the printer sent that nobody asked for (late answers to an earlier question). */
static int drain_input(struct printer_link *l)
{
	uint8_t junk[256];
	for (;;) {
		ssize_t n = read(l->fd, junk, sizeof(junk));
		if (n > 0)
			continue;
		if (n == 0)
			return l->lops->socket ? -EIO : 0; /* a socket's peer hung up */
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : read_failed(l, errno);
	}
}

/* A byte that can be a status answer (0xx1xx10b); anything else is noise on the line. */
static bool is_status_byte(uint8_t b)
{
	struct hal_printer_status st = {0};
	return hal_printer_dle_eot_parse(1, b, &st) == 0;
}

/*
 * Ask DLE EOT 1, 2 and 4 and wait for the answers until the deadline. Returns 0 with the state
 * when at least one answer came (the ones that did not count as fine), -ENODATA when none
 * came, or a negative errno when the link failed.
 *
 * Questions that timed out may still be answered later (a printer back from offline answers
 * what waited in its buffer), after the input was drained. Their answers come first, so the
 * link counts them (owed) and waits for owed + 3 answers, keeping the last three; when fewer
 * come, the last three that did are taken as ours and the rest counted lost.
 */
static int ask_status(struct printer_link *l, int64_t deadline_ms, enum hal_printer_state *ret)
{
	struct hal_printer_status st = {0};
	uint8_t last[STATUS_ANSWERS];
	size_t got = 0, want = l->owed + STATUS_ANSWERS;
	int r;

	if (!l->can_read)
		return -ENODATA;
	if ((r = drain_input(l)) < 0)
		return r;
	if ((r = write_all(l, status_query, sizeof(status_query), deadline_ms)) < 0)
		return r == -ETIMEDOUT ? -ENODATA : r;
	while (got < want) {
		uint8_t b;
		ssize_t n = read(l->fd, &b, 1);
		if (n == 1) {
			if (is_status_byte(b))
				last[got++ % STATUS_ANSWERS] = b;
			continue;
		}
		if (n == 0 && l->lops->socket)
			return -EIO; /* the peer hung up */
		if (n == 0)
			break; /* the end of a file: nothing more will come */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return read_failed(l, errno);
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		int wait = remaining_ms(deadline_ms);
		if (wait == 0)
			break;
		int pr = poll(&pfd, 1, wait);
		if (pr < 0 && errno != EINTR)
			return -errno;
		if (pr > 0 && !(pfd.revents & POLLIN) && (pfd.revents & (POLLERR | POLLHUP)))
			return -EIO;
	}
	if (got == 0) {
		l->owed = want > PRINTER_LINK_OWED_MAX ? PRINTER_LINK_OWED_MAX : want;
		return -ENODATA;
	}
	/* the last answers are ours; a printer that answers only some questions gives fewer */
	size_t ours = got < STATUS_ANSWERS ? got : STATUS_ANSWERS;
	for (size_t i = 0; i < ours; i++) {
		uint8_t b = last[(got - ours + i) % STATUS_ANSWERS];
		if (hal_printer_dle_eot_parse(status_query_n[i], b, &st) < 0)
			continue; /* cannot be: is_status_byte() let it in */
	}
	l->owed = 0;
	l->heard = true;
	*ret = hal_printer_status_state(&st);
	return 0;
}

/* Silence means offline once the printer is known to answer. */
static bool silence_is_offline(const struct printer_link *l)
{
	return l->status == HAL_PRINTER_STATUS_REQUIRED || l->heard;
}

static int fail_job(struct printer_link *l, int r)
{
	if (l->fd >= 0 && l->lops->discard)
		l->lops->discard(l);
	/* reconnect at the next job: the device may have been replugged, the line reset */
	printer_link_disconnect(l);
	return r;
}

int printer_link_end_job(struct hal_printer *printer)
{
	struct printer_link *l = (struct printer_link *) printer;
	enum hal_printer_state state;
	int64_t deadline, now;
	int r;

	if (!l->in_job)
		return -EINVAL;
	l->in_job = false;
	deadline = printer_link_now_ms() + l->timeout_ms;
	if ((r = l->lops->connect(l, deadline)) < 0)
		return fail_job(l, link_errno(-r));

	if (l->status != HAL_PRINTER_STATUS_NONE) {
		now = printer_link_now_ms();
		int64_t asked =
		    now + l->status_timeout_ms < deadline ? now + l->status_timeout_ms : deadline;
		r = ask_status(l, asked, &state);
		if (r == 0 && state != HAL_PRINTER_READY)
			return fail_job(l, hal_printer_state_errno(state));
		if (r == -ENODATA && silence_is_offline(l))
			return fail_job(l, -EIO);
		if (r < 0 && r != -ENODATA)
			return fail_job(l, r);
	}

	if ((r = write_all(l, l->job, l->job_len, deadline)) < 0)
		return fail_job(l, r);

	if (l->status != HAL_PRINTER_STATUS_NONE) {
		/* The answer comes after the printer read the job: wait for it until the job's
		 * deadline, and at least one status timeout. */
		now = printer_link_now_ms();
		int64_t asked =
		    deadline > now + l->status_timeout_ms ? deadline : now + l->status_timeout_ms;
		r = ask_status(l, asked, &state);
		if (r == 0 && state != HAL_PRINTER_READY)
			return fail_job(l, hal_printer_state_errno(state));
		if (r == -ENODATA && silence_is_offline(l))
			return fail_job(l, -ETIMEDOUT);
		if (r < 0 && r != -ENODATA)
			return fail_job(l, r);
	}
	if (l->lops->per_job) {
		/* a socket closed with unread input is reset, and a reset drops unsent bytes */
		(void) drain_input(l);
		printer_link_disconnect(l);
	}
	return 0;
}

int printer_link_state(struct hal_printer *printer, enum hal_printer_state *ret_state)
{
	struct printer_link *l = (struct printer_link *) printer;
	enum hal_printer_state state;
	int r;

	if (l->in_job)
		return -EBUSY;
	if (l->status == HAL_PRINTER_STATUS_NONE)
		return -ENODATA;
	int64_t deadline = printer_link_now_ms() + l->status_timeout_ms;
	r = l->lops->connect(l, deadline);
	if (r == 0)
		r = ask_status(l, deadline, &state);
	if (r == -ENODATA && !silence_is_offline(l)) {
		if (l->lops->per_job)
			printer_link_disconnect(l);
		return -ENODATA;
	}
	if (r < 0) {
		/* unreachable, vanished or silent: offline, and reconnect next time */
		printer_link_disconnect(l);
		state = HAL_PRINTER_OFFLINE;
	} else if (l->lops->per_job) {
		printer_link_disconnect(l);
	}
	*ret_state = state;
	return 0;
}
