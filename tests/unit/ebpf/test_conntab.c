// SPDX-License-Identifier: MIT
/*
 * The connection table against two fake protocols: roles (kernel, ports,
 * first bytes), fd reuse, idle expiry, the size cap, detection and
 * re-detection after -EPROTO, chunk feeding and the loopback dedup.
 */
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

static void test_server_role_from_accept(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 6379), p = v4("10.0.0.2", 40000);

	assert_int_equal(sonde_conntab_open(x->tab, 100, 5, 77, SONDE_CONN_ROLE_SERVER,
					    &l, &p, 10), 0);
	chunk(x, 5, 77, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ GET\n", 0, 1000);
	chunk(x, 5, 77, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 1500);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "GET");
	assert_int_equal(x->txn[0].kind, SONDE_TXN_CACHE);
	assert_int_equal(x->txn[0].pid, 100);
	assert_int_equal(x->txn[0].source, SONDE_SRC_EBPF);
	assert_int_equal(x->txn[0].duration_ns, 500);
	assert_int_equal(x->txn[0].start_ns, 1000);
	assert_string_equal(x->txn[0].server_address, "10.0.0.1");
	assert_int_equal(x->txn[0].server_port, 6379);
	assert_int_equal(x->txn[0].peer.port, 40000);
	assert_memory_equal(x->txn[0].peer.addr, p.addr, 4);
	assert_int_equal(x->role[0], SONDE_CONN_ROLE_SERVER);
	assert_int_equal(sonde_conntab_stats(x->tab)->proto[0].detected, 1);
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 1);
	done(x);
}

static void test_client_http_kind_and_server_address(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("127.0.0.1", 41000), p = v4("127.0.0.1", 8080);

	sonde_conntab_open(x->tab, 100, 7, 1, SONDE_CONN_ROLE_CLIENT, &l, &p, 0);
	chunk(x, 7, 1, SONDE_CONN_ROLE_CLIENT, true, &l, &p, "WEB /x\n", 0, 10);
	chunk(x, 7, 1, SONDE_CONN_ROLE_CLIENT, false, &l, &p, "RES 200\n", 0, 30);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->txn[0].kind, SONDE_TXN_HTTP_CLIENT);
	assert_string_equal(x->txn[0].server_address, "127.0.0.1");
	assert_int_equal(x->txn[0].server_port, 8080);
	/* HTTP on loopback is not deduplicated: client and server both matter */
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients, 0);
	done(x);
}

/* One exchange on a loopback connection, in the order of the syscalls'
 * ends: the client writes, the server (if traced) reads and answers, the
 * client reads. */
static void exchange(struct ctx *x, bool server_traced, const struct sonde_addr *cl,
		     const struct sonde_addr *sl, uint64_t ts)
{
	chunk(x, 7, 1, SONDE_CONN_ROLE_CLIENT, true, cl, sl, "REQ GET\n", 0, ts);
	if (server_traced) {
		chunk(x, 9, 2, SONDE_CONN_ROLE_SERVER, false, sl, cl, "REQ GET\n", 0, ts + 1);
		chunk(x, 9, 2, SONDE_CONN_ROLE_SERVER, true, sl, cl, "RES 1\n", 0, ts + 2);
	}
	chunk(x, 7, 1, SONDE_CONN_ROLE_CLIENT, false, cl, sl, "RES 1\n", 0, ts + 3);
}

/*
 * A loopback DB/cache connection traced at both ends is reported once, by
 * the server's end: the client's is set aside at its first response (its
 * payload muted), having emitted nothing.
 */
static void test_loopback_both_ends(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr cl = v4("127.0.0.1", 41000), sl = v4("127.0.0.1", 6379);

	(void)state;
	exchange(x, true, &cl, &sl, 10);
	exchange(x, true, &cl, &sl, 20);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->role[0], SONDE_CONN_ROLE_SERVER);
	assert_int_equal(x->role[1], SONDE_CONN_ROLE_SERVER);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients, 1);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients_reported, 0);
	assert_int_equal(sonde_conntab_find(x->tab, 100, 7)->state, SONDE_CONN_IGNORED);
	assert_int_equal(x->ignored, 1); /* its payload no longer wanted */
	assert_int_equal(sonde_conntab_find(x->tab, 100, 7)->bytes_sent, 16);
	assert_int_equal(sonde_conntab_stats(x->tab)->ignored, 0);
	done(x);
}

