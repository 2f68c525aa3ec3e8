/* scanner: driver registry, the line framer every driver feeds, and the "sim" driver. */
#include "scanner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

static const struct hal_scanner_ops *const drivers[] = {
    &hal_scanner_sim_ops, &hal_scanner_serial_ops, &hal_scanner_hid_ops};

int hal_scanner_open(const char *name, const struct hal_scanner_config *config,
		     struct hal_scanner **ret_scanner)
{
	static const struct hal_scanner_config none;
	if (!ret_scanner)
		return -EINVAL;
	HAL_REGISTRY_FIND(drivers, name, ops);
	return ops->open(config ? config : &none, ret_scanner);
}

void hal_scanner_close(struct hal_scanner *scanner)
{
	if (scanner)
		scanner->ops->close(scanner);
}

void hal_scanner_driver_names(char *buf, size_t size)
{
	HAL_REGISTRY_NAMES(drivers, buf, size);
}

bool hal_scanner_baud_valid(unsigned baud)
{
	switch (baud) {
	case 1200:
	case 2400:
	case 4800:
	case 9600:
	case 19200:
	case 38400:
	case 57600:
	case 115200:
		return true;
	default:
		return false;
	}
}

const char *hal_scanner_event_name(enum hal_scanner_event_kind kind)
{
	switch (kind) {
	case HAL_SCANNER_LINE:
		return "line";
	case HAL_SCANNER_TOO_LONG:
		return "too long";
	case HAL_SCANNER_BAD_KEY:
		return "bad key";
	case HAL_SCANNER_LOST:
		return "lost";
	case HAL_SCANNER_BACK:
		return "back";
	case HAL_SCANNER_EVENT_MAX:
		break;
	}
	return "unknown";
}

/* ---- line framer ---- */

void hal_scanner_framer_init(struct hal_scanner_framer *fr, int timeout_ms)
{
	memset(fr, 0, sizeof(*fr));
	fr->timeout_ms = timeout_ms;
}

void hal_scanner_framer_reset(struct hal_scanner_framer *fr)
{
	fr->len = 0;
	fr->after_cr = false;
	fr->has_bad_key = false;
	fr->bad_key = 0;
}

bool hal_scanner_framer_pending(const struct hal_scanner_framer *fr)
{
	return fr->len > 0 || fr->has_bad_key;
}

int64_t hal_scanner_framer_deadline_us(const struct hal_scanner_framer *fr)
{
	if (!hal_scanner_framer_pending(fr) || fr->timeout_ms < 0)
		return INT64_MAX;
	return fr->last_us + (int64_t) fr->timeout_ms * 1000;
}

/* The line seen so far as an event, and a fresh line. */
static void end_line(struct hal_scanner_framer *fr, bool timed_out, struct hal_scanner_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->len = fr->len;
	ev->timed_out = timed_out;
	if (fr->has_bad_key) {
		ev->kind = HAL_SCANNER_BAD_KEY;
		ev->key = fr->bad_key;
	} else if (fr->len > HAL_SCANNER_LINE_MAX) {
		ev->kind = HAL_SCANNER_TOO_LONG;
	} else {
		ev->kind = HAL_SCANNER_LINE;
		memcpy(ev->line, fr->buf, fr->len);
		ev->line[fr->len] = '\0';
	}
	hal_scanner_framer_reset(fr);
}

int hal_scanner_framer_byte(struct hal_scanner_framer *fr, uint8_t byte, int64_t now_us,
			    struct hal_scanner_event *ret_event)
{
	bool after_cr = fr->after_cr;

	fr->after_cr = byte == '\r';
	if (byte == '\r' || byte == '\n') {
		if (byte == '\n' && after_cr)
			return 0; /* the LF of a CRLF */
		if (!hal_scanner_framer_pending(fr))
			return 0; /* an empty line */
		end_line(fr, false, ret_event);
		return 1;
	}
	if (fr->len < HAL_SCANNER_LINE_MAX)
		fr->buf[fr->len] = (char) byte;
	if (fr->len < SIZE_MAX) /* counts on past the cap, for the TOO_LONG event */
		fr->len++;
	fr->last_us = now_us;
	return 0;
}

void hal_scanner_framer_bad_key(struct hal_scanner_framer *fr, unsigned key, int64_t now_us)
{
	fr->after_cr = false;
	if (!fr->has_bad_key) {
		fr->has_bad_key = true;
		fr->bad_key = key;
	}
	fr->last_us = now_us;
}

