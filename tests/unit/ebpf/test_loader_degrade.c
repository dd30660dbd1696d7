// SPDX-License-Identifier: MIT
/*
 * What the loader says when the host lacks something, against fixture
 * /sys trees: no BTF, no tracefs, a missing syscall tracepoint. Each is one
 * plain sentence and an error; nothing is loaded, so no privilege needed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader.h"

static int no_records(void *ud, void *data, size_t size)
{
	return 0;
}

static int try_root(const char *sub, char *why, size_t whylen)
{
	const char *fx = getenv("SONDE_FIXTURES");
	struct sonde_ebpf_probe_opts o = { 0 };
	struct sonde_ebpf_probe *p = NULL;
	char root[512];
	int err;

	snprintf(root, sizeof(root), "%s/ebpf/sys/%s", fx ? fx : SONDE_FIXTURES, sub);
	o.sys_root = root;
	o.capture_bytes = 64;
	err = sonde_ebpf_probe_open(&o, no_records, NULL, &p, why, whylen);
	assert_null(p);
	return err;
}

static void test_no_btf(void **state)
{
	char why[256] = "";

	assert_int_equal(try_root("nobtf", why, sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "no BTF"));
	assert_non_null(strstr(why, "CONFIG_DEBUG_INFO_BTF"));
}

static void test_no_tracefs(void **state)
{
	char why[256] = "";

	assert_int_equal(try_root("notracefs", why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "tracefs is not mounted"));
}

static void test_missing_tracepoint(void **state)
{
	char why[256] = "";

	assert_int_equal(try_root("missingtp", why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "syscalls:sys_exit_recvmsg is missing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_btf),
		cmocka_unit_test(test_no_tracefs),
		cmocka_unit_test(test_missing_tracepoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
