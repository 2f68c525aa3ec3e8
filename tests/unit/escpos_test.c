/*
 * escpos_test: a small Polish receipt for a 58 mm profile, walked by a tiny parser of the
 * commands escpos emits: init and code page first, CP852 bytes for Polish letters, one GS v 0
 * image of the right size followed by the code page again, a cut at the end, styles that do not
 * leak, lines cut on character boundaries, determinism and the byte cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escpos.h"
#include "qr.h"

static const char url[] = "https://loyalty.example.com/c/ABCDEFGHJKMNPQRS";

static const struct printer_profile p58 = {
    .model = "test-58",
    .width_dots = 384,
    .columns = 32,
    .encoding = CODEPAGE_CP852,
    .codepage_slot = 18,
    .qr_module_dots = 5,
    .cutter = true,
};

/* What the parser saw: printed lines with the style in force at their LF, and images. */
struct line {
	uint8_t text[256];
	size_t len;
	int align, bold, size;
};

struct image {
	int stride, height;
	size_t data_offset;
	int align, bold, size;
	bool codepage_after; /* ESC t <slot> right after the data */
};

struct parsed {
	struct line lines[32];
	int nlines;
	struct image images[4];
	int nimages;
	int codepage_cmds;
	int slot;
	int feeds[8];
	int nfeeds;
	int cuts;
	int star_codepage_cmds; /* ESC GS t n */
	int dot_feeds[8];	/* ESC J n */
	int ndot_feeds;
	/* native QR (GS ( k, cn 49) */
	int qr_model, qr_module, qr_ecc, qr_prints, qr_align;
	char qr_data[256];
	bool codepage_after_qr; /* the code page command right after the print function */
};

static struct parsed parsed;

/* Whether the code page command for slot (either form) starts at s[i]. */
static bool codepage_at(const uint8_t *s, size_t n, size_t i, int slot)
{
	if (i + 3 <= n && s[i] == 0x1B && s[i + 1] == 't' && s[i + 2] == slot)
		return true;
	return i + 4 <= n && s[i] == 0x1B && s[i + 1] == 0x1D && s[i + 2] == 't' &&
	       s[i + 3] == slot;
}

/* GS ( k pL pH cn fn ...: one QR function; returns the offset after it. */
static size_t parse_symbol(const uint8_t *s, size_t n, size_t i, int align, struct parsed *p)
{
	assert_true(i + 7 <= n);
	assert_int_equal(s[i + 2], 'k');
	size_t len = s[i + 3] | (size_t) s[i + 4] << 8;
	assert_true(len >= 2 && i + 5 + len <= n);
	const uint8_t *d = s + i + 5;
	assert_int_equal(d[0], 49); /* QR */
	switch (d[1]) {
	case 65:
		assert_int_equal(len, 4);
		p->qr_model = d[2];
		assert_int_equal(d[3], 0);
		break;
	case 67:
		assert_int_equal(len, 3);
		p->qr_module = d[2];
		break;
	case 69:
		assert_int_equal(len, 3);
		p->qr_ecc = d[2];
		break;
	case 80:
		assert_true(len >= 4 && len - 3 < sizeof(p->qr_data));
		assert_int_equal(d[2], 48);
		memcpy(p->qr_data, d + 3, len - 3);
		p->qr_data[len - 3] = '\0';
		break;
	case 81:
		assert_int_equal(len, 3);
		assert_int_equal(d[2], 48);
		p->qr_prints++;
		p->qr_align = align;
		break;
	default:
		fail_msg("unexpected QR function %u at %zu", d[1], i);
	}
	i += 5 + len;
	if (d[1] == 81) {
		/* past the quiet zone feed and the alignment reset */
		size_t j = i;
		while (j + 3 <= n && s[j] == 0x1B && (s[j + 1] == 'J' || s[j + 1] == 'a'))
			j += 3;
		p->codepage_after_qr = codepage_at(s, n, j, p->slot);
	}
	return i;
}

