// SPDX-License-Identifier: MIT
/* Ring-buffer record decoding: every type, every short length, bad fields,
 * the TLS flags of DATA records, the segment table of frame-walked ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "decode.h"

/* 8-aligned like ring-buffer records */
union buf {
	uint64_t align;
	uint8_t b[sizeof(struct sonde_ebpf_data) + SONDE_EBPF_CAPTURE_MAX +
		  (SONDE_EBPF_SEGS_MAX + 1) * sizeof(struct sonde_ebpf_seg)];
};

static size_t mk_data(union buf *u, uint32_t total, uint32_t len)
{
	struct sonde_ebpf_data *d = (struct sonde_ebpf_data *)u->b;

	memset(u, 0, sizeof(*u));
	d->hdr.type = SONDE_EBPF_EV_DATA;
	d->hdr.dir = SONDE_EBPF_DIR_SEND;
	d->hdr.role = SONDE_EBPF_ROLE_CLIENT;
	d->hdr.tgid = 42;
	d->hdr.fd = 7;
	d->hdr.sock_id = 99;
	d->local.family = AF_INET;
	d->local.port = 40000;
	d->local.addr[0] = 127;
	d->local.addr[3] = 1;
	d->peer.family = AF_INET6;
	d->peer.port = 80;
	d->peer.addr[15] = 1;
	d->total = total;
	d->len = len;
	memset(d->data, 'A', len);
	return sizeof(*d) + len;
}

static void test_data_ok(void **state)
{
	union buf u;
	size_t n = mk_data(&u, 1000, 10);
	struct sonde_ebpf_record r;
	struct sonde_addr a;

	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.type, SONDE_EBPF_EV_DATA);
	assert_int_equal(r.payload_len, 10);
	assert_ptr_equal(r.payload, u.b + sizeof(struct sonde_ebpf_data));
	assert_int_equal(r.u.data->total, 1000);
	assert_int_equal(r.hdr->tgid, 42);
	sonde_ebpf_addr_convert(&r.u.data->local, &a);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.port, 40000);
	assert_int_equal(a.addr[0], 127);
	assert_int_equal(a.addr[4], 0);
	sonde_ebpf_addr_convert(&r.u.data->peer, &a);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.addr[15], 1);
	/* trailing padding from the ring buffer is fine */
	assert_int_equal(sonde_ebpf_decode(u.b, n + 6, &r), 0);
	/* the full capture */
	n = mk_data(&u, SONDE_EBPF_CAPTURE_MAX + 1000, SONDE_EBPF_CAPTURE_MAX);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.payload_len, SONDE_EBPF_CAPTURE_MAX);
}

static void test_data_bad(void **state)
{
	union buf u;
	struct sonde_ebpf_record r = { .type = 0xEE };
	struct sonde_ebpf_data *d = (struct sonde_ebpf_data *)u.b;
	size_t n = mk_data(&u, 100, 20), i;

	for (i = 0; i < n; i++) /* every short length */
		assert_int_equal(sonde_ebpf_decode(u.b, i, &r), -EINVAL);
	assert_int_equal(r.type, 0xEE); /* untouched on failure */
	n = mk_data(&u, 10, 20); /* len > total */
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_data(&u, SONDE_EBPF_CAPTURE_MAX + 1000, SONDE_EBPF_CAPTURE_MAX);
	d->len = SONDE_EBPF_CAPTURE_MAX + 1;
	assert_int_equal(sonde_ebpf_decode(u.b, sizeof(u.b), &r), -EINVAL);
	n = mk_data(&u, 100, 20);
	d->hdr.dir = 2;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_data(&u, 100, 20);
	d->peer.family = 3; /* AF_AX25: never from the socket filter */
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_data(&u, 100, 20);
	d->local.family = d->peer.family = AF_UNIX; /* ebpf.unix_sockets */
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	n = mk_data(&u, 100, 20);
	d->hdr.role = 3;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_data(&u, 100, 20);
	d->hdr.type = 0;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	d->hdr.type = 200;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	assert_int_equal(sonde_ebpf_decode(NULL, 100, &r), -EINVAL);
}

