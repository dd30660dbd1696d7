// SPDX-License-Identifier: MIT
/*
 * The connection table on TLS connections (probes/ebpf/conntab.c), with
 * the fake protocols of conntab_fake.c: a ClientHello on the wire or a
 * CIPHER chunk turns a connection TLS (counted, proto_changed told, never
 * parsed nor given up on); PLAIN chunks are detected and parsed but not
 * counted as wire bytes; plaintext restarts detection (after a give-up,
 * after a cleartext protocol: STARTTLS) with a fresh budget, no switches
 * used and no wire bytes gathered; tls_opaque; bytes that look like a TLS
 * record but are no ClientHello, and the ClientHello test's edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conntab_fake.h"

/* Server end 10.0.0.1:443 <- 10.0.0.2:40000; client end the other way. */
static struct sonde_addr srv, cli;

static int setup(void **state)
{
	srv = v4("10.0.0.1", 443);
	cli = v4("10.0.0.2", 40000);
	return 0;
}

/* A chunk of bytes on fd (sock_id fd, tgid 100), as the kernel saw role. */
static void bytes(struct ctx *x, int fd, uint8_t role, bool send, const void *d,
		  size_t len, size_t total, uint64_t ts, uint8_t tls)
{
	bool server = role != SONDE_CONN_ROLE_CLIENT;
	struct sonde_conntab_chunk c = {
		.tgid = 100, .fd = fd, .sock_id = (uint64_t)fd, .kernel_role = role,
		.send = send, .local = server ? &srv : &cli, .peer = server ? &cli : &srv,
		.data = d, .len = len, .total = total ? total : len, .ts_ns = ts, .tls = tls,
	};

	assert_int_equal(sonde_conntab_data(x->tab, &c), 0);
}

/* The same on a server connection, the bytes a string. */
static void srv_str(struct ctx *x, int fd, bool send, const char *s, size_t total,
		    uint64_t ts, uint8_t tls)
{
	bytes(x, fd, SONDE_CONN_ROLE_SERVER, send, s, strlen(s), total, ts, tls);
}

#define RECV false
#define SEND true
#define NONE SONDE_CONN_TLS_NONE
#define PLAIN SONDE_CONN_TLS_PLAIN
#define CIPHER SONDE_CONN_TLS_CIPHER

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * A TLS 1.3 ClientHello as a client sends it: record 16 03 01 <len16>,
 * handshake 01 <len24>, legacy version 03 03, random, a 32-byte session
 * id, three cipher suites, null compression, extensions server_name
 * (example.com), supported_versions (TLS 1.3), supported_groups (x25519),
 * key_share (x25519). Returns its length.
 */
static size_t client_hello(uint8_t *b, size_t cap)
{
	static const uint8_t exts_fixed[] = {
		0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04,       /* supported_versions */
		0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d, /* supported_groups */
	};
	static const char host[] = "example.com";
	uint8_t *h = b + 5, *p = h + 4, *ext_len;
	size_t i, hs, sn = sizeof(host) - 1;

	assert_true(cap >= 512);
	*p++ = 0x03; /* legacy_version TLS 1.2 */
	*p++ = 0x03;
	for (i = 0; i < 32; i++)
		*p++ = (uint8_t)(i * 37 + 11); /* random */
	*p++ = 32; /* session id */
	for (i = 0; i < 32; i++)
		*p++ = (uint8_t)(0xa0 + i);
	*p++ = 0x00; /* cipher suites: AES128-GCM, AES256-GCM, CHACHA20 */
	*p++ = 0x06;
	*p++ = 0x13, *p++ = 0x01, *p++ = 0x13, *p++ = 0x02, *p++ = 0x13, *p++ = 0x03;
	*p++ = 0x01; /* compression: null */
	*p++ = 0x00;
	ext_len = p;
	p += 2;
	/* server_name */
	*p++ = 0x00, *p++ = 0x00;
	put16(p, sn + 5);
	p += 2;
	put16(p, sn + 3);
	p += 2;
	*p++ = 0x00; /* host_name */
	put16(p, sn);
	p += 2;
	memcpy(p, host, sn);
	p += sn;
	memcpy(p, exts_fixed, sizeof(exts_fixed));
	p += sizeof(exts_fixed);
	/* key_share: x25519, 32 bytes */
	*p++ = 0x00, *p++ = 0x33, *p++ = 0x00, *p++ = 0x26, *p++ = 0x00, *p++ = 0x24;
	*p++ = 0x00, *p++ = 0x1d, *p++ = 0x00, *p++ = 0x20;
	for (i = 0; i < 32; i++)
		*p++ = (uint8_t)(i * 13 + 5);
	put16(ext_len, (size_t)(p - ext_len - 2));
	hs = (size_t)(p - h - 4);
	h[0] = 0x01; /* ClientHello */
	h[1] = (uint8_t)(hs >> 16);
	h[2] = (uint8_t)(hs >> 8);
	h[3] = (uint8_t)hs;
	b[0] = 0x16; /* handshake */
	b[1] = 0x03;
	b[2] = 0x01;
	put16(b + 3, hs + 4);
	return (size_t)(p - b);
}

