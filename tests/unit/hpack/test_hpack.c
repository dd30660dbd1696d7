// SPDX-License-Identifier: MIT
/*
 * The HPACK decoder against RFC 7541: the Appendix C examples block by
 * block (headers and the dynamic table after each), every Huffman symbol
 * through an encoder built here from the Appendix B code lengths,
 * malformed blocks, strings longer than SONDE_HPACK_STR_MAX, and the
 * dynamic table against a model over a long run of inserts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "protocols/hpack.h"

/* ---- what the callback saw ---- */

#define GOT_MAX 16

struct got_field {
	size_t name_len, value_len;
	char name[SONDE_HPACK_STR_MAX];
	char value[SONDE_HPACK_STR_MAX];
};

static struct got {
	unsigned n;
	struct got_field f[GOT_MAX];
} got;

static void on_header(const char *name, size_t name_len, const char *value,
		      size_t value_len, void *userdata)
{
	struct got *g = userdata;
	struct got_field *f;

	assert_true(name_len <= SONDE_HPACK_STR_MAX);
	assert_true(value_len <= SONDE_HPACK_STR_MAX);
	assert_true(g->n < GOT_MAX);
	f = &g->f[g->n++];
	f->name_len = name_len;
	f->value_len = value_len;
	memcpy(f->name, name, name_len);
	memcpy(f->value, value, value_len);
}

static int decode(struct sonde_hpack *h, const uint8_t *b, size_t len)
{
	got.n = 0;
	return sonde_hpack_decode(h, b, len, on_header, &got);
}

struct pair {
	const char *name;
	const char *value;
};

static void expect_field(unsigned i, const char *name, const char *value)
{
	assert_true(i < got.n);
	assert_int_equal(got.f[i].name_len, strlen(name));
	assert_memory_equal(got.f[i].name, name, strlen(name));
	assert_int_equal(got.f[i].value_len, strlen(value));
	assert_memory_equal(got.f[i].value, value, strlen(value));
}

static void expect_name(unsigned i, const char *name)
{
	assert_true(i < got.n);
	assert_int_equal(got.f[i].name_len, strlen(name));
	assert_memory_equal(got.f[i].name, name, strlen(name));
}

static void expect_fields(const struct pair *p, unsigned n)
{
	assert_int_equal(got.n, n);
	for (unsigned i = 0; i < n; i++)
		expect_field(i, p[i].name, p[i].value);
}

/* ---- encoding, to build blocks ---- */

struct enc {
	uint8_t b[65536];
	size_t n;
};

/* RFC 7541 5.1: flags in the bits above the prefix of the first byte. */
static void put_int(struct enc *e, uint8_t flags, unsigned bits, uint64_t v)
{
	uint64_t max = (1u << bits) - 1;

	if (v < max) {
		e->b[e->n++] = (uint8_t)(flags | v);
		return;
	}
	e->b[e->n++] = (uint8_t)(flags | max);
	v -= max;
	while (v >= 128) {
		e->b[e->n++] = (uint8_t)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	e->b[e->n++] = (uint8_t)v;
}

static void put_raw(struct enc *e, const void *s, size_t len)
{
	put_int(e, 0, 7, len);
	memcpy(e->b + e->n, s, len);
	e->n += len;
}

/* Appendix B code lengths, symbols 0..256; the codes are canonical. */
static const uint8_t huff_len[257] = {
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
	5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
	13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
	15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
	6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
	30,
};
static uint32_t huff_code[257];

static void huff_build(void)
{
	uint32_t code = 0;
	unsigned prev = 0, k = 0;

	for (unsigned len = 1; len <= 30; len++)
		for (unsigned s = 0; s < 257; s++) {
			if (huff_len[s] != len)
				continue;
			if (k++)
				code = (code + 1) << (len - prev);
			else
				code <<= len;
			prev = len;
			huff_code[s] = code;
		}
}

/* Huffman-codes s into e (length prefix included), padding with ones. */
static void put_huff(struct enc *e, const void *s, size_t len)
{
	static uint8_t tmp[65536];
	const uint8_t *p = s;
	uint64_t acc = 0;
	unsigned nbits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		acc = acc << huff_len[p[i]] | huff_code[p[i]];
		nbits += huff_len[p[i]];
		while (nbits >= 8) {
			tmp[n++] = (uint8_t)(acc >> (nbits - 8));
			nbits -= 8;
		}
	}
	if (nbits)
		tmp[n++] = (uint8_t)(acc << (8 - nbits) | (0xffu >> nbits));
	put_int(e, 0x80, 7, n);
	memcpy(e->b + e->n, tmp, n);
	e->n += n;
}


/* The dynamic table, newest first, read back through indexed fields (which change nothing). */
static void expect_table(struct sonde_hpack *h, const struct pair *p, unsigned n, uint32_t size)
{
	static struct enc e;
	uint32_t sum = 0;

	for (unsigned i = 0; i < n; i++) {
		e.n = 0;
		put_int(&e, 0x80, 7, 62 + i);
		assert_int_equal(decode(h, e.b, e.n), 0);
		assert_int_equal(got.n, 1);
		expect_field(0, p[i].name, p[i].value);
		sum += (uint32_t)(strlen(p[i].name) + strlen(p[i].value) + 32);
	}
	/* The listed entries account for all of it: there are no others. */
	assert_int_equal(sum, size);
	assert_int_equal(sonde_hpack_size(h), size);
	assert_false(sonde_hpack_broken(h));
}