/* Walk the stream; fails the test on any byte sequence escpos should not emit. */
static void parse(const uint8_t *s, size_t n, struct parsed *p)
{
	int align = 0, bold = 0, size = 0;
	struct line cur = {0};

	memset(p, 0, sizeof(*p));
	p->slot = -1;
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c == 0x1B) {
			assert_true(i + 1 < n);
			uint8_t cmd = s[i + 1];
			if (cmd == '@') {
				align = bold = size = 0;
				i += 2;
				continue;
			}
			if (cmd == 0x1D) {
				assert_true(i + 3 < n);
				assert_int_equal(s[i + 2], 't');
				p->slot = s[i + 3];
				p->star_codepage_cmds++;
				i += 4;
				continue;
			}
			assert_true(i + 2 < n);
			uint8_t arg = s[i + 2];
			switch (cmd) {
			case 't':
				p->slot = arg;
				p->codepage_cmds++;
				break;
			case 'a':
				assert_true(arg <= 2);
				align = arg;
				break;
			case 'E':
				assert_true(arg <= 1);
				bold = arg;
				break;
			case 'd':
				assert_true(p->nfeeds < 8);
				p->feeds[p->nfeeds++] = arg;
				break;
			case 'J':
				assert_true(p->ndot_feeds < 8);
				p->dot_feeds[p->ndot_feeds++] = arg;
				break;
			default:
				fail_msg("unexpected ESC 0x%02X at %zu", cmd, i);
			}
			i += 3;
		} else if (c == 0x1D) {
			assert_true(i + 2 < n);
			uint8_t cmd = s[i + 1];
			if (cmd == '!') {
				size = s[i + 2];
				i += 3;
			} else if (cmd == 'v') {
				assert_true(i + 8 <= n);
				assert_int_equal(s[i + 2], '0');
				assert_int_equal(s[i + 3], 0);
				assert_true(p->nimages < 4);
				struct image *im = &p->images[p->nimages++];
				im->stride = s[i + 4] | s[i + 5] << 8;
				im->height = s[i + 6] | s[i + 7] << 8;
				im->data_offset = i + 8;
				im->align = align;
				im->bold = bold;
				im->size = size;
				i += 8 + (size_t) im->stride * (size_t) im->height;
				assert_true(i <= n);
				im->codepage_after = codepage_at(s, n, i, p->slot);
			} else if (cmd == '(') {
				i = parse_symbol(s, n, i, align, p);
			} else if (cmd == 'V') {
				assert_true(i + 3 < n);
				assert_int_equal(s[i + 2], 66);
				assert_int_equal(s[i + 3], 0);
				p->cuts++;
				i += 4;
			} else {
				fail_msg("unexpected GS 0x%02X at %zu", cmd, i);
			}
		} else if (c == 0x0A) {
			assert_true(p->nlines < 32);
			cur.align = align;
			cur.bold = bold;
			cur.size = size;
			p->lines[p->nlines++] = cur;
			memset(&cur, 0, sizeof(cur));
			i++;
		} else {
			if (c < 0x20 || c == 0x7F)
				fail_msg("control byte 0x%02X in text at %zu", c, i);
			assert_true(cur.len < sizeof(cur.text));
			cur.text[cur.len++] = c;
			i++;
		}
	}
	assert_int_equal(cur.len, 0); /* no text left without its LF */
}

static void assert_line(const struct line *ln, const char *want)
{
	size_t n = strlen(want);
	if (ln->len != n || memcmp(ln->text, want, n) != 0)
		print_error("line \"%.*s\" (%zu bytes), want \"%s\"\n", (int) ln->len,
			    (const char *) ln->text, ln->len, want);
	assert_int_equal(ln->len, n);
	assert_memory_equal(ln->text, want, n);
}

static void build_receipt(struct layout *l)
{
	layout_init(l, 32);
	assert_int_equal(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT,
				     "Dziękujemy za zakupy!"),
			 0);
	assert_int_equal(layout_text(l, LAYOUT_LEFT, 0, "Zażółć gęślą jaźń"), 0);
	assert_int_equal(layout_rule(l), 0);
	assert_int_equal(layout_pair(l, 0, "Punkty", "+125"), 0);
	assert_int_equal(layout_feed(l, 1), 0);
	assert_int_equal(layout_qr(l, url), 0);
	assert_int_equal(layout_text(l, LAYOUT_RIGHT, LAYOUT_DOUBLE_WIDTH, "Do zobaczenia"), 0);
	assert_int_equal(layout_cut(l), 0);
}

