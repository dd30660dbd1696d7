// SPDX-License-Identifier: MIT
/*
 * HTTP/1.0 and HTTP/1.1: request line and headers, keep-alive, pipelining,
 * Content-Length and chunked bodies both ways, 100-continue, HEAD/204/304,
 * 101 and CONNECT tunnels (parsing ends there), W3C traceparent.
 */
#include <errno.h>
#include <string.h>

#include "protocols/framing.h"
#include "protocols/httpcommon.h"
#include "protocols/protocol.h"

#define HTTP_PENDING_MAX 16
/* Slots held inline: one request in flight is the common case. The queue
 * moves to a heap array of HTTP_PENDING_MAX the first time a connection
 * pipelines deeper, keeping an idle keep-alive connection at ~1 KB. */
#define HTTP_PENDING_INLINE 2
#define HTTP_PATH_MAX 128
#define HTTP_HOST_MAX 48
#define HTTP_REQ_LINE_MAX 320
#define HTTP_RESP_LINE_MAX 96

enum http_phase {
	PH_START = 0, /* request line / status line */
	PH_HEADERS,
	PH_BODY,
	PH_RESYNC, /* lost framing: wait for a chunk that starts a message */
	PH_DEAD,   /* upgraded or tunnelled: not HTTP any more */
};

enum http_body {
	BD_LENGTH = 0,
	BD_CHUNK_SIZE,
	BD_CHUNK_DATA,
	BD_CHUNK_END,
	BD_TRAILERS,
	BD_EOF, /* response delimited by the connection close */
};

enum {
	PF_HEAD = 1 << 0,
	PF_EXPECT = 1 << 1,
	PF_TRACE = 1 << 2,
	PF_CONNECT = 1 << 3,
	PF_ABSOLUTE = 1 << 5, /* absolute-form target: its authority wins over Host */
};

struct http_pending {
	uint64_t start_ns;
	uint64_t req_bytes;
	uint16_t skip_after; /* requests dropped (queue full) right after this one */
	uint16_t port;
	uint8_t method;
	uint8_t flags;
	uint8_t path_len;
	uint8_t host_len;
	uint8_t trace_flags;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	char path[HTTP_PATH_MAX];
	char host[HTTP_HOST_MAX];
};

struct http_side {
	uint8_t phase;
	uint8_t body;
	bool chunked;
	bool has_length;
	uint64_t length;
	uint64_t remaining;
	uint64_t bytes;
	uint64_t start_ns;
	struct sonde_linebuf lb;
};

struct http_state {
	struct sonde_proto_stats stats;
	struct http_side req;
	struct http_side resp;
	int16_t cur_slot;     /* pending slot of the request being read, or -1 */
	uint16_t skip_resp;   /* responses to drop unpaired (their request was dropped) */
	int status;
	bool seen_request;    /* a request line ever parsed: garbage then is not -EPROTO */
	bool resp_unpaired;   /* the response being read has no request */
	bool resp_continue;   /* a 100 Continue was seen for the front request */
	uint64_t resp_last_ns; /* ts of the last response chunk */
	bool req_abandonable; /* the body we skip may never come (417 after Expect) */
	struct sonde_fifo fifo;
	uint16_t cap;                  /* slots in pending[] */
	struct http_pending *pending;  /* inline_pending, or a heap array once grown */
	struct http_pending inline_pending[HTTP_PENDING_INLINE];
	char req_line[HTTP_REQ_LINE_MAX];
	char resp_line[HTTP_RESP_LINE_MAX];
};

static bool http1_detect(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 8; i++) {
		if (data[i] == ' ')
			return i > 0 && sonde_http_method_index((const char *)data, i) > 0;
		if (data[i] < 'A' || data[i] > 'Z')
			return false;
	}
	/* Too short to see the space: a prefix of a method is enough. */
	if (len < 8) {
		unsigned m;

		for (m = 1; m < SONDE_HTTP_N_METHODS; m++)
			if (strlen(sonde_http_methods[m]) >= len &&
			    memcmp(sonde_http_methods[m], data, len) == 0)
				return len > 0;
	}
	return false;
}

