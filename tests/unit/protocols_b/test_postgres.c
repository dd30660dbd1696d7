// SPDX-License-Identifier: MIT
/* PostgreSQL wire parser: fixture conversations, hostile input, bounds. */
#include "fixture_cases.h"

#define FX(name) FX_REPLAY_TEST(&sonde_proto_postgres, "postgres", name)
FX(simple)
FX(multi_statement)
FX(extended)
FX(pgbench_prepared)
FX(error_pipeline)
FX(copy)
FX(ssl_refused)
FX(ssl_accepted)
FX(gaps)
FX(midstream)
FX(not_pg)
FX(pipeline)
FX(gssenc)

static size_t put_msg(uint8_t *b, char type, const void *body, size_t n)
{
	uint32_t len = (uint32_t)n + 4;

	b[0] = (uint8_t)type;
	b[1] = (uint8_t)(len >> 24);
	b[2] = (uint8_t)(len >> 16);
	b[3] = (uint8_t)(len >> 8);
	b[4] = (uint8_t)len;
	memcpy(b + 5, body, n);
	return n + 5;
}

static int feed(void *st, enum sonde_flow flow, const uint8_t *b, size_t n,
		uint64_t ts, struct sink *sink)
{
	return sonde_proto_postgres.feed(st, flow, b, n, n, ts, sink_txn, sink);
}

static void *new_state(void)
{
	return fx_new_state(&sonde_proto_postgres);
}

/* A new state with SELECT 1 sent at 10, unanswered. */
static void *query_pending(struct sink *sink)
{
	uint8_t b[32];
	void *st = new_state();

	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, put_msg(b, 'Q', "SELECT 1", 9),
			      10, sink), 0);
	return st;
}

static void test_state_is_small(void **state)
{
	(void)state;
	assert_true(sonde_proto_postgres.state_size <= 8192);
	assert_int_equal(sonde_proto_postgres.proto, SONDE_PROTO_POSTGRES);
}

static void test_detect(void **state)
{
	static const uint8_t startup[] = { 0, 0, 0, 8, 0, 3, 0, 0 };
	static const uint8_t ssl[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	static const uint8_t q[] = { 'Q', 0, 0, 0, 13, 'S', 'E', 'L' };
	static const uint8_t http[] = "POST / HTTP/1.1\r\n";
	static const uint8_t resp[] = "+OK\r\n";

	(void)state;
	assert_true(sonde_proto_postgres.detect(startup, sizeof(startup)));
	assert_true(sonde_proto_postgres.detect(ssl, sizeof(ssl)));
	assert_true(sonde_proto_postgres.detect(q, sizeof(q)));
	assert_false(sonde_proto_postgres.detect(http, sizeof(http) - 1));
	assert_false(sonde_proto_postgres.detect(resp, sizeof(resp) - 1));
	assert_false(sonde_proto_postgres.detect(startup, 3));
	assert_false(sonde_proto_postgres.detect(NULL, 0));
}

/* A length of 0x7fffffff is refused, counted, and the stream recovers. */
static void test_absurd_length(void **state)
{
	uint8_t b[256];
	struct sink sink = { 0 };
	void *st = query_pending(&sink);
	size_t n;

	(void)state;
	n = put_msg(b, 'C', "SELECT 1", 9);
	n += put_msg(b + n, 'Z', "I", 1);
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 20, &sink), 0);
	assert_int_equal(sink.n, 1);

	memcpy(b, "Q\x7f\xff\xff\xff" "SELECT", 11);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, 11, 30, &sink), 0);
	assert_int_equal(sonde_proto_postgres.stats(st)->parse_errors, 1);

	n = put_msg(b, 'Q', "SELECT 2", 9);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 40, &sink), 0);
	n = put_msg(b, 'C', "SELECT 1", 9);
	n += put_msg(b + n, 'Z', "I", 1);
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 50, &sink), 0);
	assert_int_equal(sink.n, 2);
	assert_int_equal(sink.last.duration_ns, 10);
	sonde_proto_state_free(&sonde_proto_postgres, st);
}

/* A connection that starts speaking another protocol midway. */
static void test_protocol_switch(void **state)
{
	static const char http[] = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct sink sink = { 0 };
	void *st = query_pending(&sink);

	(void)state;
	for (int i = 0; i < 50; i++) {
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)http,
				      sizeof(http) - 1, 20, &sink), 0);
		assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, (const uint8_t *)resp,
				      sizeof(resp) - 1, 30, &sink), 0);
	}
	assert_true(sonde_proto_postgres.stats(st)->parse_errors > 0);
	assert_int_equal(sink.n, 0);
	sonde_proto_state_free(&sonde_proto_postgres, st);
}

