/*
 * render: the ESC/POS interpreter behind tools/escpos-render (contract in render.h).
 *
 * It keeps the printer's state (print modes, alignment, code page slot, line spacing, tab stops,
 * the stored native QR symbol), a pending line of character cells that is printed on LF, ESC d,
 * ESC J or when the next character does not fit, and the page being built: text lines, the
 * bitmap and copies of the raster images. FreeType draws glyphs, libqrencode redraws native QR
 * symbols, libpng writes files; none of them sees the untrusted input unchecked.
 */
#include "render.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_SYNTHESIS_H
#include <png.h>
#include <qrencode.h>

#include "buf.h"
#include "psf.h"

#define HT  0x09
#define LF  0x0a
#define CR  0x0d
#define DLE 0x10
#define ESC 0x1b
#define FS  0x1c
#define GS  0x1d

#define TEXT_MAX	  ((size_t) 16 * 1024 * 1024) /* cap on the text output */
#define WARNINGS_SHOWN	  100 /* warnings kept as text; the rest are counted */
#define WARNINGS_MAX	  ((size_t) 64 * 1024)
#define GLYPH_CACHE	  256
#define TABS_MAX	  32
#define CUT_GAP		  6 /* white dots each side of the dashed cut line */
#define CUT_DASH	  8 /* dash and gap length of the cut line */
#define CUT_INK		  96
#define QR_MODULE_DEFAULT 3
#define REPLACEMENT	  0xFFFDu

enum align { ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT, ALIGN_MAX };

/* ---- fonts ---- */

struct glyph {
	uint32_t cp;
	bool valid;
	int top, bottom; /* rows with ink: top <= row < bottom */
	uint8_t ink[ESCPOS_RENDER_CELL_H][ESCPOS_RENDER_CELL_W]; /* 0 none .. 255 full */
};

struct escpos_font {
	FT_Library lib;
	/* regular, bold: a bitmap font or a FreeType face (neither for bold: the regular one
	 * emboldened) */
	struct psf *psf[2];
	FT_Face face[2];
	int baseline; /* rows from the top of the cell */
	struct glyph cache[2][GLYPH_CACHE];
};

/* Open path and size it so one advance fills the 12-dot cell and the line fits 24 dots. */
static int font_face_open(FT_Library lib, const char *path, FT_Face *ret_face)
{
	FT_Face face;
	FT_Error e = FT_New_Face(lib, path, 0, &face);
	if (e == FT_Err_Cannot_Open_Resource)
		return -ENOENT;
	if (e)
		return -EINVAL;
	long upem = face->units_per_EM;
	long adv = face->max_advance_width;
	long height = (long) face->ascender - face->descender;
	if (!FT_IS_SCALABLE(face) || upem <= 0 || adv <= 0 || height <= 0 || face->ascender <= 0) {
		FT_Done_Face(face);
		return -EINVAL;
	}
	long by_width = ESCPOS_RENDER_CELL_W * 64L * upem / adv;
	long by_height = ESCPOS_RENDER_CELL_H * 64L * upem / height;
	if (FT_Set_Char_Size(face, 0, by_width < by_height ? by_width : by_height, 72, 72)) {
		FT_Done_Face(face);
		return -EINVAL;
	}
	*ret_face = face;
	return 0;
}

/* One face: a PSF bitmap font when the file is one, else whatever FreeType reads. */
static int font_face_load(struct escpos_font *f, int i, const char *path)
{
	int r = psf_load(path, &f->psf[i]);
	if (r != -ENOTSUP)
		return r;
	return font_face_open(f->lib, path, &f->face[i]);
}

int escpos_font_open(const char *regular_path, const char *bold_path, struct escpos_font **ret_font)
{
	if (!regular_path || !ret_font)
		return -EINVAL;
	struct escpos_font *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (FT_Init_FreeType(&f->lib)) {
		free(f);
		return -ENOMEM;
	}
	int r = font_face_load(f, 0, regular_path);
	if (r == 0 && bold_path)
		r = font_face_load(f, 1, bold_path);
	/* a grid of dots and an outline do not mix: both bitmap or both outline */
	if (r == 0 && (!f->psf[0] != !f->psf[1]) && bold_path)
		r = -EINVAL;
	if (r < 0) {
		escpos_font_free(f);
		return r;
	}
	if (f->face[0]) {
		long height = (long) f->face[0]->ascender - f->face[0]->descender;
		f->baseline =
		    (int) ((ESCPOS_RENDER_CELL_H * (long) f->face[0]->ascender + height / 2) /
			   height);
	}
	*ret_font = f;
	return 0;
}

/*
 * A bitmap glyph: the dots of the regular or bold font, or for bold without a bold font the
 * regular dots doubled one dot to the right (what printers do for emphasis).
 */
static void psf_glyph(struct escpos_font *f, bool bold, struct glyph *g)
{
	const struct psf *font = bold && f->psf[1] ? f->psf[1] : f->psf[0];
	uint8_t *ink = &g->ink[0][0];
	if (!psf_draw(font, g->cp, ink, ESCPOS_RENDER_CELL_W, ESCPOS_RENDER_CELL_H))
		return;
	if (bold && !f->psf[1]) {
		for (int y = 0; y < ESCPOS_RENDER_CELL_H; y++) {
			for (int x = ESCPOS_RENDER_CELL_W - 1; x > 0; x--) {
				if (g->ink[y][x - 1])
					g->ink[y][x] = 255;
			}
		}
	}
	for (int y = 0; y < ESCPOS_RENDER_CELL_H; y++) {
		for (int x = 0; x < ESCPOS_RENDER_CELL_W; x++) {
			if (!g->ink[y][x])
				continue;
			if (g->top == g->bottom)
				g->top = y;
			g->bottom = y + 1;
		}
	}
}

void escpos_font_free(struct escpos_font *font)
{
	if (!font)
		return;
	for (int i = 0; i < 2; i++) {
		if (font->face[i])
			FT_Done_Face(font->face[i]);
		psf_free(font->psf[i]);
	}
	FT_Done_FreeType(font->lib);
	free(font);
}

