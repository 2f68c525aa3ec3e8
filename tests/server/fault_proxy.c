/*
 * fault_proxy: a TCP proxy on loopback that spoils the link between a terminal and
 * loyalty-server, for the sync tests. Each connection accepted on 127.0.0.1 is forwarded to
 * 127.0.0.1:TO_PORT, and:
 *   --latency-ms N     every chunk, either way, is held N ms before it is passed on;
 *   --reset-pct P      each chunk the server sends is, with a chance of P%, not passed on: the
 *                      connection is cut with a TCP reset (SO_LINGER 0) instead, in the TLS
 *                      handshake or after a request went through and its answer is under way
 *                      (the server may well have stored the batch whose answer is lost);
 *   --seed S           the random choices (default 1), so a run can be repeated.
 * It listens on --port (0: any free one), writes the port to --port-file and stops by itself
 * after --exit-after S
 * seconds (default 300). Not for anything but tests: one thread, poll(), 64 connections.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 64
#define QUEUE_MAX 64
#define CHUNK	  16384

struct chunk {
	int64_t due_ms;
	size_t len;
	uint8_t data[CHUNK];
};

/* one direction: bytes read from `from`, queued, written to `to` when due */
struct pipe_dir {
	int from, to;
	struct chunk *q[QUEUE_MAX];
	size_t head, n;
	bool eof;
};

struct conn {
	bool used;
	struct pipe_dir up, down; /* client -> server, server -> client */
	bool reset;		  /* cut it: a chunk from the server drew the fault */
	int64_t down_bytes;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_conn(struct conn *c, bool reset)
{
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->up.from, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(c->down.from, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->up.from);
	close(c->down.from);
	for (size_t i = 0; i < c->up.n; i++)
		free(c->up.q[(c->up.head + i) % QUEUE_MAX]);
	for (size_t i = 0; i < c->down.n; i++)
		free(c->down.q[(c->down.head + i) % QUEUE_MAX]);
	memset(c, 0, sizeof(*c));
}

static int connect_to(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what is there into the queue; false when the direction is done or failed. */
static bool pump_in(struct pipe_dir *d, int latency_ms)
{
	if (d->n == QUEUE_MAX)
		return true;
	struct chunk *ch = malloc(sizeof(*ch));
	if (!ch)
		return false;
	ssize_t n = read(d->from, ch->data, sizeof(ch->data));
	if (n <= 0) {
		free(ch);
		d->eof = true;
		return n == 0;
	}
	ch->len = (size_t) n;
	ch->due_ms = now_ms() + latency_ms;
	d->q[(d->head + d->n++) % QUEUE_MAX] = ch;
	return true;
}

/* Write the due chunks; false on a write error. */
static bool pump_out(struct pipe_dir *d, int64_t t)
{
	while (d->n) {
		struct chunk *ch = d->q[d->head];
		if (ch->due_ms > t)
			break;
		size_t off = 0;
		while (off < ch->len) {
			ssize_t w = write(d->to, ch->data + off, ch->len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return false;
			off += (size_t) w;
		}
		free(ch);
		d->head = (d->head + 1) % QUEUE_MAX;
		d->n--;
	}
	if (d->eof && !d->n)
		shutdown(d->to, SHUT_WR);
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},	  {"port-file", required_argument, NULL, 'p'},
	    {"latency-ms", required_argument, NULL, 'l'}, {"reset-pct", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, 's'},	  {"exit-after", required_argument, NULL, 'x'},
	    {"port", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	int to = 0, latency = 0, reset_pct = 0, port = 0, c;
	long exit_after = 300;
	unsigned seed = 1;
	const char *port_file = NULL;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = atoi(optarg); break;
		case 'p': port_file = optarg; break;
		case 'l': latency = atoi(optarg); break;
		case 'r': reset_pct = atoi(optarg); break;
		case 's': seed = (unsigned) strtoul(optarg, NULL, 10); break;
		case 'x': exit_after = atol(optarg); break;
		case 'P': port = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: fault_proxy --to PORT --port-file FILE [--latency-ms N] "
					"[--reset-pct P] [--seed S] [--exit-after S]\n");
			return 2;
		}
	}
	if (to <= 0 || to > 65535 || !port_file || latency < 0 || reset_pct < 0 || reset_pct > 100) {
		fprintf(stderr, "fault_proxy: --to and --port-file are required; see the source\n");
		return 2;
	}
	srand(seed);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	int one = 1;
	if (lfd >= 0)
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *) &a, &alen) < 0) {
		perror("fault_proxy: listen");
		return 1;
	}
	FILE *pf = fopen(port_file, "w");
	if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf) != 0) {
		perror("fault_proxy: port file");
		return 1;
	}
	static struct conn conns[CONNS_MAX];
	int64_t end = now_ms() + exit_after * 1000;
	unsigned accepted = 0, resets = 0;
	while (now_ms() < end) {
		struct pollfd fds[1 + 2 * CONNS_MAX];
		int idx[1 + 2 * CONNS_MAX];
		size_t n = 0;
		fds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < CONNS_MAX; i++) {
			if (!conns[i].used)
				continue;
			fds[n] = (struct pollfd){.fd = conns[i].up.from,
						 .events = conns[i].up.eof ? 0 : POLLIN};
			idx[n++] = i;
			fds[n] = (struct pollfd){.fd = conns[i].down.from,
						 .events = conns[i].down.eof ? 0 : POLLIN};
			idx[n++] = i;
		}
		int timeout = latency ? 5 : 200;
		if (poll(fds, n, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			int sfd = cfd >= 0 ? connect_to(to) : -1;
			int slot = -1;
			for (int i = 0; i < CONNS_MAX && slot < 0; i++)
				if (!conns[i].used)
					slot = i;
			if (cfd >= 0 && (sfd < 0 || slot < 0)) {
				close(cfd);
				if (sfd >= 0)
					close(sfd);
			} else if (cfd >= 0) {
				struct conn *k = &conns[slot];
				memset(k, 0, sizeof(*k));
				k->used = true;
				k->up = (struct pipe_dir){.from = cfd, .to = sfd};
				k->down = (struct pipe_dir){.from = sfd, .to = cfd};
				accepted++;
			}
		}
		for (size_t i = 1; i < n; i++) {
			struct conn *k = &conns[idx[i]];
			if (!k->used || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct pipe_dir *d = fds[i].fd == k->up.from ? &k->up : &k->down;
			if (!pump_in(d, latency)) {
				close_conn(k, false);
				continue;
			}
			if (d == &k->down && d->n && !d->eof) {
				k->down_bytes += (int64_t) d->q[(d->head + d->n - 1) % QUEUE_MAX]->len;
				k->reset = rand() % 100 < reset_pct;
			}
		}
		int64_t t = now_ms();
		for (int i = 0; i < CONNS_MAX; i++) {
			struct conn *k = &conns[i];
			if (!k->used)
				continue;
			if (k->reset) {
				resets++;
				fprintf(stderr, "fault_proxy: reset a connection after %lld bytes from the server\n",
					(long long) k->down_bytes);
				close_conn(k, true);
				continue;
			}
			if (!pump_out(&k->up, t) || !pump_out(&k->down, t) ||
			    (k->up.eof && k->down.eof && !k->up.n && !k->down.n))
				close_conn(k, false);
		}
	}
	fprintf(stderr, "fault_proxy: %u connections, %u reset\n", accepted, resets);
	return 0;
}