static void http1_init(void *state)
{
	struct http_state *st = state;

	st->pending = sonde_fifo_adopt(st->pending, &st->cap, st->inline_pending,
				       HTTP_PENDING_INLINE);
	sonde_fifo_reset(&st->fifo);
	st->cur_slot = -1;
}

static void http1_fini(void *state)
{
	struct http_state *st = state;

	st->pending = sonde_fifo_release(st->pending, &st->cap, st->inline_pending,
					 HTTP_PENDING_INLINE);
}

/* The inline slots are full: move the queue, in order, to HTTP_PENDING_MAX. */
static bool grow_pending(struct http_state *st)
{
	unsigned head = st->fifo.head, cap = st->cap;
	struct http_pending *n = sonde_fifo_grow(&st->fifo, st->pending, &st->cap,
						 sizeof(*n), HTTP_PENDING_MAX,
						 st->inline_pending);

	if (!n)
		return false;
	st->pending = n;
	if (st->cur_slot >= 0)
		st->cur_slot = (int16_t)((st->cur_slot + cap - head) % cap);
	return true;
}

static const struct sonde_proto_stats *http1_stats(const void *state)
{
	const struct http_state *st = state;

	return &st->stats;
}

static void side_reset(struct http_side *s, uint8_t phase)
{
	s->phase = phase;
	s->chunked = false;
	s->has_length = false;
	s->length = 0;
	s->remaining = 0;
	s->bytes = 0;
	sonde_line_reset(&s->lb);
}

/* A gap fell where framing was needed: drop everything, resync both ways. */
static void http_desync(struct http_state *st, bool gap)
{
	if (gap)
		st->stats.desyncs++;
	st->stats.dropped += st->fifo.count;
	sonde_fifo_reset(&st->fifo);
	st->cur_slot = -1;
	st->skip_resp = 0;
	st->resp_continue = false;
	st->req_abandonable = false;
	side_reset(&st->req, PH_RESYNC);
	side_reset(&st->resp, PH_RESYNC);
}

/* W3C trace context (httpcommon.c). */
static void parse_traceparent(struct http_pending *pd, const char *v, size_t n)
{
	if (sonde_http_traceparent(v, n, pd->trace_id, pd->span_id, &pd->trace_flags))
		pd->flags |= PF_TRACE;
}

static void parse_host(struct http_pending *pd, const char *v, size_t n)
{
	const char *host;
	size_t hlen;

	if (!sonde_http_authority(v, n, &host, &hlen, &pd->port))
		return;
	if (hlen > HTTP_HOST_MAX - 1)
		hlen = HTTP_HOST_MAX - 1;
	memcpy(pd->host, host, hlen);
	pd->host_len = (uint8_t)hlen;
}

/* Last coding of a Transfer-Encoding list is "chunked". */
static bool te_chunked(const char *v, size_t n)
{
	size_t i = n;

	while (i > 0 && v[i - 1] != ',')
		i--;
	v += i;
	n -= i;
	sonde_token_trim(&v, &n);
	return sonde_token_caseeq(v, n, "chunked");
}

static bool header_split(const struct sonde_line *l, const char **name,
			 size_t *nlen, const char **val, size_t *vlen)
{
	const char *colon = memchr(l->ptr, ':', l->len);

	if (!colon || colon == l->ptr)
		return false;
	*name = l->ptr;
	*nlen = (size_t)(colon - l->ptr);
	*val = colon + 1;
	*vlen = l->len - *nlen - 1;
	sonde_token_trim(val, vlen);
	return true;
}

/* Framing headers common to both directions; false on a bad length. */
static bool framing_header(struct http_side *s, const char *name, size_t nlen,
			   const char *val, size_t vlen)
{
	if (sonde_token_caseeq(name, nlen, "content-length")) {
		uint64_t cl;

		if (!sonde_parse_u64(val, vlen, &cl))
			return false;
		if (s->has_length && cl != s->length)
			return false;
		s->has_length = true;
		s->length = cl;
	} else if (sonde_token_caseeq(name, nlen, "transfer-encoding")) {
		s->chunked = te_chunked(val, vlen);
	}
	return true;
}

