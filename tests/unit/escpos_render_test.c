/*
 * escpos_render_test: the ESC/POS interpreter of tools/escpos-render on byte streams built by
 * hand: Polish text through the code pages, alignment, wrapping and sizes, raster images dot
 * for dot, cuts, native QR, the caps and truncated commands, a QR raster that must survive the
 * trip through a PNG and zbarimg, Star's code page command, and the PSF bitmap fonts (a small
 * hand-made one, and Terminus 12x24 drawn dot for dot as printer font A).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <qrencode.h>

#include "buf.h"
#include "psf.h"
#include "render.h"

#define ESC 0x1b
#define GS  0x1d
#define HT  0x09
#define LF  0x0a
#define CR  0x0d

#define ADD(b, ...) add((b), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void add(struct buf *b, const uint8_t *d, size_t n)
{
	assert_int_equal(buf_append(b, d, n), 0);
}

static void add_str(struct buf *b, const char *s)
{
	assert_int_equal(buf_append_str(b, s), 0);
}

/* GS v 0 with mode m for a packed raster of xbytes x rows. */
static void add_raster(struct buf *b, uint8_t m, int xbytes, int rows, const uint8_t *bits)
{
	ADD(b, GS, 'v', '0', m, (uint8_t) xbytes, (uint8_t) (xbytes >> 8), (uint8_t) rows,
	    (uint8_t) (rows >> 8));
	add(b, bits, (size_t) xbytes * (size_t) rows);
}

static struct escpos_page *render_ok(const struct buf *b, const struct escpos_render_options *opt)
{
	struct escpos_page *page = NULL;
	struct escpos_render_error err = {0};
	int r = escpos_render(b->data, b->len, opt, &page, &err);
	if (r < 0)
		fail_msg("render failed: %d at offset %zu: %s", r, err.offset, err.message);
	assert_non_null(page);
	return page;
}

static void assert_text(const struct buf *b, const struct escpos_render_options *opt,
			const char *expected)
{
	struct escpos_page *page = render_ok(b, opt);
	assert_string_equal(escpos_page_text(page), expected);
	escpos_page_free(page);
}

static void test_polish_cp852_centred(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	ADD(&b, ESC, '@', ESC, 't', 18, ESC, 'a', 1);
	/* "Zażółć gęślą jaźń" in CP852 */
	ADD(&b, 'Z', 'a', 0xbe, 0xa2, 0x88, 0x86, ' ', 'g', 0xa9, 0x98, 'l', 0xa5, ' ', 'j', 'a',
	    0xab, 0xe4, LF);
	/* "ĄĘŚĆŻŹŃÓŁ", left */
	ADD(&b, ESC, 'a', '0', 0xa4, 0xa8, 0x97, 0x8f, 0xbd, 0x8d, 0xe3, 0xe0, 0x9d, LF);
	assert_text(&b, NULL, "       Zażółć gęślą jaźń\nĄĘŚĆŻŹŃÓŁ\n");
	buf_free(&b);
}

static void test_code_page_slots(void **state)
{
	(void) state;
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	struct buf b;
	buf_init(&b, 4096);

	/* slot 45 is CP1250 by default: "ąłśż" */
	ADD(&b, ESC, '@', ESC, 't', 45, 0xb9, 0xb3, 0x9c, 0xbf, LF);
	/* ESC @ goes back to slot 0, which has no table */
	ADD(&b, ESC, 't', 18, ESC, '@', 'a', 0xa5, LF);
	struct escpos_page *page = render_ok(&b, &opt);
	assert_string_equal(escpos_page_text(page), "ąłśż\na\xef\xbf\xbd\n");
	assert_int_equal(escpos_page_warning_count(page), 1);
	assert_non_null(strstr(escpos_page_warnings(page), "slot 0"));
	escpos_page_free(page);

	/* an overridden slot, as with --codepage 7=CP852 */
	assert_int_equal(escpos_render_options_set_slot(&opt, "7=cp852"), 0);
	assert_int_equal(escpos_render_options_set_slot(&opt, "7=CP437"), -EINVAL);
	assert_int_equal(escpos_render_options_set_slot(&opt, "256=CP852"), -EINVAL);
	assert_int_equal(escpos_render_options_set_slot(&opt, "=CP852"), -EINVAL);
	buf_reset(&b);
	ADD(&b, ESC, 't', 7, 0xa5, 0x88, LF);
	assert_text(&b, &opt, "ął\n");
	buf_free(&b);
}

