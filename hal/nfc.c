/* nfc: driver registry and the "sim" driver (cards presented through the backend API). */
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

/* ---- sim ---- */

#define SIM_QUEUE 16

struct sim_nfc {
	struct hal_nfc base;
	int pipe[2]; /* one byte per queued event keeps the read end readable */
	struct hal_nfc_event queue[SIM_QUEUE];
	size_t head, count;
	bool card_present;
	bool connected;
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
};

bool hal_nfc_is_sim(const struct hal_nfc *nfc)
{
	return nfc && nfc->ops == &hal_nfc_sim_ops;
}

int hal_nfc_sim_present(struct hal_nfc *nfc, const uint8_t *uid, size_t uid_len)
{
	if (!hal_nfc_is_sim(nfc))
		return -ENOTSUP;
	if (!uid || (uid_len != 4 && uid_len != 7 && uid_len != 10))
		return -EINVAL;
	struct sim_nfc *s = (struct sim_nfc *) nfc;
	if (!s->connected)
		return -ENODEV;
	if (s->card_present) {
		int r = hal_nfc_sim_remove(nfc);
		if (r < 0)
			return r;
	}
	struct hal_nfc_event ev = {.kind = HAL_NFC_TAP, .uid_len = uid_len};
	memcpy(ev.uid, uid, uid_len);
	int r = sim_push(s, &ev);
	if (r == 0)
		s->card_present = true;
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
