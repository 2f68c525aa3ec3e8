/* nfc: driver registry, names of the tap outcomes, and the "sim" driver (cards presented through
 * the backend API, NTAG21x-like when given a type and an NDEF message). */
#include "nfc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

static const struct hal_nfc_ops *const drivers[] = {&hal_nfc_sim_ops, &hal_nfc_libnfc_ops};

int hal_nfc_open(const char *name, const struct hal_nfc_config *config, struct hal_nfc **ret_nfc)
{
	static const struct hal_nfc_config none;
	HAL_REGISTRY_FIND(drivers, name, ops);
	return ops->open(config ? config : &none, ret_nfc);
}

void hal_nfc_close(struct hal_nfc *nfc)
{
	if (nfc)
		nfc->ops->close(nfc);
}

void hal_nfc_driver_names(char *buf, size_t size)
{
	HAL_REGISTRY_NAMES(drivers, buf, size);
}

const char *hal_nfc_tag_name(enum hal_nfc_tag tag)
{
	switch (tag) {
	case HAL_NFC_TAG_UNKNOWN:
		return "unknown";
	case HAL_NFC_TAG_NTAG213:
		return "ntag213";
	case HAL_NFC_TAG_NTAG215:
		return "ntag215";
	case HAL_NFC_TAG_NTAG216:
		return "ntag216";
	case HAL_NFC_TAG_NTAG424DNA:
		return "ntag424dna";
	case HAL_NFC_TAG_ISO_DEP:
		return "iso-dep";
	case HAL_NFC_TAG_MAX:
		break;
	}
	return "?";
}

const char *hal_nfc_read_name(enum hal_nfc_read read)
{
	switch (read) {
	case HAL_NFC_READ_NONE:
		return "not read";
	case HAL_NFC_READ_OK:
		return "read";
	case HAL_NFC_READ_FAILED:
		return "read failed, tap again";
	case HAL_NFC_READ_INVALID:
		return "no valid NDEF data";
	case HAL_NFC_READ_MAX:
		break;
	}
	return "?";
}

const char *hal_nfc_write_name(enum hal_nfc_write write)
{
	switch (write) {
	case HAL_NFC_WRITE_NONE:
		return "no write";
	case HAL_NFC_WRITE_OK:
		return "written";
	case HAL_NFC_WRITE_NO_CARD:
		return "card not on the reader";
	case HAL_NFC_WRITE_NOT_BLANK:
		return "card not blank";
	case HAL_NFC_WRITE_UNSUPPORTED:
		return "card type not writable";
	case HAL_NFC_WRITE_TOO_BIG:
		return "does not fit the card";
	case HAL_NFC_WRITE_FAILED:
		return "write failed, tap again";
	case HAL_NFC_WRITE_MAX:
		break;
	}
	return "?";
}

/* ---- sim ---- */

#define SIM_QUEUE 16

struct sim_nfc {
	struct hal_nfc base;
	int pipe[2]; /* one byte per queued event keeps the read end readable */
	struct hal_nfc_event queue[SIM_QUEUE];
	size_t head, count;
	bool card_present;
	bool connected;
	/* The card on the reader when given with hal_nfc_sim_present_card(). */
	uint8_t uid[HAL_NFC_UID_MAX];
	size_t uid_len;
	enum hal_nfc_tag tag;
	uint8_t ndef[HAL_NFC_NDEF_MAX];
	size_t ndef_len;
};

static int sim_open(const struct hal_nfc_config *config, struct hal_nfc **ret_nfc)
{
	(void) config;
	struct sim_nfc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	s->base.ops = &hal_nfc_sim_ops;
	s->connected = true;
	*ret_nfc = &s->base;
	return 0;
}

static void sim_close(struct hal_nfc *nfc)
{
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	close(s->pipe[0]);
	close(s->pipe[1]);
	free(s);
}

static int sim_fd(struct hal_nfc *nfc)
{
	return ((struct sim_nfc *) nfc)->pipe[0];
}

static int sim_push(struct sim_nfc *s, const struct hal_nfc_event *ev)
{
	if (s->count == SIM_QUEUE)
		return -ENOBUFS;
	s->queue[(s->head + s->count) % SIM_QUEUE] = *ev;
	s->count++;
	if (write(s->pipe[1], "e", 1) != 1)
		return -errno;
	return 0;
}

static bool is_ntag21x(enum hal_nfc_tag tag)
{
	return tag == HAL_NFC_TAG_NTAG213 || tag == HAL_NFC_TAG_NTAG215 ||
	       tag == HAL_NFC_TAG_NTAG216;
}

/* User memory of an NTAG21x, for the sim's "does not fit". */
static size_t ntag_user_bytes(enum hal_nfc_tag tag)
{
	return tag == HAL_NFC_TAG_NTAG213 ? 144 : tag == HAL_NFC_TAG_NTAG215 ? 504 : 888;
}

