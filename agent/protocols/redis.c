// SPDX-License-Identifier: MIT
/*
 * Redis RESP2/RESP3. Requests: arrays of bulk strings or inline commands.
 * Responses: any RESP2/3 value, nested aggregates on a bounded stack;
 * pushes are out of band, attributes are skipped. MULTI/EXEC: the queued
 * commands are emitted at EXEC, one per element of its reply, with cache
 * counts from that element. Cache accounting follows Redis's own
 * keyspace_hits/keyspace_misses (see redis_cmds.c).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "protocols/framing.h"
#include "protocols/protocol.h"
#include "protocols/redis_cmds.h"

/*
 * Pipelined commands awaiting their reply. Real clients pipeline hundreds
 * (redis-benchmark -P, bulk loaders): entries are 12 bytes, so 512 of them
 * keep the state block under 8 KiB.
 */
#define REDIS_PENDING_MAX 512
/* Held inline; the queue moves to a heap array of REDIS_PENDING_MAX the
 * first time a connection pipelines deeper (sonde_fifo_grow). */
#define REDIS_PENDING_INLINE 16
/* Runs of commands dropped while the queue was full (see command_done). */
#define REDIS_SKIPS_MAX 8
#define REDIS_QUEUED_MAX 64
#define REDIS_DEPTH_MAX 32
#define REDIS_REQ_LINE_MAX 128
#define REDIS_RESP_LINE_MAX 64
#define REDIS_ARG_CAP 16
/* Redis's own proto-max-bulk-len ceiling is far below this. */
#define REDIS_LEN_MAX (1ull << 32)

enum { RQ_START = 0, RQ_BULK_HDR, RQ_BULK_DATA, RQ_RESYNC, RQ_DEAD };
enum { RS_VALUE = 0, RS_BULK, RS_RESYNC, RS_DEAD };

enum {
	RF_SET_GET = 1 << 0, /* SET ... GET: reads the old value */
	RF_HELLO3 = 1 << 1,
	RF_HELLO2 = 1 << 2,
	RF_SKIP = 1 << 7, /* dropped commands follow: count in skips[] */
};

/*
 * A pending command, compact: its start is stored relative to
 * st->pend_base (see sonde_dts_encode), request bytes and key count saturate.
 */
struct redis_pending {
	uint32_t dts;
	uint32_t req_bytes;
	uint16_t nkeys;
	uint8_t cmd;
	uint8_t flags;
};
_Static_assert(offsetof(struct redis_pending, dts) == 0, "sonde_dts_rebase reads it there");

struct redis_queued {
	uint32_t nkeys;
	uint8_t cmd;
	uint8_t flags;
};

enum { FR_AGG = 0, FR_ATTR };

struct redis_frame {
	uint64_t left;
	uint8_t kind;
};

/* What the finished value (or its children) looked like. */
struct redis_eval {
	char type;
	bool nil;
	bool empty;
	bool has_int;
	int64_t ival;
	uint32_t children;
	uint32_t nil_children;
	uint32_t truthy_children;
	char word[REDIS_ARG_CAP + 1];
};

struct redis_state {
	struct sonde_proto_stats stats;
	/* request flow */
	uint8_t rq;
	bool seen_request;
	bool pubsub; /* RESP2 subscribed or MONITOR: nothing pairs any more */
	uint32_t argc;
	uint32_t argi;
	uint64_t bulk_left;
	uint64_t arg_len;
	uint8_t arg_have;
	uint8_t cur_cmd;
	uint8_t cur_flags;
	uint64_t req_start_ns;
	uint64_t req_bytes;
	char arg[REDIS_ARG_CAP];
	struct sonde_linebuf req_lb;
	struct sonde_tokcount req_tokens; /* inline commands longer than the buffer */
	char req_line[REDIS_REQ_LINE_MAX];
	/* response flow */
	uint8_t rs;
	bool resp3;
	bool in_multi;
	bool exec_reply; /* reading an EXEC array: its elements are the roots */
	bool in_push;    /* reading a top-level push: not a reply */
	uint8_t root_depth;
	uint8_t depth;
	uint8_t attr_depth;
	uint8_t bulk_type;
	uint32_t skip_resp;
	uint32_t exec_index;
	uint64_t resp_left;
	uint64_t resp_bytes;
	uint64_t rarg_len;
	uint8_t rarg_have;
	char rarg[REDIS_ARG_CAP];
	struct redis_eval ev;
	struct sonde_linebuf resp_lb;
	char resp_line[REDIS_RESP_LINE_MAX];
	struct redis_frame stack[REDIS_DEPTH_MAX];
	struct sonde_fifo fifo;
	uint64_t pend_base; /* pending starts are relative to this */
	struct sonde_fifo skipq; /* counts of the RF_SKIP entries, in order */
	bool skip_blocked;       /* skipq full: every new command is dropped */
	uint32_t skips[REDIS_SKIPS_MAX];
	uint16_t cap;                  /* entries in pending[] */
	struct redis_pending *pending; /* inline_pending, or a heap array once grown */
	struct redis_pending inline_pending[REDIS_PENDING_INLINE];
	uint32_t n_queued;
	struct redis_queued queued[REDIS_QUEUED_MAX];
};

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool redis_detect(const uint8_t *data, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	if (data[0] == '*')
		return len == 1 || is_digit(data[1]);
	/* Inline command: a known name then a blank or the line end. */
	for (i = 0; i < len && i < 24; i++)
		if (data[i] == ' ' || data[i] == '\r' || data[i] == '\n')
			break;
	if (i == len || i == 24 || i == 0)
		return false;
	return sonde_redis_cmd_find((const char *)data, i) != SONDE_REDIS_CMD_OTHER;
}

