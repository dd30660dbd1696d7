// SPDX-License-Identifier: MIT
/*
 * HTTP/1, Redis and Memcached parsers: fixture conversations replayed whole,
 * split at every byte and byte by byte; hostile input; bounds.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"
#include "protocols/framing.h"

static const char *fixtures_dir(void)
{
	const char *env = getenv("SONDE_FIXTURES");

	return env && *env ? env : SONDE_FIXTURES;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *area)
{
	char dir[512], path[1024], err[2048];
	char *names[512];
	size_t n = 0, i, failed = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/protocols/%s", fixtures_dir(), area);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < 512) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		struct fx *fx = NULL;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = fx_load(path, &fx);
		if (r < 0) {
			print_error("%s: cannot load (%d)\n", names[i], r);
			failed++;
		} else if (!fx_run(fx, err, sizeof(err))) {
			print_error("%s: %s\n", names[i], err);
			failed++;
		}
		fx_free(fx);
		free(names[i]);
	}
	assert_int_equal(failed, 0);
}

static void test_http1_fixtures(void **s)
{
	(void)s;
	run_dir("http1");
}

static void test_redis_fixtures(void **s)
{
	(void)s;
	run_dir("redis");
}

static void test_memcached_fixtures(void **s)
{
	(void)s;
	run_dir("memcached");
}

/* ---- framing helpers ---- */

static void test_framing_lines(void **s)
{
	struct sonde_linebuf lb = { 0 };
	struct sonde_line l;
	char buf[8];
	const uint8_t a[] = "abc\r", b[] = "\nlonger than eight\r\nx\n";
	const uint8_t *p = a;

	(void)s;
	assert_false(sonde_line_next(&lb, buf, sizeof(buf), &p, a + 4, &l));
	p = b;
	assert_true(sonde_line_next(&lb, buf, sizeof(buf), &p, b + sizeof(b) - 1, &l));
	assert_int_equal(l.len, 3);
	assert_memory_equal(l.ptr, "abc", 3);
	assert_true(sonde_line_next(&lb, buf, sizeof(buf), &p, b + sizeof(b) - 1, &l));
	assert_int_equal(l.len, 17); /* whole in the chunk: no copy, no limit */
	assert_true(sonde_line_next(&lb, buf, sizeof(buf), &p, b + sizeof(b) - 1, &l));
	assert_int_equal(l.len, 1);
	assert_ptr_equal(p, b + sizeof(b) - 1);

	/* A split line longer than the buffer: truncated, framing kept. */
	{
		const uint8_t c[] = "0123456789", d[] = "abc\r\nnext\n";

		p = c;
		assert_false(sonde_line_next(&lb, buf, sizeof(buf), &p, c + 10, &l));
		p = d;
		assert_true(sonde_line_next(&lb, buf, sizeof(buf), &p, d + 10, &l));
		assert_true(l.truncated);
		assert_int_equal(l.len, 8);
		assert_true(sonde_line_next(&lb, buf, sizeof(buf), &p, d + 10, &l));
		assert_memory_equal(l.ptr, "next", 4);
	}
}

static void test_framing_numbers(void **s)
{
	uint64_t u;
	int64_t i;

	(void)s;
	assert_true(sonde_parse_u64("18446744073709551615", 20, &u));
	assert_true(u == UINT64_MAX);
	assert_false(sonde_parse_u64("18446744073709551616", 20, &u));
	assert_false(sonde_parse_u64("99999999999999999999", 20, &u));
	assert_false(sonde_parse_u64("", 0, &u));
	assert_false(sonde_parse_u64("1x", 2, &u));
	assert_true(sonde_parse_i64("-1", 2, &i));
	assert_int_equal(i, -1);
	assert_true(sonde_parse_i64("-9223372036854775808", 20, &i));
	assert_true(i == INT64_MIN);
	assert_false(sonde_parse_i64("9223372036854775808", 19, &i));
	assert_false(sonde_parse_i64("-", 1, &i));
	assert_true(sonde_parse_hex_u64("fFfF", 4, &u));
	assert_int_equal(u, 0xffff);
	assert_false(sonde_parse_hex_u64("10000000000000000", 17, &u));
	assert_false(sonde_parse_hex_u64("g", 1, &u));
}