/*
 * Tracing filtered to the client (ebpf.pids or cgroups): its end reports.
 * A remote server is only ever seen from this side.
 */
static void test_loopback_client_alone(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr cl = v4("127.0.0.1", 41000), sl = v4("127.0.0.1", 6379);
	struct sonde_addr rl = v4("10.1.1.1", 41001), rp = v4("10.1.1.2", 6379);

	(void)state;
	exchange(x, false, &cl, &sl, 10);
	exchange(x, false, &cl, &sl, 20);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->role[0], SONDE_CONN_ROLE_CLIENT);
	assert_string_equal(x->txn[0].server_address, "127.0.0.1");
	assert_int_equal(x->txn[0].server_port, 6379);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients, 0);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients_reported, 1);
	sonde_conntab_open(x->tab, 100, 8, 3, SONDE_CONN_ROLE_CLIENT, &rl, &rp, 0);
	chunk(x, 8, 3, SONDE_CONN_ROLE_CLIENT, true, &rl, &rp, "REQ GET\n", 0, 30);
	chunk(x, 8, 3, SONDE_CONN_ROLE_CLIENT, false, &rl, &rp, "RES 1\n", 0, 40);
	assert_int_equal(x->n, 3);
	assert_string_equal(x->txn[2].server_address, "10.1.1.2");
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients_reported, 1);
	done(x);
}

/*
 * The server's end seen only later (its first records lost, or its
 * tracing began late): it takes over, and the client's request in flight
 * is counted once, by the server.
 */
static void test_loopback_server_end_later(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr cl = v4("127.0.0.1", 41000), sl = v4("127.0.0.1", 6379);

	(void)state;
	exchange(x, false, &cl, &sl, 10);
	assert_int_equal(x->n, 1);
	exchange(x, true, &cl, &sl, 20);
	exchange(x, true, &cl, &sl, 30);
	assert_int_equal(x->n, 3);
	assert_int_equal(x->role[0], SONDE_CONN_ROLE_CLIENT);
	assert_int_equal(x->role[1], SONDE_CONN_ROLE_SERVER);
	assert_int_equal(x->role[2], SONDE_CONN_ROLE_SERVER);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients, 1);
	done(x);
}

static unsigned names_asked;

static bool name_by_fd(const struct sonde_conn *conn, char *out, size_t len, void *ud)
{
	(void)ud;
	names_asked++;
	if (conn->fd == 13)
		return false; /* the kernel kept none */
	snprintf(out, len, "/run/fake-%d.sock", conn->fd);
	return true;
}

/* A unix connection's transactions name the socket it reached, asked
 * once per connection; without a name, "unix". */
static void test_unix_server_name(void **state)
{
	struct sonde_addr a = { .family = AF_UNIX }, b = { .family = AF_UNIX };
	uint64_t ia = 7001, ib = 7002;
	struct ctx *x;

	(void)state;
	memcpy(a.addr, &ia, 8);
	memcpy(b.addr, &ib, 8);
	fake_unix_name = name_by_fd;
	x = mk(64, 1000000000ull);
	fake_unix_name = NULL;
	names_asked = 0;
	for (uint64_t i = 0; i < 3; i++) {
		chunk(x, 12, 4, SONDE_CONN_ROLE_SERVER, false, &b, &a, "REQ GET\n", 0, 10 + i);
		chunk(x, 12, 4, SONDE_CONN_ROLE_SERVER, true, &b, &a, "RES 1\n", 0, 20 + i);
		chunk(x, 13, 5, SONDE_CONN_ROLE_SERVER, false, &b, &a, "REQ GET\n", 0, 30 + i);
		chunk(x, 13, 5, SONDE_CONN_ROLE_SERVER, true, &b, &a, "RES 1\n", 0, 40 + i);
	}
	assert_int_equal(names_asked, 2);
	assert_int_equal(x->n, 6);
	for (unsigned i = 0; i < 6; i += 2) {
		assert_string_equal(x->txn[i].server_address, "/run/fake-12.sock");
		assert_string_equal(x->txn[i + 1].server_address, "unix");
	}
	done(x);
}

