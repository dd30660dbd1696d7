// SPDX-License-Identifier: MIT
/*
 * gopcln.c: Go's function table and build information, built here in the
 * layouts of Go 1.18+ (magic 0xfffffff0/1: uint32 entries from textStart)
 * and 1.16-1.17 (0xfffffffa: pointer-wide entries); names found with
 * their entries and sizes, names absent, other magics, and every
 * truncation of a table (heap copies of that length, for valgrind);
 * buildinfo versions, including the form of Go 1.17 and cut bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gopcln.h"

static const char *const names[] = { "crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read",
				     "runtime.memmove" };

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/*
 * A table of three functions at text + 0x100, + 0x400, + 0x500 (end
 * + 0x900), named runtime.memmove, crypto/tls.(*Conn).Read, main.main.
 * Returns its length.
 */
static size_t build(uint8_t *t, bool old, uint32_t magic)
{
	static const char funcnames[] = "runtime.memmove\0crypto/tls.(*Conn).Read\0main.main";
	const uint32_t name_offs[3] = { 0, 16, 40 };
	const uint64_t text = 0x401000, entries[4] = { 0x100, 0x400, 0x500, 0x900 };
	size_t names_off = 0x60, ftab_off = 0x100, ent = old ? 16 : 8, funcs_off, i;

	memset(t, 0, 0x200);
	put32(t, magic);
	t[6] = 1;
	t[7] = 8;
	put64(t + 8, 3);
	if (old) {
		put64(t + 24, names_off);
		put64(t + 56, ftab_off);
	} else {
		put64(t + 24, text);
		put64(t + 32, names_off);
		put64(t + 64, ftab_off);
	}
	memcpy(t + names_off, funcnames, sizeof(funcnames));
	funcs_off = ftab_off + 4 * ent; /* the _func records after the table */
	for (i = 0; i < 4; i++) {
		uint8_t *e = t + ftab_off + i * ent;
		uint64_t fo = funcs_off + i * 16 - ftab_off;

		if (old) {
			put64(e, text + entries[i]);
			put64(e + 8, fo);
		} else {
			put32(e, (uint32_t)entries[i]);
			put32(e + 4, (uint32_t)fo);
		}
		if (i < 3) {
			uint8_t *f = t + funcs_off + i * 16;

			if (old)
				put64(f, text + entries[i]);
			else
				put32(f, (uint32_t)entries[i]);
			put32(f + (old ? 8 : 4), name_offs[i]);
		}
	}
	return funcs_off + 3 * 16;
}

/* the .text address the caller passes: used only where textStart is 0 */
#define TEXT_SECTION 0x801000

static int find_heap(const uint8_t *t, size_t len, struct sonde_go_fn *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, t, len);
	r = sonde_go_pcln_find(copy, len, TEXT_SECTION, names, 3, out);
	free(copy);
	return r;
}

static void expect_found(bool old, uint32_t magic)
{
	uint8_t t[0x200];
	size_t len = build(t, old, magic);
	struct sonde_go_fn f[3];

	assert_int_equal(find_heap(t, len, f), 0);
	assert_false(f[0].found); /* Write: not in this table */
	assert_true(f[1].found);
	assert_int_equal(f[1].addr, 0x401400);
	assert_int_equal(f[1].size, 0x100);
	assert_true(f[2].found);
	assert_int_equal(f[2].addr, 0x401100);
	assert_int_equal(f[2].size, 0x300);
}

static void test_layouts(void **state)
{
	(void)state;
	expect_found(false, 0xfffffff0); /* Go 1.18, 1.19 */
	expect_found(false, 0xfffffff1); /* 1.20 on */
	expect_found(true, 0xfffffffa);  /* 1.16, 1.17 */
}

/* textStart 0 (Go 1.27's tables): entries from the .text section's address */
static void test_text_start_zero(void **state)
{
	uint8_t t[0x200];
	size_t len = build(t, false, 0xfffffff1);
	struct sonde_go_fn f[3];

	(void)state;
	put64(t + 24, 0);
	assert_int_equal(find_heap(t, len, f), 0);
	assert_true(f[1].found);
	assert_int_equal(f[1].addr, TEXT_SECTION + 0x400);
	assert_int_equal(f[1].size, 0x100);
	assert_true(f[2].found);
	assert_int_equal(f[2].addr, TEXT_SECTION + 0x100);
}

static void test_not_known(void **state)
{
	uint8_t t[0x200];
	size_t len = build(t, false, 0xfffffff0);
	struct sonde_go_fn f[3];

	(void)state;
	put32(t, 0xfffffffb); /* Go 1.2-1.15 */
	assert_int_equal(find_heap(t, len, f), -1);
	build(t, false, 0xfffffff0);
	t[7] = 4; /* 32-bit */
	assert_int_equal(find_heap(t, len, f), -1);
	build(t, false, 0xfffffff0);
	put64(t + 8, 1u << 30); /* more functions than the table holds */
	assert_int_equal(find_heap(t, len, f), -1);
	build(t, false, 0xfffffff0);
	put64(t + 64, len + 8); /* the table past the end */
	assert_int_equal(find_heap(t, len, f), -1);
}

/* Cut anywhere: -1, or walked with what is whole; never a read past len. */
static void test_truncated(void **state)
{
	uint8_t t[0x200];
	struct sonde_go_fn f[3];
	size_t len, cut;

	(void)state;
	for (int v = 0; v < 2; v++) {
		len = build(t, v == 1, v == 1 ? 0xfffffffa : 0xfffffff1);
		for (cut = 0; cut < len; cut++) {
			int r = find_heap(t, cut, f);

			assert_true(r == 0 || r == -1);
			if (r == 0 && f[1].found)
				assert_int_equal(f[1].addr, 0x401400);
		}
	}
}

/* A name offset pointing outside, or at a name running off the end. */
static void test_bad_names(void **state)
{
	uint8_t t[0x200];
	size_t len = build(t, false, 0xfffffff0);
	struct sonde_go_fn f[3];

	(void)state;
	put32(t + 0x100 + 4 * 8 + 1 * 16 + 4, 0x7fffffff); /* Read's name */
	assert_int_equal(find_heap(t, len, f), 0);
	assert_false(f[1].found);
	assert_true(f[2].found);
}

static size_t buildinfo(uint8_t *b, const char *version, uint8_t flags)
{
	size_t n = strlen(version);

	memset(b, 0, 64);
	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	b[15] = flags;
	b[32] = (uint8_t)n;
	memcpy(b + 33, version, n);
	return 33 + n;
}

static void test_buildinfo(void **state)
{
	uint8_t b[64];
	size_t len;

	(void)state;
	len = buildinfo(b, "go1.19.8", 2);
	assert_int_equal(sonde_go_buildinfo_minor(b, len), 19);
	len = buildinfo(b, "go1.21rc2", 2);
	assert_int_equal(sonde_go_buildinfo_minor(b, len), 21);
	len = buildinfo(b, "devel go1.24-abc", 2);
	assert_int_equal(sonde_go_buildinfo_minor(b, len), 999);
	len = buildinfo(b, "go1.17.3", 0); /* Go 1.17: pointers, not inline */
	assert_int_equal(sonde_go_buildinfo_minor(b, len), -1);
	len = buildinfo(b, "go1.19.8", 2);
	assert_int_equal(sonde_go_buildinfo_minor(b, len - 1), -1); /* cut */
	assert_int_equal(sonde_go_buildinfo_minor(b, 20), -1);
	b[1] = 'X';
	assert_int_equal(sonde_go_buildinfo_minor(b, len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_text_start_zero),
		cmocka_unit_test(test_not_known),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_buildinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