static void redis_init(void *state)
{
	struct redis_state *st = state;

	st->pending = sonde_fifo_adopt(st->pending, &st->cap, st->inline_pending,
				       REDIS_PENDING_INLINE);
}

static void redis_fini(void *state)
{
	struct redis_state *st = state;

	st->pending = sonde_fifo_release(st->pending, &st->cap, st->inline_pending,
					 REDIS_PENDING_INLINE);
}

static const struct sonde_proto_stats *redis_stats(const void *state)
{
	const struct redis_state *st = state;

	return &st->stats;
}

static void resp_reset(struct redis_state *st, uint8_t phase)
{
	st->rs = phase;
	st->depth = 0;
	st->attr_depth = 0;
	st->root_depth = 0;
	st->exec_reply = false;
	st->in_push = false;
	st->resp_bytes = 0;
	sonde_line_reset(&st->resp_lb);
}

static void req_reset(struct redis_state *st, uint8_t phase)
{
	st->rq = phase;
	st->argc = 0;
	st->argi = 0;
	st->req_bytes = 0;
	sonde_line_reset(&st->req_lb);
}

/* Start times are relative to pend_base (sonde_dts_encode). */
static uint64_t pend_start(const struct redis_state *st, const struct redis_pending *pd)
{
	return st->pend_base + sonde_dts_decode(pd->dts);
}

static void pending_reset(struct redis_state *st)
{
	sonde_fifo_reset(&st->fifo);
	sonde_fifo_reset(&st->skipq);
	st->skip_blocked = false;
}

static void pending_pop(struct redis_state *st)
{
	sonde_fifo_pop(&st->fifo, st->cap);
	sonde_dts_rebase(&st->fifo, st->pending, st->cap, sizeof(*st->pending),
			 &st->pend_base);
}

static void redis_desync(struct redis_state *st, bool gap)
{
	if (gap)
		st->stats.desyncs++;
	st->stats.dropped += st->fifo.count;
	pending_reset(st);
	st->skip_resp = 0;
	st->in_multi = false;
	st->n_queued = 0;
	if (st->rq != RQ_DEAD)
		req_reset(st, RQ_RESYNC);
	if (st->rs != RS_DEAD)
		resp_reset(st, RS_RESYNC);
}

/* ---- request flow ---- */

