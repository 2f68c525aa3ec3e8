/*
 * buf: a growable byte buffer with a hard cap, for everything built from or for the outside.
 *
 * Appending past the cap fails with -E2BIG and leaves the buffer as it was; the caller reports
 * a clear error. Not for text that must stay NUL-terminated (use buf_append_str then buf_cstr).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t alloc;
	size_t max; /* hard cap on len */
};

/* An empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* 0, -E2BIG past the cap, or -ENOMEM. */
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *data, size_t len);
__attribute__((warn_unused_result)) int buf_append_byte(struct buf *b, uint8_t byte);
__attribute__((warn_unused_result)) int buf_append_str(struct buf *b, const char *s);
__attribute__((warn_unused_result)) int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The content as a NUL-terminated string (adds a NUL after len without counting it). */
const char *buf_cstr(struct buf *b);
