/*
 * qr: QR codes as 1-bit rasters for thermal printers (libqrencode inside).
 *
 * The raster is width_dots wide (the printer's head width), the symbol centred horizontally by
 * padding, surrounded by a quiet zone of 4 modules, each module module_dots square. Rows are
 * packed MSB first, 1 = black, stride = (width_dots + 7) / 8 bytes.
 *
 * Not for scanning QR codes, and not for other symbologies.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define QR_QUIET_MODULES   4
#define QR_MODULE_DOTS_MIN 4
#define QR_WIDTH_DOTS_MAX  4096 /* far above any receipt head; bounds the allocation */

struct qr_raster {
	int width_dots;
	int height_dots;
	int stride;  /* bytes per row */
	int modules; /* symbol size in modules, without the quiet zone */
	uint8_t *bits;
};

/*
 * Encode payload (8-bit mode, ECC level M, the smallest version that holds it) and draw it.
 * height_dots = (modules + 2 * QR_QUIET_MODULES) * module_dots; the padding left of the quiet
 * zone is (width_dots - that) / 2, so the right margin is at most one dot wider than the left.
 * Returns 0, -EINVAL when the payload is NULL or empty, width_dots is outside
 * 1..QR_WIDTH_DOTS_MAX or the symbol with its quiet zone does not fit width_dots at module_dots
 * (module_dots below QR_MODULE_DOTS_MIN is refused), -E2BIG when the payload is too long for a
 * QR code, or -ENOMEM. *ret_raster is written only on success; the caller frees it with
 * qr_raster_free().
 */
__attribute__((warn_unused_result)) int
qr_raster_make(const char *payload, int module_dots, int width_dots, struct qr_raster *ret_raster);
/* Frees the bits and zeroes the struct; NULL and an already freed raster are fine. */
void qr_raster_free(struct qr_raster *raster);
