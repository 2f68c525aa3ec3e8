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
 * Encode payload (ECC level M, the smallest version that holds it; case-sensitive, in numeric,
 * alphanumeric and 8-bit segments as libqrencode finds shortest, so an uppercase URL such as
 * "HTTPS://K.EXAMPLE.PL/C/<BASE32>" is one alphanumeric segment) and draw it.
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

/*
 * The symbol size in modules (21 for version 1 .. 177 for version 40, without the quiet zone)
 * that qr_raster_make() would draw for payload, for sizing a symbol the printer draws itself.
 * Returns 0, -EINVAL for a NULL or empty payload, -E2BIG when it is too long for a QR code, or
 * -ENOMEM. *ret_modules is written only on success.
 */
__attribute__((warn_unused_result)) int qr_symbol_modules(const char *payload, int *ret_modules);