/* Unix sockets: the kernel gives each end's and its peer's identity as
 * their addresses; other connections' ends are not taken for them. */
static void test_loopback_unix_ends(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr a = { .family = AF_UNIX }, b = { .family = AF_UNIX };
	struct sonde_addr other = { .family = AF_UNIX };
	uint64_t ia = 5001, ib = 5002, io = 5003;

	(void)state;
	memcpy(a.addr, &ia, 8);
	memcpy(b.addr, &ib, 8);
	memcpy(other.addr, &io, 8);
	/* a server end of another connection does not silence this client */
	chunk(x, 11, 4, SONDE_CONN_ROLE_SERVER, false, &other, &b, "REQ GET\n", 0, 1);
	chunk(x, 11, 4, SONDE_CONN_ROLE_SERVER, true, &other, &b, "RES 1\n", 0, 2);
	exchange(x, false, &a, &b, 10);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->role[1], SONDE_CONN_ROLE_CLIENT);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients_reported, 1);
	assert_string_equal(x->txn[1].server_address, "unix"); /* no name known */
	done(x);

	x = mk(64, 1000000000ull);
	exchange(x, true, &a, &b, 10);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->role[0], SONDE_CONN_ROLE_SERVER);
	assert_int_equal(sonde_conntab_stats(x->tab)->loopback_clients, 1);
	done(x);
}

static void test_fd_reuse_resets_parser(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 6379), p = v4("10.0.0.2", 40000);
	struct sonde_addr p2 = v4("10.0.0.3", 40001);
	struct sonde_conn *c;

	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ OLD\n", 0, 10);
	/* close not seen; the fd is now another socket */
	chunk(x, 5, 2, SONDE_CONN_ROLE_SERVER, true, &l, &p2, "RES 1\n", 0, 20);
	assert_int_equal(x->n, 0); /* the old request never pairs with it */
	assert_int_equal(sonde_conntab_stats(x->tab)->reused, 1);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_non_null(c);
	assert_int_equal(c->sock_id, 2);
	assert_int_equal(c->peer.port, 40001);
	chunk(x, 5, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p2, "REQ NEW\n", 0, 30);
	chunk(x, 5, 2, SONDE_CONN_ROLE_SERVER, true, &l, &p2, "RES 1\n", 0, 40);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "NEW");
	/* accept on the same fd replaces too */
	chunk(x, 5, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p2, "REQ HALF\n", 0, 50);
	sonde_conntab_open(x->tab, 100, 5, 3, SONDE_CONN_ROLE_SERVER, &l, &p, 60);
	chunk(x, 5, 3, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 70);
	assert_int_equal(x->n, 1);
	assert_int_equal(sonde_conntab_stats(x->tab)->reused, 2);
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 1);
	done(x);
}

/*
 * Two threads of one process: one closes fd 5, the other is given 5 back
 * by accept, and the accept's record is read before the close's. The
 * newcomer ends the old connection (reused); the late close names the old
 * socket and must not end the newcomer, whose exchange completes.
 */
