/* printer: driver registry, the one-job print wrapper, and the "sim" driver. */
#include "printer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

static const struct hal_printer_ops *const drivers[] = {
    &hal_printer_sim_ops, &hal_printer_escpos_ops, &hal_printer_usb_ops, &hal_printer_serial_ops,
    &hal_printer_tcp_ops};

int hal_printer_open(const char *name, const struct hal_printer_config *config,
		     struct hal_printer **ret_printer)
{
	static const struct hal_printer_config none;
	HAL_REGISTRY_FIND(drivers, name, ops);
	return ops->open(config ? config : &none, ret_printer);
}

void hal_printer_close(struct hal_printer *printer)
{
	if (printer)
		printer->ops->close(printer);
}

void hal_printer_driver_names(char *buf, size_t size)
{
	HAL_REGISTRY_NAMES(drivers, buf, size);
}

bool hal_printer_job_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > HAL_PRINTER_JOB_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

const char *hal_printer_state_name(enum hal_printer_state state)
{
	switch (state) {
	case HAL_PRINTER_READY:
		return "ready";
	case HAL_PRINTER_PAPER_OUT:
		return "paper out";
	case HAL_PRINTER_OFFLINE:
		return "offline";
	case HAL_PRINTER_COVER_OPEN:
		return "cover open";
	case HAL_PRINTER_STATE_MAX:
		break;
	}
	return "unknown";
}

int hal_printer_state_errno(enum hal_printer_state state)
{
	switch (state) {
	case HAL_PRINTER_READY:
		return 0;
	case HAL_PRINTER_PAPER_OUT:
		return -ENOSPC;
	case HAL_PRINTER_OFFLINE:
	case HAL_PRINTER_COVER_OPEN:
	case HAL_PRINTER_STATE_MAX:
		break;
	}
	return -EIO;
}

static const char *const flow_names[HAL_PRINTER_FLOW_MAX] = {
    [HAL_PRINTER_FLOW_NONE] = "none",
    [HAL_PRINTER_FLOW_RTSCTS] = "rtscts",
    [HAL_PRINTER_FLOW_XONXOFF] = "xonxoff",
};

const char *hal_printer_flow_name(enum hal_printer_flow flow)
{
	return (unsigned) flow < HAL_PRINTER_FLOW_MAX ? flow_names[flow] : "unknown";
}