static void test_alignment(void **state)
{
	(void) state;
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	struct buf b;
	buf_init(&b, 4096);
	ADD(&b, ESC, 'a', 2);
	add_str(&b, "abc\n");
	ADD(&b, ESC, 'a', 1);
	add_str(&b, "abcd\n");
	/* double width counts two columns a character */
	ADD(&b, GS, '!', 0x10);
	add_str(&b, "ab\n");
	/* alignment only applies from the start of a line */
	ADD(&b, GS, '!', 0x00, ESC, 'a', 0);
	add_str(&b, "left");
	ADD(&b, ESC, 'a', 2);
	add_str(&b, "\nright\n");
	/* trailing spaces are not shown */
	ADD(&b, ESC, 'a', 0);
	add_str(&b, "x   \n    \n");

	assert_text(&b, &opt,
		    "                             abc\n"
		    "              abcd\n"
		    "              ab\n"
		    "left\n"
		    "                           right\n"
		    "x\n"
		    "\n");

	opt.width_dots = 576;
	assert_text(&b, &opt,
		    "                                             abc\n"
		    "                      abcd\n"
		    "                      ab\n"
		    "left\n"
		    "                                           right\n"
		    "x\n"
		    "\n");
	buf_free(&b);
}

static void test_wrap(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	char line[41];
	memset(line, 'x', 40);
	line[40] = '\0';
	add_str(&b, line);
	add_str(&b, "\n");
	/* exactly 32 columns and LF: one line, no blank line after it */
	line[32] = '\0';
	add_str(&b, line);
	add_str(&b, "\n");
	/* double width: 16 a line */
	ADD(&b, GS, '!', 0x11);
	line[20] = '\0';
	add_str(&b, line);
	add_str(&b, "\n");
	/* tabs every 8 columns */
	ADD(&b, GS, '!', 0x00);
	add_str(&b, "a\tb\tc\n");

	assert_text(&b, NULL,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		    "xxxxxxxx\n"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		    "xxxxxxxxxxxxxxxx\n"
		    "xxxx\n"
		    "a       b       c\n");
	buf_free(&b);
}

static int page_height(const struct buf *b)
{
	struct escpos_page *page = render_ok(b, NULL);
	int h;
	(void) escpos_page_bitmap(page, NULL, &h);
	escpos_page_free(page);
	return h;
}

static void test_sizes_and_reset(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);

	add_str(&b, "A\n");
	assert_int_equal(page_height(&b), ESCPOS_RENDER_LINE_SPACING);

	buf_reset(&b);
	ADD(&b, GS, '!', 0x11);
	add_str(&b, "A\n");
	assert_int_equal(page_height(&b), 2 * ESCPOS_RENDER_CELL_H);

	buf_reset(&b);
	ADD(&b, GS, '!', 0x07);
	add_str(&b, "A\n");
	assert_int_equal(page_height(&b), 8 * ESCPOS_RENDER_CELL_H);

	buf_reset(&b);
	ADD(&b, ESC, '!', 0x30);
	add_str(&b, "A\n");
	assert_int_equal(page_height(&b), 2 * ESCPOS_RENDER_CELL_H);

	/* ESC @ resets the size */
	buf_reset(&b);
	ADD(&b, GS, '!', 0x11, ESC, '@');
	add_str(&b, "A\n");
	assert_int_equal(page_height(&b), ESCPOS_RENDER_LINE_SPACING);

	/* ESC d n feeds n lines, ESC J n dots (one empty text line per 30 dots) */
	buf_reset(&b);
	ADD(&b, ESC, 'd', 3, ESC, 'J', 60);
	assert_int_equal(page_height(&b), 3 * ESCPOS_RENDER_LINE_SPACING + 60);
	assert_text(&b, NULL, "\n\n\n\n\n");
	buf_free(&b);
}

/* A 16 x 4 pattern: rows F00F, AA55, 8118, FF00. */
static const uint8_t pattern[] = {0xf0, 0x0f, 0xaa, 0x55, 0x81, 0x18, 0xff, 0x00};

static int pattern_bit(int x, int y)
{
	return (pattern[y * 2 + x / 8] >> (7 - x % 8)) & 1;
}

