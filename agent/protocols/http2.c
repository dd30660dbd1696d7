// SPDX-License-Identifier: MIT
/*
 * HTTP/2 (RFC 9113) from a connection's start: the client preface, frames
 * in both flows, header blocks decoded with HPACK (hpack.c) so that both
 * dynamic tables stay in step, streams paired request to response. A
 * request is the client's HEADERS on a new stream; it completes at the
 * frame that ends the server's side of the stream (END_STREAM on HEADERS,
 * DATA or trailers). Bodies are skipped by frame length, so a capture gap
 * inside DATA costs nothing; a gap that hides a frame header or a header
 * block leaves the framing or a dynamic table out of step, and the
 * connection is given up (-EPROTO), which also stops the probe copying
 * its payload. (Resynchronising at the next chunk was tried: with 8
 * streams of 64 KiB responses per connection, nginx's writes hide most
 * response headers and stream ends past the 8 KiB captured per call, so
 * the server side gained nothing, and the payload records of the
 * connections kept overflowed the ring buffer, losing the client side's
 * records too.)
 * A connection first seen mid-stream never shows its preface and is not
 * detected: its tables cannot be rebuilt.
 * gRPC: a stream with a gRPC content type is a call whose outcome is its
 * grpc-status (trailers, or a trailers-only response), else the HTTP
 * status or the stream's reset mapped as gRPC clients map them
 * (agent/grpc.h); the pipeline reports it as an RPC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"
#include "protocols/framing.h"
#include "protocols/hpack.h"
#include "protocols/httpcommon.h"
#include "protocols/protocol.h"

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define H2_FRAME_HDR 9
/* Streams in flight tracked per connection; more are counted as dropped. */
#define H2_STREAMS 32
/* A header block (HEADERS + CONTINUATION) longer than this cannot be
 * decoded, which puts its table out of step: the connection is given up. */
#define H2_BLOCK_MAX 16384
#define H2_PATH_MAX 128
#define H2_HOST_MAX 48

enum {
	T_DATA = 0, T_HEADERS = 1, T_RST_STREAM = 3, T_SETTINGS = 4,
	T_PUSH_PROMISE = 5, T_CONTINUATION = 9,
};
enum { F_END_STREAM = 0x1, F_ACK = 0x1, F_END_HEADERS = 0x4, F_PADDED = 0x8,
       F_PRIORITY = 0x20 };
#define SETTINGS_HEADER_TABLE_SIZE 1

struct h2_stream {
	uint32_t id; /* 0: free slot */
	uint8_t method;
	uint8_t path_len;
	uint8_t host_len;
	bool has_status;
	bool has_trace;
	uint8_t trace_flags;
	bool grpc;             /* a gRPC content type on either side */
	bool has_grpc_status;
	uint8_t grpc_status;   /* past 255 kept as 255: reported UNKNOWN all the same */
	uint64_t grpc_timeout; /* ns of the request's grpc-timeout; 0: none */
	uint16_t status;
	uint16_t port;
	uint64_t start_ns;
	uint64_t req_bytes;
	uint64_t resp_bytes;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	char path[H2_PATH_MAX];
	char host[H2_HOST_MAX];
};

/* One flow's frame reader. */
struct h2_dir {
	struct sonde_hpack hpack;
	uint32_t preface_left;   /* request flow: client preface bytes still to see */
	uint8_t hdr[H2_FRAME_HDR];
	uint8_t hdr_len;         /* bytes of the next frame header gathered */
	uint8_t type, flags;
	uint32_t stream;
	uint32_t left;           /* payload bytes of the current frame still to come */
	uint32_t pad;            /* of those, trailing padding */
	uint8_t lead;            /* leading fields still to drop (pad length, priority, promised id) */
	bool pad_next;           /* the next lead byte is the pad length */
	bool in_payload;
	/* header block being gathered */
	bool in_block;
	bool block_end_stream;
	bool block_push;         /* a PUSH_PROMISE's: decoded for the table only */
	uint32_t block_stream;
	uint32_t block_len;
	uint8_t *block;          /* H2_BLOCK_MAX, allocated at the first block */
	/* settings payload gathered (6-byte entries) */
	uint8_t set[6];
	uint8_t set_len;
};

struct h2_state {
	struct sonde_proto_stats stats;
	struct h2_dir dir[2]; /* by enum sonde_flow */
	struct h2_stream *streams; /* H2_STREAMS, allocated at the first request */
	bool dead;
	/* the block being decoded: its stream and what it found */
	struct h2_stream *cur;
	enum sonde_flow cur_flow;
};

