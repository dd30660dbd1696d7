// SPDX-License-Identifier: MIT
/* The state file: round trip, fingerprints, hostile content. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "checkpoint.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/sonde-ckpt-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_round_trip(void **state)
{
	char path[128];
	struct sonde_ckpt in[2] = {
		{ .path = "/var/log/a b.log", .dev = 1, .ino = 2, .offset = 3,
		  .skip = true, .head_len = 4, .head_hash = 0xdeadbeefULL,
		  .tail_len = 3, .tail_hash = 0xffffffffffffffffULL },
		{ .path = "/x", .dev = 9, .ino = 8, .offset = 7,
		  .rotated = true },
	};
	struct sonde_ckpt *out = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(sonde_ckpt_save(path, in, 2), 0);
	assert_int_equal(sonde_ckpt_load(path, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].path, "/var/log/a b.log");
	assert_int_equal(out[0].ino, 2);
	assert_true(out[0].skip);
	assert_false(out[0].rotated);
	assert_int_equal(out[0].head_hash, 0xdeadbeefULL);
	assert_int_equal(out[0].tail_hash, 0xffffffffffffffffULL);
	assert_true(out[1].rotated);
	assert_int_equal(out[1].offset, 7);
	sonde_ckpt_free(out, n);
	/* no tmp file left behind */
	snprintf(path, sizeof(path), "%s/state.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_missing_is_empty(void **state)
{
	char path[128];
	struct sonde_ckpt *out = (void *)1;
	size_t n = 5;

	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(sonde_ckpt_load(path, &out, &n), 0);
	assert_null(out);
	assert_int_equal(n, 0);
	sonde_ckpt_free(NULL, 0);
}

static void test_garbage(void **state)
{
	char path[128];
	struct sonde_ckpt *out = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/state", dir);
	write_file(path, "not a state file\n1 2 3 0 0 0 0 0 0 /a\n");
	assert_int_equal(sonde_ckpt_load(path, &out, &n), -EINVAL);
	write_file(path, "sonde-logs-state 1\n"
			 "1 2 3 0 0 99999 0 0 0 /too-long-head\n"
			 "1 2 3 0 0 0 0 0 0 relative\n"
			 "x y z\n"
			 "\n"
			 "1 2 3 0 0 0 0 0 0 /ok\n"
			 "1 2 3 0 0 0 0 0 0 /torn");
	assert_int_equal(sonde_ckpt_load(path, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].path, "/ok");
	sonde_ckpt_free(out, n);
}

static void test_fingerprint(void **state)
{
	char path[128];
	struct sonde_ckpt e = { .path = "/p" };
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/log", dir);
	write_file(path, "hello\nworld\n");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	e.dev = st.st_dev;
	e.ino = st.st_ino;
	e.offset = 6;
	assert_int_equal(sonde_ckpt_fingerprint(fd, &e), 0);
	assert_int_equal(e.tail_len, 6);
	assert_true(sonde_ckpt_matches(fd, &st, &e));
	close(fd);
	/* same inode, same size, other bytes before the offset */
	write_file(path, "HELLO\nworld\n");
	fd = open(path, O_RDONLY);
	assert_int_equal(fstat(fd, &st), 0);
	assert_false(sonde_ckpt_matches(fd, &st, &e));
	close(fd);
	/* shorter than the offset */
	write_file(path, "hel");
	fd = open(path, O_RDONLY);
	assert_int_equal(fstat(fd, &st), 0);
	assert_false(sonde_ckpt_matches(fd, &st, &e));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
