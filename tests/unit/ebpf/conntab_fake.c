// SPDX-License-Identifier: MIT
/* The connection table tests' fake protocols and harness (conntab_fake.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conntab_fake.h"

struct fake_state {
	bool pending;
	bool half; /* "HDR" seen: the end of the connection completes it */
	unsigned closes; /* empty response chunks fed */
	char op[16];
	uint64_t start;
	uint64_t req_total, resp_total;
	struct sonde_proto_stats st;
};

static bool fake_detect(const uint8_t *d, size_t n)
{
	return n >= 3 && memcmp(d, "REQ", 3) == 0;
}

static bool fakeweb_detect(const uint8_t *d, size_t n)
{
	return n >= 4 && memcmp(d, "WEB ", 4) == 0;
}

static void fake_init(void *s)
{
	memset(s, 0, sizeof(struct fake_state));
}

static int fake_feed_as(void *state, enum sonde_flow flow, const uint8_t *d,
			size_t len, size_t total, uint64_t ts, sonde_txn_emit_fn emit,
			void *ud, enum sonde_txn_kind kind, enum sonde_proto proto)
{
	struct fake_state *s = state;
	struct sonde_txn t;

	if (len >= 3 && memcmp(d, "BAD", 3) == 0)
		return -EPROTO;
	if (len >= 3 && memcmp(d, "ERR", 3) == 0) {
		s->st.parse_errors++;
		return 0;
	}
	if (flow == SONDE_FLOW_REQUEST) {
		s->req_total += total;
		if (len > 4 && !s->pending) {
			size_t n = len - 4;

			if (n > sizeof(s->op) - 1)
				n = sizeof(s->op) - 1;
			memcpy(s->op, d + 4, n);
			s->op[n] = '\0';
			if (n && s->op[n - 1] == '\n')
				s->op[n - 1] = '\0';
			s->pending = true;
			s->start = ts;
		}
		return 0;
	}
	s->resp_total += total;
	if (len == 0 && total == 0) {
		s->closes++;
		if (!s->half)
			return 0;
	} else if (len >= 3 && memcmp(d, "HDR", 3) == 0) {
		s->half = s->pending;
		return 0;
	}
	if (!s->pending)
		return 0;
	s->half = false;
	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.proto = proto;
	SONDE_TXN_SET(t.operation, s->op, strlen(s->op));
	t.start_ns = s->start;
	t.duration_ns = ts - s->start;
	t.request_bytes = s->req_total;
	t.response_bytes = s->resp_total;
	s->pending = false;
	s->req_total = s->resp_total = 0;
	emit(&t, ud);
	return 0;
}

static int fake_feed(void *state, enum sonde_flow flow, const uint8_t *d, size_t len,
		     size_t total, uint64_t ts, sonde_txn_emit_fn emit, void *ud)
{
	return fake_feed_as(state, flow, d, len, total, ts, emit, ud, SONDE_TXN_CACHE,
			    SONDE_PROTO_REDIS);
}

static int fakeweb_feed(void *state, enum sonde_flow flow, const uint8_t *d,
			size_t len, size_t total, uint64_t ts, sonde_txn_emit_fn emit,
			void *ud)
{
	/* accept "WEB" where the cache one wants "REQ" */
	if (flow == SONDE_FLOW_REQUEST && len >= 4 && memcmp(d, "WEB ", 4) == 0) {
		uint8_t tmp[64];
		size_t n = len < sizeof(tmp) ? len : sizeof(tmp);

		memcpy(tmp, d, n);
		memcpy(tmp, "REQ ", 4);
		return fake_feed_as(state, flow, tmp, n, total, ts, emit, ud,
				    SONDE_TXN_HTTP_SERVER, SONDE_PROTO_HTTP1);
	}
	return fake_feed_as(state, flow, d, len, total, ts, emit, ud,
			    SONDE_TXN_HTTP_SERVER, SONDE_PROTO_HTTP1);
}

static const struct sonde_proto_stats *fake_stats(const void *s)
{
	return &((const struct fake_state *)s)->st;
}

const struct sonde_proto_ops fake_cache = {
	.proto = SONDE_PROTO_REDIS, .name = "fakecache",
	.state_size = sizeof(struct fake_state), .detect = fake_detect,
	.init = fake_init, .feed = fake_feed, .stats = fake_stats,
};

const struct sonde_proto_ops fake_web = {
	.proto = SONDE_PROTO_HTTP1, .name = "fakeweb",
	.state_size = sizeof(struct fake_state), .detect = fakeweb_detect,
	.init = fake_init, .feed = fakeweb_feed, .stats = fake_stats,
};

static void on_emit(struct sonde_txn *t, const struct sonde_conn *c, void *ud)
{
	struct ctx *x = ud;

	if (x->n < MAX_TXN) {
		x->role[x->n] = c->role;
		x->txn[x->n++] = *t;
	}
}

static void on_proto(struct sonde_conn *c, void *ud)
{
	struct ctx *x = ud;

	if (x->n_changes < MAX_CHANGES) {
		x->changes[x->n_changes].tls = c->tls;
		x->changes[x->n_changes].state = c->state;
		x->changes[x->n_changes].proto = c->proto;
	}
	x->n_changes++;
	if (c->proto)
		x->detected++;
	else
		x->ignored++;
}

bool (*fake_unix_name)(const struct sonde_conn *conn, char *out, size_t len, void *userdata);

struct ctx *mk(unsigned max_conns, uint64_t idle_ns)
{
	struct ctx *x = calloc(1, sizeof(*x));
	struct sonde_conntab_opts o = {
		.max_conns = max_conns, .idle_ns = idle_ns,
		.protos = { &fake_cache, &fake_web }, .n_protos = 2,
		.detect_chunks = 3, .max_switches = 1, .loopback_dedup = true,
		.emit = on_emit, .proto_changed = on_proto, .unix_name = fake_unix_name,
	};

	assert_non_null(x);
	o.userdata = x;
	assert_int_equal(sonde_conntab_new(&o, &x->tab), 0);
	return x;
}

void done(struct ctx *x)
{
	sonde_conntab_free(x->tab);
	free(x);
}

struct sonde_addr v4(const char *ip, uint16_t port)
{
	struct sonde_addr a = { .family = AF_INET, .port = port };

	assert_int_equal(inet_pton(AF_INET, ip, a.addr), 1);
	return a;
}

void chunk(struct ctx *x, int fd, uint64_t sock_id, uint8_t krole, bool send,
	   const struct sonde_addr *l, const struct sonde_addr *p, const char *s,
	   size_t total, uint64_t ts)
{
	struct sonde_conntab_chunk c = {
		.tgid = 100, .fd = fd, .sock_id = sock_id, .kernel_role = krole,
		.send = send, .local = l, .peer = p, .data = (const uint8_t *)s,
		.len = strlen(s), .total = total ? total : strlen(s), .ts_ns = ts,
	};

	assert_int_equal(sonde_conntab_data(x->tab, &c), 0);
}
