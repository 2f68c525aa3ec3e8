/*
 * printer-emu: the emulator behind printer-emu.h: one thread polling the pty master, the
 * listening socket and its one client, a DLE EOT scanner over the byte stream, the printed
 * bytes in a growing buffer and an append-only record file. Not an ESC/POS interpreter: it
 * neither parses nor renders commands (tools/escpos-render does).
 */
#include "printer-emu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define CHUNK 4096

struct printer_emu {
	int master;
	int slave; /* kept open so the master never sees a hangup between host sessions */
	char path[64];
	char *link;
	int listener;
	int client;
	unsigned port;
	int record;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t lock;

	/* Guarded by lock. */
	bool stop;
	enum printer_emu_state state;
	bool out_after_armed;
	size_t out_after;
	unsigned rate;
	int64_t rate_start_ms;
	uint64_t rate_bytes;
	uint8_t *printed;
	size_t printed_len;
	size_t printed_cap;
	size_t dropped;
	unsigned queries;
	int scan; /* DLE EOT scanner: 0, 1 after 0x10, 2 after 0x10 0x04 */
};

static const char *const state_names[PRINTER_EMU_STATE_MAX] = {
    [PRINTER_EMU_READY] = "ready",
    [PRINTER_EMU_PAPER_OUT] = "paper-out",
    [PRINTER_EMU_COVER_OPEN] = "cover-open",
    [PRINTER_EMU_OFFLINE] = "offline",
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(struct printer_emu *e)
{
	ssize_t n = write(e->wake[1], "w", 1);
	(void) n;
}

/* The answer to DLE EOT n in the current state (ESC/POS real-time status bytes). */
static uint8_t status_byte(enum printer_emu_state state, uint8_t n)
{
	bool paper_out = state == PRINTER_EMU_PAPER_OUT;
	bool cover_open = state == PRINTER_EMU_COVER_OPEN;
	uint8_t b = 0x12;
	switch (n) {
	case 1:
		return (uint8_t) (b | (state != PRINTER_EMU_READY ? 0x08 : 0));
	case 2:
		return (uint8_t) (b | (cover_open ? 0x04 : 0) | (paper_out ? 0x20 : 0));
	case 4:
		return (uint8_t) (b | (paper_out ? 0x6c : 0));
	default:
		return b;
	}
}

static void reply(struct printer_emu *e, int fd, uint8_t b)
{
	ssize_t n = fd == e->client ? send(fd, &b, 1, MSG_NOSIGNAL) : write(fd, &b, 1);
	(void) n;
}

static int keep(struct printer_emu *e, const uint8_t *data, size_t len)
{
	if (e->printed_len + len > e->printed_cap) {
		size_t cap = e->printed_cap ? e->printed_cap : CHUNK;
		while (cap < e->printed_len + len)
			cap *= 2;
		uint8_t *p = realloc(e->printed, cap);
		if (!p)
			return -ENOMEM;
		e->printed = p;
		e->printed_cap = cap;
	}
	memcpy(e->printed + e->printed_len, data, len);
	e->printed_len += len;
	if (e->record >= 0) {
		ssize_t n = write(e->record, data, len);
		(void) n;
	}
	return 0;
}

/* Take bytes read from fd (lock held): print or drop them, answer DLE EOT as it passes. */
static void take(struct printer_emu *e, int fd, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (e->state == PRINTER_EMU_READY) {
			(void) keep(e, &c, 1);
			if (e->out_after_armed && --e->out_after == 0) {
				e->out_after_armed = false;
				e->state = PRINTER_EMU_PAPER_OUT;
			}
		} else {
			e->dropped++;
		}
		if (e->scan == 2 && c >= 1 && c <= 4) {
			reply(e, fd, status_byte(e->state, c));
			e->queries++;
			e->scan = 0;
		} else if (e->scan == 1 && c == 0x04) {
			e->scan = 2;
		} else {
			e->scan = c == 0x10 ? 1 : 0;
		}
	}
}

/* How many bytes may be read now (lock held); 0 with *wait_ms set when the rate says wait. */
static size_t budget(struct printer_emu *e, int *wait_ms)
{
	if (!e->rate)
		return CHUNK;
	int64_t due = e->rate_start_ms + (int64_t) (e->rate_bytes * 1000 / e->rate);
	int64_t now = now_ms();
	if (now < due) {
		*wait_ms = (int) (due - now);
		return 0;
	}
	size_t n = e->rate / 20;
	return n ? (n > CHUNK ? CHUNK : n) : 1;
}