static void test_late_close_of_reused_fd(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 6379), p = v4("10.0.0.2", 40000),
			  p2 = v4("10.0.0.2", 40001);
	struct sonde_conntab_closed seen = { 0 };

	(void)state;
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ OLD\n", 0, 10);
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 20);
	sonde_conntab_open(x->tab, 100, 5, 2, SONDE_CONN_ROLE_SERVER, &l, &p2, 30);
	chunk(x, 5, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p2, "REQ NEW\n", 0, 40);
	assert_false(sonde_conntab_close(x->tab, 100, 5, 1, &seen)); /* the old one's */
	assert_int_equal(sonde_conntab_stats(x->tab)->stale_closes, 1);
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 1);
	chunk(x, 5, 2, SONDE_CONN_ROLE_SERVER, true, &l, &p2, "RES 1\n", 0, 50);
	assert_int_equal(x->n, 2);
	assert_string_equal(x->txn[1].operation, "NEW");
	assert_true(sonde_conntab_close(x->tab, 100, 5, 2, &seen));
	assert_int_equal(seen.recv, 8);
	assert_int_equal(sonde_conntab_stats(x->tab)->reused, 1);
	assert_int_equal(sonde_conntab_stats(x->tab)->closed, 1);
	done(x);
}

static void test_close_returns_bytes(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 6379), p = v4("10.0.0.2", 40000);
	struct sonde_conntab_closed seen = { 0 };

	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ GET\n", 5000, 10);
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 70000, 20);
	assert_true(sonde_conntab_close(x->tab, 100, 5, 1, &seen));
	assert_int_equal(seen.sent, 70000);
	assert_int_equal(seen.recv, 5000);
	assert_false(seen.is_unix);
	assert_int_equal(x->txn[0].request_bytes, 5000);
	assert_int_equal(x->txn[0].response_bytes, 70000);
	assert_false(sonde_conntab_close(x->tab, 100, 5, 1, &seen));
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 0);
	assert_int_equal(sonde_conntab_stats(x->tab)->closed, 1);
	done(x);
}

/*
 * A chunk that follows records lost to a full ring buffer: the parser
 * is fed a gap of unknown size first (its byte counts show it), in the
 * chunk's own flow; the connection's byte counts do not include it. On a
 * connection still detecting there is no parser to tell.
 */
static void test_loss_gap(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 6379), p = v4("10.0.0.2", 40000);
	struct sonde_conntab_chunk ch = {
		.tgid = 100, .fd = 5, .sock_id = 1, .kernel_role = SONDE_CONN_ROLE_SERVER,
		.send = true, .local = &l, .peer = &p, .data = (const uint8_t *)"RES 1\n",
		.len = 6, .total = 6, .ts_ns = 20, .after_loss = true,
	};
	struct sonde_conntab_closed seen = { 0 };

	(void)state;
	ch.send = false;
	ch.data = (const uint8_t *)"REQ a\n";
	assert_int_equal(sonde_conntab_data(x->tab, &ch), 0); /* detecting: nothing to tell */
	assert_int_equal(sonde_conntab_stats(x->tab)->loss_gaps, 0);
	ch.send = true;
	ch.data = (const uint8_t *)"RES 1\n";
	assert_int_equal(sonde_conntab_data(x->tab, &ch), 0);
	assert_int_equal(sonde_conntab_stats(x->tab)->loss_gaps, 1);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->txn[0].request_bytes, 6);
	assert_true(x->txn[0].response_bytes >= SONDE_CONN_GAP_UNKNOWN); /* the gap was fed */
	assert_true(sonde_conntab_close(x->tab, 100, 5, 1, &seen));
	assert_int_equal(seen.sent, 6);
	assert_int_equal(seen.recv, 6);
	done(x);
}

/*
 * A frame-walked record: each segment reaches the parser as its copy with
 * its skip as the uncaptured rest, in order; the connection counts every
 * byte once; a loss before the record is one gap, before its first piece.
 */