int hal_scanner_framer_expire(struct hal_scanner_framer *fr, int64_t now_us, bool force,
			      struct hal_scanner_event *ret_event)
{
	if (!hal_scanner_framer_pending(fr))
		return 0;
	if (!force && (fr->timeout_ms < 0 || now_us < hal_scanner_framer_deadline_us(fr)))
		return 0;
	end_line(fr, true, ret_event);
	return 1;
}

/* ---- sim ---- */

#define SIM_QUEUE 16

struct sim_scanner {
	struct hal_scanner base;
	int pipe[2]; /* one byte per queued event keeps the read end readable */
	struct hal_scanner_framer framer;
	struct hal_scanner_event queue[SIM_QUEUE];
	size_t head, count;
	bool connected;
};

static struct sim_scanner *to_sim(struct hal_scanner *scanner)
{
	return (struct sim_scanner *) scanner;
}

static int sim_open(const struct hal_scanner_config *config, struct hal_scanner **ret_scanner)
{
	struct sim_scanner *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	s->base.ops = &hal_scanner_sim_ops;
	s->connected = true;
	hal_scanner_framer_init(&s->framer, config->timeout_ms ? config->timeout_ms
							       : HAL_SCANNER_TIMEOUT_MS_DEFAULT);
	*ret_scanner = &s->base;
	return 0;
}

static void sim_close(struct hal_scanner *scanner)
{
	struct sim_scanner *s = to_sim(scanner);
	close(s->pipe[0]);
	close(s->pipe[1]);
	free(s);
}

static int sim_fd(struct hal_scanner *scanner)
{
	return to_sim(scanner)->pipe[0];
}

static int sim_push(struct sim_scanner *s, const struct hal_scanner_event *ev)
{
	if (s->count == SIM_QUEUE)
		return -ENOBUFS;
	s->queue[(s->head + s->count) % SIM_QUEUE] = *ev;
	s->count++;
	if (write(s->pipe[1], "e", 1) != 1)
		return -errno;
	return 0;
}

static int sim_next_event(struct hal_scanner *scanner, struct hal_scanner_event *ret_event)
{
	struct sim_scanner *s = to_sim(scanner);
	char c;
	if (s->count == 0)
		return 0;
	(void) !read(s->pipe[0], &c, 1);
	*ret_event = s->queue[s->head];
	s->head = (s->head + 1) % SIM_QUEUE;
	s->count--;
	return 1;
}

const struct hal_scanner_ops hal_scanner_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .fd = sim_fd,
    .next_event = sim_next_event,
};

bool hal_scanner_is_sim(const struct hal_scanner *scanner)
{
	return scanner && scanner->ops == &hal_scanner_sim_ops;
}

static int sim_feed(struct hal_scanner *scanner, const void *bytes, size_t len, bool terminate)
{
	struct hal_scanner_event ev;
	if (!hal_scanner_is_sim(scanner))
		return -ENOTSUP;
	if (!bytes && len > 0)
		return -EINVAL;
	struct sim_scanner *s = to_sim(scanner);
	if (!s->connected)
		return -ENODEV;
	for (size_t i = 0; i < len + (terminate ? 1 : 0); i++) {
		uint8_t b = i < len ? ((const uint8_t *) bytes)[i] : '\r';
		if (hal_scanner_framer_byte(&s->framer, b, 0, &ev)) {
			int r = sim_push(s, &ev);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int hal_scanner_sim_scan(struct hal_scanner *scanner, const void *code, size_t len)
{
	return sim_feed(scanner, code, len, true);
}

int hal_scanner_sim_type(struct hal_scanner *scanner, const void *bytes, size_t len)
{
	return sim_feed(scanner, bytes, len, false);
}

int hal_scanner_sim_silence(struct hal_scanner *scanner)
{
	struct hal_scanner_event ev;
	if (!hal_scanner_is_sim(scanner))
		return -ENOTSUP;
	struct sim_scanner *s = to_sim(scanner);
	if (hal_scanner_framer_expire(&s->framer, 0, true, &ev))
		return sim_push(s, &ev);
	return 0;
}

int hal_scanner_sim_set_connected(struct hal_scanner *scanner, bool connected)
{
	if (!hal_scanner_is_sim(scanner))
		return -ENOTSUP;
	struct sim_scanner *s = to_sim(scanner);
	if (s->connected == connected)
		return 0;
	s->connected = connected;
	hal_scanner_framer_reset(&s->framer);
	struct hal_scanner_event ev = {.kind = connected ? HAL_SCANNER_BACK : HAL_SCANNER_LOST};
	return sim_push(s, &ev);
}