/* A ServerHello's first bytes (type 2), as the server answers. */
static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00,
					0x76, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55 };

static void expect_close(struct ctx *x, int fd, uint64_t sent, uint64_t recv)
{
	struct sonde_conntab_closed seen = { 0 };

	assert_true(sonde_conntab_close(x->tab, 100, fd, 0, &seen));
	assert_int_equal(seen.sent, sent);
	assert_int_equal(seen.recv, recv);
}

/*
 * A server whose first request bytes are a ClientHello: TLS, told once,
 * never given up on (not "ignored") nor parsed, bytes still counted.
 */
static void test_client_hello_marks_server_conn(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	uint8_t ch[512];
	size_t n = client_hello(ch, sizeof(ch));
	struct sonde_conn *c;
	int i;

	assert_int_equal(sonde_conntab_open(x->tab, 100, 5, 5, SONDE_CONN_ROLE_SERVER,
					    &srv, &cli, 1), 0);
	bytes(x, 5, SONDE_CONN_ROLE_SERVER, RECV, ch, n, 0, 10, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_non_null(c);
	assert_true(c->tls);
	assert_false(c->plain_seen);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_null(c->proto);
	assert_int_equal(st->tls, 1);
	assert_int_equal(x->n_changes, 1);
	assert_true(x->changes[0].tls);
	assert_null(x->changes[0].proto);
	assert_int_equal(st->ignored, 0);
	assert_int_equal(st->proto[0].detected + st->proto[1].detected, 0);

	bytes(x, 5, SONDE_CONN_ROLE_SERVER, SEND, server_hello, sizeof(server_hello), 3000,
	      20, NONE);
	/* more chunks than detect_chunks (3), each a request in the clear */
	for (i = 0; i < 5; i++) {
		srv_str(x, 5, RECV, "REQ get\n", 0, 30 + 10 * (uint64_t)i, NONE);
		srv_str(x, 5, SEND, "RES 1\n", 0, 35 + 10 * (uint64_t)i, NONE);
	}
	assert_int_equal(x->n, 0);
	assert_int_equal(st->txns, 0);
	assert_int_equal(st->proto[0].detected, 0);
	assert_int_equal(st->ignored, 0);
	assert_int_equal(x->n_changes, 1);
	assert_int_equal(st->tls, 1);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_int_equal(c->last_ns, 75);
	expect_close(x, 5, 3000 + 5 * 6, n + 5 * 8);
	assert_int_equal(st->tls_opaque, 1);
	assert_int_equal(st->active, 0);
	done(x);
}

/*
 * A server that reads the ClientHello's 5-byte record header first and
 * its body after (OpenSSL without read_ahead): told from the two reads
 * together, not given up on.
 */
static void test_client_hello_split(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	uint8_t ch[512];
	size_t n = client_hello(ch, sizeof(ch));
	struct sonde_conn *c;

	(void)state;
	assert_int_equal(sonde_conntab_open(x->tab, 100, 5, 5, SONDE_CONN_ROLE_SERVER,
					    &srv, &cli, 1), 0);
	bytes(x, 5, SONDE_CONN_ROLE_SERVER, RECV, ch, 5, 0, 10, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_non_null(c);
	assert_false(c->tls);
	bytes(x, 5, SONDE_CONN_ROLE_SERVER, RECV, ch + 5, n - 5, 0, 11, NONE);
	assert_true(c->tls);
	assert_int_equal(st->tls, 1);
	assert_int_equal(st->ignored, 0);
	expect_close(x, 5, 0, n);
	assert_int_equal(st->tls_opaque, 1);
	assert_int_equal(st->ignored, 0); /* the header's detection try is forgotten */
	done(x);
}

/*
 * Plaintext no parser knows (HTTP/2's preface), on a connection that
 * closes before its detection budget runs out: unparsed all the same.
 */
static void test_plain_unrecognised_counted(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);

	(void)state;
	assert_int_equal(sonde_conntab_open(x->tab, 100, 5, 5, SONDE_CONN_ROLE_SERVER,
					    &srv, &cli, 1), 0);
	srv_str(x, 5, RECV, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, 10, PLAIN);
	srv_str(x, 5, SEND, "\0\0\0\4\0\0\0\0\0", 9, 11, PLAIN);
	assert_int_equal(st->ignored, 0);
	expect_close(x, 5, 0, 0);
	assert_int_equal(st->ignored, 1);
	assert_int_equal(st->tls, 1);
	assert_int_equal(st->tls_opaque, 0);
	/* no request bytes at all: nothing to count */
	assert_int_equal(sonde_conntab_open(x->tab, 100, 6, 6, SONDE_CONN_ROLE_SERVER,
					    &srv, &cli, 20), 0);
	expect_close(x, 6, 0, 0);
	assert_int_equal(st->ignored, 1);
	done(x);
}

/* The ClientHello is a request: a client's write, either side's when the
 * role is unknown; a server's write or a client's read is not one. */
static void test_client_hello_direction(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_addr e1 = v4("10.0.0.3", 41000), e2 = v4("10.0.0.4", 42000);
	struct sonde_conntab_chunk u = {
		.tgid = 100, .fd = 9, .sock_id = 9, .kernel_role = SONDE_CONN_ROLE_UNKNOWN,
		.send = false, .local = &e1, .peer = &e2, .ts_ns = 5,
	};
	uint8_t ch[512];
	size_t n = client_hello(ch, sizeof(ch));

	/* a client sends it */
	bytes(x, 6, SONDE_CONN_ROLE_CLIENT, SEND, ch, n, 0, 1, NONE);
	assert_true(sonde_conntab_find(x->tab, 100, 6)->tls);
	assert_int_equal(st->tls, 1);
	/* a client reading one, a server writing one: not TLS */
	bytes(x, 7, SONDE_CONN_ROLE_CLIENT, RECV, ch, n, 0, 2, NONE);
	assert_false(sonde_conntab_find(x->tab, 100, 7)->tls);
	bytes(x, 8, SONDE_CONN_ROLE_SERVER, SEND, ch, n, 0, 3, NONE);
	assert_false(sonde_conntab_find(x->tab, 100, 8)->tls);
	assert_int_equal(st->tls, 1);
	/* both ports ephemeral: role unknown, a read of it is enough */
	u.data = ch;
	u.len = u.total = n;
	assert_int_equal(sonde_conntab_data(x->tab, &u), 0);
	assert_int_equal(sonde_conntab_find(x->tab, 100, 9)->role, SONDE_CONN_ROLE_UNKNOWN);
	assert_true(sonde_conntab_find(x->tab, 100, 9)->tls);
	assert_int_equal(st->tls, 2);
	assert_int_equal(x->n_changes, 2);
	done(x);
}

/* Not while a protocol is being parsed: then it is that protocol's payload. */
static void test_client_hello_while_parsing(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	uint8_t ch[512];
	size_t n = client_hello(ch, sizeof(ch));
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "REQ a\n", 0, 1, NONE);
	bytes(x, 5, SONDE_CONN_ROLE_SERVER, RECV, ch, n, 0, 2, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_false(c->tls);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_ptr_equal(c->proto, &fake_cache);
	srv_str(x, 5, SEND, "RES 1\n", 0, 9, NONE);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->txn[0].request_bytes, 6 + n);
	assert_int_equal(sonde_conntab_stats(x->tab)->tls, 0);
	done(x);
}