static void command_done(struct redis_state *st, uint32_t nkeys)
{
	struct redis_pending *pd;
	int slot;

	st->seen_request = true;
	if (st->pubsub)
		return;
	if (sonde_fifo_empty(&st->fifo))
		st->pend_base = st->req_start_ns;
	slot = -ENOBUFS;
	if (!st->skip_blocked)
		st->pending = sonde_fifo_push_grow(&st->fifo, st->pending, &st->cap,
						   sizeof(*st->pending), REDIS_PENDING_MAX,
						   st->inline_pending, &slot);
	if (slot < 0) {
		/*
		 * Queue full: the command is dropped and the reply that answers
		 * it skipped. The count of dropped commands after the newest
		 * queued one rides in skips[]; when skips[] is full, commands
		 * are dropped until its oldest run is consumed, so that every
		 * run follows an entry marked RF_SKIP.
		 */
		pd = &st->pending[sonde_fifo_back(&st->fifo, st->cap)];
		st->stats.dropped++;
		if (pd->flags & RF_SKIP) {
			uint32_t *n = &st->skips[sonde_fifo_back(&st->skipq, REDIS_SKIPS_MAX)];

			if (*n < UINT32_MAX)
				(*n)++;
			return;
		}
		slot = sonde_fifo_push(&st->skipq, REDIS_SKIPS_MAX);
		st->skips[slot] = 1;
		pd->flags |= RF_SKIP;
		if (st->skipq.count == REDIS_SKIPS_MAX)
			st->skip_blocked = true;
		return;
	}
	pd = &st->pending[slot];
	pd->dts = sonde_dts_encode(st->req_start_ns > st->pend_base ?
			     st->req_start_ns - st->pend_base : 0);
	pd->req_bytes = st->req_bytes < UINT32_MAX ? (uint32_t)st->req_bytes : UINT32_MAX;
	pd->nkeys = nkeys < UINT16_MAX ? (uint16_t)nkeys : UINT16_MAX;
	pd->cmd = st->cur_cmd;
	pd->flags = st->cur_flags;
}

/* An argument of a RESP array command, first REDIS_ARG_CAP bytes in st->arg. */
static void arg_done(struct redis_state *st)
{
	size_t n = st->arg_have;

	if (st->argi == 0) {
		st->cur_cmd = (uint8_t)sonde_redis_cmd_find(st->arg, n);
		st->cur_flags = 0;
		return;
	}
	if (st->cur_cmd == SONDE_REDIS_CMD_HELLO && st->argi == 1) {
		if (sonde_token_eq(st->arg, n, "3"))
			st->cur_flags |= RF_HELLO3;
		else if (sonde_token_eq(st->arg, n, "2"))
			st->cur_flags |= RF_HELLO2;
	}
	if (st->cur_cmd == SONDE_REDIS_CMD_SET && st->argi >= 3 &&
	    sonde_token_caseeq(st->arg, n, "GET"))
		st->cur_flags |= RF_SET_GET;
}

static bool inline_command(struct redis_state *st, const struct sonde_line *l)
{
	const char *p = l->ptr, *end = l->ptr + l->len, *tok;
	size_t tlen;
	uint32_t ntok = 0;
	int cmd = SONDE_REDIS_CMD_OTHER;

	while (sonde_token_next(&p, end, &tok, &tlen)) {
		if (ntok == 0)
			cmd = sonde_redis_cmd_find(tok, tlen);
		else if (cmd == SONDE_REDIS_CMD_HELLO && ntok == 1)
			st->cur_flags |= sonde_token_eq(tok, tlen, "3") ? RF_HELLO3 :
				sonde_token_eq(tok, tlen, "2") ? RF_HELLO2 : 0;
		else if (cmd == SONDE_REDIS_CMD_SET && ntok >= 3 &&
			 sonde_token_caseeq(tok, tlen, "GET"))
			st->cur_flags |= RF_SET_GET;
		ntok++;
	}
	if (ntok == 0)
		return true; /* empty line: Redis ignores it */
	if (cmd == SONDE_REDIS_CMD_OTHER && !st->seen_request)
		return false;
	st->cur_cmd = (uint8_t)cmd;
	/* The stored line may be cut short: the streamed count is whole. */
	if (st->req_tokens.ntok > ntok)
		ntok = st->req_tokens.ntok;
	command_done(st, ntok - 1);
	return true;
}

/* The bulk string of an argument ended: next argument or command done. */
static void bulk_arg_done(struct redis_state *st)
{
	if (st->arg_len > REDIS_ARG_CAP)
		st->arg_have = 0; /* a long argument names nothing */
	arg_done(st);
	if (++st->argi < st->argc) {
		st->rq = RQ_BULK_HDR;
		return;
	}
	command_done(st, st->argc - 1);
	req_reset(st, RQ_START);
}

/* The length after the type byte of a request line: 0 to REDIS_LEN_MAX. */
static bool request_len(const struct sonde_line *l, int64_t *ret_v)
{
	return sonde_parse_i64(l->ptr + 1, l->len - 1, ret_v) && *ret_v >= 0 &&
	       (uint64_t)*ret_v <= REDIS_LEN_MAX;
}

