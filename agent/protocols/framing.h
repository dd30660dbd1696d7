/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_FRAMING_H
#define SONDE_PROTOCOLS_FRAMING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Framing helpers shared by the wire parsers: CRLF lines split across
 * chunks, decimal/hex lengths from hostile bytes, tokens, fixed-size binary
 * headers split across chunks, body skipping with capture gaps, a driver
 * for length-prefixed frames, and an index FIFO for pipelined requests. Nothing here allocates or logs; every
 * function is bounded by pointer+length.
 */

/* ---- CRLF lines split across chunks ---- */

/*
 * Per-stream line state; the storage is the caller's (a char array in its
 * state block) so that each parser picks its own bound.
 */
struct sonde_linebuf {
	uint32_t len;   /* bytes of the current line stored (<= cap) */
	bool truncated; /* the current line was longer than cap */
};

/* A complete line, without its terminating LF and an optional CR before it. */
struct sonde_line {
	const char *ptr; /* into the chunk when the line lies whole in it, else into the storage */
	size_t len;
	/* Longer than the storage: ptr holds only its first len bytes. */
	bool truncated;
};

static inline void sonde_line_reset(struct sonde_linebuf *lb)
{
	lb->len = 0;
	lb->truncated = false;
}

/* True while part of a line has been taken but not its LF. */
static inline bool sonde_line_pending(const struct sonde_linebuf *lb)
{
	return lb->len > 0 || lb->truncated;
}

/*
 * Takes bytes from *pos towards end. When an LF-terminated line completes,
 * fills *ret_line (valid until the next call on this linebuf or until the
 * chunk goes away), advances *pos past the LF and returns true. Otherwise
 * stores what it can of the partial line in buf (bytes beyond cap are
 * dropped but the line is still tracked, so framing survives), advances
 * *pos to end and returns false.
 */
bool sonde_line_next(struct sonde_linebuf *lb, char *buf, size_t cap,
		     const uint8_t **pos, const uint8_t *end,
		     struct sonde_line *ret_line);

/* ---- numbers from hostile bytes ---- */

/* The whole of [s, s+n) is an unsigned decimal that fits in 64 bits. */
bool sonde_parse_u64(const char *s, size_t n, uint64_t *ret_v);
/* Optional '-' or '+', then decimal digits; fits in int64_t. */
bool sonde_parse_i64(const char *s, size_t n, int64_t *ret_v);
/* Hex digits (either case), at most 16 significant. */
bool sonde_parse_hex_u64(const char *s, size_t n, uint64_t *ret_v);

/* ---- tokens ---- */

/*
 * The next token of [*pos, end) separated by spaces or tabs; advances *pos
 * past it. False when only blanks remain.
 */
bool sonde_token_next(const char **pos, const char *end, const char **ret_tok,
		      size_t *ret_len);
/*
 * Exact and ASCII case-insensitive comparison of a token with a C string.
 * Inline: called with literals, whose strlen folds to a constant, so most
 * mismatches cost one compare of lengths (every header line of every
 * HTTP message goes through a few of these).
 */
static inline bool sonde_token_eq(const char *tok, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return n == len && memcmp(tok, lit, n) == 0;
}

