/* console: driver registry, the "sim" driver (keys fed, display read through the backend API)
 * and the "stdio" driver (the process's terminal). */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

static const struct hal_console_ops *const drivers[] = {&hal_console_stdio_ops,
							&hal_console_sim_ops};

int hal_console_open(const char *name, struct hal_console **ret_console)
{
	HAL_REGISTRY_FIND(drivers, name, ops);
	return ops->open(ret_console);
}

void hal_console_close(struct hal_console *console)
{
	if (console)
		console->ops->close(console);
}

void hal_console_driver_names(char *buf, size_t size)
{
	HAL_REGISTRY_NAMES(drivers, buf, size);
}

/* Copy lines into a joined display text, each line cut at HAL_CONSOLE_LINE_MAX - 1 bytes on a
 * character boundary. */
static void display_join(char *out, size_t size, const char *const *lines, size_t n)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && i < HAL_CONSOLE_LINES; i++) {
		size_t len = strlen(lines[i]);
		if (len > HAL_CONSOLE_LINE_MAX - 1) {
			len = HAL_CONSOLE_LINE_MAX - 1;
			while (len > 0 && ((unsigned char) lines[i][len] & 0xC0) == 0x80)
				len--;
		}
		if (off + len + 2 > size)
			break;
		if (i)
			out[off++] = '\n';
		memcpy(out + off, lines[i], len);
		off += len;
		out[off] = '\0';
	}
}

#define DISPLAY_MAX (HAL_CONSOLE_LINES * HAL_CONSOLE_LINE_MAX + 8)

/* ---- sim ---- */

struct sim_console {
	struct hal_console base;
	int pipe[2]; /* key bytes */
	char display[DISPLAY_MAX];
};

static int sim_open(struct hal_console **ret_console)
{
	struct sim_console *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	s->base.ops = &hal_console_sim_ops;
	*ret_console = &s->base;
	return 0;
}

static void sim_close(struct hal_console *console)
{
	struct sim_console *s = (struct sim_console *) console;
	close(s->pipe[0]);
	close(s->pipe[1]);
	free(s);
}

static int sim_fd(struct hal_console *console)
{
	return ((struct sim_console *) console)->pipe[0];
}

static int byte_to_key(unsigned char c)
{
	switch (c) {
	case '\n':
	case '\r':
		return HAL_KEY_ENTER;
	case 0x1b:
		return HAL_KEY_CANCEL;
	case '\b':
	case 0x7f:
		return HAL_KEY_BACKSPACE;
	default:
		return c;
	}
}

static int sim_next_key(struct hal_console *console, int *ret_key)
{
	unsigned char c;
	ssize_t n = read(((struct sim_console *) console)->pipe[0], &c, 1);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	*ret_key = byte_to_key(c);
	return 1;
}

static int sim_show(struct hal_console *console, const char *const *lines, size_t n)
{
	struct sim_console *s = (struct sim_console *) console;
	display_join(s->display, sizeof(s->display), lines, n);
	return 0;
}

const struct hal_console_ops hal_console_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .fd = sim_fd,
    .next_key = sim_next_key,
    .show = sim_show,
};

bool hal_console_is_sim(const struct hal_console *console)
{
	return console && console->ops == &hal_console_sim_ops;
}

int hal_console_sim_feed(struct hal_console *console, const char *text)
{
	if (!hal_console_is_sim(console))
		return -ENOTSUP;
	size_t len = strlen(text);
	ssize_t n = write(((struct sim_console *) console)->pipe[1], text, len);
	if (n < 0)
		return -errno;
	return (size_t) n == len ? 0 : -ENOBUFS;
}

const char *hal_console_sim_display(struct hal_console *console)
{
	if (!hal_console_is_sim(console))
		return NULL;
	return ((struct sim_console *) console)->display;
}

/* ---- stdio ---- */

struct stdio_console {
	struct hal_console base;
	bool eof;
	char display[DISPLAY_MAX];
};

static int stdio_open(struct hal_console **ret_console)
{
	struct stdio_console *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &hal_console_stdio_ops;
	*ret_console = &s->base;
	return 0;
}

static void stdio_close(struct hal_console *console)
{
	free(console);
}

static int stdio_fd(struct hal_console *console)
{
	return ((struct stdio_console *) console)->eof ? -1 : STDIN_FILENO;
}

static int stdio_next_key(struct hal_console *console, int *ret_key)
{
	struct stdio_console *s = (struct stdio_console *) console;
	unsigned char c;
	if (s->eof)
		return -EPIPE;
	/* stdin stays blocking (it may be the user's terminal): read only what poll promises */
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	ssize_t n = read(STDIN_FILENO, &c, 1);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		s->eof = true;
		return -EPIPE;
	}
	*ret_key = byte_to_key(c);
	return 1;
}

static int stdio_show(struct hal_console *console, const char *const *lines, size_t n)
{
	struct stdio_console *s = (struct stdio_console *) console;
	display_join(s->display, sizeof(s->display), lines, n);
	/* A framed block, so the display stands apart from the log lines on stderr. */
	printf("\n┌─ display ──────────────────────────────\n");
	for (char *line = s->display, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next = '\0';
		printf("│ %s\n", line);
		if (next)
			*next++ = '\n';
	}
	printf("└────────────────────────────────────────\n> ");
	fflush(stdout);
	return 0;
}

const struct hal_console_ops hal_console_stdio_ops = {
    .name = "stdio",
    .open = stdio_open,
    .close = stdio_close,
    .fd = stdio_fd,
    .next_key = stdio_next_key,
    .show = stdio_show,
};
