/*
 * escpos: a layout as ESC/POS bytes for one printer profile. The stream shape, the rules that
 * keep styles from leaking and the limits are in escpos.h; the QR drawing is in app/qr.
 */
#include "escpos.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "codepage.h"
#include "qr.h"

#define ESC 0x1B
#define GS  0x1D
#define LF  0x0A

/* Append the listed bytes. */
#define EMIT(out, ...)                                                                             \
	buf_append((out), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

#define STYLE_ALL (LAYOUT_BOLD | LAYOUT_DOUBLE_WIDTH | LAYOUT_DOUBLE_HEIGHT)

static int profile_check(const struct printer_profile *p)
{
	if ((unsigned) p->encoding >= CODEPAGE_MAX)
		return -EINVAL;
	if (p->codepage_slot < 0 || p->codepage_slot > 255)
		return -EINVAL;
	if (p->columns < 1 || p->columns > ESCPOS_COLUMNS_MAX)
		return -EINVAL;
	if (p->width_dots < 1 || p->width_dots > QR_WIDTH_DOTS_MAX)
		return -EINVAL;
	if (p->qr_module_dots < QR_MODULE_DOTS_MIN)
		return -EINVAL;
	if ((unsigned) p->codepage_cmd >= PRINTER_CODEPAGE_CMD_MAX)
		return -EINVAL;
	if (p->native_qr && p->qr_module_dots > ESCPOS_NATIVE_QR_MODULE_MAX)
		return -EINVAL;
	return 0;
}

static bool text_terminated(const struct layout_item *it)
{
	return memchr(it->text, '\0', sizeof(it->text)) != NULL;
}

static int emit_codepage(struct buf *out, const struct printer_profile *p)
{
	if (p->codepage_cmd == PRINTER_CODEPAGE_STAR)
		return EMIT(out, ESC, GS, 't', (uint8_t) p->codepage_slot);
	return EMIT(out, ESC, 't', (uint8_t) p->codepage_slot);
}

static int emit_text(struct buf *out, const struct layout_item *it, const struct printer_profile *p,
		     struct escpos_stats *stats)
{
	uint8_t align;
	switch (it->align) {
	case LAYOUT_LEFT:
		align = 0;
		break;
	case LAYOUT_CENTER:
		align = 1;
		break;
	case LAYOUT_RIGHT:
		align = 2;
		break;
	case LAYOUT_ALIGN_MAX:
	default:
		return -EINVAL;
	}
	if ((it->style & ~STYLE_ALL) || !text_terminated(it))
		return -EINVAL;
	uint8_t bold = (it->style & LAYOUT_BOLD) ? 1 : 0;
	uint8_t size = (uint8_t) (((it->style & LAYOUT_DOUBLE_WIDTH) ? 0x10 : 0) |
				  ((it->style & LAYOUT_DOUBLE_HEIGHT) ? 0x01 : 0));
	int cols = p->columns;
	if (it->style & LAYOUT_DOUBLE_WIDTH)
		cols /= 2;

	/* A fallback is never longer than the UTF-8 it replaces, so the whole line fits here. */
	uint8_t whole[LAYOUT_TEXT_MAX];
	uint8_t line[ESCPOS_COLUMNS_MAX];
	size_t replaced;
	size_t whole_len = codepage_encode(p->encoding, it->text, whole, sizeof(whole), NULL);
	size_t len = codepage_encode(p->encoding, it->text, line, (size_t) cols, &replaced);
	if (len < whole_len)
		stats->cut_lines++;
	for (size_t i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] == 0x7F) {
			line[i] = '?';
			replaced++;
		}
	}
	stats->replaced_chars += replaced;

	int r = EMIT(out, ESC, 'a', align, ESC, 'E', bold, GS, '!', size);
	if (r < 0)
		return r;
	r = buf_append(out, line, len);
	if (r < 0)
		return r;
	r = buf_append_byte(out, LF);
	if (r < 0)
		return r;
	if (align) {
		r = EMIT(out, ESC, 'a', 0);
		if (r < 0)
			return r;
	}
	if (bold) {
		r = EMIT(out, ESC, 'E', 0);
		if (r < 0)
			return r;
	}
	if (size)
		r = EMIT(out, GS, '!', 0);
	return r;
}

static int emit_rule(struct buf *out, const struct printer_profile *p)
{
	uint8_t line[ESCPOS_COLUMNS_MAX + 1];
	memset(line, '-', (size_t) p->columns);
	line[p->columns] = LF;
	return buf_append(out, line, (size_t) p->columns + 1);
}

/* GS ( k pL pH cn fn [params]: one QR function (cn 49) with its parameter bytes. */
static int emit_qr_function(struct buf *out, uint8_t fn, const uint8_t *params, size_t n)
{
	size_t len = n + 2; /* cn and fn count */
	int r = EMIT(out, GS, '(', 'k', (uint8_t) (len & 0xFF), (uint8_t) (len >> 8), 49, fn);
	if (r >= 0 && n)
		r = buf_append(out, params, n);
	return r;
}

