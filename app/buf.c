/* buf: capped growable buffer. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

static int buf_reserve(struct buf *b, size_t need)
{
	if (need <= b->alloc)
		return 0;
	size_t n = b->alloc ? b->alloc : 256;
	while (n < need)
		n *= 2;
	if (n > b->max + 1)
		n = b->max + 1;
	uint8_t *p = realloc(b->data, n);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->alloc = n;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (len > b->max - b->len)
		return -E2BIG;
	int r = buf_reserve(b, b->len + len + 1);
	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int buf_append_byte(struct buf *b, uint8_t byte)
{
	return buf_append(b, &byte, 1);
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t) n < sizeof(small))
		return buf_append(b, small, (size_t) n);
	char *big = malloc((size_t) n + 1);
	if (!big)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t) n + 1, fmt, ap);
	va_end(ap);
	int r = buf_append(b, big, (size_t) n);
	free(big);
	return r;
}

const char *buf_cstr(struct buf *b)
{
	if (buf_reserve(b, b->len + 1) < 0 || !b->data)
		return "";
	b->data[b->len] = '\0';
	return (const char *) b->data;
}