static void test_framing_fifo(void **s)
{
	struct sonde_fifo f = { 0 };
	unsigned i;

	(void)s;
	for (i = 0; i < 4; i++)
		assert_int_equal(sonde_fifo_push(&f, 4), (int)i);
	assert_int_equal(sonde_fifo_push(&f, 4), -ENOBUFS);
	assert_int_equal(sonde_fifo_front(&f, 4), 0);
	sonde_fifo_pop(&f, 4);
	assert_int_equal(sonde_fifo_push(&f, 4), 0);
	assert_int_equal(sonde_fifo_back(&f, 4), 0);
	assert_int_equal(sonde_fifo_front(&f, 4), 1);

	/* growth: the wrapped ring 1,2,3,0 moves to the heap oldest first */
	int inl[4] = { 40, 10, 20, 30 }; /* slot 1 is the oldest */
	int *arr = sonde_fifo_adopt(NULL, &(uint16_t){ 0 }, inl, 4), *grown;
	uint16_t cap = 4;

	assert_ptr_equal(arr, inl);
	assert_null(sonde_fifo_grow(&f, arr, &cap, sizeof(int), 4, inl)); /* not bigger */
	assert_non_null(arr = sonde_fifo_grow(&f, arr, &cap, sizeof(int), 8, inl));
	assert_int_equal(cap, 8);
	assert_ptr_not_equal(arr, inl);
	assert_int_equal(f.head, 0);
	assert_int_equal(f.count, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(arr[i], 10 * (int)(i + 1)); /* 10 20 30 40 */
	assert_int_equal(sonde_fifo_push(&f, cap), 4);
	/* a grown array is kept by a later init; a bigger one frees the 8 */
	assert_ptr_equal(sonde_fifo_adopt(arr, &cap, inl, 4), arr);
	assert_int_equal(cap, 8);
	assert_non_null(grown = sonde_fifo_grow(&f, arr, &cap, sizeof(int), 16, inl));
	arr = grown;
	assert_int_equal(arr[3], 40);
	assert_ptr_equal(sonde_fifo_release(arr, &cap, inl, 4), inl);
	assert_int_equal(cap, 4);
}

static void test_framing_tokcount(void **s)
{
	struct sonde_tokcount tc;
	const char *a = "get k1  k2\tk", *b = "3 noreply\r\n";

	(void)s;
	sonde_tokcount_reset(&tc);
	sonde_tokcount_feed(&tc, (const uint8_t *)a, (const uint8_t *)a + strlen(a));
	assert_int_equal(tc.ntok, 4);
	/* the token "k3" continues across the split */
	sonde_tokcount_feed(&tc, (const uint8_t *)b, (const uint8_t *)b + strlen(b));
	assert_int_equal(tc.ntok, 5);
	assert_int_equal(tc.last_len, 7);
	assert_memory_equal(tc.last, "noreply", 7);
}

/* ---- hostile input ---- */

struct counter {
	unsigned n;
};

static void count_emit(struct sonde_txn *txn, void *userdata)
{
	struct counter *c = userdata;

	assert_true(txn->operation[SONDE_TXN_OP_LEN - 1] == '\0');
	assert_true(txn->path[SONDE_TXN_PATH_LEN - 1] == '\0');
	c->n++;
}

static const struct sonde_proto_ops *const all_ops[] = {
	&sonde_proto_http1, &sonde_proto_redis, &sonde_proto_memcached,
};

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void test_random_bytes(void **s)
{
	uint64_t seed = 0x1234567u;
	uint8_t buf[512];
	unsigned o, round, i;

	(void)s;
	for (o = 0; o < 3; o++) {
		for (round = 0; round < 300; round++) {
			void *st = calloc(1, all_ops[o]->state_size);
			struct counter c = { 0 };
			unsigned chunks = 1 + xorshift(&seed) % 20;

			all_ops[o]->init(st);
			for (i = 0; i < chunks; i++) {
				size_t len = xorshift(&seed) % sizeof(buf), k;
				const char *alpha = "\r\n *$:-+0123456789GET HTTP/1.1VALUE END";

				for (k = 0; k < len; k++) {
					uint64_t r = xorshift(&seed);

					buf[k] = (r & 1) ? (uint8_t)(r >> 8) :
							   (uint8_t)alpha[(r >> 8) % strlen(alpha)];
				}
				if (all_ops[o]->feed(st, (enum sonde_flow)(xorshift(&seed) & 1),
						     buf, len, len + (xorshift(&seed) % 4 == 0 ? 100 : 0),
						     i, count_emit, &c) == -EPROTO)
					break;
			}
			sonde_proto_state_free(all_ops[o], st);
		}
	}
}

static int feed_str(const struct sonde_proto_ops *ops, void *st, enum sonde_flow f,
		    const char *s, struct counter *c)
{
	return ops->feed(st, f, (const uint8_t *)s, strlen(s), strlen(s), 1, count_emit, c);
}

static void test_absurd_lengths(void **s)
{
	struct counter c = { 0 };
	void *st;

	(void)s;
	/* Redis: a valid command, then absurd and negative lengths. */
	st = calloc(1, sonde_proto_redis.state_size);
	sonde_proto_redis.init(st);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_REQUEST,
				  "*1\r\n$4\r\nPING\r\n", &c), 0);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_RESPONSE,
				  "+PONG\r\n", &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_REQUEST,
				  "*1\r\n$999999999999\r\nxx\r\n", &c), 0);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_REQUEST,
				  "*-5\r\n", &c), 0);
	assert_true(sonde_proto_redis.stats(st)->parse_errors >= 1);
	sonde_proto_state_free(&sonde_proto_redis, st);

	/* Redis: a first chunk that is not RESP at all. */
	st = calloc(1, sonde_proto_redis.state_size);
	sonde_proto_redis.init(st);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_REQUEST,
				  "\x16\x03\x01 hello\r\n", &c), -EPROTO);
	sonde_proto_state_free(&sonde_proto_redis, st);

	/* HTTP: a Content-Length beyond 64 bits is a framing error. */
	st = calloc(1, sonde_proto_http1.state_size);
	sonde_proto_http1.init(st);
	c.n = 0;
	assert_int_equal(feed_str(&sonde_proto_http1, st, SONDE_FLOW_REQUEST,
				  "GET / HTTP/1.1\r\nHost: a\r\n\r\n", &c), 0);
	assert_int_equal(feed_str(&sonde_proto_http1, st, SONDE_FLOW_RESPONSE,
				  "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
				  &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(sonde_proto_http1.stats(st)->parse_errors, 1);
	assert_int_equal(sonde_proto_http1.stats(st)->dropped, 1);
	sonde_proto_state_free(&sonde_proto_http1, st);
}

static void test_deep_nesting(void **s)
{
	struct counter c = { 0 };
	void *st = calloc(1, sonde_proto_redis.state_size);
	char deep[4096];
	size_t i, o = 0;

	(void)s;
	sonde_proto_redis.init(st);
	for (i = 0; i < 1000; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "*1\r\n");
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_REQUEST,
				  "*1\r\n$4\r\nPING\r\n", &c), 0);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_RESPONSE, deep, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(sonde_proto_redis.stats(st)->parse_errors, 1);
	/* Recovers at the next command. */
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_REQUEST,
				  "*1\r\n$4\r\nPING\r\n", &c), 0);
	assert_int_equal(feed_str(&sonde_proto_redis, st, SONDE_FLOW_RESPONSE,
				  "+PONG\r\n", &c), 0);
	assert_int_equal(c.n, 1);
	sonde_proto_state_free(&sonde_proto_redis, st);
}

