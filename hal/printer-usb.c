/*
 * printer-usb: an ESC/POS printer behind the kernel's USB printer class driver (usblp,
 * /dev/usb/lp0). The device is opened read-write and non-blocking: writes wait in poll()
 * against the job's deadline, and DLE EOT answers are read back from the same device where
 * the printer sends them (a printer that does not is treated as write-only). The device is
 * opened at the first job, not at open, so a printer switched off at start costs its jobs
 * (-EIO, the caller keeps them) and not the terminal; after a failure it is opened again.
 * usblp itself reports paper out as ENOSPC and an offline printer as EIO on write.
 */
#include "printer-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int usb_connect(struct printer_link *l, int64_t deadline_ms)
{
	(void) deadline_ms;
	if (l->fd >= 0)
		return 0;
	l->fd = open(l->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	l->can_read = l->fd >= 0;
	if (l->fd < 0 && (errno == EACCES || errno == EROFS || errno == EINVAL))
		l->fd = open(l->path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return l->fd < 0 ? -errno : 0;
}

static const struct printer_link_ops usb_link_ops = {
    .connect = usb_connect,
};

static int usb_open(const struct hal_printer_config *config, struct hal_printer **ret_printer)
{
	struct printer_link *l;
	int r;

	if (!config->path || config->path[0] != '/' || strlen(config->path) >= PATH_MAX)
		return -EINVAL;
	if ((r = printer_link_new(&hal_printer_usb_ops, &usb_link_ops, config, &l)) < 0)
		return r;
	memcpy(l->path, config->path, strlen(config->path) + 1);
	*ret_printer = &l->base;
	return 0;
}

const struct hal_printer_ops hal_printer_usb_ops = {
    .name = "usb",
    .open = usb_open,
    .close = printer_link_close,
    .begin_job = printer_link_begin_job,
    .write = printer_link_write,
    .end_job = printer_link_end_job,
    .state = printer_link_state,
};