/*
 * DATA flags: PLAIN or CIPHER (never both), AFTER_LOSS with either or
 * none, nothing else.
 */
static void test_data_tls_flags(void **state)
{
	union buf u;
	struct sonde_ebpf_data *d = (struct sonde_ebpf_data *)u.b;
	struct sonde_ebpf_record r;
	static const uint8_t bad[] = { 3, 7, 8, 0x80, 0xff };
	static const uint8_t good[] = { 4, 5, 6 };
	size_t n, i;

	n = mk_data(&u, 100, 20);
	d->hdr.flags = SONDE_EBPF_F_PLAIN;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.type, SONDE_EBPF_EV_DATA);
	assert_int_equal(r.hdr->flags, SONDE_EBPF_F_PLAIN);
	assert_int_equal(r.payload_len, 20);
	assert_ptr_equal(r.payload, u.b + sizeof(struct sonde_ebpf_data));
	n = mk_data(&u, 100, 20);
	d->hdr.flags = SONDE_EBPF_F_CIPHER;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.hdr->flags, SONDE_EBPF_F_CIPHER);
	assert_int_equal(r.u.data->total, 100);
	for (i = 0; i < sizeof(good); i++) {
		n = mk_data(&u, 100, 20);
		d->hdr.flags = good[i];
		assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
		assert_int_equal(r.hdr->flags, good[i]);
	}
	for (i = 0; i < sizeof(bad); i++) {
		r.type = 0xEE;
		n = mk_data(&u, 100, 20);
		d->hdr.flags = bad[i];
		assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
		assert_int_equal(r.type, 0xEE);
	}
}

/*
 * Plaintext of an SSL object over memory BIOs, its socket not known yet
 * (ORPHAN: no fd, the SSL pointer where the local address would be), and
 * the record that names the socket later.
 */
static void test_orphan_and_pair(void **state)
{
	union buf u;
	struct sonde_ebpf_data *d = (struct sonde_ebpf_data *)u.b;
	struct sonde_ebpf_ssl_pair *p = (struct sonde_ebpf_ssl_pair *)u.b;
	struct sonde_ebpf_record r;
	uint64_t ssl = 0x7f12345678a0ull;
	size_t n;

	(void)state;
	for (int dir = SONDE_EBPF_DIR_RECV; dir <= SONDE_EBPF_DIR_SEND; dir++) {
		n = mk_data(&u, 100, 20);
		d->hdr.flags = SONDE_EBPF_F_PLAIN | SONDE_EBPF_F_ORPHAN;
		d->hdr.dir = (uint8_t)dir;
		d->hdr.fd = -1;
		d->hdr.sock_id = 0;
		memset(&d->local, 0, sizeof(d->local));
		memset(&d->peer, 0, sizeof(d->peer));
		memcpy(d->local.addr, &ssl, sizeof(ssl));
		assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
		assert_true(r.hdr->flags & SONDE_EBPF_F_ORPHAN);
		assert_int_equal(sonde_ebpf_orphan_ssl(r.u.data), ssl);
		assert_int_equal(r.payload_len, 20);
	}
	/* only whole plaintext, with no address of its own, is an orphan */
	d->hdr.flags = SONDE_EBPF_F_ORPHAN;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	d->hdr.flags = SONDE_EBPF_F_PLAIN | SONDE_EBPF_F_ORPHAN | SONDE_EBPF_F_AFTER_LOSS;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	d->hdr.flags = SONDE_EBPF_F_PLAIN | SONDE_EBPF_F_ORPHAN;
	d->local.family = AF_INET;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);

	memset(&u, 0, sizeof(u));
	p->hdr.type = SONDE_EBPF_EV_SSL_PAIR;
	p->hdr.fd = 9;
	p->local.family = AF_INET;
	p->ssl = ssl;
	assert_int_equal(sonde_ebpf_decode(u.b, sizeof(*p), &r), 0);
	assert_int_equal(r.u.pair->ssl, ssl);
	assert_int_equal(r.hdr->fd, 9);
	p->hdr.fd = -1; /* it names a socket, or it is nothing */
	assert_int_equal(sonde_ebpf_decode(u.b, sizeof(*p), &r), -EINVAL);
}