#define DECODE_OK(h, arr) assert_int_equal(decode(h, arr, sizeof(arr)), 0)
#define N(a) (unsigned)(sizeof(a) / sizeof(a[0]))

/* ---- RFC 7541 Appendix C ---- */

static const uint8_t c21[] = {
	0x40, 0x0a, 0x63, 0x75, 0x73, 0x74, 0x6f, 0x6d, 0x2d, 0x6b, 0x65, 0x79,
	0x0d, 0x63, 0x75, 0x73, 0x74, 0x6f, 0x6d, 0x2d, 0x68, 0x65, 0x61, 0x64,
	0x65, 0x72,
};
static const uint8_t c22[] = {
	0x04, 0x0c, 0x2f, 0x73, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2f, 0x70, 0x61,
	0x74, 0x68,
};
static const uint8_t c23[] = {
	0x10, 0x08, 0x70, 0x61, 0x73, 0x73, 0x77, 0x6f, 0x72, 0x64, 0x06, 0x73,
	0x65, 0x63, 0x72, 0x65, 0x74,
};
static const uint8_t c24[] = {
	0x82,
};
static const uint8_t c31[] = {
	0x82, 0x86, 0x84, 0x41, 0x0f, 0x77, 0x77, 0x77, 0x2e, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
};
static const uint8_t c32[] = {
	0x82, 0x86, 0x84, 0xbe, 0x58, 0x08, 0x6e, 0x6f, 0x2d, 0x63, 0x61, 0x63,
	0x68, 0x65,
};
static const uint8_t c33[] = {
	0x82, 0x87, 0x85, 0xbf, 0x40, 0x0a, 0x63, 0x75, 0x73, 0x74, 0x6f, 0x6d,
	0x2d, 0x6b, 0x65, 0x79, 0x0c, 0x63, 0x75, 0x73, 0x74, 0x6f, 0x6d, 0x2d,
	0x76, 0x61, 0x6c, 0x75, 0x65,
};
static const uint8_t c41[] = {
	0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b,
	0xa0, 0xab, 0x90, 0xf4, 0xff,
};
static const uint8_t c42[] = {
	0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf,
};
static const uint8_t c43[] = {
	0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9,
	0x7d, 0x7f, 0x89, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf,
};
static const uint8_t c51[] = {
	0x48, 0x03, 0x33, 0x30, 0x32, 0x58, 0x07, 0x70, 0x72, 0x69, 0x76, 0x61,
	0x74, 0x65, 0x61, 0x1d, 0x4d, 0x6f, 0x6e, 0x2c, 0x20, 0x32, 0x31, 0x20,
	0x4f, 0x63, 0x74, 0x20, 0x32, 0x30, 0x31, 0x33, 0x20, 0x32, 0x30, 0x3a,
	0x31, 0x33, 0x3a, 0x32, 0x31, 0x20, 0x47, 0x4d, 0x54, 0x6e, 0x17, 0x68,
	0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x77, 0x77, 0x77, 0x2e, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
};
static const uint8_t c52[] = {
	0x48, 0x03, 0x33, 0x30, 0x37, 0xc1, 0xc0, 0xbf,
};
static const uint8_t c53[] = {
	0x88, 0xc1, 0x61, 0x1d, 0x4d, 0x6f, 0x6e, 0x2c, 0x20, 0x32, 0x31, 0x20,
	0x4f, 0x63, 0x74, 0x20, 0x32, 0x30, 0x31, 0x33, 0x20, 0x32, 0x30, 0x3a,
	0x31, 0x33, 0x3a, 0x32, 0x32, 0x20, 0x47, 0x4d, 0x54, 0xc0, 0x5a, 0x04,
	0x67, 0x7a, 0x69, 0x70, 0x77, 0x38, 0x66, 0x6f, 0x6f, 0x3d, 0x41, 0x53,
	0x44, 0x4a, 0x4b, 0x48, 0x51, 0x4b, 0x42, 0x5a, 0x58, 0x4f, 0x51, 0x57,
	0x45, 0x4f, 0x50, 0x49, 0x55, 0x41, 0x58, 0x51, 0x57, 0x45, 0x4f, 0x49,
	0x55, 0x3b, 0x20, 0x6d, 0x61, 0x78, 0x2d, 0x61, 0x67, 0x65, 0x3d, 0x33,
	0x36, 0x30, 0x30, 0x3b, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e,
	0x3d, 0x31,
};
static const uint8_t c61[] = {
	0x48, 0x82, 0x64, 0x02, 0x58, 0x85, 0xae, 0xc3, 0x77, 0x1a, 0x4b, 0x61,
	0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05,
	0x95, 0x04, 0x0b, 0x81, 0x66, 0xe0, 0x82, 0xa6, 0x2d, 0x1b, 0xff, 0x6e,
	0x91, 0x9d, 0x29, 0xad, 0x17, 0x18, 0x63, 0xc7, 0x8f, 0x0b, 0x97, 0xc8,
	0xe9, 0xae, 0x82, 0xae, 0x43, 0xd3,
};
static const uint8_t c62[] = {
	0x48, 0x83, 0x64, 0x0e, 0xff, 0xc1, 0xc0, 0xbf,
};
static const uint8_t c63[] = {
	0x88, 0xc1, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44,
	0xa8, 0x20, 0x05, 0x95, 0x04, 0x0b, 0x81, 0x66, 0xe0, 0x84, 0xa6, 0x2d,
	0x1b, 0xff, 0xc0, 0x5a, 0x83, 0x9b, 0xd9, 0xab, 0x77, 0xad, 0x94, 0xe7,
	0x82, 0x1d, 0xd7, 0xf2, 0xe6, 0xc7, 0xb3, 0x35, 0xdf, 0xdf, 0xcd, 0x5b,
	0x39, 0x60, 0xd5, 0xaf, 0x27, 0x08, 0x7f, 0x36, 0x72, 0xc1, 0xab, 0x27,
	0x0f, 0xb5, 0x29, 0x1f, 0x95, 0x87, 0x31, 0x60, 0x65, 0xc0, 0x03, 0xed,
	0x4e, 0xe5, 0xb1, 0x06, 0x3d, 0x50, 0x07,
};

