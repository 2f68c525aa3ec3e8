/* layout: building a printer-independent receipt document. */
#include "layout.h"

#include <errno.h>
#include <string.h>

void layout_init(struct layout *l, int columns)
{
	l->n = 0;
	l->columns = columns;
}

static struct layout_item *layout_add(struct layout *l, enum layout_kind kind)
{
	if (l->n >= LAYOUT_ITEMS_MAX)
		return NULL;
	struct layout_item *it = &l->items[l->n];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

static int layout_add_text(struct layout *l, enum layout_kind kind, enum layout_align align,
			   unsigned style, const char *utf8)
{
	if (strlen(utf8) >= LAYOUT_TEXT_MAX)
		return -E2BIG;
	struct layout_item *it = layout_add(l, kind);
	if (!it)
		return -E2BIG;
	it->align = align;
	it->style = style;
	memcpy(it->text, utf8, strlen(utf8) + 1);
	l->n++;
	return 0;
}

int layout_text(struct layout *l, enum layout_align align, unsigned style, const char *utf8)
{
	return layout_add_text(l, LAYOUT_TEXT, align, style, utf8);
}

size_t utf8_width(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if ((*p & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/* Byte length of the first max_chars characters of s. */
static size_t utf8_prefix_bytes(const char *s, size_t max_chars)
{
	size_t chars = 0;
	size_t i = 0;
	for (; s[i]; i++) {
		if (((unsigned char) s[i] & 0xC0) != 0x80) {
			if (chars == max_chars)
				break;
			chars++;
		}
	}
	return i;
}

int layout_pair(struct layout *l, unsigned style, const char *left, const char *right)
{
	char line[LAYOUT_TEXT_MAX];
	int cols = l->columns;
	if (style & LAYOUT_DOUBLE_WIDTH)
		cols /= 2;
	size_t rw = utf8_width(right);
	size_t room = (size_t) cols > rw + 1 ? (size_t) cols - rw - 1 : 0;
	size_t lb = utf8_prefix_bytes(left, room);
	size_t lw = utf8_width(left) < room ? utf8_width(left) : room;
	size_t pad = (size_t) cols > lw + rw ? (size_t) cols - lw - rw : 1;
	if (lb + pad + strlen(right) + 1 > sizeof(line))
		return -E2BIG;
	memcpy(line, left, lb);
	memset(line + lb, ' ', pad);
	memcpy(line + lb + pad, right, strlen(right) + 1);
	return layout_text(l, LAYOUT_LEFT, style, line);
}

int layout_rule(struct layout *l)
{
	struct layout_item *it = layout_add(l, LAYOUT_RULE);
	if (!it)
		return -E2BIG;
	l->n++;
	return 0;
}

int layout_qr(struct layout *l, const char *payload)
{
	return layout_add_text(l, LAYOUT_QR, LAYOUT_CENTER, 0, payload);
}

int layout_feed(struct layout *l, int lines)
{
	if (lines < 0 || lines > 255)
		return -EINVAL;
	struct layout_item *it = layout_add(l, LAYOUT_FEED);
	if (!it)
		return -E2BIG;
	it->lines = lines;
	l->n++;
	return 0;
}

int layout_cut(struct layout *l)
{
	struct layout_item *it = layout_add(l, LAYOUT_CUT);
	if (!it)
		return -E2BIG;
	l->n++;
	return 0;
}
