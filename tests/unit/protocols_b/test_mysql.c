// SPDX-License-Identifier: MIT
/* MySQL / MariaDB wire parser: fixture conversations, hostile input, bounds. */
#include "fixture_cases.h"

#define FX(name) FX_REPLAY_TEST(&sonde_proto_mysql, "mysql", name)
FX(text_eof)
FX(text_deprecate_eof)
FX(prepared)
FX(mariadb_pipeline)
FX(multi_result)
FX(local_infile)
FX(multi_packet)
FX(gaps)
FX(midstream)
FX(cursor_misc)
FX(ssl)
FX(not_mysql)

static size_t put_pkt(uint8_t *b, uint8_t seq, const void *body, size_t n)
{
	b[0] = (uint8_t)n;
	b[1] = (uint8_t)(n >> 8);
	b[2] = (uint8_t)(n >> 16);
	b[3] = seq;
	memcpy(b + 4, body, n);
	return n + 4;
}

static int feed(void *st, enum sonde_flow flow, const uint8_t *b, size_t n,
		uint64_t ts, struct sink *sink)
{
	return sonde_proto_mysql.feed(st, flow, b, n, n, ts, sink_txn, sink);
}

static void *new_state(void)
{
	return fx_new_state(&sonde_proto_mysql);
}

/* A new state with SELECT 1 sent at 10, unanswered. */
static void *query_pending(struct sink *sink)
{
	uint8_t b[32];
	void *st = new_state();

	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, put_pkt(b, 0, "\x03SELECT 1", 9),
			      10, sink), 0);
	return st;
}

static const uint8_t ok_pkt[] = { 0, 0, 0, 2, 0, 0, 0 };

static void test_state_is_small(void **state)
{
	(void)state;
	assert_true(sonde_proto_mysql.state_size <= 8192);
	assert_int_equal(sonde_proto_mysql.proto, SONDE_PROTO_MYSQL);
}

static void test_detect(void **state)
{
	static const uint8_t query[] = { 9, 0, 0, 0, 3, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1' };
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	uint8_t hs[40] = { 36, 0, 0, 1, 0x05, 0xa2, 0x0f, 0x00 };

	(void)state;
	assert_true(sonde_proto_mysql.detect(query, sizeof(query)));
	assert_true(sonde_proto_mysql.detect(hs, sizeof(hs)));
	assert_false(sonde_proto_mysql.detect(http, sizeof(http) - 1));
	assert_false(sonde_proto_mysql.detect(query, 3));
	assert_false(sonde_proto_mysql.detect(NULL, 0));
}

/*
 * The plaintext of a TLS connection (from the libssl hooks) starts at the
 * handshake response, id 2 after the SSLRequest (id 1, in the clear):
 * detected, and the commands after the server's OK parsed. Without
 * CLIENT_SSL, or as short as an SSLRequest, id 2 is not a start.
 */
static void test_tls_plaintext_start(void **state)
{
	uint8_t resp[64] = { 0x05, 0xaa, 0x0f, 0x00 }; /* PROTOCOL_41 | SSL | ... */
	uint8_t b[128];
	struct sink sink = { 0 };
	void *st = new_state();
	size_t n;

	(void)state;
	resp[8] = 0x21; /* after the max packet size: the character set */
	n = put_pkt(b, 2, resp, 60);
	assert_true(sonde_proto_mysql.detect(b, n));
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 5, &sink), 0);
	n = put_pkt(b, 3, ok_pkt, sizeof(ok_pkt));
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 6, &sink), 0);
	assert_int_equal(sink.n, 0);
	n = put_pkt(b, 0, "\x03SELECT 1", 9);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 10, &sink), 0);
	n = put_pkt(b, 1, ok_pkt, sizeof(ok_pkt));
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 25, &sink), 0);
	assert_int_equal(sink.n, 1);
	assert_int_equal(sonde_proto_mysql.stats(st)->parse_errors, 0);
	sonde_proto_state_free(&sonde_proto_mysql, st);

	resp[1] = 0xa2; /* no CLIENT_SSL: not the TLS case */
	n = put_pkt(b, 2, resp, 60);
	assert_false(sonde_proto_mysql.detect(b, n));
	resp[1] = 0xaa;
	n = put_pkt(b, 2, resp, 32); /* an SSLRequest's size */
	assert_false(sonde_proto_mysql.detect(b, n));
}

/* A connection that starts speaking another protocol midway. */
static void test_protocol_switch(void **state)
{
	static const char http[] = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint8_t b[64];
	struct sink sink = { 0 };
	void *st = query_pending(&sink);
	size_t n;

	(void)state;
	n = put_pkt(b, 1, ok_pkt, sizeof(ok_pkt));
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 20, &sink), 0);
	assert_int_equal(sink.n, 1);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, (const uint8_t *)http,
				      sizeof(http) - 1, 30, &sink), 0);
		assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, (const uint8_t *)resp,
				      sizeof(resp) - 1, 40, &sink), 0);
	}
	assert_true(sink.n <= 1 + 50);
	sonde_proto_state_free(&sonde_proto_mysql, st);
}