static void assert_pattern_at(const struct escpos_page *page, int x0, int y0, int scale_x,
			      int scale_y)
{
	int w, h;
	const uint8_t *px = escpos_page_bitmap(page, &w, &h);
	assert_true(h >= y0 + 4 * scale_y);
	for (int y = y0; y < y0 + 4 * scale_y; y++) {
		for (int x = 0; x < w; x++) {
			int in = x >= x0 && x < x0 + 16 * scale_x;
			int black = in && pattern_bit((x - x0) / scale_x, (y - y0) / scale_y);
			if ((px[y * w + x] == 0) != black)
				fail_msg("dot %d,%d is %u, expected %s", x, y, px[y * w + x],
					 black ? "black" : "white");
			if (!black)
				assert_int_equal(px[y * w + x], 255);
		}
	}
}

static void test_raster_dots(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	ADD(&b, ESC, '@');
	add_raster(&b, 0, 2, 4, pattern);
	ADD(&b, ESC, 'a', 1);
	add_raster(&b, 0, 2, 4, pattern);
	ADD(&b, ESC, 'a', 2);
	add_raster(&b, 3, 2, 4, pattern);   /* double width and height */
	add_raster(&b, '1', 2, 4, pattern); /* double width only */

	struct escpos_page *page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page),
			    "[image 16x4]\n[image 16x4]\n[image 32x8]\n[image 32x4]\n");
	assert_pattern_at(page, 0, 0, 1, 1);
	assert_pattern_at(page, (384 - 16) / 2, 4, 1, 1);
	assert_pattern_at(page, 384 - 32, 8, 2, 2);
	assert_pattern_at(page, 384 - 32, 16, 2, 1);
	int w, h;
	(void) escpos_page_bitmap(page, &w, &h);
	assert_int_equal(h, 20);

	/* the images as sent, unscaled */
	assert_int_equal(escpos_page_image_count(page), 4);
	const uint8_t *img = escpos_page_image(page, 2, &w, &h);
	assert_non_null(img);
	assert_int_equal(w, 16);
	assert_int_equal(h, 4);
	for (int y = 0; y < 4; y++) {
		for (int x = 0; x < 16; x++)
			assert_int_equal(img[y * 16 + x], pattern_bit(x, y) ? 0 : 255);
	}
	assert_null(escpos_page_image(page, 4, &w, &h));
	escpos_page_free(page);
	buf_free(&b);
}

static void test_raster_after_text_and_clipping(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	/* pending text is printed first, with a warning */
	add_str(&b, "ab");
	add_raster(&b, 0, 2, 4, pattern);
	struct escpos_page *page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page), "ab\n[image 16x4]\n");
	assert_int_equal(escpos_page_warning_count(page), 1);
	assert_pattern_at(page, 0, ESCPOS_RENDER_LINE_SPACING, 1, 1);
	escpos_page_free(page);

	/* wider than the head: clipped, with a warning */
	buf_reset(&b);
	uint8_t wide[50];
	memset(wide, 0xff, sizeof(wide));
	add_raster(&b, 0, 50, 1, wide);
	page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page), "[image 400x1]\n");
	assert_int_equal(escpos_page_warning_count(page), 1);
	int w, h;
	const uint8_t *px = escpos_page_bitmap(page, &w, &h);
	assert_int_equal(h, 1);
	for (int x = 0; x < w; x++)
		assert_int_equal(px[x], 0);
	escpos_page_free(page);
	buf_free(&b);
}

/* Rows below y that hold a dashed line: some dots inked, some not. */
static int dashed_rows(const struct escpos_page *page, int y)
{
	int w, h, rows = 0;
	const uint8_t *px = escpos_page_bitmap(page, &w, &h);
	for (; y < h; y++) {
		int ink = 0;
		for (int x = 0; x < w; x++)
			ink += px[y * w + x] != 255;
		rows += ink > w / 4 && ink < w;
	}
	return rows;
}

static void test_cut(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	add_str(&b, "abc\n");
	ADD(&b, GS, 'V', 66, 0);
	add_str(&b, "def\n");
	ADD(&b, GS, 'V', 0, GS, 'V', '1', GS, 'V', 65, 40, ESC, 'i');
	struct escpos_page *page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page),
			    "abc\n[cut]\ndef\n[cut]\n[cut]\n[cut]\n[cut]\n");
	assert_int_equal(escpos_page_warning_count(page), 0);
	assert_int_equal(dashed_rows(page, ESCPOS_RENDER_LINE_SPACING), 5 * 2);
	escpos_page_free(page);
	buf_free(&b);
}

