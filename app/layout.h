/*
 * layout: a receipt as a printer-independent list of items (text lines, rules, QR codes, feeds,
 * a cut). app/receipt builds it from sale facts; app/escpos turns it into printer bytes for a
 * printer profile. Text is UTF-8; widths are counted in characters of the printer's font A.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LAYOUT_TEXT_MAX	 192 /* bytes of UTF-8, including the NUL */
#define LAYOUT_ITEMS_MAX 96

enum layout_kind {
	LAYOUT_TEXT, /* one line of text (the encoder cuts it at the line width) */
	LAYOUT_RULE, /* a full-width line of '-' */
	LAYOUT_QR,   /* a QR code of text (the payload), centred */
	LAYOUT_FEED, /* n empty lines (n in .lines) */
	LAYOUT_CUT,  /* feed past the cutter and cut */
	LAYOUT_KIND_MAX
};

enum layout_align { LAYOUT_LEFT, LAYOUT_CENTER, LAYOUT_RIGHT, LAYOUT_ALIGN_MAX };

#define LAYOUT_BOLD	     (1u << 0)
#define LAYOUT_DOUBLE_WIDTH  (1u << 1)
#define LAYOUT_DOUBLE_HEIGHT (1u << 2)

struct layout_item {
	enum layout_kind kind;
	enum layout_align align;
	unsigned style; /* LAYOUT_BOLD | LAYOUT_DOUBLE_* */
	int lines;	/* LAYOUT_FEED */
	char text[LAYOUT_TEXT_MAX];
};

struct layout {
	struct layout_item items[LAYOUT_ITEMS_MAX];
	size_t n;
	int columns; /* characters per line of font A at normal size */
};

void layout_init(struct layout *l, int columns);
/* Each returns 0, or -E2BIG when the layout is full or the text too long (nothing added). */
__attribute__((warn_unused_result)) int layout_text(struct layout *l, enum layout_align align,
						    unsigned style, const char *utf8);
/* Left text and right text on one line, padded between (the left part is cut to fit). */
__attribute__((warn_unused_result)) int layout_pair(struct layout *l, unsigned style,
						    const char *left, const char *right);
__attribute__((warn_unused_result)) int layout_rule(struct layout *l);
__attribute__((warn_unused_result)) int layout_qr(struct layout *l, const char *payload);
__attribute__((warn_unused_result)) int layout_feed(struct layout *l, int lines);
__attribute__((warn_unused_result)) int layout_cut(struct layout *l);

/* Number of Unicode code points in a UTF-8 string (invalid bytes count one each). */
size_t utf8_width(const char *s);
