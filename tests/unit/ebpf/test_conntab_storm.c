// SPDX-License-Identifier: MIT
/*
 * The connection table with the real parsers under a seeded storm of
 * events: protocol snippets cut at random points, truncated captures,
 * random roles, fd reuse, closes, expiry, a tiny table. Nothing may crash
 * or leak (ASan/valgrind), and the table's invariants must hold.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conntab.h"

struct snip {
	const char *s;
	size_t n;
};
#define S(x) { x, sizeof(x) - 1 }

static const struct snip requests[] = {
	S("GET /api/users/42?x=1 HTTP/1.1\r\nHost: example.com\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"),
	S("POST /items HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"),
	S("*2\r\n$3\r\nGET\r\n$3\r\nk:1\r\n*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
	S("get k1 k2 k3\r\nmg k4 v\r\nset k 0 0 1\r\nv\r\n"),
	S("\x00\x00\x00\x08\x04\xd2\x16\x2f"),
	S("Q\x00\x00\x00\x0eSELECT 1;\x00"),
	S("\x21\x00\x00\x00\x03SELECT * FROM users WHERE id=1"),
	S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
};

static const struct snip responses[] = {
	S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
	S("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
	S("$1\r\nv\r\n*3\r\n$1\r\na\r\n$-1\r\n_\r\n"),
	S("VALUE k1 0 1\r\nv\r\nEND\r\nEN\r\nSTORED\r\n"),
	S("T\x00\x00\x00\x06\x00\x00D\x00\x00\x00\x0b\x00\x01\x00\x00\x00\x01" "1C\x00\x00\x00\x0dSELECT 1\x00Z\x00\x00\x00\x05I"),
	S("\x07\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00"),
	S("-ERR wrong\r\n+OK\r\n:5\r\n"),
};

struct storm {
	uint64_t txns;
	unsigned bad;
};

static void on_emit(struct sonde_txn *t, const struct sonde_conn *c, void *ud)
{
	struct storm *s = ud;

	s->txns++;
	if (t->pid != c->tgid || t->source != SONDE_SRC_EBPF ||
	    strnlen(t->operation, sizeof(t->operation)) == sizeof(t->operation) ||
	    strnlen(t->server_address, sizeof(t->server_address)) ==
		    sizeof(t->server_address))
		s->bad++;
}

static void test_storm(void **state)
{
	struct sonde_conntab_opts o = {
		.max_conns = 32, .idle_ns = 5000,
		.protos = { &sonde_proto_http1, &sonde_proto_memcached,
			    &sonde_proto_redis, &sonde_proto_postgres,
			    &sonde_proto_mysql },
		.n_protos = 5, .max_switches = 2, .loopback_dedup = true,
		.emit = on_emit,
	};
	struct storm st = { 0 };
	struct sonde_conntab *tab;
	uint8_t buf[1024];
	unsigned seed = 4242, i;
	uint64_t now = 1;

	o.userdata = &st;
	assert_int_equal(sonde_conntab_new(&o, &tab), 0);
	for (i = 0; i < 300000; i++) {
		unsigned r = (unsigned)rand_r(&seed);
		int fd = (int)(r % 48);
		uint32_t tgid = 1000 + (r >> 8) % 3;
		struct sonde_addr l = { .family = AF_INET, .port = (uint16_t)(r >> 4) };
		struct sonde_addr p = { .family = (r & 1) ? AF_INET : AF_INET6,
					.port = (uint16_t)(r >> 12) };
		unsigned op = (r >> 20) % 100;

		l.addr[0] = 127;
		p.addr[0] = (r & 2) ? 127 : 10;
		now += (r >> 28) % 4;
		if (op < 3) {
			sonde_conntab_open(tab, tgid, fd, r % 7 + 1, 1 + (r >> 5) % 2,
					   &l, &p, now);
		} else if (op < 6) {
			sonde_conntab_close(tab, tgid, fd, (r & 8) ? r % 7 + 1 : 0, NULL);
		} else if (op < 7) {
			sonde_conntab_expire(tab, now);
		} else {
			struct sonde_conntab_chunk ch = {
				.tgid = tgid, .fd = fd, .sock_id = r % 7 + 1,
				.kernel_role = (uint8_t)((r >> 6) % 3), .send = (r >> 9) & 1,
				.local = &l, .peer = &p, .ts_ns = now,
			};
			const struct snip *src;
			size_t n, off, len;

			if (op < 60)
				src = &requests[(r >> 3) % (sizeof(requests) / sizeof(*requests))];
			else if (op < 95)
				src = &responses[(r >> 3) % (sizeof(responses) / sizeof(*responses))];
			else
				src = NULL;
			if (src) {
				n = src->n;
				off = (size_t)rand_r(&seed) % (n + 1);
				len = n - off;
				memcpy(buf, src->s + off, len);
			} else {
				len = (size_t)rand_r(&seed) % sizeof(buf);
				for (n = 0; n < len; n++)
					buf[n] = (uint8_t)rand_r(&seed);
			}
			ch.data = buf;
			ch.total = len;
			ch.len = len;
			if ((r >> 11) % 8 == 0) {
				ch.len = len / 2; /* capture cut */
				ch.total = len + (size_t)rand_r(&seed) % 100000;
			}
			assert_int_equal(sonde_conntab_data(tab, &ch), 0);
		}
		assert_true(sonde_conntab_stats(tab)->active <= 32);
	}
	assert_int_equal(st.bad, 0);
	assert_true(st.txns > 0);
	assert_true(sonde_conntab_stats(tab)->evicted_cap > 0);
	assert_true(sonde_conntab_stats(tab)->reused > 0);
	sonde_conntab_free(tab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