static void add_native_qr(struct buf *b, const char *payload)
{
	size_t n = strlen(payload) + 3;
	ADD(b, GS, '(', 'k', 3, 0, '1', 'C', 6);
	ADD(b, GS, '(', 'k', (uint8_t) n, (uint8_t) (n >> 8), '1', 'P', '0');
	add_str(b, payload);
	ADD(b, GS, '(', 'k', 3, 0, '1', 'Q', '0');
}

static void test_native_qr_and_barcode(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	add_native_qr(&b, "hello\\1");
	ADD(&b, GS, 'k', 4);
	add_str(&b, "AB12");
	ADD(&b, 0, GS, 'k', 73, 3, '{', 'B', 'x');
	struct escpos_page *page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page),
			    "[native QR: hello\\x5c1]\n[barcode: AB12]\n[barcode: {Bx]\n");
	int w, h;
	(void) escpos_page_bitmap(page, &w, &h);
	assert_int_equal(h, 21 * 6); /* version 1 at 6 dots a module */
	escpos_page_free(page);
	buf_free(&b);
}

static void test_skipped_commands(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	/* known and harmless: no warning, no stray text */
	ADD(&b, ESC, 'p', 0, 25, 250, 0x1c, '.', 0x10, 0x04, 1, ESC, 'c', '5', 0, GS, 'a', 0);
	ADD(&b, GS, '(', 'L', 2, 0, '0', '1', GS, '8', 'L', 2, 0, 0, 0, 'x', 'y', ESC, 'M', 0);
	ADD(&b, ESC, 'E', 1, ESC, '-', 1, ESC, 'G', 0, ESC, '3', 40, ESC, '2', CR);
	add_str(&b, "ok\n");
	struct escpos_page *page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page), "ok\n");
	assert_int_equal(escpos_page_warning_count(page), 0);
	escpos_page_free(page);

	/* unknown: a warning naming it, the command byte skipped */
	buf_reset(&b);
	ADD(&b, ESC, 'z', GS, 0x7f);
	add_str(&b, "ab\n");
	page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page), "ab\n");
	assert_int_equal(escpos_page_warning_count(page), 2);
	assert_string_equal(escpos_page_warnings(page),
			    "offset 0: unknown command ESC z; skipped 2 bytes\n"
			    "offset 2: unknown command GS 0x7f; skipped 2 bytes\n");
	escpos_page_free(page);

	/* text never followed by LF is shown, with a warning */
	buf_reset(&b);
	add_str(&b, "tail");
	page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page), "tail\n");
	assert_int_equal(escpos_page_warning_count(page), 1);
	escpos_page_free(page);
	buf_free(&b);
}

/* A stream with one of every command kind, for cutting short. */
static void add_everything(struct buf *b)
{
	ADD(b, ESC, '@', ESC, 't', 18, ESC, 'a', 1, ESC, 'E', 1, GS, '!', 0x11, ESC, '!', 0x08);
	ADD(b, 'a', 0xa5, LF, ESC, 'd', 1, ESC, 'J', 10, ESC, '-', 1, ESC, 'D', 4, 0, HT);
	add_raster(b, 0, 2, 4, pattern);
	add_native_qr(b, "x");
	ADD(b, GS, 'k', 4, 'A', 0, GS, 'k', 73, 1, 'B', ESC, '*', 0, 2, 0, 1, 2);
	ADD(b, ESC, '&', 3, 'A', 'A', 1, 1, 2, 3, GS, '8', 'L', 1, 0, 0, 0, 9);
	ADD(b, 0x10, 0x14, 1, 0, 1, GS, 'V', 66, 3);
}