static struct layout layout;

static int setup(void **state)
{
	(void) state;
	build_receipt(&layout);
	return 0;
}

static void encode(const struct layout *l, const struct printer_profile *p, struct buf *out,
		   struct escpos_stats *stats)
{
	buf_init(out, ESCPOS_RECEIPT_MAX);
	assert_int_equal(escpos_encode(l, p, out, stats), 0);
}

static void test_stream_shape(void **state)
{
	(void) state;
	struct buf out;
	struct escpos_stats st = {.qr_codes = -1};
	encode(&layout, &p58, &out, &st);

	static const uint8_t head[] = {0x1B, '@', 0x1B, 't', 18};
	assert_true(out.len > sizeof(head) + 8);
	assert_memory_equal(out.data, head, sizeof(head));
	static const uint8_t tail[] = {0x1B, 'd', ESCPOS_CUT_FEED_LINES, 0x1D, 'V', 66, 0};
	assert_memory_equal(out.data + out.len - sizeof(tail), tail, sizeof(tail));

	parse(out.data, out.len, &parsed);
	assert_int_equal(parsed.cuts, 1);
	assert_int_equal(parsed.slot, 18);
	assert_int_equal(parsed.codepage_cmds, 2); /* the start, and after the image */
	assert_int_equal(parsed.nfeeds, 2);
	assert_int_equal(parsed.feeds[0], 1);
	assert_int_equal(parsed.feeds[1], ESCPOS_CUT_FEED_LINES);
	assert_int_equal(parsed.nlines, 5);

	assert_int_equal(st.qr_codes, 1);
	assert_int_equal(st.replaced_chars, 0);
	assert_int_equal(st.cut_lines, 0);
	buf_free(&out);
}

static void test_polish_in_cp852(void **state)
{
	(void) state;
	struct buf out;
	encode(&layout, &p58, &out, NULL);
	parse(out.data, out.len, &parsed);

	/* ę A9, ż BE, ó A2, ł 88, ć 86, ś 98, ą A5, ź AB, ń E4 */
	assert_line(&parsed.lines[0], "Dzi\xA9kujemy za zakupy!");
	assert_line(&parsed.lines[1], "Za\xBE\xA2\x88\x86 g\xA9\x98l\xA5 ja\xAB\xE4");
	assert_line(&parsed.lines[2], "--------------------------------");
	assert_line(&parsed.lines[3], "Punkty                      +125");
	assert_line(&parsed.lines[4], "Do zobaczenia");
	buf_free(&out);

	/* the same receipt for a CP1250 printer */
	struct printer_profile p = p58;
	p.encoding = CODEPAGE_CP1250;
	p.codepage_slot = 45;
	encode(&layout, &p, &out, NULL);
	static const uint8_t head[] = {0x1B, '@', 0x1B, 't', 45};
	assert_memory_equal(out.data, head, sizeof(head));
	static const char want[] = "Za\xBF\xF3\xB3\xE6 g\xEA\x9Cl\xB9 ja\x9F\xF1";
	assert_non_null(memmem(out.data, out.len, want, sizeof(want) - 1));
	buf_free(&out);
}

static void test_qr_image(void **state)
{
	(void) state;
	struct buf out;
	encode(&layout, &p58, &out, NULL);
	parse(out.data, out.len, &parsed);

	struct qr_raster want;
	assert_int_equal(qr_raster_make(url, 5, 384, &want), 0);
	assert_int_equal(parsed.nimages, 1);
	const struct image *im = &parsed.images[0];
	assert_int_equal(im->stride * 8, 384);
	assert_int_equal(im->height, want.height_dots);
	assert_int_equal(im->height, (want.modules + 2 * QR_QUIET_MODULES) * 5);
	assert_memory_equal(out.data + im->data_offset, want.bits,
			    (size_t) want.stride * (size_t) want.height_dots);
	assert_true(im->codepage_after);
	qr_raster_free(&want);
	buf_free(&out);
}