static struct http_pending *cur_pending(struct http_state *st)
{
	return st->cur_slot >= 0 ? &st->pending[st->cur_slot] : NULL;
}

/*
 * Requests to a proxy name the server in the target
 * ("http://host:port/path"): the authority is the server, the rest the path.
 */
static void absolute_form(struct http_pending *pd, const char **target,
			  size_t *len)
{
	const char *t = *target, *end = t + *len, *auth, *p, *at;
	size_t skip;

	if (*len > 7 && sonde_token_caseeq(t, 7, "http://"))
		skip = 7;
	else if (*len > 8 && sonde_token_caseeq(t, 8, "https://"))
		skip = 8;
	else
		return;
	auth = t + skip;
	for (p = auth; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
		;
	at = memchr(auth, '@', (size_t)(p - auth));
	if (at)
		auth = at + 1; /* userinfo is not the server */
	parse_host(pd, auth, (size_t)(p - auth));
	pd->flags |= PF_ABSOLUTE;
	if (p < end && *p == '/') {
		*target = p;
		*len = (size_t)(end - p);
	} else {
		*target = "/";
		*len = 1;
	}
}

static bool parse_request_line(struct http_state *st, const struct sonde_line *l,
			       uint64_t ts)
{
	const char *p = l->ptr, *end = l->ptr + l->len, *tok, *target, *ver;
	size_t tlen, target_len, vlen;
	struct http_pending *pd;
	int m, slot;

	if (!sonde_token_next(&p, end, &tok, &tlen) || tlen > 20)
		return false;
	m = sonde_http_method_index(tok, tlen);
	if (m < 0) {
		size_t i;

		for (i = 0; i < tlen; i++)
			if (tok[i] < 'A' || tok[i] > 'Z')
				return false;
		m = SONDE_HTTP_M_OTHER;
	}
	if (!sonde_token_next(&p, end, &target, &target_len))
		return false;
	if (sonde_token_next(&p, end, &ver, &vlen)) {
		if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0)
			return false;
	} else if (!l->truncated) {
		return false; /* HTTP/0.9 is not spoken any more */
	}

	slot = sonde_fifo_push(&st->fifo, st->cap);
	if (slot < 0 && grow_pending(st))
		slot = sonde_fifo_push(&st->fifo, st->cap);
	if (slot < 0) {
		int back = sonde_fifo_back(&st->fifo, st->cap);

		st->stats.dropped++;
		st->pending[back].skip_after++;
		st->cur_slot = -1;
		return true;
	}
	pd = &st->pending[slot];
	memset(pd, 0, offsetof(struct http_pending, path));
	pd->start_ns = ts;
	pd->method = (uint8_t)m;
	if (m == SONDE_HTTP_M_HEAD)
		pd->flags |= PF_HEAD;
	if (m == SONDE_HTTP_M_CONNECT)
		pd->flags |= PF_CONNECT;
	absolute_form(pd, &target, &target_len);
	if (target_len > HTTP_PATH_MAX - 1)
		target_len = HTTP_PATH_MAX - 1;
	memcpy(pd->path, target, target_len);
	pd->path_len = (uint8_t)target_len;
	st->cur_slot = (int16_t)slot;
	return true;
}

static void request_header(struct http_state *st, const struct sonde_line *l)
{
	struct http_pending *pd = cur_pending(st);
	const char *name, *val;
	size_t nlen, vlen;

	if (!header_split(l, &name, &nlen, &val, &vlen))
		return; /* obs-fold or junk: ignored, framing kept */
	if (!framing_header(&st->req, name, nlen, val, vlen)) {
		st->stats.parse_errors++;
		return;
	}
	if (!pd)
		return;
	if (sonde_token_caseeq(name, nlen, "host") && !(pd->flags & PF_ABSOLUTE))
		parse_host(pd, val, vlen);
	else if (sonde_token_caseeq(name, nlen, "traceparent"))
		parse_traceparent(pd, val, vlen);
	else if (sonde_token_caseeq(name, nlen, "expect") &&
		 sonde_token_caseeq(val, vlen, "100-continue"))
		pd->flags |= PF_EXPECT;
}