/* CIPHER chunks: counted, never parsed, and they make the connection TLS. */
static void test_cipher_chunks(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "REQ get\n", 1000, 10, CIPHER);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_non_null(c);
	assert_true(c->tls);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_null(c->pstate);
	assert_int_equal(st->tls, 1);
	assert_int_equal(x->n_changes, 1);
	assert_true(x->changes[0].tls);
	assert_null(x->changes[0].proto);
	srv_str(x, 5, SEND, "RES 1\n", 2000, 20, CIPHER);
	srv_str(x, 5, RECV, "REQ set\n", 0, 30, CIPHER);
	srv_str(x, 5, SEND, "RES 2\n", 0, 40, CIPHER);
	/* the wire's bytes outside SSL calls (NONE) are ciphertext too */
	srv_str(x, 5, RECV, "REQ del\n", 0, 50, NONE);
	srv_str(x, 5, SEND, "RES 3\n", 0, 60, NONE);
	assert_int_equal(x->n, 0);
	assert_int_equal(st->proto[0].detected, 0);
	assert_int_equal(st->ignored, 0);
	assert_int_equal(st->tls, 1);
	assert_int_equal(x->n_changes, 1);
	assert_int_equal(c->bytes_recv, 1000 + 8 + 8);
	assert_int_equal(c->bytes_sent, 2000 + 6 + 6);
	expect_close(x, 5, 2012, 1016);
	assert_int_equal(st->tls_opaque, 1);
	done(x);
}

