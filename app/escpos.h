/*
 * escpos: turn a layout into the byte stream an ESC/POS printer understands.
 *
 * Stream shape: ESC @ (init), the code page command (ESC t n, or ESC GS t n on Star printers),
 * then per item: ESC a (align), ESC E (bold), GS ! (size), text in the profile's code page, LF.
 * QR codes are made with libqrencode and sent as a GS v 0 raster, centred by padding to the head
 * width, with a 4-module quiet zone, ECC M, at the profile's dots per module. Where the profile
 * says native_qr, the printer draws the symbol instead: ESC a 1, ESC J (4 modules of quiet
 * zone), GS ( k model 2, module size, ECC M, store, print, ESC J, ESC a 0. The code page command
 * is re-sent after the init and after every image or symbol (some printers reset it). LAYOUT_CUT
 * feeds and sends GS V 66 0 (or only feeds without a cutter). Deterministic: the same layout and
 * profile give the same bytes.
 *
 * Between items the printer is always in its default style (left, not bold, normal size): a
 * styled line is followed by the commands that undo its style, so nothing leaks into the next
 * item. Text is cut at the line width (the profile's columns, halved for double width) on a
 * character boundary; the layout's own columns are only what its builder assumed. Control
 * characters in text become '?', so text can never smuggle in a printer command.
 *
 * Not a printer driver: it never talks to a device, and knows only the commands above.
 */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "layout.h"
#include "printer_profile.h"

#define ESCPOS_RECEIPT_MAX	    (64 * 1024) /* cap on one receipt's bytes */
#define ESCPOS_COLUMNS_MAX	    128		/* widest line a profile may ask for */
#define ESCPOS_CUT_FEED_LINES	    4		/* lines fed before a cut (or a tear-off) */
#define ESCPOS_NATIVE_QR_MODULE_MAX 16		/* GS ( k module sizes run 1..16 dots */

struct escpos_stats {
	size_t replaced_chars; /* characters the code page could not show (fallbacks used, invalid
				  UTF-8, control characters) */
	int qr_codes;
	int cut_lines; /* text lines longer than the line width, cut to fit */
};

/*
 * Append the bytes for layout l to out (out's own cap applies; use ESCPOS_RECEIPT_MAX).
 * Returns 0, -E2BIG when the receipt would be too large, -EINVAL for a QR payload that does not
 * fit the head width, or for a layout or profile out of range (unknown kind, alignment or style
 * bit, text without its NUL, feed outside 0..255, columns outside 1..ESCPOS_COLUMNS_MAX, code
 * page slot outside 0..255, unknown code page command, QR module below 4 dots or above 16 for a
 * native symbol), or -ENOMEM. On failure out is left as it
 * was. *ret_stats (optional) is written only on success.
 */
__attribute__((warn_unused_result)) int escpos_encode(const struct layout *l,
						      const struct printer_profile *profile,
						      struct buf *out,
						      struct escpos_stats *ret_stats);