static void emit_front(struct http_state *st, uint64_t ts, sonde_txn_emit_fn emit,
		       void *userdata)
{
	int slot = sonde_fifo_front(&st->fifo, st->cap);
	struct http_pending *pd;
	struct sonde_txn txn;

	if (slot < 0)
		return;
	pd = &st->pending[slot];
	memset(&txn, 0, sizeof(txn));
	txn.kind = SONDE_TXN_HTTP_SERVER;
	txn.proto = SONDE_PROTO_HTTP1;
	txn.start_ns = pd->start_ns;
	txn.duration_ns = ts > pd->start_ns ? ts - pd->start_ns : 0;
	SONDE_TXN_SET(txn.operation, sonde_http_methods[pd->method], SONDE_TXN_OP_LEN);
	memcpy(txn.path, pd->path, pd->path_len);
	memcpy(txn.server_address, pd->host, pd->host_len);
	txn.server_port = pd->port;
	txn.status = st->status;
	txn.request_bytes = pd->req_bytes;
	txn.response_bytes = st->resp.bytes;
	if (pd->flags & PF_TRACE)
		sonde_txn_set_trace(&txn, pd->trace_id, pd->span_id, pd->trace_flags);
	st->skip_resp = pd->skip_after;
	if (st->cur_slot == slot) {
		/* Answered before fully sent: keep framing, stop accounting. */
		st->cur_slot = -1;
		if ((pd->flags & PF_EXPECT) && !st->resp_continue)
			st->req_abandonable = true;
	}
	sonde_fifo_pop(&st->fifo, st->cap);
	emit(&txn, userdata);
}

/* ---- bodies (both directions) ---- */

/*
 * Advances through a body; true when the message is complete. Sets *bad on
 * a framing error.
 */
static bool body_step(struct http_side *s, char *lbuf, size_t lcap,
		      const uint8_t **pos, const uint8_t *end, bool *bad)
{
	struct sonde_line l;
	uint64_t size;

	while (*pos < end) {
		switch (s->body) {
		case BD_LENGTH:
		case BD_CHUNK_DATA:
			if (!sonde_skip(&s->remaining, pos, end))
				return false;
			if (s->body == BD_LENGTH)
				return true;
			s->body = BD_CHUNK_END;
			break;
		case BD_EOF:
			*pos = end;
			return false;
		case BD_CHUNK_SIZE:
		case BD_CHUNK_END:
		case BD_TRAILERS:
			if (!sonde_line_next(&s->lb, lbuf, lcap, pos, end, &l))
				return false;
			if (s->body == BD_CHUNK_END) {
				if (l.len != 0) {
					*bad = true;
					return false;
				}
				s->body = BD_CHUNK_SIZE;
			} else if (s->body == BD_TRAILERS) {
				if (l.len == 0)
					return true;
			} else {
				const char *semi = memchr(l.ptr, ';', l.len);
				const char *h = l.ptr;
				size_t n = semi ? (size_t)(semi - l.ptr) : l.len;

				sonde_token_trim(&h, &n);
				if (!sonde_parse_hex_u64(h, n, &size)) {
					*bad = true;
					return false;
				}
				if (size == 0) {
					s->body = BD_TRAILERS;
				} else {
					s->remaining = size;
					s->body = BD_CHUNK_DATA;
				}
			}
			break;
		}
	}
	/* A zero-length remaining body completes without more bytes. */
	return s->body == BD_LENGTH && s->remaining == 0;
}

/* Sets up the body after the headers; false when there is none. */
static bool body_begin(struct http_side *s)
{
	if (s->chunked) {
		s->body = BD_CHUNK_SIZE;
		return true;
	}
	if (s->has_length && s->length > 0) {
		s->body = BD_LENGTH;
		s->remaining = s->length;
		return true;
	}
	return false;
}