/* The ink of code point cp in one cell; a glyph FreeType cannot draw is blank. */
static const struct glyph *font_glyph(struct escpos_font *f, bool bold, uint32_t cp)
{
	struct glyph *g = &f->cache[bold][cp % GLYPH_CACHE];
	if (g->valid && g->cp == cp)
		return g;
	memset(g->ink, 0, sizeof(g->ink));
	g->top = g->bottom = 0;
	g->cp = cp;
	g->valid = true;

	if (f->psf[0]) {
		psf_glyph(f, bold, g);
		return g;
	}

	FT_Face face = bold && f->face[1] ? f->face[1] : f->face[0];
	if (FT_Load_Char(face, cp, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP))
		return g;
	if (bold && !f->face[1])
		FT_GlyphSlot_Embolden(face->glyph);
	if (FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL))
		return g;
	const FT_Bitmap *bm = &face->glyph->bitmap;
	if (bm->pitch < 0 || bm->pixel_mode != FT_PIXEL_MODE_GRAY || bm->num_grays < 2)
		return g;
	int left = face->glyph->bitmap_left;
	int top = f->baseline - face->glyph->bitmap_top;
	for (unsigned r = 0; r < bm->rows; r++) {
		int y = top + (int) r;
		if (y < 0 || y >= ESCPOS_RENDER_CELL_H)
			continue;
		const uint8_t *row = bm->buffer + (size_t) r * (unsigned) bm->pitch;
		for (unsigned c = 0; c < bm->width; c++) {
			int x = left + (int) c;
			if (x < 0 || x >= ESCPOS_RENDER_CELL_W)
				continue;
			g->ink[y][x] = (uint8_t) (row[c] * 255u / (unsigned) (bm->num_grays - 1));
			if (!g->ink[y][x])
				continue;
			if (g->top == g->bottom)
				g->top = y;
			g->bottom = y + 1;
		}
	}
	return g;
}

/* ---- options ---- */

void escpos_render_options_init(struct escpos_render_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->width_dots = ESCPOS_RENDER_WIDTH_DEFAULT;
	opt->max_height = ESCPOS_RENDER_HEIGHT_MAX;
	opt->max_input = ESCPOS_RENDER_INPUT_MAX;
	for (size_t i = 0; i < 256; i++)
		opt->slot_codepage[i] = ESCPOS_RENDER_SLOT_NONE;
	opt->slot_codepage[18] = CODEPAGE_CP852;
	opt->slot_codepage[45] = CODEPAGE_CP1250;
	for (size_t i = 0; i < 256; i++)
		opt->star_slot_codepage[i] = ESCPOS_RENDER_SLOT_NONE;
	opt->star_slot_codepage[5] = CODEPAGE_CP852;
	opt->star_slot_codepage[33] = CODEPAGE_CP1250;
	opt->font = NULL;
}

int escpos_render_options_set_slot(struct escpos_render_options *opt, const char *spec)
{
	if (!opt || !spec)
		return -EINVAL;
	char *end;
	errno = 0;
	long slot = strtol(spec, &end, 10);
	if (errno || end == spec || *end != '=' || slot < 0 || slot > 255)
		return -EINVAL;
	enum codepage cp;
	if (codepage_from_name(end + 1, &cp) < 0)
		return -EINVAL;
	opt->slot_codepage[slot] = (int) cp;
	return 0;
}

static bool options_valid(const struct escpos_render_options *opt)
{
	if (opt->width_dots < ESCPOS_RENDER_WIDTH_MIN || opt->width_dots > ESCPOS_RENDER_WIDTH_MAX)
		return false;
	if (opt->max_height < 1 || opt->max_height > 1000000)
		return false;
	for (size_t i = 0; i < 256; i++) {
		int cp = opt->slot_codepage[i];
		if (cp != ESCPOS_RENDER_SLOT_NONE && (cp < 0 || cp >= CODEPAGE_MAX))
			return false;
		cp = opt->star_slot_codepage[i];
		if (cp != ESCPOS_RENDER_SLOT_NONE && (cp < 0 || cp >= CODEPAGE_MAX))
			return false;
	}
	return true;
}

/* ---- the page ---- */

struct image {
	int width, height;
	uint8_t *px;
};

struct escpos_page {
	int width, height;
	size_t rows_alloc;
	uint8_t *px; /* width * rows_alloc, white beyond height */
	struct buf text;
	struct buf warnings;
	size_t n_warnings;
	struct image *images;
	size_t n_images, images_alloc;
};

void escpos_page_free(struct escpos_page *page)
{
	if (!page)
		return;
	free(page->px);
	buf_free(&page->text);
	buf_free(&page->warnings);
	for (size_t i = 0; i < page->n_images; i++)
		free(page->images[i].px);
	free(page->images);
	free(page);
}

static const char *buf_text(const struct buf *b)
{
	/* escpos_render leaves both buffers NUL-terminated (see render_finish) */
	return b->data ? (const char *) b->data : "";
}

const char *escpos_page_text(const struct escpos_page *page)
{
	return buf_text(&page->text);
}

const char *escpos_page_warnings(const struct escpos_page *page)
{
	return buf_text(&page->warnings);
}

size_t escpos_page_warning_count(const struct escpos_page *page)
{
	return page->n_warnings;
}

const uint8_t *escpos_page_bitmap(const struct escpos_page *page, int *ret_width, int *ret_height)
{
	if (ret_width)
		*ret_width = page->width;
	if (ret_height)
		*ret_height = page->height;
	return page->px;
}

size_t escpos_page_image_count(const struct escpos_page *page)
{
	return page->n_images;
}

const uint8_t *escpos_page_image(const struct escpos_page *page, size_t index, int *ret_width,
				 int *ret_height)
{
	if (index >= page->n_images)
		return NULL;
	if (ret_width)
		*ret_width = page->images[index].width;
	if (ret_height)
		*ret_height = page->images[index].height;
	return page->images[index].px;
}

static int png_write_gray(const char *path, const uint8_t *px, int width, int height)
{
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = (png_uint_32) width;
	img.height = (png_uint_32) height;
	img.format = PNG_FORMAT_GRAY;
	if (!png_image_write_to_file(&img, path, 0, px, width, NULL)) {
		png_image_free(&img);
		return -EIO;
	}
	return 0;
}

int escpos_page_write_png(const struct escpos_page *page, const char *path)
{
	if (!page || !path)
		return -EINVAL;
	const int m = ESCPOS_RENDER_PNG_MARGIN;
	int w = page->width + 2 * m, h = page->height + 2 * m;
	uint8_t *px = malloc((size_t) w * (size_t) h);
	if (!px)
		return -ENOMEM;
	memset(px, 255, (size_t) w * (size_t) h);
	for (int y = 0; y < page->height; y++)
		memcpy(px + (size_t) (y + m) * (size_t) w + m,
		       page->px + (size_t) y * (size_t) page->width, (size_t) page->width);
	int r = png_write_gray(path, px, w, h);
	free(px);
	return r;
}