static void serve(struct printer_emu *e, int fd, size_t max)
{
	uint8_t buf[CHUNK];
	ssize_t n = 0;
	pthread_mutex_lock(&e->lock);
	/* the state may have changed since the poll: an offline printer reads nothing */
	if (e->state != PRINTER_EMU_OFFLINE) {
		n = fd == e->client ? recv(fd, buf, max, 0) : read(fd, buf, max);
		if (n > 0) {
			e->rate_bytes += (uint64_t) n;
			take(e, fd, buf, (size_t) n);
		}
	} else {
		n = -1;
		errno = EAGAIN;
	}
	pthread_mutex_unlock(&e->lock);
	if ((n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) && fd == e->client) {
		close(e->client); /* the host hung up */
		e->client = -1;
	}
}

static void *emu_main(void *arg)
{
	struct printer_emu *e = arg;
	for (;;) {
		struct pollfd pfd[3];
		int fds = 0, wait_ms = -1;
		pthread_mutex_lock(&e->lock);
		bool stop = e->stop;
		bool reading = e->state != PRINTER_EMU_OFFLINE;
		size_t max = reading ? budget(e, &wait_ms) : 0;
		pthread_mutex_unlock(&e->lock);
		if (stop)
			break;
		pfd[fds++] = (struct pollfd){.fd = e->wake[0], .events = POLLIN};
		int master_at = -1, client_at = -1, listen_at = -1;
		if (max && e->master >= 0) {
			master_at = fds;
			pfd[fds++] = (struct pollfd){.fd = e->master, .events = POLLIN};
		}
		if (max && e->client >= 0) {
			client_at = fds;
			pfd[fds++] = (struct pollfd){.fd = e->client, .events = POLLIN};
		} else if (reading && e->client < 0 && e->listener >= 0) {
			listen_at = fds;
			pfd[fds++] = (struct pollfd){.fd = e->listener, .events = POLLIN};
		}
		if (poll(pfd, (nfds_t) fds, wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			char junk[64];
			ssize_t n = read(e->wake[0], junk, sizeof(junk));
			(void) n;
		}
		if (master_at >= 0 && (pfd[master_at].revents & POLLIN))
			serve(e, e->master, max);
		if (client_at >= 0 && (pfd[client_at].revents & (POLLIN | POLLHUP | POLLERR)))
			serve(e, e->client, max);
		if (listen_at >= 0 && (pfd[listen_at].revents & POLLIN))
			e->client = accept4(e->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	return NULL;
}

static int open_pty(struct printer_emu *e, const char *link)
{
	struct termios tio;
	e->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->master < 0)
		return -errno;
	if (grantpt(e->master) < 0 || unlockpt(e->master) < 0 ||
	    ptsname_r(e->master, e->path, sizeof(e->path)) != 0)
		return -errno;
	e->slave = open(e->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->slave < 0)
		return -errno;
	if (tcgetattr(e->slave, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	if (tcsetattr(e->slave, TCSANOW, &tio) < 0)
		return -errno;
	if (fcntl(e->master, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	if (link) {
		struct stat st;
		if (lstat(link, &st) == 0) {
			if (!S_ISLNK(st.st_mode))
				return -EEXIST;
			unlink(link);
		}
		if (symlink(e->path, link) < 0)
			return -errno;
		e->link = strdup(link);
		if (!e->link)
			return -ENOMEM;
	}
	return 0;
}

static int open_tcp(struct printer_emu *e, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
	socklen_t len = sizeof(a);
	int one = 1;
	if (port > 65535)
		return -EINVAL;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->listener < 0)
		return -errno;
	(void) setsockopt(e->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(e->listener, (struct sockaddr *) &a, sizeof(a)) < 0 ||
	    listen(e->listener, 8) < 0 ||
	    getsockname(e->listener, (struct sockaddr *) &a, &len) < 0)
		return -errno;
	e->port = ntohs(a.sin_port);
	return 0;
}

static void release(struct printer_emu *e)
{
	int fds[] = {e->master, e->slave,   e->listener, e->client,
		     e->record, e->wake[0], e->wake[1]};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (e->link) {
		char target[64];
		ssize_t n = readlink(e->link, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', strcmp(target, e->path) == 0))
			unlink(e->link);
		free(e->link);
	}
	free(e->printed);
	free(e);
}

int printer_emu_start(const struct printer_emu_config *config, struct printer_emu **ret_emu)
{
	struct printer_emu *e;
	sigset_t all, old;
	int r = 0;

	if (!config || (!config->pty && !config->tcp))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->master = e->slave = e->listener = e->client = e->record = -1;
	e->wake[0] = e->wake[1] = -1;
	if (config->pty)
		r = open_pty(e, config->link);
	if (r == 0 && config->tcp)
		r = open_tcp(e, config->port);
	if (r == 0 && config->record) {
		e->record = open(config->record, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (e->record < 0)
			r = -errno;
	}
	if (r == 0 && pipe2(e->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		r = -errno;
	if (r < 0) {
		release(e);
		return r;
	}
	pthread_mutex_init(&e->lock, NULL);
	/* The thread takes no signals: they belong to the program that runs the emulator. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&e->thread, NULL, emu_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		pthread_mutex_destroy(&e->lock);
		release(e);
		return r;
	}
	*ret_emu = e;
	return 0;
}

void printer_emu_stop(struct printer_emu *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	release(e);
}

const char *printer_emu_pty_path(const struct printer_emu *e)
{
	return e->path;
}

unsigned printer_emu_tcp_port(const struct printer_emu *e)
{
	return e->port;
}

int printer_emu_set_state(struct printer_emu *e, enum printer_emu_state state)
{
	if ((unsigned) state >= PRINTER_EMU_STATE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	e->state = state;
	e->out_after_armed = false;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	return 0;
}

enum printer_emu_state printer_emu_get_state(struct printer_emu *e)
{
	pthread_mutex_lock(&e->lock);
	enum printer_emu_state s = e->state;
	pthread_mutex_unlock(&e->lock);
	return s;
}

int printer_emu_paper_out_after(struct printer_emu *e, size_t bytes)
{
	pthread_mutex_lock(&e->lock);
	if (bytes == 0) {
		e->state = PRINTER_EMU_PAPER_OUT;
		e->out_after_armed = false;
	} else {
		e->out_after = bytes;
		e->out_after_armed = true;
	}
	pthread_mutex_unlock(&e->lock);
	wake(e);
	return 0;
}

int printer_emu_set_rate(struct printer_emu *e, unsigned bytes_per_s)
{
	pthread_mutex_lock(&e->lock);
	e->rate = bytes_per_s;
	e->rate_start_ms = now_ms();
	e->rate_bytes = 0;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	return 0;
}

int printer_emu_printed(struct printer_emu *e, uint8_t **ret_data, size_t *ret_len)
{
	pthread_mutex_lock(&e->lock);
	uint8_t *copy = malloc(e->printed_len + 1);
	size_t len = e->printed_len;
	if (copy && len)
		memcpy(copy, e->printed, len);
	pthread_mutex_unlock(&e->lock);
	if (!copy)
		return -ENOMEM;
	*ret_data = copy;
	*ret_len = len;
	return 0;
}

size_t printer_emu_count(struct printer_emu *e, const void *needle, size_t len)
{
	size_t count = 0;
	if (!len)
		return 0;
	pthread_mutex_lock(&e->lock);
	const uint8_t *p = e->printed, *end = e->printed + e->printed_len;
	while (p && (size_t) (end - p) >= len) {
		const uint8_t *hit = memmem(p, (size_t) (end - p), needle, len);
		if (!hit)
			break;
		count++;
		p = hit + len;
	}
	pthread_mutex_unlock(&e->lock);
	return count;
}

size_t printer_emu_dropped(struct printer_emu *e)
{
	pthread_mutex_lock(&e->lock);
	size_t n = e->dropped;
	pthread_mutex_unlock(&e->lock);
	return n;
}

unsigned printer_emu_queries(struct printer_emu *e)
{
	pthread_mutex_lock(&e->lock);
	unsigned n = e->queries;
	pthread_mutex_unlock(&e->lock);
	return n;
}

const char *printer_emu_state_name(enum printer_emu_state state)
{
	return (unsigned) state < PRINTER_EMU_STATE_MAX ? state_names[state] : "unknown";
}

int printer_emu_state_from_name(const char *name, enum printer_emu_state *ret_state)
{
	for (unsigned i = 0; name && i < PRINTER_EMU_STATE_MAX; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*ret_state = (enum printer_emu_state) i;
			return 0;
		}
	}
	return -EINVAL;
}

/* A whole decimal number of at most 9 digits. */
static int parse_count(const char *text, unsigned long *ret)
{
	char *end;
	if (!text || text[0] < '0' || text[0] > '9' || strlen(text) > 9)
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (*end || errno)
		return -EINVAL;
	*ret = v;
	return 0;
}

int printer_emu_command(struct printer_emu *e, const char *line)
{
	char buf[128], *save = NULL;
	enum printer_emu_state state;
	unsigned long n;

	if (!line || strlen(line) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, line, strlen(line) + 1);
	char *cmd = strtok_r(buf, " \t\r\n", &save);
	char *arg = strtok_r(NULL, " \t\r\n", &save);
	if (!cmd || strtok_r(NULL, " \t\r\n", &save))
		return -EINVAL;
	if (strcmp(cmd, "paper-out-after") == 0)
		return parse_count(arg, &n) < 0 ? -EINVAL : printer_emu_paper_out_after(e, n);
	if (strcmp(cmd, "slow") == 0)
		return parse_count(arg, &n) < 0 || n == 0 ? -EINVAL
							  : printer_emu_set_rate(e, (unsigned) n);
	if (arg)
		return -EINVAL;
	if (strcmp(cmd, "fast") == 0)
		return printer_emu_set_rate(e, 0);
	if (printer_emu_state_from_name(cmd, &state) == 0)
		return printer_emu_set_state(e, state);
	return -EINVAL;
}
