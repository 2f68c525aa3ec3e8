/*
 * nfc: NFC readers that report card taps and removals.
 *
 * A reader is polled through a file descriptor: when fd is readable, call hal_nfc_next_event()
 * until it returns 0. Drivers with blocking libraries run them in a thread of their own, so the
 * caller's main loop never stalls. Drivers: "sim" (cards presented through the backend API) and
 * "libnfc" (any libnfc reader, by connstring). UIDs are handed up as bytes and must never be
 * logged in clear.
 *
 * A tap also tells the tag type and hands up the card's NDEF message, read by the driver before
 * it reports the tap (hal_nfc_event.tag, .read, .ndef). The hal stops at the tag platform (the
 * Type 2 TLV area, the Type 4 NDEF file): the message's records are app/ndef's business, e.g.
 * ndef_message_uri(ev.ndef, ev.ndef_len, ...) for the member's card URL. Likewise the enrolment
 * write takes a message made by app/ndef (ndef_message_encode_uri()) and puts it on the card.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAL_NFC_UID_MAX	 10
#define HAL_NFC_NDEF_MAX 1024 /* bytes of NDEF message handed up or written (1 KiB) */

enum hal_nfc_event_kind {
	/* A card came into the field; uid, tag, read and ndef are set. Also the answer to
	 * hal_nfc_write_ndef() (write is then not HAL_NFC_WRITE_NONE): see there. */
	HAL_NFC_TAP,
	HAL_NFC_REMOVED,     /* the card left the field */
	HAL_NFC_READER_LOST, /* the reader stopped answering; the driver keeps trying to reopen */
	HAL_NFC_READER_BACK, /* the reader answers again */
	HAL_NFC_EVENT_MAX
};

/* What the card is, as far as the driver could tell. */
enum hal_nfc_tag {
	HAL_NFC_TAG_UNKNOWN, /* not identified (another card type, or the driver does not tell) */
	HAL_NFC_TAG_NTAG213,
	HAL_NFC_TAG_NTAG215,
	HAL_NFC_TAG_NTAG216,
	HAL_NFC_TAG_NTAG424DNA,
	HAL_NFC_TAG_ISO_DEP, /* another ISO-DEP (NFC Forum Type 4) card */
	HAL_NFC_TAG_MAX
};

/* How reading the card's NDEF message went. */
enum hal_nfc_read {
	HAL_NFC_READ_NONE,    /* not read: a tag type the driver does not read, or a "sim" card
				 presented by UID alone */
	HAL_NFC_READ_OK,      /* ndef holds the message; ndef_len 0: the card holds none (blank) */
	HAL_NFC_READ_FAILED,  /* the card left or stopped answering mid-read: ask to tap again */
	HAL_NFC_READ_INVALID, /* not NDEF formatted, a malformed TLV area or NDEF file, or a
				 message over HAL_NFC_NDEF_MAX */
	HAL_NFC_READ_MAX
};

/* The answer to hal_nfc_write_ndef(). */
enum hal_nfc_write {
	HAL_NFC_WRITE_NONE,	 /* this event is a tap, not the answer to a write */
	HAL_NFC_WRITE_OK,	 /* written and read back the same (or the card held it already) */
	HAL_NFC_WRITE_NO_CARD,	 /* that card is not on the reader (left, or another one) */
	HAL_NFC_WRITE_NOT_BLANK, /* the card holds another NDEF message: nothing written */
	HAL_NFC_WRITE_UNSUPPORTED, /* not an NTAG21x, or its NDEF area is not well formed */
	HAL_NFC_WRITE_TOO_BIG,	   /* the message does not fit the card (an NTAG213 holds 144 B) */
	HAL_NFC_WRITE_FAILED,	   /* the card left or failed mid-write, or read back otherwise:
				      tap again and write again (the card reads blank or whole) */
	HAL_NFC_WRITE_MAX
};

struct hal_nfc_event {
	enum hal_nfc_event_kind kind;
	uint8_t uid[HAL_NFC_UID_MAX];
	size_t uid_len;
	/* On HAL_NFC_TAP; zero (UNKNOWN, NONE, NONE, 0) on the other kinds. */
	enum hal_nfc_tag tag;
	enum hal_nfc_read read;
	enum hal_nfc_write write;
	uint8_t ndef[HAL_NFC_NDEF_MAX]; /* the NDEF message (no TLV, no NLEN) when read is OK */
	size_t ndef_len;
};

