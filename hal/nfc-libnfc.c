/*
 * nfc-libnfc: the "libnfc" NFC driver, for any reader libnfc drives (PN532 on UART/I2C/SPI,
 * ACR122U, PN533), chosen by connstring ("pn532_uart:/dev/ttyS0:115200"; NULL: the first reader
 * libnfc finds without an intrusive scan, so in practice a USB one).
 *
 * A reader thread owns the libnfc context and device and makes every libnfc call. It looks for
 * an ISO14443A card with back-to-back searches (InListPassiveTarget, started at most every
 * SEARCH_EVERY_MS: a PN532 spends its passive activation retries waiting for a card and answers
 * the moment one comes, so a card is seen within a search's round trip), reports it once as
 * HAL_NFC_TAP, checks every PRESENCE_MS that the same card is still there and reports
 * HAL_NFC_REMOVED when it is gone (a card that misses a check is selected again by its UID
 * before it counts as gone). Events reach the caller through a queue whose pipe is hal_nfc_fd();
 * the caller never waits on libnfc. When the queue is full the thread waits for the caller
 * instead of dropping events.
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
 * Before it reports a tap the thread tells the tag type and reads the card's NDEF message:
 * GET_VERSION, then the capability container and the TLV area (READ, FAST_READ) of an NTAG21x;
 * the native GetVersion, then ISO 7816-4 SELECT of the NDEF application and file and READ BINARY
 * of an ISO-DEP card (NTAG 424 DNA). Every card command has a timeout (CARD_TIMEOUT_MS); a read
 * that fails is retried twice after selecting the card again (an NTAG drops back to idle after
 * an RF error), then reported as HAL_NFC_READ_FAILED ("tap again") with the tap. A write asked
 * with hal_nfc_write_ndef() runs in the same thread between two presence checks.
 *
 * Not for: record parsing (app/ndef), other modulations (ISO14443B, FeliCa), card emulation,
 * authenticated NTAG commands. UIDs are never logged, only their length.
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
#define SEARCH_EVERY_MS	  5	/* searches start at most this often while no card is there */
#define PRESENCE_MS	  150	/* between checks that the card is still there */
#define RETRY_MS	  20	/* before retrying after a single device error */
#define BACKOFF_MIN_MS	  500	/* first reopen after the reader is lost */
#define BACKOFF_MAX_MS	  10000 /* reopen interval at most */
#define DEVICE_ERRORS_MAX 2	/* consecutive device errors before the reader counts as lost */
#define CARD_TIMEOUT_MS	  300	/* one card command, reply included */
#define READ_TRIES	  3	/* reading a card's NDEF, the first try included */
#define REREADS_MAX	  1	/* a card lying on the reader after a failed read: read again */
#define FAST_READ_PAGES	  60	/* pages per FAST_READ: 240 bytes, one PN532 frame */
#define T4_CHUNK	  128	/* bytes per READ BINARY */
#define NTAG_AREA_MAX	  888	/* the NTAG216's user memory */

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
	bool write_pending; /* write_uid .. write_len hold a request; the thread clears it */
	uint8_t write_uid[HAL_NFC_UID_MAX];
	size_t write_uid_len;
	uint8_t write_msg[HAL_NFC_NDEF_MAX];
	size_t write_len;

	/* Reader thread only. */
	nfc_context *ctx;
	bool card;	  /* a card was reported and has not left */
	bool read_failed; /* and its tap said HAL_NFC_READ_FAILED */
	unsigned rereads; /* times it was read again since its read failed, lying there */
	nfc_target target;
	enum hal_nfc_tag tag; /* of the card reported */
	size_t t2_size;	      /* its Type 2 data area, as its capability container says */
	uint8_t write_copy[HAL_NFC_NDEF_MAX];
	int errors;		      /* consecutive device errors */
	struct hal_nfc_event scratch; /* the event being built (too big for the thread's stack) */
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

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wait ms, or until close() or a write request; returns false when the thread must stop. */
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
	while (!r->stop && !r->write_pending &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
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

/* ---- card memory (thread) ---- */

/* One card command with a timeout. Returns the reply length or a libnfc error. */
static int card_xfer(struct libnfc_reader *r, const uint8_t *tx, size_t tx_len, uint8_t *rx,
		     size_t rx_cap)
{
	int e;

	if (!reader_enter(r))
		return NFC_EOPABORTED;
	e = nfc_initiator_transceive_bytes(r->dev, tx, tx_len, rx, rx_cap, CARD_TIMEOUT_MS);
	reader_leave(r);
	return e;
}

/* Select the card of r->target again (after an RF error an NTAG is idle). 1 when it answered, 0
 * when it is gone, or a libnfc error. */
static int card_reselect(struct libnfc_reader *r)
{
	const nfc_iso14443a_info *a = &r->target.nti.nai;
	int e;

	if (!reader_enter(r))
		return NFC_EOPABORTED;
	e = nfc_initiator_select_passive_target(r->dev, modulation, a->abtUid, a->szUidLen, NULL);
	reader_leave(r);
	return e;
}

/* NTAG21x from its GET_VERSION answer (NXP, NTAG, storage size), or UNKNOWN. */
static enum hal_nfc_tag ntag_model(const uint8_t *v, int len)
{
	if (len != 8 || v[1] != 0x04 || v[2] != 0x04)
		return HAL_NFC_TAG_UNKNOWN;
	switch (v[6]) {
	case 0x0f:
		return HAL_NFC_TAG_NTAG213;
	case 0x11:
		return HAL_NFC_TAG_NTAG215;
	case 0x13:
		return HAL_NFC_TAG_NTAG216;
	default:
		return HAL_NFC_TAG_UNKNOWN;
	}
}

static size_t ntag_user_bytes(enum hal_nfc_tag tag)
{
	return tag == HAL_NFC_TAG_NTAG213 ? 144 : tag == HAL_NFC_TAG_NTAG215 ? 504 : NTAG_AREA_MAX;
}

static bool is_ntag21x(enum hal_nfc_tag tag)
{
	return tag == HAL_NFC_TAG_NTAG213 || tag == HAL_NFC_TAG_NTAG215 ||
	       tag == HAL_NFC_TAG_NTAG216;
}

/* What t2_walk() found in the bytes of a Type 2 data area read so far. */
enum t2_found { T2_MESSAGE, T2_EMPTY, T2_END, T2_NEED, T2_BAD };

/*
 * Walk the TLVs (NULL, Lock and Memory Control, proprietary: skipped; Terminator: no message)
 * to the NDEF TLV. T2_MESSAGE with its offset and length, T2_NEED with the bytes needed to go
 * on, T2_END when every byte was walked and more may follow, T2_EMPTY (a Terminator or an empty
 * NDEF TLV), or T2_BAD for an unknown TLV. The strict checks are app/ndef's.
 */
static enum t2_found t2_walk(const uint8_t *a, size_t have, size_t *ret_off, size_t *ret_len)
{
	size_t i = 0, l, hdr;

	while (i < have) {
		if (a[i] == 0x00) {
			i++;
			continue;
		}
		if (a[i] == 0xfe)
			return T2_EMPTY;
		if (a[i] != 0x01 && a[i] != 0x02 && a[i] != 0x03 && a[i] != 0xfd)
			return T2_BAD;
		if (i + 2 > have || (a[i + 1] == 0xff && i + 4 > have)) {
			*ret_off = i + 4;
			return T2_NEED;
		}
		if (a[i + 1] == 0xff) {
			l = (size_t) a[i + 2] << 8 | a[i + 3];
			hdr = 4;
		} else {
			l = a[i + 1];
			hdr = 2;
		}
		if (a[i] == 0x03) {
			*ret_off = i + hdr;
			*ret_len = l;
			return l == 0 ? T2_EMPTY : T2_MESSAGE;
		}
		i += hdr + l;
	}
	if (i == have)
		return T2_END;
	*ret_off = i;
	return T2_NEED;
}

/* Read the Type 2 data area bytes [have, want) (page-aligned from page 4) into area. */
static int ntag_read_area(struct libnfc_reader *r, uint8_t *area, size_t have, size_t want)
{
	uint8_t rx[FAST_READ_PAGES * 4];

	while (have < want) {
		size_t first = 4 + have / 4;
		size_t pages = (want - have + 3) / 4;
		if (pages > FAST_READ_PAGES)
			pages = FAST_READ_PAGES;
		const uint8_t tx[] = {0x3a, (uint8_t) first, (uint8_t) (first + pages - 1)};
		int e = card_xfer(r, tx, sizeof(tx), rx, sizeof(rx));
		if (e < 0)
			return e;
		if ((size_t) e != pages * 4)
			return NFC_ERFTRANS;
		memcpy(area + have, rx, pages * 4);
		have += pages * 4;
	}
	return 0;
}

/* One try at an NTAG21x: capability container, then as much of the TLV area as the NDEF TLV
 * needs. The first FAST_READ takes the capability container (page 3) with the start of the area,
 * as much as one frame holds within the model's user memory, so a card URL comes in one command.
 * 0 with ev->read set, or a libnfc error. */
static int ntag_read(struct libnfc_reader *r, struct hal_nfc_event *ev)
{
	uint8_t area[NTAG_AREA_MAX + FAST_READ_PAGES * 4], rx[FAST_READ_PAGES * 4];
	size_t have, size, off = 0, len = 0;
	size_t pages = 1 + ntag_user_bytes(ev->tag) / 4;
	int e;

	/* FAST_READ 3 ..: the capability container and the first bytes of the data area. */
	if (pages > FAST_READ_PAGES)
		pages = FAST_READ_PAGES;
	const uint8_t tx[] = {0x3a, 0x03, (uint8_t) (3 + pages - 1)};
	e = card_xfer(r, tx, sizeof(tx), rx, sizeof(rx));
	if (e < 0)
		return e;
	if ((size_t) e != pages * 4)
		return NFC_ERFTRANS;
	if (rx[0] != 0xe1 || (rx[1] >> 4) != 1) {
		ev->read =
		    HAL_NFC_READ_INVALID; /* not NDEF formatted, or a major version unknown */
		return 0;
	}
	size = (size_t) rx[2] * 8;
	if (size > ntag_user_bytes(ev->tag))
		size = ntag_user_bytes(ev->tag);
	r->t2_size = size;
	have = (pages - 1) * 4;
	if (have > size)
		have = size; /* never walk past the data area the container gives */
	memcpy(area, rx + 4, have);
	for (;;) {
		enum t2_found f = t2_walk(area, have, &off, &len);
		if (f == T2_EMPTY) {
			ev->read = HAL_NFC_READ_OK;
			ev->ndef_len = 0;
			return 0;
		}
		if (f == T2_BAD || (f == T2_MESSAGE && len > HAL_NFC_NDEF_MAX)) {
			ev->read = HAL_NFC_READ_INVALID;
			return 0;
		}
		if (f == T2_END && have >= size) {
			ev->read = HAL_NFC_READ_OK; /* NULL TLVs to the end: no message */
			ev->ndef_len = 0;
			return 0;
		}
		size_t want = f == T2_MESSAGE ? off + len : f == T2_NEED ? off : have + 1;
		if (f == T2_MESSAGE && want <= have) {
			memcpy(ev->ndef, area + off, len);
			ev->ndef_len = len;
			ev->read = HAL_NFC_READ_OK;
			return 0;
		}
		if (want > size) {
			ev->read = HAL_NFC_READ_INVALID; /* a TLV goes on past the data area */
			return 0;
		}
		/* Read on to what is needed, at least a frame's worth, within the area. */
		if (want < have + FAST_READ_PAGES * 4)
			want = have + FAST_READ_PAGES * 4;
		if (want > size)
			want = size;
		e = ntag_read_area(r, area, have, want);
		if (e < 0)
			return e;
		have = (want + 3) / 4 * 4;
	}
}

/* One APDU; returns the response length without the status word, or a libnfc error. The status
 * word goes to *ret_sw; a response without one is an RF error. */
static int t4_apdu(struct libnfc_reader *r, const uint8_t *apdu, size_t len, uint8_t *rx,
		   size_t rx_cap, uint16_t *ret_sw)
{
	int e = card_xfer(r, apdu, len, rx, rx_cap);

	if (e < 0)
		return e;
	if (e < 2)
		return NFC_ERFTRANS;
	*ret_sw = (uint16_t) (rx[e - 2] << 8 | rx[e - 1]);
	return e - 2;
}

/* One try at an ISO-DEP card: identify it, SELECT the NDEF application and file E104, READ
 * BINARY its length and message. 0 with ev->tag and ev->read set, or a libnfc error. */
static int t4_read(struct libnfc_reader *r, struct hal_nfc_event *ev)
{
	static const uint8_t get_version[] = {0x90, 0x60, 0x00, 0x00, 0x00};
	static const uint8_t select_app[] = {0x00, 0xa4, 0x04, 0x00, 0x07, 0xd2, 0x76,
					     0x00, 0x00, 0x85, 0x01, 0x01, 0x00};
	static const uint8_t select_file[] = {0x00, 0xa4, 0x00, 0x0c, 0x02, 0xe1, 0x04};
	uint8_t rx[T4_CHUNK + 2];
	uint16_t sw;
	size_t nlen;
	int n;

	/* Native GetVersion, first frame: NXP, hardware type NTAG, subtype 424 DNA. Only the
	 * first frame is read: the SELECT that follows ends the command. */
	n = t4_apdu(r, get_version, sizeof(get_version), rx, sizeof(rx), &sw);
	if (n < 0)
		return n;
	ev->tag = n == 7 && sw == 0x91af && rx[0] == 0x04 && rx[1] == 0x04 && rx[2] == 0x02
		      ? HAL_NFC_TAG_NTAG424DNA
		      : HAL_NFC_TAG_ISO_DEP;
	n = t4_apdu(r, select_app, sizeof(select_app), rx, sizeof(rx), &sw);
	if (n < 0)
		return n;
	if (sw != 0x9000) {
		ev->read = HAL_NFC_READ_OK; /* no NDEF application: no message */
		ev->ndef_len = 0;
		return 0;
	}
	n = t4_apdu(r, select_file, sizeof(select_file), rx, sizeof(rx), &sw);
	if (n < 0)
		return n;
	if (sw != 0x9000) {
		ev->read = HAL_NFC_READ_INVALID;
		return 0;
	}
	n = t4_apdu(r, (const uint8_t[]){0x00, 0xb0, 0x00, 0x00, 0x02}, 5, rx, sizeof(rx), &sw);
	if (n < 0)
		return n;
	if (sw != 0x9000 || n != 2) {
		ev->read = HAL_NFC_READ_INVALID;
		return 0;
	}
	nlen = (size_t) rx[0] << 8 | rx[1];
	if (nlen > HAL_NFC_NDEF_MAX) {
		ev->read = HAL_NFC_READ_INVALID;
		return 0;
	}
	for (size_t got = 0; got < nlen;) {
		const size_t off = 2 + got;
		const size_t want = nlen - got < T4_CHUNK ? nlen - got : T4_CHUNK;
		const uint8_t read[] = {0x00, 0xb0, (uint8_t) (off >> 8), (uint8_t) off,
					(uint8_t) want};
		n = t4_apdu(r, read, sizeof(read), rx, sizeof(rx), &sw);
		if (n < 0)
			return n;
		if (sw != 0x9000 || n == 0 || (size_t) n > want) {
			ev->read = HAL_NFC_READ_INVALID;
			return 0;
		}
		memcpy(ev->ndef + got, rx, (size_t) n);
		got += (size_t) n;
	}
	ev->ndef_len = nlen;
	ev->read = HAL_NFC_READ_OK;
	return 0;
}

/* One try: tell the tag type, read the NDEF message. 0 or a libnfc error. */
static int card_read_once(struct libnfc_reader *r, struct hal_nfc_event *ev)
{
	const nfc_iso14443a_info *a = &r->target.nti.nai;
	uint8_t rx[16];
	int e;

	ev->tag = HAL_NFC_TAG_UNKNOWN;
	ev->read = HAL_NFC_READ_NONE;
	ev->ndef_len = 0;
	if (a->btSak & 0x20)
		return t4_read(r, ev);
	if (a->abtAtqa[0] != 0x00 || a->abtAtqa[1] != 0x44 || a->btSak != 0x00)
		return 0; /* not a Type 2 tag of the NTAG family: UID only */
	e = card_xfer(r, (const uint8_t[]){0x60}, 1, rx, sizeof(rx));
	if (e < 0)
		return e;
	ev->tag = ntag_model(rx, e);
	if (ev->tag == HAL_NFC_TAG_UNKNOWN)
		return 0;
	return ntag_read(r, ev);
}

/*
 * Tell the tag type and read the NDEF message of the card just selected (r->target) into ev,
 * trying READ_TRIES times, selecting the card again before each new try. Returns 0 with
 * ev->read set (HAL_NFC_READ_FAILED when the card left or kept failing), or a libnfc device
 * error when the reader itself failed on the last try.
 */
static int card_read(struct libnfc_reader *r, struct hal_nfc_event *ev)
{
	int e = 0;

	for (int t = 0; t < READ_TRIES; t++) {
		if (t > 0) {
			e = card_reselect(r);
			if (e == 0)
				break; /* gone */
			if (e < 0) {
				if (e == NFC_EOPABORTED || reader_stopping(r))
					return NFC_EOPABORTED;
				continue;
			}
		}
		e = card_read_once(r, ev);
		if (e >= 0)
			return 0;
		if (e == NFC_EOPABORTED || reader_stopping(r))
			return NFC_EOPABORTED;
		log_info("nfc: reading the card failed (%s), try %d of %d", nfc_strerror(r->dev),
			 t + 1, READ_TRIES);
	}
	if (e < 0 && is_device_error(e) && e != NFC_ETIMEOUT)
		return e;
	ev->read = HAL_NFC_READ_FAILED;
	ev->ndef_len = 0;
	return 0;
}

/* Write one NTAG page. 0 or a libnfc error. */
static int ntag_write_page(struct libnfc_reader *r, size_t page, const uint8_t *data)
{
	const uint8_t tx[] = {0xa2, (uint8_t) page, data[0], data[1], data[2], data[3]};
	int e = card_xfer(r, tx, sizeof(tx), NULL, 0);
	return e < 0 ? e : 0;
}

/* Write msg as the NDEF TLV of the NTAG21x on the reader, torn-safe: page 4 first says "empty
 * message", the other pages follow, page 4 last. Returns a hal_nfc_write outcome. */
static enum hal_nfc_write ntag_write(struct libnfc_reader *r, const uint8_t *msg, size_t len)
{
	static const uint8_t empty[4] = {0x03, 0x00, 0xfe, 0x00};
	uint8_t area[NTAG_AREA_MAX + 8] = {0};
	size_t n = 0;

	area[n++] = 0x03;
	if (len < 0xff) {
		area[n++] = (uint8_t) len;
	} else {
		area[n++] = 0xff;
		area[n++] = (uint8_t) (len >> 8);
		area[n++] = (uint8_t) len;
	}
	if (n + len + 1 > r->t2_size)
		return HAL_NFC_WRITE_TOO_BIG;
	memcpy(area + n, msg, len);
	n += len;
	area[n++] = 0xfe;
	if (ntag_write_page(r, 4, empty) < 0)
		return HAL_NFC_WRITE_FAILED;
	for (size_t page = 5; (page - 4) * 4 < n; page++) {
		if (ntag_write_page(r, page, area + (page - 4) * 4) < 0)
			return HAL_NFC_WRITE_FAILED;
	}
	if (ntag_write_page(r, 4, area) < 0)
		return HAL_NFC_WRITE_FAILED;
	return HAL_NFC_WRITE_OK;
}

/* Run the pending write request and report its outcome. Returns 0 or NFC_EOPABORTED. */
static int reader_write(struct libnfc_reader *r)
{
	uint8_t *msg = r->write_copy;
	struct hal_nfc_event *ev = &r->scratch;
	size_t len;
	int e;

	memset(ev, 0, sizeof(*ev));
	ev->kind = HAL_NFC_TAP;
	pthread_mutex_lock(&r->lock);
	memcpy(ev->uid, r->write_uid, r->write_uid_len);
	ev->uid_len = r->write_uid_len;
	len = r->write_len;
	memcpy(msg, r->write_msg, len);
	pthread_mutex_unlock(&r->lock);

	const nfc_iso14443a_info *a = &r->target.nti.nai;
	if (!r->dev || !r->card || a->szUidLen != ev->uid_len ||
	    memcmp(a->abtUid, ev->uid, ev->uid_len) != 0) {
		ev->write = HAL_NFC_WRITE_NO_CARD;
	} else if (!is_ntag21x(r->tag)) {
		ev->write = HAL_NFC_WRITE_UNSUPPORTED;
		ev->tag = r->tag;
	} else {
		/* Read it again now: blank, or holding this very message already? */
		e = card_read(r, ev);
		if (e < 0)
			ev->read = HAL_NFC_READ_FAILED;
		if (ev->read == HAL_NFC_READ_FAILED)
			ev->write = HAL_NFC_WRITE_FAILED;
		else if (ev->read != HAL_NFC_READ_OK || !is_ntag21x(ev->tag))
			ev->write = HAL_NFC_WRITE_UNSUPPORTED;
		else if (ev->ndef_len == len && memcmp(ev->ndef, msg, len) == 0)
			ev->write = HAL_NFC_WRITE_OK;
		else if (ev->ndef_len != 0)
			ev->write = HAL_NFC_WRITE_NOT_BLANK;
		else
			ev->write = ntag_write(r, msg, len);
		if (ev->write == HAL_NFC_WRITE_OK || ev->write == HAL_NFC_WRITE_FAILED) {
			/* Read back what the card now holds. */
			if (card_read(r, ev) < 0)
				ev->read = HAL_NFC_READ_FAILED;
			if (ev->read != HAL_NFC_READ_OK || ev->ndef_len != len ||
			    memcmp(ev->ndef, msg, len) != 0)
				ev->write = HAL_NFC_WRITE_FAILED;
		}
	}
	log_debug("nfc: write of a %zu-byte NDEF message: %s", len, hal_nfc_write_name(ev->write));
	pthread_mutex_lock(&r->lock);
	r->write_pending = false;
	pthread_mutex_unlock(&r->lock);
	return reader_push(r, ev) < 0 ? NFC_EOPABORTED : 0;
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
	struct hal_nfc_event *ev = &r->scratch;
	memset(ev, 0, sizeof(*ev));
	ev->kind = HAL_NFC_TAP;
	ev->uid_len = a->szUidLen;
	memcpy(ev->uid, a->abtUid, a->szUidLen);
	r->target = nt;
	e = card_read(r, ev);
	if (e < 0)
		return e; /* the reader, not the card, failed: no tap yet */
	r->card = true;
	r->tag = ev->tag;
	r->read_failed = ev->read == HAL_NFC_READ_FAILED;
	if (!r->read_failed)
		r->rereads = 0;
	log_debug("nfc: card in field (%zu-byte UID, %s, %s, %zu-byte NDEF message)", a->szUidLen,
		  hal_nfc_tag_name(ev->tag), hal_nfc_read_name(ev->read), ev->ndef_len);
	return reader_push(r, ev) < 0 ? NFC_EOPABORTED : 1;
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
	/* No answer: gone, or one answer lost to an RF error (which leaves an NTAG idle). A card
	 * has left only when it is not there when selected again by its UID; otherwise a card lying
	 * on the reader would come back as a new tap. A card whose read failed and that lies there
	 * is read again REREADS_MAX times (reported gone, then found again), not for ever: a card
	 * the driver cannot read would else ask to tap again every few hundred milliseconds. */
	e = card_reselect(r);
	if (e < 0 && is_device_error(e))
		return e;
	if (e > 0) {
		if (!r->read_failed || r->rereads >= REREADS_MAX)
			return 1;
		r->rereads++;
		log_debug("nfc: the card whose read failed lies on the reader: reading it again");
	} else {
		r->rereads = 0;
	}
	log_debug("nfc: card left the field");
	r->card = false;
	return reader_push_kind(r, HAL_NFC_REMOVED) < 0 ? NFC_EOPABORTED : 0;
}

static void reader_run(struct libnfc_reader *r)
{
	int backoff_ms = BACKOFF_MIN_MS;

	while (!reader_stopping(r)) {
		pthread_mutex_lock(&r->lock);
		bool write = r->write_pending;
		pthread_mutex_unlock(&r->lock);
		if (write) {
			if (reader_write(r) < 0)
				break;
			continue;
		}
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
		const int64_t began_us = mono_us();
		int res = had_card ? reader_check_card(r) : reader_find_card(r);
		if (res >= 0) {
			/* Card there: check again soon. Card just left: search at once. No card:
			 * search again once SEARCH_EVERY_MS have passed since this search began
			 * (at once when the reader waited that long for a card). */
			int wait_ms = 0;
			if (r->card)
				wait_ms = PRESENCE_MS;
			else if (!had_card)
				wait_ms = SEARCH_EVERY_MS - (int) ((mono_us() - began_us) / 1000);
			r->errors = 0;
			if (wait_ms > 0 && !reader_sleep(r, wait_ms))
				break;
			continue;
		}
		if (reader_stopping(r))
			break;
		log_info("nfc: reader error (%s)%s", nfc_strerror(r->dev),
			 r->errors + 1 < DEVICE_ERRORS_MAX ? ", trying again" : "");
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

static int libnfc_write_ndef(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			     const uint8_t *msg, size_t len)
{
	struct libnfc_reader *r = (struct libnfc_reader *) nfc;
	int res = 0;

	if (!uid || uid_len == 0 || uid_len > HAL_NFC_UID_MAX || !msg || len == 0 ||
	    len > HAL_NFC_NDEF_MAX)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (r->write_pending) {
		res = -EBUSY;
	} else {
		memcpy(r->write_uid, uid, uid_len);
		r->write_uid_len = uid_len;
		memcpy(r->write_msg, msg, len);
		r->write_len = len;
		r->write_pending = true;
		pthread_cond_broadcast(&r->cond);
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
    .write_ndef = libnfc_write_ndef,
};
