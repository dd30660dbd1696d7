// SPDX-License-Identifier: MIT
/*
 * PostgreSQL frontend/backend protocol v3, incremental and allocation-free.
 *
 * One transaction per executed statement: a simple Query ('Q') is one
 * transaction (even when its string holds several statements: the first
 * one names it), an extended-protocol Execute ('E') is one transaction
 * whose SQL comes from the statement its portal was bound to. Requests and
 * their responses are paired through a FIFO of pending operations:
 * Executes are answered by CommandComplete / EmptyQueryResponse /
 * ErrorResponse, Query / Sync / FunctionCall by ReadyForQuery. After an
 * error the server skips to the next Sync, so Executes still pending when
 * ReadyForQuery arrives were never run and are forgotten.
 */
#include <errno.h>
#include <string.h>

#include "protocols/db_feed.h"
#include "protocols/db_stmts.h"
#include "protocols/framing.h"
#include "protocols/protocol.h"

#define PG_REQ_PREFIX 512  /* SQL bytes kept to summarise a statement */
#define PG_RESP_PREFIX 128 /* enough for ErrorResponse's S, V and C fields */
#define PG_PENDING 16       /* queued at most (a pipelined batch) */
#define PG_PENDING_INLINE 2 /* held in the state; the queue moves to the heap past it */
#define PG_MAX_MSG (1u << 30)  /* the server's own limit on a message */
#define PG_MAX_STARTUP 10000   /* MAX_STARTUP_PACKET_LENGTH */

#define PG_CODE_STARTUP3 196608u  /* protocol 3.0 */
#define PG_CODE_CANCEL 80877102u
#define PG_CODE_SSL 80877103u
#define PG_CODE_GSSENC 80877104u

struct pg_stream {
	struct sonde_frame f;
	uint8_t type; /* 0 for the untyped startup-phase messages */
	bool untyped;
};

enum pg_pkind {
	PG_P_QUERY = 1,
	PG_P_EXEC,
	PG_P_SYNC,
	PG_P_FUNC,
};

struct pg_pending {
	uint8_t kind;
	bool empty;  /* EmptyQueryResponse: nothing ran */
	bool ran;    /* Query: some statement completed or failed */
	char error[SONDE_DB_ERROR_LEN];
	uint64_t start_ns;
	struct sonde_db_sum sum;
};

struct pg_state {
	struct sonde_db_conn c; /* dead: encrypted from here on */
	struct pg_stream req, resp;
	bool startup;      /* untyped messages possible: start, after SSL 'N' */
	bool ssl_answer;   /* a one-byte answer to SSLRequest/GSSENCRequest is due */
	uint64_t batch_ts; /* first message of the extended batch being built */
	uint64_t last_resp_ts;
	struct sonde_fifo fifo;
	uint16_t cap;            /* entries in pend[] */
	struct pg_pending *pend; /* pend_inline, or a heap array once grown */
	struct pg_pending pend_inline[PG_PENDING_INLINE];
	struct sonde_db_stmts names; /* statements and portals: hash of kind + name */
	uint8_t req_buf[PG_REQ_PREFIX];
	uint8_t resp_buf[PG_RESP_PREFIX];
};

static bool pg_is_req_type(uint8_t t)
{
	return t && strchr("BCdcfDEHFPpQSX", t) != NULL;
}

static bool pg_is_resp_type(uint8_t t)
{
	return t && strchr("RKS23CdcGHWDIEVnNAt1sZTv", t) != NULL;
}

static bool pg_detect(const uint8_t *d, size_t len)
{
	uint32_t n, code;

	if (!d || len < 5)
		return false;
	n = sonde_be32(d);
	if (d[0] == 0) {
		if (n < 8 || n > PG_MAX_STARTUP || len < 8)
			return false;
		code = sonde_be32(d + 4);
		return code == PG_CODE_STARTUP3 || code == PG_CODE_SSL ||
		       code == PG_CODE_GSSENC || code == PG_CODE_CANCEL;
	}
	/* Mid-stream: a typed message with a plausible length. */
	n = sonde_be32(d + 1);
	return strchr("QPBES", d[0]) && d[0] && n >= 4 && n < (1u << 20);
}