static void test_truncated(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	add_everything(&b);
	struct escpos_page *page = render_ok(&b, NULL);
	escpos_page_free(page);

	/* every prefix: a page or -EBADMSG, never a read past the end (an exact-size copy) */
	int errors = 0;
	for (size_t n = 0; n < b.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, b.data, n);
		struct escpos_render_error err = {0};
		page = NULL;
		int r = escpos_render(copy, n, NULL, &page, &err);
		if (r < 0) {
			assert_int_equal(r, -EBADMSG);
			assert_null(page);
			assert_true(err.offset < n);
			assert_non_null(strstr(err.message, "truncated"));
			errors++;
		} else {
			escpos_page_free(page);
		}
		free(copy);
	}
	assert_true(errors > 20);

	/* the message names the command and where it starts */
	buf_reset(&b);
	add_str(&b, "ab\n");
	ADD(&b, GS, 'v', '0', 0, 2, 0, 4, 0, 0xff, 0xff);
	struct escpos_render_error err = {0};
	page = NULL;
	assert_int_equal(escpos_render(b.data, b.len, NULL, &page, &err), -EBADMSG);
	assert_null(page);
	assert_int_equal(err.offset, 3);
	assert_string_equal(err.message,
			    "truncated GS v 0 raster data: needs 8 bytes, only 2 left");

	buf_reset(&b);
	ADD(&b, 'a', ESC);
	assert_int_equal(escpos_render(b.data, b.len, NULL, &page, &err), -EBADMSG);
	assert_int_equal(err.offset, 1);
	buf_free(&b);
}

static void test_caps(void **state)
{
	(void) state;
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	struct buf b;
	buf_init(&b, ESCPOS_RENDER_INPUT_MAX + 1);
	struct escpos_page *page = NULL;
	struct escpos_render_error err = {0};

	/* the page height cap */
	opt.max_height = 1000;
	for (int i = 0; i < 1000 / ESCPOS_RENDER_LINE_SPACING; i++)
		ADD(&b, LF);
	page = render_ok(&b, &opt);
	escpos_page_free(page);
	page = NULL;
	ADD(&b, 'x', LF);
	assert_int_equal(escpos_render(b.data, b.len, &opt, &page, &err), -EFBIG);
	assert_null(page);
	assert_int_equal(err.offset, b.len - 1);
	assert_string_equal(err.message, "page taller than the cap of 1000 dots");

	/* the default cap: 20000 dots */
	buf_reset(&b);
	for (int i = 0; i < 100; i++)
		ADD(&b, ESC, 'd', 255);
	assert_int_equal(escpos_render(b.data, b.len, NULL, &page, &err), -EFBIG);
	buf_reset(&b);
	ADD(&b, GS, 'v', '0', 0, 1, 0, 0x21, 0x4e); /* 20001 rows */
	uint8_t zero[20001] = {0};
	add(&b, zero, sizeof(zero));
	assert_int_equal(escpos_render(b.data, b.len, NULL, &page, &err), -EFBIG);

	/* the input cap */
	buf_reset(&b);
	uint8_t *big = calloc(1, ESCPOS_RENDER_INPUT_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', ESCPOS_RENDER_INPUT_MAX + 1);
	assert_int_equal(escpos_render(big, ESCPOS_RENDER_INPUT_MAX + 1, NULL, &page, &err),
			 -E2BIG);
	assert_null(page);
	free(big);

	/* bad options */
	opt.width_dots = 10;
	assert_int_equal(escpos_render(zero, 1, &opt, &page, &err), -EINVAL);
	assert_null(page);
	buf_free(&b);
}

static struct escpos_font *open_font(void)
{
	struct escpos_font *font = NULL;
	int r = escpos_font_open(ESCPOS_RENDER_FONT_REGULAR, ESCPOS_RENDER_FONT_BOLD, &font);
	if (r < 0)
		return NULL;
	return font;
}

/* Dots with ink inside the rectangle and outside it. */
static void count_ink(const struct escpos_page *page, int x0, int y0, int x1, int y1, int *ret_in,
		      int *ret_out)
{
	int w, h, in = 0, out = 0;
	const uint8_t *px = escpos_page_bitmap(page, &w, &h);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			if (px[y * w + x] == 255)
				continue;
			if (x >= x0 && x < x1 && y >= y0 && y < y1)
				in++;
			else
				out++;
		}
	}
	*ret_in = in;
	*ret_out = out;
}