/* ---- request flow ---- */

static void req_account(struct http_state *st, uint64_t n)
{
	struct http_pending *pd = cur_pending(st);

	st->req.bytes += n;
	if (pd)
		pd->req_bytes = st->req.bytes;
}

static void req_done(struct http_state *st)
{
	st->cur_slot = -1;
	st->req_abandonable = false;
	side_reset(&st->req, PH_START);
	st->req.start_ns = 0;
}

static bool looks_like_request(const uint8_t *p, const uint8_t *end)
{
	return http1_detect(p, (size_t)(end - p)) && (size_t)(end - p) >= 4;
}

static void resp_complete(struct http_state *st, uint64_t ts,
			  sonde_txn_emit_fn emit, void *userdata);

/*
 * The response being read declared a length but none of its body came
 * through the syscalls we see (sendfile/splice send it out of band): when
 * something shows it is over, complete it at its last seen chunk.
 */
static bool body_out_of_band(const struct http_state *st)
{
	const struct http_side *s = &st->resp;

	return s->phase == PH_BODY && s->body == BD_LENGTH &&
	       s->remaining == s->length && s->remaining > 0;
}

/* Its bytes did go on the wire: count the declared length. */
static void complete_out_of_band(struct http_state *st, sonde_txn_emit_fn emit,
				 void *userdata)
{
	st->resp.bytes += st->resp.remaining;
	resp_complete(st, st->resp_last_ns, emit, userdata);
}

static int feed_request(struct http_state *st, const uint8_t *p,
			const uint8_t *end, uint64_t ts,
			sonde_txn_emit_fn emit, void *userdata)
{
	struct http_side *s = &st->req;
	struct sonde_line l;
	bool bad = false;

	if (s->phase == PH_DEAD)
		return 0;
	if (s->phase == PH_RESYNC || (st->req_abandonable && s->phase == PH_BODY)) {
		if (!looks_like_request(p, end))
			return 0;
		side_reset(s, PH_START);
		st->cur_slot = -1;
		st->req_abandonable = false;
	}
	while (p < end) {
		const uint8_t *old = p;

		switch (s->phase) {
		case PH_START:
			if (!sonde_line_pending(&s->lb))
				s->start_ns = ts;
			if (!sonde_line_next(&s->lb, st->req_line, sizeof(st->req_line),
					     &p, end, &l))
				break;
			if (l.len == 0 && !l.truncated)
				break; /* stray CRLF between requests */
			if (!parse_request_line(st, &l, s->start_ns)) {
				st->stats.parse_errors++;
				if (!st->seen_request)
					return -EPROTO;
				http_desync(st, false);
				return 0;
			}
			st->seen_request = true;
			if (st->resp.phase == PH_BODY && st->resp.body == BD_EOF)
				side_reset(&st->resp, PH_START);
			/* A client that waits for whole responses asks again. */
			if (body_out_of_band(st))
				complete_out_of_band(st, emit, userdata);
			req_account(st, (uint64_t)(p - old));
			old = p;
			s->phase = PH_HEADERS;
			break;
		case PH_HEADERS:
			if (!sonde_line_next(&s->lb, st->req_line, sizeof(st->req_line),
					     &p, end, &l))
				break;
			if (l.len > 0 || l.truncated) {
				request_header(st, &l);
				break;
			}
			req_account(st, (uint64_t)(p - old));
			old = p;
			if (body_begin(s))
				s->phase = PH_BODY;
			else
				req_done(st);
			break;
		case PH_BODY:
			if (body_step(s, st->req_line, sizeof(st->req_line), &p, end,
				      &bad)) {
				req_account(st, (uint64_t)(p - old));
				old = p;
				req_done(st);
			} else if (bad) {
				st->stats.parse_errors++;
				http_desync(st, false);
				return 0;
			}
			break;
		default:
			return 0;
		}
		req_account(st, (uint64_t)(p - old));
	}
	return 0;
}

/* ---- response flow ---- */

