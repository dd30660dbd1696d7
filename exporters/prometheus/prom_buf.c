// SPDX-License-Identifier: MIT
#include "prom_buf.h"

#include <stdint.h>
#include <stdlib.h>

void sonde_buf_init(struct sonde_buf *b, size_t max)
{
	*b = (struct sonde_buf){ .max = max };
}

void sonde_buf_release(struct sonde_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

bool sonde_buf_reserve(struct sonde_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= extra)
		return true;
	need = b->len + extra;
	if (need < b->len || (b->max && need > b->max))
		goto fail;
	cap = b->cap ? b->cap : 4096;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if (b->max && cap > b->max)
		cap = b->max;
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

char *sonde_buf_steal(struct sonde_buf *b, size_t *ret_len)
{
	char *p = b->data;

	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