static bool h2_detect(const uint8_t *data, size_t len)
{
	size_t n = len < H2_PREFACE_LEN ? len : H2_PREFACE_LEN;

	/* "PRI " alone could start nothing else we parse */
	return n >= 4 && memcmp(data, H2_PREFACE, n) == 0;
}

static void h2_init(void *state)
{
	struct h2_state *st = state;

	memset(st, 0, sizeof(*st));
	sonde_hpack_init(&st->dir[SONDE_FLOW_REQUEST].hpack);
	sonde_hpack_init(&st->dir[SONDE_FLOW_RESPONSE].hpack);
	st->dir[SONDE_FLOW_REQUEST].preface_left = H2_PREFACE_LEN;
}

static void h2_fini(void *state)
{
	struct h2_state *st = state;

	for (int i = 0; i < 2; i++) {
		sonde_hpack_fini(&st->dir[i].hpack);
		free(st->dir[i].block);
		st->dir[i].block = NULL;
	}
	free(st->streams);
	st->streams = NULL;
}

static const struct sonde_proto_stats *h2_stats(const void *state)
{
	return &((const struct h2_state *)state)->stats;
}

static struct h2_stream *find_stream(struct h2_state *st, uint32_t id)
{
	if (!st->streams || !id)
		return NULL;
	for (int i = 0; i < H2_STREAMS; i++)
		if (st->streams[i].id == id)
			return &st->streams[i];
	return NULL;
}

/* A slot for a new request stream; NULL (counted) when all are taken. */
static struct h2_stream *new_stream(struct h2_state *st, uint32_t id, uint64_t ts)
{
	struct h2_stream *s = NULL;

	if (!st->streams) {
		st->streams = calloc(H2_STREAMS, sizeof(*st->streams));
		if (!st->streams) {
			st->stats.dropped++;
			return NULL;
		}
	}
	for (int i = 0; i < H2_STREAMS && !s; i++)
		if (!st->streams[i].id)
			s = &st->streams[i];
	if (!s) {
		/* full: the oldest goes (a stream the server never ended) */
		s = &st->streams[0];
		for (int i = 1; i < H2_STREAMS; i++)
			if (st->streams[i].start_ns < s->start_ns)
				s = &st->streams[i];
		st->stats.dropped++;
	}
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->start_ns = ts;
	return s;
}

static void emit_stream(struct h2_stream *s, uint64_t ts, sonde_txn_emit_fn emit,
			void *userdata)
{
	struct sonde_txn txn;

	memset(&txn, 0, sizeof(txn));
	txn.kind = SONDE_TXN_HTTP_SERVER; /* the connection table turns it by role */
	txn.proto = SONDE_PROTO_HTTP2;
	txn.start_ns = s->start_ns;
	txn.duration_ns = ts > s->start_ns ? ts - s->start_ns : 0;
	SONDE_TXN_SET(txn.operation, sonde_http_methods[s->method], SONDE_TXN_OP_LEN);
	memcpy(txn.path, s->path, s->path_len);
	memcpy(txn.server_address, s->host, s->host_len);
	txn.server_port = s->port;
	txn.status = s->status;
	if (s->grpc) {
		txn.rpc_system = SONDE_RPC_GRPC;
		txn.rpc_status = s->has_grpc_status ? s->grpc_status :
						      sonde_grpc_status_from_http(s->status);
	}
	txn.request_bytes = s->req_bytes;
	txn.response_bytes = s->resp_bytes;
	if (s->has_trace)
		sonde_txn_set_trace(&txn, s->trace_id, s->span_id, s->trace_flags);
	s->id = 0;
	emit(&txn, userdata);
}

/* The server ended the stream: a transaction, or a drop when no status was seen. */
static void end_stream(struct h2_state *st, struct h2_stream *s, uint64_t ts,
		       sonde_txn_emit_fn emit, void *userdata)
{
	if (s->has_status) {
		emit_stream(s, ts, emit, userdata);
		return;
	}
	s->id = 0;
	st->stats.dropped++;
}

/* A response's (or its trailers') grpc-status; not a number: UNKNOWN. */
static void grpc_status(struct h2_stream *s, const char *value, size_t vlen)
{
	uint64_t v;

	if (!sonde_parse_u64(value, vlen, &v))
		v = 2;
	s->grpc_status = (uint8_t)(v < 255 ? v : 255);
	s->has_grpc_status = true;
}