/*
 * The printer draws the symbol: model 2, the profile's module size, ECC M, the payload stored
 * then printed, centred, with a quiet zone of 4 modules fed above and below (the text lines
 * around it have none of their own). Sized with libqrencode first, so a symbol too wide for the
 * head is refused here rather than clipped by the printer.
 */
static int emit_native_qr(struct buf *out, const struct layout_item *it,
			  const struct printer_profile *p)
{
	int modules;
	int r = qr_symbol_modules(it->text, &modules);
	if (r == -E2BIG)
		return -EINVAL;
	if (r < 0)
		return r;
	if (modules + 2 * QR_QUIET_MODULES > p->width_dots / p->qr_module_dots)
		return -EINVAL;
	size_t len = strlen(it->text);
	uint8_t quiet = (uint8_t) (QR_QUIET_MODULES * p->qr_module_dots);
	r = EMIT(out, ESC, 'a', 1, ESC, 'J', quiet);
	if (r >= 0)
		r = emit_qr_function(out, 65, (const uint8_t[]){50, 0}, 2); /* model 2 */
	if (r >= 0)
		r = emit_qr_function(out, 67, (const uint8_t[]){(uint8_t) p->qr_module_dots}, 1);
	if (r >= 0)
		r = emit_qr_function(out, 69, (const uint8_t[]){49}, 1); /* ECC M */
	if (r >= 0) {
		/* store: fn 80, m = 48, then the data */
		size_t n = len + 3;
		r = EMIT(out, GS, '(', 'k', (uint8_t) (n & 0xFF), (uint8_t) (n >> 8), 49, 80, 48);
		if (r >= 0)
			r = buf_append(out, (const uint8_t *) it->text, len);
	}
	if (r >= 0)
		r = emit_qr_function(out, 81, (const uint8_t[]){48}, 1); /* print */
	if (r >= 0)
		r = EMIT(out, ESC, 'J', quiet, ESC, 'a', 0);
	return r;
}

static int emit_qr(struct buf *out, const struct layout_item *it, const struct printer_profile *p,
		   struct escpos_stats *stats)
{
	if (!text_terminated(it))
		return -EINVAL;
	if (p->native_qr) {
		int r = emit_native_qr(out, it, p);
		if (r < 0)
			return r;
		stats->qr_codes++;
		return emit_codepage(out, p);
	}
	struct qr_raster qr;
	int r = qr_raster_make(it->text, p->qr_module_dots, p->width_dots, &qr);
	if (r == -E2BIG)
		return -EINVAL; /* too long for any QR code: does not fit the head either */
	if (r < 0)
		return r;
	if (qr.stride > 0xFFFF || qr.height_dots > 0xFFFF) {
		qr_raster_free(&qr);
		return -EINVAL;
	}

	/* GS v 0 m xL xH yL yH: m = 0 (normal density), x in bytes, y in dots */
	r = EMIT(out, GS, 'v', '0', 0, (uint8_t) (qr.stride & 0xFF), (uint8_t) (qr.stride >> 8),
		 (uint8_t) (qr.height_dots & 0xFF), (uint8_t) (qr.height_dots >> 8));
	if (r >= 0)
		r = buf_append(out, qr.bits, (size_t) qr.stride * (size_t) qr.height_dots);
	qr_raster_free(&qr);
	if (r < 0)
		return r;
	stats->qr_codes++;
	return emit_codepage(out, p);
}

static int emit_item(struct buf *out, const struct layout_item *it, const struct printer_profile *p,
		     struct escpos_stats *stats)
{
	switch (it->kind) {
	case LAYOUT_TEXT:
		return emit_text(out, it, p, stats);
	case LAYOUT_RULE:
		return emit_rule(out, p);
	case LAYOUT_QR:
		return emit_qr(out, it, p, stats);
	case LAYOUT_FEED:
		if (it->lines < 0 || it->lines > 255)
			return -EINVAL;
		if (it->lines == 0)
			return 0;
		return EMIT(out, ESC, 'd', (uint8_t) it->lines);
	case LAYOUT_CUT: {
		int r = EMIT(out, ESC, 'd', ESCPOS_CUT_FEED_LINES);
		if (r < 0 || !p->cutter)
			return r;
		/* function B: feed to the cutter position (+ 0) and cut */
		return EMIT(out, GS, 'V', 66, 0);
	}
	case LAYOUT_KIND_MAX:
	default:
		return -EINVAL;
	}
}

int escpos_encode(const struct layout *l, const struct printer_profile *profile, struct buf *out,
		  struct escpos_stats *ret_stats)
{
	if (!l || !profile || !out || l->n > LAYOUT_ITEMS_MAX)
		return -EINVAL;
	int r = profile_check(profile);
	if (r < 0)
		return r;

	struct escpos_stats stats = {0};
	size_t start = out->len;
	r = EMIT(out, ESC, '@');
	if (r >= 0)
		r = emit_codepage(out, profile);
	for (size_t i = 0; r >= 0 && i < l->n; i++)
		r = emit_item(out, &l->items[i], profile, &stats);
	if (r < 0) {
		out->len = start;
		return r;
	}
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}