/* A request line that does not parse: -EPROTO before any parsed, else a resync. */
static int request_error(struct redis_state *st)
{
	st->stats.parse_errors++;
	if (!st->seen_request)
		return -EPROTO;
	redis_desync(st, false);
	return 0;
}

/*
 * Consumes bytes of a bulk string (*left: its data and CRLF still to
 * come), keeping the first REDIS_ARG_CAP bytes of its data in buf (*have
 * kept so far). True when the whole bulk string has been consumed.
 */
static inline bool bulk_take(uint64_t *left, char *buf, uint8_t *have,
			     const uint8_t **p, const uint8_t *end)
{
	uint64_t data_left = *left > 2 ? *left - 2 : 0;
	size_t avail = (size_t)(end - *p);
	size_t room = REDIS_ARG_CAP - *have;
	size_t take = avail < room ? avail : room;

	if (take > data_left)
		take = (size_t)data_left;
	memcpy(buf + *have, *p, take);
	*have = (uint8_t)(*have + take);
	return sonde_skip(left, p, end);
}

static bool looks_like_command(const uint8_t *p, const uint8_t *end)
{
	return end - p >= 2 && p[0] == '*' && is_digit(p[1]);
}

static int feed_request(struct redis_state *st, const uint8_t *p,
			const uint8_t *end, uint64_t ts)
{
	struct sonde_line l;

	if (st->rq == RQ_DEAD)
		return 0;
	if (st->rq == RQ_RESYNC) {
		if (!looks_like_command(p, end))
			return 0;
		req_reset(st, RQ_START);
	}
	while (p < end) {
		const uint8_t *old = p;
		int64_t v;

		switch (st->rq) {
		case RQ_START:
			if (!sonde_line_pending(&st->req_lb)) {
				st->req_start_ns = ts;
				st->req_bytes = 0;
				sonde_tokcount_reset(&st->req_tokens);
			}
			if (!sonde_line_next(&st->req_lb, st->req_line,
					     sizeof(st->req_line), &p, end, &l)) {
				sonde_tokcount_feed(&st->req_tokens, old, p);
				break;
			}
			sonde_tokcount_feed(&st->req_tokens, old, p);
			st->req_bytes += (uint64_t)(p - old);
			old = p;
			st->cur_flags = 0;
			if (l.len == 0 || l.ptr[0] != '*') {
				if (!inline_command(st, &l)) {
					st->stats.parse_errors++;
					return -EPROTO;
				}
				break;
			}
			if (!request_len(&l, &v))
				return request_error(st);
			if (v == 0)
				break;
			st->argc = (uint32_t)v;
			st->argi = 0;
			st->rq = RQ_BULK_HDR;
			break;
		case RQ_BULK_HDR:
			if (!sonde_line_next(&st->req_lb, st->req_line,
					     sizeof(st->req_line), &p, end, &l))
				break;
			if (l.len < 2 || l.ptr[0] != '$' || !request_len(&l, &v))
				return request_error(st);
			st->arg_len = (uint64_t)v;
			st->bulk_left = (uint64_t)v + 2;
			st->arg_have = 0;
			st->rq = RQ_BULK_DATA;
			break;
		case RQ_BULK_DATA:
			if (!bulk_take(&st->bulk_left, st->arg, &st->arg_have, &p, end))
				break;
			st->req_bytes += (uint64_t)(p - old);
			old = p;
			bulk_arg_done(st);
			break;
		default:
			return 0;
		}
		st->req_bytes += (uint64_t)(p - old);
	}
	return 0;
}

/* ---- response flow ---- */

static const char *const redis_error_words[] = {
	"ASK", "BUSY", "BUSYGROUP", "BUSYKEY", "CLUSTERDOWN", "CROSSSLOT",
	"ERR", "EXECABORT", "LOADING", "MASTERDOWN", "MISCONF", "MOVED",
	"NOAUTH", "NOGROUP", "NOPERM", "NOPROTO", "NOREPLICAS", "NOSCRIPT",
	"NOTBUSY", "OOM", "READONLY", "TRYAGAIN", "UNBLOCKED", "UNKILLABLE",
	"WRONGPASS", "WRONGTYPE",
};

static const char *error_word(const char *s)
{
	size_t n = 0, i;

	while (s[n] && s[n] != ' ')
		n++;
	for (i = 0; i < sizeof(redis_error_words) / sizeof(redis_error_words[0]); i++)
		if (sonde_token_eq(s, n, redis_error_words[i]))
			return redis_error_words[i];
	return "ERR";
}