/* One decoded header field of the block being decoded. */
static void on_header(const char *name, size_t nlen, const char *value, size_t vlen,
		      void *userdata)
{
	struct h2_state *st = userdata;
	struct h2_stream *s = st->cur;
	int m;

	if (!s || nlen < 2)
		return;
	if (name[0] != ':') {
		/* HTTP/2 field names are lower-case (RFC 9113 8.2.1) */
		if (st->cur_flow == SONDE_FLOW_REQUEST && nlen == 11 &&
		    memcmp(name, "traceparent", 11) == 0)
			s->has_trace = sonde_http_traceparent(value, vlen, s->trace_id, s->span_id,
							      &s->trace_flags);
		else if (nlen == 12 && memcmp(name, "content-type", 12) == 0)
			s->grpc |= sonde_grpc_content_type(value, vlen);
		else if (st->cur_flow == SONDE_FLOW_REQUEST && nlen == 12 &&
			 memcmp(name, "grpc-timeout", 12) == 0 &&
			 !sonde_grpc_timeout(value, vlen, &s->grpc_timeout))
			s->grpc_timeout = 0;
		else if (st->cur_flow == SONDE_FLOW_RESPONSE && nlen == 11 &&
			 memcmp(name, "grpc-status", 11) == 0)
			grpc_status(s, value, vlen);
		return;
	}
	if (st->cur_flow == SONDE_FLOW_REQUEST) {
		if (nlen == 7 && memcmp(name, ":method", 7) == 0) {
			m = sonde_http_method_index(value, vlen);
			s->method = (uint8_t)(m > 0 ? m : SONDE_HTTP_M_OTHER);
		} else if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
			s->path_len = (uint8_t)(vlen < H2_PATH_MAX - 1 ? vlen : H2_PATH_MAX - 1);
			memcpy(s->path, value, s->path_len);
		} else if (nlen == 10 && memcmp(name, ":authority", 10) == 0) {
			const char *host;
			size_t hlen;

			if (!sonde_http_authority(value, vlen, &host, &hlen, &s->port))
				return;
			s->host_len = (uint8_t)(hlen < H2_HOST_MAX - 1 ? hlen : H2_HOST_MAX - 1);
			memcpy(s->host, host, s->host_len);
		}
	} else if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
		uint64_t v;

		if (sonde_parse_u64(value, vlen, &v) && v >= 100 && v <= 999) {
			s->status = (uint16_t)v;
			s->has_status = true;
		}
	}
}

/*
 * A whole header block of flow: decoded (always: the table must follow),
 * then applied to its stream. Returns -EPROTO when the block does not
 * decode: the table is lost.
 */
static int end_block(struct h2_state *st, enum sonde_flow flow, uint64_t ts,
		     sonde_txn_emit_fn emit, void *userdata)
{
	struct h2_dir *d = &st->dir[flow];
	struct h2_stream *s = NULL;
	bool request = flow == SONDE_FLOW_REQUEST;

	d->in_block = false;
	if (request && !d->block_push) {
		s = find_stream(st, d->block_stream);
		if (!s && (d->block_stream & 1))
			s = new_stream(st, d->block_stream, ts);
		else if (s)
			s = NULL; /* trailers of a request already seen */
	} else if (!d->block_push) {
		s = find_stream(st, d->block_stream);
	}
	st->cur = s;
	st->cur_flow = flow;
	if (sonde_hpack_decode(&d->hpack, d->block, d->block_len, on_header, st)) {
		st->stats.parse_errors++;
		st->cur = NULL;
		return -EPROTO;
	}
	st->cur = NULL;
	if (!s || request)
		return 0;
	/* 1xx: informational, the final status is still to come */
	if (s->has_status && s->status < 200 && !d->block_end_stream)
		return 0;
	if (d->block_end_stream)
		end_stream(st, s, ts, emit, userdata);
	return 0;
}

/* Payload bytes of a header block fragment, gathered until END_HEADERS. */
static int block_bytes(struct h2_state *st, struct h2_dir *d, const uint8_t *p, size_t n)
{
	if (!d->block) {
		d->block = malloc(H2_BLOCK_MAX);
		if (!d->block)
			return -EPROTO;
	}
	if (d->block_len + n > H2_BLOCK_MAX) {
		st->stats.dropped++;
		return -EPROTO;
	}
	memcpy(d->block + d->block_len, p, n);
	d->block_len += (uint32_t)n;
	return 0;
}