static bool parse_status_line(struct http_state *st, const struct sonde_line *l)
{
	const char *s = l->ptr;
	uint64_t code;

	if (l->len < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
		return false;
	if (!sonde_parse_u64(s + 9, 3, &code) || code < 100 || code > 999)
		return false;
	if (l->len > 12 && s[12] != ' ')
		return false;
	st->status = (int)code;
	return true;
}

static bool front_flag(const struct http_state *st, uint8_t flag)
{
	int slot = sonde_fifo_front(&st->fifo, st->cap);

	return slot >= 0 && (st->pending[slot].flags & flag);
}

static void resp_complete(struct http_state *st, uint64_t ts,
			  sonde_txn_emit_fn emit, void *userdata)
{
	if (st->skip_resp > 0) {
		/* the request was dropped when the queue was full */
		st->skip_resp--;
	} else if (st->resp_unpaired) {
		st->stats.dropped++;
	} else {
		emit_front(st, ts, emit, userdata);
	}
	st->resp_continue = false;
	side_reset(&st->resp, PH_START);
}

/* After a final response's headers: what follows, and is it complete. */
static void resp_headers_done(struct http_state *st, uint64_t ts,
			      sonde_txn_emit_fn emit, void *userdata)
{
	struct http_side *s = &st->resp;
	bool tunnel;

	if (st->status >= 100 && st->status < 200 && st->status != 101) {
		/* Interim: the final response is still to come. */
		if (st->status == 100)
			st->resp_continue = true;
		s->phase = PH_START;
		s->has_length = false;
		s->chunked = false;
		return;
	}
	tunnel = st->status == 101 ||
		 (front_flag(st, PF_CONNECT) && st->status >= 200 && st->status < 300);
	if (tunnel) {
		resp_complete(st, ts, emit, userdata);
		s->phase = PH_DEAD;
		st->req.phase = PH_DEAD;
		return;
	}
	if (front_flag(st, PF_HEAD) || st->status == 204 || st->status == 304 ||
	    !body_begin(s)) {
		if (s->chunked || s->has_length || front_flag(st, PF_HEAD) ||
		    st->status == 204 || st->status == 304) {
			resp_complete(st, ts, emit, userdata);
			return;
		}
		/*
		 * No length: the body runs to the close, which parsers never
		 * see. Emit now so the request is counted; duration ends at
		 * the headers.
		 */
		resp_complete(st, ts, emit, userdata);
		s->phase = PH_BODY;
		s->body = BD_EOF;
		return;
	}
	s->phase = PH_BODY;
}

static bool looks_like_response(const uint8_t *p, const uint8_t *end)
{
	size_t n = (size_t)(end - p);

	return n >= 5 && memcmp(p, "HTTP/", 5) == 0;
}

/* "HTTP/1.x ddd": the start of a response, not plausibly body bytes. */
static bool looks_like_status(const uint8_t *p, const uint8_t *end)
{
	size_t n = (size_t)(end - p);

	return n >= 13 && memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ' &&
	       p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' &&
	       p[11] >= '0' && p[11] <= '9' && p[12] == ' ';
}

static void feed_response(struct http_state *st, const uint8_t *p,
			  const uint8_t *end, uint64_t ts,
			  sonde_txn_emit_fn emit, void *userdata)
{
	struct http_side *s = &st->resp;
	struct sonde_line l;
	bool bad = false;

	if (s->phase == PH_DEAD)
		return;
	if (s->phase == PH_RESYNC) {
		if (sonde_fifo_empty(&st->fifo) || !looks_like_response(p, end))
			return;
		side_reset(s, PH_START);
	}
	if (body_out_of_band(st) && looks_like_status(p, end))
		complete_out_of_band(st, emit, userdata);
	st->resp_last_ns = ts;
	while (p < end) {
		const uint8_t *old = p;

		switch (s->phase) {
		case PH_START:
			if (!sonde_line_next(&s->lb, st->resp_line, sizeof(st->resp_line),
					     &p, end, &l))
				break;
			if (l.len == 0 && !l.truncated)
				break;
			if (!parse_status_line(st, &l)) {
				st->stats.parse_errors++;
				http_desync(st, false);
				return;
			}
			st->resp_unpaired = sonde_fifo_empty(&st->fifo);
			s->phase = PH_HEADERS;
			break;
		case PH_HEADERS: {
			const char *name, *val;
			size_t nlen, vlen;

			if (!sonde_line_next(&s->lb, st->resp_line, sizeof(st->resp_line),
					     &p, end, &l))
				break;
			if (l.len > 0 || l.truncated) {
				/* only Content-Length and Transfer-Encoding matter here */
				char c0 = l.len ? (char)(l.ptr[0] | 0x20) : 0;

				if ((c0 == 'c' || c0 == 't') &&
				    header_split(&l, &name, &nlen, &val, &vlen) &&
				    !framing_header(s, name, nlen, val, vlen)) {
					st->stats.parse_errors++;
					http_desync(st, false);
					return;
				}
				break;
			}
			s->bytes += (uint64_t)(p - old);
			old = p;
			resp_headers_done(st, ts, emit, userdata);
			break;
		}
		case PH_BODY:
			if (body_step(s, st->resp_line, sizeof(st->resp_line), &p, end,
				      &bad)) {
				s->bytes += (uint64_t)(p - old);
				old = p;
				resp_complete(st, ts, emit, userdata);
			} else if (bad) {
				st->stats.parse_errors++;
				http_desync(st, false);
				return;
			}
			break;
		default:
			return;
		}
		s->bytes += (uint64_t)(p - old);
	}
}

/* Bytes the capture lost: skip them inside a body, else resync. */
static void apply_gap(struct http_state *st, struct http_side *s, bool request,
		      uint64_t gap, uint64_t ts, sonde_txn_emit_fn emit,
		      void *userdata)
{
	uint64_t absorbed;

	if (s->phase == PH_DEAD || s->phase == PH_RESYNC)
		return;
	if (s->phase == PH_BODY && s->body == BD_EOF)
		return;
	if (s->phase == PH_BODY && (s->body == BD_LENGTH || s->body == BD_CHUNK_DATA)) {
		uint64_t left = sonde_skip_gap(&s->remaining, gap);

		absorbed = gap - left;
		if (request)
			req_account(st, absorbed);
		else
			s->bytes += absorbed;
		if (left == 0 && s->remaining > 0)
			return;
		if (s->body == BD_LENGTH && left == 0) {
			if (request)
				req_done(st);
			else
				resp_complete(st, ts, emit, userdata);
			return;
		}
		if (s->body == BD_CHUNK_DATA && left == 0) {
			s->body = BD_CHUNK_END;
			return;
		}
	}
	http_desync(st, true);
}

static int http1_feed(void *state, enum sonde_flow flow, const uint8_t *data,
		      size_t len, size_t total, uint64_t ts_ns,
		      sonde_txn_emit_fn emit, void *userdata)
{
	struct http_state *st = state;
	int err = 0;

	if (len == 0)
		data = (const uint8_t *)""; /* no arithmetic on a NULL chunk */

	if (flow == SONDE_FLOW_REQUEST) {
		err = feed_request(st, data, data + len, ts_ns, emit, userdata);
		if (err == 0 && total > len)
			apply_gap(st, &st->req, true, total - len, ts_ns, emit,
				  userdata);
	} else if (total == 0) {
		/* Nothing moved: the connection closed (see protocols-a-ARCH). */
		if (body_out_of_band(st))
			complete_out_of_band(st, emit, userdata);
	} else {
		feed_response(st, data, data + len, ts_ns, emit, userdata);
		if (total > len)
			apply_gap(st, &st->resp, false, total - len, ts_ns, emit,
				  userdata);
	}
	return err;
}

const struct sonde_proto_ops sonde_proto_http1 = {
	.proto = SONDE_PROTO_HTTP1,
	.name = "http1",
	.state_size = sizeof(struct http_state),
	.detect = http1_detect,
	.init = http1_init,
	.fini = http1_fini,
	.feed = http1_feed,
	.stats = http1_stats,
};