int escpos_page_write_image_png(const struct escpos_page *page, size_t index, const char *path)
{
	if (!page || !path || index >= page->n_images)
		return -EINVAL;
	const struct image *img = &page->images[index];
	return png_write_gray(path, img->px, img->width, img->height);
}

/* ---- the interpreter ---- */

struct cell {
	uint32_t cp;
	uint8_t wmul, hmul; /* 1..8 */
	uint8_t underline;  /* dots, 0..2 */
	bool bold;
};

struct state {
	const struct escpos_render_options *opt;
	struct escpos_page *page;
	struct escpos_render_error *err;
	const uint8_t *data;
	size_t len, pos;
	size_t cmd;   /* offset of the command being interpreted */
	int deferred; /* an error met while recording a warning */
	int columns;
	long y; /* top of the next line, in dots */

	/* print modes */
	bool bold, double_strike;
	int underline;
	int wmul, hmul;
	enum align align;
	int slot;
	int spacing;
	uint8_t tabs[TABS_MAX];
	int n_tabs;
	bool star_slot; /* the slot was chosen with ESC GS t */
	bool warned_slot, warned_font_b, warned_user_chars;

	/* the line not yet printed */
	struct cell *cells;
	size_t n_cells, cells_alloc;
	int line_dots;
	enum align line_align;

	/* native QR: the stored symbol data points into the input */
	const uint8_t *qr;
	size_t qr_len;
	int qr_module;
	QRecLevel qr_level;
};

static int fail(struct state *st, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct state *st, int r, const char *fmt, ...)
{
	if (st->err) {
		va_list ap;
		va_start(ap, fmt);
		st->err->offset = st->cmd;
		vsnprintf(st->err->message, sizeof(st->err->message), fmt, ap);
		va_end(ap);
	}
	return r;
}

static void warn(struct state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct state *st, const char *fmt, ...)
{
	struct escpos_page *p = st->page;
	if (++p->n_warnings > WARNINGS_SHOWN)
		return;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int r = buf_printf(&p->warnings, "offset %zu: %s\n", st->cmd, msg);
	if (r < 0 && !st->deferred)
		st->deferred = r;
}

/* Consume n bytes of the current command; a command cut short by the end of input is an error. */
static int take(struct state *st, size_t n, const char *what, const uint8_t **ret_p)
{
	size_t left = st->len - st->pos;
	if (n > left)
		return fail(st, -EBADMSG, "truncated %s: needs %zu bytes, only %zu left", what, n,
			    left);
	*ret_p = st->data + st->pos;
	st->pos += n;
	return 0;
}

static int text_failed(struct state *st, int r)
{
	if (r == -E2BIG)
		return fail(st, r, "text output larger than %zu bytes", TEXT_MAX);
	return fail(st, r, "out of memory for the text output");
}

static int text_printf(struct state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int text_printf(struct state *st, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	int r = buf_append_str(&st->page->text, line);
	return r < 0 ? text_failed(st, r) : 0;
}

static int text_blank_lines(struct state *st, long n)
{
	for (long i = 0; i < n; i++) {
		int r = buf_append_byte(&st->page->text, '\n');
		if (r < 0)
			return text_failed(st, r);
	}
	return 0;
}

static int utf8_append(struct buf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t) cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t) (0xc0 | cp >> 6);
		u[1] = (uint8_t) (0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t) (0xe0 | cp >> 12);
		u[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t) (0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t) (0xf0 | cp >> 18);
		u[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t) (0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, u, n);
}

/* A payload as text: printable ASCII as is, everything else (and '\') as \xNN. */
static int text_payload(struct state *st, const char *prefix, const uint8_t *d, size_t n)
{
	struct buf *t = &st->page->text;
	int r = buf_append_str(t, prefix);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '\\')
			r = buf_append_byte(t, d[i]);
		else
			r = buf_printf(t, "\\x%02x", d[i]);
	}
	if (r == 0)
		r = buf_append_str(t, "]\n");
	return r < 0 ? text_failed(st, r) : 0;
}

/* Make rows up to y_end exist (white), within the page height cap. */
static int page_grow(struct state *st, long y_end)
{
	struct escpos_page *p = st->page;
	if (y_end > st->opt->max_height)
		return fail(st, -EFBIG, "page taller than the cap of %d dots", st->opt->max_height);
	if ((size_t) y_end > p->rows_alloc) {
		size_t n = p->rows_alloc ? p->rows_alloc : 256;
		while (n < (size_t) y_end)
			n *= 2;
		if (n > (size_t) st->opt->max_height)
			n = (size_t) st->opt->max_height;
		size_t w = (size_t) p->width;
		uint8_t *px = realloc(p->px, n * w);
		if (!px)
			return fail(st, -ENOMEM, "out of memory for a page of %zu dots", n);
		memset(px + p->rows_alloc * w, 255, (n - p->rows_alloc) * w);
		p->px = px;
		p->rows_alloc = n;
	}
	if (y_end > p->height)
		p->height = (int) y_end;
	return 0;
}

static int align_x(int width, int used, enum align a)
{
	if (used >= width)
		return 0;
	switch (a) {
	case ALIGN_CENTER:
		return (width - used) / 2;
	case ALIGN_RIGHT:
		return width - used;
	case ALIGN_LEFT:
	case ALIGN_MAX:
		break;
	}
	return 0;
}

static void draw_cells(struct state *st, int hmax)
{
	struct escpos_page *p = st->page;
	size_t w = (size_t) p->width;
	int x = align_x(p->width, st->line_dots, st->line_align);
	for (size_t i = 0; i < st->n_cells; i++) {
		const struct cell *c = &st->cells[i];
		int cw = ESCPOS_RENDER_CELL_W * c->wmul, ch = ESCPOS_RENDER_CELL_H * c->hmul;
		long top = st->y + hmax - ch;
		assert(x + cw <= p->width && top >= 0 && top + ch <= p->height);
		if (st->opt->font && c->cp != ' ') {
			const struct glyph *g = font_glyph(st->opt->font, c->bold, c->cp);
			for (int gy = g->top; gy < g->bottom; gy++) {
				for (int gx = 0; gx < ESCPOS_RENDER_CELL_W; gx++) {
					uint8_t v = (uint8_t) (255 - g->ink[gy][gx]);
					if (v == 255)
						continue;
					for (int sy = 0; sy < c->hmul; sy++) {
						uint8_t *row =
						    p->px +
						    (size_t) (top + (long) gy * c->hmul + sy) * w;
						for (int sx = 0; sx < c->wmul; sx++) {
							uint8_t *d =
							    row + x + (size_t) gx * c->wmul + sx;
							if (v < *d)
								*d = v;
						}
					}
				}
			}
		}
		for (int u = 0; u < c->underline; u++)
			memset(p->px + (size_t) (top + ch - 1 - u) * w + x, 0, (size_t) cw);
		x += cw;
	}
}