static void test_glyphs(void **state)
{
	(void) state;
	struct escpos_font *font = open_font();
	if (!font)
		skip();
	assert_int_equal(escpos_font_open("/nonexistent.ttf", NULL, &(struct escpos_font *){NULL}),
			 -ENOENT);
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	opt.font = font;
	struct buf b;
	buf_init(&b, 4096);
	int in, out, bold_in;

	/* one character fills its 12 x 24 cell and nothing else */
	ADD(&b, ESC, 't', 18, 0x9d, LF); /* Ł */
	struct escpos_page *page = render_ok(&b, &opt);
	count_ink(page, 0, 0, 12, 24, &in, &out);
	assert_true(in > 20);
	assert_int_equal(out, 0);
	escpos_page_free(page);

	/* bold has more ink; right alignment puts it in the last cell */
	buf_reset(&b);
	ADD(&b, ESC, 't', 18, ESC, 'E', 1, ESC, 'a', 2, 0x9d, LF);
	page = render_ok(&b, &opt);
	count_ink(page, 384 - 12, 0, 384, 24, &bold_in, &out);
	assert_true(bold_in > in);
	assert_int_equal(out, 0);
	escpos_page_free(page);

	/* double size scales the cell; underline adds a row */
	buf_reset(&b);
	ADD(&b, GS, '!', 0x11, ESC, '-', 2, 'x', LF);
	page = render_ok(&b, &opt);
	count_ink(page, 0, 0, 24, 48, &in, &out);
	assert_true(in > 4 * 24);
	assert_int_equal(out, 0);
	escpos_page_free(page);

	buf_free(&b);
	escpos_font_free(font);
}

/* The first line zbarimg prints for path, or "" when it finds nothing. */
static void zbar_decode(const char *path, char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = '\0';
	if (fgets(out, (int) cap, p))
		out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* A QR raster as the receipt encoder sends it: head width, 4-module quiet zone, 5 dots a module. */
static void add_qr_raster(struct buf *b, const char *payload, int width_dots, int module)
{
	QRcode *q = QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(q);
	int xbytes = width_dots / 8, size = (q->width + 8) * module;
	int left = (width_dots - size) / 2 + 4 * module;
	assert_true(left >= 4 * module);
	uint8_t *bits = calloc((size_t) xbytes * (size_t) size, 1);
	assert_non_null(bits);
	for (int y = 0; y < q->width * module; y++) {
		for (int x = 0; x < q->width * module; x++) {
			if (!(q->data[(y / module) * q->width + x / module] & 1))
				continue;
			int dx = left + x, dy = 4 * module + y;
			bits[dy * xbytes + dx / 8] |= (uint8_t) (0x80 >> (dx % 8));
		}
	}
	add_raster(b, 0, xbytes, size, bits);
	free(bits);
	QRcode_free(q);
}

static void test_png_qr_zbarimg(void **state)
{
	(void) state;
	if (system("command -v zbarimg >/dev/null 2>&1") != 0)
		skip();
	struct escpos_font *font = open_font();
	if (!font)
		skip();
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	opt.font = font;
	const char *payload = "https://example.pl/k/TEST-1234?p=25";

	struct buf b;
	buf_init(&b, 64 * 1024);
	ADD(&b, ESC, '@', ESC, 't', 18, ESC, 'a', 1, ESC, 'E', 1, GS, '!', 0x11);
	add_str(&b, "Kawiarnia\n");
	ADD(&b, ESC, 'E', 0, GS, '!', 0);
	ADD(&b, 'Z', 'a', 0xbe, 0xa2, 0x88, 0x86, LF);
	add_qr_raster(&b, payload, 384, 5);
	ADD(&b, GS, 'V', 66, 0);
	struct escpos_page *page = render_ok(&b, &opt);

	char dir[] = "/tmp/escpos_render_test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], image[256], got[256];
	snprintf(path, sizeof(path), "%s/receipt.png", dir);
	snprintf(image, sizeof(image), "%s/image-1.png", dir);
	assert_int_equal(escpos_page_write_png(page, path), 0);
	assert_int_equal(escpos_page_write_image_png(page, 0, image), 0);
	assert_int_equal(escpos_page_write_image_png(page, 1, image), -EINVAL);
	zbar_decode(path, got, sizeof(got));
	assert_string_equal(got, payload);
	zbar_decode(image, got, sizeof(got));
	assert_string_equal(got, payload);
	escpos_page_free(page);

	/* a native QR is redrawn too */
	buf_reset(&b);
	ADD(&b, ESC, 'a', 1, ESC, 'J', 40);
	add_native_qr(&b, payload);
	ADD(&b, ESC, 'J', 40);
	page = render_ok(&b, &opt);
	assert_int_equal(escpos_page_write_png(page, path), 0);
	zbar_decode(path, got, sizeof(got));
	assert_string_equal(got, payload);
	escpos_page_free(page);

	unlink(path);
	unlink(image);
	rmdir(dir);
	buf_free(&b);
	escpos_font_free(font);
}

static void test_star_code_page(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b, 4096);
	/* ESC GS t 5 is CP852 in Star's numbering, ESC GS t 33 CP1250; ESC t 18 back to Epson's */
	ADD(&b, ESC, GS, 't', 5, 0xa5, 0x88, LF, ESC, GS, 't', 33, 0xb9, 0xb3, LF, ESC, 't', 18,
	    0xa5, LF, ESC, GS, 't', 18, 0xa5, LF, ESC, GS, 'x', 'A', LF);
	struct escpos_page *page = render_ok(&b, NULL);
	assert_string_equal(escpos_page_text(page), "ął\nął\ną\n\xef\xbf\xbd\nA\n");
	/* slot 18 means nothing in Star's numbering; ESC GS x is not ours */
	assert_int_equal(escpos_page_warning_count(page), 2);
	assert_non_null(strstr(escpos_page_warnings(page), "slot (ESC GS t) 18"));
	assert_non_null(strstr(escpos_page_warnings(page), "unknown command ESC GS 0x78"));
	escpos_page_free(page);
	buf_free(&b);
}