static void test_styles_do_not_leak(void **state)
{
	(void) state;
	struct buf out;
	encode(&layout, &p58, &out, NULL);
	parse(out.data, out.len, &parsed);

	/* centred, bold, double height */
	assert_int_equal(parsed.lines[0].align, 1);
	assert_int_equal(parsed.lines[0].bold, 1);
	assert_int_equal(parsed.lines[0].size, 0x01);
	/* everything after it is back to normal */
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(parsed.lines[i].align, 0);
		assert_int_equal(parsed.lines[i].bold, 0);
		assert_int_equal(parsed.lines[i].size, 0);
	}
	assert_int_equal(parsed.images[0].align, 0);
	assert_int_equal(parsed.images[0].bold, 0);
	assert_int_equal(parsed.images[0].size, 0);
	/* right, double width */
	assert_int_equal(parsed.lines[4].align, 2);
	assert_int_equal(parsed.lines[4].bold, 0);
	assert_int_equal(parsed.lines[4].size, 0x10);

	/* and the stream ends in the default style: reset right after the last LF */
	static const uint8_t reset[] = {0x0A, 0x1B, 'a', 0, 0x1D, '!', 0, 0x1B, 'd'};
	assert_non_null(memmem(out.data, out.len, reset, sizeof(reset)));
	buf_free(&out);
}

static void test_deterministic(void **state)
{
	(void) state;
	struct buf a, b;
	encode(&layout, &p58, &a, NULL);
	struct layout again;
	build_receipt(&again);
	encode(&again, &p58, &b, NULL);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_free(&a);
	buf_free(&b);
}

static void test_byte_cap(void **state)
{
	(void) state;
	struct buf full;
	encode(&layout, &p58, &full, NULL);

	struct buf out;
	struct escpos_stats st = {.qr_codes = -1};
	buf_init(&out, 64);
	assert_int_equal(escpos_encode(&layout, &p58, &out, &st), -E2BIG);
	assert_int_equal(out.len, 0);
	assert_int_equal(st.qr_codes, -1); /* not written on failure */
	buf_free(&out);

	/* exactly enough room works, one byte less does not and keeps what was there */
	buf_init(&out, full.len);
	assert_int_equal(escpos_encode(&layout, &p58, &out, NULL), 0);
	assert_int_equal(out.len, full.len);
	buf_free(&out);
	buf_init(&out, full.len);
	assert_int_equal(buf_append_str(&out, "x"), 0);
	assert_int_equal(escpos_encode(&layout, &p58, &out, NULL), -E2BIG);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 'x');
	buf_free(&out);
	buf_free(&full);
}

static void test_long_lines_cut_on_characters(void **state)
{
	(void) state;
	struct layout l;
	layout_init(&l, 32);
	/* 39 characters: cut after 32, which ends on the two-byte 'ś' */
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "Dziękujemy za zakupy! Zażółć gęślą jaźń"),
			 0);
	/* double width: 16 columns */
	assert_int_equal(layout_text(&l, LAYOUT_CENTER, LAYOUT_DOUBLE_WIDTH,
				     "Dziękujemy za zakupy! Zażółć gęślą jaźń"),
			 0);
	/* an ellipsis on the boundary needs three columns and is left out whole */
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…"), 0);
	/* exactly 32 columns is not a cut */
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "ąąąąąąąąąąąąąąąąąąąąąąąąąąąąąąąą"), 0);

	struct buf out;
	struct escpos_stats st;
	encode(&l, &p58, &out, &st);
	parse(out.data, out.len, &parsed);
	assert_int_equal(parsed.nlines, 4);
	assert_line(&parsed.lines[0], "Dzi\xA9kujemy za zakupy! Za\xBE\xA2\x88\x86 g\xA9\x98");
	assert_line(&parsed.lines[1], "Dzi\xA9kujemy za za");
	assert_line(&parsed.lines[2], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(parsed.lines[3].len, 32);
	assert_int_equal(st.cut_lines, 3);
	assert_int_equal(st.replaced_chars, 0);
	buf_free(&out);
}

