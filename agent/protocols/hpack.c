// SPDX-License-Identifier: MIT
/*
 * HPACK (RFC 7541) decoding: integers (5.1), strings (5.2) with the
 * Huffman code of Appendix B, the static table of Appendix A, the dynamic
 * table with its size accounting and evictions (4), the five field
 * representations (6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocols/hpack.h"

#define HPACK_DEFAULT_SIZE 4096
/* RFC 7541 4.1: bytes accounted per entry on top of its name and value. */
#define ENTRY_OVERHEAD 32
/* First allocation: a few typical entries; the table doubles from there. */
#define TABLE_MIN 256
/* Continuation bytes of an integer: 5 carry 35 bits, enough for 2^32 - 1. */
#define INT_MAX_CONT 5

/* ---- static table (Appendix A) ---- */

struct static_entry {
	const char *name;
	const char *value;
	uint8_t name_len;
	uint8_t value_len;
};

#define S(n, v) { n, v, sizeof(n) - 1, sizeof(v) - 1 }
static const struct static_entry static_table[] = {
	S(":authority", ""),
	S(":method", "GET"),
	S(":method", "POST"),
	S(":path", "/"),
	S(":path", "/index.html"),
	S(":scheme", "http"),
	S(":scheme", "https"),
	S(":status", "200"),
	S(":status", "204"),
	S(":status", "206"),
	S(":status", "304"),
	S(":status", "400"),
	S(":status", "404"),
	S(":status", "500"),
	S("accept-charset", ""),
	S("accept-encoding", "gzip, deflate"),
	S("accept-language", ""),
	S("accept-ranges", ""),
	S("accept", ""),
	S("access-control-allow-origin", ""),
	S("age", ""),
	S("allow", ""),
	S("authorization", ""),
	S("cache-control", ""),
	S("content-disposition", ""),
	S("content-encoding", ""),
	S("content-language", ""),
	S("content-length", ""),
	S("content-location", ""),
	S("content-range", ""),
	S("content-type", ""),
	S("cookie", ""),
	S("date", ""),
	S("etag", ""),
	S("expect", ""),
	S("expires", ""),
	S("from", ""),
	S("host", ""),
	S("if-match", ""),
	S("if-modified-since", ""),
	S("if-none-match", ""),
	S("if-range", ""),
	S("if-unmodified-since", ""),
	S("last-modified", ""),
	S("link", ""),
	S("location", ""),
	S("max-forwards", ""),
	S("proxy-authenticate", ""),
	S("proxy-authorization", ""),
	S("range", ""),
	S("referer", ""),
	S("refresh", ""),
	S("retry-after", ""),
	S("server", ""),
	S("set-cookie", ""),
	S("strict-transport-security", ""),
	S("transfer-encoding", ""),
	S("user-agent", ""),
	S("vary", ""),
	S("via", ""),
	S("www-authenticate", ""),
};
#undef S
#define STATIC_COUNT (sizeof(static_table) / sizeof(static_table[0]))
_Static_assert(STATIC_COUNT == 61, "RFC 7541 Appendix A has 61 entries");

/* ---- Huffman code (Appendix B) ---- */

/*
 * The code is canonical: codes of one length are consecutive, in symbol
 * order, and each length's codes follow the shorter ones. So a symbol is
 * found from its length alone: left-justified in 32 bits, the next code is
 * of the first length whose end it lies below, and its rank among that
 * length's codes indexes huff_sym. Most header text is 5 to 8 bits a
 * symbol: a few compares.
 */
struct huff_len {
	uint32_t end;   /* first left-justified code past this length's codes */
	uint32_t first; /* this length's first code */
	uint16_t base;  /* huff_sym index of that code's symbol */
	uint8_t len;
};

#define HUFF_NLENS 21
#define HUFF_EOS 256

/* Symbols by code length, then value. */
static const uint16_t huff_sym[257] = {
	48, 49, 50, 97, 99, 101, 105, 111, 115, 116, 32, 37,
	45, 46, 47, 51, 52, 53, 54, 55, 56, 57, 61, 65,
	95, 98, 100, 102, 103, 104, 108, 109, 110, 112, 114, 117,
	58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
	77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 89,
	106, 107, 113, 118, 119, 120, 121, 122, 38, 42, 44, 59,
	88, 90, 33, 34, 40, 41, 63, 39, 43, 124, 35, 62,
	0, 36, 64, 91, 93, 126, 94, 125, 60, 96, 123, 92,
	195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161,
	167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230, 129,
	132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170,
	173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232,
	233, 1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150,
	151, 152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182,
	183, 188, 191, 197, 231, 239, 9, 142, 144, 145, 148, 159,
	171, 206, 215, 225, 236, 237, 199, 207, 234, 235, 192, 193,
	200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243,
	255, 203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245,
	246, 247, 248, 250, 251, 252, 253, 254, 2, 3, 4, 5,
	6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20,
	21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220,
	249, 10, 13, 22, HUFF_EOS,
};