static void test_segments(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 6379), p = v4("10.0.0.2", 40000);
	const struct sonde_ebpf_seg segs[] = { { 6, 100 }, { 6, 0 } }, bad[] = { { 6, 0 }, { 7, 0 } };
	struct sonde_conntab_chunk ch = {
		.tgid = 100, .fd = 5, .sock_id = 1, .kernel_role = SONDE_CONN_ROLE_SERVER,
		.send = false, .local = &l, .peer = &p, .data = (const uint8_t *)"REQ a\nREQ b\n",
		.len = 12, .total = 112, .ts_ns = 10, .segs = segs, .n_segs = 2,
	};
	struct sonde_conntab_closed seen = { 0 };

	(void)state;
	assert_int_equal(sonde_conntab_data(x->tab, &ch), 0);
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 30);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "a");
	assert_int_equal(x->txn[0].request_bytes, 112);
	assert_int_equal(x->txn[0].duration_ns, 20);
	/* copies past the payload: refused whole */
	ch.segs = bad;
	assert_int_equal(sonde_conntab_data(x->tab, &ch), -EINVAL);
	/* after a loss: one gap, then both pieces */
	ch.segs = segs;
	ch.after_loss = true;
	assert_int_equal(sonde_conntab_data(x->tab, &ch), 0);
	assert_int_equal(sonde_conntab_stats(x->tab)->loss_gaps, 1);
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 40);
	assert_int_equal(x->n, 2);
	assert_true(x->txn[1].request_bytes >= SONDE_CONN_GAP_UNKNOWN + 112);
	assert_true(sonde_conntab_close(x->tab, 100, 5, 1, &seen));
	assert_int_equal(seen.recv, 224);
	assert_int_equal(seen.sent, 12);
	done(x);
}

static void test_idle_expiry(void **state)
{
	struct ctx *x = mk(64, 1000);
	struct sonde_addr l = v4("10.0.0.1", 80), p = v4("10.0.0.2", 40000);

	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 0);
	chunk(x, 2, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 500);
	chunk(x, 3, 3, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 900);
	/* fd 1 is active again: it must outlive fd 2 */
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 1200);
	assert_int_equal(sonde_conntab_expire(x->tab, 1400), 0);
	assert_int_equal(sonde_conntab_expire(x->tab, 1600), 1);
	assert_null(sonde_conntab_find(x->tab, 100, 2));
	assert_non_null(sonde_conntab_find(x->tab, 100, 1));
	assert_int_equal(sonde_conntab_expire(x->tab, 2300), 2);
	assert_int_equal(sonde_conntab_stats(x->tab)->evicted_idle, 3);
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 0);
	done(x);
}

static void test_cap_evicts_least_recent(void **state)
{
	struct ctx *x = mk(16, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 80), p = v4("10.0.0.2", 40000);
	int fd;

	for (fd = 0; fd < 16; fd++)
		chunk(x, fd, (uint64_t)fd + 1, SONDE_CONN_ROLE_SERVER, false, &l, &p,
		      "x", 0, (uint64_t)fd);
	chunk(x, 0, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 100);
	chunk(x, 99, 99, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 101);
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 16);
	assert_int_equal(sonde_conntab_stats(x->tab)->evicted_cap, 1);
	assert_non_null(sonde_conntab_find(x->tab, 100, 0));
	assert_null(sonde_conntab_find(x->tab, 100, 1));
	assert_non_null(sonde_conntab_find(x->tab, 100, 99));
	for (fd = 200; fd < 240; fd++)
		chunk(x, fd, (uint64_t)fd, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x",
		      0, 200 + (uint64_t)fd);
	assert_int_equal(sonde_conntab_stats(x->tab)->active, 16);
	assert_int_equal(sonde_conntab_stats(x->tab)->evicted_cap, 41);
	done(x);
}

/*
 * The end of a connection (close, idle expiry, eviction, fd reuse, a new
 * accept on the fd) feeds its parser an empty response chunk first, so a
 * last response only the close completes (HTTP body sent by sendfile) is
 * emitted; a connection being detected or given up is not fed.
 */
