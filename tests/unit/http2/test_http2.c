// SPDX-License-Identifier: MIT
/*
 * The HTTP/2 parser on hand-built conversations: the preface, streams
 * paired out of order, header blocks split over CONTINUATION, padding and
 * priority, the dynamic table across requests, 1xx and trailers, gRPC
 * status codes, resets,
 * capture gaps inside and outside bodies, the stream table's bound, and
 * every conversation again split at every byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocols/protocol.h"

#define MAXT 64

struct sink {
	unsigned n;
	struct sonde_txn t[MAXT];
};

static void on_txn(struct sonde_txn *t, void *ud)
{
	struct sink *s = ud;

	if (s->n < MAXT)
		s->t[s->n] = *t;
	s->n++;
}

/* A conversation: chunks of either flow, each with its time. */
struct conv {
	uint8_t buf[2][8192];
	size_t len[2];
	struct {
		uint8_t flow;
		size_t off, len;
		uint64_t ts;
	} ch[128];
	unsigned n;
};

static void put(struct conv *c, enum sonde_flow f, const void *p, size_t n)
{
	if (n) /* empty frames come with no payload pointer */
		memcpy(c->buf[f] + c->len[f], p, n);
	c->len[f] += n;
}

/* Ends a chunk of flow f holding what was put since the last one. */
static void chunk(struct conv *c, enum sonde_flow f, uint64_t ts)
{
	size_t start = 0;

	for (unsigned i = 0; i < c->n; i++)
		if (c->ch[i].flow == f)
			start = c->ch[i].off + c->ch[i].len;
	c->ch[c->n].flow = (uint8_t)f;
	c->ch[c->n].off = start;
	c->ch[c->n].len = c->len[f] - start;
	c->ch[c->n].ts = ts;
	c->n++;
}

static void frame(struct conv *c, enum sonde_flow f, uint8_t type, uint8_t flags,
		  uint32_t stream, const void *payload, size_t n)
{
	uint8_t h[9] = { (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			 (uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8),
			 (uint8_t)stream };

	put(c, f, h, sizeof(h));
	put(c, f, payload, n);
}

/* HPACK literal without indexing, new name, no Huffman. */
static size_t lit(uint8_t *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), o = 0;

	b[o++] = 0x00;
	b[o++] = (uint8_t)nl;
	memcpy(b + o, name, nl);
	o += nl;
	b[o++] = (uint8_t)vl;
	memcpy(b + o, value, vl);
	return o + vl;
}

/* HPACK literal with incremental indexing, new name. */
static size_t lit_idx(uint8_t *b, const char *name, const char *value)
{
	size_t n = lit(b, name, value);

	b[0] = 0x40;
	return n;
}

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void open_conn(struct conv *c)
{
	memset(c, 0, sizeof(*c));
	put(c, SONDE_FLOW_REQUEST, preface, 24);
	frame(c, SONDE_FLOW_REQUEST, 4, 0, 0, "\0\3\0\0\0\x64", 6); /* SETTINGS max streams */
	chunk(c, SONDE_FLOW_REQUEST, 1);
	frame(c, SONDE_FLOW_RESPONSE, 4, 0, 0, NULL, 0);
	frame(c, SONDE_FLOW_RESPONSE, 4, 1, 0, NULL, 0); /* ACK */
	chunk(c, SONDE_FLOW_RESPONSE, 2);
}

/* A GET request: :method GET (static 2), :path, :authority. */
static void request(struct conv *c, uint32_t stream, const char *path, uint64_t ts)
{
	uint8_t b[256];
	size_t n = 0;

	b[n++] = 0x82;
	n += lit(b + n, ":path", path);
	n += lit(b + n, ":authority", "example.com:8443");
	frame(c, SONDE_FLOW_REQUEST, 1, 0x5, stream, b, n);
	chunk(c, SONDE_FLOW_REQUEST, ts);
}

/* :status 200 (static 8) or a literal one, then a body ending the stream. */
static void response(struct conv *c, uint32_t stream, const char *status, uint64_t ts)
{
	uint8_t b[64];
	size_t n = strcmp(status, "200") == 0 ? (b[0] = 0x88, 1) : lit(b, ":status", status);

	frame(c, SONDE_FLOW_RESPONSE, 1, 0x4, stream, b, n);
	frame(c, SONDE_FLOW_RESPONSE, 0, 0x1, stream, "hello", 5);
	chunk(c, SONDE_FLOW_RESPONSE, ts);
}