static void ev_word(struct redis_eval *ev, const char *s, size_t n)
{
	if (n > REDIS_ARG_CAP)
		n = REDIS_ARG_CAP;
	memcpy(ev->word, s, n);
	ev->word[n] = '\0';
}

static bool ev_is_error(const struct redis_eval *ev)
{
	return ev->type == '-' || ev->type == '!';
}

static void fill_txn(struct sonde_txn *txn, uint8_t cmd, uint64_t start,
		     uint64_t end)
{
	memset(txn, 0, sizeof(*txn));
	txn->kind = SONDE_TXN_CACHE;
	txn->proto = SONDE_PROTO_REDIS;
	txn->start_ns = start;
	txn->duration_ns = end > start ? end - start : 0;
	SONDE_TXN_SET(txn->operation, sonde_redis_cmd_name(cmd), SONDE_TXN_OP_LEN);
}

/* Keyspace lookups and hits of one command from its reply. */
static void cache_counts(struct sonde_txn *txn, uint8_t cmd, uint8_t flags,
			 uint32_t nkeys, const struct redis_eval *ev)
{
	enum sonde_redis_rule rule = sonde_redis_cmd_rule(cmd);
	bool miss;

	if (cmd == SONDE_REDIS_CMD_SET)
		rule = (flags & RF_SET_GET) ? SONDE_REDIS_NIL : SONDE_REDIS_NONE;
	if (cmd == SONDE_REDIS_CMD_PFCOUNT && nkeys > 1)
		return; /* per-key results are merged into one count */
	if (rule == SONDE_REDIS_NONE)
		return;
	if (ev_is_error(ev)) {
		/* The key was found, then its type refused: Redis counts a hit. */
		if (strcmp(error_word(ev->word), "WRONGTYPE") == 0 &&
		    rule != SONDE_REDIS_MULTI && rule != SONDE_REDIS_COUNT) {
			txn->cache_lookups = 1;
			txn->cache_hits = 1;
		}
		return;
	}
	switch (rule) {
	case SONDE_REDIS_MULTI:
		if (ev->nil)
			return;
		txn->cache_lookups = ev->children;
		txn->cache_hits = ev->children - ev->nil_children;
		return;
	case SONDE_REDIS_COUNT:
		if (!ev->has_int || ev->ival < 0)
			return;
		txn->cache_lookups = nkeys;
		txn->cache_hits = (uint64_t)ev->ival < nkeys ? (uint32_t)ev->ival : nkeys;
		return;
	case SONDE_REDIS_NIL:
		miss = ev->nil;
		break;
	case SONDE_REDIS_EMPTY:
	case SONDE_REDIS_NILEMPTY:
		miss = ev->nil || ev->empty;
		break;
	case SONDE_REDIS_INTZ:
		miss = ev->has_int && ev->ival == 0;
		break;
	case SONDE_REDIS_TTL:
		miss = ev->has_int && ev->ival == -2;
		break;
	case SONDE_REDIS_TYPE:
		miss = strcmp(ev->word, "none") == 0;
		break;
	case SONDE_REDIS_ANY:
		miss = ev->nil || ev->truthy_children == 0;
		break;
	default:
		return;
	}
	txn->cache_lookups = 1;
	txn->cache_hits = miss ? 0 : 1;
}

static void set_error(struct sonde_txn *txn, const struct redis_eval *ev)
{
	if (ev_is_error(ev))
		SONDE_TXN_SET(txn->error, error_word(ev->word), SONDE_TXN_ERROR_LEN);
}

static bool is_subscribe(uint8_t cmd)
{
	return cmd == SONDE_REDIS_CMD_SUBSCRIBE || cmd == SONDE_REDIS_CMD_PSUBSCRIBE ||
	       cmd == SONDE_REDIS_CMD_SSUBSCRIBE;
}

static bool is_pubsub(uint8_t cmd)
{
	return is_subscribe(cmd) || cmd == SONDE_REDIS_CMD_UNSUBSCRIBE ||
	       cmd == SONDE_REDIS_CMD_PUNSUBSCRIBE ||
	       cmd == SONDE_REDIS_CMD_SUNSUBSCRIBE;
}

static struct redis_pending *front(struct redis_state *st)
{
	int slot = sonde_fifo_front(&st->fifo, st->cap);

	return slot < 0 ? NULL : &st->pending[slot];
}