/* A close may be signalled with an empty chunk and no buffer at all. */
static void test_null_chunk(void **s)
{
	unsigned o, f;

	(void)s;
	for (o = 0; o < 3; o++) {
		void *st = calloc(1, all_ops[o]->state_size);
		struct counter c = { 0 };

		all_ops[o]->init(st);
		for (f = 0; f < 2; f++)
			assert_int_equal(all_ops[o]->feed(st, (enum sonde_flow)f, NULL, 0,
							  f * 10, 1, count_emit, &c), 0);
		sonde_proto_state_free(all_ops[o], st);
	}
}

/*
 * Redis pipelines far beyond 64 commands: 100 in one write all pair; past
 * the queue, dropped commands in many separate runs (more runs than the
 * parser keeps apart) are counted and their replies skipped, so the next
 * command still pairs with its own reply.
 */
struct op_log {
	unsigned n, get, get_hits;
};

static void op_emit(struct sonde_txn *txn, void *userdata)
{
	struct op_log *l = userdata;

	l->n++;
	if (strcmp(txn->operation, "GET") == 0) {
		l->get++;
		l->get_hits += txn->cache_hits;
	}
}

static void feed_n(void *st, enum sonde_flow f, const char *s, unsigned n,
		   uint64_t ts, struct op_log *l)
{
	size_t len = strlen(s);
	char *buf = malloc(len * n + 1);
	unsigned i;

	assert_non_null(buf);
	for (i = 0; i < n; i++)
		memcpy(buf + len * i, s, len);
	assert_int_equal(sonde_proto_redis.feed(st, f, (const uint8_t *)buf, len * n,
						len * n, ts, op_emit, l), 0);
	free(buf);
}

static void test_redis_deep_pipeline(void **s)
{
	const char *ping = "*1\r\n$4\r\nPING\r\n", *pong = "+PONG\r\n";
	const char *get = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	void *st = calloc(1, sonde_proto_redis.state_size);
	struct op_log l = { 0 };
	unsigned sent, i;
	uint64_t dropped;

	(void)s;
	sonde_proto_redis.init(st);
	feed_n(st, SONDE_FLOW_REQUEST, ping, 100, 1000, &l);
	feed_n(st, SONDE_FLOW_RESPONSE, pong, 100, 2000, &l);
	assert_int_equal(l.n, 100);
	assert_int_equal(sonde_proto_redis.stats(st)->dropped, 0);

	/* Fill the queue, then 20 times: one reply, two commands (the
	 * second of each pair is dropped, a run of its own). */
	l.n = 0;
	feed_n(st, SONDE_FLOW_REQUEST, ping, 600, 3000, &l);
	sent = 600;
	for (i = 0; i < 20; i++) {
		feed_n(st, SONDE_FLOW_RESPONSE, pong, 1, 4000 + i, &l);
		feed_n(st, SONDE_FLOW_REQUEST, ping, 2, 4000 + i, &l);
		sent += 2;
	}
	dropped = sonde_proto_redis.stats(st)->dropped;
	assert_true(dropped >= 600 - 512);
	feed_n(st, SONDE_FLOW_RESPONSE, pong, sent - 20, 5000, &l);
	assert_int_equal(l.n + dropped, sent);
	assert_true(l.n >= 512);
	/* Aligned: a GET pairs with its own nil reply, then with a hit. */
	feed_n(st, SONDE_FLOW_REQUEST, get, 1, 6000, &l);
	feed_n(st, SONDE_FLOW_RESPONSE, "$-1\r\n", 1, 6001, &l);
	feed_n(st, SONDE_FLOW_REQUEST, get, 1, 6002, &l);
	feed_n(st, SONDE_FLOW_RESPONSE, "$1\r\nv\r\n", 1, 6003, &l);
	assert_int_equal(l.get, 2);
	assert_int_equal(l.get_hits, 1);
	assert_int_equal(sonde_proto_redis.stats(st)->dropped, dropped);
	sonde_proto_state_free(&sonde_proto_redis, st);
}

/* Pending start times survive long waits (compact relative storage). */
static void start_emit(struct sonde_txn *txn, void *userdata)
{
	uint64_t *out = userdata;

	out[out[0]++ + 1] = txn->start_ns;
}