static void test_fallbacks_and_controls(void **state)
{
	(void) state;
	struct layout l;
	layout_init(&l, 32);
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "„Hej” 😀 – …"), 0);
	/* control characters must not reach the printer as commands */
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "a\x1b@b\tc\x1dV\x7f"), 0);

	struct buf out;
	struct escpos_stats st;
	encode(&l, &p58, &out, &st);
	parse(out.data, out.len, &parsed);
	assert_line(&parsed.lines[0], "\"Hej\" ? - ...");
	assert_line(&parsed.lines[1], "a?@b?c?V?");
	assert_int_equal(st.replaced_chars, 5 + 4);
	assert_int_equal(st.qr_codes, 0);
	buf_free(&out);
}

static void test_no_cutter(void **state)
{
	(void) state;
	struct printer_profile p = p58;
	p.cutter = false;
	struct buf out;
	encode(&layout, &p, &out, NULL);
	parse(out.data, out.len, &parsed);
	assert_int_equal(parsed.cuts, 0);
	static const uint8_t tail[] = {0x1B, 'd', ESCPOS_CUT_FEED_LINES};
	assert_memory_equal(out.data + out.len - sizeof(tail), tail, sizeof(tail));
	buf_free(&out);
}

static void test_bad_input(void **state)
{
	(void) state;
	struct buf out;
	buf_init(&out, ESCPOS_RECEIPT_MAX);

	/* a QR code too wide for the head: 37 modules at 5 dots is 185 > 180 */
	struct printer_profile narrow = p58;
	narrow.width_dots = 180;
	assert_int_equal(escpos_encode(&layout, &narrow, &out, NULL), -EINVAL);
	assert_int_equal(out.len, 0);

	struct printer_profile p = p58;
	p.codepage_slot = 256;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);
	p = p58;
	p.columns = 0;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);
	p = p58;
	p.encoding = CODEPAGE_MAX;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);
	p = p58;
	p.qr_module_dots = 3;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);

	struct layout l = layout;
	l.items[0].kind = LAYOUT_KIND_MAX;
	assert_int_equal(escpos_encode(&l, &p58, &out, NULL), -EINVAL);
	l = layout;
	l.items[0].style = 1u << 7;
	assert_int_equal(escpos_encode(&l, &p58, &out, NULL), -EINVAL);
	l = layout;
	l.items[0].align = LAYOUT_ALIGN_MAX;
	assert_int_equal(escpos_encode(&l, &p58, &out, NULL), -EINVAL);
	l = layout;
	memset(l.items[0].text, 'x', sizeof(l.items[0].text));
	assert_int_equal(escpos_encode(&l, &p58, &out, NULL), -EINVAL);
	l = layout;
	l.n = LAYOUT_ITEMS_MAX + 1;
	assert_int_equal(escpos_encode(&l, &p58, &out, NULL), -EINVAL);
	assert_int_equal(escpos_encode(NULL, &p58, &out, NULL), -EINVAL);
	assert_int_equal(out.len, 0);

	/* an empty layout is just the preamble */
	layout_init(&l, 32);
	assert_int_equal(escpos_encode(&l, &p58, &out, NULL), 0);
	assert_int_equal(out.len, 5);
	buf_free(&out);
}

static void test_star_codepage(void **state)
{
	(void) state;
	struct printer_profile p = p58;
	p.codepage_cmd = PRINTER_CODEPAGE_STAR;
	p.codepage_slot = 5;
	struct buf out;
	encode(&layout, &p, &out, NULL);
	static const uint8_t head[] = {0x1B, '@', 0x1B, 0x1D, 't', 5};
	assert_memory_equal(out.data, head, sizeof(head));
	parse(out.data, out.len, &parsed);
	assert_int_equal(parsed.codepage_cmds, 0); /* no ESC t at all */
	assert_int_equal(parsed.star_codepage_cmds, 2);
	assert_int_equal(parsed.slot, 5);
	assert_int_equal(parsed.nimages, 1);
	assert_true(parsed.images[0].codepage_after);
	/* the text is the same CP852 bytes as on an Epson */
	assert_line(&parsed.lines[1], "Za\xBE\xA2\x88\x86 g\xA9\x98l\xA5 ja\xAB\xE4");
	buf_free(&out);
}