static int sim_write_ndef(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			  const uint8_t *msg, size_t len)
{
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	struct hal_nfc_event ev = {.kind = HAL_NFC_TAP, .uid_len = uid_len};

	if (!uid || uid_len == 0 || uid_len > HAL_NFC_UID_MAX || !msg || len == 0 ||
	    len > HAL_NFC_NDEF_MAX)
		return -EINVAL;
	memcpy(ev.uid, uid, uid_len);
	if (!s->connected || !s->card_present || s->uid_len != uid_len ||
	    memcmp(s->uid, uid, uid_len) != 0) {
		ev.write = HAL_NFC_WRITE_NO_CARD;
		return sim_push(s, &ev);
	}
	ev.tag = s->tag;
	if (!is_ntag21x(s->tag))
		ev.write = HAL_NFC_WRITE_UNSUPPORTED;
	else if (s->ndef_len && (s->ndef_len != len || memcmp(s->ndef, msg, len) != 0))
		ev.write = HAL_NFC_WRITE_NOT_BLANK;
	else if (len + (len < 0xff ? 3 : 5) > ntag_user_bytes(s->tag))
		ev.write = HAL_NFC_WRITE_TOO_BIG;
	else
		ev.write = HAL_NFC_WRITE_OK;
	if (ev.write == HAL_NFC_WRITE_OK) {
		memcpy(s->ndef, msg, len);
		s->ndef_len = len;
	}
	if (s->tag != HAL_NFC_TAG_UNKNOWN) {
		ev.read = HAL_NFC_READ_OK;
		memcpy(ev.ndef, s->ndef, s->ndef_len);
		ev.ndef_len = s->ndef_len;
	}
	return sim_push(s, &ev);
}

static int sim_next_event(struct hal_nfc *nfc, struct hal_nfc_event *ret_event)
{
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	char c;
	if (s->count == 0)
		return 0;
	(void) !read(s->pipe[0], &c, 1);
	*ret_event = s->queue[s->head];
	s->head = (s->head + 1) % SIM_QUEUE;
	s->count--;
	return 1;
}

const struct hal_nfc_ops hal_nfc_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .fd = sim_fd,
    .next_event = sim_next_event,
    .write_ndef = sim_write_ndef,
};

bool hal_nfc_is_sim(const struct hal_nfc *nfc)
{
	return nfc && nfc->ops == &hal_nfc_sim_ops;
}

int hal_nfc_sim_present(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len)
{
	return hal_nfc_sim_present_card(nfc, uid, uid_len, HAL_NFC_TAG_UNKNOWN, NULL, 0);
}

int hal_nfc_sim_present_card(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len,
			     enum hal_nfc_tag tag, const uint8_t *ndef, size_t len)
{
	if (!hal_nfc_is_sim(nfc))
		return -ENOTSUP;
	if (!uid || (uid_len != 4 && uid_len != 7 && uid_len != 10) || tag < 0 ||
	    tag >= HAL_NFC_TAG_MAX || len > HAL_NFC_NDEF_MAX || (len && !ndef) ||
	    (tag == HAL_NFC_TAG_UNKNOWN && len))
		return -EINVAL;
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	if (!s->connected)
		return -ENODEV;
	if (s->card_present) {
		int r = hal_nfc_sim_remove(nfc);
		if (r < 0)
			return r;
	}
	struct hal_nfc_event ev = {.kind = HAL_NFC_TAP, .uid_len = uid_len, .tag = tag};
	memcpy(ev.uid, uid, uid_len);
	if (tag != HAL_NFC_TAG_UNKNOWN) {
		ev.read = HAL_NFC_READ_OK;
		if (len)
			memcpy(ev.ndef, ndef, len);
		ev.ndef_len = len;
	}
	int r = sim_push(s, &ev);
	if (r == 0) {
		s->card_present = true;
		memcpy(s->uid, uid, uid_len);
		s->uid_len = uid_len;
		s->tag = tag;
		if (len)
			memcpy(s->ndef, ndef, len);
		s->ndef_len = len;
	}
	return r;
}

int hal_nfc_sim_remove(struct hal_nfc *nfc)
{
	if (!hal_nfc_is_sim(nfc))
		return -ENOTSUP;
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	if (!s->card_present)
		return 0;
	struct hal_nfc_event ev = {.kind = HAL_NFC_REMOVED};
	int r = sim_push(s, &ev);
	if (r == 0)
		s->card_present = false;
	return r;
}

int hal_nfc_sim_set_connected(struct hal_nfc *nfc, bool connected)
{
	if (!hal_nfc_is_sim(nfc))
		return -ENOTSUP;
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	if (s->connected == connected)
		return 0;
	s->connected = connected;
	s->card_present = false;
	struct hal_nfc_event ev = {.kind = connected ? HAL_NFC_READER_BACK : HAL_NFC_READER_LOST};
	return sim_push(s, &ev);
}