static void test_redis_pending_times(void **s)
{
	const char *ping = "*1\r\n$4\r\nPING\r\n";
	void *st = calloc(1, sonde_proto_redis.state_size);
	uint64_t got[8] = { 0 };
	const uint64_t t0 = 1000000000000ull;

	(void)s;
	sonde_proto_redis.init(st);
	sonde_proto_redis.feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)ping, 14, 14,
			       t0, start_emit, got);
	sonde_proto_redis.feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)ping, 14, 14,
			       t0 + 1234567, start_emit, got);
	/* 10 s later: beyond the fine range, kept to 1024 ns */
	sonde_proto_redis.feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)ping, 14, 14,
			       t0 + 10000000000ull, start_emit, got);
	sonde_proto_redis.feed(st, SONDE_FLOW_RESPONSE, (const uint8_t *)"+PONG\r\n", 7, 7,
			       t0 + 20000000000ull, start_emit, got);
	/* coarse too; popping the third command rebases the rest */
	sonde_proto_redis.feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)ping, 14, 14,
			       t0 + 10000000777ull, start_emit, got);
	sonde_proto_redis.feed(st, SONDE_FLOW_RESPONSE,
			       (const uint8_t *)"+PONG\r\n+PONG\r\n+PONG\r\n", 21, 21,
			       t0 + 20000000000ull, start_emit, got);
	assert_int_equal(got[0], 4);
	assert_true(got[1] == t0);
	assert_true(got[2] == t0 + 1234567);
	assert_true(got[3] <= t0 + 10000000000ull && got[3] + 1024 > t0 + 10000000000ull);
	assert_true(got[4] <= t0 + 10000000777ull && got[4] + 1024 > t0 + 10000000777ull);
	sonde_proto_state_free(&sonde_proto_redis, st);
}

/*
 * Memcached pipelines far beyond 64 requests: hundreds of gets or quiet
 * meta gets in one write all pair, exactly; past the queue (512), the
 * surplus is counted as dropped and later requests still pair.
 */
struct mc_log {
	unsigned n, cap;
	unsigned lookups, hits;
	struct {
		char op[SONDE_TXN_OP_LEN];
		unsigned lookups, hits;
		uint64_t start, dur;
	} *t;
};

static void mc_emit(struct sonde_txn *txn, void *userdata)
{
	struct mc_log *l = userdata;

	assert_true(l->n < l->cap);
	snprintf(l->t[l->n].op, sizeof(l->t[l->n].op), "%s", txn->operation);
	l->t[l->n].lookups = txn->cache_lookups;
	l->t[l->n].hits = txn->cache_hits;
	l->t[l->n].start = txn->start_ns;
	l->t[l->n].dur = txn->duration_ns;
	l->lookups += txn->cache_lookups;
	l->hits += txn->cache_hits;
	l->n++;
}

static void mc_log_init(struct mc_log *l, unsigned cap)
{
	memset(l, 0, sizeof(*l));
	l->cap = cap;
	l->t = calloc(cap, sizeof(*l->t));
	assert_non_null(l->t);
}

/* A growing byte string for building conversations. */
struct mc_buf {
	char *p;
	size_t len, cap;
};

static void mc_add(struct mc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
			      fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (b->p && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	b->len += (size_t)n;
}

/*
 * Feeds [s, s+len) as chunks: whole when step is 0, else in pieces of
 * 1..step bytes drawn from seed.
 */
static void mc_feed(void *st, enum sonde_flow f, const char *s, size_t len,
		    uint64_t ts, unsigned step, uint64_t *seed, struct mc_log *l)
{
	size_t off = 0;

	do {
		size_t n = step ? 1 + xorshift(seed) % step : len - off;

		if (n > len - off)
			n = len - off;
		assert_int_equal(sonde_proto_memcached.feed(st, f, (const uint8_t *)s + off,
							    n, n, ts, mc_emit, l), 0);
		off += n;
	} while (off < len);
}

static const struct sonde_proto_stats *mc_st(void *st)
{
	return sonde_proto_memcached.stats(st);
}

/* Key i of the deep pipelines is present when this says so. */
static bool mc_hit(unsigned i)
{
	return i % 3 != 0 && i % 7 != 5;
}

/* (1) 300 gets in one write, then 300 responses. */
static void test_memcached_deep_pipeline(void **s)
{
	static const unsigned steps[] = { 0, 1, 7, 97 };
	struct mc_buf req = { 0 }, resp = { 0 };
	unsigned i, k, want_hits = 0;
	uint64_t seed = 0xfeedu;

	(void)s;
	for (i = 0; i < 300; i++) {
		mc_add(&req, "get k%u\r\n", i);
		if (mc_hit(i)) {
			mc_add(&resp, "VALUE k%u 0 %u\r\n%0*u\r\n", i, 1 + i % 10, 1 + i % 10, 0);
			want_hits++;
		}
		mc_add(&resp, "END\r\n");
	}
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		void *st = calloc(1, sonde_proto_memcached.state_size);
		struct mc_log l;

		mc_log_init(&l, 1024);
		sonde_proto_memcached.init(st);
		mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 1000, steps[k], &seed, &l);
		assert_int_equal(l.n, 0);
		mc_feed(st, SONDE_FLOW_RESPONSE, resp.p, resp.len, 5000, steps[k], &seed, &l);
		assert_int_equal(l.n, 300);
		assert_int_equal(l.lookups, 300);
		assert_int_equal(l.hits, want_hits);
		for (i = 0; i < 300; i++) {
			assert_string_equal(l.t[i].op, "get");
			assert_int_equal(l.t[i].hits, mc_hit(i));
			assert_true(l.t[i].start == 1000);
			assert_true(l.t[i].dur == 4000);
		}
		assert_int_equal(mc_st(st)->dropped, 0);
		assert_int_equal(mc_st(st)->parse_errors, 0);
		free(l.t);
		sonde_proto_state_free(&sonde_proto_memcached, st);
	}
	free(req.p);
	free(resp.p);
}