static void test_close_feeds_parser(void **state)
{
	struct ctx *x = mk(16, 1000);
	struct sonde_addr l = v4("10.0.0.1", 80), p = v4("10.0.0.2", 40000);
	int fd;

	/* close */
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB FILE1\n", 0, 10);
	chunk(x, 5, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "HDR\n", 200, 20);
	assert_int_equal(x->n, 0);
	assert_true(sonde_conntab_close(x->tab, 100, 5, 1, NULL));
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "FILE1");
	assert_int_equal(x->txn[0].kind, SONDE_TXN_HTTP_SERVER);
	assert_int_equal(x->txn[0].response_bytes, 200);
	assert_int_equal(x->txn[0].pid, 100);
	assert_int_equal(x->txn[0].server_port, 80);
	assert_int_equal(x->txn[0].duration_ns, 10); /* ends at the last activity */

	/* a request without any response is not completed by the close */
	chunk(x, 6, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB NOANSWER\n", 0, 30);
	assert_true(sonde_conntab_close(x->tab, 100, 6, 2, NULL));
	assert_int_equal(x->n, 1);

	/* idle expiry */
	chunk(x, 7, 3, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB FILE2\n", 0, 100);
	chunk(x, 7, 3, SONDE_CONN_ROLE_SERVER, true, &l, &p, "HDR\n", 0, 110);
	assert_int_equal(sonde_conntab_expire(x->tab, 2000), 1);
	assert_int_equal(x->n, 2);
	assert_string_equal(x->txn[1].operation, "FILE2");

	/* an accept on the fd (its close was missed) */
	chunk(x, 8, 4, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB FILE3\n", 0, 3000);
	chunk(x, 8, 4, SONDE_CONN_ROLE_SERVER, true, &l, &p, "HDR\n", 0, 3010);
	sonde_conntab_open(x->tab, 100, 8, 5, SONDE_CONN_ROLE_SERVER, &l, &p, 3020);
	assert_int_equal(x->n, 3);
	assert_string_equal(x->txn[2].operation, "FILE3");

	/* data on the fd with another socket id */
	chunk(x, 8, 5, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB FILE4\n", 0, 3030);
	chunk(x, 8, 5, SONDE_CONN_ROLE_SERVER, true, &l, &p, "HDR\n", 0, 3040);
	chunk(x, 8, 6, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB NEXT\n", 0, 3050);
	assert_int_equal(x->n, 4);
	assert_string_equal(x->txn[3].operation, "FILE4");
	assert_true(sonde_conntab_close(x->tab, 100, 8, 0, NULL)); /* 0: whichever socket */
	assert_int_equal(x->n, 4);

	/* eviction when the table is full: fd 100 is the least recent */
	chunk(x, 100, 100, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB FILE5\n", 0, 4000);
	chunk(x, 100, 100, SONDE_CONN_ROLE_SERVER, true, &l, &p, "HDR\n", 0, 4001);
	for (fd = 101; fd < 116; fd++)
		chunk(x, fd, (uint64_t)fd, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x",
		      0, 4002 + (uint64_t)fd);
	assert_int_equal(x->n, 4);
	chunk(x, 200, 200, SONDE_CONN_ROLE_SERVER, false, &l, &p, "x", 0, 4200);
	assert_int_equal(sonde_conntab_stats(x->tab)->evicted_cap, 1);
	assert_int_equal(x->n, 5);
	assert_string_equal(x->txn[4].operation, "FILE5");
	assert_int_equal(sonde_conntab_stats(x->tab)->txns, 5);
	/* connections still detecting ("x") are not fed; nothing at free */
	done(x);
}

static void test_role_guess_from_ports_and_bytes(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr srv = v4("10.0.0.1", 6379), eph = v4("10.0.0.2", 40000);
	struct sonde_addr eph2 = v4("10.0.0.3", 50000);
	struct sonde_conn *c;

	/* local 6379, peer ephemeral: server */
	chunk(x, 1, 1, SONDE_CONN_ROLE_UNKNOWN, true, &srv, &eph, "zzz", 0, 1);
	c = sonde_conntab_find(x->tab, 100, 1);
	assert_int_equal(c->role, SONDE_CONN_ROLE_SERVER);
	assert_true(c->role_guessed);
	/* local ephemeral, peer 6379: client */
	chunk(x, 2, 2, SONDE_CONN_ROLE_UNKNOWN, true, &eph, &srv, "zzz", 0, 1);
	assert_int_equal(sonde_conntab_find(x->tab, 100, 2)->role,
			 SONDE_CONN_ROLE_CLIENT);
	/* both ephemeral: the side whose bytes detect as a request decides */
	chunk(x, 3, 3, SONDE_CONN_ROLE_UNKNOWN, false, &eph, &eph2, "REQ GET\n", 0, 1);
	c = sonde_conntab_find(x->tab, 100, 3);
	assert_int_equal(c->role, SONDE_CONN_ROLE_SERVER);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	chunk(x, 3, 3, SONDE_CONN_ROLE_UNKNOWN, true, &eph, &eph2, "RES 1\n", 0, 9);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->role[0], SONDE_CONN_ROLE_SERVER);
	/* the kernel's word beats the ports */
	chunk(x, 4, 4, SONDE_CONN_ROLE_CLIENT, true, &srv, &eph, "zzz", 0, 1);
	c = sonde_conntab_find(x->tab, 100, 4);
	assert_int_equal(c->role, SONDE_CONN_ROLE_CLIENT);
	assert_false(c->role_guessed);
	assert_int_equal(sonde_conntab_guess_role(x->tab, &eph, &eph2),
			 SONDE_CONN_ROLE_UNKNOWN);
	done(x);
}

static void test_detection_gives_up(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 443), p = v4("10.0.0.2", 40000);
	struct sonde_conn *c;

	/* responses and empty captures do not use up the budget */
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 1);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "", 50, 2);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "\x16\x03\x01", 0, 3);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "junk", 0, 4);
	c = sonde_conntab_find(x->tab, 100, 1);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "more", 0, 5);
	assert_int_equal(c->state, SONDE_CONN_IGNORED);
	assert_int_equal(x->ignored, 1);
	/* ignored: bytes still counted, nothing parsed */
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ GET\n", 0, 6);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 7);
	assert_int_equal(x->n, 0);
	assert_int_equal(c->bytes_recv, 50 + 3 + 4 + 4 + 8);
	assert_int_equal(sonde_conntab_stats(x->tab)->ignored, 1);
	done(x);
}

