/*
 * printer-serial: an ESC/POS printer on a serial port (RS-232, a USB serial adapter). The port
 * is set raw, 8N1, at the configured baud (9600 to 115200) with flow control none, RTS/CTS or
 * XON/XOFF (the printer's XOFF stops our output; DLE EOT answers are even bytes, so never
 * taken for XON/XOFF). Opened at the first job and kept open; after a failed job the output
 * still queued is flushed, so a printer that comes back does not print half a receipt we
 * already gave up on, and the port is opened again at the next job.
 */
#include "printer-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static speed_t baud_speed(unsigned baud)
{
	switch (baud) {
	case 19200:
		return B19200;
	case 38400:
		return B38400;
	case 57600:
		return B57600;
	case 115200:
		return B115200;
	default:
		return B9600;
	}
}

static int serial_connect(struct printer_link *l, int64_t deadline_ms)
{
	struct termios tio;

	(void) deadline_ms;
	if (l->fd >= 0)
		return 0;
	l->fd = open(l->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (l->fd < 0)
		return -errno;
	if (tcgetattr(l->fd, &tio) < 0) {
		int r = errno == ENOTTY ? -ENOTTY : -errno;
		printer_link_disconnect(l);
		return r;
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t) (CSTOPB | PARENB | CRTSCTS | CSIZE);
	tio.c_cflag |= CS8 | CLOCAL | CREAD;
	tio.c_iflag &= ~(tcflag_t) (IXON | IXOFF | IXANY);
	if (l->flow == HAL_PRINTER_FLOW_RTSCTS)
		tio.c_cflag |= CRTSCTS;
	else if (l->flow == HAL_PRINTER_FLOW_XONXOFF)
		tio.c_iflag |= IXON | IXOFF;
	tio.c_cc[VMIN] = 1; /* with O_NONBLOCK: EAGAIN when there is nothing to read */
	tio.c_cc[VTIME] = 0;
	cfsetispeed(&tio, baud_speed(l->baud));
	cfsetospeed(&tio, baud_speed(l->baud));
	if (tcsetattr(l->fd, TCSANOW, &tio) < 0) {
		int r = -errno;
		printer_link_disconnect(l);
		return r;
	}
	(void) tcflush(l->fd, TCIOFLUSH);
	l->can_read = true;
	return 0;
}

static void serial_discard(struct printer_link *l)
{
	(void) tcflush(l->fd, TCOFLUSH);
}

static const struct printer_link_ops serial_link_ops = {
    .connect = serial_connect,
    .discard = serial_discard,
};

static int serial_open(const struct hal_printer_config *config, struct hal_printer **ret_printer)
{
	struct printer_link *l;
	int r;

	if (!config->path || config->path[0] != '/' || strlen(config->path) >= PATH_MAX ||
	    (config->baud && !hal_printer_baud_valid(config->baud)) ||
	    (unsigned) config->flow >= HAL_PRINTER_FLOW_MAX)
		return -EINVAL;
	if ((r = printer_link_new(&hal_printer_serial_ops, &serial_link_ops, config, &l)) < 0)
		return r;
	memcpy(l->path, config->path, strlen(config->path) + 1);
	l->baud = config->baud ? config->baud : HAL_PRINTER_BAUD_DEFAULT;
	l->flow = config->flow;
	*ret_printer = &l->base;
	return 0;
}

const struct hal_printer_ops hal_printer_serial_ops = {
    .name = "serial",
    .open = serial_open,
    .close = printer_link_close,
    .begin_job = printer_link_begin_job,
    .write = printer_link_write,
    .end_job = printer_link_end_job,
    .state = printer_link_state,
};