/* Feeds the conversation; split: also cut every chunk at byte `cut`. */
static int replay(const struct conv *c, void *st, struct sink *s, size_t cut)
{
	int err = 0;

	for (unsigned i = 0; i < c->n && !err; i++) {
		const uint8_t *p = c->buf[c->ch[i].flow] + c->ch[i].off;
		size_t n = c->ch[i].len;
		enum sonde_flow f = (enum sonde_flow)c->ch[i].flow;

		if (cut && cut < n) {
			err = sonde_proto_http2.feed(st, f, p, cut, cut, c->ch[i].ts, on_txn, s);
			if (!err)
				err = sonde_proto_http2.feed(st, f, p + cut, n - cut, n - cut,
							     c->ch[i].ts, on_txn, s);
		} else {
			err = sonde_proto_http2.feed(st, f, p, n, n, c->ch[i].ts, on_txn, s);
		}
	}
	return err;
}

static void *new_state(void)
{
	void *st = calloc(1, sonde_proto_http2.state_size);

	assert_non_null(st);
	sonde_proto_http2.init(st);
	return st;
}

/* Replays whole, then split at every byte of every chunk: same result. */
static void replay_all(const struct conv *c, struct sink *whole)
{
	size_t longest = 0;
	void *st = new_state();

	memset(whole, 0, sizeof(*whole));
	assert_int_equal(replay(c, st, whole, 0), 0);
	sonde_proto_state_free(&sonde_proto_http2, st);
	for (unsigned i = 0; i < c->n; i++)
		if (c->ch[i].len > longest)
			longest = c->ch[i].len;
	for (size_t cut = 1; cut < longest; cut++) {
		struct sink s = { 0 };

		st = new_state();
		assert_int_equal(replay(c, st, &s, cut), 0);
		assert_int_equal(s.n, whole->n);
		for (unsigned k = 0; k < s.n && k < MAXT; k++) {
			assert_string_equal(s.t[k].path, whole->t[k].path);
			assert_int_equal(s.t[k].status, whole->t[k].status);
			assert_int_equal(s.t[k].duration_ns, whole->t[k].duration_ns);
			assert_int_equal(s.t[k].rpc_system, whole->t[k].rpc_system);
			assert_int_equal(s.t[k].rpc_status, whole->t[k].rpc_status);
		}
		sonde_proto_state_free(&sonde_proto_http2, st);
	}
}

