/*
 * nfc-libnfc: the "libnfc" NFC driver, for any reader libnfc drives (PN532 on UART/I2C/SPI,
 * ACR122U, PN533), chosen by connstring ("pn532_uart:/dev/ttyS0:115200"; NULL: the first reader
 * libnfc finds without an intrusive scan, so in practice a USB one).
 *
 * A reader thread owns the libnfc context and device and makes every libnfc call. It looks for
 * an ISO14443A card every POLL_MS, reports it once as HAL_NFC_TAP, checks every PRESENCE_MS
 * that the same card is still there and reports HAL_NFC_REMOVED when it is gone. Events reach
 * the caller through a queue whose pipe is hal_nfc_fd(); the caller never waits on libnfc. When
 * the queue is full the thread waits for the caller instead of dropping events.
 *
 * Opening: open() returns only after the thread's first attempt to open the reader, and fails
 * with -ENODEV when libnfc cannot open it (or another negative errno when the reader opens but
 * will not become an initiator). A wrong connstring in a board profile is thus reported at
 * start instead of as an endless READER_LOST. Afterwards a reader that stops answering is
 * closed and reported once as HAL_NFC_READER_LOST (any card on it counts as gone, with no
 * REMOVED, as in the "sim" driver); it is reopened with a backoff of 0.5 s doubling to 10 s and
 * reported as HAL_NFC_READER_BACK when it answers again.
 *
 * close() stops the thread promptly: it sets a stop flag, wakes the thread and aborts the libnfc
 * command in progress (nfc_abort_command()), then joins. It returns at once while the thread
 * sleeps between commands; with a reader that has stopped answering it can take about a second,
 * as libnfc waits out ACK timeouts its abort cannot cut short.
 *
 * Not for: card memory (NDEF), other modulations (ISO14443B, FeliCa), card emulation. UIDs are
 * never logged, only their length.
 */
#include "nfc.h"

#include <errno.h>
#include <fcntl.h>
#include <nfc/nfc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define QUEUE_MAX	  32
#define POLL_MS		  100	/* between searches while no card is on the reader */
#define PRESENCE_MS	  150	/* between checks that the card is still there */
#define RETRY_MS	  20	/* before retrying after a single device error */
#define BACKOFF_MIN_MS	  500	/* first reopen after the reader is lost */
#define BACKOFF_MAX_MS	  10000 /* reopen interval at most */
#define DEVICE_ERRORS_MAX 2	/* consecutive device errors before the reader counts as lost */

struct libnfc_reader {
	struct hal_nfc base;
	char *connstring; /* NULL: the first reader found */
	int pipe[2];	  /* one byte per queued event keeps the read end readable */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signals stop, queue space and the first open's result */

	/* Guarded by lock. */
	bool stop;
	bool started;	 /* first open attempt done; open_result is set */
	int open_result; /* 0 or a negative errno */
	nfc_device *dev; /* written by the thread under lock, read by it freely; close() aborts */
	bool busy;	 /* the thread is inside a libnfc call that may wait on the reader */
	struct hal_nfc_event queue[QUEUE_MAX];
	size_t head, count;

	/* Reader thread only. */
	nfc_context *ctx;
	bool card; /* a card was reported and has not left */
	nfc_target target;
	int errors; /* consecutive device errors */
};

static const nfc_modulation modulation = {.nmt = NMT_ISO14443A, .nbr = NBR_106};

/* libnfc error codes to errno, once, at the boundary. */
static int errno_from_nfc(int e)
{
	switch (e) {
	case NFC_SUCCESS:
		return 0;
	case NFC_EINVARG:
		return -EINVAL;
	case NFC_EDEVNOTSUPP:
	case NFC_ENOTIMPL:
		return -EOPNOTSUPP;
	case NFC_ENOTSUCHDEV:
		return -ENODEV;
	case NFC_EOVFLOW:
		return -EOVERFLOW;
	case NFC_ETIMEOUT:
		return -ETIMEDOUT;
	case NFC_EOPABORTED:
		return -ECANCELED;
	case NFC_ETGRELEASED:
		return -ENXIO;
	case NFC_EMFCAUTHFAIL:
		return -EACCES;
	case NFC_ESOFT:
		return -ENOMEM;
	case NFC_EIO:
	case NFC_ERFTRANS:
	case NFC_ECHIP:
	default:
		return -EIO;
	}
}