struct hal_nfc_config {
	const char *connstring; /* libnfc connstring, e.g. "pn532_uart:/dev/ttyS0:115200"; NULL:
				   first found */
};

struct hal_nfc;

struct hal_nfc_ops {
	const char *name;
	int (*open)(const struct hal_nfc_config *config, struct hal_nfc **ret_nfc);
	void (*close)(struct hal_nfc *nfc);
	/* A descriptor that is readable while events are pending. */
	int (*fd)(struct hal_nfc *nfc);
	/* 1 and *ret_event filled, 0 when none is pending, or a negative errno. */
	int (*next_event)(struct hal_nfc *nfc, struct hal_nfc_event *ret_event);
	/* Optional: see hal_nfc_write_ndef(). */
	int (*write_ndef)(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			  const uint8_t *msg, size_t len);
};

struct hal_nfc {
	const struct hal_nfc_ops *ops;
};

extern const struct hal_nfc_ops hal_nfc_sim_ops;
extern const struct hal_nfc_ops hal_nfc_libnfc_ops;

__attribute__((warn_unused_result)) int
hal_nfc_open(const char *name, const struct hal_nfc_config *config, struct hal_nfc **ret_nfc);
void hal_nfc_close(struct hal_nfc *nfc);
/* Comma-separated driver names, for messages. */
void hal_nfc_driver_names(char *buf, size_t size);

static inline int hal_nfc_fd(struct hal_nfc *nfc)
{
	return nfc->ops->fd(nfc);
}

static inline int hal_nfc_next_event(struct hal_nfc *nfc, struct hal_nfc_event *ret_event)
{
	return nfc->ops->next_event(nfc, ret_event);
}

/*
 * Write an NDEF message (as app/ndef's ndef_message_encode_uri() makes it, 1 to HAL_NFC_NDEF_MAX
 * bytes) to the blank NTAG21x with this UID that is on the reader: the enrolment of a new card.
 * Returns at once: 0 when the write is queued, -EBUSY while another one is under way, -EINVAL,
 * or -ENOTSUP when the driver cannot write. The outcome comes as one HAL_NFC_TAP event with this
 * UID and write set (never HAL_NFC_WRITE_NONE), carrying the card as read back (tag, read, ndef).
 * A card that already holds exactly this message counts as written. The write is torn-safe: the
 * card reads blank until its last page is written, so a card pulled away mid-write reads blank
 * or whole, never half written.
 */
__attribute__((warn_unused_result)) static inline int
hal_nfc_write_ndef(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len, const uint8_t *msg,
		   size_t len)
{
	if (!nfc->ops->write_ndef)
		return -ENOTSUP;
	return nfc->ops->write_ndef(nfc, uid, uid_len, msg, len);
}

/* Short English names for logs and status ("ntag215", "read failed", "not blank"), never NULL. */
const char *hal_nfc_tag_name(enum hal_nfc_tag tag);
const char *hal_nfc_read_name(enum hal_nfc_read read);
const char *hal_nfc_write_name(enum hal_nfc_write write);

/* Backend API of the "sim" driver; each returns -ENOTSUP on another driver. */
bool hal_nfc_is_sim(const struct hal_nfc *nfc);
/* Put a card with this UID (4, 7 or 10 bytes) on the reader; a card already there leaves first. */
int hal_nfc_sim_present(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len);
/* Put a card of this type holding this NDEF message (len 0: blank) on the reader: its tap reports
 * read OK and the message; the card takes hal_nfc_write_ndef() as an NTAG21x does. */
int hal_nfc_sim_present_card(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			     enum hal_nfc_tag tag, const uint8_t *ndef, size_t len);
/* Take the card away (no event when none is there). */
int hal_nfc_sim_remove(struct hal_nfc *nfc);
/* Unplug (false) or plug back (true) the simulated reader. */
int hal_nfc_sim_set_connected(struct hal_nfc *nfc, bool connected);