static void test_detection_switches_after_eproto(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 80), p = v4("10.0.0.2", 40000);
	struct sonde_conn *c;

	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ A\n", 0, 1);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "BAD\n", 0, 2);
	c = sonde_conntab_find(x->tab, 100, 1);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_null(c->pstate);
	assert_int_equal(sonde_conntab_stats(x->tab)->proto[0].eproto, 1);
	/* the other protocol now */
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "WEB /a\n", 0, 3);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_ptr_equal(c->proto, &fake_web);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 200\n", 0, 8);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->txn[0].kind, SONDE_TXN_HTTP_SERVER);
	assert_string_equal(x->txn[0].operation, "/a");
	/* a second -EPROTO exceeds max_switches (1): ignored for good */
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "BAD\n", 0, 9);
	assert_int_equal(c->state, SONDE_CONN_IGNORED);
	assert_int_equal(sonde_conntab_stats(x->tab)->proto[1].eproto, 1);
	assert_int_equal(sonde_conntab_stats(x->tab)->proto[1].detected, 1);
	assert_int_equal(x->detected, 2);
	assert_int_equal(x->ignored, 1);
	done(x);
}

/* A server that reads a header first, the rest after (MySQL does). */
static void test_detection_across_chunks(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 3306), p = v4("10.0.0.2", 40000);
	struct sonde_conn *c;

	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "greeting", 0, 1);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "RE", 0, 2);
	c = sonde_conntab_find(x->tab, 100, 1);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "Q GET\n", 0, 3);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_int_equal(c->det_len, 0);
	chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 5);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "GET");
	assert_int_equal(x->txn[0].start_ns, 3);
	assert_int_equal(x->txn[0].request_bytes, 8);

	/* leftover bytes, then a chunk that detects alone: only it is fed */
	chunk(x, 2, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p, "tail of a body", 0, 1);
	chunk(x, 2, 2, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ SET\n", 0, 2);
	chunk(x, 2, 2, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0, 4);
	assert_int_equal(x->n, 2);
	assert_string_equal(x->txn[1].operation, "SET");
	assert_int_equal(x->txn[1].request_bytes, 8);

	/* a truncated chunk is never glued to the next one */
	chunk(x, 3, 3, SONDE_CONN_ROLE_SERVER, false, &l, &p, "RE", 100, 1);
	chunk(x, 3, 3, SONDE_CONN_ROLE_SERVER, false, &l, &p, "Q X\n", 0, 2);
	assert_int_equal(sonde_conntab_find(x->tab, 100, 3)->state, SONDE_CONN_DETECTING);
	done(x);
}

