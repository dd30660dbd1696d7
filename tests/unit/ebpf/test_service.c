// SPDX-License-Identifier: MIT
/* Service identity: cgroup parsing and the per-pid cache over a fixture /proc. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service.h"

static void check(const char *text, int want_err, const char *want)
{
	char out[SONDE_TXN_SERVICE_LEN] = "untouched";
	int err = sonde_service_from_cgroup(text, strlen(text), out, sizeof(out));

	assert_int_equal(err, want_err);
	assert_string_equal(out, want_err ? "untouched" : want);
}

static void test_cgroup_parse(void **state)
{
	check("0::/system.slice/nginx.service\n", 0, "nginx.service");
	check("0::/system.slice/nginx.service", 0, "nginx.service"); /* no newline */
	check("0::/user.slice/user-0.slice/session-3.scope\n", -ENOENT, "");
	check("0::/\n", -ENOENT, "");
	check("", -ENOENT, "");
	/* v1/hybrid: the named systemd hierarchy; controllers are ignored */
	check("4:memory:/system.slice/wrong.service\n1:name=systemd:/system.slice/redis-server.service\n",
	      0, "redis-server.service");
	/* the unified line wins over the named one */
	check("1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n",
	      0, "b.service");
	/* the innermost service: templated units, nested slices */
	check("0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n", 0,
	      "postgresql@15-main.service");
	check("0::/system.slice/docker.service/abc\n", 0, "docker.service");
	/* ".service" alone and hostile bytes */
	check("0::/.service\n", -ENOENT, "");
	check("0::", -ENOENT, "");
	check(":::::\n::\n\n", -ENOENT, "");
}

static void test_cgroup_truncates(void **state)
{
	char text[400], out[16];
	size_t i;

	strcpy(text, "0::/");
	for (i = 4; i < 300; i++)
		text[i] = 'x';
	strcpy(text + 300, ".service\n");
	assert_int_equal(sonde_service_from_cgroup(text, strlen(text), out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 15);
}

static void test_cache_over_fixture(void **state)
{
	struct sonde_service_cache *c;
	struct sonde_service_info *si;
	const char *fx = getenv("SONDE_FIXTURES");
	char root[512];

	snprintf(root, sizeof(root), "%s/ebpf/proc", fx ? fx : SONDE_FIXTURES);
	assert_int_equal(sonde_service_cache_new(64, 1000, root, &c), 0);
	si = sonde_service_lookup(c, 100, 1, NULL);
	assert_string_equal(si->process, "nginx");
	assert_string_equal(si->service, "nginx.service");
	si = sonde_service_lookup(c, 200, 1, NULL);
	assert_string_equal(si->process, "python3");
	assert_string_equal(si->service, "python3"); /* a scope: the process name */
	si = sonde_service_lookup(c, 300, 1, NULL);
	assert_string_equal(si->service, "redis-server.service");
	si = sonde_service_lookup(c, 400, 1, NULL);
	assert_string_equal(si->service, "postgresql@15-main.service");
	si = sonde_service_lookup(c, 999, 1, NULL); /* gone */
	assert_string_equal(si->process, "");
	assert_string_equal(si->service, "");

	/* slots survive until the entry expires, then are cleared */
	si = sonde_service_lookup(c, 100, 2, NULL);
	si->slot[0] = si;
	assert_ptr_equal(sonde_service_lookup(c, 100, 500, NULL)->slot[0], si);
	assert_null(sonde_service_lookup(c, 100, 5000, NULL)->slot[0]);
	/* a colliding pid replaces the entry (direct-mapped) */
	si = sonde_service_lookup(c, 100 + 64, 6000, NULL);
	assert_int_equal(si->tgid, 164);
	assert_string_equal(sonde_service_lookup(c, 100, 6000, NULL)->process, "nginx");
	/* gone from /proc: the kernel's name stands in, and is not kept */
	si = sonde_service_lookup(c, 998, 7000, "redis-cli");
	assert_string_equal(si->process, "redis-cli");
	assert_string_equal(si->service, "redis-cli");
	si = sonde_service_lookup(c, 998, 7000, NULL);
	assert_string_equal(si->process, "");
	/* a live process ignores the hint */
	si = sonde_service_lookup(c, 100, 8000, "other");
	assert_string_equal(si->process, "nginx");
	sonde_service_cache_free(c);
	sonde_service_cache_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_parse),
		cmocka_unit_test(test_cgroup_truncates),
		cmocka_unit_test(test_cache_over_fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