/* One element of an EXEC reply: the queued command it answers. */
static void exec_element(struct redis_state *st, uint64_t ts,
			 sonde_txn_emit_fn emit, void *userdata)
{
	struct redis_pending *pd = front(st);
	struct redis_queued *q;
	struct sonde_txn txn;

	if (!pd || st->exec_index >= st->n_queued) {
		st->exec_index++;
		st->stats.dropped++;
		return;
	}
	q = &st->queued[st->exec_index++];
	fill_txn(&txn, q->cmd, pend_start(st, pd), ts);
	set_error(&txn, &st->ev);
	cache_counts(&txn, q->cmd, q->flags, q->nkeys, &st->ev);
	emit(&txn, userdata);
}

/* A complete top-level reply: pair it with the oldest command. */
static void reply_done(struct redis_state *st, uint64_t ts,
		       sonde_txn_emit_fn emit, void *userdata)
{
	struct redis_pending *pd = front(st);
	struct sonde_txn txn;
	struct redis_eval *ev = &st->ev;
	uint8_t cmd;

	if (st->pubsub)
		return;
	if (st->skip_resp > 0) {
		/* answers a command dropped when the queue was full */
		st->skip_resp--;
		return;
	}
	if (!pd) {
		st->stats.dropped++;
		return;
	}
	cmd = pd->cmd;
	fill_txn(&txn, cmd, pend_start(st, pd), ts);
	txn.request_bytes = pd->req_bytes;
	txn.response_bytes = st->resp_bytes;
	set_error(&txn, ev);
	if (pd->flags & RF_SKIP) {
		int s = sonde_fifo_front(&st->skipq, REDIS_SKIPS_MAX);

		/* s >= 0: every RF_SKIP entry owns the oldest run left */
		st->skip_resp = s < 0 ? 0 : st->skips[s];
		sonde_fifo_pop(&st->skipq, REDIS_SKIPS_MAX);
		st->skip_blocked = false;
	}

	if (cmd == SONDE_REDIS_CMD_EXEC || cmd == SONDE_REDIS_CMD_DISCARD) {
		st->in_multi = false;
		st->n_queued = 0;
	} else if (st->in_multi) {
		if (ev->type == '+' && strcmp(ev->word, "QUEUED") == 0) {
			/* Runs at EXEC: emitted then, with its own reply. */
			if (st->n_queued < REDIS_QUEUED_MAX) {
				struct redis_queued *q = &st->queued[st->n_queued++];

				q->cmd = cmd;
				q->flags = pd->flags;
				q->nkeys = pd->nkeys;
			} else {
				st->stats.dropped++;
			}
			pending_pop(st);
			return;
		}
	} else {
		cache_counts(&txn, cmd, pd->flags, pd->nkeys, ev);
		if (cmd == SONDE_REDIS_CMD_MULTI && !ev_is_error(ev))
			st->in_multi = true;
	}
	if (cmd == SONDE_REDIS_CMD_HELLO && !ev_is_error(ev)) {
		if (pd->flags & RF_HELLO3)
			st->resp3 = true;
		else if (pd->flags & RF_HELLO2)
			st->resp3 = false;
	}
	if (((is_subscribe(cmd) && !st->resp3) || cmd == SONDE_REDIS_CMD_MONITOR) &&
	    !ev_is_error(ev)) {
		/* Replies no longer follow commands: stop pairing. */
		st->pubsub = true;
		st->stats.dropped += st->fifo.count - 1;
		pending_reset(st);
		emit(&txn, userdata);
		return;
	}
	pending_pop(st);
	emit(&txn, userdata);
}

/* A value started at the current depth: note what the root looks like. */
static void value_start(struct redis_state *st, char type)
{
	if (st->attr_depth || st->in_push)
		return;
	if (st->depth == st->root_depth) {
		memset(&st->ev, 0, sizeof(st->ev));
		st->ev.type = type;
	}
}

