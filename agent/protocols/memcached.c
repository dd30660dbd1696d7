// SPDX-License-Identifier: MIT
/*
 * Memcached text and meta protocols. Requests are lines (storage commands
 * and ms carry a data block); responses are lines, VALUE/VA carry a data
 * block, get-family and stats responses run until END. Quiet meta
 * commands (q flag) may get no response at all: they are resolved when a
 * later response shows they were skipped (mn's MN at the latest).
 * Cache counts follow memcached's get_hits/get_misses (see the ARCH doc).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "protocols/framing.h"
#include "protocols/protocol.h"

/*
 * Pipelined requests awaiting their response. Clients pipeline hundreds
 * (a bulk of quiet `mg k v q` ... `mn`, single gets fanned out by a
 * client library): entries are 12 bytes, so the queue is 6 KiB and the
 * whole state block 7,048 bytes per connection on x86-64, allocated when
 * the connection is detected as memcached (test_state_bounded prints it;
 * the connection table's cap multiplies it). 64 entries of 32 bytes made
 * 2,864 bytes before; a smaller record would need lossy key hashes.
 */
#define MC_PENDING_MAX 512
/* Held inline; the queue moves to a heap array of MC_PENDING_MAX the first
 * time a connection pipelines deeper (sonde_fifo_grow). */
#define MC_PENDING_INLINE 16
/* Runs of requests dropped while the queue was full (see drop_request). */
#define MC_SKIPS_MAX 8
#define MC_REQ_LINE_MAX 320 /* a 250-byte key and its meta flags */
#define MC_RESP_LINE_MAX 320

enum mc_op {
	OP_OTHER = 0, OP_GET, OP_GETS, OP_GAT, OP_GATS, OP_SET, OP_ADD,
	OP_REPLACE, OP_APPEND, OP_PREPEND, OP_CAS, OP_DELETE, OP_INCR, OP_DECR,
	OP_TOUCH, OP_STATS, OP_VERSION, OP_FLUSH_ALL, OP_VERBOSITY, OP_QUIT,
	OP_MG, OP_MS, OP_MD, OP_MA, OP_MN, OP_ME, OP_SHUTDOWN, OP_CACHE_MEMLIMIT,
	OP_SLABS, OP_LRU_CRAWLER, OP_LRU, OP_WATCH,
	OP_COUNT_
};

static const char *const mc_op_names[OP_COUNT_] = {
	"other", "get", "gets", "gat", "gats", "set", "add", "replace",
	"append", "prepend", "cas", "delete", "incr", "decr", "touch", "stats",
	"version", "flush_all", "verbosity", "quit", "mg", "ms", "md", "ma",
	"mn", "me", "shutdown", "cache_memlimit", "slabs", "lru_crawler", "lru",
	"watch",
};

enum mc_resp {
	R_OTHER = 0, R_VALUE, R_END, R_VA, R_HD, R_EN, R_NF, R_NS, R_EX, R_MN,
	R_ME, R_ERROR, R_STAT,
};

enum {
	MF_QUIET = 1 << 0,
	MF_TOUCH = 1 << 1, /* mg with T: memcached counts a hit as a touch */
	MF_WANT_K = 1 << 2, /* k flag: the response echoes the key */
	MF_OPAQUE = 1 << 3, /* O flag: the response echoes the opaque */
	MF_SKIP = 1 << 4, /* dropped requests follow: a run in skips[] */
	MF_STORED = 0x1f, /* the flags a pending entry keeps */
	MF_NOREPLY = 1 << 7, /* no response will come: never queued */
};

enum { MQ_LINE = 0, MQ_DATA, MQ_RESYNC, MQ_DEAD };
enum { MS_LINE = 0, MS_DATA, MS_RESYNC };

/* A request at full width: being parsed, or being emitted. */
struct mc_req {
	uint64_t start_ns;
	uint64_t req_bytes;
	uint32_t nkeys;
	uint32_t echo; /* meta: hash of the k/O echo its response carries */
	uint8_t op;
	uint8_t flags;
};

/*
 * A pending request, compact (12 bytes): its start relative to
 * st->pend_base (see sonde_dts_encode), request bytes exact below 2 MiB (see
 * bytes_encode), the key count or the echo hash, op and flags.
 */