/*
 * (2) 500 quiet mg + mn: only hits answer, then MN. With k the response
 * names its key, so each mg is resolved exactly; without it the totals
 * still are.
 */
static void test_memcached_quiet_batch(void **s)
{
	unsigned i, k, want_hits = 0;
	uint64_t seed = 0xbeefu;

	(void)s;
	for (i = 0; i < 500; i++)
		want_hits += mc_hit(i);
	for (k = 0; k < 4; k++) {
		bool with_k = k & 1;
		unsigned step = k < 2 ? 0 : 13;
		struct mc_buf req = { 0 }, resp = { 0 };
		void *st = calloc(1, sonde_proto_memcached.state_size);
		struct mc_log l;

		for (i = 0; i < 500; i++) {
			mc_add(&req, "mg k%u v q%s\r\n", i, with_k ? " k" : "");
			if (mc_hit(i)) {
				if (with_k)
					mc_add(&resp, "VA 2 kk%u\r\nxy\r\n", i);
				else
					mc_add(&resp, "VA 2\r\nxy\r\n");
			}
		}
		mc_add(&req, "mn\r\n");
		mc_add(&resp, "MN\r\n");
		mc_log_init(&l, 1024);
		sonde_proto_memcached.init(st);
		mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 1000, step, &seed, &l);
		mc_feed(st, SONDE_FLOW_RESPONSE, resp.p, resp.len, 2000, step, &seed, &l);
		assert_int_equal(l.n, 501);
		assert_int_equal(l.lookups, 500);
		assert_int_equal(l.hits, want_hits);
		assert_string_equal(l.t[500].op, "mn");
		for (i = 0; i < 500; i++) {
			assert_string_equal(l.t[i].op, "mg");
			if (with_k)
				assert_int_equal(l.t[i].hits, mc_hit(i));
		}
		assert_int_equal(mc_st(st)->dropped, 0);
		free(l.t);
		sonde_proto_state_free(&sonde_proto_memcached, st);
		free(req.p);
		free(resp.p);
	}
}

/* A get of a missing key pairs with its own END, a present one with VALUE. */
static void mc_check_aligned(void *st, struct mc_log *l, uint64_t ts)
{
	const char *miss = "get nokey\r\n", *hit = "get k\r\n";
	unsigned n = l->n;
	uint64_t seed = 1;

	mc_feed(st, SONDE_FLOW_REQUEST, miss, strlen(miss), ts, 0, &seed, l);
	mc_feed(st, SONDE_FLOW_RESPONSE, "END\r\n", 5, ts + 1, 0, &seed, l);
	mc_feed(st, SONDE_FLOW_REQUEST, hit, strlen(hit), ts + 2, 0, &seed, l);
	mc_feed(st, SONDE_FLOW_RESPONSE, "VALUE k 0 1\r\nx\r\nEND\r\n", 21, ts + 3, 0,
		&seed, l);
	assert_int_equal(l->n, n + 2);
	assert_int_equal(l->t[n].lookups, 1);
	assert_int_equal(l->t[n].hits, 0);
	assert_int_equal(l->t[n].dur, 1);
	assert_int_equal(l->t[n + 1].lookups, 1);
	assert_int_equal(l->t[n + 1].hits, 1);
}