/*
 * Print the pending line (or an empty one) and feed: the paper moves by feed dots, but never
 * less than the tallest character of the line.
 */
static int print_line(struct state *st, int feed)
{
	int hmax = 0;
	for (size_t i = 0; i < st->n_cells; i++) {
		if (ESCPOS_RENDER_CELL_H * st->cells[i].hmul > hmax)
			hmax = ESCPOS_RENDER_CELL_H * st->cells[i].hmul;
	}
	int r = page_grow(st, st->y + (feed > hmax ? feed : hmax));
	if (r < 0)
		return r;

	struct buf *t = &st->page->text;
	size_t start = t->len;
	if (st->n_cells) {
		int used = st->line_dots / ESCPOS_RENDER_CELL_W;
		int pad = align_x(st->columns, used, st->line_align);
		for (int i = 0; r == 0 && i < pad; i++)
			r = buf_append_byte(t, ' ');
		for (size_t i = 0; r == 0 && i < st->n_cells; i++)
			r = utf8_append(t, st->cells[i].cp);
		draw_cells(st, hmax);
	}
	while (t->len > start && t->data[t->len - 1] == ' ')
		t->len--;
	if (r == 0)
		r = buf_append_byte(t, '\n');
	if (r < 0)
		return text_failed(st, r);

	st->y += feed > hmax ? feed : hmax;
	st->n_cells = 0;
	st->line_dots = 0;
	return 0;
}

/* Commands that print a block (images, symbols, cuts) start on a fresh line. */
static int flush_before(struct state *st, const char *what)
{
	if (st->n_cells == 0)
		return 0;
	warn(st, "%s with %zu characters pending in the line; printed them first", what,
	     st->n_cells);
	return print_line(st, st->spacing);
}

static int put_cell(struct state *st, uint32_t cp, int underline)
{
	int cw = ESCPOS_RENDER_CELL_W * st->wmul;
	if (st->n_cells > 0 && st->line_dots + cw > st->page->width) {
		int r = print_line(st, st->spacing);
		if (r < 0)
			return r;
	}
	if (st->n_cells == 0)
		st->line_align = st->align;
	assert(st->n_cells < st->cells_alloc);
	st->cells[st->n_cells++] = (struct cell){
	    .cp = cp,
	    .wmul = (uint8_t) st->wmul,
	    .hmul = (uint8_t) st->hmul,
	    .underline = (uint8_t) underline,
	    .bold = st->bold || st->double_strike,
	};
	st->line_dots += cw;
	return 0;
}

static uint32_t decode(struct state *st, uint8_t b)
{
	if (b < 0x80)
		return b == 0x7f ? REPLACEMENT : b;
	int cp = st->star_slot ? st->opt->star_slot_codepage[st->slot]
			       : st->opt->slot_codepage[st->slot];
	if (cp == ESCPOS_RENDER_SLOT_NONE) {
		if (!st->warned_slot)
			warn(st,
			     "byte 0x%02x in code page slot%s %d, which has no table; shown as "
			     "U+FFFD",
			     b, st->star_slot ? " (ESC GS t)" : "", st->slot);
		st->warned_slot = true;
		return REPLACEMENT;
	}
	uint32_t u = codepage_decode((enum codepage) cp, b);
	if (u < 0x20 || (u >= 0x7f && u < 0xa0) || (u >= 0xd800 && u < 0xe000) || u > 0x10ffff)
		return REPLACEMENT;
	return u;
}

static void reset_tabs(struct state *st)
{
	st->n_tabs = TABS_MAX;
	for (int i = 0; i < TABS_MAX; i++)
		st->tabs[i] = (uint8_t) (8 * (i + 1) > 255 ? 255 : 8 * (i + 1));
}

static void reset_modes(struct state *st)
{
	st->bold = st->double_strike = false;
	st->underline = 0;
	st->wmul = st->hmul = 1;
	st->align = ALIGN_LEFT;
	st->slot = 0;
	st->star_slot = false;
	st->spacing = ESCPOS_RENDER_LINE_SPACING;
	st->warned_slot = false;
	reset_tabs(st);
	st->qr = NULL;
	st->qr_len = 0;
	st->qr_module = QR_MODULE_DEFAULT;
	st->qr_level = QR_ECLEVEL_L;
}

