/*
 * scanner-dev: the "serial" and "hid" scanner drivers, which share everything but how a device
 * is opened and how its bytes become characters.
 *
 * The handle's descriptor is an epoll set holding the device and a timerfd (CLOCK_MONOTONIC),
 * so it stays the same while the device goes away and comes back: the timer ends a partial line
 * after the timeout and paces the attempts to reopen a lost device. Reading the device never
 * blocks; a read error, end of file or a hang-up (a USB adapter pulled out) loses the device,
 * reports HAL_SCANNER_LOST and starts the attempts.
 *
 * "serial": the tty is set raw, 8N1, no flow control, VMIN 1 with O_NONBLOCK (so "no data" is
 * EAGAIN, and a read of 0 is a hang-up), input queued before the open is flushed.
 * "hid": struct input_event records; EV_KEY presses go through the US keymap, shift and caps
 * lock are tracked, key repeats and releases of character keys are ignored, other event types
 * (EV_SYN, EV_MSC scan codes, EV_LED) too. The event time stamps are not used: a line's
 * silence is measured on our monotonic clock when the bytes are read.
 */
#include "scanner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/input.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum dev_type { DEV_SERIAL, DEV_HID };

struct dev_scanner {
	struct hal_scanner base;
	enum dev_type type;
	char path[PATH_MAX];
	unsigned baud;
	bool grab;
	int retry_ms;
	int ep;		  /* epoll set: dev and tfd */
	int tfd;	  /* timerfd: line timeout, reopen pacing */
	int dev;	  /* the device, -1 while lost */
	int64_t retry_us; /* next reopen attempt while lost */
	struct hal_scanner_framer framer;
	uint8_t rbuf[64 * sizeof(struct input_event)];
	size_t rpos, rlen;
	/* "hid" key state */
	bool shift_l, shift_r, caps, ctrl, alt, meta;
};

