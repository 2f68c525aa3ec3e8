/*
 * printer-tcp: a network ESC/POS printer's raw port (9100). One connection per job and per
 * status question, as such printers serve one client at a time: a non-blocking connect bounded
 * by the job's deadline (refused or unreachable: -EIO; no answer: -ETIMEDOUT), sends that
 * never raise SIGPIPE, DLE EOT answers read from the same connection. The address is an IP
 * literal: a name lookup could hold the terminal's loop for the resolver's timeout.
 */
#include "printer-priv.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int tcp_connect(struct printer_link *l, int64_t deadline_ms)
{
	if (l->fd >= 0)
		return 0;
	l->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -errno;
	int one = 1;
	(void) setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(l->fd, (const struct sockaddr *) &l->addr, l->addr_len) == 0)
		goto connected;
	if (errno != EINPROGRESS) {
		int r = -errno;
		printer_link_disconnect(l);
		return r;
	}
	for (;;) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLOUT};
		int64_t left = deadline_ms - printer_link_now_ms();
		int pr = left > 0 ? poll(&pfd, 1, (int) left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			int r = pr == 0 ? -ETIMEDOUT : -errno;
			printer_link_disconnect(l);
			return r;
		}
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			printer_link_disconnect(l);
			return -err;
		}
		break;
	}
connected:
	l->can_read = true;
	l->owed = 0; /* a new connection: what the old one owed went with it */
	return 0;
}

static const struct printer_link_ops tcp_link_ops = {
    .connect = tcp_connect,
    .per_job = true,
    .socket = true,
};

/* "a.b.c.d" or "[v6]" or "v6" with the port apart. */
static int tcp_address(const char *host, unsigned port, struct printer_link *l)
{
	char h[64];
	size_t n = strlen(host);
	if (n >= sizeof(h) || port == 0 || port > 65535)
		return -EINVAL;
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
	} else {
		memcpy(h, host, n + 1);
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *) &l->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &l->addr;
	memset(&l->addr, 0, sizeof(l->addr));
	if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t) port);
		l->addr_len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t) port);
		l->addr_len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* "host:port", "[v6]:port" or a bare host. */
static int tcp_split(const char *text, char *host, size_t host_size, unsigned *ret_port)
{
	const char *colon = NULL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return -EINVAL;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return -EINVAL;
	} else if (strchr(text, ':') == strrchr(text, ':')) {
		colon = strchr(text, ':');
	}
	size_t n = colon ? (size_t) (colon - text) : strlen(text);
	if (n == 0 || n >= host_size)
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	*ret_port = HAL_PRINTER_TCP_PORT_DEFAULT;
	if (colon) {
		char *end;
		if (colon[1] < '0' || colon[1] > '9')
			return -EINVAL;
		errno = 0;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (*end || errno || p == 0 || p > 65535)
			return -EINVAL;
		*ret_port = (unsigned) p;
	}
	return 0;
}

static int tcp_open(const struct hal_printer_config *config, struct hal_printer **ret_printer)
{
	struct printer_link *l;
	char host[64];
	unsigned port = config->port ? config->port : HAL_PRINTER_TCP_PORT_DEFAULT;
	int r;

	if (config->host) {
		if (strlen(config->host) >= sizeof(host))
			return -EINVAL;
		memcpy(host, config->host, strlen(config->host) + 1);
	} else if (!config->path || tcp_split(config->path, host, sizeof(host), &port) < 0) {
		return -EINVAL;
	}
	if ((r = printer_link_new(&hal_printer_tcp_ops, &tcp_link_ops, config, &l)) < 0)
		return r;
	if ((r = tcp_address(host, port, l)) < 0) {
		printer_link_close(&l->base);
		return r;
	}
	snprintf(l->path, sizeof(l->path), "%s:%u", host, port);
	*ret_printer = &l->base;
	return 0;
}

const struct hal_printer_ops hal_printer_tcp_ops = {
    .name = "tcp",
    .open = tcp_open,
    .close = printer_link_close,
    .begin_job = printer_link_begin_job,
    .write = printer_link_write,
    .end_job = printer_link_end_job,
    .state = printer_link_state,
};
