// SPDX-License-Identifier: MIT
/*
 * sonde_tls_libs_find (probes/ebpf/tlslibs.c) on fixture trees in a
 * mkdtemp directory: the exact list and its order (every libssl.so.3
 * before any libssl.so.1.1, then the directory order), one entry per file
 * when a merged-/usr /lib symlink reaches it twice, directories named like
 * the library left out, max honoured (nothing written past it), an empty
 * root giving nothing, paths too long for the output skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tlslibs.h"

struct fixture {
	char root[64];
};

/* a/b in out (PATH_MAX) */
static void join(char *out, const char *a, const char *b)
{
	int len = snprintf(out, PATH_MAX, "%s/%s", a, b);

	assert_true(len > 0 && len < PATH_MAX);
}

static void path_of(const struct fixture *f, const char *rel, char *out, size_t n)
{
	assert_int_equal(n, PATH_MAX);
	join(out, f->root, rel);
}

static void mkdirs(const struct fixture *f, const char *rel)
{
	char p[PATH_MAX], *s;

	path_of(f, rel, p, sizeof(p));
	for (s = p + strlen(f->root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void mkfile(const struct fixture *f, const char *rel)
{
	char p[PATH_MAX];
	int fd;

	path_of(f, rel, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\177ELF", 4), 4);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/sonde-tlslibs-XXXXXX");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int err = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	free(f);
	return err;
}

/* The fixture's own paths, as the function prints them */
static void expect_list(const struct fixture *f, char (*got)[SONDE_TLS_LIB_PATH_MAX],
			unsigned n, const char *const *want, unsigned n_want)
{
	unsigned i;

	assert_int_equal(n, n_want);
	for (i = 0; i < n; i++) {
		char p[PATH_MAX];

		path_of(f, want[i], p, sizeof(p));
		assert_string_equal(got[i], p);
	}
}

/*
 * <root>/usr/lib/x86_64-linux-gnu/{libssl.so.3,libssl.so.1.1}, <root>/lib ->
 * usr/lib (so /lib/x86_64-linux-gnu reaches the same two files again),
 * <root>/usr/lib64/libssl.so.3 -> libssl.so.3.0.7 (a symlink to the file,
 * as Fedora has it), <root>/usr/lib64/libssl.so.1.1, <root>/lib64 ->
 * usr/lib64 (the /usr path is the one listed),
 * <root>/usr/local/lib/libssl.so.3 (the last directory looked in),
 * <root>/usr/lib/aarch64-linux-gnu/libssl.so.3 a directory,
 * <root>/usr/lib/libssl.so.3 a dangling symlink.
 */
static void build_tree(const struct fixture *f)
{
	char p[PATH_MAX];

	mkdirs(f, "usr/lib/x86_64-linux-gnu");
	mkdirs(f, "usr/lib/aarch64-linux-gnu/libssl.so.3");
	mkdirs(f, "usr/lib64");
	mkdirs(f, "usr/local/lib");
	mkfile(f, "usr/lib/x86_64-linux-gnu/libssl.so.3");
	mkfile(f, "usr/lib/x86_64-linux-gnu/libssl.so.1.1");
	mkfile(f, "usr/lib64/libssl.so.3.0.7");
	mkfile(f, "usr/lib64/libssl.so.1.1");
	mkfile(f, "usr/local/lib/libssl.so.3");
	path_of(f, "lib", p, sizeof(p));
	assert_int_equal(symlink("usr/lib", p), 0);
	path_of(f, "lib64", p, sizeof(p));
	assert_int_equal(symlink("usr/lib64", p), 0);
	path_of(f, "usr/lib64/libssl.so.3", p, sizeof(p));
	assert_int_equal(symlink("libssl.so.3.0.7", p), 0);
	path_of(f, "usr/lib/libssl.so.3", p, sizeof(p));
	assert_int_equal(symlink("libssl.so.3.0.99", p), 0);
}

static const char *const full_list[] = {
	"usr/lib/x86_64-linux-gnu/libssl.so.3",
	"usr/lib64/libssl.so.3",
	"usr/local/lib/libssl.so.3",
	"usr/lib/x86_64-linux-gnu/libssl.so.1.1",
	"usr/lib64/libssl.so.1.1",
};

static void test_tree(void **state)
{
	struct fixture *f = *state;
	char out[8][SONDE_TLS_LIB_PATH_MAX];
	char p[PATH_MAX];
	struct stat st;
	unsigned n;

	build_tree(f);
	/* the symlink does reach the same file (the dedup is what is tested) */
	path_of(f, "lib/x86_64-linux-gnu/libssl.so.3", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	n = sonde_tls_libs_find(f->root, out, 8);
	expect_list(f, out, n, full_list, 5);
}

/* max bounds the count, and nothing is written past out[max - 1]. */
static void test_max(void **state)
{
	struct fixture *f = *state;
	char out[8][SONDE_TLS_LIB_PATH_MAX];
	unsigned max, i;

	build_tree(f);
	for (max = 0; max <= 6; max++) {
		unsigned want = max < 5 ? max : 5;

		memset(out, 'Z', sizeof(out));
		assert_int_equal(sonde_tls_libs_find(f->root, out, max), want);
		expect_list(f, out, want, full_list, want);
		for (i = max; i < 8; i++) {
			char z[SONDE_TLS_LIB_PATH_MAX];

			memset(z, 'Z', sizeof(z));
			assert_memory_equal(out[i], z, sizeof(z));
		}
	}
}

static void test_empty_root(void **state)
{
	struct fixture *f = *state;
	char out[4][SONDE_TLS_LIB_PATH_MAX];

	assert_int_equal(sonde_tls_libs_find(f->root, out, 4), 0);
	/* directories but no library */
	mkdirs(f, "usr/lib/x86_64-linux-gnu");
	mkdirs(f, "usr/lib64");
	assert_int_equal(sonde_tls_libs_find(f->root, out, 4), 0);
}

/* Only the library names it knows: libssl.so (dev link), .so.3.0, libcrypto no */
static void test_other_names(void **state)
{
	struct fixture *f = *state;
	char out[4][SONDE_TLS_LIB_PATH_MAX];
	static const char *const want[] = { "usr/lib64/libssl.so.1.1" };

	mkdirs(f, "usr/lib/x86_64-linux-gnu");
	mkdirs(f, "usr/lib64");
	mkfile(f, "usr/lib/x86_64-linux-gnu/libssl.so");
	mkfile(f, "usr/lib/x86_64-linux-gnu/libssl.so.3.0");
	mkfile(f, "usr/lib/x86_64-linux-gnu/libcrypto.so.3");
	mkfile(f, "usr/lib64/libssl.so.1.1");
	expect_list(f, out, sonde_tls_libs_find(f->root, out, 4), want, 1);
}

/* <root>/<pad> exactly len characters long, in *root; pad in *pad. */
static void long_root(const struct fixture *f, char c, size_t len, char *root, char *pad)
{
	size_t have = strlen(f->root), plen = 0;

	assert_true(have + 2 < len);
	pad[plen++] = c; /* its own top directory per c */
	have += 2;
	while (have < len) {
		size_t k = len - have - 1 < 60 ? len - have - 1 : 60;

		pad[plen++] = '/';
		memset(pad + plen, c, k ? k : 1);
		plen += k ? k : 1;
		have += 1 + (k ? k : 1);
	}
	pad[plen] = '\0';
	path_of(f, pad, root, PATH_MAX);
	assert_int_equal(strlen(root), len);
}

static void mkfile_in(const struct fixture *f, const char *pad, const char *rel)
{
	char p[PATH_MAX];

	join(p, pad, rel);
	mkfile(f, p);
}

/*
 * Paths at SONDE_TLS_LIB_PATH_MAX (256 with the NUL): listed up to 255
 * characters, skipped from 256 on, never cut (each path cut to 255 names
 * a file that exists here).
 */
static void test_long_root(void **state)
{
	struct fixture *f = *state;
	char root[PATH_MAX], pad[PATH_MAX], want[PATH_MAX], p[PATH_MAX];
	char out[4][SONDE_TLS_LIB_PATH_MAX];

	/* 233 + strlen("/usr/lib64/libssl.so.3") = 255: listed;
	 * 233 + strlen("/usr/lib64/libssl.so.1.1") = 257: skipped */
	long_root(f, 'd', 233, root, pad);
	join(p, pad, "usr/lib64");
	mkdirs(f, p);
	mkfile_in(f, pad, "usr/lib64/libssl.so.3");
	mkfile_in(f, pad, "usr/lib64/libssl.so.1.1");
	mkfile_in(f, pad, "usr/lib64/libssl.so.1"); /* .so.1.1 cut to 255 */
	assert_int_equal(sonde_tls_libs_find(root, out, 4), 1);
	assert_int_equal(strlen(out[0]), 255);
	join(want, root, "usr/lib64/libssl.so.3");
	assert_string_equal(out[0], want);

	/* 234 + strlen("/usr/lib64/libssl.so.3") = 256: skipped;
	 * 234 + strlen("/usr/lib/libssl.so.3") = 254: listed */
	long_root(f, 'e', 234, root, pad);
	join(p, pad, "usr/lib64");
	mkdirs(f, p);
	mkfile_in(f, pad, "usr/lib64/libssl.so.3");
	mkfile_in(f, pad, "usr/lib64/libssl.so."); /* .so.3 cut to 255 */
	join(p, pad, "usr/lib");
	mkdirs(f, p);
	mkfile_in(f, pad, "usr/lib/libssl.so.3");
	assert_int_equal(sonde_tls_libs_find(root, out, 4), 1);
	join(want, root, "usr/lib/libssl.so.3");
	assert_string_equal(out[0], want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_root, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
