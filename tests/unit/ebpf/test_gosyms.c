// SPDX-License-Identifier: MIT
/*
 * gosyms.c on stand-ins for Go programs (gofixture.S, assembled per
 * variant by CMakeLists.txt): the two hook points land on the right
 * instructions of the file (the JBE of Write's stack check, Read's one
 * real call to runtime.memmove, not the decoy in an immediate), the itab
 * hashes of both symbol spellings are read; each
 * way a program cannot be hooked says so (-ENOTSUP with a reason), and
 * what is not a Go program with TLS is -ENOENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gosyms.h"

static int find(const char *variant, struct sonde_go_tls *g, char *why, size_t whylen)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", GOFIX_DIR, variant);
	memset(g, 0, sizeof(*g));
	return sonde_go_tls_find(path, g, why, whylen);
}

static void bytes_at(const char *variant, uint64_t off, uint8_t *out, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", GOFIX_DIR, variant);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, out, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void test_good(void **state)
{
	struct sonde_go_tls g;
	char why[256];
	uint8_t b[12];

	(void)state;
	assert_int_equal(find("good", &g, why, sizeof(why)), 0);
	assert_int_equal(g.tcp_hash, 0xbc020cb9);  /* "go:itab." */
	assert_int_equal(g.unix_hash, 0x35fd9d63); /* "go.itab." */
	bytes_at("good", g.write_off, b, 2);
	assert_true(b[0] == 0x0f && b[1] == 0x86); /* Write: jbe rel32 */
	/* the real call, right after the 10-byte decoy (movabs rax, imm64) */
	bytes_at("good", g.copy_off - 10, b, 11);
	assert_true(b[0] == 0x48 && b[1] == 0xb8 && b[2] == 0xe8);
	assert_int_equal(b[10], 0xe8);
}

static void expect_unsupported(const char *variant, const char *reason)
{
	struct sonde_go_tls g;
	char why[256];

	assert_int_equal(find(variant, &g, why, sizeof(why)), -ENOTSUP);
	if (!strstr(why, reason))
		fail_msg("%s: reason \"%s\", wanted \"%s\" in it", variant, why, reason);
}

static void test_unsupported(void **state)
{
	(void)state;
	expect_unsupported("stripped", "no symbol table");
	expect_unsupported("oldabi", "stack check");
	expect_unsupported("twocopies", "2 calls to runtime.memmove");
	expect_unsupported("nospill", "spill slot");
	expect_unsupported("noitab", "itab");
}

static void test_not_go_tls(void **state)
{
	struct sonde_go_tls g;
	char why[256];

	(void)state;
	assert_int_equal(find("notls", &g, why, sizeof(why)), -ENOENT);
	assert_int_equal(find("notgo", &g, why, sizeof(why)), -ENOENT);
	assert_int_equal(find("no-such-file", &g, why, sizeof(why)), -ENOENT);
	/* not ELF at all */
	assert_int_equal(sonde_go_tls_find(__FILE__, &g, why, sizeof(why)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_not_go_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