/* A value ended; walks up the stack closing finished aggregates. */
static void value_end(struct redis_state *st, uint64_t ts,
		      sonde_txn_emit_fn emit, void *userdata)
{
	for (;;) {
		struct redis_frame *fr;

		if (!st->attr_depth && !st->in_push && st->exec_reply &&
		    st->depth == 1)
			exec_element(st, ts, emit, userdata);
		if (st->depth == 0) {
			if (st->in_push) {
				struct redis_pending *pd = front(st);

				/* RESP3 subscribe confirmations come as pushes. */
				st->in_push = false;
				if (pd && is_pubsub(pd->cmd) && !st->pubsub)
					reply_done(st, ts, emit, userdata);
			} else {
				if (st->exec_reply)
					st->ev.type = '*';
				reply_done(st, ts, emit, userdata);
			}
			st->exec_reply = false;
			st->root_depth = 0;
			st->resp_bytes = 0;
			return;
		}
		fr = &st->stack[st->depth - 1];
		if (fr->left > 0)
			fr->left--;
		if (fr->left > 0)
			return;
		/* The aggregate is complete: it ends as a value of its parent. */
		st->depth--;
		if (fr->kind == FR_ATTR) {
			st->attr_depth--;
			return; /* an attribute precedes the value it annotates */
		}
	}
}

/* Counts a finished child for the root's evaluation. */
static void child_note(struct redis_state *st, bool nil, bool truthy)
{
	if (st->attr_depth || st->in_push)
		return;
	if (st->depth == st->root_depth + 1) {
		st->ev.children++;
		if (nil)
			st->ev.nil_children++;
		if (truthy)
			st->ev.truthy_children++;
	}
}

static bool aggregate_start(struct redis_state *st, char type, int64_t n,
			    uint64_t ts, sonde_txn_emit_fn emit, void *userdata)
{
	struct redis_frame *fr;
	uint64_t count;
	bool exec_root;

	if (n < -1 || (n == -1 && type != '*' && type != '%') ||
	    (uint64_t)(n < 0 ? 0 : n) > REDIS_LEN_MAX)
		return false;
	if (type == '|') {
		if (st->depth >= REDIS_DEPTH_MAX || n <= 0)
			return n == 0;
		fr = &st->stack[st->depth++];
		fr->kind = FR_ATTR;
		fr->left = (uint64_t)n * 2;
		st->attr_depth++;
		return true;
	}
	if (type == '>' && st->depth == 0 && !st->attr_depth)
		st->in_push = true;
	value_start(st, type);
	if (n <= 0) {
		if (!st->attr_depth && !st->in_push && st->depth == st->root_depth) {
			st->ev.nil = n < 0;
			st->ev.empty = n == 0;
		}
		child_note(st, n < 0, false);
		value_end(st, ts, emit, userdata);
		return true;
	}
	if (st->depth >= REDIS_DEPTH_MAX)
		return false;
	exec_root = st->depth == 0 && !st->in_push && !st->attr_depth && type == '*' &&
		    front(st) && front(st)->cmd == SONDE_REDIS_CMD_EXEC &&
		    st->in_multi && st->skip_resp == 0;
	child_note(st, false, true);
	count = (uint64_t)n * (type == '%' ? 2 : 1);
	fr = &st->stack[st->depth++];
	fr->kind = FR_AGG;
	fr->left = count;
	if (exec_root) {
		st->exec_reply = true;
		st->root_depth = 1;
		st->exec_index = 0;
	}
	return true;
}

/* A scalar value of type `type`; line is the payload after the type byte. */
static void scalar(struct redis_state *st, char type, const char *s, size_t n,
		   bool nil, uint64_t ts, sonde_txn_emit_fn emit, void *userdata)
{
	bool truthy = !nil;

	value_start(st, type);
	if (!st->attr_depth && !st->in_push && st->depth == st->root_depth) {
		st->ev.nil = nil;
		if (type == ':' && sonde_parse_i64(s, n, &st->ev.ival))
			st->ev.has_int = true;
		if (type == '$' || type == '=')
			st->ev.empty = n == 0;
		ev_word(&st->ev, s, n);
	}
	if (type == ':' && n == 1 && s[0] == '0')
		truthy = false;
	child_note(st, nil, truthy);
	value_end(st, ts, emit, userdata);
}