static void test_detect(void **state)
{
	(void)state;
	assert_true(sonde_proto_http2.detect(preface, 24));
	assert_true(sonde_proto_http2.detect(preface, 4));
	assert_false(sonde_proto_http2.detect(preface, 3));
	assert_false(sonde_proto_http2.detect((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
	assert_false(sonde_proto_http2.detect((const uint8_t *)"PRI * HTTP/1.1\r\n", 16));
	assert_int_equal(sonde_proto_http2.proto, SONDE_PROTO_HTTP2);
}

static void test_one_exchange(void **state)
{
	struct conv c;
	struct sink s;

	(void)state;
	open_conn(&c);
	request(&c, 1, "/a?x=1", 100);
	response(&c, 1, "200", 350);
	replay_all(&c, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.t[0].operation, "GET");
	assert_string_equal(s.t[0].path, "/a?x=1");
	assert_string_equal(s.t[0].server_address, "example.com");
	assert_int_equal(s.t[0].server_port, 8443);
	assert_int_equal(s.t[0].status, 200);
	assert_int_equal(s.t[0].start_ns, 100);
	assert_int_equal(s.t[0].duration_ns, 250);
	assert_int_equal(s.t[0].response_bytes, 5);
	assert_int_equal(s.t[0].proto, SONDE_PROTO_HTTP2);
}

/* Three streams in flight, answered out of order. */
static void test_multiplexed(void **state)
{
	struct conv c;
	struct sink s;

	(void)state;
	open_conn(&c);
	request(&c, 1, "/one", 10);
	request(&c, 3, "/three", 11);
	request(&c, 5, "/five", 12);
	response(&c, 3, "404", 20);
	response(&c, 1, "200", 30);
	response(&c, 5, "503", 40);
	replay_all(&c, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.t[0].path, "/three");
	assert_int_equal(s.t[0].status, 404);
	assert_int_equal(s.t[0].duration_ns, 9);
	assert_string_equal(s.t[1].path, "/one");
	assert_int_equal(s.t[1].duration_ns, 20);
	assert_string_equal(s.t[2].path, "/five");
	assert_int_equal(s.t[2].status, 503);
}

/* A header block over HEADERS + CONTINUATION, with padding and priority. */
static void test_continuation_padding(void **state)
{
	struct conv c;
	struct sink s;
	uint8_t b[256], f1[128];
	size_t n = 0, f1n = 0;

	(void)state;
	open_conn(&c);
	b[n++] = 0x83; /* :method POST */
	n += lit(b + n, ":path", "/upload");
	n += lit(b + n, ":authority", "h");
	/* HEADERS: PADDED (3 bytes) | PRIORITY, first 5 block bytes */
	f1[f1n++] = 3;
	memcpy(f1 + f1n, "\x80\0\0\1\x10", 5); /* exclusive dep on 1, weight */
	f1n += 5;
	memcpy(f1 + f1n, b, 5);
	f1n += 5;
	memcpy(f1 + f1n, "\0\0\0", 3);
	f1n += 3;
	frame(&c, SONDE_FLOW_REQUEST, 1, 0x8 | 0x20, 1, f1, f1n);
	frame(&c, SONDE_FLOW_REQUEST, 9, 0x4, 1, b + 5, n - 5);
	/* a padded DATA body ending the request */
	frame(&c, SONDE_FLOW_REQUEST, 0, 0x1 | 0x8, 1, "\x02" "abcd" "\0\0", 7);
	chunk(&c, SONDE_FLOW_REQUEST, 50);
	response(&c, 1, "201", 80);
	replay_all(&c, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.t[0].operation, "POST");
	assert_string_equal(s.t[0].path, "/upload");
	assert_int_equal(s.t[0].status, 201);
	assert_int_equal(s.t[0].duration_ns, 30);
}

/* Entries the client's encoder indexed are found again by index. */
static void test_dynamic_table(void **state)
{
	struct conv c;
	struct sink s;
	uint8_t b[128];
	size_t n = 0;

	(void)state;
	open_conn(&c);
	b[n++] = 0x82;
	n += lit_idx(b + n, ":path", "/cached/path"); /* dynamic index 62 */
	frame(&c, SONDE_FLOW_REQUEST, 1, 0x5, 1, b, n);
	chunk(&c, SONDE_FLOW_REQUEST, 1);
	response(&c, 1, "200", 2);
	n = 0;
	b[n++] = 0x82;
	b[n++] = 0xbe; /* indexed 62 */
	frame(&c, SONDE_FLOW_REQUEST, 1, 0x5, 3, b, n);
	chunk(&c, SONDE_FLOW_REQUEST, 3);
	/* the server indexes its status too: 0x40 literal, then index 62 */
	n = lit_idx(b, ":status", "202");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 3, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 4);
	request(&c, 5, "/x", 5);
	b[0] = 0xbe;
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 5, b, 1);
	chunk(&c, SONDE_FLOW_RESPONSE, 6);
	replay_all(&c, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.t[1].path, "/cached/path");
	assert_int_equal(s.t[1].status, 202);
	assert_int_equal(s.t[2].status, 202);
}

/* 103 Early Hints, then the final status; trailers end a stream too. */
static void test_informational_and_trailers(void **state)
{
	struct conv c;
	struct sink s;
	uint8_t b[64];
	size_t n;

	(void)state;
	open_conn(&c);
	request(&c, 1, "/hints", 10);
	n = lit(b, ":status", "103");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x4, 1, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 11);
	response(&c, 1, "200", 20);
	request(&c, 3, "/grpc", 30);
	b[0] = 0x88;
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x4, 3, b, 1);
	frame(&c, SONDE_FLOW_RESPONSE, 0, 0, 3, "data", 4);
	n = lit(b, "grpc-status", "0");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 3, b, n); /* trailers */
	chunk(&c, SONDE_FLOW_RESPONSE, 45);
	replay_all(&c, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.t[0].status, 200);
	assert_int_equal(s.t[0].duration_ns, 10);
	assert_string_equal(s.t[1].path, "/grpc");
	assert_int_equal(s.t[1].status, 200);
	assert_int_equal(s.t[1].rpc_system, SONDE_RPC_NONE); /* no gRPC content type */
	assert_int_equal(s.t[1].duration_ns, 15);
	assert_int_equal(s.t[1].response_bytes, 4);
}

/* A gRPC POST of path on stream, its content type in the request, and
 * a grpc-timeout when timeout is not NULL. */