/* The last length's end would be 2^32: it is never compared. */
static const struct huff_len huff_lens[HUFF_NLENS] = {
	{ 0x50000000u, 0x0u, 0, 5 },
	{ 0xb8000000u, 0x14u, 10, 6 },
	{ 0xf8000000u, 0x5cu, 36, 7 },
	{ 0xfe000000u, 0xf8u, 68, 8 },
	{ 0xff400000u, 0x3f8u, 74, 10 },
	{ 0xffa00000u, 0x7fau, 79, 11 },
	{ 0xffc00000u, 0xffau, 82, 12 },
	{ 0xfff00000u, 0x1ff8u, 84, 13 },
	{ 0xfff80000u, 0x3ffcu, 90, 14 },
	{ 0xfffe0000u, 0x7ffcu, 92, 15 },
	{ 0xfffe6000u, 0x7fff0u, 95, 19 },
	{ 0xfffee000u, 0xfffe6u, 98, 20 },
	{ 0xffff4800u, 0x1fffdcu, 106, 21 },
	{ 0xffffb000u, 0x3fffd2u, 119, 22 },
	{ 0xffffea00u, 0x7fffd8u, 145, 23 },
	{ 0xfffff600u, 0xffffeau, 174, 24 },
	{ 0xfffff800u, 0x1ffffecu, 186, 25 },
	{ 0xfffffbc0u, 0x3ffffe0u, 190, 26 },
	{ 0xfffffe20u, 0x7ffffdeu, 205, 27 },
	{ 0xfffffff0u, 0xfffffe2u, 224, 28 },
	{ 0xffffffffu, 0x3ffffffcu, 253, 30 },
};

/*
 * Decodes the Huffman string [p, p + n): the first cap bytes into out,
 * the full decoded length into *ret_len. Padding must be at most 7 bits,
 * all ones (a prefix of EOS); EOS itself must not appear (5.2).
 */
static int huff_decode(const uint8_t *p, size_t n, char *out, size_t cap, size_t *ret_len)
{
	const uint8_t *end = p + n;
	uint64_t acc = 0; /* the low nbits bits are input not yet decoded */
	unsigned nbits = 0;
	size_t len = 0;

	for (;;) {
		const struct huff_len *hl = huff_lens;
		uint32_t v;
		unsigned sym;

		while (nbits <= 56 && p < end) {
			acc = acc << 8 | *p++;
			nbits += 8;
		}
		if (nbits == 0)
			break;
		/* The next 32 bits, ones past the input as padding would be. */
		if (nbits >= 32)
			v = (uint32_t)(acc >> (nbits - 32));
		else
			v = (uint32_t)(acc << (32 - nbits)) |
			    (uint32_t)((1ull << (32 - nbits)) - 1);
		while (hl < huff_lens + HUFF_NLENS - 1 && v >= hl->end)
			hl++;
		if (hl->len > nbits) {
			/* Input is over (else 30+ bits would be held): padding. */
			uint64_t ones = (1ull << nbits) - 1;

			if (nbits > 7 || (acc & ones) != ones)
				return -EINVAL;
			break;
		}
		sym = huff_sym[hl->base + ((v >> (32 - hl->len)) - hl->first)];
		if (sym == HUFF_EOS)
			return -EINVAL;
		if (len < cap)
			out[len] = (char)sym;
		len++;
		nbits -= hl->len;
	}
	*ret_len = len;
	return 0;
}

/* ---- integers and strings (5.1, 5.2) ---- */

