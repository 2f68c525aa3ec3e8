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
};

static struct parsed parsed;

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
				im->codepage_after =
				    i + 3 <= n && s[i] == 0x1B && s[i + 1] == 't' && s[i + 2] == 18;
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

	/* a QR code too wide for the head: 41 modules at 5 dots is 205 > 200 */
	struct printer_profile narrow = p58;
	narrow.width_dots = 200;
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
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
