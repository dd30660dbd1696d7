// SPDX-License-Identifier: MIT
/* sonde_cgroupfs_v2_find over the fixture cgroup trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cgroupfs.h"

static const char *tree(const char *name)
{
	static char p[512];
	const char *e = getenv("SONDE_FIXTURES");

	snprintf(p, sizeof(p), "%s/host/cgroup/%s", e && *e ? e : SONDE_FIXTURES, name);
	return p;
}

static void test_v2_is_the_root(void **state)
{
	char dir[512], want[512];

	(void)state;
	snprintf(want, sizeof(want), "%s", tree("v2"));
	assert_int_equal(sonde_cgroupfs_v2_find(want, dir, sizeof(dir)), SONDE_CGROUPFS_V2_ROOT);
	assert_string_equal(dir, want);
}

static void test_hybrid_is_unified(void **state)
{
	char dir[512], want[600];

	(void)state;
	snprintf(want, sizeof(want), "%s/unified", tree("hybrid"));
	assert_int_equal(sonde_cgroupfs_v2_find(tree("hybrid"), dir, sizeof(dir)),
			 SONDE_CGROUPFS_V2_UNIFIED);
	assert_string_equal(dir, want);
}

/* NONE, and dir emptied of what it held. */
static void assert_none(const char *cgroupfs, size_t dirlen)
{
	char dir[512] = "stale";

	assert_true(dirlen <= sizeof(dir));
	assert_int_equal(sonde_cgroupfs_v2_find(cgroupfs, dir, dirlen), SONDE_CGROUPFS_V2_NONE);
	assert_string_equal(dir, "");
}

static void test_v1_has_none(void **state)
{
	(void)state;
	assert_none(tree("v1"), 512);
	assert_none("/nonexistent", 512);
}

static void test_too_long_is_none(void **state)
{
	(void)state;
	assert_none(tree("v2"), 8);
	assert_none(tree("hybrid"), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_is_the_root),
		cmocka_unit_test(test_hybrid_is_unified),
		cmocka_unit_test(test_v1_has_none),
		cmocka_unit_test(test_too_long_is_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
