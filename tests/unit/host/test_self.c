// SPDX-License-Identifier: MIT
/* process_* from a fixture /proc/self, and from the real one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "self.h"
#include "snap.h"

static const char *fixtures(void)
{
	const char *e = getenv("SONDE_FIXTURES");

	return e && *e ? e : SONDE_FIXTURES;
}

static struct sonde_snapshot *scrape(struct sonde_registry *reg)
{
	struct sonde_snapshot *snap = NULL;

	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	return snap;
}

static void test_fixture(void **state)
{
	struct sonde_self_cfg cfg = { .enabled = true };
	struct sonde_registry *reg;
	struct sonde_snapshot *snap;
	struct sonde_self *s;
	double hz = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);

	snprintf(cfg.procfs, sizeof(cfg.procfs), "%s/host/proc", fixtures());
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_self_new(reg, &cfg, &s), 0);
	assert_int_equal(sonde_registry_add_collector(reg, sonde_self_collect, s), 0);
	snap = scrape(reg);
	/* comm "sonde (x) y" holds blanks and parens: fields are counted from the last ')'. */
	assert_near(snap_value(snap, "process_cpu_seconds_total", NULL), 380 / hz, 1e-9);
	assert_near(snap_value(snap, "process_virtual_memory_bytes", NULL), 104857600, 0);
	assert_near(snap_value(snap, "process_resident_memory_bytes", NULL), 2560 * page, 0);
	assert_near(snap_value(snap, "process_start_time_seconds", NULL),
		    1418183276 + 12345 / hz, 1e-6);
	assert_near(snap_value(snap, "process_max_fds", NULL), 1024, 0);
	assert_near(snap_value(snap, "process_virtual_memory_max_bytes", NULL),
		    18446744073709551615.0, 0);
	assert_near(snap_value(snap, "process_open_fds", NULL), 4, 0);
	assert_near(snap_value(snap, "sonde_build_info", SONDE_VERSION, NULL), 1, 0);
	assert_near(snap_value(snap, "sonde_self_read_errors_total", NULL), 0, 0);
	sonde_snapshot_free(snap);
	sonde_registry_remove_collector(reg, sonde_self_collect, s);
	sonde_self_free(s);
	sonde_registry_free(reg);
}

static void test_missing(void **state)
{
	struct sonde_self_cfg cfg = { .enabled = true, .procfs = "/nonexistent" };
	struct sonde_registry *reg;
	struct sonde_snapshot *snap;
	struct sonde_self *s;

	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_self_new(reg, &cfg, &s), 0);
	assert_int_equal(sonde_registry_add_collector(reg, sonde_self_collect, s), 0);
	snap = scrape(reg);
	assert_near(snap_value(snap, "sonde_self_read_errors_total", NULL), 4, 0);
	assert_absent(snap_value(snap, "process_cpu_seconds_total", NULL));
	assert_near(snap_value(snap, "sonde_build_info", SONDE_VERSION, NULL), 1, 0);
	sonde_snapshot_free(snap);
	sonde_self_free(s);
	sonde_registry_free(reg);
}

static void test_live(void **state)
{
	struct sonde_self_cfg cfg = { .enabled = true, .procfs = "/proc" };
	struct sonde_registry *reg;
	struct sonde_snapshot *snap;
	struct sonde_self *s;
	struct rlimit rl;
	double rss;
	volatile double spin = 0;

	/* Burn some CPU so the counter is visibly above zero. */
	for (long i = 0; i < 30000000; i++)
		spin += (double)i;
	assert_true(spin > 0);
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_self_new(reg, &cfg, &s), 0);
	assert_int_equal(sonde_registry_add_collector(reg, sonde_self_collect, s), 0);
	snap = scrape(reg);
	assert_true(snap_value(snap, "process_cpu_seconds_total", NULL) > 0);
	rss = snap_value(snap, "process_resident_memory_bytes", NULL);
	assert_true(rss > 100 * 1024 && rss < 4e9);
	assert_true(snap_value(snap, "process_max_fds", NULL) >= 64);
	sonde_snapshot_free(snap);
	/* A soft limit we set ourselves must show up as is. */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 777;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	snap = scrape(reg);
	/* valgrind fakes setrlimit(RLIMIT_NOFILE) without telling the kernel. */
	if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "vgpreload"))
		assert_near(snap_value(snap, "process_max_fds", NULL), 777, 0);
	assert_true(snap_value(snap, "process_open_fds", NULL) >= 3);
	assert_near(snap_value(snap, "sonde_self_read_errors_total", NULL), 0, 0);
	{
		double start = snap_value(snap, "process_start_time_seconds", NULL);

		assert_true(start > 1.5e9 && start <= (double)time(NULL) + 1);
	}
	sonde_snapshot_free(snap);
	sonde_self_free(s);
	sonde_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