static void pg_init(void *state)
{
	struct pg_state *s = state;

	memset(s, 0, sizeof(*s));
	s->startup = true;
	s->pend = sonde_fifo_adopt(s->pend, &s->cap, s->pend_inline, PG_PENDING_INLINE);
}

static void pg_fini(void *state)
{
	struct pg_state *s = state;

	s->pend = sonde_fifo_release(s->pend, &s->cap, s->pend_inline, PG_PENDING_INLINE);
	sonde_db_stmts_free(&s->names);
}

/* The frame stream and body buffer of a direction. */
static struct sonde_db_dir pg_dir(void *state, bool req)
{
	struct pg_state *s = state;

	return req ? (struct sonde_db_dir){ &s->req, &s->req.f, s->req_buf, sizeof(s->req_buf) }
		   : (struct sonde_db_dir){ &s->resp, &s->resp.f, s->resp_buf, sizeof(s->resp_buf) };
}

/* ---- remembered statements and portals ---- */

static uint64_t pg_key(char kind, const uint8_t *name, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ (uint8_t)kind) * 1099511628211ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ name[i]) * 1099511628211ull;
	return h | 1;
}

/* Stores sum under key; a full table's eviction is counted as dropped. */
static void pg_name_put(struct pg_state *s, uint64_t key,
			const struct sonde_db_sum *sum)
{
	if (sonde_db_stmt_put(&s->names, key, sum))
		s->c.stats.dropped++;
}

/* The summary stored under key, else OTHER. */
static void pg_name_get(struct pg_state *s, uint64_t key,
			struct sonde_db_sum *ret_sum)
{
	const struct sonde_db_sum *sum = sonde_db_stmt_find(&s->names, key);

	if (sum)
		*ret_sum = *sum;
	else
		sonde_db_sum_unknown(ret_sum);
}

/* ---- body helpers ---- */

/*
 * The NUL-terminated string at *off within the kept prefix, into *str and
 * *n (always set); false when the prefix bound cut it, and then they
 * are what was kept, the best we know.
 */
static bool pg_cstr(const uint8_t *b, size_t have, size_t *off,
		    const uint8_t **str, size_t *n)
{
	const uint8_t *p, *nul;

	if (*off > have)
		*off = have;
	p = b + *off;
	*str = p;
	nul = memchr(p, 0, have - *off);
	if (!nul) {
		*n = have - *off;
		*off = have;
		return false;
	}
	*n = (size_t)(nul - p);
	*off += *n + 1;
	return true;
}

static struct pg_pending *pg_push(struct pg_state *s, uint8_t kind,
				  uint64_t start)
{
	struct pg_pending *p;
	int i;

	sonde_db_resp_check(&s->c, &s->fifo, &s->resp.f);
	s->pend = sonde_fifo_push_grow(&s->fifo, s->pend, &s->cap, sizeof(*s->pend), PG_PENDING,
					s->pend_inline, &i);
	if (i < 0) {
		s->c.stats.dropped++;
		return NULL;
	}
	p = &s->pend[i];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->start_ns = start;
	return p;
}

static struct pg_pending *pg_front(struct pg_state *s)
{
	int i = sonde_fifo_front(&s->fifo, s->cap);

	return i < 0 ? NULL : &s->pend[i];
}

static void pg_emit(const struct pg_pending *p, const struct sonde_db_out *o)
{
	sonde_db_emit(o, SONDE_PROTO_POSTGRES, p->start_ns, &p->sum, p->error);
}

/* ---- requests ---- */

static int pg_on_untyped(struct pg_state *s, const uint8_t *b, size_t have)
{
	uint32_t code;

	if (have < 4)
		return -EPROTO;
	code = sonde_be32(b);
	if (code == PG_CODE_SSL || code == PG_CODE_GSSENC) {
		s->ssl_answer = true;
		return 0;
	}
	if (code == PG_CODE_CANCEL)
		return 0;
	if ((code >> 16) != 3)
		return -EPROTO;
	s->startup = false;
	return 0;
}

