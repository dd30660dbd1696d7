// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "hexdigit.h"
#include "protocols/framing.h"

bool sonde_line_next(struct sonde_linebuf *lb, char *buf, size_t cap,
		     const uint8_t **pos, const uint8_t *end,
		     struct sonde_line *ret_line)
{
	const uint8_t *p = *pos;
	const uint8_t *lf;
	size_t n, room;

	if (p >= end)
		return false;
	lf = memchr(p, '\n', (size_t)(end - p));
	n = lf ? (size_t)(lf - p) : (size_t)(end - p);

	/* Fast path: the whole line is in this chunk, no copy. */
	if (lf && !sonde_line_pending(lb)) {
		if (n > 0 && p[n - 1] == '\r')
			n--;
		ret_line->ptr = (const char *)p;
		ret_line->len = n;
		ret_line->truncated = false;
		*pos = lf + 1;
		return true;
	}

	room = cap > lb->len ? cap - lb->len : 0;
	if (n > room) {
		lb->truncated = true;
		memcpy(buf + lb->len, p, room);
		lb->len += (uint32_t)room;
	} else {
		memcpy(buf + lb->len, p, n);
		lb->len += (uint32_t)n;
	}
	if (!lf) {
		*pos = end;
		return false;
	}

	n = lb->len;
	if (!lb->truncated && n > 0 && buf[n - 1] == '\r')
		n--;
	ret_line->ptr = buf;
	ret_line->len = n;
	ret_line->truncated = lb->truncated;
	sonde_line_reset(lb);
	*pos = lf + 1;
	return true;
}

bool sonde_parse_u64(const char *s, size_t n, uint64_t *ret_v)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		/* v * 10 + d would pass UINT64_MAX (constants: no division) */
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return false;
		v = v * 10 + d;
	}
	*ret_v = v;
	return true;
}

bool sonde_parse_i64(const char *s, size_t n, int64_t *ret_v)
{
	bool neg = false;
	uint64_t u;

	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	if (!sonde_parse_u64(s, n, &u))
		return false;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return false;
		*ret_v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return false;
		*ret_v = (int64_t)u;
	}
	return true;
}

bool sonde_parse_hex_u64(const char *s, size_t n, uint64_t *ret_v)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		int d = sonde_hexval(s[i]);

		if (d < 0)
			return false;
		if (v >> 60)
			return false;
		v = v << 4 | (unsigned)d;
	}
	*ret_v = v;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool sonde_token_next(const char **pos, const char *end, const char **ret_tok,
		      size_t *ret_len)
{
	const char *p = *pos, *t;

	while (p < end && is_blank(*p))
		p++;
	if (p >= end) {
		*pos = p;
		return false;
	}
	t = p;
	while (p < end && !is_blank(*p))
		p++;
	*ret_tok = t;
	*ret_len = (size_t)(p - t);
	*pos = p;
	return true;
}

void sonde_token_trim(const char **s, size_t *n)
{
	const char *p = *s;
	size_t len = *n;

	while (len > 0 && is_blank(*p)) {
		p++;
		len--;
	}
	while (len > 0 && is_blank(p[len - 1]))
		len--;
	*s = p;
	*n = len;
}

void sonde_tokcount_feed(struct sonde_tokcount *tc, const uint8_t *p,
			 const uint8_t *end)
{
	for (; p < end; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			tc->in_tok = false;
			continue;
		}
		if (!tc->in_tok) {
			tc->in_tok = true;
			tc->ntok++;
			tc->last_len = 0;
		}
		if (tc->last_len < sizeof(tc->last))
			tc->last[tc->last_len] = (char)*p;
		if (tc->last_len < UINT8_MAX)
			tc->last_len++;
	}
}

bool sonde_hdr_fill(struct sonde_hdrbuf *h, size_t need, const uint8_t **pos,
		    const uint8_t *end)
{
	size_t avail, take;

	if (need > SONDE_HDR_MAX)
		need = SONDE_HDR_MAX;
	if (h->have >= need)
		return true;
	avail = (size_t)(end - *pos);
	take = need - h->have;
	if (take > avail)
		take = avail;
	memcpy(h->buf + h->have, *pos, take);
	h->have = (uint8_t)(h->have + take);
	*pos += take;
	return h->have >= need;
}

/* The body is complete: the stream is between frames again. */
static int frame_done(struct sonde_frame *f, const struct sonde_frame_ops *ops,
		      void *ctx, const uint8_t *buf)
{
	f->st = SONDE_FRAME_HDR;
	return ops->frame(ctx, buf, f->have);
}