/* (3) Beyond the queue: the surplus is dropped, counted, and skipped. */
static void test_memcached_queue_overflow(void **s)
{
	struct mc_buf req = { 0 }, resp = { 0 };
	uint64_t seed = 7, dropped;
	unsigned i, sent = 0;
	struct mc_log l;
	void *st;

	(void)s;
	assert_true(sonde_proto_memcached.state_size <= 8192);

	/* 600 gets: 512 pair, 88 dropped, their responses skipped. */
	st = calloc(1, sonde_proto_memcached.state_size);
	sonde_proto_memcached.init(st);
	mc_log_init(&l, 4096);
	for (i = 0; i < 600; i++) {
		mc_add(&req, "get k%u\r\n", i);
		mc_add(&resp, i % 2 ? "END\r\n" : "VALUE k 0 1\r\nx\r\nEND\r\n");
	}
	mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 1000, 0, &seed, &l);
	assert_int_equal(mc_st(st)->dropped, 88);
	mc_feed(st, SONDE_FLOW_RESPONSE, resp.p, resp.len, 2000, 0, &seed, &l);
	assert_int_equal(l.n, 512);
	assert_int_equal(l.hits, 256);
	for (i = 0; i < 512; i++)
		assert_int_equal(l.t[i].hits, i % 2 ? 0 : 1);
	assert_int_equal(mc_st(st)->dropped, 88);
	mc_check_aligned(st, &l, 3000);
	free(l.t);
	sonde_proto_state_free(&sonde_proto_memcached, st);

	/*
	 * A quiet batch past the queue, mn dropped too: the queued mg are
	 * resolved by their keys, the rest of the batch up to its MN skipped.
	 */
	st = calloc(1, sonde_proto_memcached.state_size);
	sonde_proto_memcached.init(st);
	mc_log_init(&l, 4096);
	req.len = resp.len = 0;
	for (i = 0; i < 1000; i++) {
		mc_add(&req, "mg k%u v q k\r\n", i);
		if (mc_hit(i))
			mc_add(&resp, "VA 1 kk%u\r\nx\r\n", i);
	}
	mc_add(&req, "mn\r\n");
	mc_add(&resp, "MN\r\n");
	mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 1000, 0, &seed, &l);
	mc_feed(st, SONDE_FLOW_RESPONSE, resp.p, resp.len, 2000, 0, &seed, &l);
	assert_int_equal(mc_st(st)->dropped, 1001 - 512);
	assert_int_equal(l.n, 512);
	for (i = 0; i < 512; i++)
		assert_int_equal(l.t[i].hits, mc_hit(i));
	mc_check_aligned(st, &l, 3000);
	free(l.t);
	sonde_proto_state_free(&sonde_proto_memcached, st);

	/*
	 * Dropped quiet requests with no mn among them, then an mn queued
	 * once there is room: the MN cuts the skip short (the quiet ones
	 * that did not answer were misses).
	 */
	st = calloc(1, sonde_proto_memcached.state_size);
	sonde_proto_memcached.init(st);
	mc_log_init(&l, 4096);
	req.len = resp.len = 0;
	for (i = 0; i < 512; i++) {
		mc_add(&req, "get k%u\r\n", i);
		mc_add(&resp, "END\r\n");
	}
	mc_add(&req, "mg a v q\r\nmg b v q\r\nmg c v q\r\n");
	mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 1000, 0, &seed, &l);
	assert_int_equal(mc_st(st)->dropped, 3);
	mc_feed(st, SONDE_FLOW_RESPONSE, resp.p, resp.len, 2000, 0, &seed, &l);
	assert_int_equal(l.n, 512);
	mc_feed(st, SONDE_FLOW_REQUEST, "mn\r\n", 4, 2100, 0, &seed, &l);
	mc_feed(st, SONDE_FLOW_RESPONSE, "VA 1\r\nx\r\nMN\r\n", 13, 2200, 0, &seed, &l);
	assert_int_equal(l.n, 513);
	assert_string_equal(l.t[512].op, "mn");
	assert_int_equal(l.t[512].dur, 100);
	mc_check_aligned(st, &l, 3000);
	assert_int_equal(mc_st(st)->dropped, 3);
	free(l.t);
	sonde_proto_state_free(&sonde_proto_memcached, st);

	/*
	 * Many separate runs of drops (more than the parser keeps apart):
	 * one response, two requests, twenty times; then a flood of 100,000
	 * requests with no response at all. Every request is either emitted
	 * or counted as dropped, and the state never grows.
	 */
	st = calloc(1, sonde_proto_memcached.state_size);
	sonde_proto_memcached.init(st);
	mc_log_init(&l, 4096);
	req.len = resp.len = 0;
	for (i = 0; i < 520; i++)
		mc_add(&req, "get k%u\r\n", i);
	mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 1000, 0, &seed, &l);
	sent = 520;
	for (i = 0; i < 20; i++) {
		mc_feed(st, SONDE_FLOW_RESPONSE, "END\r\n", 5, 2000 + i, 0, &seed, &l);
		mc_feed(st, SONDE_FLOW_REQUEST, "get a\r\nget b\r\n", 14, 2000 + i, 0,
			&seed, &l);
		sent += 2;
	}
	dropped = mc_st(st)->dropped;
	assert_true(dropped >= 520 - 512);
	resp.len = 0;
	for (i = 0; i < sent - 20; i++)
		mc_add(&resp, "END\r\n");
	mc_feed(st, SONDE_FLOW_RESPONSE, resp.p, resp.len, 3000, 0, &seed, &l);
	assert_int_equal(l.n + dropped, sent);
	assert_int_equal(mc_st(st)->dropped, dropped);
	mc_check_aligned(st, &l, 4000);

	req.len = 0;
	for (i = 0; i < 1000; i++)
		mc_add(&req, "mg k%u v q\r\n", i);
	for (i = 0; i < 100; i++)
		mc_feed(st, SONDE_FLOW_REQUEST, req.p, req.len, 5000 + i, 0, &seed, &l);
	assert_int_equal(mc_st(st)->dropped, dropped + 100000 - 512);
	assert_int_equal(mc_st(st)->parse_errors, 0);
	free(l.t);
	sonde_proto_state_free(&sonde_proto_memcached, st);
	free(req.p);
	free(resp.p);
}

/* Pending start times survive long waits (compact relative storage). */
static void test_memcached_pending_times(void **s)
{
	const uint64_t t0 = 1000000000000ull;
	void *st = calloc(1, sonde_proto_memcached.state_size);
	uint64_t seed = 3;
	struct mc_log l;

	(void)s;
	sonde_proto_memcached.init(st);
	mc_log_init(&l, 16);
	mc_feed(st, SONDE_FLOW_REQUEST, "get a\r\n", 7, t0, 0, &seed, &l);
	mc_feed(st, SONDE_FLOW_REQUEST, "get b\r\n", 7, t0 + 1234567, 0, &seed, &l);
	/* 10 s later: beyond the fine range, kept to 1024 ns */
	mc_feed(st, SONDE_FLOW_REQUEST, "get c\r\n", 7, t0 + 10000000000ull, 0, &seed, &l);
	mc_feed(st, SONDE_FLOW_RESPONSE, "END\r\n", 5, t0 + 20000000000ull, 0, &seed, &l);
	/* coarse too; popping the third request rebases the rest */
	mc_feed(st, SONDE_FLOW_REQUEST, "get d\r\n", 7, t0 + 10000000777ull, 0, &seed, &l);
	mc_feed(st, SONDE_FLOW_RESPONSE, "END\r\nEND\r\nEND\r\n", 15, t0 + 20000000000ull, 0,
		&seed, &l);
	assert_int_equal(l.n, 4);
	assert_true(l.t[0].start == t0);
	assert_true(l.t[1].start == t0 + 1234567);
	assert_true(l.t[2].start <= t0 + 10000000000ull &&
		    l.t[2].start + 1024 > t0 + 10000000000ull);
	assert_true(l.t[3].start <= t0 + 10000000777ull &&
		    l.t[3].start + 1024 > t0 + 10000000777ull);
	assert_true(l.t[0].dur == 20000000000ull);
	free(l.t);
	sonde_proto_state_free(&sonde_proto_memcached, st);
}