static int tab(struct state *st)
{
	int cw = ESCPOS_RENDER_CELL_W * st->wmul;
	for (int i = 0; i < st->n_tabs; i++) {
		int stop = st->tabs[i] * cw;
		if (stop <= st->line_dots)
			continue;
		if (stop > st->page->width)
			break;
		while (st->line_dots + cw <= stop) {
			int r = put_cell(st, ' ', 0);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return 0; /* no stop ahead within the line: ignored, as on a printer */
}

static int underline_dots(uint8_t n)
{
	switch (n) {
	case 1:
	case '1':
		return 1;
	case 2:
	case '2':
		return 2;
	default:
		return 0;
	}
}

static int set_align(struct state *st, uint8_t n)
{
	switch (n) {
	case 0:
	case '0':
		st->align = ALIGN_LEFT;
		break;
	case 1:
	case '1':
		st->align = ALIGN_CENTER;
		break;
	case 2:
	case '2':
		st->align = ALIGN_RIGHT;
		break;
	default:
		warn(st, "ESC a %u: no such alignment; ignored", n);
		break;
	}
	return 0;
}

static void font_b(struct state *st)
{
	if (!st->warned_font_b)
		warn(st, "font B is not supported; drawn as font A");
	st->warned_font_b = true;
}

static int feed_dots(struct state *st, int n)
{
	long lines = n / ESCPOS_RENDER_LINE_SPACING;
	if (st->n_cells) {
		int r = print_line(st, n);
		if (r < 0)
			return r;
		return text_blank_lines(st, lines - 1);
	}
	int r = page_grow(st, st->y + n);
	if (r < 0)
		return r;
	st->y += n;
	return text_blank_lines(st, lines);
}

/* Blit a packed 1-bit raster (MSB first, 1 = black) scaled by sx, sy at the current line. */
static int raster(struct state *st, const uint8_t *d, int xbytes, int rows, int sx, int sy)
{
	struct escpos_page *p = st->page;
	int r = flush_before(st, "GS v 0");
	if (r < 0)
		return r;
	long pw = (long) xbytes * 8 * sx, ph = (long) rows * sy;
	r = page_grow(st, st->y + ph);
	if (r < 0)
		return r;
	if (pw > p->width)
		warn(st, "raster image %ld dots wide on a %d dot head; clipped", pw, p->width);
	r = text_printf(st, "[image %ldx%ld]\n", pw, ph);
	if (r < 0)
		return r;

	if (p->n_images == p->images_alloc) {
		size_t n = p->images_alloc ? p->images_alloc * 2 : 8;
		struct image *im = realloc(p->images, n * sizeof(*im));
		if (!im)
			return fail(st, -ENOMEM, "out of memory for images");
		p->images = im;
		p->images_alloc = n;
	}
	size_t iw = (size_t) xbytes * 8;
	uint8_t *copy = malloc(iw * (size_t) rows);
	if (!copy)
		return fail(st, -ENOMEM, "out of memory for an image of %zux%d", iw, rows);
	memset(copy, 255, iw * (size_t) rows);

	int x0 = align_x(p->width, (int) (pw < p->width ? pw : p->width), st->align);
	for (int y = 0; y < rows; y++) {
		for (int xb = 0; xb < xbytes; xb++) {
			uint8_t byte = d[(size_t) y * (size_t) xbytes + (size_t) xb];
			for (int bit = 0; byte && bit < 8; bit++) {
				if (!(byte & (0x80 >> bit)))
					continue;
				int x = xb * 8 + bit;
				copy[(size_t) y * iw + (size_t) x] = 0;
				for (int dy = 0; dy < sy; dy++) {
					uint8_t *row =
					    p->px + (size_t) (st->y + (long) y * sy + dy) *
							(size_t) p->width;
					for (int dx = 0; dx < sx; dx++) {
						long px = x0 + (long) x * sx + dx;
						if (px < p->width)
							row[px] = 0;
					}
				}
			}
		}
	}
	p->images[p->n_images++] = (struct image){.width = (int) iw, .height = rows, .px = copy};
	st->y += ph;
	return 0;
}

static int cut(struct state *st, int feed)
{
	int r = flush_before(st, "GS V");
	if (r < 0)
		return r;
	long y = st->y + feed + CUT_GAP;
	r = page_grow(st, y + 2 + CUT_GAP);
	if (r < 0)
		return r;
	struct escpos_page *p = st->page;
	for (int x = 0; x < p->width; x++) {
		if ((x / CUT_DASH) % 2)
			continue;
		p->px[(size_t) y * (size_t) p->width + (size_t) x] = CUT_INK;
		p->px[(size_t) (y + 1) * (size_t) p->width + (size_t) x] = CUT_INK;
	}
	st->y = y + 2 + CUT_GAP;
	return text_printf(st, "[cut]\n");
}

static int print_native_qr(struct state *st)
{
	int r = flush_before(st, "QR print");
	if (r < 0)
		return r;
	if (!st->qr_len) {
		warn(st, "QR print with no symbol data stored; nothing printed");
		return 0;
	}
	r = text_payload(st, "[native QR: ", st->qr, st->qr_len);
	if (r < 0)
		return r;
	if (st->qr_len > INT_MAX)
		return 0;
	/*
	 * Printers choose their own segments; drawn as app/qr encodes (numeric, alphanumeric and
	 * 8-bit segments, case kept), or all 8-bit when the data holds a NUL, so the symbol version
	 * may differ from the printer's while the content is the same.
	 */
	QRcode *q = NULL;
	if (!memchr(st->qr, 0, st->qr_len)) {
		char *s = malloc(st->qr_len + 1);
		if (!s)
			return fail(st, -ENOMEM, "out of memory for a QR symbol");
		memcpy(s, st->qr, st->qr_len);
		s[st->qr_len] = '\0';
		q = QRcode_encodeString(s, 0, st->qr_level, QR_MODE_8, 1);
		free(s);
	} else {
		q = QRcode_encodeData((int) st->qr_len, st->qr, 0, st->qr_level);
	}
	if (!q) {
		warn(st, "native QR of %zu bytes cannot be encoded; not drawn", st->qr_len);
		return 0;
	}
	struct escpos_page *p = st->page;
	long size = (long) q->width * st->qr_module;
	r = page_grow(st, st->y + size);
	if (r == 0) {
		if (size > p->width)
			warn(st, "native QR %ld dots wide on a %d dot head; clipped", size,
			     p->width);
		int x0 = align_x(p->width, (int) (size < p->width ? size : p->width), st->align);
		for (long y = 0; y < size; y++) {
			uint8_t *row = p->px + (size_t) (st->y + y) * (size_t) p->width;
			const unsigned char *mod = q->data + (y / st->qr_module) * q->width;
			for (long x = 0; x < size && x0 + x < p->width; x++) {
				if (mod[x / st->qr_module] & 1)
					row[x0 + x] = 0;
			}
		}
		st->y += size;
	}
	QRcode_free(q);
	return r;
}

/* GS ( k: 2D symbols. Only QR (cn 49) is understood; p holds n bytes from cn on. */
static int symbol(struct state *st, const uint8_t *p, size_t n)
{
	if (n < 2) {
		warn(st, "GS ( k with %zu parameter bytes; ignored", n);
		return 0;
	}
	uint8_t cn = p[0], fn = p[1];
	if (cn != 49) {
		if (fn == 81)
			warn(st, "GS ( k: 2D symbol type %u is not rendered", cn);
		return 0;
	}
	switch (fn) {
	case 67: /* module size */
		if (n >= 3 && p[2] >= 1 && p[2] <= 16)
			st->qr_module = p[2];
		else
			warn(st, "GS ( k: bad QR module size; ignored");
		return 0;
	case 69: /* error correction */
		if (n >= 3 && p[2] >= 48 && p[2] <= 51) {
			static const QRecLevel levels[] = {QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q,
							   QR_ECLEVEL_H};
			st->qr_level = levels[p[2] - 48];
		} else {
			warn(st, "GS ( k: bad QR error correction level; ignored");
		}
		return 0;
	case 80: /* store data */
		if (n < 3) {
			warn(st, "GS ( k: QR store without data; ignored");
			return 0;
		}
		st->qr = p + 3;
		st->qr_len = n - 3;
		return 0;
	case 81:
		return print_native_qr(st);
	default: /* model, size query and the like: nothing to draw */
		return 0;
	}
}

static int barcode(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 1, "GS k", &p);
	if (r < 0)
		return r;
	uint8_t m = p[0];
	const uint8_t *d;
	size_t n;
	if (m <= 6) {
		const uint8_t *nul = memchr(st->data + st->pos, 0, st->len - st->pos);
		if (!nul)
			return fail(st, -EBADMSG, "truncated GS k: barcode data without its NUL");
		n = (size_t) (nul - (st->data + st->pos));
		r = take(st, n + 1, "GS k", &d);
	} else if (m >= 65 && m <= 73) {
		r = take(st, 1, "GS k", &p);
		if (r < 0)
			return r;
		n = p[0];
		r = take(st, n, "GS k data", &d);
	} else {
		warn(st, "GS k: unknown barcode system %u; skipped GS k %u", m, m);
		return 0;
	}
	if (r < 0)
		return r;
	r = flush_before(st, "GS k");
	if (r < 0)
		return r;
	warn(st, "barcode is not drawn in the bitmap");
	return text_payload(st, "[barcode: ", d, n);
}

/* Skip n parameter bytes of a command understood well enough to ignore. */
static int skip(struct state *st, size_t n, const char *what)
{
	const uint8_t *p;
	return take(st, n, what, &p);
}

/*
 * Commands ignored by their lengths: the number of parameter bytes after the command byte, and
 * whether ignoring them changes what is printed (then a warning says so).
 */
struct cmd_len {
	bool known;
	uint8_t params;
	bool visible;
};

/* clang-format off */
#define SKIP(n)   {.known = true, .params = (n)}
#define IGNORE(n) {.known = true, .params = (n), .visible = true}
/* clang-format on */

static const struct cmd_len esc_lens[128] = {
    [' '] = IGNORE(1), ['$'] = IGNORE(2), ['%'] = SKIP(1),   ['<'] = SKIP(0),	 ['='] = SKIP(1),
    ['?'] = SKIP(1),   ['L'] = IGNORE(0), ['R'] = SKIP(1),   ['S'] = SKIP(0),	 ['T'] = IGNORE(1),
    ['U'] = SKIP(1),   ['V'] = IGNORE(1), ['W'] = IGNORE(8), ['\\'] = IGNORE(2), ['c'] = SKIP(2),
    ['e'] = IGNORE(1), ['f'] = SKIP(2),	  ['p'] = SKIP(3),   ['r'] = SKIP(1),	 ['u'] = SKIP(1),
    ['v'] = SKIP(0),   ['{'] = IGNORE(1),
};

static const struct cmd_len gs_lens[128] = {
    ['$'] = IGNORE(2), ['/'] = IGNORE(1), [':'] = SKIP(0),    ['B'] = IGNORE(1), ['E'] = SKIP(1),
    ['H'] = SKIP(1),   ['I'] = SKIP(1),	  ['L'] = IGNORE(2),  ['P'] = SKIP(2),	 ['T'] = SKIP(1),
    ['W'] = IGNORE(2), ['Z'] = SKIP(1),	  ['\\'] = IGNORE(2), ['^'] = IGNORE(3), ['a'] = SKIP(1),
    ['b'] = SKIP(1),   ['c'] = SKIP(0),	  ['f'] = SKIP(1),    ['g'] = SKIP(4),	 ['h'] = SKIP(1),
    ['j'] = SKIP(1),   ['r'] = SKIP(1),	  ['w'] = SKIP(1),    ['z'] = SKIP(3),
};

static const struct cmd_len fs_lens[128] = {
    ['!'] = SKIP(1), ['&'] = SKIP(0), ['-'] = SKIP(1), ['.'] = SKIP(0),
    ['C'] = SKIP(1), ['S'] = SKIP(2), ['W'] = SKIP(1), ['p'] = IGNORE(2),
};

static const char *cmd_name(char *s, size_t n, uint8_t prefix, uint8_t c)
{
	const char *p = prefix == ESC ? "ESC" : prefix == GS ? "GS" : prefix == FS ? "FS" : "DLE";
	if (c > 0x20 && c < 0x7f)
		snprintf(s, n, "%s %c", p, c);
	else
		snprintf(s, n, "%s 0x%02x", p, c);
	return s;
}

static int skip_known(struct state *st, const struct cmd_len *table, uint8_t prefix, uint8_t c)
{
	char name[16];
	cmd_name(name, sizeof(name), prefix, c);
	if (c < 128 && table[c].known) {
		if (table[c].visible)
			warn(st, "%s is not rendered; ignored", name);
		return skip(st, table[c].params, name);
	}
	warn(st, "unknown command %s; skipped 2 bytes", name);
	return 0;
}

/* ESC/GS/FS ( X pL pH data: a length-prefixed command. */
static int skip_paren(struct state *st, uint8_t prefix, const uint8_t **ret_data, size_t *ret_len,
		      uint8_t *ret_fn)
{
	char name[16];
	const uint8_t *p;
	cmd_name(name, sizeof(name), prefix, '(');
	int r = take(st, 3, name, &p);
	if (r < 0)
		return r;
	size_t n = p[1] | (size_t) p[2] << 8;
	const uint8_t *d;
	r = take(st, n, name, &d);
	if (r < 0)
		return r;
	*ret_fn = p[0];
	*ret_data = d;
	*ret_len = n;
	return 0;
}

static int esc_bit_image(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 3, "ESC *", &p);
	if (r < 0)
		return r;
	size_t n = p[1] | (size_t) p[2] << 8;
	if (p[0] == 32 || p[0] == 33)
		n *= 3;
	else if (p[0] != 0 && p[0] != 1) {
		warn(st, "ESC * mode %u: length unknown; skipped 5 bytes", p[0]);
		return 0;
	}
	warn(st, "ESC * bit image is not rendered");
	return skip(st, n, "ESC * data");
}

