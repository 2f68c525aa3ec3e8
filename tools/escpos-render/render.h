/*
 * render: an ESC/POS interpreter that shows what a thermal printer would print.
 *
 * It reads the command subset our receipts use (ESC @, ESC t, ESC a, ESC E, ESC !, GS !, ESC -,
 * ESC d, ESC J, ESC 2/3, LF, HT, GS v 0 raster images, GS V cuts, GS ( k native QR, GS k
 * barcodes) and produces a page: the printed lines as UTF-8 text (golden text for tests), an
 * 8-bit grayscale bitmap of the paper (0 black, 255 white) and the raster images as sent.
 * Other ESC/GS commands are skipped by their known lengths; what cannot be skipped safely is a
 * warning. Input is untrusted: the input size and the page height are capped, truncated commands
 * are errors, nothing is read past the buffer.
 *
 * Printer behaviour modelled: font A cells of 12x24 dots (drawn with a 12x24 bitmap font by
 * default) scaled by GS ! / ESC !, width/12
 * columns, a line wraps when the next character does not fit (a full line and LF make one
 * line), alignment is taken when a line starts, a line feeds max(line spacing, tallest cell),
 * CR is ignored (auto line feed off), ESC @ clears the pending line and selects slot 0. Lenient
 * where a printer would drop data, with a warning: text pending before an image, symbol or cut
 * is printed first; text left without LF at the end is shown.
 *
 * Not a printer driver and not a full ESC/POS implementation: page mode, font B, user-defined
 * characters, ESC * bit images and barcode drawing are not rendered.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "codepage.h"

#define ESCPOS_RENDER_WIDTH_DEFAULT 384 /* 58 mm head, in dots */
#define ESCPOS_RENDER_WIDTH_MIN	    96
#define ESCPOS_RENDER_WIDTH_MAX	    2048
#define ESCPOS_RENDER_HEIGHT_MAX    20000		   /* default page height cap, in dots */
#define ESCPOS_RENDER_INPUT_MAX	    ((size_t) 1024 * 1024) /* default input cap, in bytes */
#define ESCPOS_RENDER_CELL_W	    12			   /* font A cell */
#define ESCPOS_RENDER_CELL_H	    24
#define ESCPOS_RENDER_LINE_SPACING  30 /* default line feed in dots (ESC 2) */
#define ESCPOS_RENDER_PNG_MARGIN    8  /* white dots around the paper in PNG output */
#define ESCPOS_RENDER_SLOT_NONE	    (-1)

/* Terminus 12x24 bitmaps (console-setup-linux, SIL OFL): the dot grid of printer font A */
#define ESCPOS_RENDER_FONT_REGULAR "/usr/share/consolefonts/Uni2-Terminus24x12.psf.gz"
#define ESCPOS_RENDER_FONT_BOLD	   "/usr/share/consolefonts/Uni2-TerminusBold24x12.psf.gz"
/* the fallback when those are not installed: outlines drawn into the cell (fonts-dejavu-core) */
#define ESCPOS_RENDER_FONT_TTF_REGULAR "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
#define ESCPOS_RENDER_FONT_TTF_BOLD    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"

struct escpos_font;
struct escpos_page;

struct escpos_render_options {
	int width_dots;	  /* head width; columns are width_dots / 12 */
	int max_height;	  /* page height cap in dots */
	size_t max_input; /* input cap in bytes */
	/* ESC t n: slot n -> enum codepage, or ESCPOS_RENDER_SLOT_NONE (bytes >= 0x80 show
	 * U+FFFD with a warning). Slot 0 is in effect after ESC @, as on a printer. */
	int slot_codepage[256];
	/* ESC GS t n (Star printers, in their own numbering): the same, for n. */
	int star_slot_codepage[256];
	/* Glyphs for the bitmap; NULL leaves text out of the bitmap (the text output is the
	 * same). Borrowed: the caller keeps it open during escpos_render(). */
	struct escpos_font *font;
};

/* Where and why a render failed. */
struct escpos_render_error {
	size_t offset; /* byte offset of the command at fault */
	char message[160];
};