/*
 * The connection table feeds every parser an empty response chunk (len ==
 * total == 0) when a connection ends: with a request pending, a reply cut
 * short, or twice, no parser emits anything or fails; HTTP completes a
 * response whose body was never seen (sendfile), once.
 */
static void test_close_chunk_all_parsers(void **s)
{
	static const struct {
		const struct sonde_proto_ops *ops;
		const char *req, *part;
		size_t req_len, part_len;
	} cases[] = {
		{ &sonde_proto_http1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nCont", 27, 21 },
		{ &sonde_proto_redis, "*1\r\n$4\r\nPING\r\n", "$5\r\nva", 14, 6 },
		{ &sonde_proto_memcached, "get k\r\n", "VALUE k 0 5\r\nva", 7, 15 },
		{ &sonde_proto_postgres, "Q\0\0\0\x0dSELECT 1\0", "T\0\0", 14, 3 },
		{ &sonde_proto_mysql, "\x09\0\0\0\x03SELECT 1", "\x01\0\0\x01", 13, 4 },
	};
	static const uint8_t none[1];
	unsigned i, k;

	(void)s;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *st = calloc(1, cases[i].ops->state_size);
		struct counter c = { 0 };

		cases[i].ops->init(st);
		cases[i].ops->feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)cases[i].req,
				   cases[i].req_len, cases[i].req_len, 10, count_emit, &c);
		for (k = 0; k < 2; k++)
			cases[i].ops->feed(st, SONDE_FLOW_RESPONSE, k ? NULL : none, 0, 0,
					   20, count_emit, &c);
		assert_int_equal(c.n, 0);
		cases[i].ops->feed(st, SONDE_FLOW_RESPONSE, (const uint8_t *)cases[i].part,
				   cases[i].part_len, cases[i].part_len, 30, count_emit, &c);
		for (k = 0; k < 2; k++)
			cases[i].ops->feed(st, SONDE_FLOW_RESPONSE, k ? NULL : none, 0, 0,
					   40, count_emit, &c);
		assert_int_equal(c.n, 0);
		sonde_proto_state_free(cases[i].ops, st);
	}
}

/* sendfile: the headers are seen, the body is not; the close completes it. */
static void test_http_close_completes_sendfile(void **s)
{
	const char *req = "GET /big.iso HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
	void *st = calloc(1, sonde_proto_http1.state_size);
	struct counter c = { 0 };

	(void)s;
	sonde_proto_http1.init(st);
	feed_str(&sonde_proto_http1, st, SONDE_FLOW_REQUEST, req, &c);
	feed_str(&sonde_proto_http1, st, SONDE_FLOW_RESPONSE, resp, &c);
	assert_int_equal(c.n, 0);
	sonde_proto_http1.feed(st, SONDE_FLOW_RESPONSE, NULL, 0, 0, 99, count_emit, &c);
	assert_int_equal(c.n, 1);
	sonde_proto_http1.feed(st, SONDE_FLOW_RESPONSE, NULL, 0, 0, 99, count_emit, &c);
	assert_int_equal(c.n, 1);
	sonde_proto_state_free(&sonde_proto_http1, st);
}

struct http_log {
	unsigned n;
	char path[8][16];
	int status[8];
};

static void http_log_emit(struct sonde_txn *txn, void *userdata)
{
	struct http_log *l = userdata;

	assert_true(l->n < 8);
	SONDE_TXN_SET(l->path[l->n], txn->path, strlen(txn->path));
	l->status[l->n++] = txn->status;
}

/*
 * The HTTP queue starts with two inline slots and moves to the heap when a
 * connection pipelines deeper: here with the ring wrapped (head at 1), so
 * the move must keep the order. Each response pairs with its own request.
 */