struct mc_pending {
	uint32_t dts;
	uint32_t aux;  /* get/gets/gat/gats: keys; meta: the echo hash */
	uint32_t info; /* op: bits 0-4, flags: 5-9, request bytes: 10-31 */
};
_Static_assert(offsetof(struct mc_pending, dts) == 0, "sonde_dts_rebase reads it there");

#define PI_FLAGS_SHIFT 5
#define PI_BYTES_SHIFT 10

_Static_assert(OP_COUNT_ <= 32, "op must fit 5 bits");
_Static_assert(sizeof(struct mc_pending) == 12, "pending entries stay compact");

/*
 * Requests dropped after one queued entry (marked MF_SKIP): their
 * responses are skipped. `mn` are dropped mn commands: every response up
 * to that many MN belongs to the run. `tail` counts the requests dropped
 * after the last of them; quiet ones among them may never answer, so an
 * MN ends the tail early (it cannot belong to the tail).
 */
struct mc_skip {
	uint32_t mn;
	uint32_t tail;
};

struct mc_state {
	struct sonde_proto_stats stats;
	/* request flow */
	uint8_t rq;
	bool seen_request;
	uint64_t data_left;
	uint64_t req_start_ns;
	uint64_t req_bytes;
	struct mc_req cur; /* the request whose data block is being read */
	struct sonde_tokcount scan;
	struct sonde_linebuf req_lb;
	/* response flow */
	uint8_t rs;
	bool multi_line; /* inside a VALUE...END or STAT...END response */
	bool owner;      /* the front request owns the response being read */
	bool va;         /* the data block belongs to a meta VA */
	bool resp_error;
	uint32_t hits;
	struct mc_skip skip_resp; /* responses of dropped requests still to skip */
	uint64_t resp_left;
	uint64_t resp_bytes;
	struct sonde_linebuf resp_lb;
	/* the pending queue */
	struct sonde_fifo fifo;
	uint64_t pend_base;      /* pending starts are relative to this */
	struct sonde_fifo skipq; /* the runs of the MF_SKIP entries, in order */
	bool skip_blocked;       /* skipq full: every new request is dropped */
	struct mc_skip skips[MC_SKIPS_MAX];
	uint16_t cap;                /* entries in pending[] */
	struct mc_pending *pending;  /* inline_pending, or a heap array once grown */
	struct mc_pending inline_pending[MC_PENDING_INLINE];
	char req_line[MC_REQ_LINE_MAX];
	char resp_line[MC_RESP_LINE_MAX];
	char err[16];
};

static int op_find(const char *tok, size_t len)
{
	unsigned i;

	for (i = 1; i < OP_COUNT_; i++)
		if (sonde_token_eq(tok, len, mc_op_names[i]))
			return (int)i;
	return -1;
}

static bool mc_detect(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 16; i++)
		if (data[i] == ' ' || data[i] == '\r' || data[i] == '\n')
			break;
	if (i == 0 || i == 16 || i == len)
		return false;
	return op_find((const char *)data, i) > 0;
}

static void mc_init(void *state)
{
	struct mc_state *st = state;

	st->pending = sonde_fifo_adopt(st->pending, &st->cap, st->inline_pending,
				       MC_PENDING_INLINE);
}

static void mc_fini(void *state)
{
	struct mc_state *st = state;

	st->pending = sonde_fifo_release(st->pending, &st->cap, st->inline_pending,
					 MC_PENDING_INLINE);
}

static const struct sonde_proto_stats *mc_stats(const void *state)
{
	const struct mc_state *st = state;

	return &st->stats;
}

#define FNV_BASIS 2166136261u

