/*
 * escpos: turn a layout into the byte stream an ESC/POS printer understands.
 *
 * Stream shape: ESC @ (init), ESC t n (code page), then per item: ESC a (align), ESC E (bold),
 * GS ! (size), text in the profile's code page, LF. QR codes are made with libqrencode and sent
 * as a GS v 0 raster, centred by padding to the head width, with a 4-module quiet zone, ECC M,
 * at the profile's dots per module. The code page command is re-sent after every image (some
 * printers reset it). LAYOUT_CUT feeds and sends GS V 66 0 (or only feeds without a cutter).
 * Deterministic: the same layout and profile give the same bytes.
 */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "layout.h"
#include "printer_profile.h"

#define ESCPOS_RECEIPT_MAX (64 * 1024) /* cap on one receipt's bytes */

struct escpos_stats {
	size_t replaced_chars; /* characters the code page could not show (fallbacks used) */
	int qr_codes;
};

/*
 * Append the bytes for layout l to out (out's own cap applies; use ESCPOS_RECEIPT_MAX).
 * Returns 0, -E2BIG when the receipt would be too large, -EINVAL for a QR payload that does not
 * fit the head width, or -ENOMEM. *ret_stats (optional) is written only on success.
 */
__attribute__((warn_unused_result)) int escpos_encode(const struct layout *l,
						      const struct printer_profile *profile,
						      struct buf *out, struct escpos_stats *ret_stats);