/* C.2: each on a fresh context. */
static void test_c2_literals(void **state)
{
	struct sonde_hpack h = { 0 };
	static const struct pair f21[] = { { "custom-key", "custom-header" } };
	static const struct pair f22[] = { { ":path", "/sample/path" } };
	static const struct pair f23[] = { { "password", "secret" } };
	static const struct pair f24[] = { { ":method", "GET" } };

	sonde_hpack_init(&h);
	DECODE_OK(&h, c21); /* C.2.1 literal with indexing */
	expect_fields(f21, 1);
	expect_table(&h, f21, 1, 55);
	sonde_hpack_fini(&h);

	sonde_hpack_init(&h);
	DECODE_OK(&h, c22); /* C.2.2 without indexing: not inserted */
	expect_fields(f22, 1);
	expect_table(&h, NULL, 0, 0);
	sonde_hpack_fini(&h);

	sonde_hpack_init(&h);
	DECODE_OK(&h, c23); /* C.2.3 never indexed: not inserted */
	expect_fields(f23, 1);
	expect_table(&h, NULL, 0, 0);
	sonde_hpack_fini(&h);

	sonde_hpack_init(&h);
	DECODE_OK(&h, c24); /* C.2.4 indexed */
	expect_fields(f24, 1);
	expect_table(&h, NULL, 0, 0);
	assert_null(h.buf); /* nothing inserted, nothing allocated */
	sonde_hpack_fini(&h);
}