/*
 * PLAIN chunks are parsed (one exchange, one transaction, its times those
 * of the plaintext) and not added to the wire's byte counts.
 */
static void test_plain_parsed_not_counted(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	sonde_conntab_open(x->tab, 100, 5, 5, SONDE_CONN_ROLE_SERVER, &srv, &cli, 1);
	/* the handshake, inside SSL_read/SSL_write */
	srv_str(x, 5, RECV, "\x16\x03\x01", 300, 2, CIPHER);
	srv_str(x, 5, SEND, "\x16\x03\x03", 2000, 3, CIPHER);
	/* SSL_read's syscall, then its plaintext */
	srv_str(x, 5, RECV, "\x17\x03\x03", 40, 99, CIPHER);
	srv_str(x, 5, RECV, "REQ get\n", 0, 100, PLAIN);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_true(c->plain_seen);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_ptr_equal(c->proto, &fake_cache);
	srv_str(x, 5, SEND, "RES 1\n", 0, 150, PLAIN);
	srv_str(x, 5, SEND, "\x17\x03\x03", 35, 151, CIPHER);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "get");
	assert_int_equal(x->txn[0].kind, SONDE_TXN_CACHE);
	assert_int_equal(x->txn[0].start_ns, 100);
	assert_int_equal(x->txn[0].duration_ns, 50);
	assert_int_equal(x->txn[0].request_bytes, 8);
	assert_int_equal(x->txn[0].response_bytes, 6);
	assert_int_equal(x->txn[0].server_port, 443);
	assert_int_equal(x->txn[0].pid, 100);
	assert_int_equal(st->txns, 1);
	assert_int_equal(st->proto[0].detected, 1);
	/* told twice: TLS (no parser), then the plaintext's parser */
	assert_int_equal(x->n_changes, 2);
	assert_true(x->changes[0].tls);
	assert_null(x->changes[0].proto);
	assert_true(x->changes[1].tls);
	assert_ptr_equal(x->changes[1].proto, &fake_cache);
	assert_int_equal(x->changes[1].state, SONDE_CONN_PARSING);
	/* a second exchange on the same parser */
	srv_str(x, 5, RECV, "REQ set\n", 0, 200, PLAIN);
	srv_str(x, 5, SEND, "RES 2\n", 0, 260, PLAIN);
	assert_int_equal(x->n, 2);
	assert_string_equal(x->txn[1].operation, "set");
	assert_int_equal(x->txn[1].duration_ns, 60);
	assert_int_equal(st->tls, 1);
	assert_int_equal(st->proto[0].detected, 1);
	expect_close(x, 5, 2000 + 35, 300 + 40);
	assert_int_equal(st->tls_opaque, 0);
	done(x);
}

/*
 * Plaintext before any wire bytes: the connection is TLS from it on; the
 * wire's bytes between plaintext chunks are counted, not fed.
 */