static void test_http_queue_growth(void **s)
{
	const char *reqs = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
			   "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
			   "GET /d HTTP/1.1\r\nHost: h\r\n\r\n"
			   "GET /e HTTP/1.1\r\nHost: h\r\n\r\n";
	void *st = calloc(1, sonde_proto_http1.state_size);
	struct http_log l = { 0 };
	char resp[64];

	(void)s;
	assert_non_null(st);
	sonde_proto_http1.init(st);
	const char *a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *ra = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	assert_int_equal(sonde_proto_http1.feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)a,
						strlen(a), strlen(a), 1, http_log_emit, &l), 0);
	assert_int_equal(sonde_proto_http1.feed(st, SONDE_FLOW_RESPONSE, (const uint8_t *)ra,
						strlen(ra), strlen(ra), 2, http_log_emit, &l), 0);
	assert_int_equal(sonde_proto_http1.feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)reqs,
						strlen(reqs), strlen(reqs), 3, http_log_emit, &l),
			 0);
	for (int i = 0; i < 4; i++) {
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n",
			 201 + i);
		assert_int_equal(sonde_proto_http1.feed(st, SONDE_FLOW_RESPONSE,
							(const uint8_t *)resp, strlen(resp),
							strlen(resp), 4 + (uint64_t)i, http_log_emit,
							&l),
				 0);
	}
	assert_int_equal(l.n, 5);
	assert_string_equal(l.path[0], "/a");
	assert_int_equal(l.status[0], 200);
	for (int i = 0; i < 4; i++) {
		char want[4] = { '/', (char)('b' + i), 0, 0 };

		assert_string_equal(l.path[1 + i], want);
		assert_int_equal(l.status[1 + i], 201 + i);
	}
	assert_int_equal(sonde_proto_http1.stats(st)->dropped, 0);
	/* a second life of the block keeps the grown queue; fini frees it */
	sonde_proto_http1.init(st);
	sonde_proto_state_free(&sonde_proto_http1, st);
}

static void test_state_bounded(void **s)
{
	(void)s;
	/* an idle keep-alive connection: the pending queue grows on demand */
	assert_true(sonde_proto_http1.state_size <= 1536);
	assert_true(sonde_proto_redis.state_size <= 8192);
	assert_true(sonde_proto_memcached.state_size <= 8192);
	print_message("state sizes: http1 %zu, redis %zu, memcached %zu\n",
		      sonde_proto_http1.state_size, sonde_proto_redis.state_size,
		      sonde_proto_memcached.state_size);
}

static void test_detect(void **s)
{
	(void)s;
	assert_true(sonde_proto_http1.detect((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
	assert_true(sonde_proto_http1.detect((const uint8_t *)"OPTIONS * HTTP/1.1", 18));
	assert_true(sonde_proto_http1.detect((const uint8_t *)"PO", 2));
	assert_false(sonde_proto_http1.detect((const uint8_t *)"get / HTTP/1.1", 14));
	assert_false(sonde_proto_http1.detect((const uint8_t *)"*1\r\n", 4));
	assert_false(sonde_proto_http1.detect((const uint8_t *)"PRI * HTTP/2.0", 14));
	assert_true(sonde_proto_redis.detect((const uint8_t *)"*1\r\n$4\r\nPING\r\n", 14));
	assert_true(sonde_proto_redis.detect((const uint8_t *)"PING\r\n", 6));
	assert_true(sonde_proto_redis.detect((const uint8_t *)"get k\r\n", 7));
	assert_false(sonde_proto_redis.detect((const uint8_t *)"hello", 5));
	assert_true(sonde_proto_memcached.detect((const uint8_t *)"get a b\r\n", 9));
	assert_true(sonde_proto_memcached.detect((const uint8_t *)"mg foo v\r\n", 10));
	assert_false(sonde_proto_memcached.detect((const uint8_t *)"\x80\x00", 2));
	assert_false(sonde_proto_memcached.detect((const uint8_t *)"GET / HTTP/1.1", 14));
}

static void txn_sink(struct sonde_txn *txn, void *userdata)
{
	(void)txn;
	(*(unsigned *)userdata)++;
}

static double bench(const struct sonde_proto_ops *ops, const char *req,
		    const char *resp)
{
	void *st = calloc(1, ops->state_size);
	unsigned n = 0, i, iters = 50000;
	struct timespec a, b;

	ops->init(st);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < iters; i++) {
		ops->feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)req, strlen(req),
			  strlen(req), i, txn_sink, &n);
		ops->feed(st, SONDE_FLOW_RESPONSE, (const uint8_t *)resp, strlen(resp),
			  strlen(resp), i + 1, txn_sink, &n);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	sonde_proto_state_free(ops, st);
	assert_int_equal(n, iters);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
	       iters;
}

static void test_speed(void **s)
{
	double h, r, m;

	(void)s;
	h = bench(&sonde_proto_http1,
		  "GET /api/users/42?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
		  "User-Agent: curl/7.88\r\nAccept: */*\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
		  "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello");
	r = bench(&sonde_proto_redis, "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
		  "$5\r\nvalue\r\n");
	m = bench(&sonde_proto_memcached, "get key\r\n",
		  "VALUE key 0 5\r\nvalue\r\nEND\r\n");
	print_message("ns per request+response: http1 %.0f, redis %.0f, memcached %.0f\n",
		      h, r, m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_lines),
		cmocka_unit_test(test_framing_numbers),
		cmocka_unit_test(test_framing_fifo),
		cmocka_unit_test(test_framing_tokcount),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_state_bounded),
		cmocka_unit_test(test_http_queue_growth),
		cmocka_unit_test(test_null_chunk),
		cmocka_unit_test(test_close_chunk_all_parsers),
		cmocka_unit_test(test_http_close_completes_sendfile),
		cmocka_unit_test(test_http1_fixtures),
		cmocka_unit_test(test_redis_fixtures),
		cmocka_unit_test(test_memcached_fixtures),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_absurd_lengths),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_redis_deep_pipeline),
		cmocka_unit_test(test_redis_pending_times),
		cmocka_unit_test(test_memcached_deep_pipeline),
		cmocka_unit_test(test_memcached_quiet_batch),
		cmocka_unit_test(test_memcached_queue_overflow),
		cmocka_unit_test(test_memcached_pending_times),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