static void grpc_request_timeout(struct conv *c, uint32_t stream, const char *path,
				 const char *timeout, uint64_t ts)
{
	uint8_t b[256];
	size_t n = 0;

	b[n++] = 0x83; /* :method POST */
	n += lit(b + n, ":path", path);
	n += lit(b + n, ":authority", "api.internal:50051");
	n += lit(b + n, "content-type", "application/grpc");
	n += lit(b + n, "te", "trailers");
	if (timeout)
		n += lit(b + n, "grpc-timeout", timeout);
	frame(c, SONDE_FLOW_REQUEST, 1, 0x4, stream, b, n);
	frame(c, SONDE_FLOW_REQUEST, 0, 0x1, stream, "\0\0\0\0\2\x08\x01", 7);
	chunk(c, SONDE_FLOW_REQUEST, ts);
}

static void grpc_request(struct conv *c, uint32_t stream, const char *path, uint64_t ts)
{
	grpc_request_timeout(c, stream, path, NULL, ts);
}

/* RST_STREAM on stream with an HTTP/2 error code, from flow f. */
static void reset(struct conv *c, enum sonde_flow f, uint32_t stream, uint8_t code, uint64_t ts)
{
	uint8_t e[4] = { 0, 0, 0, code };

	frame(c, f, 3, 0, stream, e, 4);
	chunk(c, f, ts);
}

/*
 * A gRPC call whose stream is reset before its status is a call all the
 * same: the client's deadline (its grpc-timeout run out, give or take a
 * quarter) is DEADLINE_EXCEEDED, a cancel before it CANCELLED, a server's
 * REFUSED_STREAM UNAVAILABLE; a plain HTTP/2 stream reset is none.
 */
static void test_grpc_reset(void **state)
{
	struct conv c;
	struct sink s;
	void *st;

	(void)state;
	open_conn(&c);
	grpc_request_timeout(&c, 1, "/shop.Cart/Slow", "50m", 1000000);
	reset(&c, SONDE_FLOW_REQUEST, 1, 0x8, 1000000 + 49500000);
	grpc_request_timeout(&c, 3, "/shop.Cart/Slow", "1S", 100000000);
	reset(&c, SONDE_FLOW_REQUEST, 3, 0x8, 110000000);
	grpc_request(&c, 5, "/shop.Cart/Get", 200000000);
	reset(&c, SONDE_FLOW_RESPONSE, 5, 0x7, 200000500);
	request(&c, 7, "/plain", 300000000);
	reset(&c, SONDE_FLOW_REQUEST, 7, 0x8, 300000100);
	/* a busy server read the 20 ms call 4.5 ms late: still its deadline;
	 * a cancel at 12 ms (60 %) is not */
	grpc_request_timeout(&c, 9, "/shop.Cart/Slow", "20m", 400000000);
	reset(&c, SONDE_FLOW_REQUEST, 9, 0x8, 400000000 + 15500000);
	grpc_request_timeout(&c, 11, "/shop.Cart/Slow", "20m", 500000000);
	reset(&c, SONDE_FLOW_REQUEST, 11, 0x8, 500000000 + 12000000);
	replay_all(&c, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.t[3].rpc_status, 4);
	assert_int_equal(s.t[4].rpc_status, 1);
	assert_int_equal(s.t[0].rpc_status, 4);
	assert_int_equal(s.t[0].duration_ns, 49500000);
	assert_string_equal(s.t[0].path, "/shop.Cart/Slow");
	assert_int_equal(s.t[1].rpc_status, 1);
	assert_int_equal(s.t[2].rpc_status, 14);
	assert_int_equal(s.t[2].rpc_system, SONDE_RPC_GRPC);
	st = new_state();
	memset(&s, 0, sizeof(s));
	assert_int_equal(replay(&c, st, &s, 0), 0);
	assert_int_equal(sonde_proto_http2.stats(st)->dropped, 1); /* the plain one */
	sonde_proto_state_free(&sonde_proto_http2, st);
}

/*
 * gRPC: the status comes from grpc-status in the trailers, or in a
 * trailers-only response; without one, from the HTTP status. A response
 * with a gRPC content type marks the call even when the request's did
 * not show; other HTTP/2 exchanges are no RPC.
 */