/* A frame-walked record: payload, then its segment table (unaligned). */
static size_t mk_framed(union buf *u, const struct sonde_ebpf_seg *segs, uint32_t nseg,
			uint32_t len, uint32_t total)
{
	struct sonde_ebpf_data *d = (struct sonde_ebpf_data *)u->b;
	size_t n = mk_data(u, total, len);

	d->hdr.flags = SONDE_EBPF_F_FRAMED;
	d->segs = nseg;
	memcpy(d->data + len, segs, nseg * sizeof(*segs));
	return n + nseg * sizeof(*segs);
}

static void test_data_framed(void **state)
{
	union buf u;
	struct sonde_ebpf_data *d = (struct sonde_ebpf_data *)u.b;
	struct sonde_ebpf_record r;
	struct sonde_ebpf_seg segs[SONDE_EBPF_SEGS_MAX + 1] = {
		{ .copy = 3, .skip = 16384 }, { .copy = 10, .skip = 0 },
		{ .copy = 0, .skip = 7 },
	};
	size_t n;

	n = mk_framed(&u, segs, 3, 13, 16404);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.payload_len, 13);
	assert_int_equal(r.n_segs, 3);
	{
		struct sonde_ebpf_seg got[SONDE_EBPF_SEGS_MAX];

		sonde_ebpf_segs(&r, got);
		assert_memory_equal(got, segs, 3 * sizeof(segs[0]));
	}
	/* the table must be there whole */
	for (size_t i = n - 3 * sizeof(segs[0]); i < n; i++)
		assert_int_equal(sonde_ebpf_decode(u.b, i, &r), -EINVAL);
	/* copies must add up to len, copies and skips to total */
	n = mk_framed(&u, segs, 3, 12, 16404);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_framed(&u, segs, 3, 13, 16403);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_framed(&u, segs, 2, 13, 16397);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	/* no table, or one too long */
	n = mk_framed(&u, segs, 0, 13, 16404);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	for (int i = 0; i <= SONDE_EBPF_SEGS_MAX; i++)
		segs[i] = (struct sonde_ebpf_seg){ .copy = 0, .skip = 1 };
	n = mk_framed(&u, segs, SONDE_EBPF_SEGS_MAX + 1, 0, SONDE_EBPF_SEGS_MAX + 1);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
	n = mk_framed(&u, segs, SONDE_EBPF_SEGS_MAX, 0, SONDE_EBPF_SEGS_MAX);
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.n_segs, SONDE_EBPF_SEGS_MAX);
	/* an unframed record ignores what follows its payload */
	n = mk_framed(&u, segs, 2, 0, 2);
	d->hdr.flags = 0;
	assert_int_equal(sonde_ebpf_decode(u.b, n, &r), 0);
	assert_int_equal(r.n_segs, 0);
}

static void test_other_types(void **state)
{
	union buf u;
	struct sonde_ebpf_record r;
	const struct {
		uint8_t type;
		size_t size;
	} t[] = {
		{ SONDE_EBPF_EV_OPEN, sizeof(struct sonde_ebpf_open) },
		{ SONDE_EBPF_EV_CLOSE, sizeof(struct sonde_ebpf_close) },
		{ SONDE_EBPF_EV_CONNECT, sizeof(struct sonde_ebpf_connect) },
		{ SONDE_EBPF_EV_SSL_PAIR, sizeof(struct sonde_ebpf_ssl_pair) },
		{ SONDE_EBPF_EV_EXEC, sizeof(struct sonde_ebpf_hdr) },
	};
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&u, 0, sizeof(u));
		((struct sonde_ebpf_hdr *)u.b)->type = t[i].type;
		for (n = 0; n < t[i].size; n++)
			assert_int_equal(sonde_ebpf_decode(u.b, n, &r), -EINVAL);
		assert_int_equal(sonde_ebpf_decode(u.b, t[i].size, &r), 0);
		assert_int_equal(r.type, t[i].type);
		assert_null(r.payload);
	}
	memset(&u, 0, sizeof(u));
	((struct sonde_ebpf_connect *)u.b)->hdr.type = SONDE_EBPF_EV_CONNECT;
	((struct sonde_ebpf_connect *)u.b)->local.family = 99;
	assert_int_equal(sonde_ebpf_decode(u.b, sizeof(struct sonde_ebpf_connect), &r),
			 -EINVAL);
}