static const struct pair req1[] = {
	{ ":method", "GET" }, { ":scheme", "http" }, { ":path", "/" },
	{ ":authority", "www.example.com" },
};
static const struct pair req2[] = {
	{ ":method", "GET" }, { ":scheme", "http" }, { ":path", "/" },
	{ ":authority", "www.example.com" }, { "cache-control", "no-cache" },
};
static const struct pair req3[] = {
	{ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/index.html" },
	{ ":authority", "www.example.com" }, { "custom-key", "custom-value" },
};
static const struct pair req_t1[] = { { ":authority", "www.example.com" } };
static const struct pair req_t2[] = {
	{ "cache-control", "no-cache" }, { ":authority", "www.example.com" },
};
static const struct pair req_t3[] = {
	{ "custom-key", "custom-value" }, { "cache-control", "no-cache" },
	{ ":authority", "www.example.com" },
};

static void requests(const uint8_t *b1, size_t n1, const uint8_t *b2, size_t n2,
		     const uint8_t *b3, size_t n3)
{
	struct sonde_hpack h = { 0 };

	sonde_hpack_init(&h);
	assert_int_equal(decode(&h, b1, n1), 0);
	expect_fields(req1, N(req1));
	expect_table(&h, req_t1, N(req_t1), 57);
	assert_int_equal(decode(&h, b2, n2), 0);
	expect_fields(req2, N(req2));
	expect_table(&h, req_t2, N(req_t2), 110);
	assert_int_equal(decode(&h, b3, n3), 0);
	expect_fields(req3, N(req3));
	expect_table(&h, req_t3, N(req_t3), 164);
	sonde_hpack_fini(&h);
}

/* C.3: requests without Huffman, one context. */
static void test_c3_requests(void **state)
{
	requests(c31, sizeof(c31), c32, sizeof(c32), c33, sizeof(c33));
}

/* C.4: the same with Huffman. */
static void test_c4_requests_huffman(void **state)
{
	requests(c41, sizeof(c41), c42, sizeof(c42), c43, sizeof(c43));
}

#define DATE1 "Mon, 21 Oct 2013 20:13:21 GMT"
#define DATE2 "Mon, 21 Oct 2013 20:13:22 GMT"
#define LOC "https://www.example.com"
#define COOKIE "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"

static const struct pair resp1[] = {
	{ ":status", "302" }, { "cache-control", "private" }, { "date", DATE1 },
	{ "location", LOC },
};
static const struct pair resp2[] = {
	{ ":status", "307" }, { "cache-control", "private" }, { "date", DATE1 },
	{ "location", LOC },
};
static const struct pair resp3[] = {
	{ ":status", "200" }, { "cache-control", "private" }, { "date", DATE2 },
	{ "location", LOC }, { "content-encoding", "gzip" }, { "set-cookie", COOKIE },
};
static const struct pair resp_t1[] = {
	{ "location", LOC }, { "date", DATE1 }, { "cache-control", "private" },
	{ ":status", "302" },
};
static const struct pair resp_t2[] = {
	{ ":status", "307" }, { "location", LOC }, { "date", DATE1 },
	{ "cache-control", "private" },
};
static const struct pair resp_t3[] = {
	{ "set-cookie", COOKIE }, { "content-encoding", "gzip" }, { "date", DATE2 },
};

/* C.5 and C.6 use a 256-byte table: evictions in every block. */
static void responses(const uint8_t *b1, size_t n1, const uint8_t *b2, size_t n2,
		      const uint8_t *b3, size_t n3)
{
	struct sonde_hpack h = { 0 };

	sonde_hpack_init(&h);
	sonde_hpack_set_limit(&h, 256);
	assert_int_equal(decode(&h, b1, n1), 0);
	expect_fields(resp1, N(resp1));
	expect_table(&h, resp_t1, N(resp_t1), 222);
	assert_int_equal(decode(&h, b2, n2), 0);
	expect_fields(resp2, N(resp2));
	expect_table(&h, resp_t2, N(resp_t2), 222);
	assert_int_equal(decode(&h, b3, n3), 0);
	expect_fields(resp3, N(resp3));
	expect_table(&h, resp_t3, N(resp_t3), 215);
	assert_true(h.cap <= 256);
	sonde_hpack_fini(&h);
}

static void test_c5_responses(void **state)
{
	responses(c51, sizeof(c51), c52, sizeof(c52), c53, sizeof(c53));
}

static void test_c6_responses_huffman(void **state)
{
	responses(c61, sizeof(c61), c62, sizeof(c62), c63, sizeof(c63));
}

/* ---- Huffman ---- */

/* The encoder here is built from the code lengths: check it against codes the RFC lists. */
static void test_huffman_codes(void **state)
{
	assert_int_equal(huff_code[0], 0x1ff8);
	assert_int_equal(huff_code[' '], 0x14);
	assert_int_equal(huff_code['0'], 0x0);
	assert_int_equal(huff_code['a'], 0x3);
	assert_int_equal(huff_code['A'], 0x21);
	assert_int_equal(huff_code['~'], 0x1ffd);
	assert_int_equal(huff_code[10], 0x3ffffffc);
	assert_int_equal(huff_code[200], 0x3ffffe2);
	assert_int_equal(huff_code[255], 0x3ffffee);
	assert_int_equal(huff_code[256], 0x3fffffff);
}

/* Decodes a literal-without-indexing field whose value is Huffman-coded s. */
static int huff_roundtrip(const uint8_t *s, size_t len)
{
	static struct enc e;
	struct sonde_hpack h = { 0 };
	int r;

	e.n = 0;
	put_int(&e, 0x00, 4, 0);
	put_raw(&e, "x", 1);
	put_huff(&e, s, len);
	sonde_hpack_init(&h);
	r = decode(&h, e.b, e.n);
	sonde_hpack_fini(&h);
	return r;
}

static void test_huffman_all_symbols(void **state)
{
	uint8_t all[256];

	/* Each symbol alone: every code length and padding from 0 to 7 bits. */
	for (unsigned s = 0; s < 256; s++) {
		uint8_t c = (uint8_t)s;

		assert_int_equal(huff_roundtrip(&c, 1), 0);
		assert_int_equal(got.n, 1);
		assert_int_equal(got.f[0].value_len, 1);
		assert_int_equal((uint8_t)got.f[0].value[0], c);
	}
	/* All of them in one string, both orders. */
	for (unsigned s = 0; s < 256; s++)
		all[s] = (uint8_t)s;
	assert_int_equal(huff_roundtrip(all, sizeof(all)), 0);
	assert_int_equal(got.f[0].value_len, 256);
	assert_memory_equal(got.f[0].value, all, 256);
	for (unsigned s = 0; s < 256; s++)
		all[s] = (uint8_t)(255 - s);
	assert_int_equal(huff_roundtrip(all, sizeof(all)), 0);
	assert_memory_equal(got.f[0].value, all, 256);
	/* Empty. */
	assert_int_equal(huff_roundtrip(all, 0), 0);
	assert_int_equal(got.f[0].value_len, 0);
}

/* ---- malformed blocks ---- */

struct bad {
	const char *what;
	uint8_t b[16];
	size_t n;
};

static const struct bad bad_blocks[] = {
	{ "index 0", { 0x80 }, 1 },
	{ "index past the static table, dynamic empty", { 0xbe }, 1 },
	{ "name index past the table", { 0x7e, 0x01, 'v' }, 3 },
	{ "name index 70 without indexing", { 0x0f, 0x37, 0x01, 'v' }, 4 },
	/* 127 + 2^28 - 1 + 15 * 2^28 = 2^32 + 126 */
	{ "integer overflow", { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f }, 6 },
	{ "integer of 6 continuation bytes", { 0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 7 },
	{ "truncated integer", { 0xff, 0x80 }, 2 },
	{ "truncated integer at the end", { 0x82, 0x7f }, 2 },
	{ "string length past the end", { 0x00, 0x05, 'a', 'b' }, 4 },
	{ "string length missing", { 0x00, 0x01, 'x' }, 3 },
	{ "huffman length past the end", { 0x00, 0x01, 'x', 0x83, 0x1f, 0xff }, 6 },
	/* 'a' (00011) then 000 */
	{ "huffman padding of zeros", { 0x00, 0x01, 'x', 0x81, 0x18 }, 5 },
	/* 'a' then 0111: the padding must be all ones */
	{ "huffman padding not all ones", { 0x00, 0x01, 'x', 0x81, 0x1e }, 5 },
	/* 'a' then 11 ones */
	{ "huffman padding of 11 bits", { 0x00, 0x01, 'x', 0x82, 0x1f, 0xff }, 6 },
	{ "huffman padding of 8 bits alone", { 0x00, 0x01, 'x', 0x81, 0xff }, 5 },
	/* 30 ones are EOS, 2 more pad */
	{ "EOS in a string", { 0x00, 0x01, 'x', 0x84, 0xff, 0xff, 0xff, 0xff }, 8 },
	/* 'a', EOS, 'a' */
	{ "EOS inside a string", { 0x00, 0x01, 'x', 0x85, 0x1f, 0xff, 0xff, 0xff, 0xe3 }, 9 },
	{ "huffman name with EOS", { 0x40, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00 }, 7 },
	/* 31 + 0x62 + 0x1f << 7 = 4097 */
	{ "size update above the limit", { 0x3f, 0xe2, 0x1f }, 3 },
	{ "size update after a field", { 0x82, 0x20 }, 2 },
	{ "size update after a literal", { 0x00, 0x01, 'x', 0x00, 0x20 }, 5 },
};

static void test_malformed(void **state)
{
	for (unsigned i = 0; i < N(bad_blocks); i++) {
		const struct bad *b = &bad_blocks[i];
		struct sonde_hpack h = { 0 };

		sonde_hpack_init(&h);
		if (decode(&h, b->b, b->n) != -EINVAL || !sonde_hpack_broken(&h))
			fail_msg("%s: not rejected", b->what);
		/* Broken stays broken, even for a good block. */
		assert_int_equal(decode(&h, c24, sizeof(c24)), -EINVAL);
		assert_int_equal(got.n, 0);
		sonde_hpack_fini(&h);
	}
}

/* Just inside the same bounds. */
static void test_edges_accepted(void **state)
{
	struct sonde_hpack h = { 0 };
	/* 5 continuation bytes, redundant zeros: 31 */
	static const uint8_t upd5[] = { 0x3f, 0x80, 0x80, 0x80, 0x80, 0x00, 0x82 };
	/* two updates, then fields: the largest allowed, then 0 */
	static const uint8_t upd2[] = { 0x3f, 0xe1, 0x1f, 0x20, 0x82 };
	/* 'a' 'a' ':' (5 + 5 + 7 bits) and 7 ones */
	static const uint8_t pad7[] = { 0x00, 0x01, 'x', 0x83, 0x18, 0xee, 0x7f };
	/* 'b' (100011) + 'a' (00011) + 5 ones */
	static const uint8_t pad5[] = { 0x00, 0x01, 'x', 0x82, 0x8c, 0x7f };
	static const uint8_t empty_raw[] = { 0x00, 0x00, 0x00 };

	sonde_hpack_init(&h);
	assert_int_equal(sonde_hpack_decode(&h, NULL, 0, on_header, &got), 0);
	assert_int_equal(decode(&h, c31, sizeof(c31)), 0);
	assert_int_equal(sonde_hpack_decode(&h, c32, sizeof(c32), NULL, NULL), 0);
	assert_int_equal(sonde_hpack_size(&h), 110);
	DECODE_OK(&h, upd5);
	assert_int_equal(sonde_hpack_size(&h), 0); /* 31: nothing fits */
	assert_null(h.buf);
	assert_int_equal(got.n, 1);
	DECODE_OK(&h, upd2);
	assert_int_equal(h.max, 0);
	DECODE_OK(&h, pad7);
	expect_field(0, "x", "aa:");
	DECODE_OK(&h, pad5);
	expect_field(0, "x", "ba");
	DECODE_OK(&h, empty_raw);
	expect_field(0, "", "");
	assert_false(sonde_hpack_broken(&h));
	sonde_hpack_fini(&h);
}

/* ---- long strings: cut for the callback, accounted whole ---- */

static void put_indexed(struct enc *e, uint32_t idx)
{
	put_int(e, 0x80, 7, idx);
}

/* Reads index idx back; returns decode's result. */
static int read_index(struct sonde_hpack *h, uint32_t idx)
{
	static struct enc e;

	e.n = 0;
	put_indexed(&e, idx);
	return decode(h, e.b, e.n);
}

static void test_long_value(void **state)
{
	static struct enc e;
	static char v[3000], n[2000];
	struct sonde_hpack h = { 0 };

	memset(v, 'v', sizeof(v));
	memset(n, 'n', sizeof(n));
	sonde_hpack_init(&h);
	/* 6 + 3000 + 32 = 3038 */
	put_int(&e, 0x40, 6, 0);
	put_raw(&e, "x-long", 6);
	put_raw(&e, v, sizeof(v));
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.f[0].value_len, SONDE_HPACK_STR_MAX);
	assert_memory_equal(got.f[0].value, v, SONDE_HPACK_STR_MAX);
	assert_int_equal(sonde_hpack_size(&h), 3038);
	assert_int_equal(read_index(&h, 62), 0);
	assert_int_equal(got.f[0].value_len, SONDE_HPACK_STR_MAX);
	expect_name(0, "x-long");
	/* Huffman too: 1 + 1025 + 32 = 1058, the table is exactly full at 4096. */
	e.n = 0;
	put_int(&e, 0x40, 6, 0);
	put_raw(&e, "b", 1);
	put_huff(&e, v, 1025);
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(got.f[0].value_len, SONDE_HPACK_STR_MAX);
	assert_int_equal(sonde_hpack_size(&h), 4096);
	assert_int_equal(read_index(&h, 63), 0);
	assert_int_equal(got.f[0].name_len, 6);
	/* 33 more: the long entry goes, as its full size says (cut, it would stay). */
	e.n = 0;
	put_int(&e, 0x40, 6, 0);
	put_raw(&e, "c", 1);
	put_raw(&e, "", 0);
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(sonde_hpack_size(&h), 1058 + 33);
	assert_int_equal(read_index(&h, 63), 0);
	assert_int_equal(got.f[0].name_len, 1);
	assert_int_equal(got.f[0].name[0], 'b');
	/* A long name: cut likewise; 2000 + 0 + 32 */
	e.n = 0;
	put_int(&e, 0x40, 6, 0);
	put_huff(&e, n, sizeof(n));
	put_raw(&e, "", 0);
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(got.f[0].name_len, SONDE_HPACK_STR_MAX);
	assert_memory_equal(got.f[0].name, n, SONDE_HPACK_STR_MAX);
	assert_int_equal(sonde_hpack_size(&h), 1091 + 2032);
	/* Its name reused: the full 2000 bytes are accounted again. */
	e.n = 0;
	put_int(&e, 0x40, 6, 62);
	put_raw(&e, "z", 1);
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(got.f[0].name_len, SONDE_HPACK_STR_MAX);
	assert_memory_equal(got.f[0].name, n, SONDE_HPACK_STR_MAX);
	assert_int_equal(got.f[0].value_len, 1);
	assert_int_equal(got.f[0].value[0], 'z');
	/* 3123 + 2033 > 4096: b (1058) and c (33) go */
	assert_int_equal(sonde_hpack_size(&h), 2032 + 2033);
	assert_int_equal(read_index(&h, 64), -EINVAL);
	sonde_hpack_fini(&h);
}

/* RFC 7541 4.4: the name of a new entry may be that of an entry its insertion evicts. */
static void test_name_of_evicted_entry(void **state)
{
	static struct enc e;
	static char v[4100], w[100];
	struct sonde_hpack h = { 0 };

	memset(v, 'v', sizeof(v));
	memset(w, 'w', sizeof(w));
	sonde_hpack_init(&h);
	put_int(&e, 0x40, 6, 0);
	put_raw(&e, "n-ref", 5);
	put_raw(&e, v, 4000);
	/* 4037 + 137 > 4096: the entry named goes first */
	put_int(&e, 0x40, 6, 62);
	put_raw(&e, w, sizeof(w));
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.f[1].name_len, 5);
	assert_memory_equal(got.f[1].name, "n-ref", 5);
	assert_int_equal(sonde_hpack_size(&h), 137);
	assert_int_equal(read_index(&h, 62), 0);
	assert_memory_equal(got.f[0].name, "n-ref", 5);
	assert_int_equal(got.f[0].value_len, 100);
	assert_memory_equal(got.f[0].value, w, 100);
	/* An entry larger than the table empties it and is not kept (4.4). */
	e.n = 0;
	put_int(&e, 0x40, 6, 62);
	put_raw(&e, v, 3960); /* 5 + 3960 + 32 = 3997 fits */
	put_int(&e, 0x40, 6, 0);
	put_raw(&e, "big", 3);
	put_raw(&e, v, 4062); /* 3 + 4062 + 32 = 4097 */
	assert_int_equal(decode(&h, e.b, e.n), 0);
	assert_int_equal(got.n, 2);
	expect_name(1, "big");
	assert_int_equal(got.f[1].value_len, SONDE_HPACK_STR_MAX);
	assert_int_equal(sonde_hpack_size(&h), 0);
	assert_int_equal(read_index(&h, 62), -EINVAL);
	sonde_hpack_fini(&h);
}