/* Write n bytes to a new file in dir; returns its path in path. */
static void write_file(const char *dir, const char *name, const void *d, size_t n, char *path,
		       size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_psf(void **state)
{
	(void) state;
	/* PSF2, 3 glyphs of 8x2 dots, a Unicode table: glyph 1 is 'A' and U+0104, glyph 2 'B' */
	uint8_t font[32 + 6 + 16] = {
	    0x72, 0xb5, 0x4a, 0x86, 0,	  0,	0,    0,   32,	0,
	    0,	  0,	1,    0,    0,	  0, /* magic .. flags */
	    3,	  0,	0,    0,    2,	  0,	0,    0,   2,	0,
	    0,	  0,	8,    0,    0,	  0,			      /* 3 glyphs, 2 bytes, 2x8 */
	    0x00, 0x00, 0x81, 0x7e, 0xff, 0x01,			      /* the glyphs */
	    0xff, 'A',	0xc4, 0x84, 0xff, 'B',	0xfe, 'B', 'B', 0xff, /* the table */
	};
	char dir[] = "/tmp/escpos_render_psf.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	write_file(dir, "t.psf", font, 32 + 6 + 10, path, sizeof(path));

	struct psf *f = NULL;
	assert_int_equal(psf_load(path, &f), 0);
	assert_int_equal(psf_width(f), 8);
	assert_int_equal(psf_height(f), 2);
	uint8_t ink[4][10];
	memset(ink, 0, sizeof(ink));
	assert_true(psf_draw(f, 0x104, &ink[0][0], 10, 4)); /* Ą: glyph 1, centred in 10x4 */
	static const uint8_t want[4][10] = {
	    {0},
	    {0, 255, 0, 0, 0, 0, 0, 0, 255, 0},
	    {0, 0, 255, 255, 255, 255, 255, 255, 0, 0},
	    {0},
	};
	assert_memory_equal(ink, want, sizeof(want));
	memset(ink, 0, sizeof(ink));
	assert_true(psf_draw(f, 'B', &ink[0][0], 10, 4));
	assert_int_equal(ink[1][1], 255);
	/* no glyph, no U+FFFD, no '?': nothing */
	assert_false(psf_draw(f, 'C', &ink[0][0], 10, 4));
	psf_free(f);

	/* refused: wrong charsize, glyphs past the end, not a PSF, no file */
	uint8_t bad[sizeof(font)];
	memcpy(bad, font, sizeof(font));
	bad[20] = 3;
	write_file(dir, "b.psf", bad, 32 + 6 + 10, path, sizeof(path));
	assert_int_equal(psf_load(path, &f), -EINVAL);
	write_file(dir, "c.psf", font, 32 + 5, path, sizeof(path));
	assert_int_equal(psf_load(path, &f), -EINVAL);
	write_file(dir, "d.txt", "hello, world", 12, path, sizeof(path));
	assert_int_equal(psf_load(path, &f), -ENOTSUP);
	struct escpos_font *ef = NULL;
	assert_int_equal(escpos_font_open(path, NULL, &ef), -EINVAL); /* nor for FreeType */
	unlink(path);
	snprintf(path, sizeof(path), "%s/b.psf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.psf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.psf", dir);
	unlink(path);
	assert_int_equal(psf_load(path, &f), -ENOENT);
	rmdir(dir);
}

static void test_terminus_font_a(void **state)
{
	(void) state;
	struct escpos_font *font = NULL;
	if (escpos_font_open(ESCPOS_RENDER_FONT_REGULAR, ESCPOS_RENDER_FONT_BOLD, &font) < 0)
		fail_msg("%s is missing: install console-setup-linux (tools/dev does)",
			 ESCPOS_RENDER_FONT_REGULAR);
	struct psf *psf = NULL;
	assert_int_equal(psf_load(ESCPOS_RENDER_FONT_REGULAR, &psf), 0);
	assert_int_equal(psf_width(psf), ESCPOS_RENDER_CELL_W);
	assert_int_equal(psf_height(psf), ESCPOS_RENDER_CELL_H);

	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	opt.font = font;
	struct buf b;
	buf_init(&b, 4096);
	/* "Łó" in CP852, then bold */
	ADD(&b, ESC, 't', 18, 0x9d, 0xa2, LF, ESC, 'E', 1, 0x9d, 0xa2, LF);
	struct escpos_page *page = render_ok(&b, &opt);
	int w, h;
	const uint8_t *px = escpos_page_bitmap(page, &w, &h);
	/* dot for dot the font's glyphs for U+0141 and U+00F3: a printer's grid, no grey */
	uint8_t want[ESCPOS_RENDER_CELL_H][2 * ESCPOS_RENDER_CELL_W];
	uint8_t cell[ESCPOS_RENDER_CELL_H * ESCPOS_RENDER_CELL_W];
	memset(want, 0, sizeof(want));
	for (int c = 0; c < 2; c++) {
		memset(cell, 0, sizeof(cell));
		assert_true(psf_draw(psf, c ? 0xf3 : 0x141, cell, ESCPOS_RENDER_CELL_W,
				     ESCPOS_RENDER_CELL_H));
		for (int y = 0; y < ESCPOS_RENDER_CELL_H; y++)
			memcpy(&want[y][c * ESCPOS_RENDER_CELL_W], &cell[y * ESCPOS_RENDER_CELL_W],
			       ESCPOS_RENDER_CELL_W);
	}
	int regular = 0, bold = 0;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			uint8_t v = px[y * w + x];
			assert_true(v == 0 || v == 255);
			if (y < ESCPOS_RENDER_CELL_H && x < 2 * ESCPOS_RENDER_CELL_W)
				assert_int_equal(v, 255 - want[y][x]);
			else if (y < ESCPOS_RENDER_CELL_H)
				assert_int_equal(v, 255);
			if (v == 0)
				*(y < ESCPOS_RENDER_LINE_SPACING ? &regular : &bold) += 1;
		}
	}
	assert_true(regular > 20);
	assert_true(bold > regular); /* Terminus Bold */
	escpos_page_free(page);
	buf_free(&b);
	psf_free(psf);
	escpos_font_free(font);

	/* the outline fallback still opens where DejaVu is installed */
	if (access(ESCPOS_RENDER_FONT_TTF_REGULAR, R_OK) == 0) {
		assert_int_equal(escpos_font_open(ESCPOS_RENDER_FONT_TTF_REGULAR, NULL, &font), 0);
		escpos_font_free(font);
		/* a bitmap font with an outline bold is refused */
		assert_int_equal(escpos_font_open(ESCPOS_RENDER_FONT_REGULAR,
						  ESCPOS_RENDER_FONT_TTF_REGULAR, &font),
				 -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_polish_cp852_centred),
	    cmocka_unit_test(test_code_page_slots),
	    cmocka_unit_test(test_alignment),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_sizes_and_reset),
	    cmocka_unit_test(test_raster_dots),
	    cmocka_unit_test(test_raster_after_text_and_clipping),
	    cmocka_unit_test(test_cut),
	    cmocka_unit_test(test_native_qr_and_barcode),
	    cmocka_unit_test(test_skipped_commands),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_glyphs),
	    cmocka_unit_test(test_png_qr_zbarimg),
	    cmocka_unit_test(test_star_code_page),
	    cmocka_unit_test(test_psf),
	    cmocka_unit_test(test_terminus_font_a),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