/* Unanswered commands: the FIFO is bounded and what it refuses is counted. */
static void test_pending_bound(void **state)
{
	uint8_t b[64];
	struct sink sink = { 0 };
	void *st = new_state();
	size_t n;

	(void)state;
	n = put_pkt(b, 0, "\x03SELECT 1", 9);
	for (int i = 0; i < 100; i++)
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 10, &sink), 0);
	assert_true(sonde_proto_mysql.stats(st)->dropped >= 90);
	n = put_pkt(b, 1, ok_pkt, sizeof(ok_pkt));
	for (int i = 0; i < 100; i++)
		assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 20, &sink), 0);
	assert_true(sink.n > 0 && sink.n <= 10);
	sonde_proto_state_free(&sonde_proto_mysql, st);
}

/* More prepared statements than remembered: least recently used goes. */
static void test_statement_lru(void **state)
{
	uint8_t b[128], body[64];
	struct sink sink = { 0 };
	void *st = new_state();
	size_t n;

	(void)state;
	for (uint32_t id = 1; id <= 40; id++) {
		const char *sql = id == 1 ? "\x16INSERT INTO t VALUES (?)" : "\x16SELECT 1";

		n = put_pkt(b, 0, sql, strlen(sql));
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 1, &sink), 0);
		memset(body, 0, 12);
		memcpy(body + 1, &id, 4); /* little-endian host assumed below */
		n = put_pkt(b, 1, body, 12);
		assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 2, &sink), 0);
	}
	assert_true(sonde_proto_mysql.stats(st)->dropped > 0);
	/* id 1 was evicted: an execute of it is counted as OTHER */
	n = put_pkt(b, 0, "\x17\x01\0\0\0\0\x01\0\0\0", 10);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 3, &sink), 0);
	n = put_pkt(b, 1, ok_pkt, sizeof(ok_pkt));
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 4, &sink), 0);
	assert_int_equal(sink.n, 1);
	assert_string_equal(sink.last.operation, "OTHER");
	/* id 40 is remembered */
	n = put_pkt(b, 0, "\x17\x28\0\0\0\0\x01\0\0\0", 10);
	assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, n, 5, &sink), 0);
	n = put_pkt(b, 1, ok_pkt, sizeof(ok_pkt));
	assert_int_equal(feed(st, SONDE_FLOW_RESPONSE, b, n, 8, &sink), 0);
	assert_int_equal(sink.n, 2);
	assert_string_equal(sink.last.operation, "SELECT");
	assert_int_equal(sink.last.duration_ns, 3);
	sonde_proto_state_free(&sonde_proto_mysql, st);
}

/* A 0xffffff length everywhere: bounded skipping, no hang. */
static void test_absurd_length(void **state)
{
	uint8_t b[64] = { 0xff, 0xff, 0xff, 0, 0x03, 'S' };
	struct sink sink = { 0 };
	void *st = new_state();

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(feed(st, SONDE_FLOW_REQUEST, b, sizeof(b), 1, &sink), 0);
	assert_int_equal(sonde_proto_mysql.feed(st, SONDE_FLOW_REQUEST, b, 6,
						(size_t)0x7fffffff, 2, sink_txn, &sink), 0);
	assert_int_equal(sonde_proto_mysql.stats(st)->desyncs, 1);
	sonde_proto_state_free(&sonde_proto_mysql, st);
}

/* An ERR packet cut by a capture gap before its SQLSTATE: just ERR. */
static void test_cut_error(void **state)
{
	static const uint8_t err[] = "\xff\x7a\x04#42S02Table 'bench.missing' doesn't exist";
	uint8_t b[96];
	struct sink sink = { 0 };
	void *st = query_pending(&sink);
	size_t n;

	(void)state;
	n = put_pkt(b, 1, err, sizeof(err) - 1);
	assert_int_equal(sonde_proto_mysql.feed(st, SONDE_FLOW_RESPONSE, b, 4 + 6, n + 10,
						20, sink_txn, &sink), 0);
	assert_int_equal(sink.n, 1);
	assert_string_equal(sink.last.error, "ERR");
	sonde_proto_state_free(&sonde_proto_mysql, st);
}

static void test_hostile_random(void **state)
{
	(void)state;
	fx_hostile(&sonde_proto_mysql, NULL, 0);
}

static void test_hostile_after_query(void **state)
{
	static const uint8_t q[] = { 9, 0, 0, 0, 3, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1' };

	(void)state;
	fx_hostile(&sonde_proto_mysql, q, sizeof(q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_is_small),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_tls_plaintext_start),
		cmocka_unit_test(test_text_eof),
		cmocka_unit_test(test_text_deprecate_eof),
		cmocka_unit_test(test_prepared),
		cmocka_unit_test(test_mariadb_pipeline),
		cmocka_unit_test(test_multi_result),
		cmocka_unit_test(test_local_infile),
		cmocka_unit_test(test_multi_packet),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_cursor_misc),
		cmocka_unit_test(test_ssl),
		cmocka_unit_test(test_not_mysql),
		cmocka_unit_test(test_protocol_switch),
		cmocka_unit_test(test_pending_bound),
		cmocka_unit_test(test_statement_lru),
		cmocka_unit_test(test_absurd_length),
		cmocka_unit_test(test_cut_error),
		cmocka_unit_test(test_hostile_random),
		cmocka_unit_test(test_hostile_after_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