/* ---- limits, size updates, lifecycle ---- */

static void test_limit(void **state)
{
	struct sonde_hpack h = { 0 };
	static const uint8_t upd_65536[] = { 0x3f, 0xe1, 0xff, 0x03, 0x82 };
	static const uint8_t upd_65537[] = { 0x3f, 0xe2, 0xff, 0x03, 0x82 };
	static const uint8_t upd_200[] = { 0x3f, 0xa9, 0x01 };
	static const uint8_t upd_100[] = { 0x3f, 0x45 };
	static const uint8_t upd_0[] = { 0x20 };

	sonde_hpack_init(&h);
	assert_int_equal(h.limit, 4096);
	/* Above 4096 before the limit is raised. */
	sonde_hpack_set_limit(&h, 4096);
	assert_int_equal(decode(&h, upd_65536, sizeof(upd_65536)), -EINVAL);
	sonde_hpack_fini(&h);

	sonde_hpack_init(&h);
	sonde_hpack_set_limit(&h, 1u << 31);
	assert_int_equal(h.limit, SONDE_HPACK_LIMIT_MAX);
	assert_int_equal(h.max, 4096); /* raising the limit changes nothing until an update */
	DECODE_OK(&h, upd_65536);
	assert_int_equal(h.max, 65536);
	assert_int_equal(decode(&h, upd_65537, sizeof(upd_65537)), -EINVAL);
	assert_true(sonde_hpack_broken(&h));
	sonde_hpack_fini(&h);

	/* A lower limit shrinks the table at once. */
	sonde_hpack_init(&h);
	DECODE_OK(&h, c31);
	DECODE_OK(&h, c32);
	assert_int_equal(sonde_hpack_size(&h), 110);
	sonde_hpack_set_limit(&h, 100);
	expect_table(&h, req_t2, 1, 53);
	assert_true(h.cap <= 100);
	DECODE_OK(&h, upd_100);
	expect_table(&h, req_t2, 1, 53);
	/* Update to 0 empties the table and frees its storage. */
	DECODE_OK(&h, upd_0);
	assert_int_equal(sonde_hpack_size(&h), 0);
	assert_null(h.buf);
	assert_int_equal(read_index(&h, 62), -EINVAL);
	sonde_hpack_fini(&h);

	sonde_hpack_init(&h);
	sonde_hpack_set_limit(&h, 100);
	assert_int_equal(decode(&h, upd_200, sizeof(upd_200)), -EINVAL);
	sonde_hpack_fini(&h);
}