static void pg_on_parse(struct pg_state *s, const uint8_t *b, size_t have)
{
	const uint8_t *name, *sql;
	size_t off = 0, nn, sn;
	struct sonde_db_sum sum;

	pg_cstr(b, have, &off, &name, &nn);
	pg_cstr(b, have, &off, &sql, &sn);
	sonde_db_summarize(sql, sn, false, &sum);
	pg_name_put(s, pg_key('S', name, nn), &sum);
}

static void pg_on_bind(struct pg_state *s, const uint8_t *b, size_t have)
{
	const uint8_t *portal, *stmt;
	size_t off = 0, pn, sn;
	struct sonde_db_sum sum;

	pg_cstr(b, have, &off, &portal, &pn);
	pg_cstr(b, have, &off, &stmt, &sn);
	pg_name_get(s, pg_key('S', stmt, sn), &sum);
	pg_name_put(s, pg_key('P', portal, pn), &sum);
}

static void pg_on_execute(struct pg_state *s, const uint8_t *b, size_t have,
			  uint64_t ts)
{
	const uint8_t *portal;
	size_t off = 0, pn;
	struct pg_pending *p;

	pg_cstr(b, have, &off, &portal, &pn);
	p = pg_push(s, PG_P_EXEC, s->batch_ts ? s->batch_ts : ts);
	s->batch_ts = 0;
	if (!p)
		return;
	pg_name_get(s, pg_key('P', portal, pn), &p->sum);
}

static void pg_on_close(struct pg_state *s, const uint8_t *b, size_t have)
{
	const uint8_t *name;
	size_t off = 1, nn;

	if (have < 1 || (b[0] != 'S' && b[0] != 'P'))
		return;
	pg_cstr(b, have, &off, &name, &nn);
	sonde_db_stmt_forget(&s->names, pg_key((char)b[0], name, nn));
}

static int pg_on_request(struct pg_state *s, const struct pg_stream *st,
			 const uint8_t *b, size_t have)
{
	const uint8_t *sql;
	size_t off = 0, n;
	struct pg_pending *p;

	if (st->untyped)
		return pg_on_untyped(s, b, have);
	s->startup = false;
	switch (st->type) {
	case 'Q':
		s->batch_ts = 0;
		p = pg_push(s, PG_P_QUERY, st->f.msg_ts);
		if (p) {
			pg_cstr(b, have, &off, &sql, &n);
			sonde_db_summarize(sql, n, false, &p->sum);
		}
		break;
	case 'P':
	case 'B':
	case 'D':
		if (!s->batch_ts)
			s->batch_ts = st->f.msg_ts;
		if (st->type == 'P')
			pg_on_parse(s, b, have);
		else if (st->type == 'B')
			pg_on_bind(s, b, have);
		break;
	case 'E':
		pg_on_execute(s, b, have, st->f.msg_ts);
		break;
	case 'S':
		s->batch_ts = 0;
		pg_push(s, PG_P_SYNC, st->f.msg_ts);
		break;
	case 'H':
		/* Flush: the client waits for what it sent so far. */
		s->batch_ts = 0;
		break;
	case 'F':
		pg_push(s, PG_P_FUNC, st->f.msg_ts);
		break;
	case 'C':
		pg_on_close(s, b, have);
		break;
	default:
		/* Flush, Terminate, CopyData/Done/Fail, password: no pairing. */
		break;
	}
	return 0;
}

/* ---- responses ---- */