int hal_printer_flow_from_name(const char *name, enum hal_printer_flow *ret_flow)
{
	for (unsigned i = 0; name && i < HAL_PRINTER_FLOW_MAX; i++) {
		if (strcmp(name, flow_names[i]) == 0) {
			*ret_flow = (enum hal_printer_flow) i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const status_mode_names[HAL_PRINTER_STATUS_MODE_MAX] = {
    [HAL_PRINTER_STATUS_AUTO] = "auto",
    [HAL_PRINTER_STATUS_REQUIRED] = "required",
    [HAL_PRINTER_STATUS_NONE] = "none",
};

const char *hal_printer_status_mode_name(enum hal_printer_status_mode mode)
{
	return (unsigned) mode < HAL_PRINTER_STATUS_MODE_MAX ? status_mode_names[mode] : "unknown";
}

int hal_printer_status_mode_from_name(const char *name, enum hal_printer_status_mode *ret_mode)
{
	for (unsigned i = 0; name && i < HAL_PRINTER_STATUS_MODE_MAX; i++) {
		if (strcmp(name, status_mode_names[i]) == 0) {
			*ret_mode = (enum hal_printer_status_mode) i;
			return 0;
		}
	}
	return -EINVAL;
}

bool hal_printer_baud_valid(unsigned baud)
{
	return baud == 9600 || baud == 19200 || baud == 38400 || baud == 57600 || baud == 115200;
}

int hal_printer_print(struct hal_printer *printer, const char *job_name, const void *data,
		      size_t len)
{
	if (!hal_printer_job_name_valid(job_name))
		return -EINVAL;
	int r = printer->ops->begin_job(printer, job_name);
	if (r < 0)
		return r;
	r = printer->ops->write(printer, data, len);
	int r2 = printer->ops->end_job(printer);
	return r < 0 ? r : r2;
}

/* ---- sim ---- */

struct sim_printer {
	struct hal_printer base;
	char dir[PATH_MAX];
	char job[HAL_PRINTER_JOB_NAME_MAX + 1];
	bool in_job;
	uint8_t *cur;
	size_t cur_len;
	uint8_t *last;
	size_t last_len;
	int jobs;
	enum hal_printer_state state;
};

static int sim_open(const struct hal_printer_config *config, struct hal_printer **ret_printer)
{
	if (!config->path || !*config->path || strlen(config->path) >= PATH_MAX)
		return -EINVAL;
	struct sim_printer *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &hal_printer_sim_ops;
	memcpy(s->dir, config->path, strlen(config->path) + 1);
	*ret_printer = &s->base;
	return 0;
}

static void sim_close(struct hal_printer *printer)
{
	struct sim_printer *s = (struct sim_printer *) printer;
	free(s->cur);
	free(s->last);
	free(s);
}

static int sim_begin_job(struct hal_printer *printer, const char *job_name)
{
	struct sim_printer *s = (struct sim_printer *) printer;
	if (!hal_printer_job_name_valid(job_name))
		return -EINVAL;
	free(s->cur);
	s->cur = NULL;
	s->cur_len = 0;
	memcpy(s->job, job_name, strlen(job_name) + 1);
	s->in_job = true;
	return 0;
}

static int sim_write(struct hal_printer *printer, const void *data, size_t len)
{
	struct sim_printer *s = (struct sim_printer *) printer;
	if (!s->in_job)
		return -EINVAL;
	uint8_t *p = realloc(s->cur, s->cur_len + len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + s->cur_len, data, len);
	s->cur = p;
	s->cur_len += len;
	return 0;
}

/* Write the job to <dir>/<job>.escpos through a temporary file and rename, fsynced. */
static int sim_store(struct sim_printer *s)
{
	char path[PATH_MAX + 80], tmp[PATH_MAX + 90];
	snprintf(path, sizeof(path), "%s/%s.escpos", s->dir, s->job);
	snprintf(tmp, sizeof(tmp), "%s/.%s.escpos.tmp", s->dir, s->job);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < s->cur_len) {
		ssize_t n = write(fd, s->cur + off, s->cur_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			close(fd);
			unlink(tmp);
			return r;
		}
		off += (size_t) n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

static int sim_end_job(struct hal_printer *printer)
{
	struct sim_printer *s = (struct sim_printer *) printer;
	if (!s->in_job)
		return -EINVAL;
	s->in_job = false;
	int r = hal_printer_state_errno(s->state);
	if (r == 0)
		r = sim_store(s);
	if (r < 0)
		return r;
	free(s->last);
	s->last = s->cur;
	s->last_len = s->cur_len;
	s->cur = NULL;
	s->cur_len = 0;
	s->jobs++;
	return 0;
}

static int sim_state(struct hal_printer *printer, enum hal_printer_state *ret_state)
{
	*ret_state = ((struct sim_printer *) printer)->state;
	return 0;
}

const struct hal_printer_ops hal_printer_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .begin_job = sim_begin_job,
    .write = sim_write,
    .end_job = sim_end_job,
    .state = sim_state,
};

bool hal_printer_is_sim(const struct hal_printer *printer)
{
	return printer && printer->ops == &hal_printer_sim_ops;
}

int hal_printer_sim_last_job(struct hal_printer *printer, const uint8_t **ret_data, size_t *ret_len)
{
	if (!hal_printer_is_sim(printer))
		return -ENOTSUP;
	struct sim_printer *s = (struct sim_printer *) printer;
	if (!s->jobs)
		return -ENOENT;
	*ret_data = s->last;
	*ret_len = s->last_len;
	return 0;
}

int hal_printer_sim_job_count(struct hal_printer *printer)
{
	if (!hal_printer_is_sim(printer))
		return -ENOTSUP;
	return ((struct sim_printer *) printer)->jobs;
}

int hal_printer_sim_set_state(struct hal_printer *printer, enum hal_printer_state state)
{
	if (!hal_printer_is_sim(printer))
		return -ENOTSUP;
	if (state >= HAL_PRINTER_STATE_MAX)
		return -EINVAL;
	((struct sim_printer *) printer)->state = state;
	return 0;
}