/* Errors that say the reader, not the card, failed. */
static bool is_device_error(int e)
{
	return e == NFC_EIO || e == NFC_ETIMEOUT || e == NFC_ENOTSUCHDEV || e == NFC_EOPABORTED ||
	       e == NFC_ESOFT;
}

/* ---- queue (caller and thread) ---- */

/* Queue one event, waiting for space. Returns 0, or -ECANCELED once close() has begun. */
static int reader_push(struct libnfc_reader *r, const struct hal_nfc_event *ev)
{
	int res = 0;

	pthread_mutex_lock(&r->lock);
	while (r->count == QUEUE_MAX && !r->stop)
		pthread_cond_wait(&r->cond, &r->lock);
	if (r->stop) {
		res = -ECANCELED;
	} else if (write(r->pipe[1], "e", 1) != 1) {
		res = -errno;
	} else {
		r->queue[(r->head + r->count) % QUEUE_MAX] = *ev;
		r->count++;
	}
	pthread_mutex_unlock(&r->lock);
	if (res < 0 && res != -ECANCELED)
		log_debug("nfc: cannot queue event: %s", strerror(-res));
	return res;
}

static int reader_push_kind(struct libnfc_reader *r, enum hal_nfc_event_kind kind)
{
	const struct hal_nfc_event ev = {.kind = kind};
	return reader_push(r, &ev);
}