static void test_plain_first(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "REQ a\n", 0, 10, PLAIN);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_non_null(c);
	assert_true(c->tls);
	assert_true(c->plain_seen);
	assert_int_equal(st->tls, 1);
	assert_int_equal(c->bytes_recv, 0);
	/* wire bytes that would change the exchange if they were fed */
	srv_str(x, 5, RECV, "REQ zzz\n", 50, 11, NONE);
	srv_str(x, 5, SEND, "RES 0\n", 70, 12, NONE);
	assert_int_equal(x->n, 0);
	srv_str(x, 5, SEND, "RES 1\n", 0, 20, PLAIN);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "a");
	assert_int_equal(x->txn[0].start_ns, 10);
	assert_int_equal(x->txn[0].duration_ns, 10);
	assert_int_equal(x->txn[0].request_bytes, 6);
	assert_int_equal(x->txn[0].response_bytes, 6);
	assert_int_equal(st->tls, 1);
	expect_close(x, 5, 70, 50);
	assert_int_equal(st->tls_opaque, 0);
	done(x);
}

/* Given up on (IGNORED) before the plaintext: detection starts over on it. */
static void test_ignored_then_plain(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "junk", 0, 1, NONE);
	srv_str(x, 5, RECV, "more", 0, 2, NONE);
	srv_str(x, 5, RECV, "noise", 0, 3, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_int_equal(c->state, SONDE_CONN_IGNORED);
	assert_false(c->tls);
	assert_int_equal(st->ignored, 1);
	srv_str(x, 5, RECV, "REQ get\n", 0, 100, PLAIN);
	assert_true(c->tls);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_ptr_equal(c->proto, &fake_cache);
	srv_str(x, 5, SEND, "RES 1\n", 0, 130, PLAIN);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "get");
	assert_int_equal(x->txn[0].start_ns, 100);
	assert_int_equal(x->txn[0].duration_ns, 30);
	assert_int_equal(x->txn[0].request_bytes, 8);
	assert_int_equal(st->tls, 1);
	assert_int_equal(st->proto[0].detected, 1);

	/* the same with the TLS record seen first (CIPHER on an ignored one) */
	srv_str(x, 6, RECV, "junk", 0, 1, NONE);
	srv_str(x, 6, RECV, "more", 0, 2, NONE);
	srv_str(x, 6, RECV, "noise", 0, 3, NONE);
	c = sonde_conntab_find(x->tab, 100, 6);
	assert_int_equal(c->state, SONDE_CONN_IGNORED);
	srv_str(x, 6, RECV, "\x17\x03\x03", 30, 4, CIPHER);
	assert_true(c->tls);
	assert_int_equal(st->tls, 2);
	srv_str(x, 6, RECV, "WEB /x\n", 0, 5, PLAIN);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_ptr_equal(c->proto, &fake_web);
	srv_str(x, 6, SEND, "RES 200\n", 0, 9, PLAIN);
	assert_int_equal(x->n, 2);
	assert_int_equal(x->txn[1].kind, SONDE_TXN_HTTP_SERVER);
	assert_string_equal(x->txn[1].operation, "/x");
	assert_int_equal(x->txn[1].duration_ns, 4);
	assert_int_equal(st->ignored, 2);
	assert_int_equal(st->tls, 2);
	expect_close(x, 6, 0, 4 + 4 + 5 + 30);
	done(x);
}

/*
 * The plaintext gets detection's whole budget again (detect_chunks, 3),
 * and no bytes gathered from the wire before it.
 */
static void test_plain_detection_budget(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	/* one wire chunk tried (2 left), then 2 plaintext ones: not given up */
	srv_str(x, 5, RECV, "junk", 0, 1, NONE);
	srv_str(x, 5, RECV, "zzz", 0, 2, PLAIN);
	srv_str(x, 5, RECV, "yyy", 0, 3, PLAIN);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	srv_str(x, 5, RECV, "REQ ok\n", 0, 4, PLAIN);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	srv_str(x, 5, SEND, "RES 1\n", 0, 6, PLAIN);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "ok");

	/* given up on the wire (0 left): 3 plaintext chunks before giving up */
	srv_str(x, 6, RECV, "junk", 0, 1, NONE);
	srv_str(x, 6, RECV, "more", 0, 2, NONE);
	srv_str(x, 6, RECV, "noise", 0, 3, NONE);
	c = sonde_conntab_find(x->tab, 100, 6);
	assert_int_equal(c->state, SONDE_CONN_IGNORED);
	assert_int_equal(st->ignored, 1);
	srv_str(x, 6, RECV, "zzz", 0, 4, PLAIN);
	srv_str(x, 6, RECV, "yyy", 0, 5, PLAIN);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	srv_str(x, 6, RECV, "xxx", 0, 6, PLAIN);
	assert_int_equal(c->state, SONDE_CONN_IGNORED);
	assert_int_equal(st->ignored, 2);
	/* for good: a request in plaintext is not parsed any more */
	srv_str(x, 6, RECV, "REQ late\n", 0, 7, PLAIN);
	srv_str(x, 6, SEND, "RES 1\n", 0, 8, PLAIN);
	assert_int_equal(x->n, 1);

	/* "RE" gathered from the wire is not glued to the plaintext's "Q" */
	srv_str(x, 7, RECV, "RE", 0, 1, NONE);
	srv_str(x, 7, RECV, "Q get\n", 0, 2, PLAIN);
	c = sonde_conntab_find(x->tab, 100, 7);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_null(c->proto);
	done(x);
}