static void pg_error_code(const uint8_t *b, size_t have, char *out, size_t cap)
{
	size_t off = 0;

	while (off < have && b[off] != 0) {
		uint8_t field = b[off++];
		const uint8_t *v;
		size_t n;
		bool whole = pg_cstr(b, have, &off, &v, &n);

		if (field == 'C' && whole) {
			sonde_txn_setn(out, (unsigned)cap, (const char *)v, n);
			return;
		}
		if (!whole)
			break;
	}
	/* The code was beyond what we kept, or cut: still an error. */
	sonde_txn_setn(out, (unsigned)cap, "ERROR", 5);
}

static void pg_complete_exec(struct pg_state *s, const struct sonde_db_out *o,
			     const char *error, bool empty)
{
	struct pg_pending *p = pg_front(s);

	if (!p)
		return;
	if (p->kind == PG_P_QUERY) {
		if (empty && !p->ran)
			p->empty = true;
		if (!empty)
			p->ran = true;
		if (error && !p->error[0])
			SONDE_TXN_SET(p->error, error, sizeof(p->error));
		return;
	}
	if (p->kind != PG_P_EXEC)
		return;
	if (error)
		SONDE_TXN_SET(p->error, error, sizeof(p->error));
	if (!empty)
		pg_emit(p, o);
	sonde_fifo_pop(&s->fifo, s->cap);
}

/* ReadyForQuery ends the oldest Query, Sync or FunctionCall. */
static void pg_ready(struct pg_state *s, const struct sonde_db_out *o)
{
	struct pg_pending *p;

	while ((p = pg_front(s))) {
		uint8_t kind = p->kind;

		if (kind == PG_P_QUERY && !(p->empty && !p->error[0]))
			pg_emit(p, o);
		sonde_fifo_pop(&s->fifo, s->cap);
		if (kind != PG_P_EXEC)
			break;
	}
}

static int pg_on_response(struct pg_state *s, const struct pg_stream *st,
			  const uint8_t *b, size_t have, const struct sonde_db_out *o)
{
	struct pg_pending *p;
	char err[8];

	switch (st->type) {
	case 'C':
		pg_complete_exec(s, o, NULL, false);
		break;
	case 'I':
		pg_complete_exec(s, o, NULL, true);
		break;
	case 'E':
		pg_error_code(b, have, err, sizeof(err));
		pg_complete_exec(s, o, err, false);
		break;
	case 'Z':
		pg_ready(s, o);
		break;
	case 's':
		/*
		 * PortalSuspended: the portal runs on under a later Execute,
		 * and pg_stat_statements counts one call when it completes.
		 */
		if ((p = pg_front(s)) && p->kind == PG_P_EXEC)
			sonde_fifo_pop(&s->fifo, s->cap);
		break;
	default:
		/* Describing, notifying, authenticating: nothing to pair. */
		break;
	}
	return 0;
}

/* ---- framing ---- */

static void pg_drop_pending(struct pg_state *s)
{
	struct pg_pending *p;

	while ((p = pg_front(s))) {
		if (p->kind == PG_P_QUERY || p->kind == PG_P_EXEC)
			s->c.stats.dropped++;
		sonde_fifo_pop(&s->fifo, s->cap);
	}
	s->batch_ts = 0;
}

/*
 * Request framing lost: the requests in the gap are gone, but responses
 * to those already queued are still framed, so the queue stays.
 */
static void pg_req_desync(struct pg_state *s)
{
	s->c.stats.desyncs++;
	s->batch_ts = 0;
	s->req.f.st = SONDE_FRAME_RESYNC;
}

/*
 * Response framing lost, usually a result larger than the capture: the
 * answers to every pending operation were being written, so they complete
 * at this chunk (durations are lower bounds, errors unknown). The stream
 * resyncs at the first response chunk after the next request.
 */
static void pg_resp_desync(struct pg_state *s, const struct sonde_db_out *o)
{
	struct pg_pending *p;

	s->c.stats.desyncs++;
	while ((p = pg_front(s))) {
		if (p->kind == PG_P_EXEC ||
		    (p->kind == PG_P_QUERY && !p->empty))
			pg_emit(p, o);
		sonde_fifo_pop(&s->fifo, s->cap);
	}
	s->resp.f.st = SONDE_FRAME_RESYNC;
	s->c.resp_armed = false;
	s->ssl_answer = false;
}

