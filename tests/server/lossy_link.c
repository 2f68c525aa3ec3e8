/*
 * lossy_link: a lossy IP link in user space between two TUN devices, for the sync tests on a
 * kernel without sch_netem (sim.sync_loss). It makes the two devices (IFF_TUN | IFF_NO_PI; the
 * test moves each into its own network namespace and gives them addresses) and passes every IP
 * packet read from one to the other, except that:
 *   --loss P           each packet, either way, is dropped with a chance of P% (0 to 100);
 *   --delay-ms N       each packet passed on is held N ms first (0 to 10000; default 0);
 *   --seed S           the random draws (default 1): the same packets in the same order draw
 *                      the same fates, so a run can be repeated as closely as timing allows.
 * The devices are named by --tun-a and --tun-b; once both exist it writes "ready" to
 * --ready-file. It stops after --exit-after S seconds (default 300) or on SIGTERM or SIGINT, and
 * then prints, per direction, the packets forwarded and dropped (and any the far device would
 * not take, e.g. while it was down) on stderr:
 *   lossy_link: a->b 412 forwarded 171 dropped 0 undeliverable
 *   lossy_link: b->a 388 forwarded 160 dropped 0 undeliverable
 *   lossy_link: total 1131 packets 331 dropped (29.2% lost)
 * Exit status: 0 after a run, 2 for bad arguments, 3 when TUN devices cannot be made here (no
 * /dev/net/tun, not allowed: an unprivileged container), 1 for other failures.
 * Not for anything but tests: one thread, poll(), no shaping beyond a fixed delay.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PACKET_MAX 65536 /* a TUN read is one packet, at most the device's MTU */
#define QUEUE_MAX  4096	 /* packets held for --delay-ms per direction; past it, dropped */
#define EXIT_NOTUN 3

struct packet {
	int64_t due_ms;
	size_t len;
	uint8_t data[];
};