/* -EPROTO switches made in the clear do not count against the plaintext. */
static void test_plain_resets_switches(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "REQ a\n", 0, 1, NONE);
	srv_str(x, 5, RECV, "BAD\n", 0, 2, NONE); /* switch 1 of max_switches 1 */
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_int_equal(st->proto[0].eproto, 1);
	srv_str(x, 5, RECV, "REQ b\n", 0, 10, PLAIN);
	srv_str(x, 5, RECV, "BAD\n", 0, 11, PLAIN); /* switch 1 again */
	assert_int_equal(st->proto[0].eproto, 2);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	srv_str(x, 5, RECV, "WEB /y\n", 0, 12, PLAIN);
	assert_ptr_equal(c->proto, &fake_web);
	srv_str(x, 5, SEND, "RES 200\n", 0, 20, PLAIN);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "/y");
	assert_int_equal(x->txn[0].duration_ns, 8);
	assert_int_equal(st->ignored, 0);
	done(x);
}

/*
 * STARTTLS: a protocol parsed in the clear, then the TLS records (its
 * parser dropped, a request pending in it forgotten), then plaintext: a
 * new parser from the plaintext's first request.
 */
static void test_starttls(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "REQ a\n", 0, 10, NONE);
	srv_str(x, 5, SEND, "RES 1\n", 0, 20, NONE);
	assert_int_equal(x->n, 1);
	srv_str(x, 5, RECV, "REQ pending\n", 0, 30, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	assert_false(c->tls);
	assert_int_equal(x->n_changes, 1);

	srv_str(x, 5, RECV, "\x16\x03\x01", 500, 40, CIPHER);
	assert_true(c->tls);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_null(c->proto);
	assert_null(c->pstate);
	assert_int_equal(x->n_changes, 2);
	assert_true(x->changes[1].tls);
	assert_null(x->changes[1].proto);
	assert_int_equal(st->tls, 1);
	srv_str(x, 5, SEND, "\x16\x03\x03", 1500, 50, CIPHER);

	/* a response first: the old request is gone, nothing to complete */
	srv_str(x, 5, SEND, "RES 9\n", 0, 60, PLAIN);
	assert_int_equal(x->n, 1);
	srv_str(x, 5, RECV, "REQ b\n", 0, 70, PLAIN);
	srv_str(x, 5, SEND, "RES 2\n", 0, 95, PLAIN);
	assert_int_equal(x->n, 2);
	assert_string_equal(x->txn[1].operation, "b");
	assert_int_equal(x->txn[1].start_ns, 70);
	assert_int_equal(x->txn[1].duration_ns, 25);
	assert_int_equal(x->txn[1].request_bytes, 6);
	assert_int_equal(x->txn[1].response_bytes, 6);
	assert_int_equal(st->proto[0].detected, 2);
	assert_int_equal(st->tls, 1);
	expect_close(x, 5, 6 + 1500, 6 + 12 + 500);
	assert_int_equal(st->tls_opaque, 0);
	done(x);
}

/*
 * Plaintext on a connection parsed in the clear with no TLS record seen
 * (the handshake's syscalls came from outside SSL_read/SSL_write): the
 * parser restarts on the plaintext all the same.
 */
