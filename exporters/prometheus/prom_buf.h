/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_BUF_H
#define SONDE_PROM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * A growable byte buffer for exposition output. Appends never fail loudly:
 * an allocation failure (or passing `max`) latches `failed`, later appends
 * are no-ops, and the caller checks once at the end. That keeps the
 * formatter's inner loops free of error plumbing.
 */
struct sonde_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0: unlimited */
	bool failed;
};

void sonde_buf_init(struct sonde_buf *b, size_t max);
/* Frees the storage; the struct may be reused after sonde_buf_init. */
void sonde_buf_release(struct sonde_buf *b);
/* Ensures room for `extra` more bytes; false (and failed latched) if not. */
bool sonde_buf_reserve(struct sonde_buf *b, size_t extra);
/* Hands the storage to the caller (free() it); the buffer is left empty. */
char *sonde_buf_steal(struct sonde_buf *b, size_t *ret_len);

static inline void sonde_buf_put(struct sonde_buf *b, const void *p, size_t n)
{
	if (n == 0 || (b->cap - b->len < n && !sonde_buf_reserve(b, n)))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void sonde_buf_putc(struct sonde_buf *b, char c)
{
	if (b->cap == b->len && !sonde_buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
}

static inline void sonde_buf_puts(struct sonde_buf *b, const char *s)
{
	sonde_buf_put(b, s, strlen(s));
}

#endif