static bool parse_value_line(struct redis_state *st, const struct sonde_line *l,
			     uint64_t ts, sonde_txn_emit_fn emit, void *userdata)
{
	char type;
	int64_t n;

	if (l->len == 0)
		return false;
	type = l->ptr[0];
	switch (type) {
	case '+':
	case '-':
	case ':':
	case ',':
	case '#':
	case '(':
		scalar(st, type, l->ptr + 1, l->len - 1, false, ts, emit, userdata);
		return true;
	case '_':
		scalar(st, type, "", 0, true, ts, emit, userdata);
		return true;
	case '$':
	case '!':
	case '=':
		if (!sonde_parse_i64(l->ptr + 1, l->len - 1, &n) || n < -1 ||
		    (uint64_t)(n < 0 ? 0 : n) > REDIS_LEN_MAX)
			return false;
		if (n < 0) {
			if (type != '$')
				return false;
			scalar(st, type, "", 0, true, ts, emit, userdata);
			return true;
		}
		st->bulk_type = (uint8_t)type;
		st->resp_left = (uint64_t)n + 2;
		st->rarg_have = 0;
		st->rarg_len = (uint64_t)n;
		st->rs = RS_BULK;
		return true;
	case '*':
	case '%':
	case '~':
	case '>':
	case '|':
		if (!sonde_parse_i64(l->ptr + 1, l->len - 1, &n))
			return false;
		return aggregate_start(st, type, n, ts, emit, userdata);
	default:
		return false;
	}
}

static void bulk_reply_done(struct redis_state *st, uint64_t ts,
			    sonde_txn_emit_fn emit, void *userdata)
{
	st->rs = RS_VALUE;
	scalar(st, (char)st->bulk_type, st->rarg, st->rarg_have, false, ts, emit,
	       userdata);
}

static void feed_response(struct redis_state *st, const uint8_t *p,
			  const uint8_t *end, uint64_t ts,
			  sonde_txn_emit_fn emit, void *userdata)
{
	struct sonde_line l;

	if (st->rs == RS_DEAD)
		return;
	if (st->rs == RS_RESYNC) {
		if (sonde_fifo_empty(&st->fifo))
			return;
		resp_reset(st, RS_VALUE);
	}
	while (p < end) {
		const uint8_t *old = p;

		switch (st->rs) {
		case RS_VALUE:
			if (!sonde_line_next(&st->resp_lb, st->resp_line,
					     sizeof(st->resp_line), &p, end, &l))
				break;
			st->resp_bytes += (uint64_t)(p - old);
			old = p;
			if (!parse_value_line(st, &l, ts, emit, userdata)) {
				st->stats.parse_errors++;
				redis_desync(st, false);
				return;
			}
			break;
		case RS_BULK:
			if (!bulk_take(&st->resp_left, st->rarg, &st->rarg_have, &p, end))
				break;
			st->resp_bytes += (uint64_t)(p - old);
			old = p;
			bulk_reply_done(st, ts, emit, userdata);
			break;
		default:
			return;
		}
		st->resp_bytes += (uint64_t)(p - old);
	}
}

static int redis_feed(void *state, enum sonde_flow flow, const uint8_t *data,
		      size_t len, size_t total, uint64_t ts_ns,
		      sonde_txn_emit_fn emit, void *userdata)
{
	struct redis_state *st = state;
	uint64_t gap = total > len ? total - len : 0;
	int err = 0;

	if (len == 0)
		data = (const uint8_t *)""; /* no arithmetic on a NULL chunk */

	if (flow == SONDE_FLOW_REQUEST) {
		err = feed_request(st, data, data + len, ts_ns);
		if (err || gap == 0 || st->rq == RQ_RESYNC || st->rq == RQ_DEAD)
			return err;
		if (st->rq == RQ_BULK_DATA) {
			uint64_t left = sonde_skip_gap(&st->bulk_left, gap);

			st->req_bytes += gap - left;
			if (left == 0) {
				/* A big value cut by the capture: the usual case. */
				if (st->bulk_left == 0)
					bulk_arg_done(st);
				return 0;
			}
		}
		redis_desync(st, true);
		return 0;
	}
	feed_response(st, data, data + len, ts_ns, emit, userdata);
	if (gap == 0 || st->rs == RS_RESYNC || st->rs == RS_DEAD)
		return 0;
	if (st->rs == RS_BULK) {
		uint64_t left = sonde_skip_gap(&st->resp_left, gap);

		st->resp_bytes += gap - left;
		if (left == 0) {
			if (st->resp_left == 0)
				bulk_reply_done(st, ts_ns, emit, userdata);
			return 0;
		}
	}
	redis_desync(st, true);
	return 0;
}

const struct sonde_proto_ops sonde_proto_redis = {
	.proto = SONDE_PROTO_REDIS,
	.name = "redis",
	.state_size = sizeof(struct redis_state),
	.detect = redis_detect,
	.init = redis_init,
	.fini = redis_fini,
	.feed = redis_feed,
	.stats = redis_stats,
};