/* More Executes than the pending FIFO holds: counted, never overrun. */
static void test_pending_bound(void **state)
{
	uint8_t b[64], e[16];
	struct sink sink = { 0 };
	void *st = new_state();
	size_t n;

	(void)state;
	n = put_msg(b, 'P', "\0SELECT 1\0\0", 12);
	n += put_msg(b + n, 'B', "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 1, &sink), 0);
	n = put_msg(e, 'E', "\0\0\0\0", 5);
	for (int i = 0; i < 100; i++)
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, e, n, 2, &sink), 0);
	assert_true(sonde_proto_postgres.stats(st)->dropped >= 80);
	n = put_msg(b, 'C', "SELECT 1", 9);
	for (int i = 0; i < 100; i++)
		assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 3, &sink), 0);
	assert_true(sink.n > 0 && sink.n <= 20);
	assert_string_equal(sink.last.operation, "SELECT");
	sonde_proto_state_free(&sonde_proto_postgres, st);
}

/* More named statements than remembered: the least recently used goes. */
static void test_statement_lru(void **state)
{
	uint8_t b[128], body[64];
	struct sink sink = { 0 };
	void *st = new_state();
	size_t n, bl;

	(void)state;
	for (int i = 0; i < 40; i++) {
		bl = (size_t)snprintf((char *)body, sizeof(body), "s%d", i) + 1;
		bl += (size_t)snprintf((char *)body + bl, sizeof(body) - bl,
				       "%s", i == 0 ? "INSERT INTO t VALUES (1)" : "SELECT 1") + 1;
		body[bl++] = 0;
		body[bl++] = 0;
		n = put_msg(b, 'P', body, bl);
		n += put_msg(b + n, 'H', "", 0);
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 1, &sink), 0);
		if (i == 0 || i % 2) {
			/* keep s0 in use so it is never the least recent */
			n = put_msg(b, 'B', "\0s0\0\0\0\0\0\0\0", 10);
			n += put_msg(b + n, 'H', "", 0);
			assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 1, &sink), 0);
		}
	}
	assert_true(sonde_proto_postgres.stats(st)->dropped > 0);
	n = put_msg(b, 'B', "\0s0\0\0\0\0\0\0\0", 10);
	n += put_msg(b + n, 'E', "\0\0\0\0", 5);
	n += put_msg(b + n, 'S', "", 0);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 5, &sink), 0);
	n = put_msg(b, '2', "", 0);
	n += put_msg(b + n, 'C', "INSERT 0 1", 11);
	n += put_msg(b + n, 'Z', "I", 1);
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 9, &sink), 0);
	assert_int_equal(sink.n, 1);
	assert_string_equal(sink.last.operation, "INSERT");
	assert_int_equal(sink.last.duration_ns, 4);
	sonde_proto_state_free(&sonde_proto_postgres, st);
}

static void test_hostile_random(void **state)
{
	(void)state;
	fx_hostile(&sonde_proto_postgres, NULL, 0);
}

static void test_hostile_after_startup(void **state)
{
	static const uint8_t q[] = { 'Q', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0 };

	(void)state;
	fx_hostile(&sonde_proto_postgres, q, sizeof(q));
}

/* An ErrorResponse cut by a capture gap inside its SQLSTATE: just ERROR. */
static void test_cut_error(void **state)
{
	static const char err[] = "SERROR\0VERROR\0C42P01\0Mrelation does not exist\0";
	uint8_t b[96];
	struct sink sink = { 0 };
	void *st = query_pending(&sink);
	size_t n;

	(void)state;
	n = put_msg(b, 'E', err, sizeof(err));
	assert_int_equal(sonde_proto_postgres.feed(st, SONDE_FLOW_RESPONSE, b, 5 + 17, n + 10,
						   20, sink_txn, &sink), 0);
	assert_int_equal(sink.n, 1);
	assert_string_equal(sink.last.error, "ERROR");
	sonde_proto_state_free(&sonde_proto_postgres, st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_error),
		cmocka_unit_test(test_state_is_small),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_multi_statement),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_pgbench_prepared),
		cmocka_unit_test(test_error_pipeline),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_ssl_refused),
		cmocka_unit_test(test_ssl_accepted),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_not_pg),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_gssenc),
		cmocka_unit_test(test_absurd_length),
		cmocka_unit_test(test_protocol_switch),
		cmocka_unit_test(test_pending_bound),
		cmocka_unit_test(test_statement_lru),
		cmocka_unit_test(test_hostile_random),
		cmocka_unit_test(test_hostile_after_startup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
