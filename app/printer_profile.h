/*
 * printer_profile: what the receipt encoder needs to know of a printer model.
 * Filled from the board profile; facts about models derive from escpos-printer-db
 * (receipt-print-hq), CC-BY-4.0.
 */
#pragma once

#include <stdbool.h>

#include "codepage.h"

struct printer_profile {
	char model[32];
	int width_dots;		/* printable head width: 384 for 58 mm, 576 for 80 mm */
	int columns;		/* characters per line in font A */
	enum codepage encoding; /* the code page text is sent in */
	int codepage_slot;	/* n of "ESC t n" that selects it */
	int qr_module_dots;	/* dots per QR module: 5 on 58 mm, 6 on 80 mm, never below 4 */
	bool cutter;
};