static void test_addr_convert(void **state)
{
	struct sonde_ebpf_addr in = { .family = AF_INET6, .port = 8080 };
	struct sonde_addr out;

	/* ::ffff:10.1.2.3 */
	in.addr[10] = 0xff;
	in.addr[11] = 0xff;
	in.addr[12] = 10;
	in.addr[13] = 1;
	in.addr[14] = 2;
	in.addr[15] = 3;
	sonde_ebpf_addr_convert(&in, &out);
	assert_int_equal(out.family, AF_INET);
	assert_int_equal(out.port, 8080);
	assert_memory_equal(out.addr, "\x0a\x01\x02\x03\0\0\0\0", 8);
	/* a real IPv6 address stays */
	in.addr[10] = 0xfe;
	sonde_ebpf_addr_convert(&in, &out);
	assert_int_equal(out.family, AF_INET6);
	assert_memory_equal(out.addr, in.addr, 16);
	/* a unix socket's address is an end's identity: kept whole */
	in.family = AF_UNIX;
	in.port = 0;
	sonde_ebpf_addr_convert(&in, &out);
	assert_int_equal(out.family, AF_UNIX);
	assert_memory_equal(out.addr, in.addr, 16);
	in.family = 0;
	sonde_ebpf_addr_convert(&in, &out);
	assert_int_equal(out.family, 0);
	assert_int_equal(out.addr[15], 0);
}

static void name_is(const char *raw, size_t n, size_t room, const char *want)
{
	struct sonde_ebpf_unix_name u = { .len = (uint8_t)n };
	char out[80];

	memcpy(u.name, raw, n);
	memset(out, 'Z', sizeof(out));
	sonde_ebpf_unix_name_string(&u, out, room);
	assert_string_equal(out, want);
}

/* A unix socket's name as a label: paths to their NUL, abstract names
 * with "@", other bytes '?', bounded by the output's room. */
static void test_unix_name_string(void **state)
{
	struct sonde_ebpf_unix_name big = { .len = 200 };
	char out[80];

	(void)state;
	name_is("/run/mysqld/mysqld.sock", 24, 64, "/run/mysqld/mysqld.sock");
	name_is("/tmp/a\0junk", 11, 64, "/tmp/a");
	name_is("\0sonde-live-1", 13, 64, "@sonde-live-1");
	name_is("\0a\0b\n", 5, 64, "@a?b?");
	name_is("/t\xc3\xa9", 5, 64, "/t??");
	name_is("\0", 1, 64, "");
	name_is("", 0, 64, "");
	name_is("/var/run/postgresql/.s.PGSQL.5432", 34, 8, "/var/ru");
	/* a length past the buffer reads no further than it */
	memset(big.name, 'x', sizeof(big.name));
	sonde_ebpf_unix_name_string(&big, out, sizeof(out));
	assert_int_equal(strlen(out), sizeof(big.name));
}

/* Random bytes never decode into something that reads past the record. */
static void test_random(void **state)
{
	union buf u;
	struct sonde_ebpf_record r;
	unsigned seed = 12345, i;
	size_t j, n;

	for (i = 0; i < 20000; i++) {
		n = (size_t)rand_r(&seed) % sizeof(u.b);
		for (j = 0; j < n; j++)
			u.b[j] = (uint8_t)rand_r(&seed);
		if (n)
			u.b[0] = (uint8_t)(rand_r(&seed) % 6);
		if (sonde_ebpf_decode(u.b, n, &r) == 0 && r.type == SONDE_EBPF_EV_DATA)
			assert_true(r.payload + r.payload_len <= u.b + n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_ok),
		cmocka_unit_test(test_data_bad),
		cmocka_unit_test(test_data_tls_flags),
		cmocka_unit_test(test_data_framed),
		cmocka_unit_test(test_other_types),
		cmocka_unit_test(test_addr_convert),
		cmocka_unit_test(test_orphan_and_pair),
		cmocka_unit_test(test_unix_name_string),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