static int pg_bad(struct pg_state *s, bool req)
{
	/* Responses alone never condemn a stream: capture may start mid-reply. */
	if (!s->c.valid && req) {
		s->c.dead = true;
		return -EPROTO;
	}
	s->c.stats.parse_errors++;
	if (req) {
		pg_req_desync(s);
	} else {
		pg_drop_pending(s);
		s->c.stats.desyncs++;
		s->resp.f.st = SONDE_FRAME_RESYNC;
		s->c.resp_armed = false;
		s->ssl_answer = false;
	}
	return 1;
}

static int pg_frame(void *ctx, const uint8_t *b, size_t have)
{
	const struct sonde_db_chunk *ch = ctx;
	struct pg_state *s = ch->state;
	int r;

	r = ch->req ? pg_on_request(s, ch->stream, b, have)
		    : pg_on_response(s, ch->stream, b, have, &ch->o);
	if (r < 0)
		return pg_bad(s, ch->req);
	if (ch->req)
		s->c.valid = true;
	return 0;
}

/* The single byte that answers SSLRequest / GSSENCRequest. */
static int pg_ssl_answer(struct pg_state *s, uint8_t c)
{
	s->ssl_answer = false;
	if (c == 'N')
		return 0;
	if (c == 'S' || c == 'G') {
		s->c.dead = true;
		return -EPROTO;
	}
	return 1; /* not an answer: an ErrorResponse from an old server */
}

/* A message starts with c: an SSL answer, or a 4/5-byte header. */
static int pg_begin(void *ctx, uint8_t c)
{
	const struct sonde_db_chunk *ch = ctx;
	struct pg_state *s = ch->state;
	struct pg_stream *st = ch->stream;
	int r;

	if (!ch->req && s->ssl_answer) {
		r = pg_ssl_answer(s, c);
		if (r <= 0)
			return r;
	}
	st->untyped = ch->req && s->startup && c == 0;
	return st->untyped ? 4 : 5;
}

static int pg_length(void *ctx, const uint8_t *hdr, uint64_t *ret_len)
{
	const struct sonde_db_chunk *ch = ctx;
	struct pg_stream *st = ch->stream;
	uint32_t n;

	if (st->untyped) {
		n = sonde_be32(hdr);
		if (n < 8 || n > PG_MAX_STARTUP)
			return pg_bad(ch->state, ch->req);
		st->type = 0;
	} else {
		st->type = hdr[0];
		n = sonde_be32(hdr + 1);
		if (!(ch->req ? pg_is_req_type(st->type)
			      : pg_is_resp_type(st->type)) ||
		    n < 4 || n > PG_MAX_MSG)
			return pg_bad(ch->state, ch->req);
	}
	*ret_len = n - 4;
	return 0;
}

static void pg_lost(void *ctx)
{
	const struct sonde_db_chunk *ch = ctx;

	if (ch->req)
		pg_req_desync(ch->state);
	else
		pg_resp_desync(ch->state, &ch->o);
}

static const struct sonde_db_proto pg_db = {
	.framing = {
		.begin = pg_begin,
		.length = pg_length,
		.frame = pg_frame,
		.lost = pg_lost,
	},
	.dir = pg_dir,
};

static int pg_feed(void *state, enum sonde_flow flow, const uint8_t *data,
		   size_t len, size_t total, uint64_t ts_ns,
		   sonde_txn_emit_fn emit, void *userdata)
{
	return sonde_db_feed(&pg_db, state, flow, data, len, total, ts_ns,
			     emit, userdata);
}

const struct sonde_proto_ops sonde_proto_postgres = {
	.proto = SONDE_PROTO_POSTGRES,
	.name = "postgresql",
	.state_size = sizeof(struct pg_state),
	.detect = pg_detect,
	.init = pg_init,
	.feed = pg_feed,
	.stats = sonde_db_stats,
	.fini = pg_fini,
};