static void test_chunks_and_parse_errors(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	struct sonde_addr l = v4("10.0.0.1", 80), p = v4("10.0.0.2", 40000);
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t t = 100 * (uint64_t)i;

		chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "REQ SET\n",
		      4096, t + 1);
		/* a request body in two more chunks, captured short */
		chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "body", 10000,
		      t + 2);
		chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, false, &l, &p, "ERR", 5, t + 3);
		chunk(x, 1, 1, SONDE_CONN_ROLE_SERVER, true, &l, &p, "RES 1\n", 0,
		      t + 50);
	}
	assert_int_equal(x->n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(x->txn[i].request_bytes, 4096 + 10000);
		assert_int_equal(x->txn[i].duration_ns, 49);
	}
	assert_int_equal(sonde_conntab_stats(x->tab)->proto[0].parse_errors, 3);
	assert_int_equal(sonde_conntab_stats(x->tab)->txns, 3);
	done(x);
}

static void test_addr_helpers(void **state)
{
	struct sonde_addr a = v4("127.3.0.1", 1), b = v4("10.0.0.1", 1);
	struct sonde_addr c = { .family = AF_INET6 };
	char s[64];

	assert_true(sonde_addr_is_loopback(&a));
	assert_false(sonde_addr_is_loopback(&b));
	inet_pton(AF_INET6, "::1", c.addr);
	assert_true(sonde_addr_is_loopback(&c));
	sonde_addr_string(&c, s, sizeof(s));
	assert_string_equal(s, "::1");
	inet_pton(AF_INET6, "::ffff:127.0.0.1", c.addr);
	assert_true(sonde_addr_is_loopback(&c));
	c.family = 0;
	sonde_addr_string(&c, s, sizeof(s));
	assert_string_equal(s, "");
	sonde_addr_string(&b, s, 4); /* too small: empty, not truncated garbage */
	assert_string_equal(s, "");
}

static void test_bad_opts(void **state)
{
	struct sonde_conntab_opts o = { 0 };
	struct sonde_conntab *t = NULL;

	assert_int_equal(sonde_conntab_new(&o, &t), -EINVAL);
	assert_null(t);
	sonde_conntab_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_role_from_accept),
		cmocka_unit_test(test_client_http_kind_and_server_address),
		cmocka_unit_test(test_loopback_both_ends),
		cmocka_unit_test(test_loopback_client_alone),
		cmocka_unit_test(test_loopback_server_end_later),
		cmocka_unit_test(test_loopback_unix_ends),
		cmocka_unit_test(test_unix_server_name),
		cmocka_unit_test(test_fd_reuse_resets_parser),
		cmocka_unit_test(test_late_close_of_reused_fd),
		cmocka_unit_test(test_close_returns_bytes),
		cmocka_unit_test(test_loss_gap),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_cap_evicts_least_recent),
		cmocka_unit_test(test_close_feeds_parser),
		cmocka_unit_test(test_role_guess_from_ports_and_bytes),
		cmocka_unit_test(test_detection_gives_up),
		cmocka_unit_test(test_detection_switches_after_eproto),
		cmocka_unit_test(test_detection_across_chunks),
		cmocka_unit_test(test_chunks_and_parse_errors),
		cmocka_unit_test(test_addr_helpers),
		cmocka_unit_test(test_bad_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