static int esc_user_chars(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 3, "ESC &", &p);
	if (r < 0)
		return r;
	uint8_t y = p[0], c1 = p[1], c2 = p[2];
	if (y < 1 || y > 3 || c1 < 32 || c2 > 126 || c1 > c2) {
		warn(st, "ESC & with a bad header; skipped 5 bytes");
		return 0;
	}
	if (!st->warned_user_chars)
		warn(st, "user-defined characters are not rendered");
	st->warned_user_chars = true;
	for (int c = c1; c <= c2; c++) {
		r = take(st, 1, "ESC &", &p);
		if (r == 0)
			r = skip(st, (size_t) y * p[0], "ESC &");
		if (r < 0)
			return r;
	}
	return 0;
}

static int esc_tabs(struct state *st)
{
	size_t left = st->len - st->pos;
	const uint8_t *d = st->data + st->pos;
	size_t n = 0;
	while (n < left && n <= TABS_MAX && d[n] != 0)
		n++;
	if (n <= TABS_MAX && n == left)
		return fail(st, -EBADMSG, "truncated ESC D: tab stops without their NUL");
	if (n > TABS_MAX) {
		warn(st, "ESC D with more than %d tab stops; took %d", TABS_MAX, TABS_MAX);
		n = TABS_MAX;
		st->pos += n;
	} else {
		st->pos += n + 1;
	}
	st->n_tabs = 0;
	for (size_t i = 0; i < n; i++) {
		if (st->n_tabs && d[i] <= st->tabs[st->n_tabs - 1])
			break; /* stops must ascend; the rest are ignored */
		st->tabs[st->n_tabs++] = d[i];
	}
	return 0;
}

