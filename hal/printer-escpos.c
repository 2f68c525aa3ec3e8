/*
 * printer-escpos: an ESC/POS printer behind a character device (USB /dev/usb/lp0, a serial
 * port) or a plain file, opened for writing (append for regular files). The job's bytes are
 * collected and written out at end_job in one go, so a failed job is never half-sent by our
 * side. Serial line settings are the system's (set them with a udev rule or stty). Paper-out
 * and offline are reported by the kernel as ENOSPC / EIO on write where the device driver does.
 */
#include "printer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ESCPOS_WRITE_TIMEOUT_MS 10000

struct escpos_printer {
	struct hal_printer base;
	char path[PATH_MAX];
	int fd;
	bool in_job;
	uint8_t *job;
	size_t job_len;
};

static int escpos_reopen(struct escpos_printer *p)
{
	if (p->fd >= 0)
		return 0;
	struct stat st;
	int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
	if (stat(p->path, &st) == 0 && S_ISREG(st.st_mode))
		flags |= O_APPEND;
	else if (stat(p->path, &st) < 0 && errno == ENOENT)
		flags |= O_APPEND | O_CREAT; /* a file that does not exist yet */
	else
		flags |= O_NONBLOCK;
	p->fd = open(p->path, flags, 0644);
	return p->fd < 0 ? -errno : 0;
}

static int escpos_open(const struct hal_printer_config *config, struct hal_printer **ret_printer)
{
	if (!config->path || !*config->path || strlen(config->path) >= PATH_MAX)
		return -EINVAL;
	struct escpos_printer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->base.ops = &hal_printer_escpos_ops;
	p->fd = -1;
	memcpy(p->path, config->path, strlen(config->path) + 1);
	int r = escpos_reopen(p);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret_printer = &p->base;
	return 0;
}

static void escpos_close(struct hal_printer *printer)
{
	struct escpos_printer *p = (struct escpos_printer *) printer;
	if (p->fd >= 0)
		close(p->fd);
	free(p->job);
	free(p);
}

static int escpos_begin_job(struct hal_printer *printer, const char *job_name)
{
	struct escpos_printer *p = (struct escpos_printer *) printer;
	(void) job_name;
	p->job_len = 0;
	p->in_job = true;
	return 0;
}

static int escpos_write(struct hal_printer *printer, const void *data, size_t len)
{
	struct escpos_printer *p = (struct escpos_printer *) printer;
	if (!p->in_job)
		return -EINVAL;
	uint8_t *n = realloc(p->job, p->job_len + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + p->job_len, data, len);
	p->job = n;
	p->job_len += len;
	return 0;
}

static int escpos_end_job(struct hal_printer *printer)
{
	struct escpos_printer *p = (struct escpos_printer *) printer;
	if (!p->in_job)
		return -EINVAL;
	p->in_job = false;
	int r = escpos_reopen(p);
	if (r < 0)
		return r;
	size_t off = 0;
	while (off < p->job_len) {
		ssize_t n = write(p->fd, p->job + off, p->job_len - off);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
			int pr = poll(&pfd, 1, ESCPOS_WRITE_TIMEOUT_MS);
			if (pr == 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			/* the device may come back (USB replug): reopen at the next job */
			close(p->fd);
			p->fd = -1;
			return r;
		}
		off += (size_t) n;
	}
	return 0;
}

const struct hal_printer_ops hal_printer_escpos_ops = {
    .name = "escpos",
    .open = escpos_open,
    .close = escpos_close,
    .begin_job = escpos_begin_job,
    .write = escpos_write,
    .end_job = escpos_end_job,
};