static const struct printer_profile p80_native = {
    .model = "test-80",
    .width_dots = 576,
    .columns = 48,
    .encoding = CODEPAGE_CP852,
    .codepage_slot = 18,
    .qr_module_dots = 6,
    .cutter = true,
    .native_qr = true,
};

static void test_native_qr(void **state)
{
	(void) state;
	struct buf out;
	struct escpos_stats st;
	encode(&layout, &p80_native, &out, &st);
	parse(out.data, out.len, &parsed);
	assert_int_equal(st.qr_codes, 1);
	assert_int_equal(parsed.nimages, 0); /* no raster */
	assert_int_equal(parsed.qr_prints, 1);
	assert_int_equal(parsed.qr_model, 50);
	assert_int_equal(parsed.qr_module, 6);
	assert_int_equal(parsed.qr_ecc, 49); /* M */
	assert_string_equal(parsed.qr_data, url);
	assert_int_equal(parsed.qr_align, 1);
	assert_true(parsed.codepage_after_qr);
	assert_int_equal(parsed.codepage_cmds, 2);
	/* 4 modules of quiet zone fed above and below */
	assert_int_equal(parsed.ndot_feeds, 2);
	assert_int_equal(parsed.dot_feeds[0], 24);
	assert_int_equal(parsed.dot_feeds[1], 24);
	/* the exact sequence, from centring to the code page */
	static const uint8_t want[] = {
	    0x1B, 'a', 1,   0x1B,
	    'J',  24, /* centre, quiet zone */
	    0x1D, '(', 'k', 4,
	    0,	  49,  65,  50,
	    0, /* model 2 */
	    0x1D, '(', 'k', 3,
	    0,	  49,  67,  6, /* module 6 dots */
	    0x1D, '(', 'k', 3,
	    0,	  49,  69,  49, /* ECC M */
	    0x1D, '(', 'k', sizeof(url) - 1 + 3,
	    0,	  49,  80,  48, /* store ... */
	};
	const uint8_t *at = memmem(out.data, out.len, want, sizeof(want));
	assert_non_null(at);
	assert_memory_equal(at + sizeof(want), url, sizeof(url) - 1);
	static const uint8_t print[] = {0x1D, '(', 'k',	 3,   0, 49,   81,  48, 0x1B,
					'J',  24,  0x1B, 'a', 0, 0x1B, 't', 18};
	assert_memory_equal(at + sizeof(want) + sizeof(url) - 1, print, sizeof(print));
	buf_free(&out);

	/* the same layout on a profile without native_qr is a raster, as before */
	struct printer_profile p = p80_native;
	p.native_qr = false;
	encode(&layout, &p, &out, NULL);
	parse(out.data, out.len, &parsed);
	assert_int_equal(parsed.nimages, 1);
	assert_int_equal(parsed.qr_prints, 0);
	buf_free(&out);
}

static void test_codepage_after_every_image(void **state)
{
	(void) state;
	struct layout l;
	layout_init(&l, 32);
	assert_int_equal(layout_qr(&l, url), 0);
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "między"), 0);
	assert_int_equal(layout_qr(&l, "HTTPS://K.EXAMPLE.PL/C/ABC"), 0);
	assert_int_equal(layout_text(&l, LAYOUT_LEFT, 0, "żółw"), 0);

	struct printer_profile star = p58;
	star.codepage_cmd = PRINTER_CODEPAGE_STAR;
	star.codepage_slot = 5;
	struct printer_profile star_native = star;
	star_native.native_qr = true;
	struct printer_profile native = p80_native;
	const struct printer_profile *profiles[] = {&p58, &star, &star_native, &native};
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		struct buf out;
		struct escpos_stats st;
		encode(&l, profiles[i], &out, &st);
		parse(out.data, out.len, &parsed);
		assert_int_equal(st.qr_codes, 2);
		/* after the init and after each of the two symbols */
		assert_int_equal(parsed.codepage_cmds + parsed.star_codepage_cmds, 3);
		assert_int_equal(parsed.slot, profiles[i]->codepage_slot);
		buf_free(&out);
	}
}