static int esc(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 2, "ESC", &p);
	if (r < 0)
		return r;
	uint8_t c = p[1];
	switch (c) {
	case '@':
		if (st->n_cells)
			warn(st, "ESC @ discarded %zu characters not yet printed", st->n_cells);
		st->n_cells = 0;
		st->line_dots = 0;
		reset_modes(st);
		return 0;
	case 't':
		r = take(st, 1, "ESC t", &p);
		if (r == 0 && (st->slot != p[0] || st->star_slot)) {
			st->slot = p[0];
			st->star_slot = false;
			st->warned_slot = false;
		}
		return r;
	case GS: /* ESC GS t n: Star's code page command; other ESC GS commands are Star-only */
		r = take(st, 1, "ESC GS", &p);
		if (r < 0)
			return r;
		if (p[0] != 't') {
			warn(st, "unknown command ESC GS 0x%02x; skipped 3 bytes", p[0]);
			return 0;
		}
		r = take(st, 1, "ESC GS t", &p);
		if (r == 0 && (st->slot != p[0] || !st->star_slot)) {
			st->slot = p[0];
			st->star_slot = true;
			st->warned_slot = false;
		}
		return r;
	case 'a':
		r = take(st, 1, "ESC a", &p);
		return r < 0 ? r : set_align(st, p[0]);
	case 'E':
		r = take(st, 1, "ESC E", &p);
		if (r == 0)
			st->bold = p[0] & 1;
		return r;
	case 'G':
		r = take(st, 1, "ESC G", &p);
		if (r == 0)
			st->double_strike = p[0] & 1;
		return r;
	case '!':
		r = take(st, 1, "ESC !", &p);
		if (r < 0)
			return r;
		if (p[0] & 0x01)
			font_b(st);
		st->bold = p[0] & 0x08;
		st->hmul = p[0] & 0x10 ? 2 : 1;
		st->wmul = p[0] & 0x20 ? 2 : 1;
		st->underline = p[0] & 0x80 ? 1 : 0;
		return 0;
	case '-':
		r = take(st, 1, "ESC -", &p);
		if (r == 0)
			st->underline = underline_dots(p[0]);
		return r;
	case 'M':
		r = take(st, 1, "ESC M", &p);
		if (r == 0 && p[0] != 0 && p[0] != '0')
			font_b(st);
		return r;
	case 'd':
		r = take(st, 1, "ESC d", &p);
		if (r < 0)
			return r;
		if (p[0] == 0)
			return st->n_cells ? print_line(st, 0) : 0;
		for (int i = 0; r == 0 && i < p[0]; i++)
			r = print_line(st, st->spacing);
		return r;
	case 'J':
		r = take(st, 1, "ESC J", &p);
		return r < 0 ? r : feed_dots(st, p[0]);
	case '2':
		st->spacing = ESCPOS_RENDER_LINE_SPACING;
		return 0;
	case '3':
		r = take(st, 1, "ESC 3", &p);
		if (r == 0)
			st->spacing = p[0];
		return r;
	case 'D':
		return esc_tabs(st);
	case 'i':
	case 'm':
		return cut(st, 0);
	case '*':
		return esc_bit_image(st);
	case '&':
		return esc_user_chars(st);
	case '(': {
		const uint8_t *d;
		size_t n;
		uint8_t fn;
		return skip_paren(st, ESC, &d, &n, &fn);
	}
	default:
		return skip_known(st, esc_lens, ESC, c);
	}
}

static int gs_raster(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 1, "GS v", &p);
	if (r < 0)
		return r;
	if (p[0] != '0') {
		warn(st, "unknown command GS v 0x%02x; skipped 3 bytes", p[0]);
		return 0;
	}
	r = take(st, 5, "GS v 0", &p);
	if (r < 0)
		return r;
	uint8_t m = p[0];
	if (m >= '0' && m <= '3')
		m -= '0';
	if (m > 3) {
		warn(st, "GS v 0 mode %u; drawn unscaled", p[0]);
		m = 0;
	}
	int xbytes = p[1] | p[2] << 8, rows = p[3] | p[4] << 8;
	const uint8_t *d;
	r = take(st, (size_t) xbytes * (size_t) rows, "GS v 0 raster data", &d);
	if (r < 0)
		return r;
	if (xbytes == 0 || rows == 0) {
		warn(st, "GS v 0 of %dx%d bytes: empty image; ignored", xbytes, rows);
		return 0;
	}
	return raster(st, d, xbytes, rows, m & 1 ? 2 : 1, m & 2 ? 2 : 1);
}