static void test_fini_init(void **state)
{
	struct sonde_hpack h = { 0 }, zero = { 0 };

	assert_true(sizeof(struct sonde_hpack) < 100);
	sonde_hpack_init(&h);
	DECODE_OK(&h, c51);
	assert_non_null(h.buf);
	sonde_hpack_fini(&h);
	assert_memory_equal(&h, &zero, sizeof(h));
	sonde_hpack_init(&h);
	assert_false(sonde_hpack_broken(&h));
	DECODE_OK(&h, c41);
	expect_table(&h, req_t1, 1, 57);
	sonde_hpack_fini(&h);
	/* fini of a block never used, and twice */
	sonde_hpack_init(&h);
	sonde_hpack_fini(&h);
	sonde_hpack_fini(&h);
}

/* ---- a long run against a model of the table ---- */

/* A string as the model keeps it: s[i] = 'a' + (c + i) % 26. */
struct mstr {
	uint32_t c;
	uint32_t len;
};

struct ment {
	struct mstr name, value;
};

#define MODEL_MAX (SONDE_HPACK_LIMIT_MAX / 32)

static struct model {
	struct ment e[MODEL_MAX]; /* newest first */
	unsigned n;
	uint32_t size, max;
} m;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static uint32_t ment_size(const struct ment *e)
{
	return e->name.len + e->value.len + 32;
}