static void test_grpc(void **state)
{
	struct conv c;
	struct sink s;
	uint8_t b[128];
	size_t n;

	(void)state;
	open_conn(&c);
	/* unary, OK in the trailers after the message */
	grpc_request(&c, 1, "/shop.Cart/Add", 10);
	n = 0;
	b[n++] = 0x88;
	n += lit(b + n, "content-type", "application/grpc+proto");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x4, 1, b, n);
	frame(&c, SONDE_FLOW_RESPONSE, 0, 0, 1, "\0\0\0\0\0", 5);
	n = lit(b, "grpc-status", "0");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 1, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 25);
	/* trailers-only: NOT_FOUND in the one header block */
	grpc_request(&c, 3, "/shop.Cart/Get", 30);
	n = 0;
	b[n++] = 0x88;
	n += lit(b + n, "content-type", "application/grpc");
	n += lit(b + n, "grpc-status", "5");
	n += lit(b + n, "grpc-message", "no such cart");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 3, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 31);
	/* a proxy's 503 without any grpc-status: UNAVAILABLE */
	grpc_request(&c, 5, "/shop.Cart/Del", 40);
	n = lit(b, ":status", "503");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 5, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 42);
	/* a status that is no number, in a response whose content type alone says gRPC */
	request(&c, 7, "/shop.Cart/Odd", 50);
	n = 0;
	b[n++] = 0x88;
	n += lit(b + n, "content-type", "application/grpc");
	n += lit(b + n, "grpc-status", "x1");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 7, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 51);
	/* gRPC-Web and plain HTTP/2 are no gRPC calls */
	request(&c, 9, "/index.html", 60);
	n = 0;
	b[n++] = 0x88;
	n += lit(b + n, "content-type", "application/grpc-web");
	n += lit(b + n, "grpc-status", "13");
	frame(&c, SONDE_FLOW_RESPONSE, 1, 0x5, 9, b, n);
	chunk(&c, SONDE_FLOW_RESPONSE, 61);
	replay_all(&c, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.t[0].rpc_system, SONDE_RPC_GRPC);
	assert_int_equal(s.t[0].rpc_status, 0);
	assert_string_equal(s.t[0].path, "/shop.Cart/Add");
	assert_string_equal(s.t[0].operation, "POST");
	assert_int_equal(s.t[0].duration_ns, 15);
	assert_int_equal(s.t[0].request_bytes, 7);
	assert_int_equal(s.t[0].response_bytes, 5);
	assert_int_equal(s.t[1].rpc_system, SONDE_RPC_GRPC);
	assert_int_equal(s.t[1].rpc_status, 5);
	assert_int_equal(s.t[1].status, 200);
	assert_int_equal(s.t[2].rpc_system, SONDE_RPC_GRPC);
	assert_int_equal(s.t[2].rpc_status, 14);
	assert_int_equal(s.t[2].status, 503);
	assert_int_equal(s.t[3].rpc_system, SONDE_RPC_GRPC);
	assert_int_equal(s.t[3].rpc_status, 2);
	assert_int_equal(s.t[4].rpc_system, SONDE_RPC_NONE);
	assert_int_equal(s.t[4].status, 200);
}