static inline bool sonde_token_caseeq(const char *tok, size_t len, const char *lit)
{
	if (strlen(lit) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char a = tok[i], b = lit[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (char)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}
/* Strips leading and trailing spaces and tabs from [*s, *s + *n). */
void sonde_token_trim(const char **s, size_t *n);

/*
 * Counts the blank-separated tokens of a line as its bytes stream past, for
 * lines longer than any buffer (a multi-get of a thousand keys). Also keeps
 * the first bytes of the last token ("noreply").
 */
struct sonde_tokcount {
	uint32_t ntok;
	bool in_tok;
	uint8_t last_len; /* saturates at 255 */
	char last[8];
};

static inline void sonde_tokcount_reset(struct sonde_tokcount *tc)
{
	tc->ntok = 0;
	tc->in_tok = false;
	tc->last_len = 0;
}

/* CR and LF count as blanks, so the consumed line end may be included. */
void sonde_tokcount_feed(struct sonde_tokcount *tc, const uint8_t *p,
			 const uint8_t *end);

/* ---- fixed-size binary headers split across chunks ---- */

#define SONDE_HDR_MAX 16

struct sonde_hdrbuf {
	uint8_t buf[SONDE_HDR_MAX];
	uint8_t have;
};

static inline void sonde_hdr_reset(struct sonde_hdrbuf *h)
{
	h->have = 0;
}

/*
 * Accumulates bytes from *pos until `need` (<= SONDE_HDR_MAX) are held in
 * h->buf; returns true once they are (then h->buf[0..need) is the header:
 * reset before the next one).
 */
bool sonde_hdr_fill(struct sonde_hdrbuf *h, size_t need, const uint8_t **pos,
		    const uint8_t *end);

static inline uint16_t sonde_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t sonde_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t sonde_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t sonde_le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static inline uint32_t sonde_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ---- skipping bodies, with capture gaps ---- */

/*
 * Consumes up to *remaining bytes of [*pos, end); true when the skip is
 * complete (*remaining reached 0).
 */
static inline bool sonde_skip(uint64_t *remaining, const uint8_t **pos,
			      const uint8_t *end)
{
	uint64_t avail = (uint64_t)(end - *pos);
	uint64_t n = *remaining < avail ? *remaining : avail;

	*pos += n;
	*remaining -= n;
	return *remaining == 0;
}

/*
 * A chunk lost `gap` bytes (total - len) after its captured bytes. Absorbs
 * as much of it as the body being skipped allows and returns the rest: a
 * non-zero result means the gap reached bytes where framing was needed.
 */
static inline uint64_t sonde_skip_gap(uint64_t *remaining, uint64_t gap)
{
	if (gap <= *remaining) {
		*remaining -= gap;
		return 0;
	}
	gap -= *remaining;
	*remaining = 0;
	return gap;
}

/* ---- length-prefixed frames: a header, then a body kept up to a prefix ---- */

enum sonde_frame_st {
	SONDE_FRAME_HDR = 0, /* between frames, or part of a header held */
	SONDE_FRAME_BODY,    /* inside a body */
	SONDE_FRAME_RESYNC,  /* framing lost: chunks are ignored until resumed */
};

/* Per-stream state; zeroed is between frames. */
struct sonde_frame {
	struct sonde_hdrbuf hdr;
	uint8_t st;         /* enum sonde_frame_st */
	uint8_t need;       /* size of the header being read */
	uint32_t have;      /* body bytes kept in the caller's prefix buffer */
	uint64_t remaining; /* body bytes still to come */
	uint64_t msg_ts;    /* ts of the chunk that held the header's first byte */
};

/* True when part of a frame has been taken (not while resyncing). */
static inline bool sonde_frame_partial(const struct sonde_frame *f)
{
	return f->st == SONDE_FRAME_BODY ||
	       (f->st == SONDE_FRAME_HDR && f->hdr.have > 0);
}

/* How a parser's frames look; ctx is the caller's, passed through. */
struct sonde_frame_ops {
	uint8_t hdr_len; /* header size (<= SONDE_HDR_MAX) when begin is NULL */
	/*
	 * Optional. At the first byte c of a header, not yet taken: the
	 * header's size (1..SONDE_HDR_MAX); 0 when the parser took c itself
	 * (it belongs to no frame); or a negative errno to return.
	 */
	int (*begin)(void *ctx, uint8_t c);
	/*
	 * The header is whole at hdr (in the chunk or the frame's hdr.buf:
	 * valid during the call only): 0 with the body length in *ret_len;
	 * > 0 when the parser rejected it (counted, resynced: the stream goes
	 * to RESYNC and the rest of the chunk is ignored); or a negative
	 * errno to return.
	 */
	int (*length)(void *ctx, const uint8_t *hdr, uint64_t *ret_len);
	/*
	 * A body is complete: its first `have` bytes are in body, fewer than
	 * min(length, cap) when the rest fell into a capture gap. The stream
	 * is between frames again unless the parser sets RESYNC. A negative
	 * errno is returned; any other result goes on.
	 */
	int (*frame)(void *ctx, const uint8_t *body, size_t have);
	/*
	 * Bytes were lost where a header was due: the stream is now in RESYNC;
	 * the parser counts it and settles what was pending.
	 */
	void (*lost)(void *ctx);
	/* Optional: the stream starts over after RESYNC (the frame is zeroed). */
	void (*reset)(void *ctx);
};

/*
 * Feeds one chunk (the first `len` of `total` bytes moved; data may be NULL)
 * to a stream of length-prefixed frames. A stream in RESYNC ignores the
 * chunk unless `resume`, and then starts over at it. Headers are gathered
 * across chunks; the first `cap` bytes of each body are kept in buf and the
 * rest skipped, capture gaps included. Returns 0, or a callback's negative
 * errno.
 */
int sonde_frame_feed(struct sonde_frame *f, const struct sonde_frame_ops *ops,
		     void *ctx, bool resume, uint8_t *buf, size_t cap,
		     const uint8_t *data, size_t len, size_t total, uint64_t ts);

/* ---- a FIFO of slot indexes for pipelined requests ---- */

/* The caller owns an array of `cap` entries; this tracks which are live. */
struct sonde_fifo {
	uint16_t head;
	uint16_t count;
};

static inline void sonde_fifo_reset(struct sonde_fifo *f)
{
	f->head = 0;
	f->count = 0;
}

static inline bool sonde_fifo_empty(const struct sonde_fifo *f)
{
	return f->count == 0;
}

/* Index of a new tail slot, or -ENOBUFS when full. */
static inline int sonde_fifo_push(struct sonde_fifo *f, unsigned cap)
{
	if (f->count >= cap)
		return -ENOBUFS;
	return (int)((f->head + f->count++) % cap);
}

/* Index of the oldest slot, or -ENOENT when empty. */
static inline int sonde_fifo_front(const struct sonde_fifo *f, unsigned cap)
{
	if (f->count == 0)
		return -ENOENT;
	return (int)(f->head % cap);
}

/* Index of the newest slot, or -ENOENT when empty. */
static inline int sonde_fifo_back(const struct sonde_fifo *f, unsigned cap)
{
	if (f->count == 0)
		return -ENOENT;
	return (int)((f->head + f->count - 1u) % cap);
}

static inline void sonde_fifo_pop(struct sonde_fifo *f, unsigned cap)
{
	if (f->count == 0)
		return;
	f->head = (uint16_t)((f->head + 1u) % cap);
	f->count--;
}

/*
 * A FIFO whose entries start in a small array inside the parser's state
 * and move to the heap when a connection pipelines deeper. Each call
 * returns the array the parser uses from then on.
 *
 * sonde_fifo_adopt, at init: arr itself when it is a heap array grown in
 * an earlier life of the state block, else inline_arr with *cap set.
 * sonde_fifo_grow: a heap array of new_cap entries of `elem` bytes
 * holding arr's *cap-entry ring oldest first (head 0; arr freed unless it
 * is inline_arr), or NULL, nothing changed, when out of memory or already
 * that big. A slot index taken before the move is at
 * (slot + cap - head) % cap after it (old head and cap).
 * sonde_fifo_release, at fini: frees a grown array, returns inline_arr.
 */
void *sonde_fifo_adopt(void *arr, uint16_t *cap, void *inline_arr, unsigned inline_cap);
void *sonde_fifo_grow(struct sonde_fifo *f, void *arr, uint16_t *cap, size_t elem,
		      unsigned new_cap, const void *inline_arr);
void *sonde_fifo_release(void *arr, uint16_t *cap, void *inline_arr, unsigned inline_cap);

/*
 * sonde_fifo_push on a FIFO that may grow: when full, arr moves to a heap
 * array of max_cap entries (sonde_fifo_grow). Returns the array to use;
 * *ret_slot is the new tail slot, or -ENOBUFS when full at max_cap or out
 * of memory.
 */
void *sonde_fifo_push_grow(struct sonde_fifo *f, void *arr, uint16_t *cap, size_t elem,
			   unsigned max_cap, const void *inline_arr, int *ret_slot);

/* ---- compact start times of pending requests ---- */

/*
 * A start as ns after a per-queue base: exact below 2^31 (2.1 s); beyond,
 * the top bit set and units of 1024 ns (up to 36 min; later saturates).
 * The base is the start of the first request queued into an empty queue.
 */
#define SONDE_DTS_COARSE 0x80000000u

static inline uint32_t sonde_dts_encode(uint64_t delta)
{
	if (delta < SONDE_DTS_COARSE)
		return (uint32_t)delta;
	delta >>= 10;
	return SONDE_DTS_COARSE |
	       (uint32_t)(delta < SONDE_DTS_COARSE ? delta : SONDE_DTS_COARSE - 1);
}

static inline uint64_t sonde_dts_decode(uint32_t v)
{
	return (v & SONDE_DTS_COARSE) ? (uint64_t)(v & ~SONDE_DTS_COARSE) << 10 : v;
}

/*
 * After a pop: when the new front started more than 2^30 ns after *base,
 * the base moves to its start and every entry's delta shrinks by as much,
 * so that a queue that never drains keeps its deltas small. Entries are
 * elem bytes and start with their uint32_t delta.
 */
void sonde_dts_rebase(const struct sonde_fifo *f, void *arr, unsigned cap, size_t elem,
		      uint64_t *base);

#endif