static void m_evict(void)
{
	m.size -= ment_size(&m.e[--m.n]);
}

static void m_set_max(uint32_t max)
{
	m.max = max;
	while (m.size > max)
		m_evict();
}

static void m_insert(struct ment e)
{
	uint32_t sz = ment_size(&e);

	if (sz > m.max) {
		m.n = 0;
		m.size = 0;
		return;
	}
	while (m.size + sz > m.max)
		m_evict();
	memmove(m.e + 1, m.e, m.n * sizeof(m.e[0]));
	m.e[0] = e;
	m.n++;
	m.size += sz;
}

static void gen(char *out, struct mstr s)
{
	for (uint32_t i = 0; i < s.len; i++)
		out[i] = (char)('a' + (s.c + i) % 26);
}

static void put_mstr(struct enc *e, struct mstr s)
{
	static char buf[4096];

	gen(buf, s);
	if (rnd(2))
		put_huff(e, buf, s.len);
	else
		put_raw(e, buf, s.len);
}

static void expect_mstr(const char *got_s, size_t got_len, struct mstr s)
{
	static char buf[4096];
	size_t cut = s.len < SONDE_HPACK_STR_MAX ? s.len : SONDE_HPACK_STR_MAX;

	gen(buf, s);
	assert_int_equal(got_len, cut);
	assert_memory_equal(got_s, buf, cut);
}

static struct mstr rnd_mstr(uint32_t longer_one_in, uint32_t short_max, uint32_t long_min,
			    uint32_t long_max)
{
	struct mstr s = { rnd(26), 0 };

	if (rnd(longer_one_in) == 0)
		s.len = long_min + rnd(long_max - long_min + 1);
	else
		s.len = 1 + rnd(short_max);
	return s;
}