/* W3C trace context from the request's traceparent field; a bad one is none. */
static void test_traceparent(void **state)
{
	static const uint8_t tid[16] = { 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c };
	static const uint8_t sid[8] = { 0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31 };
	struct conv c;
	struct sink s;
	uint8_t b[256];
	size_t n = 0;

	(void)state;
	open_conn(&c);
	b[n++] = 0x82;
	n += lit(b + n, ":path", "/t");
	n += lit(b + n, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	frame(&c, SONDE_FLOW_REQUEST, 1, 0x5, 1, b, n);
	chunk(&c, SONDE_FLOW_REQUEST, 1);
	response(&c, 1, "200", 2);
	n = 0;
	b[n++] = 0x82;
	n += lit(b + n, ":path", "/u");
	n += lit(b + n, "traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01");
	frame(&c, SONDE_FLOW_REQUEST, 1, 0x5, 3, b, n);
	chunk(&c, SONDE_FLOW_REQUEST, 3);
	response(&c, 3, "200", 4);
	replay_all(&c, &s);
	assert_int_equal(s.n, 2);
	assert_true(s.t[0].has_trace);
	assert_memory_equal(s.t[0].trace_id, tid, 16);
	assert_memory_equal(s.t[0].parent_span_id, sid, 8);
	assert_int_equal(s.t[0].trace_flags, 1);
	assert_false(s.t[1].has_trace);
}

/* A reset stream is no transaction; it is counted as dropped. */
static void test_reset(void **state)
{
	struct conv c;
	struct sink s;
	void *st;

	(void)state;
	open_conn(&c);
	request(&c, 1, "/gone", 10);
	frame(&c, SONDE_FLOW_REQUEST, 3, 0, 1, "\0\0\0\x08", 4); /* CANCEL */
	chunk(&c, SONDE_FLOW_REQUEST, 11);
	request(&c, 3, "/kept", 12);
	response(&c, 3, "200", 13);
	replay_all(&c, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.t[0].path, "/kept");
	st = new_state();
	memset(&s, 0, sizeof(s));
	assert_int_equal(replay(&c, st, &s, 0), 0);
	assert_int_equal(sonde_proto_http2.stats(st)->dropped, 1);
	sonde_proto_state_free(&sonde_proto_http2, st);
}

/* A body the capture cut is skipped by its length; a hidden header is not. */
static void test_gaps(void **state)
{
	struct conv c;
	struct sink s = { 0 };
	uint8_t big[9 + 1000];
	void *st = new_state();

	(void)state;
	open_conn(&c);
	request(&c, 1, "/big", 10);
	assert_int_equal(replay(&c, st, &s, 0), 0);
	/* HEADERS :status 200, then a 1000-byte DATA of which 100 are captured */
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_RESPONSE,
						(const uint8_t *)"\0\0\1\1\4\0\0\0\1\x88", 10, 10, 20,
						on_txn, &s), 0);
	memset(big, 'x', sizeof(big));
	memcpy(big, "\0\3\xe8\0\1\0\0\0\1", 9);
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_RESPONSE, big, 109, sizeof(big), 30,
						on_txn, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.t[0].response_bytes, 1000);
	assert_int_equal(s.t[0].duration_ns, 20);
	/* a gap past the end of a frame hides the next header: given up */
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_RESPONSE, big, 9, 2000, 40,
						on_txn, &s), -EPROTO);
	assert_int_equal(sonde_proto_http2.stats(st)->desyncs, 1);
	sonde_proto_state_free(&sonde_proto_http2, st);
}

/* More streams in flight than tracked: the oldest make room, counted. */
static void test_stream_bound(void **state)
{
	struct conv c;
	struct sink s = { 0 };
	void *st = new_state();
	char path[16];

	(void)state;
	open_conn(&c);
	for (uint32_t i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/%u", i);
		request(&c, 1 + 2 * i, path, 10 + i);
	}
	for (uint32_t i = 0; i < 40; i++)
		response(&c, 1 + 2 * i, "200", 100 + i);
	assert_int_equal(replay(&c, st, &s, 0), 0);
	assert_int_equal(s.n, 32);
	assert_string_equal(s.t[0].path, "/8"); /* /0../7 made room */
	assert_string_equal(s.t[31].path, "/39");
	assert_int_equal(sonde_proto_http2.stats(st)->dropped, 8);
	sonde_proto_state_free(&sonde_proto_http2, st);
}

/* Not HTTP/2 after all, or a header block past the bound: -EPROTO. */
static void test_hostile(void **state)
{
	uint8_t huge[9 + 17000];
	struct sink s = { 0 };
	void *st = new_state();

	(void)state;
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_REQUEST,
						(const uint8_t *)"PRI * HTTP/2.0\r\n\r\nXX", 20, 20, 1,
						on_txn, &s), -EPROTO);
	sonde_proto_state_free(&sonde_proto_http2, st);

	st = new_state();
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_REQUEST, preface, 24, 24, 1,
						on_txn, &s), 0);
	memset(huge, 0, sizeof(huge));
	memcpy(huge, "\0\x42\x68\1\0\0\0\0\1", 9); /* HEADERS of 17000 bytes, no END_HEADERS */
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_REQUEST, huge, sizeof(huge),
						sizeof(huge), 2, on_txn, &s), -EPROTO);
	/* dead from then on */
	assert_int_equal(sonde_proto_http2.feed(st, SONDE_FLOW_RESPONSE, huge, 9, 9, 3, on_txn,
						&s), -EPROTO);
	assert_int_equal(s.n, 0);
	sonde_proto_state_free(&sonde_proto_http2, st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_one_exchange),
		cmocka_unit_test(test_multiplexed),
		cmocka_unit_test(test_continuation_padding),
		cmocka_unit_test(test_dynamic_table),
		cmocka_unit_test(test_informational_and_trailers),
		cmocka_unit_test(test_grpc),
		cmocka_unit_test(test_grpc_reset),
		cmocka_unit_test(test_traceparent),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_stream_bound),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