/* An integer with a prefix of `bits` bits starting at *pos (which is < end). */
static int get_int(const uint8_t **pos, const uint8_t *end, unsigned bits, uint32_t *ret)
{
	const uint8_t *p = *pos;
	uint32_t mask = (1u << bits) - 1;
	uint64_t v = *p++ & mask;

	if (v == mask) {
		unsigned i;

		for (i = 0;; i++) {
			uint8_t b;

			/* Zero-valued continuations could pad forever: bound them. */
			if (p == end || i == INT_MAX_CONT)
				return -EINVAL;
			b = *p++;
			v += (uint64_t)(b & 0x7f) << (7 * i);
			if (v > UINT32_MAX)
				return -EINVAL;
			if (!(b & 0x80))
				break;
		}
	}
	*pos = p;
	*ret = (uint32_t)v;
	return 0;
}

/* A name or value: the bytes kept (ptr, len) and the full decoded length. */
struct hstr {
	const char *ptr;
	size_t len;
	uint32_t full;
};

static size_t cut(uint32_t n)
{
	return n < SONDE_HPACK_STR_MAX ? n : SONDE_HPACK_STR_MAX;
}

/*
 * A string literal at *pos: raw ones are pointed at in the block, Huffman
 * ones decoded into buf (SONDE_HPACK_STR_MAX bytes).
 */
static int get_str(const uint8_t **pos, const uint8_t *end, char *buf, struct hstr *s)
{
	bool huff;
	uint32_t n;
	size_t full;

	if (*pos == end)
		return -EINVAL;
	huff = **pos & 0x80;
	if (get_int(pos, end, 7, &n) < 0 || n > (size_t)(end - *pos))
		return -EINVAL;
	if (huff) {
		/* Up to 1.6 symbols a byte: a length past 32 bits is no entry's. */
		if (huff_decode(*pos, n, buf, SONDE_HPACK_STR_MAX, &full) < 0 ||
		    full > UINT32_MAX)
			return -EINVAL;
		s->ptr = buf;
		s->full = (uint32_t)full;
	} else {
		s->ptr = (const char *)*pos;
		s->full = n;
	}
	s->len = cut(s->full);
	*pos += n;
	return 0;
}

/* ---- dynamic table storage ---- */

/*
 * Per entry: its bytes (name then value, each cut) and a descriptor. Full
 * lengths fit 16 bits since an entry is at most SONDE_HPACK_LIMIT_MAX - 32;
 * offsets do since the storage is at most SONDE_HPACK_LIMIT_MAX bytes.
 */
struct desc {
	uint16_t off;
	uint16_t name_full;
	uint16_t value_full;
};
#define DESC_SIZE ((uint32_t)sizeof(struct desc))
_Static_assert(sizeof(struct desc) == 6, "descriptors are packed");
/* Storage per entry (cut bytes + descriptor) never exceeds its RFC size. */
_Static_assert(sizeof(struct desc) <= ENTRY_OVERHEAD, "descriptor within overhead");

static struct desc desc_at(const struct sonde_hpack *h, uint32_t at)
{
	struct desc d;

	memcpy(&d, h->buf + at, sizeof(d));
	return d;
}

static uint32_t entry_bytes(const struct desc *d)
{
	return (uint32_t)(cut(d->name_full) + cut(d->value_full));
}

static uint32_t entry_count(const struct sonde_hpack *h)
{
	return (h->desc_hi - h->desc_lo) / DESC_SIZE;
}

/* Empty table: both regions restart at their ends of the storage. */
static void table_reset(struct sonde_hpack *h)
{
	h->rec_lo = h->rec_hi = 0;
	h->desc_lo = h->desc_hi = h->cap;
	h->size = 0;
}

static void evict_oldest(struct sonde_hpack *h)
{
	struct desc d = desc_at(h, h->desc_hi - DESC_SIZE);

	h->size -= (uint32_t)d.name_full + d.value_full + ENTRY_OVERHEAD;
	h->rec_lo += entry_bytes(&d);
	h->desc_hi -= DESC_SIZE;
	if (h->desc_hi == h->desc_lo)
		table_reset(h);
}

/* Entries' bytes to the bottom, descriptors to the top: one free gap. */
static void compact(struct sonde_hpack *h)
{
	uint32_t shift = h->rec_lo, ndesc = h->desc_hi - h->desc_lo;

	if (!h->buf)
		return;
	if (shift) {
		memmove(h->buf, h->buf + shift, h->rec_hi - shift);
		h->rec_lo = 0;
		h->rec_hi -= shift;
		for (uint32_t at = h->desc_lo; at < h->desc_hi; at += DESC_SIZE) {
			struct desc d = desc_at(h, at);

			d.off = (uint16_t)(d.off - shift);
			memcpy(h->buf + at, &d, sizeof(d));
		}
	}
	if (h->desc_hi != h->cap) {
		memmove(h->buf + h->cap - ndesc, h->buf + h->desc_lo, ndesc);
		h->desc_lo = h->cap - ndesc;
		h->desc_hi = h->cap;
	}
}