/*
 * Defaults: 384 dots, 20000 dots high, 1 MiB, ESC t slots 18 CP852 and 45 CP1250, ESC GS t
 * (Star) slots 5 CP852 and 33 CP1250, no font.
 */
void escpos_render_options_init(struct escpos_render_options *opt);

/*
 * Parse "N=NAME" (e.g. "18=CP852") and set slot N of opt. Returns 0 or -EINVAL.
 */
__attribute__((warn_unused_result)) int
escpos_render_options_set_slot(struct escpos_render_options *opt, const char *spec);

/*
 * Load the regular and bold fonts for drawing text: PSF console fonts (PSF1 or PSF2, gzip or
 * plain; glyphs centred in the 12x24 cell, so 12x24 fonts fill it as printer font A does), or
 * any font FreeType reads, scaled to the cell. bold_path may be NULL: bold is then drawn by
 * emboldening the regular font (for a bitmap font: its dots doubled one dot to the right);
 * otherwise both must be bitmap fonts or both outline fonts (-EINVAL). Returns 0, -ENOENT or
 * -EINVAL when a font cannot be loaded, or -ENOMEM. The font keeps a small glyph cache, so it is
 * not shared between threads.
 */
__attribute__((warn_unused_result)) int
escpos_font_open(const char *regular_path, const char *bold_path, struct escpos_font **ret_font);
void escpos_font_free(struct escpos_font *font);

/*
 * Interpret len bytes of ESC/POS. On success returns 0 and *ret_page (free with
 * escpos_page_free). On failure returns -E2BIG (input or text past its cap), -EFBIG (page
 * taller than opt->max_height), -EBADMSG (truncated command), -EINVAL (bad options) or
 * -ENOMEM, and fills *err (if not NULL) with the offset and a message; *ret_page is untouched.
 * opt may be NULL for the defaults.
 */
__attribute__((warn_unused_result)) int escpos_render(const uint8_t *data, size_t len,
						      const struct escpos_render_options *opt,
						      struct escpos_page **ret_page,
						      struct escpos_render_error *err);

void escpos_page_free(struct escpos_page *page);

/*
 * The printed lines as UTF-8, each ending in '\n': alignment as leading spaces within the
 * column count, trailing spaces dropped, images as "[image WxH]" (printed size in dots), cuts
 * as "[cut]", native QR codes as "[native QR: payload]", barcodes as "[barcode: data]". Bytes
 * of payloads outside printable ASCII show as \xNN. Dot feeds (ESC J) show as one empty line
 * per 30 dots. Owned by the page.
 */
const char *escpos_page_text(const struct escpos_page *page);

/* Warnings, one per line "offset N: message\n" (empty when none). Owned by the page. */
const char *escpos_page_warnings(const struct escpos_page *page);
size_t escpos_page_warning_count(const struct escpos_page *page);

/* The paper: width x height bytes, row after row, 0 black to 255 white. Owned by the page. */
const uint8_t *escpos_page_bitmap(const struct escpos_page *page, int *ret_width, int *ret_height);

/* Raster images (GS v 0) in order, unscaled, 0 black / 255 white; index < image count. */
size_t escpos_page_image_count(const struct escpos_page *page);
const uint8_t *escpos_page_image(const struct escpos_page *page, size_t index, int *ret_width,
				 int *ret_height);

/*
 * Write the paper as an 8-bit grayscale PNG with ESCPOS_RENDER_PNG_MARGIN white dots around it.
 * Returns 0, -EIO (the message from libpng is lost; the path is the caller's to report) or
 * -ENOMEM.
 */
__attribute__((warn_unused_result)) int escpos_page_write_png(const struct escpos_page *page,
							      const char *path);

/* Write raster image index as a PNG, 1:1 without margin. Returns 0, -EINVAL, -EIO or -ENOMEM. */
__attribute__((warn_unused_result)) int escpos_page_write_image_png(const struct escpos_page *page,
								    size_t index, const char *path);