static void test_native_qr_refusals(void **state)
{
	(void) state;
	struct buf out;
	buf_init(&out, ESCPOS_RECEIPT_MAX);
	struct printer_profile p = p80_native;
	p.qr_module_dots = ESCPOS_NATIVE_QR_MODULE_MAX + 1;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);
	/* 29 modules + 8 quiet at 16 dots is 592 > 576: the printer would clip it */
	p.qr_module_dots = 16;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);
	p = p80_native;
	p.codepage_cmd = PRINTER_CODEPAGE_CMD_MAX;
	assert_int_equal(escpos_encode(&layout, &p, &out, NULL), -EINVAL);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* Read a file of the source tree into buf (NUL-terminated); returns its length. */
static size_t read_source(const char *rel, char *buf, size_t cap)
{
	const char *src = getenv("LOYALTY_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (LOYALTY_SOURCE_DIR=%s)", path, src ? src : "unset");
	size_t n = fread(buf, 1, cap - 1, f);
	assert_true(feof(f));
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void test_printer_models(void **state)
{
	(void) state;
	static const struct {
		const char *file;
		int width, columns, cp852, cp1250;
		enum printer_codepage_cmd cmd;
		bool native_qr, cutter;
	} models[] = {
	    {"epson-tm-t20ii", 576, 48, 18, 45, PRINTER_CODEPAGE_ESC_T, true, true},
	    {"epson-tm-t20iii", 576, 48, 18, 45, PRINTER_CODEPAGE_ESC_T, true, true},
	    {"epson-tm-t88iv", 512, 42, 18, -1, PRINTER_CODEPAGE_ESC_T, true, true},
	    {"epson-tm-t88v", 512, 42, 18, 45, PRINTER_CODEPAGE_ESC_T, true, true},
	    {"zjiang-pos-5890", 384, 32, 18, 72, PRINTER_CODEPAGE_ESC_T, false, false},
	    {"zijiang-zj-5870", 384, 32, 18, -1, PRINTER_CODEPAGE_ESC_T, false, false},
	    {"netum-nt-5890k", 384, 32, 18, 72, PRINTER_CODEPAGE_ESC_T, false, false},
	    {"star-tsp600", 576, 42, 5, 33, PRINTER_CODEPAGE_STAR, true, true},
	    {"star-tsp800", 833, 42, 5, 33, PRINTER_CODEPAGE_STAR, true, true},
	    {"bixolon-srp-s300", 640, 48, 18, -1, PRINTER_CODEPAGE_ESC_T, true, true},
	};
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		char rel[128], text[PRINTER_MODEL_FILE_MAX + 1], err[160];
		snprintf(rel, sizeof(rel), "board/printers/%s.json", models[i].file);
		size_t len = read_source(rel, text, sizeof(text));
		struct printer_model m;
		if (printer_model_parse(text, len, &m, err, sizeof(err)) < 0)
			fail_msg("%s: %s", rel, err);
		assert_int_equal(m.width_dots, models[i].width);
		assert_int_equal(m.columns, models[i].columns);
		assert_int_equal(m.slot[CODEPAGE_CP852], models[i].cp852);
		assert_int_equal(m.slot[CODEPAGE_CP1250], models[i].cp1250);
		assert_int_equal(m.codepage_cmd, models[i].cmd);
		assert_int_equal(m.native_qr, models[i].native_qr);
		assert_int_equal(m.cutter, models[i].cutter);
		assert_true(m.raster);

		/* every model prints the test receipt, raster QR by default */
		struct printer_profile p;
		assert_int_equal(
		    printer_model_profile(&m, CODEPAGE_CP852, false, &p, err, sizeof(err)), 0);
		assert_int_equal(p.qr_module_dots, m.width_dots >= 512 ? 6 : 5);
		assert_false(p.native_qr);
		struct buf out;
		encode(&layout, &p, &out, NULL);
		parse(out.data, out.len, &parsed);
		assert_int_equal(parsed.slot, models[i].cp852);
		if (models[i].cmd == PRINTER_CODEPAGE_STAR)
			assert_int_equal(parsed.star_codepage_cmds, 2);
		else
			assert_int_equal(parsed.codepage_cmds, 2);
		assert_int_equal(parsed.nimages, 1);
		assert_int_equal(parsed.cuts, models[i].cutter ? 1 : 0);
		buf_free(&out);

		int r = printer_model_profile(&m, CODEPAGE_CP852, true, &p, err, sizeof(err));
		if (models[i].native_qr) {
			assert_int_equal(r, 0);
			encode(&layout, &p, &out, NULL);
			parse(out.data, out.len, &parsed);
			assert_int_equal(parsed.nimages, 0);
			assert_int_equal(parsed.qr_prints, 1);
			buf_free(&out);
		} else {
			assert_int_equal(r, -ENOTSUP);
			assert_non_null(strstr(err, "GS ( k"));
		}
		r = printer_model_profile(&m, CODEPAGE_CP1250, false, &p, err, sizeof(err));
		assert_int_equal(r, models[i].cp1250 >= 0 ? 0 : -ENOTSUP);
		if (r == 0)
			assert_int_equal(p.codepage_slot, models[i].cp1250);
	}
}