/*
 * Moves the storage to newcap bytes (compacted, and newcap holds what is
 * live). Shrinking that fails keeps the larger block, used as newcap.
 */
static int resize(struct sonde_hpack *h, uint32_t newcap)
{
	uint32_t ndesc = h->desc_hi - h->desc_lo;
	uint8_t *p;

	if (newcap < h->cap) {
		memmove(h->buf + newcap - ndesc, h->buf + h->desc_lo, ndesc);
		p = realloc(h->buf, newcap);
		if (p)
			h->buf = p;
	} else {
		p = realloc(h->buf, newcap);
		if (!p)
			return -ENOMEM;
		memmove(p + newcap - ndesc, p + h->desc_lo, ndesc);
		h->buf = p;
	}
	h->cap = newcap;
	h->desc_lo = newcap - ndesc;
	h->desc_hi = newcap;
	return 0;
}

/*
 * Room for an entry of n bytes and its descriptor. The caller evicted
 * down to max first, so what is live plus the new entry fits in max - 26
 * (every entry keeps at most its RFC size less 26 bytes): growing is
 * bounded by max.
 */
static int make_room(struct sonde_hpack *h, uint32_t n)
{
	uint32_t need = n + DESC_SIZE, live, newcap, ceiling = h->max & ~1u;

	if (h->desc_lo - h->rec_hi >= need)
		return 0;
	compact(h);
	if (h->desc_lo - h->rec_hi >= need)
		return 0;
	live = h->rec_hi + (h->desc_hi - h->desc_lo);
	newcap = h->cap ? h->cap * 2 : TABLE_MIN;
	if (newcap < live + need)
		newcap = (live + need + 1) & ~1u;
	if (newcap > ceiling)
		newcap = ceiling;
	return resize(h, newcap);
}

/* Evicts down to max (4.3) and keeps the storage within it. */
static void set_max(struct sonde_hpack *h, uint32_t max)
{
	h->max = max;
	while (h->size > max)
		evict_oldest(h);
	if (h->cap <= (max & ~1u))
		return;
	if (h->desc_hi == h->desc_lo) {
		free(h->buf);
		h->buf = NULL;
		h->cap = 0;
		table_reset(h);
		return;
	}
	compact(h);
	resize(h, max & ~1u);
}

/* A field as found: static or dynamic entry, or literal strings. */
struct field {
	struct hstr name;
	struct hstr value;
};

/* 2.3.3: 1..61 static, then dynamic, newest first. */
static int lookup(const struct sonde_hpack *h, uint32_t idx, struct field *f)
{
	struct desc d;

	if (idx == 0)
		return -EINVAL;
	if (idx <= STATIC_COUNT) {
		const struct static_entry *e = &static_table[idx - 1];

		f->name = (struct hstr){ e->name, e->name_len, e->name_len };
		f->value = (struct hstr){ e->value, e->value_len, e->value_len };
		return 0;
	}
	idx -= STATIC_COUNT;
	if (idx > entry_count(h))
		return -EINVAL;
	d = desc_at(h, h->desc_lo + (idx - 1) * DESC_SIZE);
	f->name = (struct hstr){ (const char *)h->buf + d.off, cut(d.name_full), d.name_full };
	f->value = (struct hstr){ f->name.ptr + f->name.len, cut(d.value_full), d.value_full };
	return 0;
}

/*
 * 4.4: evict until the new entry fits, or empty the table when it cannot.
 * The field's strings must not point into the table.
 */
static int insert(struct sonde_hpack *h, const struct field *f)
{
	uint64_t rfc = (uint64_t)f->name.full + f->value.full + ENTRY_OVERHEAD;
	struct desc d;
	uint32_t n;

	if (rfc > h->max) {
		while (h->desc_hi != h->desc_lo)
			evict_oldest(h);
		return 0;
	}
	while (h->size + rfc > h->max)
		evict_oldest(h);
	n = (uint32_t)(f->name.len + f->value.len);
	if (make_room(h, n) < 0)
		return -ENOMEM;
	d.off = (uint16_t)h->rec_hi;
	d.name_full = (uint16_t)f->name.full;
	d.value_full = (uint16_t)f->value.full;
	/* Empty strings may point at nothing memcpy should see. */
	if (f->name.len)
		memcpy(h->buf + h->rec_hi, f->name.ptr, f->name.len);
	if (f->value.len)
		memcpy(h->buf + h->rec_hi + f->name.len, f->value.ptr, f->value.len);
	h->rec_hi += n;
	h->desc_lo -= DESC_SIZE;
	memcpy(h->buf + h->desc_lo, &d, sizeof(d));
	h->size += (uint32_t)rfc;
	return 0;
}

