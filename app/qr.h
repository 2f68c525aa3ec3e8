/*
 * qr: QR codes as 1-bit rasters for thermal printers (libqrencode inside).
 *
 * The raster is width_dots wide (the printer's head width), the symbol centred horizontally by
 * padding, surrounded by a quiet zone of 4 modules, each module module_dots square. Rows are
 * packed MSB first, 1 = black, stride = (width_dots + 7) / 8 bytes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define QR_QUIET_MODULES 4

struct qr_raster {
	int width_dots;
	int height_dots;
	int stride; /* bytes per row */
	int modules; /* symbol size in modules, without the quiet zone */
	uint8_t *bits;
};

/*
 * Encode payload (8-bit mode, ECC level M) and draw it. Returns 0, -EINVAL when the payload is
 * empty or the symbol with its quiet zone does not fit width_dots at module_dots (module_dots
 * below 4 is refused), -E2BIG when the payload is too long for a QR code, or -ENOMEM.
 */
__attribute__((warn_unused_result)) int qr_raster_make(const char *payload, int module_dots,
						       int width_dots, struct qr_raster *ret_raster);
void qr_raster_free(struct qr_raster *raster);