static void expect_model_error(const char *from, const char *to, const char *want)
{
	static const char good[] =
	    "{\"model\":\"X\",\"vendor\":\"V\",\"source\":\"s\",\"credit\":\"c\",\"dpi\":203,"
	    "\"width_dots\":384,\"columns\":32,\"codepage_command\":\"ESC t\","
	    "\"codepages\":{\"CP852\":18},\"raster\":true,\"native_qr\":false,\"cutter\":false}";
	char text[sizeof(good) + 64], err[160];
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int) (at - good), good, to, at + strlen(from));
	struct printer_model m = {.dpi = -1};
	assert_int_equal(printer_model_parse(text, strlen(text), &m, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("%s: error \"%s\", want \"%s\"", text, err, want);
	assert_int_equal(m.dpi, -1);
}

static void test_printer_model_errors(void **state)
{
	(void) state;
	expect_model_error("\"cutter\":false", "\"cutter\":false,\"cuter\":1",
			   "cuter: unknown key");
	expect_model_error("\"credit\":\"c\",", "", "credit: missing");
	expect_model_error("\"ESC t\"", "\"FS t\"", "codepage_command");
	expect_model_error("\"CP852\":18", "\"CP852\":256", "codepages.CP852: must be");
	expect_model_error("\"CP852\":18", "\"CP437\":0", "codepages.CP437: not CP852");
	expect_model_error("{\"CP852\":18}", "{}", "codepages:");
	expect_model_error("\"width_dots\":384", "\"width_dots\":38.4", "width_dots:");
	expect_model_error("\"raster\":true", "\"raster\":1", "raster: must be true or false");
	expect_model_error("{\"model\"", "[{\"model\"", "not valid JSON");
	char err[64];
	struct printer_model m;
	assert_int_equal(
	    printer_model_parse("{}", PRINTER_MODEL_FILE_MAX + 1, &m, err, sizeof(err)), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_shape),
	    cmocka_unit_test(test_polish_in_cp852),
	    cmocka_unit_test(test_qr_image),
	    cmocka_unit_test(test_styles_do_not_leak),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_byte_cap),
	    cmocka_unit_test(test_long_lines_cut_on_characters),
	    cmocka_unit_test(test_fallbacks_and_controls),
	    cmocka_unit_test(test_no_cutter),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_star_codepage),
	    cmocka_unit_test(test_native_qr),
	    cmocka_unit_test(test_codepage_after_every_image),
	    cmocka_unit_test(test_native_qr_refusals),
	    cmocka_unit_test(test_printer_models),
	    cmocka_unit_test(test_printer_model_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