static bool reader_stopping(struct libnfc_reader *r)
{
	pthread_mutex_lock(&r->lock);
	bool stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* Wait ms or until close(); returns false when the thread must stop. */
static bool reader_sleep(struct libnfc_reader *r, int ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long) (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
		;
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return !stop;
}

/* Mark the span of a libnfc call close() may abort. Returns false when close() has begun. */
static bool reader_enter(struct libnfc_reader *r)
{
	pthread_mutex_lock(&r->lock);
	bool stop = r->stop;
	r->busy = !stop;
	pthread_mutex_unlock(&r->lock);
	return !stop;
}

static void reader_leave(struct libnfc_reader *r)
{
	pthread_mutex_lock(&r->lock);
	r->busy = false;
	pthread_mutex_unlock(&r->lock);
}

/* ---- the device (thread) ---- */

static int reader_connect(struct libnfc_reader *r)
{
	nfc_device *dev;
	int e;

	dev = nfc_open(r->ctx, r->connstring);
	if (!dev) {
		log_debug("nfc: cannot open reader '%s'", r->connstring ? r->connstring : "(any)");
		return -ENODEV;
	}
	/* Initiator, then make a search end at once when no card answers: the thread polls. */
	e = nfc_initiator_init(dev);
	if (e >= 0)
		e = nfc_device_set_property_bool(dev, NP_INFINITE_SELECT, false);
	if (e < 0) {
		log_debug("nfc: reader '%s' will not be an initiator: %s", nfc_device_get_name(dev),
			  nfc_strerror(dev));
		nfc_close(dev);
		return errno_from_nfc(e);
	}
	pthread_mutex_lock(&r->lock);
	bool stop = r->stop;
	if (!stop)
		r->dev = dev;
	pthread_mutex_unlock(&r->lock);
	if (stop) {
		nfc_close(dev);
		return -ECANCELED;
	}
	log_debug("nfc: reader '%s' open", nfc_device_get_name(dev));
	r->card = false;
	r->errors = 0;
	return 0;
}

static void reader_disconnect(struct libnfc_reader *r)
{
	nfc_device *dev;

	/* Unpublish first, so close() never aborts a device that is being freed. */
	pthread_mutex_lock(&r->lock);
	dev = r->dev;
	r->dev = NULL;
	pthread_mutex_unlock(&r->lock);
	if (dev)
		nfc_close(dev);
	r->card = false;
}

/* One search. Returns 1 and reports TAP when a card came, 0 when none, or a libnfc error. */
static int reader_find_card(struct libnfc_reader *r)
{
	nfc_target nt;
	int e;

	if (!reader_enter(r))
		return NFC_EOPABORTED;
	e = nfc_initiator_select_passive_target(r->dev, modulation, NULL, 0, &nt);
	reader_leave(r);
	if (e <= 0)
		return is_device_error(e) ? e : 0;

	const nfc_iso14443a_info *a = &nt.nti.nai;
	if (a->szUidLen == 0 || a->szUidLen > HAL_NFC_UID_MAX) {
		log_debug("nfc: card with a %zu-byte UID ignored", a->szUidLen);
		return 0;
	}
	struct hal_nfc_event ev = {.kind = HAL_NFC_TAP, .uid_len = a->szUidLen};
	memcpy(ev.uid, a->abtUid, a->szUidLen);
	r->card = true;
	r->target = nt;
	log_debug("nfc: card in field (%zu-byte UID)", a->szUidLen);
	return reader_push(r, &ev) < 0 ? NFC_EOPABORTED : 1;
}

/* Is the card still there? 1 yes, 0 gone (REMOVED reported), or a libnfc device error. */
static int reader_check_card(struct libnfc_reader *r)
{
	int e;

	if (!reader_enter(r))
		return NFC_EOPABORTED;
	e = nfc_initiator_target_is_present(r->dev, NULL);
	if (e == NFC_EDEVNOTSUPP) {
		/* No presence check for this card type: select it again by its UID. */
		const nfc_iso14443a_info *a = &r->target.nti.nai;
		e = nfc_initiator_select_passive_target(r->dev, modulation, a->abtUid, a->szUidLen,
							NULL);
		e = e > 0 ? NFC_SUCCESS : e == 0 ? NFC_ETGRELEASED : e;
	}
	reader_leave(r);
	if (e == NFC_SUCCESS)
		return 1;
	if (is_device_error(e))
		return e;
	log_debug("nfc: card left the field (%s)", nfc_strerror(r->dev));
	r->card = false;
	return reader_push_kind(r, HAL_NFC_REMOVED) < 0 ? NFC_EOPABORTED : 0;
}

static void reader_run(struct libnfc_reader *r)
{
	int backoff_ms = BACKOFF_MIN_MS;

	while (!reader_stopping(r)) {
		if (!r->dev) {
			if (!reader_sleep(r, backoff_ms))
				break;
			if (reader_connect(r) < 0) {
				backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
									     : backoff_ms * 2;
				continue;
			}
			backoff_ms = BACKOFF_MIN_MS;
			if (reader_push_kind(r, HAL_NFC_READER_BACK) < 0)
				break;
			continue;
		}

		bool had_card = r->card;
		int res = had_card ? reader_check_card(r) : reader_find_card(r);
		if (res >= 0) {
			/* Card there: check again soon. Card just left: search at once. */
			int wait_ms = r->card ? PRESENCE_MS : had_card ? 0 : POLL_MS;
			r->errors = 0;
			if (wait_ms && !reader_sleep(r, wait_ms))
				break;
			continue;
		}
		if (reader_stopping(r))
			break;
		log_debug("nfc: reader error: %s", nfc_strerror(r->dev));
		if (++r->errors < DEVICE_ERRORS_MAX) {
			if (!reader_sleep(r, RETRY_MS))
				break;
			continue;
		}
		log_debug("nfc: reader lost, reopening with backoff");
		reader_disconnect(r);
		if (reader_push_kind(r, HAL_NFC_READER_LOST) < 0)
			break;
	}
}

static void *reader_main(void *arg)
{
	struct libnfc_reader *r = arg;
	int res;

	nfc_init(&r->ctx);
	res = r->ctx ? reader_connect(r) : -ENOMEM;
	pthread_mutex_lock(&r->lock);
	r->open_result = res;
	r->started = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (res == 0)
		reader_run(r);
	reader_disconnect(r);
	if (r->ctx)
		nfc_exit(r->ctx);
	return NULL;
}

/* ---- ops (caller) ---- */

static void reader_free(struct libnfc_reader *r)
{
	if (r->pipe[0] >= 0)
		close(r->pipe[0]);
	if (r->pipe[1] >= 0)
		close(r->pipe[1]);
	free(r->connstring);
	free(r);
}

static int reader_init_sync(struct libnfc_reader *r)
{
	pthread_condattr_t attr;
	int e;

	e = pthread_condattr_init(&attr);
	if (e == 0)
		e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (e == 0)
		e = pthread_cond_init(&r->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (e != 0)
		return -e;
	e = pthread_mutex_init(&r->lock, NULL);
	if (e != 0) {
		pthread_cond_destroy(&r->cond);
		return -e;
	}
	return 0;
}

static int libnfc_open(const struct hal_nfc_config *config, struct hal_nfc **ret_nfc)
{
	struct libnfc_reader *r;
	sigset_t all, old;
	int res;

	if (!ret_nfc)
		return -EINVAL;
	if (config->connstring && strlen(config->connstring) >= NFC_BUFSIZE_CONNSTRING)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base.ops = &hal_nfc_libnfc_ops;
	r->pipe[0] = r->pipe[1] = -1;
	if (config->connstring && !(r->connstring = strdup(config->connstring))) {
		reader_free(r);
		return -ENOMEM;
	}
	if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		res = -errno;
		reader_free(r);
		return res;
	}
	res = reader_init_sync(r);
	if (res < 0) {
		reader_free(r);
		return res;
	}

	/* The thread takes no signals: they are the main loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	res = -pthread_create(&r->thread, NULL, reader_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (res == 0) {
		pthread_mutex_lock(&r->lock);
		while (!r->started)
			pthread_cond_wait(&r->cond, &r->lock);
		res = r->open_result;
		pthread_mutex_unlock(&r->lock);
		if (res < 0)
			pthread_join(r->thread, NULL);
	}
	if (res < 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		reader_free(r);
		return res;
	}
	*ret_nfc = &r->base;
	return 0;
}

static void libnfc_close(struct hal_nfc *nfc)
{
	struct libnfc_reader *r = (struct libnfc_reader *) nfc;

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	/*
	 * Abort only while the thread is inside a libnfc call: outside a wait for a reply libnfc
	 * loses the abort and leaks a pipe end. It races with that call on the device's last_error,
	 * as libnfc's abort design has it; the thread is stopping and ignores the outcome.
	 */
	if (r->dev && r->busy)
		(void) nfc_abort_command(r->dev);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	reader_free(r);
}

static int libnfc_fd(struct hal_nfc *nfc)
{
	return ((struct libnfc_reader *) nfc)->pipe[0];
}

static int libnfc_next_event(struct hal_nfc *nfc, struct hal_nfc_event *ret_event)
{
	struct libnfc_reader *r = (struct libnfc_reader *) nfc;
	char c;
	int res = 0;

	if (!ret_event)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (r->count > 0) {
		(void) !read(r->pipe[0], &c, 1);
		*ret_event = r->queue[r->head];
		r->head = (r->head + 1) % QUEUE_MAX;
		r->count--;
		pthread_cond_broadcast(&r->cond);
		res = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return res;
}

const struct hal_nfc_ops hal_nfc_libnfc_ops = {
    .name = "libnfc",
    .open = libnfc_open,
    .close = libnfc_close,
    .fd = libnfc_fd,
    .next_event = libnfc_next_event,
};