static struct dev_scanner *to_dev(struct hal_scanner *scanner)
{
	return (struct dev_scanner *) scanner;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static speed_t baud_speed(unsigned baud)
{
	switch (baud) {
	case 1200:
		return B1200;
	case 2400:
		return B2400;
	case 4800:
		return B4800;
	case 19200:
		return B19200;
	case 38400:
		return B38400;
	case 57600:
		return B57600;
	case 115200:
		return B115200;
	default:
		return B9600;
	}
}

static int open_serial(const struct dev_scanner *d)
{
	struct termios tio;
	int fd = open(d->path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &tio) < 0) {
		int r = errno == ENOTTY || errno == EINVAL ? -ENOTTY : -errno;
		close(fd);
		return r;
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t) (CSTOPB | PARENB | CRTSCTS | CSIZE);
	tio.c_cflag |= CS8 | CLOCAL | CREAD;
	tio.c_iflag &= ~(tcflag_t) (IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	cfsetispeed(&tio, baud_speed(d->baud));
	cfsetospeed(&tio, baud_speed(d->baud));
	if (tcsetattr(fd, TCSANOW, &tio) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	(void) tcflush(fd, TCIFLUSH);
	return fd;
}

static int open_hid(const struct dev_scanner *d)
{
	int fd = open(d->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (d->grab && ioctl(fd, EVIOCGRAB, 1) < 0) {
		int r = errno == EINVAL ? -ENOTTY : -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int dev_attach(struct dev_scanner *d)
{
	int fd = d->type == DEV_SERIAL ? open_serial(d) : open_hid(d);
	if (fd < 0)
		return fd;
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.fd = fd;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	d->dev = fd;
	d->rpos = d->rlen = 0;
	d->shift_l = d->shift_r = d->caps = d->ctrl = d->alt = d->meta = false;
	hal_scanner_framer_reset(&d->framer);
	return 0;
}

static void dev_detach(struct dev_scanner *d)
{
	if (d->dev < 0)
		return;
	(void) epoll_ctl(d->ep, EPOLL_CTL_DEL, d->dev, NULL);
	if (d->grab && d->type == DEV_HID)
		(void) ioctl(d->dev, EVIOCGRAB, 0);
	close(d->dev);
	d->dev = -1;
	d->rpos = d->rlen = 0;
	hal_scanner_framer_reset(&d->framer);
}

/* Arm the timer for the earliest of the line's deadline and the next reopen; or disarm. */
static void arm_timer(struct dev_scanner *d)
{
	int64_t at = d->dev >= 0 ? hal_scanner_framer_deadline_us(&d->framer) : d->retry_us;
	struct itimerspec its = {{0, 0}, {0, 0}};
	if (at != INT64_MAX) {
		if (at <= 0)
			at = 1; /* zero would disarm */
		its.it_value.tv_sec = (time_t) (at / 1000000);
		its.it_value.tv_nsec = (long) (at % 1000000) * 1000;
	}
	(void) timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int dev_open(enum dev_type type, const struct hal_scanner_config *config,
		    struct hal_scanner **ret_scanner)
{
	struct dev_scanner *d;
	int r;

	if (!config->path || config->path[0] != '/' || strlen(config->path) >= PATH_MAX ||
	    (config->baud && !hal_scanner_baud_valid(config->baud)) || config->timeout_ms < -1 ||
	    config->retry_ms < 0)
		return -EINVAL;
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	d->base.ops = type == DEV_SERIAL ? &hal_scanner_serial_ops : &hal_scanner_hid_ops;
	d->type = type;
	memcpy(d->path, config->path, strlen(config->path) + 1);
	d->baud = config->baud ? config->baud : HAL_SCANNER_BAUD_DEFAULT;
	d->grab = type == DEV_HID && !config->no_grab;
	d->retry_ms = config->retry_ms ? config->retry_ms : HAL_SCANNER_RETRY_MS_DEFAULT;
	d->dev = d->tfd = -1;
	hal_scanner_framer_init(&d->framer, config->timeout_ms ? config->timeout_ms
							       : HAL_SCANNER_TIMEOUT_MS_DEFAULT);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->ep < 0 || d->tfd < 0) {
		r = -errno;
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.fd = d->tfd;
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, d->tfd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = dev_attach(d)) < 0) {
		log_debug("scanner: open '%s': %s", d->path, strerror(-r));
		goto fail;
	}
	*ret_scanner = &d->base;
	return 0;
fail:
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->ep >= 0)
		close(d->ep);
	free(d);
	return r;
}

static void dev_close(struct hal_scanner *scanner)
{
	struct dev_scanner *d = to_dev(scanner);
	dev_detach(d);
	close(d->tfd);
	close(d->ep);
	free(d);
}

static int dev_fd(struct hal_scanner *scanner)
{
	return to_dev(scanner)->ep;
}

/* One key event of a "hid" scanner; 1 with *ev when it ended a line. */
static int hid_key(struct dev_scanner *d, unsigned code, int value, int64_t now,
		   struct hal_scanner_event *ev)
{
	bool down = value != 0;

	switch (code) {
	case KEY_LEFTSHIFT:
		d->shift_l = down;
		return 0;
	case KEY_RIGHTSHIFT:
		d->shift_r = down;
		return 0;
	case KEY_LEFTCTRL:
	case KEY_RIGHTCTRL:
		d->ctrl = down;
		return 0;
	case KEY_LEFTALT:
	case KEY_RIGHTALT:
		d->alt = down;
		return 0;
	case KEY_LEFTMETA:
	case KEY_RIGHTMETA:
		d->meta = down;
		return 0;
	case KEY_CAPSLOCK:
		if (value == 1)
			d->caps = !d->caps;
		return 0;
	case KEY_NUMLOCK:
		return 0;
	default:
		break;
	}
	if (value != 1)
		return 0; /* a release or a repeat */
	if (hal_scanner_key_is_enter(code))
		return hal_scanner_framer_byte(&d->framer, '\r', now, ev);
	bool letter =
	    hal_scanner_keymap_us(code, false) >= 'a' && hal_scanner_keymap_us(code, false) <= 'z';
	bool shift = d->shift_l || d->shift_r;
	char c = hal_scanner_keymap_us(code, letter && d->caps ? !shift : shift);
	if (!c || d->ctrl || d->alt || d->meta) {
		hal_scanner_framer_bad_key(&d->framer, code, now);
		return 0;
	}
	return hal_scanner_framer_byte(&d->framer, (uint8_t) c, now, ev);
}

/* Feed buffered input to the framer until it ends a line (1) or the buffer runs dry (0). */
static int dev_decode(struct dev_scanner *d, int64_t now, struct hal_scanner_event *ev)
{
	if (d->type == DEV_SERIAL) {
		while (d->rpos < d->rlen) {
			if (hal_scanner_framer_byte(&d->framer, d->rbuf[d->rpos++], now, ev))
				return 1;
		}
		return 0;
	}
	while (d->rlen - d->rpos >= sizeof(struct input_event)) {
		struct input_event ie;
		memcpy(&ie, d->rbuf + d->rpos, sizeof(ie));
		d->rpos += sizeof(ie);
		if (ie.type == EV_KEY && hid_key(d, ie.code, ie.value, now, ev))
			return 1;
	}
	return 0;
}

static int dev_next_event(struct hal_scanner *scanner, struct hal_scanner_event *ret_event)
{
	struct dev_scanner *d = to_dev(scanner);
	int64_t now = mono_us();
	uint64_t ticks;

	while (d->dev >= 0) {
		if (dev_decode(d, now, ret_event))
			return 1;
		/* keep a partial input_event at the front */
		memmove(d->rbuf, d->rbuf + d->rpos, d->rlen - d->rpos);
		d->rlen -= d->rpos;
		d->rpos = 0;
		ssize_t n = read(d->dev, d->rbuf + d->rlen, sizeof(d->rbuf) - d->rlen);
		if (n > 0) {
			d->rlen += (size_t) n;
			now = mono_us();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		log_debug("scanner: '%s' lost: %s", d->path,
			  n == 0 ? "end of file" : strerror(errno));
		dev_detach(d);
		d->retry_us = now + (int64_t) d->retry_ms * 1000;
		arm_timer(d);
		memset(ret_event, 0, sizeof(*ret_event));
		ret_event->kind = HAL_SCANNER_LOST;
		return 1;
	}
	(void) !read(d->tfd, &ticks, sizeof(ticks));
	now = mono_us();
	if (d->dev >= 0) {
		if (hal_scanner_framer_expire(&d->framer, now, false, ret_event))
			return 1;
	} else if (now >= d->retry_us) {
		int r = dev_attach(d);
		if (r == 0) {
			arm_timer(d);
			memset(ret_event, 0, sizeof(*ret_event));
			ret_event->kind = HAL_SCANNER_BACK;
			return 1;
		}
		log_debug("scanner: reopen '%s': %s", d->path, strerror(-r));
		d->retry_us = now + (int64_t) d->retry_ms * 1000;
	}
	arm_timer(d);
	return 0;
}

static int serial_open(const struct hal_scanner_config *config, struct hal_scanner **ret_scanner)
{
	return dev_open(DEV_SERIAL, config, ret_scanner);
}

static int hid_open(const struct hal_scanner_config *config, struct hal_scanner **ret_scanner)
{
	return dev_open(DEV_HID, config, ret_scanner);
}

const struct hal_scanner_ops hal_scanner_serial_ops = {
    .name = "serial",
    .open = serial_open,
    .close = dev_close,
    .fd = dev_fd,
    .next_event = dev_next_event,
};

const struct hal_scanner_ops hal_scanner_hid_ops = {
    .name = "hid",
    .open = hid_open,
    .close = dev_close,
    .fd = dev_fd,
    .next_event = dev_next_event,
};