static int gs_cut(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 1, "GS V", &p);
	if (r < 0)
		return r;
	switch (p[0]) {
	case 0:
	case 1:
	case '0':
	case '1':
		return cut(st, 0);
	case 65:
	case 66:
	case 97:
	case 98:
	case 103:
	case 104:
		r = take(st, 1, "GS V", &p);
		return r < 0 ? r : cut(st, p[0]);
	default:
		warn(st, "GS V mode %u: unknown; cut without feed", p[0]);
		return cut(st, 0);
	}
}

static int gs(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 2, "GS", &p);
	if (r < 0)
		return r;
	uint8_t c = p[1];
	switch (c) {
	case '!':
		r = take(st, 1, "GS !", &p);
		if (r < 0)
			return r;
		if (p[0] & 0x88)
			warn(st, "GS ! 0x%02x: multiplier above 8; masked", p[0]);
		st->wmul = ((p[0] >> 4) & 7) + 1;
		st->hmul = (p[0] & 7) + 1;
		return 0;
	case 'v':
		return gs_raster(st);
	case 'V':
		return gs_cut(st);
	case 'k':
		return barcode(st);
	case '(': {
		const uint8_t *d;
		size_t n;
		uint8_t fn;
		r = skip_paren(st, GS, &d, &n, &fn);
		if (r == 0 && fn == 'k')
			r = symbol(st, d, n);
		return r;
	}
	case '*':
		r = take(st, 2, "GS *", &p);
		if (r < 0)
			return r;
		return skip(st, (size_t) p[0] * p[1] * 8, "GS * data");
	case '8':
		r = take(st, 1, "GS 8", &p);
		if (r < 0)
			return r;
		if (p[0] != 'L' && p[0] != 'A') {
			warn(st, "unknown command GS 8 0x%02x; skipped 3 bytes", p[0]);
			return 0;
		}
		r = take(st, 4, "GS 8", &p);
		if (r < 0)
			return r;
		return skip(st,
			    p[0] | (size_t) p[1] << 8 | (size_t) p[2] << 16 | (size_t) p[3] << 24,
			    "GS 8 data");
	default:
		return skip_known(st, gs_lens, GS, c);
	}
}

static int fs(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 2, "FS", &p);
	if (r < 0)
		return r;
	if (p[1] == '(') {
		const uint8_t *d;
		size_t n;
		uint8_t fn;
		return skip_paren(st, FS, &d, &n, &fn);
	}
	return skip_known(st, fs_lens, FS, p[1]);
}

static int dle(struct state *st)
{
	const uint8_t *p;
	int r = take(st, 2, "DLE", &p);
	if (r < 0)
		return r;
	switch (p[1]) {
	case 0x04: /* EOT n: status */
	case 0x05: /* ENQ n */
		return skip(st, 1, "DLE");
	case 0x14: /* DC4 fn ... */
		r = take(st, 1, "DLE DC4", &p);
		if (r < 0)
			return r;
		if (p[0] == 1 || p[0] == 2)
			return skip(st, 2, "DLE DC4");
		if (p[0] == 8)
			return skip(st, 7, "DLE DC4");
		warn(st, "unknown command DLE DC4 %u; skipped 3 bytes", p[0]);
		return 0;
	default:
		warn(st, "control byte DLE not followed by a known command; skipped it");
		st->pos--;
		return 0;
	}
}

static int step(struct state *st)
{
	uint8_t b = st->data[st->pos];
	switch (b) {
	case LF:
		st->pos++;
		return print_line(st, st->spacing);
	case CR: /* ignored, as with auto line feed off */
		st->pos++;
		return 0;
	case HT:
		st->pos++;
		return tab(st);
	case ESC:
		return esc(st);
	case GS:
		return gs(st);
	case FS:
		return fs(st);
	case DLE:
		return dle(st);
	default:
		st->pos++;
		if (b < 0x20) {
			warn(st, "control byte 0x%02x ignored", b);
			return 0;
		}
		return put_cell(st, decode(st, b), st->underline);
	}
}

static int run(struct state *st)
{
	while (st->pos < st->len) {
		st->cmd = st->pos;
		int r = step(st);
		if (r < 0)
			return r;
		if (st->deferred)
			return fail(st, st->deferred, "out of memory for warnings");
	}
	st->cmd = st->len;
	if (st->n_cells) {
		warn(st, "%zu characters at the end were never followed by LF; shown anyway",
		     st->n_cells);
		int r = print_line(st, st->spacing);
		if (r < 0)
			return r;
	}
	struct escpos_page *p = st->page;
	int r = 0;
	if (p->n_warnings > WARNINGS_SHOWN)
		r = buf_printf(&p->warnings, "(%zu more warnings not shown)\n",
			       p->n_warnings - WARNINGS_SHOWN);
	/* leave both as C strings for the accessors */
	if (r < 0 || buf_append_byte(&p->text, 0) < 0 || buf_append_byte(&p->warnings, 0) < 0)
		return fail(st, -ENOMEM, "out of memory for the text output");
	p->text.len--;
	p->warnings.len--;
	return 0;
}

int escpos_render(const uint8_t *data, size_t len, const struct escpos_render_options *opt,
		  struct escpos_page **ret_page, struct escpos_render_error *err)
{
	struct escpos_render_options defaults;
	struct state st = {.err = err, .data = data, .len = len};
	if (!opt) {
		escpos_render_options_init(&defaults);
		opt = &defaults;
	}
	st.opt = opt;
	if (!ret_page || (!data && len) || !options_valid(opt))
		return fail(&st, -EINVAL, "invalid arguments");
	if (len > opt->max_input) {
		st.cmd = opt->max_input;
		return fail(&st, -E2BIG, "input of %zu bytes is larger than the cap of %zu", len,
			    opt->max_input);
	}

	struct escpos_page *page = calloc(1, sizeof(*page));
	if (!page)
		return fail(&st, -ENOMEM, "out of memory");
	page->width = opt->width_dots;
	buf_init(&page->text, TEXT_MAX);
	buf_init(&page->warnings, WARNINGS_MAX);
	st.page = page;
	st.columns = opt->width_dots / ESCPOS_RENDER_CELL_W;
	st.cells_alloc = (size_t) st.columns + 1;
	st.cells = calloc(st.cells_alloc, sizeof(*st.cells));
	if (!st.cells) {
		escpos_page_free(page);
		return fail(&st, -ENOMEM, "out of memory");
	}
	reset_modes(&st);

	int r = run(&st);
	free(st.cells);
	if (r < 0) {
		escpos_page_free(page);
		return r;
	}
	*ret_page = page;
	return 0;
}
