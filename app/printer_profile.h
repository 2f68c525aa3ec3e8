/*
 * printer_profile: what the receipt encoder needs to know of a printer model, and the model
 * files of board/printers/ that hold those facts for common printers.
 *
 * A struct printer_profile is filled from the board profile (firmware/config) or from a model
 * file with printer_model_profile(). Zero for the two command fields means the safe defaults:
 * ESC t for the code page and QR codes as GS v 0 raster images. Facts about models derive from
 * escpos-printer-db (receipt-print-hq), CC-BY-4.0.
 *
 * Not a printer driver and not the whole printer database: only the facts escpos uses.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "codepage.h"

/* How a model selects a code page. */
enum printer_codepage_cmd {
	PRINTER_CODEPAGE_ESC_T, /* ESC t n: Epson and ESC/POS compatibles */
	PRINTER_CODEPAGE_STAR,	/* ESC GS t n: Star printers, also in their ESC/POS mode */
	PRINTER_CODEPAGE_CMD_MAX,
};

struct printer_profile {
	char model[32];
	int width_dots;		/* printable head width: 384 for 58 mm, 576 for 80 mm */
	int columns;		/* characters per line in font A */
	enum codepage encoding; /* the code page text is sent in */
	int codepage_slot;	/* n of the code page command that selects it */
	int qr_module_dots;	/* dots per QR module: 5 on 58 mm, 6 on 80 mm, never below 4 */
	bool cutter;
	enum printer_codepage_cmd codepage_cmd;
	bool native_qr; /* QR codes with the printer's own GS ( k symbol command, not a raster */
};

#define PRINTER_MODEL_FILE_MAX (8 * 1024) /* cap on one model file */

/* One model file of board/printers/. */
struct printer_model {
	char model[32];
	char vendor[32];
	int dpi;		/* 180 or 203 */
	int width_dots;		/* 128..1024 */
	int columns;		/* font A, 16..96 */
	int slot[CODEPAGE_MAX]; /* slot of each code page, -1 when the model lacks it */
	enum printer_codepage_cmd codepage_cmd;
	bool raster;	/* GS v 0 */
	bool native_qr; /* GS ( k QR, model 2 */
	bool cutter;
};

/*
 * Parse a model file (JSON, at most PRINTER_MODEL_FILE_MAX bytes):
 *   {"model": "TM-T20II", "vendor": "Epson", "source": "...", "credit": "...",
 *    "dpi": 203, "width_dots": 576, "columns": 48, "codepage_command": "ESC t",
 *    "codepages": {"CP852": 18, "CP1250": 45}, "raster": true, "native_qr": true,
 *    "cutter": true}
 * "codepage_command" is "ESC t" or "ESC GS t"; "codepages" names at least one of CP852 and
 * CP1250, slots 0..255; "source" and "credit" are free text (the credit line is required, so
 * a copied file keeps it). Unknown keys are refused. Returns 0, or -EINVAL with the field and
 * the problem in err (err_size bytes, may be 0), or -E2BIG for a file over the cap. *ret_model is
 * written only on success.
 */
__attribute__((warn_unused_result)) int printer_model_parse(const char *text, size_t len,
							    struct printer_model *ret_model,
							    char *err, size_t err_size);

/*
 * The encoder's profile for model m printing in encoding, with QR codes drawn natively when
 * native_qr is asked for (the default is raster). The QR module is 5 dots below 512 dots of head
 * width and 6 from there (58 mm / 80 mm paper). Returns 0, or -ENOTSUP with a message when the
 * model has no slot for encoding, no native QR when it is asked for, or no raster images when it
 * is not; -EINVAL for bad arguments. *ret_profile is written only on success.
 */
__attribute__((warn_unused_result)) int
printer_model_profile(const struct printer_model *m, enum codepage encoding, bool native_qr,
		      struct printer_profile *ret_profile, char *err, size_t err_size);