static void test_plain_after_cleartext_parser(void **state)
{
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	srv_str(x, 5, RECV, "REQ pending\n", 0, 10, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_int_equal(c->state, SONDE_CONN_PARSING);
	srv_str(x, 5, SEND, "RES 1\n", 0, 20, PLAIN);
	assert_int_equal(x->n, 0);
	assert_true(c->tls);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	assert_null(c->proto);
	assert_null(c->pstate);
	assert_int_equal(st->tls, 1);
	srv_str(x, 5, RECV, "REQ c\n", 0, 30, PLAIN);
	srv_str(x, 5, SEND, "RES 1\n", 0, 45, PLAIN);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "c");
	assert_int_equal(x->txn[0].start_ns, 30);
	assert_int_equal(x->txn[0].duration_ns, 15);
	expect_close(x, 5, 0, 12);
	done(x);
}

/* tls_opaque: TLS connections that end (close, expiry) with no plaintext. */
static void test_tls_opaque(void **state)
{
	struct ctx *x = mk(64, 1000);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	uint8_t ch[512];
	size_t n = client_hello(ch, sizeof(ch));

	/* a ClientHello, nothing else: opaque at close */
	bytes(x, 1, SONDE_CONN_ROLE_SERVER, RECV, ch, n, 0, 10, NONE);
	expect_close(x, 1, 0, n);
	assert_int_equal(st->tls_opaque, 1);
	/* ciphertext, then plaintext: not opaque */
	srv_str(x, 2, RECV, "\x17\x03\x03", 100, 20, CIPHER);
	srv_str(x, 2, RECV, "REQ a\n", 0, 21, PLAIN);
	expect_close(x, 2, 0, 100);
	assert_int_equal(st->tls_opaque, 1);
	/* plaintext nothing detects is plaintext seen all the same */
	srv_str(x, 3, RECV, "\x17\x03\x03", 100, 30, CIPHER);
	srv_str(x, 3, RECV, "zzz", 0, 31, PLAIN);
	expect_close(x, 3, 0, 100);
	assert_int_equal(st->tls_opaque, 1);
	/* not TLS at all */
	srv_str(x, 4, RECV, "REQ a\n", 0, 40, NONE);
	expect_close(x, 4, 0, 6);
	assert_int_equal(st->tls_opaque, 1);
	/* ciphertext only, expired */
	srv_str(x, 5, RECV, "\x17\x03\x03", 100, 50, CIPHER);
	assert_int_equal(sonde_conntab_expire(x->tab, 5000), 1);
	assert_int_equal(st->tls_opaque, 2);
	assert_int_equal(st->tls, 4);
	assert_int_equal(st->closed, 4);
	assert_int_equal(st->active, 0);
	done(x);
}

/* Whether a first request chunk of these bytes turns a connection TLS. */
static bool marks_tls(const uint8_t *d, size_t len)
{
	struct ctx *x = mk(4, 1000000000ull);
	struct sonde_conn *c;
	bool tls;

	bytes(x, 5, SONDE_CONN_ROLE_SERVER, RECV, d, len, 0, 1, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_non_null(c);
	tls = c->tls;
	assert_int_equal(sonde_conntab_stats(x->tab)->tls, tls ? 1 : 0);
	assert_int_equal(x->n_changes, tls ? 1 : 0);
	assert_int_equal(c->bytes_recv, len);
	done(x);
	return tls;
}

/*
 * A MySQL client's first packet 0x316 (790) bytes long: 16 03 00, sequence
 * 1, capability flags. Not TLS: the connection is detected from what
 * follows.
 */
static void test_mysql_packet_not_tls(void **state)
{
	static const uint8_t pkt[] = {
		0x16, 0x03, 0x00, 0x01,             /* length 790, seq 1 */
		0x85, 0xa6, 0xff, 0x01,             /* capabilities */
		0x00, 0x00, 0x00, 0x01,             /* max packet */
		0x21, 0x00, 0x00, 0x00, 0x00, 0x00, /* charset, filler */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		'r', 'o', 'o', 't', 0x00,
	};
	uint8_t pkt2[sizeof(pkt)];
	struct ctx *x = mk(64, 1000000000ull);
	const struct sonde_conntab_stats *st = sonde_conntab_stats(x->tab);
	struct sonde_conn *c;

	assert_false(marks_tls(pkt, sizeof(pkt)));
	bytes(x, 5, SONDE_CONN_ROLE_SERVER, RECV, pkt, sizeof(pkt), 794, 1, NONE);
	c = sonde_conntab_find(x->tab, 100, 5);
	assert_false(c->tls);
	assert_int_equal(c->state, SONDE_CONN_DETECTING);
	srv_str(x, 5, RECV, "REQ q\n", 0, 2, NONE);
	srv_str(x, 5, SEND, "RES 1\n", 0, 3, NONE);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->txn[0].operation, "q");
	assert_int_equal(st->tls, 0);
	expect_close(x, 5, 6, 794 + 6);
	/* 01 at offset 5 (capabilities 0x000f0105): the lengths do not fit */
	memcpy(pkt2, pkt, sizeof(pkt));
	pkt2[4] = 0x05, pkt2[5] = 0x01, pkt2[6] = 0x0f, pkt2[7] = 0x00;
	assert_false(marks_tls(pkt2, sizeof(pkt2)));
	assert_int_equal(st->tls_opaque, 0);
	done(x);
}