static void m_check_all(struct sonde_hpack *h)
{
	for (unsigned i = 0; i < m.n; i++) {
		assert_int_equal(read_index(h, 62 + i), 0);
		expect_mstr(got.f[0].name, got.f[0].name_len, m.e[i].name);
		expect_mstr(got.f[0].value, got.f[0].value_len, m.e[i].value);
	}
}

static void test_model_run(void **state)
{
	static struct enc e;
	struct ment want[4];
	struct sonde_hpack h = { 0 };
	uint32_t peak = 0;

	sonde_hpack_init(&h);
	sonde_hpack_set_limit(&h, SONDE_HPACK_LIMIT_MAX);
	m.n = 0;
	m.size = 0;
	m.max = 4096;
	for (unsigned iter = 0; iter < 4000; iter++) {
		unsigned nf = 1 + rnd(4);

		e.n = 0;
		if (rnd(8) == 0) {
			uint32_t max, pick = rnd(4);

			max = pick == 0 ? 0 : pick == 1 ? SONDE_HPACK_LIMIT_MAX
			    : pick == 2 ? rnd(SONDE_HPACK_LIMIT_MAX + 1) : rnd(4097);
			put_int(&e, 0x20, 5, max);
			m_set_max(max);
		}
		for (unsigned f = 0; f < nf; f++) {
			struct ment x;
			uint32_t kind = rnd(4);

			if (kind == 0 && m.n) {
				uint32_t k = rnd(m.n);

				put_indexed(&e, 62 + k);
				want[f] = m.e[k];
				continue;
			}
			if (m.n && rnd(3) == 0) {
				uint32_t k = rnd(m.n);

				x.name = m.e[k].name;
				put_int(&e, kind == 3 ? 0x10 : 0x40, kind == 3 ? 4 : 6, 62 + k);
			} else {
				x.name = rnd_mstr(16, 20, 1000, 1500);
				put_int(&e, kind == 3 ? 0x10 : 0x40, kind == 3 ? 4 : 6, 0);
				put_mstr(&e, x.name);
			}
			x.value = rnd_mstr(6, 60, 1000, 3000);
			put_mstr(&e, x.value);
			if (kind != 3)
				m_insert(x);
			want[f] = x;
		}
		assert_int_equal(decode(&h, e.b, e.n), 0);
		assert_int_equal(got.n, nf);
		for (unsigned f = 0; f < nf; f++) {
			expect_mstr(got.f[f].name, got.f[f].name_len, want[f].name);
			expect_mstr(got.f[f].value, got.f[f].value_len, want[f].value);
		}
		assert_int_equal(sonde_hpack_size(&h), m.size);
		assert_int_equal(h.max, m.max);
		/* The storage never exceeds the table's maximum size. */
		assert_true(h.cap <= h.max);
		if (h.cap > peak)
			peak = h.cap;
		if (iter % 100 == 0)
			m_check_all(&h);
	}
	m_check_all(&h);
	assert_true(peak <= SONDE_HPACK_LIMIT_MAX);
	print_message("model run: %u entries at the end, storage peak %u bytes\n", m.n, peak);
	assert_int_equal(read_index(&h, 62 + m.n), -EINVAL);
	sonde_hpack_fini(&h);
}

/* Many small entries at the largest size: the most descriptors, many compactions. */
static void test_small_entries(void **state)
{
	static struct enc e;
	static const uint8_t upd_65536[] = { 0x3f, 0xe1, 0xff, 0x03 };
	struct sonde_hpack h = { 0 };

	sonde_hpack_init(&h);
	sonde_hpack_set_limit(&h, SONDE_HPACK_LIMIT_MAX);
	DECODE_OK(&h, upd_65536);
	for (unsigned i = 0; i < 5000; i++) {
		char name[8];
		int n = snprintf(name, sizeof(name), "%u", i);

		e.n = 0;
		put_int(&e, 0x40, 6, 0);
		put_raw(&e, name, (size_t)n);
		put_raw(&e, "", 0);
		assert_int_equal(decode(&h, e.b, e.n), 0);
		assert_true(h.cap <= h.max);
	}
	/* 65536 / (32 + 4) entries of 4-digit names */
	assert_int_equal(sonde_hpack_size(&h), 1820 * 36);
	assert_int_equal(read_index(&h, 62), 0);
	expect_field(0, "4999", "");
	assert_int_equal(read_index(&h, 62 + 1819), 0);
	expect_field(0, "3180", "");
	assert_int_equal(read_index(&h, 62 + 1820), -EINVAL);
	sonde_hpack_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c2_literals),
		cmocka_unit_test(test_c3_requests),
		cmocka_unit_test(test_c4_requests_huffman),
		cmocka_unit_test(test_c5_responses),
		cmocka_unit_test(test_c6_responses_huffman),
		cmocka_unit_test(test_huffman_codes),
		cmocka_unit_test(test_huffman_all_symbols),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_edges_accepted),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_name_of_evicted_entry),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_fini_init),
		cmocka_unit_test(test_model_run),
		cmocka_unit_test(test_small_entries),
	};

	huff_build();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