static uint32_t fnv1a(uint32_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * What a meta response echoes: its k<key> and O<opaque> tokens (NULL when
 * absent), hashed together. A request stores the hash of the echo its
 * response will carry; the presence of each is compared separately.
 */
static uint32_t echo_hash(const char *key, size_t klen, const char *opaque,
			  size_t olen)
{
	uint32_t h = FNV_BASIS;

	if (key)
		h = fnv1a(h, key, klen);
	h = fnv1a(h, " ", 1); /* never inside a token */
	if (opaque)
		h = fnv1a(h, opaque, olen);
	return h;
}

static bool is_meta(uint8_t op)
{
	return op == OP_MG || op == OP_MS || op == OP_MD || op == OP_MA ||
	       op == OP_ME;
}

/* ---- the pending queue ---- */

/*
 * Request bytes in 22 bits: exact below 2 MiB (memcached's default item
 * size limit is 1 MiB); beyond, bit 21 set and units of 1 KiB (up to
 * 2 GiB; later saturates).
 */
#define BYTES_COARSE (1u << 21)

static uint32_t bytes_encode(uint64_t n)
{
	if (n < BYTES_COARSE)
		return (uint32_t)n;
	n >>= 10;
	return BYTES_COARSE | (uint32_t)(n < BYTES_COARSE ? n : BYTES_COARSE - 1);
}

static uint64_t bytes_decode(uint32_t v)
{
	return (v & BYTES_COARSE) ? (uint64_t)(v & ~BYTES_COARSE) << 10 : v;
}

static uint8_t pd_op(const struct mc_pending *pd)
{
	return (uint8_t)(pd->info & 0x1f);
}

static uint8_t pd_flags(const struct mc_pending *pd)
{
	return (uint8_t)((pd->info >> PI_FLAGS_SHIFT) & MF_STORED);
}

static void pd_pack(const struct mc_state *st, struct mc_pending *pd,
		    const struct mc_req *rq)
{
	pd->dts = sonde_dts_encode(rq->start_ns > st->pend_base ?
				   rq->start_ns - st->pend_base : 0);
	pd->aux = is_meta(rq->op) ? rq->echo : rq->nkeys;
	pd->info = (uint32_t)(rq->op & 0x1f) |
		   (uint32_t)(rq->flags & (MF_STORED & ~MF_SKIP)) << PI_FLAGS_SHIFT |
		   bytes_encode(rq->req_bytes) << PI_BYTES_SHIFT;
}

static void pd_unpack(const struct mc_state *st, const struct mc_pending *pd,
		      struct mc_req *rq)
{
	uint8_t op = pd_op(pd);

	rq->start_ns = st->pend_base + sonde_dts_decode(pd->dts);
	rq->req_bytes = bytes_decode(pd->info >> PI_BYTES_SHIFT);
	rq->nkeys = is_meta(op) ? (op == OP_MG) : pd->aux;
	rq->echo = is_meta(op) ? pd->aux : 0;
	rq->op = op;
	rq->flags = pd_flags(pd);
}

static struct mc_pending *front(struct mc_state *st)
{
	int slot = sonde_fifo_front(&st->fifo, st->cap);

	return slot < 0 ? NULL : &st->pending[slot];
}

static void pending_reset(struct mc_state *st)
{
	sonde_fifo_reset(&st->fifo);
	sonde_fifo_reset(&st->skipq);
	st->skip_blocked = false;
	memset(&st->skip_resp, 0, sizeof(st->skip_resp));
}

/*
 * Pops the front. When it leads a run of dropped requests, their
 * responses are the next ones to skip.
 */
static void pending_pop(struct mc_state *st)
{
	struct mc_pending *pd = front(st);

	if (!pd)
		return;
	memset(&st->skip_resp, 0, sizeof(st->skip_resp));
	if (pd_flags(pd) & MF_SKIP) {
		int s = sonde_fifo_front(&st->skipq, MC_SKIPS_MAX);

		/* s >= 0: every MF_SKIP entry owns the oldest run left */
		if (s >= 0)
			st->skip_resp = st->skips[s];
		sonde_fifo_pop(&st->skipq, MC_SKIPS_MAX);
		st->skip_blocked = false;
	}
	sonde_fifo_pop(&st->fifo, st->cap);
	sonde_dts_rebase(&st->fifo, st->pending, st->cap, sizeof(*st->pending),
			 &st->pend_base);
}

/*
 * The queue is full: the request is dropped and its response skipped. The
 * run of requests dropped after the newest queued entry rides in skips[];
 * when skips[] is full, requests are dropped until its oldest run is
 * consumed, so that every run follows an entry marked MF_SKIP.
 */
static void drop_request(struct mc_state *st, const struct mc_req *rq)
{
	int back = sonde_fifo_back(&st->fifo, st->cap);
	struct mc_pending *pd;
	struct mc_skip *run;
	int slot;

	st->stats.dropped++;
	if (back < 0)
		return; /* not reached: drops need a full queue or runs in it */
	pd = &st->pending[back];
	if (pd_flags(pd) & MF_SKIP) {
		run = &st->skips[sonde_fifo_back(&st->skipq, MC_SKIPS_MAX)];
	} else {
		slot = sonde_fifo_push(&st->skipq, MC_SKIPS_MAX);
		if (slot < 0)
			return; /* not reached: skip_blocked stops pushes first */
		run = &st->skips[slot];
		memset(run, 0, sizeof(*run));
		pd->info |= (uint32_t)MF_SKIP << PI_FLAGS_SHIFT;
		if (st->skipq.count == MC_SKIPS_MAX)
			st->skip_blocked = true;
	}
	if (rq->op == OP_MN) {
		if (run->mn < UINT32_MAX)
			run->mn++;
		run->tail = 0;
	} else if (run->tail < UINT32_MAX) {
		run->tail++;
	}
}

/* Does this response answer a dropped request? Then it is consumed. */
static bool skip_dropped(struct mc_state *st, enum mc_resp kind)
{
	struct mc_skip *sk = &st->skip_resp;

	if (sk->mn > 0) {
		if (kind == R_MN)
			sk->mn--;
		return true;
	}
	if (sk->tail == 0)
		return false;
	if (kind == R_MN) {
		/* The tail holds no mn: its quiet requests were silent. */
		sk->tail = 0;
		return false;
	}
	sk->tail--;
	return true;
}

static void resp_reset(struct mc_state *st, uint8_t phase)
{
	st->rs = phase;
	st->multi_line = false;
	st->owner = false;
	st->va = false;
	st->resp_error = false;
	st->hits = 0;
	st->resp_bytes = 0;
	sonde_line_reset(&st->resp_lb);
}

static void mc_desync(struct mc_state *st, bool gap)
{
	if (gap)
		st->stats.desyncs++;
	st->stats.dropped += st->fifo.count;
	pending_reset(st);
	st->rq = MQ_RESYNC;
	sonde_line_reset(&st->req_lb);
	sonde_tokcount_reset(&st->scan);
	resp_reset(st, MS_RESYNC);
}

static void fill_txn(struct sonde_txn *txn, const struct mc_req *rq, uint64_t ts)
{
	memset(txn, 0, sizeof(*txn));
	txn->kind = SONDE_TXN_CACHE;
	txn->proto = SONDE_PROTO_MEMCACHED;
	txn->start_ns = rq->start_ns;
	txn->duration_ns = ts > rq->start_ns ? ts - rq->start_ns : 0;
	txn->request_bytes = rq->req_bytes;
	SONDE_TXN_SET(txn->operation, mc_op_names[rq->op], SONDE_TXN_OP_LEN);
}

/* ---- request flow ---- */

static void request_done(struct mc_state *st, struct mc_req *rq,
			 sonde_txn_emit_fn emit, void *userdata)
{
	int slot;

	st->seen_request = true;
	rq->start_ns = st->req_start_ns;
	rq->req_bytes = st->req_bytes;
	if (rq->flags & MF_NOREPLY) {
		/* No response will come: count the command, duration unknown. */
		struct sonde_txn txn;

		fill_txn(&txn, rq, rq->start_ns);
		emit(&txn, userdata);
		return;
	}
	if (sonde_fifo_empty(&st->fifo))
		st->pend_base = rq->start_ns;
	slot = -ENOBUFS;
	if (!st->skip_blocked)
		st->pending = sonde_fifo_push_grow(&st->fifo, st->pending, &st->cap,
						   sizeof(*st->pending), MC_PENDING_MAX,
						   st->inline_pending, &slot);
	if (slot < 0) {
		drop_request(st, rq);
		return;
	}
	pd_pack(st, &st->pending[slot], rq);
}

/* Meta flags after the key: q, k, T, O<opaque>; the O token if any. */
static void meta_flags(struct mc_req *rq, const char *p, const char *end,
		       const char **ret_opaque, size_t *ret_olen)
{
	const char *tok;
	size_t len;

	*ret_opaque = NULL;
	*ret_olen = 0;
	while (sonde_token_next(&p, end, &tok, &len)) {
		if (tok[0] == 'q')
			rq->flags |= MF_QUIET;
		else if (tok[0] == 'k' && len == 1)
			rq->flags |= MF_WANT_K;
		else if (tok[0] == 'T')
			rq->flags |= MF_TOUCH;
		else if (tok[0] == 'O') {
			rq->flags |= MF_OPAQUE;
			*ret_opaque = tok + 1;
			*ret_olen = len - 1;
		}
	}
}

/* Returns the data block length that follows (0: none), -1 on a bad line. */
static int64_t parse_command(struct mc_state *st, const struct sonde_line *l,
			     struct mc_req *rq)
{
	const char *p = l->ptr, *end = l->ptr + l->len, *tok[6], *opaque;
	size_t len[6], olen;
	unsigned n = 0;
	uint64_t bytes = 0;
	int op;

	while (n < 6 && sonde_token_next(&p, end, &tok[n], &len[n]))
		n++;
	if (n == 0)
		return -2; /* blank line */
	op = op_find(tok[0], len[0]);
	if (op < 0) {
		if (!st->seen_request)
			return -1;
		op = OP_OTHER;
	}
	rq->op = (uint8_t)op;
	if ((st->scan.last_len == 7 && memcmp(st->scan.last, "noreply", 7) == 0 &&
	     op != OP_MG && op != OP_MS && op != OP_MD && op != OP_MA) ||
	    op == OP_QUIT)
		rq->flags |= MF_NOREPLY;
	switch (op) {
	case OP_GET:
	case OP_GETS:
		rq->nkeys = st->scan.ntok - 1;
		break;
	case OP_GAT:
	case OP_GATS:
		rq->nkeys = st->scan.ntok > 2 ? st->scan.ntok - 2 : 0;
		break;
	case OP_SET:
	case OP_ADD:
	case OP_REPLACE:
	case OP_APPEND:
	case OP_PREPEND:
	case OP_CAS:
		if (n < 5 || !sonde_parse_u64(tok[4], len[4], &bytes) ||
		    bytes > (1ull << 32))
			return -1;
		return (int64_t)bytes + 2;
	case OP_MG:
	case OP_MD:
	case OP_MA:
	case OP_ME:
	case OP_MS:
		if (n < 2)
			return -1;
		rq->nkeys = op == OP_MG ? 1 : 0;
		if (op == OP_MS) {
			if (n < 3 || !sonde_parse_u64(tok[2], len[2], &bytes) ||
			    bytes > (1ull << 32))
				return -1;
			meta_flags(rq, tok[2] + len[2], end, &opaque, &olen);
		} else {
			meta_flags(rq, tok[1] + len[1], end, &opaque, &olen);
		}
		rq->echo = echo_hash((rq->flags & MF_WANT_K) ? tok[1] : NULL, len[1],
				     opaque, olen);
		return op == OP_MS ? (int64_t)bytes + 2 : 0;
	default:
		break;
	}
	return 0;
}

static bool looks_like_command(const uint8_t *p, const uint8_t *end)
{
	return mc_detect(p, (size_t)(end - p));
}

static int feed_request(struct mc_state *st, const uint8_t *p,
			const uint8_t *end, uint64_t ts,
			sonde_txn_emit_fn emit, void *userdata)
{
	struct sonde_line l;
	int64_t data;

	if (st->rq == MQ_DEAD)
		return 0;
	if (st->rq == MQ_RESYNC) {
		if (!looks_like_command(p, end))
			return 0;
		st->rq = MQ_LINE;
	}
	if (!st->seen_request && end > p && *p == 0x80)
		return -EPROTO; /* the binary protocol */
	while (p < end) {
		const uint8_t *old = p;

		if (st->rq == MQ_DATA) {
			bool done = sonde_skip(&st->data_left, &p, end);

			st->req_bytes += (uint64_t)(p - old);
			if (done) {
				st->rq = MQ_LINE;
				request_done(st, &st->cur, emit, userdata);
			}
			continue;
		}
		if (!sonde_line_pending(&st->req_lb)) {
			st->req_start_ns = ts;
			st->req_bytes = 0;
			sonde_tokcount_reset(&st->scan);
		}
		if (!sonde_line_next(&st->req_lb, st->req_line, sizeof(st->req_line),
				     &p, end, &l)) {
			sonde_tokcount_feed(&st->scan, old, p);
			st->req_bytes += (uint64_t)(p - old);
			break;
		}
		sonde_tokcount_feed(&st->scan, old, p);
		st->req_bytes += (uint64_t)(p - old);
		memset(&st->cur, 0, sizeof(st->cur));
		data = parse_command(st, &l, &st->cur);
		if (data == -2)
			continue;
		if (data < 0) {
			st->stats.parse_errors++;
			if (!st->seen_request)
				return -EPROTO;
			mc_desync(st, false);
			return 0;
		}
		st->seen_request = true;
		if (data > 0) {
			st->data_left = (uint64_t)data;
			st->rq = MQ_DATA;
			continue;
		}
		request_done(st, &st->cur, emit, userdata);
	}
	return 0;
}

/* ---- response flow ---- */

static const struct {
	const char *name;
	enum mc_resp kind;
} mc_resp_kinds[] = {
	{ "VALUE", R_VALUE }, { "END", R_END }, { "VA", R_VA }, { "HD", R_HD },
	{ "EN", R_EN }, { "NF", R_NF }, { "NS", R_NS }, { "EX", R_EX },
	{ "MN", R_MN }, { "ME", R_ME }, { "ERROR", R_ERROR },
	{ "CLIENT_ERROR", R_ERROR }, { "SERVER_ERROR", R_ERROR },
	{ "STAT", R_STAT },
};

static enum mc_resp classify(const char *tok, size_t len)
{
	unsigned i;

	for (i = 0; i < sizeof(mc_resp_kinds) / sizeof(mc_resp_kinds[0]); i++)
		if (sonde_token_eq(tok, len, mc_resp_kinds[i].name))
			return mc_resp_kinds[i].kind;
	return R_OTHER;
}

/* Could this response come from a request, given what quiet mode suppresses? */
static bool can_answer(uint8_t op, uint8_t flags, enum mc_resp kind)
{
	if (!(flags & MF_QUIET))
		return true;
	if (kind == R_ERROR)
		return true;
	switch (op) {
	case OP_MG:
		return kind == R_VA || kind == R_HD;
	case OP_MS:
	case OP_MD:
		return kind == R_NF || kind == R_NS || kind == R_EX;
	case OP_MA:
		return kind == R_NF || kind == R_NS || kind == R_EX || kind == R_VA;
	default:
		return kind != R_MN;
	}
}

/* Cache counts as memcached's get_hits/get_misses see them. */
static void cache_counts(struct sonde_txn *txn, const struct mc_req *rq,
			 enum mc_resp kind, uint32_t hits, bool error)
{
	if (error)
		return;
	switch (rq->op) {
	case OP_GET:
	case OP_GETS:
		txn->cache_lookups = rq->nkeys;
		txn->cache_hits = hits < rq->nkeys ? hits : rq->nkeys;
		break;
	case OP_MG:
		if (kind == R_EN) {
			txn->cache_lookups = 1;
		} else if ((kind == R_VA || kind == R_HD) && !(rq->flags & MF_TOUCH)) {
			txn->cache_lookups = 1;
			txn->cache_hits = 1;
		}
		break;
	default:
		break;
	}
}

/* Emits the front request with this outcome and pops it. */
static void emit_front(struct mc_state *st, enum mc_resp kind, uint32_t hits,
		       const char *err, uint64_t resp_bytes, uint64_t ts,
		       sonde_txn_emit_fn emit, void *userdata)
{
	struct mc_pending *pd = front(st);
	struct sonde_txn txn;
	struct mc_req rq;

	if (!pd)
		return;
	pd_unpack(st, pd, &rq);
	fill_txn(&txn, &rq, ts);
	txn.response_bytes = resp_bytes;
	if (err)
		SONDE_TXN_SET(txn.error, err, SONDE_TXN_ERROR_LEN);
	cache_counts(&txn, &rq, kind, hits, err != NULL);
	pending_pop(st);
	emit(&txn, userdata);
}

/*
 * A response starts: quiet requests ahead of its owner got no response;
 * resolve them as their silent outcome (mg: a miss, ms/md/ma: success).
 */
static void find_owner(struct mc_state *st, enum mc_resp kind, uint32_t echo,
		       bool has_k, bool has_o, uint64_t ts,
		       sonde_txn_emit_fn emit, void *userdata)
{
	struct mc_pending *pd;

	st->owner = false;
	if (skip_dropped(st, kind))
		return;
	while ((pd = front(st)) != NULL) {
		uint8_t op = pd_op(pd), flags = pd_flags(pd);
		/* Meta responses echo k and O exactly when the request asked. */
		bool meta = kind >= R_VA && kind <= R_EX;
		bool mismatch = meta &&
			(has_k != !!(flags & MF_WANT_K) ||
			 has_o != !!(flags & MF_OPAQUE) ||
			 ((has_k || has_o) && pd->aux != echo));

		if ((flags & MF_QUIET) && (mismatch || !can_answer(op, flags, kind))) {
			emit_front(st, op == OP_MG ? R_EN : R_HD, 0, NULL, 0, ts,
				   emit, userdata);
			if (skip_dropped(st, kind))
				return;
			continue;
		}
		st->owner = true;
		return;
	}
	st->stats.dropped++; /* a response nobody asked for */
}

static void finish(struct mc_state *st, enum mc_resp kind, uint64_t ts,
		   sonde_txn_emit_fn emit, void *userdata)
{
	if (st->owner)
		emit_front(st, kind, st->hits, st->resp_error ? st->err : NULL,
			   st->resp_bytes, ts, emit, userdata);
	st->owner = false;
	st->multi_line = false;
	st->va = false;
	st->resp_error = false;
	st->hits = 0;
	st->resp_bytes = 0;
}

static bool multi_line_op(struct mc_state *st)
{
	const struct mc_pending *pd = st->owner ? front(st) : NULL;
	uint8_t op = pd ? pd_op(pd) : OP_OTHER;

	return op == OP_STATS || op == OP_LRU_CRAWLER || op == OP_WATCH;
}

/* One response line; false when it cannot be memcached. */
static bool response_line(struct mc_state *st, const struct sonde_line *l,
			  uint64_t ts, sonde_txn_emit_fn emit, void *userdata)
{
	const char *p = l->ptr, *end = l->ptr + l->len, *tok[3];
	size_t len[3];
	unsigned n = 0;
	enum mc_resp kind;
	uint64_t bytes = 0;

	while (n < 3 && sonde_token_next(&p, end, &tok[n], &len[n]))
		n++;
	if (n == 0)
		return true;
	kind = classify(tok[0], len[0]);

	if (st->multi_line) {
		/* Inside VALUE...END / STAT...END: END closes, VALUE adds. */
		if (kind == R_END) {
			finish(st, R_END, ts, emit, userdata);
			return true;
		}
		if (kind == R_VALUE) {
			if (n < 3)
				return false;
			p = tok[2] + len[2];
			if (!sonde_token_next(&p, end, &tok[2], &len[2]) ||
			    !sonde_parse_u64(tok[2], len[2], &bytes) ||
			    bytes > (1ull << 32))
				return false;
			st->hits++;
			st->resp_left = bytes + 2;
			st->rs = MS_DATA;
			return true;
		}
		if (kind == R_ERROR) {
			st->resp_error = true;
			SONDE_TXN_SET(st->err, tok[0], len[0]);
			finish(st, R_ERROR, ts, emit, userdata);
		}
		return true; /* STAT lines and the like */
	}

	/* First line of a response: who asked? */
	{
		const char *q = tok[0] + len[0], *t, *key = NULL, *opaque = NULL;
		size_t tl, klen = 0, olen = 0;

		if (kind >= R_VA && kind <= R_ME) {
			while (sonde_token_next(&q, end, &t, &tl)) {
				if (t[0] == 'k') {
					key = t + 1;
					klen = tl - 1;
				} else if (t[0] == 'O') {
					opaque = t + 1;
					olen = tl - 1;
				}
			}
		}
		find_owner(st, kind, echo_hash(key, klen, opaque, olen), key != NULL,
			   opaque != NULL, ts, emit, userdata);
	}
	switch (kind) {
	case R_VALUE:
		if (n < 3)
			return false;
		p = tok[2] + len[2];
		if (!sonde_token_next(&p, end, &tok[2], &len[2]) ||
		    !sonde_parse_u64(tok[2], len[2], &bytes) || bytes > (1ull << 32))
			return false;
		st->multi_line = true;
		st->hits = 1;
		st->resp_left = bytes + 2;
		st->rs = MS_DATA;
		return true;
	case R_STAT:
		st->multi_line = true;
		return true;
	case R_VA:
		if (n < 2 || !sonde_parse_u64(tok[1], len[1], &bytes) ||
		    bytes > (1ull << 32))
			return false;
		st->va = true;
		st->resp_left = bytes + 2;
		st->rs = MS_DATA;
		return true;
	case R_ERROR:
		st->resp_error = true;
		SONDE_TXN_SET(st->err, tok[0], len[0]);
		break;
	case R_OTHER:
		/* stats reset / lru_crawler crawl answer one line */
		if (multi_line_op(st) && !sonde_token_eq(tok[0], len[0], "RESET") &&
		    !sonde_token_eq(tok[0], len[0], "OK")) {
			st->multi_line = true;
			return true;
		}
		break;
	default:
		break;
	}
	finish(st, kind, ts, emit, userdata);
	return true;
}

static void feed_response(struct mc_state *st, const uint8_t *p,
			  const uint8_t *end, uint64_t ts,
			  sonde_txn_emit_fn emit, void *userdata)
{
	struct sonde_line l;

	if (st->rs == MS_RESYNC) {
		if (sonde_fifo_empty(&st->fifo))
			return;
		resp_reset(st, MS_LINE);
	}
	while (p < end) {
		const uint8_t *old = p;

		if (st->rs == MS_DATA) {
			bool done = sonde_skip(&st->resp_left, &p, end);

			st->resp_bytes += (uint64_t)(p - old);
			if (!done)
				break;
			st->rs = MS_LINE;
			if (st->va)
				finish(st, R_VA, ts, emit, userdata);
			continue;
		}
		if (!sonde_line_next(&st->resp_lb, st->resp_line,
				     sizeof(st->resp_line), &p, end, &l)) {
			st->resp_bytes += (uint64_t)(p - old);
			break;
		}
		st->resp_bytes += (uint64_t)(p - old);
		if (!response_line(st, &l, ts, emit, userdata)) {
			st->stats.parse_errors++;
			mc_desync(st, false);
			return;
		}
	}
}

static int mc_feed(void *state, enum sonde_flow flow, const uint8_t *data,
		   size_t len, size_t total, uint64_t ts_ns,
		   sonde_txn_emit_fn emit, void *userdata)
{
	struct mc_state *st = state;
	uint64_t gap = total > len ? total - len : 0;
	int err;

	if (len == 0)
		data = (const uint8_t *)""; /* no arithmetic on a NULL chunk */

	if (flow == SONDE_FLOW_REQUEST) {
		err = feed_request(st, data, data + len, ts_ns, emit, userdata);
		if (err || gap == 0 || st->rq == MQ_RESYNC || st->rq == MQ_DEAD)
			return err;
		if (st->rq == MQ_DATA) {
			uint64_t left = sonde_skip_gap(&st->data_left, gap);

			st->req_bytes += gap - left;
			if (st->data_left > 0)
				return 0;
			if (left == 0) {
				st->rq = MQ_LINE;
				request_done(st, &st->cur, emit, userdata);
				return 0;
			}
		}
		mc_desync(st, true);
		return 0;
	}
	feed_response(st, data, data + len, ts_ns, emit, userdata);
	if (gap == 0 || st->rs == MS_RESYNC)
		return 0;
	if (st->rs == MS_DATA) {
		uint64_t left = sonde_skip_gap(&st->resp_left, gap);

		st->resp_bytes += gap - left;
		if (st->resp_left > 0)
			return 0;
		if (left == 0) {
			st->rs = MS_LINE;
			if (st->va)
				finish(st, R_VA, ts_ns, emit, userdata);
			return 0;
		}
	}
	mc_desync(st, true);
	return 0;
}

const struct sonde_proto_ops sonde_proto_memcached = {
	.proto = SONDE_PROTO_MEMCACHED,
	.name = "memcached",
	.state_size = sizeof(struct mc_state),
	.detect = mc_detect,
	.init = mc_init,
	.fini = mc_fini,
	.feed = mc_feed,
	.stats = mc_stats,
};