/* one direction: packets read from `from`, held until due, written to `to` */
struct dir {
	const char *name; /* "a->b" */
	int from, to;
	struct packet *q[QUEUE_MAX];
	size_t head, n;
	uint64_t forwarded, dropped, undeliverable, overflow;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: the same draws from the same seed on every libc */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* true with a chance of pct% (0..100); a draw is taken even at 0 and 100 */
static bool rng_chance(int pct)
{
	return rng_next() % 100 < (uint64_t) pct;
}

/*
 * parse_long: the whole of `text` as a decimal integer in [lo, hi] into *ret, or an error naming
 * the option; nothing else is accepted (no sign where lo >= 0, no trailing text, no blank).
 */
static int parse_long(const char *opt, const char *text, long lo, long hi, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	bool lead = isdigit((unsigned char) text[0]) || (lo < 0 && text[0] == '-');
	if (!lead || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "lossy_link: --%s: a whole number from %ld to %ld, not '%s'\n", opt,
			lo, hi, text);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_name(const char *opt, const char *text, const char **ret)
{
	size_t n = strlen(text);
	bool ok = n > 0 && n < IFNAMSIZ && text[0] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = (text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
		     (text[i] >= '0' && text[i] <= '9') || text[i] == '-' || text[i] == '_';
	if (!ok) {
		fprintf(
		    stderr,
		    "lossy_link: --%s: an interface name of 1 to %d characters A-Z a-z 0-9 - _, "
		    "not starting with -, not '%s'\n",
		    opt, IFNAMSIZ - 1, text);
		return -EINVAL;
	}
	*ret = text;
	return 0;
}

/* tun_open: a new TUN device `name` (IP packets, no header), non-blocking; -errno on failure */
static int tun_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Read every packet waiting on d->from; each is dropped or queued. false on a read error. */
static bool dir_read(struct dir *d, int loss_pct, int delay_ms, uint8_t *buf)
{
	for (;;) {
		ssize_t n = read(d->from, buf, PACKET_MAX);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0) {
			fprintf(stderr, "lossy_link: %s: read: %s\n", d->name, strerror(errno));
			return false;
		}
		if (n == 0)
			return true;
		if (rng_chance(loss_pct)) {
			d->dropped++;
			continue;
		}
		if (d->n == QUEUE_MAX) {
			d->overflow++;
			continue;
		}
		struct packet *p = malloc(sizeof(*p) + (size_t) n);
		if (!p) {
			d->overflow++;
			continue;
		}
		p->due_ms = now_ms() + delay_ms;
		p->len = (size_t) n;
		memcpy(p->data, buf, (size_t) n);
		d->q[(d->head + d->n++) % QUEUE_MAX] = p;
	}
}

/* Write the packets that are due. A device that will not take one (down, moved) loses it. */
static void dir_write(struct dir *d, int64_t t)
{
	while (d->n) {
		struct packet *p = d->q[d->head];
		if (p->due_ms > t)
			break;
		ssize_t w;
		do
			w = write(d->to, p->data, p->len);
		while (w < 0 && errno == EINTR);
		if (w == (ssize_t) p->len)
			d->forwarded++;
		else
			d->undeliverable++;
		free(p);
		d->head = (d->head + 1) % QUEUE_MAX;
		d->n--;
	}
}

/* ms until the first held packet of d is due, or -1 when none is held */
static int dir_wait_ms(const struct dir *d, int64_t t)
{
	if (!d->n)
		return -1;
	int64_t w = d->q[d->head]->due_ms - t;
	return w < 0 ? 0 : (int) w;
}

static void dir_free(struct dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->q[(d->head + i) % QUEUE_MAX]);
	d->n = 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lossy_link --tun-a NAME --tun-b NAME --loss P [--seed S] [--delay-ms N]\n"
		"                  [--ready-file FILE] [--exit-after S]\n"
		"  a lossy IP link between two new TUN devices; see the head of "
		"tests/server/lossy_link.c\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tun-a", required_argument, NULL, 'a'},
	    {"tun-b", required_argument, NULL, 'b'},
	    {"loss", required_argument, NULL, 'l'},
	    {"seed", required_argument, NULL, 's'},
	    {"delay-ms", required_argument, NULL, 'd'},
	    {"ready-file", required_argument, NULL, 'r'},
	    {"exit-after", required_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *tun_a = NULL, *tun_b = NULL, *ready_file = NULL;
	long loss = -1, seed = 1, delay_ms = 0, exit_after = 300;
	int c, bad = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			bad |= parse_name("tun-a", optarg, &tun_a);
			break;
		case 'b':
			bad |= parse_name("tun-b", optarg, &tun_b);
			break;
		case 'l':
			bad |= parse_long("loss", optarg, 0, 100, &loss);
			break;
		case 's':
			bad |= parse_long("seed", optarg, 0, LONG_MAX, &seed);
			break;
		case 'd':
			bad |= parse_long("delay-ms", optarg, 0, 10000, &delay_ms);
			break;
		case 'x':
			bad |= parse_long("exit-after", optarg, 1, 86400, &exit_after);
			break;
		case 'r':
			if (!*optarg) {
				fprintf(stderr, "lossy_link: --ready-file: a file name\n");
				bad = 1;
			}
			ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "lossy_link: %s needs a value\n", argv[optind - 1]);
			bad = 1;
			break;
		default:
			fprintf(stderr, "lossy_link: unknown option '%s'\n", argv[optind - 1]);
			bad = 1;
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lossy_link: unexpected argument '%s'\n", argv[optind]);
		bad = 1;
	}
	if (!bad && (!tun_a || !tun_b || loss < 0)) {
		fprintf(stderr, "lossy_link: --tun-a, --tun-b and --loss are required\n");
		bad = 1;
	}
	if (!bad && !strcmp(tun_a, tun_b)) {
		fprintf(stderr, "lossy_link: --tun-a and --tun-b must differ\n");
		bad = 1;
	}
	if (bad) {
		usage(stderr);
		return 2;
	}
	rng_state = (uint64_t) seed;

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int fa = tun_open(tun_a);
	int fb = fa >= 0 ? tun_open(tun_b) : -1;
	if (fa < 0 || fb < 0) {
		int r = fa < 0 ? fa : fb;
		fprintf(stderr, "lossy_link: cannot make TUN device '%s' (/dev/net/tun): %s\n",
			fa < 0 ? tun_a : tun_b, strerror(-r));
		if (fa >= 0)
			close(fa);
		bool env = r == -ENOENT || r == -ENODEV || r == -ENXIO || r == -EPERM ||
			   r == -EACCES || r == -EROFS;
		return env ? EXIT_NOTUN : 1;
	}
	if (ready_file) {
		FILE *f = fopen(ready_file, "w");
		if (!f || fputs("ready\n", f) < 0 || fclose(f) != 0) {
			fprintf(stderr, "lossy_link: --ready-file '%s': %s\n", ready_file,
				strerror(errno));
			close(fa);
			close(fb);
			return 1;
		}
	}

	static struct dir ab, ba;
	ab = (struct dir){.name = "a->b", .from = fa, .to = fb};
	ba = (struct dir){.name = "b->a", .from = fb, .to = fa};
	static uint8_t buf[PACKET_MAX];
	int64_t end = now_ms() + exit_after * 1000;
	int rc = 0;
	while (!stop) {
		int64_t t = now_ms();
		if (t >= end)
			break;
		int wait = (int) (end - t);
		int w1 = dir_wait_ms(&ab, t), w2 = dir_wait_ms(&ba, t);
		if (w1 >= 0 && w1 < wait)
			wait = w1;
		if (w2 >= 0 && w2 < wait)
			wait = w2;
		struct pollfd fds[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
		if (poll(fds, 2, wait) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "lossy_link: poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (fds[0].revents & (POLLERR | POLLNVAL) ||
		    fds[1].revents & (POLLERR | POLLNVAL)) {
			fprintf(stderr, "lossy_link: a TUN device failed\n");
			rc = 1;
			break;
		}
		if ((fds[0].revents & POLLIN && !dir_read(&ab, (int) loss, (int) delay_ms, buf)) ||
		    (fds[1].revents & POLLIN && !dir_read(&ba, (int) loss, (int) delay_ms, buf))) {
			rc = 1;
			break;
		}
		t = now_ms();
		dir_write(&ab, t);
		dir_write(&ba, t);
	}

	uint64_t all = 0, drop = 0;
	const struct dir *dirs[] = {&ab, &ba};
	for (size_t i = 0; i < 2; i++) {
		const struct dir *d = dirs[i];
		fprintf(stderr,
			"lossy_link: %s %" PRIu64 " forwarded %" PRIu64 " dropped %" PRIu64
			" undeliverable",
			d->name, d->forwarded, d->dropped, d->undeliverable);
		if (d->overflow)
			fprintf(stderr, " %" PRIu64 " over the queue", d->overflow);
		fputc('\n', stderr);
		all += d->forwarded + d->undeliverable + d->overflow + d->dropped;
		drop += d->dropped;
	}
	uint64_t permille = all ? drop * 1000 / all : 0;
	fprintf(stderr,
		"lossy_link: total %" PRIu64 " packets %" PRIu64 " dropped (%" PRIu64 ".%" PRIu64
		"%% lost)\n",
		all, drop, permille / 10, permille % 10);
	dir_free(&ab);
	dir_free(&ba);
	close(fa);
	close(fb);
	return rc;
}