int sonde_frame_feed(struct sonde_frame *f, const struct sonde_frame_ops *ops,
		     void *ctx, bool resume, uint8_t *buf, size_t cap,
		     const uint8_t *data, size_t len, size_t total, uint64_t ts)
{
	uint64_t gap = total > len ? total - len : 0, n;
	const uint8_t *p, *end, *hdr;
	int r;

	if (!data) {
		data = (const uint8_t *)"";
		len = 0;
	}
	p = data;
	end = data + len;
	if (f->st == SONDE_FRAME_RESYNC) {
		if (!resume)
			return 0;
		memset(f, 0, sizeof(*f));
		if (ops->reset)
			ops->reset(ctx);
	}
	while (p < end) {
		if (f->st == SONDE_FRAME_RESYNC)
			return 0;
		if (f->st == SONDE_FRAME_HDR) {
			if (f->hdr.have == 0) {
				f->msg_ts = ts;
				r = ops->hdr_len;
				if (ops->begin) {
					r = ops->begin(ctx, *p);
					if (r < 0)
						return r;
					if (r == 0) {
						p++;
						continue;
					}
				}
				f->need = r < SONDE_HDR_MAX ? (uint8_t)r : SONDE_HDR_MAX;
			}
			if (f->hdr.have == 0 && (size_t)(end - p) >= f->need) {
				hdr = p; /* whole in the chunk: read it in place */
				p += f->need;
			} else if (sonde_hdr_fill(&f->hdr, f->need, &p, end)) {
				hdr = f->hdr.buf;
			} else {
				break;
			}
			r = ops->length(ctx, hdr, &n);
			if (r < 0)
				return r;
			if (r > 0) {
				f->st = SONDE_FRAME_RESYNC;
				return 0;
			}
			sonde_hdr_reset(&f->hdr);
			f->remaining = n;
			f->have = 0;
			f->st = SONDE_FRAME_BODY;
		}
		if (f->st == SONDE_FRAME_BODY) {
			size_t avail = (size_t)(end - p), keep;

			if (avail > f->remaining)
				avail = (size_t)f->remaining;
			keep = cap - f->have < avail ? cap - f->have : avail;
			memcpy(buf + f->have, p, keep);
			f->have += (uint32_t)keep;
			p += avail;
			f->remaining -= avail;
			if (f->remaining == 0) {
				r = frame_done(f, ops, ctx, buf);
				if (r < 0)
					return r;
			}
		}
	}
	if (gap == 0 || f->st == SONDE_FRAME_RESYNC)
		return 0;
	if (f->st == SONDE_FRAME_BODY) {
		gap = sonde_skip_gap(&f->remaining, gap);
		if (f->remaining == 0) {
			r = frame_done(f, ops, ctx, buf);
			if (r < 0)
				return r;
		}
		if (gap == 0)
			return 0;
	}
	f->st = SONDE_FRAME_RESYNC;
	ops->lost(ctx);
	return 0;
}

void *sonde_fifo_adopt(void *arr, uint16_t *cap, void *inline_arr, unsigned inline_cap)
{
	if (arr && arr != inline_arr)
		return arr;
	*cap = (uint16_t)inline_cap;
	return inline_arr;
}

void *sonde_fifo_grow(struct sonde_fifo *f, void *arr, uint16_t *cap, size_t elem,
		      unsigned new_cap, const void *inline_arr)
{
	const uint8_t *old = arr;
	uint8_t *n;

	if (new_cap <= *cap || new_cap > UINT16_MAX)
		return NULL;
	n = malloc(new_cap * elem);
	if (!n)
		return NULL;
	for (unsigned i = 0; i < f->count; i++)
		memcpy(n + i * elem, old + ((f->head + i) % *cap) * elem, elem);
	if (arr != inline_arr)
		free(arr);
	f->head = 0;
	*cap = (uint16_t)new_cap;
	return n;
}

void *sonde_fifo_release(void *arr, uint16_t *cap, void *inline_arr, unsigned inline_cap)
{
	if (arr && arr != inline_arr)
		free(arr);
	*cap = (uint16_t)inline_cap;
	return inline_arr;
}

void *sonde_fifo_push_grow(struct sonde_fifo *f, void *arr, uint16_t *cap, size_t elem,
			   unsigned max_cap, const void *inline_arr, int *ret_slot)
{
	void *n;

	*ret_slot = sonde_fifo_push(f, *cap);
	if (*ret_slot >= 0)
		return arr;
	n = sonde_fifo_grow(f, arr, cap, elem, max_cap, inline_arr);
	if (!n)
		return arr;
	*ret_slot = sonde_fifo_push(f, *cap);
	return n;
}

static uint32_t dts_get(const uint8_t *e)
{
	uint32_t v;

	memcpy(&v, e, sizeof(v));
	return v;
}

void sonde_dts_rebase(const struct sonde_fifo *f, void *arr, unsigned cap, size_t elem,
		      uint64_t *base)
{
	uint8_t *a = arr;
	uint64_t shift;

	if (f->count == 0)
		return;
	shift = sonde_dts_decode(dts_get(a + (f->head % cap) * elem));
	if (shift < (1ull << 30))
		return;
	for (unsigned i = 0; i < f->count; i++) {
		uint8_t *e = a + ((f->head + i) % cap) * elem;
		uint64_t d = sonde_dts_decode(dts_get(e));
		uint32_t v = sonde_dts_encode(d > shift ? d - shift : 0);

		memcpy(e, &v, sizeof(v));
	}
	*base += shift;
}