/* ---- field representations (6) ---- */

/* Scratch for Huffman-decoded strings, on the decoder's stack. */
struct scratch {
	char name[SONDE_HPACK_STR_MAX];
	char value[SONDE_HPACK_STR_MAX];
};

/*
 * 6.2: a literal, its name indexed (prefix bits of index) or literal.
 * With incremental indexing the entry goes into the table first.
 */
static int literal(struct sonde_hpack *h, const uint8_t **pos, const uint8_t *end,
		   unsigned bits, bool indexing, struct scratch *sc, struct field *f)
{
	uint32_t idx;

	if (get_int(pos, end, bits, &idx) < 0)
		return -EINVAL;
	if (idx) {
		if (lookup(h, idx, f) < 0)
			return -EINVAL;
	} else if (get_str(pos, end, sc->name, &f->name) < 0) {
		return -EINVAL;
	}
	if (get_str(pos, end, sc->value, &f->value) < 0)
		return -EINVAL;
	if (!indexing)
		return 0;
	/* Inserting may evict or move the entry the name comes from. */
	if (idx > STATIC_COUNT) {
		memcpy(sc->name, f->name.ptr, f->name.len);
		f->name.ptr = sc->name;
	}
	return insert(h, f);
}

/* One representation at *pos; *fields says whether a field came before. */
static int representation(struct sonde_hpack *h, const uint8_t **pos, const uint8_t *end,
			  bool *fields, struct scratch *sc, struct field *f)
{
	uint8_t c = **pos;
	uint32_t v;

	if (c & 0x80) { /* 6.1 indexed */
		*fields = true;
		if (get_int(pos, end, 7, &v) < 0)
			return -EINVAL;
		return lookup(h, v, f);
	}
	if (c & 0x40) { /* 6.2.1 with incremental indexing */
		*fields = true;
		return literal(h, pos, end, 6, true, sc, f);
	}
	if (c & 0x20) { /* 6.3 size update: only before the first field (4.2) */
		if (*fields || get_int(pos, end, 5, &v) < 0 || v > h->limit)
			return -EINVAL;
		set_max(h, v);
		return 1;
	}
	/* 6.2.2 without indexing, 6.2.3 never indexed */
	*fields = true;
	return literal(h, pos, end, 4, false, sc, f);
}

int sonde_hpack_decode(struct sonde_hpack *h, const uint8_t *block, size_t len,
		       sonde_hpack_header_fn fn, void *userdata)
{
	const uint8_t *pos = block, *end;
	struct scratch sc;
	bool fields = false;

	if (h->broken)
		return -EINVAL;
	if (len == 0)
		return 0;
	end = block + len;
	while (pos < end) {
		struct field f;
		int r = representation(h, &pos, end, &fields, &sc, &f);

		if (r < 0) {
			h->broken = true;
			return r;
		}
		if (r == 0 && fn)
			fn(f.name.ptr, f.name.len, f.value.ptr, f.value.len, userdata);
	}
	return 0;
}

void sonde_hpack_init(struct sonde_hpack *h)
{
	h->buf = NULL;
	h->cap = 0;
	table_reset(h);
	h->max = HPACK_DEFAULT_SIZE;
	h->limit = HPACK_DEFAULT_SIZE;
	h->broken = false;
}

void sonde_hpack_fini(struct sonde_hpack *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

void sonde_hpack_set_limit(struct sonde_hpack *h, uint32_t limit)
{
	if (limit > SONDE_HPACK_LIMIT_MAX)
		limit = SONDE_HPACK_LIMIT_MAX;
	h->limit = limit;
	if (h->max > limit)
		set_max(h, limit);
}

bool sonde_hpack_broken(const struct sonde_hpack *h)
{
	return h->broken;
}

uint32_t sonde_hpack_size(const struct sonde_hpack *h)
{
	return h->size;
}
