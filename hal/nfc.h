/*
 * nfc: NFC readers that report card taps and removals.
 *
 * A reader is polled through a file descriptor: when fd is readable, call hal_nfc_next_event()
 * until it returns 0. Drivers with blocking libraries run them in a thread of their own, so the
 * caller's main loop never stalls. Drivers: "sim" (cards presented through the backend API) and
 * "libnfc" (any libnfc reader, by connstring). UIDs are handed up as bytes and must never be
 * logged in clear.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAL_NFC_UID_MAX 10

enum hal_nfc_event_kind {
	HAL_NFC_TAP,	     /* a card came into the field; uid is set */
	HAL_NFC_REMOVED,     /* the card left the field */
	HAL_NFC_READER_LOST, /* the reader stopped answering; the driver keeps trying to reopen */
	HAL_NFC_READER_BACK, /* the reader answers again */
	HAL_NFC_EVENT_MAX
};

struct hal_nfc_event {
	enum hal_nfc_event_kind kind;
	uint8_t uid[HAL_NFC_UID_MAX];
	size_t uid_len;
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

/* Backend API of the "sim" driver; each returns -ENOTSUP on another driver. */
bool hal_nfc_is_sim(const struct hal_nfc *nfc);
/* Put a card with this UID (4, 7 or 10 bytes) on the reader; a card already there leaves first. */
int hal_nfc_sim_present(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len);
/* Take the card away (no event when none is there). */
int hal_nfc_sim_remove(struct hal_nfc *nfc);
/* Unplug (false) or plug back (true) the simulated reader. */
int hal_nfc_sim_set_connected(struct hal_nfc *nfc, bool connected);