static void settings_bytes(struct h2_state *st, enum sonde_flow flow, const uint8_t *p,
			   size_t n)
{
	struct h2_dir *d = &st->dir[flow];

	if (d->flags & F_ACK)
		return;
	while (n--) {
		d->set[d->set_len++] = *p++;
		if (d->set_len < sizeof(d->set))
			continue;
		d->set_len = 0;
		/* the sender's decoder: the other flow's encoder may use this much */
		if (sonde_be16(d->set) == SETTINGS_HEADER_TABLE_SIZE)
			sonde_hpack_set_limit(&st->dir[!flow].hpack, sonde_be32(d->set + 2));
	}
}

/* A frame header is complete: what its payload will be. */
static int frame_start(struct h2_state *st, enum sonde_flow flow)
{
	struct h2_dir *d = &st->dir[flow];
	uint32_t len = (uint32_t)d->hdr[0] << 16 | (uint32_t)d->hdr[1] << 8 | d->hdr[2];

	d->type = d->hdr[3];
	d->flags = d->hdr[4];
	d->stream = sonde_be32(d->hdr + 5) & 0x7fffffffu;
	d->left = len;
	d->pad = 0;
	d->lead = 0;
	d->pad_next = (d->flags & F_PADDED) &&
		      (d->type == T_DATA || d->type == T_HEADERS || d->type == T_PUSH_PROMISE);
	d->set_len = 0;
	d->in_payload = true;
	if (d->in_block && d->type != T_CONTINUATION)
		return -EPROTO; /* a header block must continue uninterrupted */
	switch (d->type) {
	case T_HEADERS:
	case T_PUSH_PROMISE:
		d->in_block = true;
		d->block_len = 0;
		d->block_stream = d->stream;
		d->block_push = d->type == T_PUSH_PROMISE;
		d->block_end_stream = d->type == T_HEADERS && (d->flags & F_END_STREAM);
		/* pad length byte, then priority (5) or promised stream id (4) */
		d->lead = (d->flags & F_PADDED) ? 1 : 0;
		if (d->type == T_HEADERS && (d->flags & F_PRIORITY))
			d->lead += 5;
		else if (d->type == T_PUSH_PROMISE)
			d->lead += 4;
		break;
	case T_DATA:
		d->lead = (d->flags & F_PADDED) ? 1 : 0;
		break;
	case T_CONTINUATION:
		if (!d->in_block || d->stream != d->block_stream)
			return -EPROTO;
		break;
	default:
		break;
	}
	if (d->lead > d->left)
		return -EPROTO;
	return 0;
}

/*
 * A stream reset before its response ended: no HTTP transaction (counted
 * as dropped), but a gRPC call ended there, with the status its client
 * reports: DEADLINE_EXCEEDED when its grpc-timeout has run out (within a
 * quarter of it, or 1 ms: the two ends saw the call start after the
 * client's clock did, a busy server's end by its late read), else the
 * reset's error code mapped.
 */
static void reset_stream(struct h2_state *st, const struct h2_dir *d, uint64_t ts,
			 sonde_txn_emit_fn emit, void *userdata)
{
	struct h2_stream *s = find_stream(st, d->stream);
	uint64_t took, slack;

	if (!s)
		return;
	if (!s->grpc) {
		s->id = 0;
		st->stats.dropped++;
		return;
	}
	took = ts > s->start_ns ? ts - s->start_ns : 0;
	slack = s->grpc_timeout / 4 > 1000000 ? s->grpc_timeout / 4 : 1000000;
	if (s->grpc_timeout && took + slack >= s->grpc_timeout)
		s->grpc_status = 4; /* DEADLINE_EXCEEDED */
	else
		s->grpc_status = (uint8_t)sonde_grpc_status_from_reset(
			d->set_len == 4 ? sonde_be32(d->set) : 0);
	s->has_grpc_status = true;
	emit_stream(s, ts, emit, userdata);
}

/* The current frame's payload is over. */
static int frame_end(struct h2_state *st, enum sonde_flow flow, uint64_t ts,
		     sonde_txn_emit_fn emit, void *userdata)
{
	struct h2_dir *d = &st->dir[flow];

	d->in_payload = false;
	d->hdr_len = 0;
	if ((d->type == T_HEADERS || d->type == T_PUSH_PROMISE || d->type == T_CONTINUATION) &&
	    (d->flags & F_END_HEADERS))
		return end_block(st, flow, ts, emit, userdata);
	if (d->type == T_DATA && flow == SONDE_FLOW_RESPONSE && (d->flags & F_END_STREAM)) {
		struct h2_stream *s = find_stream(st, d->stream);

		if (s)
			end_stream(st, s, ts, emit, userdata);
	}
	if (d->type == T_RST_STREAM)
		reset_stream(st, d, ts, emit, userdata);
	return 0;
}

