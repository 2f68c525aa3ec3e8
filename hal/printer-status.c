/*
 * printer-status: the answers to ESC/POS DLE EOT n (10 04 n, "transmit real-time status") and
 * the state they mean. Parsing only; asking the printer is printer-link's job.
 */
#include "printer.h"

#include <errno.h>

/* Every status byte reads 0xx1xx10b: bits 0 and 7 are 0, bits 1 and 4 are 1. */
#define STATUS_FIXED_MASK 0x93u
#define STATUS_FIXED_BITS 0x12u

int hal_printer_dle_eot_parse(unsigned n, uint8_t answer, struct hal_printer_status *status)
{
	if ((answer & STATUS_FIXED_MASK) != STATUS_FIXED_BITS)
		return -EINVAL;
	switch (n) {
	case 1: /* printer: bit 2 drawer pin 3, bit 3 offline, bit 5 waiting for recovery */
		status->offline |= (answer & 0x08u) != 0;
		status->offline |= (answer & 0x20u) != 0;
		return 0;
	case 2: /* offline cause */
		status->cover_open |= (answer & 0x04u) != 0;
		status->feeding |= (answer & 0x08u) != 0;
		status->paper_out |= (answer & 0x20u) != 0;
		status->error |= (answer & 0x40u) != 0;
		return 0;
	case 3: /* error cause: autocutter, unrecoverable, auto-recoverable */
		status->error |= (answer & 0x68u) != 0;
		return 0;
	case 4: /* roll paper sensor: both bits of a pair set */
		status->paper_near_end |= (answer & 0x0cu) == 0x0cu;
		status->paper_out |= (answer & 0x60u) == 0x60u;
		return 0;
	default:
		return -EINVAL;
	}
}

enum hal_printer_state hal_printer_status_state(const struct hal_printer_status *status)
{
	if (status->cover_open)
		return HAL_PRINTER_COVER_OPEN;
	if (status->paper_out)
		return HAL_PRINTER_PAPER_OUT;
	if (status->offline || status->error || status->feeding)
		return HAL_PRINTER_OFFLINE;
	return HAL_PRINTER_READY;
}