/* The ClientHello test's edges, one field at a time. */
static void test_client_hello_edges(void **state)
{
	/* the smallest accepted: 9 bytes, record 4, empty ClientHello */
	static const uint8_t min[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00 };
	uint8_t ch[512], b[16];
	size_t n = client_hello(ch, sizeof(ch));

	assert_true(marks_tls(ch, n));
	/* only the record's first 9 bytes are needed */
	assert_true(marks_tls(ch, 9));
	assert_false(marks_tls(ch, 8));
	assert_false(marks_tls(ch, 5));
	assert_true(marks_tls(min, sizeof(min)));
	assert_false(marks_tls(min, 8));

	/* d[5] != 1: a ServerHello (2), a Finished (20) */
	ch[5] = 0x02;
	assert_false(marks_tls(ch, n));
	ch[5] = 20;
	assert_false(marks_tls(ch, n));
	ch[5] = 0x01;
	assert_true(marks_tls(ch, n));
	/* record type: application data, alert */
	ch[0] = 0x17;
	assert_false(marks_tls(ch, n));
	ch[0] = 0x15;
	assert_false(marks_tls(ch, n));
	ch[0] = 0x16;
	/* version 3.0 to 3.4 only */
	ch[1] = 0x02;
	assert_false(marks_tls(ch, n));
	ch[1] = 0x03;
	ch[2] = 0x00;
	assert_true(marks_tls(ch, n));
	ch[2] = 0x04;
	assert_true(marks_tls(ch, n));
	ch[2] = 0x05;
	assert_false(marks_tls(ch, n));

	/* record length: up to 2^14 + 2048, the ClientHello inside it */
	memcpy(b, min, sizeof(min));
	b[3] = 0x48, b[4] = 0x00; /* 18432, hs 0 */
	assert_true(marks_tls(b, 9));
	b[4] = 0x01; /* 18433 */
	assert_false(marks_tls(b, 9));
	b[3] = 0x01, b[4] = 0x00; /* 256: hs up to 252 */
	b[7] = 0x00, b[8] = 0xfc;
	assert_true(marks_tls(b, 9));
	b[8] = 0xfd;
	assert_false(marks_tls(b, 9));
	b[6] = 0x01, b[8] = 0x00; /* hs 0x10000: a 24-bit length past the record */
	assert_false(marks_tls(b, 9));
	b[6] = 0x00, b[3] = 0x00, b[4] = 0x03; /* record 3: no room for a header */
	assert_false(marks_tls(b, 9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_client_hello_marks_server_conn, setup),
		cmocka_unit_test_setup(test_client_hello_split, setup),
		cmocka_unit_test_setup(test_plain_unrecognised_counted, setup),
		cmocka_unit_test_setup(test_client_hello_direction, setup),
		cmocka_unit_test_setup(test_client_hello_while_parsing, setup),
		cmocka_unit_test_setup(test_cipher_chunks, setup),
		cmocka_unit_test_setup(test_plain_parsed_not_counted, setup),
		cmocka_unit_test_setup(test_plain_first, setup),
		cmocka_unit_test_setup(test_ignored_then_plain, setup),
		cmocka_unit_test_setup(test_plain_detection_budget, setup),
		cmocka_unit_test_setup(test_plain_resets_switches, setup),
		cmocka_unit_test_setup(test_starttls, setup),
		cmocka_unit_test_setup(test_plain_after_cleartext_parser, setup),
		cmocka_unit_test_setup(test_tls_opaque, setup),
		cmocka_unit_test_setup(test_mysql_packet_not_tls, setup),
		cmocka_unit_test_setup(test_client_hello_edges, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