/* Payload bytes [p, p+n) of the current frame (n <= d->left), all consumed. */
static int payload(struct h2_state *st, enum sonde_flow flow, const uint8_t *p, size_t n)
{
	struct h2_dir *d = &st->dir[flow];
	uint32_t body;
	size_t take;

	while (n && d->lead) {
		if (d->pad_next) {
			d->pad = *p;
			d->pad_next = false;
			if (d->pad > d->left - d->lead)
				return -EPROTO; /* more padding than payload */
		}
		d->lead--;
		d->left--;
		p++;
		n--;
	}
	if (!n)
		return 0;
	/* the frame's content ends where its trailing padding starts */
	body = d->left > d->pad ? d->left - d->pad : 0;
	take = n < body ? n : body;
	d->left -= (uint32_t)n;
	if (!take)
		return 0;
	if (d->type == T_HEADERS || d->type == T_PUSH_PROMISE || d->type == T_CONTINUATION)
		return block_bytes(st, d, p, take);
	if (d->type == T_SETTINGS && d->stream == 0)
		settings_bytes(st, flow, p, take);
	if (d->type == T_RST_STREAM)
		while (take-- && d->set_len < 4) /* its error code */
			d->set[d->set_len++] = *p++;
	return 0;
}

/* Bytes of a direction the capture did not keep. */
static int gap(struct h2_state *st, enum sonde_flow flow, uint64_t n)
{
	struct h2_dir *d = &st->dir[flow];

	/* inside a body: skipped as the frame length says */
	if (d->in_payload && d->type == T_DATA && !d->lead && n <= d->left) {
		d->left -= (uint32_t)n; /* counted at the frame's start */
		return 0;
	}
	st->stats.desyncs++;
	return -EPROTO;
}

static int h2_feed(void *state, enum sonde_flow flow, const uint8_t *data, size_t len,
		   size_t total, uint64_t ts, sonde_txn_emit_fn emit, void *userdata)
{
	struct h2_state *st = state;
	struct h2_dir *d;
	const uint8_t *p = data, *end = data + len;
	int err;

	if (st->dead || flow > SONDE_FLOW_RESPONSE)
		return st->dead ? -EPROTO : 0;
	if (len == 0 && total == 0)
		return 0; /* the connection ended: what is in flight is lost */
	d = &st->dir[flow];
	while (p < end) {
		if (d->preface_left) {
			size_t n = (size_t)(end - p) < d->preface_left ? (size_t)(end - p) :
									 d->preface_left;
			const char *want = &H2_PREFACE[H2_PREFACE_LEN - d->preface_left];

			if (memcmp(p, want, n) != 0)
				goto dead;
			d->preface_left -= (uint32_t)n;
			p += n;
			continue;
		}
		if (!d->in_payload) {
			size_t n = H2_FRAME_HDR - d->hdr_len;

			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			memcpy(d->hdr + d->hdr_len, p, n);
			d->hdr_len = (uint8_t)(d->hdr_len + n);
			p += n;
			if (d->hdr_len < H2_FRAME_HDR)
				break;
			if (frame_start(st, flow))
				goto dead;
			if (d->type == T_DATA && d->stream) {
				struct h2_stream *s = find_stream(st, d->stream);

				if (s && flow == SONDE_FLOW_RESPONSE)
					s->resp_bytes += d->left;
				else if (s)
					s->req_bytes += d->left;
			}
		} else {
			size_t n = (size_t)(end - p) < d->left ? (size_t)(end - p) : d->left;

			if (payload(st, flow, p, n))
				goto dead;
			p += n;
		}
		if (d->in_payload && d->left == 0) {
			err = frame_end(st, flow, ts, emit, userdata);
			if (err)
				goto dead;
		}
	}
	if (total > len && gap(st, flow, total - len))
		goto dead;
	if (d->in_payload && d->left == 0 && frame_end(st, flow, ts, emit, userdata))
		goto dead;
	return 0;
dead:
	st->dead = true;
	return -EPROTO;
}

const struct sonde_proto_ops sonde_proto_http2 = {
	.proto = SONDE_PROTO_HTTP2,
	.name = "http2",
	.state_size = sizeof(struct h2_state),
	.detect = h2_detect,
	.init = h2_init,
	.feed = h2_feed,
	.stats = h2_stats,
	.fini = h2_fini,
};
