/*
 * psf: PSF1/PSF2 console fonts read through zlib (which reads plain files as they are) into a
 * glyph array and a code point map sorted for binary search. Formats as documented by the Linux
 * kernel (Documentation/admin-guide/unicode.rst and the kbd project's psf.h).
 */
#include "psf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PSF1_MAGIC0	 0x36
#define PSF1_MAGIC1	 0x04
#define PSF1_MODE512	 0x01
#define PSF1_MODEHASTAB	 0x02
#define PSF1_MODEHASSEQ	 0x04
#define PSF1_SEPARATOR	 0xFFFF
#define PSF1_STARTSEQ	 0xFFFE
#define PSF2_MAGIC	 0x864ab572u
#define PSF2_HAS_UNICODE 0x01
#define PSF2_SEPARATOR	 0xFF
#define PSF2_STARTSEQ	 0xFE

struct map_entry {
	uint32_t cp;
	uint32_t glyph;
};

struct psf {
	int width, height;
	size_t row_bytes, charsize;
	size_t glyphs;
	uint8_t *bitmaps; /* glyphs * charsize */
	struct map_entry *map;
	size_t n_map; /* 0: glyph i is code point i */
};

static int read_all(const char *path, uint8_t **ret_data, size_t *ret_len)
{
	gzFile gz = gzopen(path, "rb");
	if (!gz)
		return errno == ENOENT ? -ENOENT : -EIO;
	size_t cap = 64 * 1024, len = 0;
	uint8_t *data = malloc(cap);
	int r = data ? 0 : -ENOMEM;
	while (r == 0) {
		if (len == cap) {
			if (cap > PSF_FILE_MAX) {
				r = -ENOTSUP; /* no console font is this large */
				break;
			}
			cap *= 2;
			uint8_t *p = realloc(data, cap);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			data = p;
		}
		int n = gzread(gz, data + len, (unsigned) (cap - len));
		if (n < 0)
			r = -EIO;
		else if (n == 0)
			break;
		else
			len += (size_t) n;
	}
	gzclose(gz);
	if (r < 0) {
		free(data);
		return r;
	}
	*ret_data = data;
	*ret_len = len;
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static int add_map(struct psf *f, size_t *alloc, uint32_t cp, size_t glyph)
{
	if (f->n_map == *alloc) {
		size_t n = *alloc ? *alloc * 2 : 1024;
		struct map_entry *m = realloc(f->map, n * sizeof(*m));
		if (!m)
			return -ENOMEM;
		f->map = m;
		*alloc = n;
	}
	f->map[f->n_map++] = (struct map_entry){.cp = cp, .glyph = (uint32_t) glyph};
	return 0;
}

/* One UTF-8 code point of a PSF2 table entry; 0 bytes used means malformed. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *ret_cp)
{
	uint8_t b = p[0];
	size_t len = b < 0x80		  ? 1
		     : (b & 0xE0) == 0xC0 ? 2
		     : (b & 0xF0) == 0xE0 ? 3
		     : (b & 0xF8) == 0xF0 ? 4
					  : 0;
	if (!len || len > n)
		return 0;
	uint32_t cp = len == 1 ? b : (uint32_t) (b & (0x7F >> len));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	*ret_cp = cp;
	return len;
}

static int psf2_table(struct psf *f, const uint8_t *p, size_t n)
{
	size_t alloc = 0, glyph = 0;
	bool seq = false;
	for (size_t i = 0; i < n && glyph < f->glyphs;) {
		if (p[i] == PSF2_SEPARATOR) {
			glyph++;
			seq = false;
			i++;
		} else if (p[i] == PSF2_STARTSEQ) {
			seq = true; /* sequences of combining characters: not used */
			i++;
		} else {
			uint32_t cp;
			size_t used = utf8_next(p + i, n - i, &cp);
			if (!used)
				return -EINVAL;
			i += used;
			if (!seq) {
				int r = add_map(f, &alloc, cp, glyph);
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

static int psf1_table(struct psf *f, const uint8_t *p, size_t n)
{
	size_t alloc = 0, glyph = 0;
	bool seq = false;
	for (size_t i = 0; i + 1 < n && glyph < f->glyphs; i += 2) {
		uint32_t v = p[i] | (uint32_t) p[i + 1] << 8;
		if (v == PSF1_SEPARATOR) {
			glyph++;
			seq = false;
		} else if (v == PSF1_STARTSEQ) {
			seq = true;
		} else if (!seq) {
			int r = add_map(f, &alloc, v, glyph);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct map_entry *x = a, *y = b;
	if (x->cp != y->cp)
		return x->cp < y->cp ? -1 : 1;
	return x->glyph < y->glyph ? -1 : x->glyph > y->glyph;
}

static int parse(struct psf *f, const uint8_t *d, size_t len)
{
	size_t header, table_at;
	bool has_table;
	int psf1_mode = -1;
	if (len >= 4 && d[0] == PSF1_MAGIC0 && d[1] == PSF1_MAGIC1) {
		psf1_mode = d[2];
		f->width = 8;
		f->height = d[3];
		f->glyphs = (psf1_mode & PSF1_MODE512) ? 512 : 256;
		header = 4;
		has_table = psf1_mode & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ);
	} else if (len >= 32 && le32(d) == PSF2_MAGIC) {
		header = le32(d + 8);
		uint32_t flags = le32(d + 12), n = le32(d + 16), h = le32(d + 24), w = le32(d + 28);
		if (le32(d + 4) != 0 || header < 32 || header > len || n < 1 ||
		    n > PSF_GLYPHS_MAX || w < 1 || w > PSF_WIDTH_MAX || h < 1 || h > PSF_HEIGHT_MAX)
			return -EINVAL;
		f->width = (int) w;
		f->height = (int) h;
		f->glyphs = n;
		if (le32(d + 20) != (w + 7) / 8 * h)
			return -EINVAL;
		has_table = flags & PSF2_HAS_UNICODE;
	} else {
		return -ENOTSUP;
	}
	if (f->height < 1 || f->height > PSF_HEIGHT_MAX)
		return -EINVAL;
	f->row_bytes = ((size_t) f->width + 7) / 8;
	f->charsize = f->row_bytes * (size_t) f->height;
	table_at = header + f->glyphs * f->charsize;
	if (table_at > len)
		return -EINVAL;
	f->bitmaps = malloc(f->glyphs * f->charsize);
	if (!f->bitmaps)
		return -ENOMEM;
	memcpy(f->bitmaps, d + header, f->glyphs * f->charsize);
	if (has_table) {
		int r = psf1_mode >= 0 ? psf1_table(f, d + table_at, len - table_at)
				       : psf2_table(f, d + table_at, len - table_at);
		if (r < 0)
			return r;
		qsort(f->map, f->n_map, sizeof(*f->map), map_cmp);
	}
	return 0;
}

int psf_load(const char *path, struct psf **ret_font)
{
	if (!path || !ret_font)
		return -EINVAL;
	uint8_t *data;
	size_t len;
	int r = read_all(path, &data, &len);
	if (r < 0)
		return r;
	struct psf *f = calloc(1, sizeof(*f));
	r = f ? parse(f, data, len) : -ENOMEM;
	free(data);
	if (r < 0) {
		psf_free(f);
		return r;
	}
	*ret_font = f;
	return 0;
}

void psf_free(struct psf *font)
{
	if (!font)
		return;
	free(font->bitmaps);
	free(font->map);
	free(font);
}

int psf_width(const struct psf *font)
{
	return font->width;
}

int psf_height(const struct psf *font)
{
	return font->height;
}

/* The glyph index of cp, or -1. */
static long glyph_of(const struct psf *f, uint32_t cp)
{
	if (!f->n_map)
		return cp < f->glyphs ? (long) cp : -1;
	size_t lo = 0, hi = f->n_map;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->map[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->n_map && f->map[lo].cp == cp)
		return f->map[lo].glyph;
	return -1;
}

bool psf_draw(const struct psf *font, uint32_t cp, uint8_t *ink, int cell_w, int cell_h)
{
	long g = glyph_of(font, cp);
	if (g < 0)
		g = glyph_of(font, 0xFFFD);
	if (g < 0)
		g = glyph_of(font, '?');
	if (g < 0)
		return false;
	const uint8_t *bm = font->bitmaps + (size_t) g * font->charsize;
	int x0 = (cell_w - font->width) / 2, y0 = (cell_h - font->height) / 2;
	for (int y = 0; y < font->height; y++) {
		int cy = y0 + y;
		if (cy < 0 || cy >= cell_h)
			continue;
		const uint8_t *row = bm + (size_t) y * font->row_bytes;
		for (int x = 0; x < font->width; x++) {
			int cx = x0 + x;
			if (cx < 0 || cx >= cell_w)
				continue;
			if (row[x / 8] & (0x80 >> (x % 8)))
				ink[cy * cell_w + cx] = 255;
		}
	}
	return true;
}
