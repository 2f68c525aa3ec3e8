/*
 * escpos_render_fuzz: untrusted bytes through the ESC/POS interpreter of tools/escpos-render, on
 * the 58 mm head without glyphs and on the 80 mm head with glyphs (when the default font is
 * installed). Checks the contract as well as memory safety: no page on failure, an error
 * message on failure, the page within its cap. PNG writing is not fuzzed; it only sees the
 * bitmap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct escpos_font *font_once(void)
{
	static int tried;
	static struct escpos_font *font;
	if (!tried) {
		tried = 1;
		if (escpos_font_open(ESCPOS_RENDER_FONT_REGULAR, ESCPOS_RENDER_FONT_BOLD, &font) <
		    0)
			font = NULL;
	}
	return font;
}

static void check_page(const struct escpos_page *page, const struct escpos_render_options *opt)
{
	int w, h;
	const uint8_t *px = escpos_page_bitmap(page, &w, &h);
	if (w != opt->width_dots || h < 0 || h > opt->max_height || (h > 0 && !px))
		abort();
	/* read the last dot: the bitmap must really be that tall (the sanitizers check) */
	volatile uint8_t sink = h > 0 ? px[(size_t) h * (size_t) w - 1] : 0;
	(void) strlen(escpos_page_text(page));
	(void) strlen(escpos_page_warnings(page));
	for (size_t i = 0; i < escpos_page_image_count(page); i++) {
		int iw, ih;
		const uint8_t *ipx = escpos_page_image(page, i, &iw, &ih);
		if (!ipx || iw <= 0 || ih <= 0)
			abort();
		sink = ipx[(size_t) iw * (size_t) ih - 1];
	}
	(void) sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	/* a lower page cap than the tool's: the cap is still reached, and faster */
	opt.max_height = 3000;
	for (int pass = 0; pass < 2; pass++) {
		opt.width_dots = pass ? 576 : 384;
		/* glyphs only for small inputs: drawing them dominates the run time */
		opt.font = pass && size <= 2048 ? font_once() : NULL;
		struct escpos_page *page = NULL;
		struct escpos_render_error err = {0};
		int r = escpos_render(data, size, &opt, &page, &err);
		if (r < 0) {
			if (page || err.message[0] == '\0' || err.offset > size)
				abort();
			continue;
		}
		check_page(page, &opt);
		escpos_page_free(page);
	}
	return 0;
}
