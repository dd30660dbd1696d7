// SPDX-License-Identifier: MIT
/* Per-service cgroup readings on v2, v1 and hybrid fixture trees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services.h"
#include "snap.h"

struct fx {
	struct sonde_registry *reg;
	struct sonde_services *svc;
	struct sonde_snapshot *snap;
};

static const char *fixtures(void)
{
	const char *e = getenv("SONDE_FIXTURES");

	return e && *e ? e : SONDE_FIXTURES;
}

static void fx_open(struct fx *fx, const char *tree, long long max_units, const char *pattern)
{
	struct sonde_services_cfg cfg = { .enabled = true, .max_units = max_units };

	snprintf(cfg.cgroupfs, sizeof(cfg.cgroupfs), "%s/host/cgroup/%s", fixtures(), tree);
	if (pattern) {
		strcpy(cfg.units[0], pattern);
		cfg.n_units = 1;
	}
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(sonde_registry_new(0, &fx->reg), 0);
	assert_int_equal(sonde_services_new(fx->reg, &cfg, &fx->svc), 0);
	assert_int_equal(sonde_registry_add_collector(fx->reg, sonde_services_collect, fx->svc), 0);
}

static void fx_scrape(struct fx *fx)
{
	sonde_snapshot_free(fx->snap);
	fx->snap = NULL;
	assert_int_equal(sonde_registry_snapshot(fx->reg, &fx->snap), 0);
}

static void fx_close(struct fx *fx)
{
	sonde_snapshot_free(fx->snap);
	sonde_services_free(fx->svc);
	sonde_registry_free(fx->reg);
}

/* nginx.service carries the same numbers in every layout's fixture. */
static void check_nginx(struct fx *fx, double procs, bool io_nvme)
{
	const struct sonde_snapshot *s = fx->snap;

	assert_near(snap_value(s, "sonde_service_cpu_seconds_total", "nginx.service", "user", NULL),
		    2.5, 1e-9);
	assert_near(snap_value(s, "sonde_service_cpu_seconds_total", "nginx.service", "system",
			       NULL),
		    1.0, 1e-9);
	assert_near(snap_value(s, "sonde_service_memory_bytes", "nginx.service", NULL), 52428800, 0);
	assert_near(snap_value(s, "sonde_service_io_bytes_total", "nginx.service", "read", NULL),
		    1048576 + (io_nvme ? 1000 : 0), 0);
	assert_near(snap_value(s, "sonde_service_io_bytes_total", "nginx.service", "write", NULL),
		    4096 + (io_nvme ? 2000 : 0), 0);
	assert_near(snap_value(s, "sonde_service_processes", "nginx.service", NULL), procs, 0);
}

static void check_nginx_psi(struct fx *fx)
{
	const struct sonde_snapshot *s = fx->snap;

	assert_near(snap_value(s, "sonde_service_pressure_cpu_waiting_seconds_total",
			       "nginx.service", NULL),
		    1.5, 1e-9);
	assert_near(snap_value(s, "sonde_service_pressure_cpu_stalled_seconds_total",
			       "nginx.service", NULL),
		    0.5, 1e-9);
	assert_near(snap_value(s, "sonde_service_pressure_memory_waiting_seconds_total",
			       "nginx.service", NULL),
		    0.002, 1e-12);
	assert_near(snap_value(s, "sonde_service_pressure_io_stalled_seconds_total",
			       "nginx.service", NULL),
		    0.2, 1e-9);
}

static void test_v2(void **state)
{
	struct fx fx;

	fx_open(&fx, "v2", 200, NULL);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_services_cgroup_layout", "v2", NULL), 1, 0);
	/* 2 in the unit's cgroup + 3 in its child cgroup */
	check_nginx(&fx, 5, true);
	check_nginx_psi(&fx);
	/* Units in nested slices are found; non-matching units (.mount) and other slices are not. */
	assert_near(snap_value(fx.snap, "sonde_service_cpu_seconds_total", "getty@tty1.service",
			       "system", NULL),
		    0.02, 1e-12);
	assert_near(snap_value(fx.snap, "sonde_service_processes", "getty@tty1.service", NULL), 1,
		    0);
	assert_absent(snap_value(fx.snap, "sonde_service_processes", "var-lib.mount", NULL));
	assert_int_equal(snap_count(fx.snap, "sonde_service_processes"), 3);
	assert_near(snap_value(fx.snap, "sonde_services_units", NULL), 3, 0);
	assert_near(snap_value(fx.snap, "sonde_services_units_dropped_total", NULL), 0, 0);
	/* Files a unit lacks (redis has no memory.current) give no series, not zeros. */
	assert_absent(snap_value(fx.snap, "sonde_service_memory_bytes", "redis.service", NULL));
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "services", NULL), 1, 0);
	fx_close(&fx);
}

static void test_v1(void **state)
{
	struct fx fx;

	fx_open(&fx, "v1", 200, NULL);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_services_cgroup_layout", "v1", NULL), 1, 0);
	/* ns counters win over the tick-based cpuacct.stat; the recursive blkio file wins. */
	check_nginx(&fx, 3, true);
	/* Old kernels: cpuacct.stat in USER_HZ ticks. */
	assert_near(snap_value(fx.snap, "sonde_service_cpu_seconds_total", "old.service", "user",
			       NULL),
		    250 / (double)sysconf(_SC_CLK_TCK), 1e-9);
	assert_near(snap_value(fx.snap, "sonde_service_processes", "old.service", NULL), 1, 0);
	assert_int_equal(snap_count(fx.snap, "sonde_service_pressure_cpu_waiting_seconds_total"), 0);
	fx_close(&fx);
}

/* Distributions that co-mount cpu and cpuacct as "cpu,cpuacct" without symlinks. */
static void test_v1_combined(void **state)
{
	struct fx fx;

	fx_open(&fx, "v1-combined", 200, NULL);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_services_cgroup_layout", "v1", NULL), 1, 0);
	/* The tick-based split (4 : 0.5) scaled to the precise cpuacct.usage (3.6 s). */
	assert_near(snap_value(fx.snap, "sonde_service_cpu_seconds_total", "app.service", "user",
			       NULL),
		    3.2, 1e-9);
	assert_near(snap_value(fx.snap, "sonde_service_cpu_seconds_total", "app.service", "system",
			       NULL),
		    0.4, 1e-9);
	assert_near(snap_value(fx.snap, "sonde_service_memory_bytes", "app.service", NULL), 1234, 0);
	assert_near(snap_value(fx.snap, "sonde_service_processes", "app.service", NULL), 3, 0);
	/* No blkio hierarchy: no I/O series. */
	assert_int_equal(snap_count(fx.snap, "sonde_service_io_bytes_total"), 0);
	fx_close(&fx);
}

static void write_num(const char *dir, const char *file, const char *v)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu,cpuacct/system.slice/app.service/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(v, f);
	fclose(f);
}

/* The scaled split never lets user or system go back, and always sums to the precise total. */
static void test_v1_split_monotonic(void **state)
{
	char tmp[] = "/tmp/sonde-svc-XXXXXX", cmd[2048];
	struct sonde_services_cfg cfg = { .enabled = true, .max_units = 10 };
	struct sonde_registry *reg;
	struct sonde_services *svc;
	struct sonde_snapshot *snap = NULL;
	double u1, s1, u2, s2;

	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -r '%s/host/cgroup/v1-combined/.' '%s'", fixtures(), tmp);
	assert_int_equal(system(cmd), 0);
	snprintf(cfg.cgroupfs, sizeof(cfg.cgroupfs), "%s", tmp);
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_services_new(reg, &cfg, &svc), 0);
	assert_int_equal(sonde_registry_add_collector(reg, sonde_services_collect, svc), 0);
	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	u1 = snap_value(snap, "sonde_service_cpu_seconds_total", "app.service", "user", NULL);
	s1 = snap_value(snap, "sonde_service_cpu_seconds_total", "app.service", "system", NULL);
	sonde_snapshot_free(snap);
	/* Ticks now say mostly system: a plain rescale would cut user from 3.2 s to 1.0 s. */
	write_num(tmp, "cpuacct.usage_user", "4000000000\n");
	write_num(tmp, "cpuacct.usage_sys", "12000000000\n");
	write_num(tmp, "cpuacct.usage", "4000000000\n");
	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	u2 = snap_value(snap, "sonde_service_cpu_seconds_total", "app.service", "user", NULL);
	s2 = snap_value(snap, "sonde_service_cpu_seconds_total", "app.service", "system", NULL);
	sonde_snapshot_free(snap);
	assert_true(u2 >= u1);
	assert_true(s2 >= s1);
	assert_near(u2 + s2, 4.0, 1e-9);
	assert_near(u2, 3.2, 1e-9);
	sonde_services_free(svc);
	sonde_registry_free(reg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
}

static void test_hybrid(void **state)
{
	struct fx fx;

	fx_open(&fx, "hybrid", 200, NULL);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_services_cgroup_layout", "hybrid", NULL), 1, 0);
	/* unified/ has cpu.stat at zero (no cpu controller there): CPU comes from cpuacct. */
	check_nginx(&fx, 2, false);
	/* Pressure is tracked on the unified hierarchy even in hybrid mode. */
	check_nginx_psi(&fx);
	fx_close(&fx);
}

static void test_max_units(void **state)
{
	struct fx fx;

	fx_open(&fx, "v2", 2, NULL);
	fx_scrape(&fx);
	/* Name order: getty@tty1, nginx kept; redis dropped. */
	assert_int_equal(snap_count(fx.snap, "sonde_service_processes"), 2);
	assert_absent(snap_value(fx.snap, "sonde_service_processes", "redis.service", NULL));
	assert_near(snap_value(fx.snap, "sonde_services_units", NULL), 2, 0);
	assert_near(snap_value(fx.snap, "sonde_services_units_dropped_total", NULL), 1, 0);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_services_units_dropped_total", NULL), 2, 0);
	fx_close(&fx);
}

static void test_patterns(void **state)
{
	struct fx fx;

	fx_open(&fx, "v2", 200, "ngin?.*");
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "sonde_service_processes"), 1);
	check_nginx(&fx, 5, true);
	fx_close(&fx);
}

static void test_malformed_and_missing(void **state)
{
	struct fx fx;

	fx_open(&fx, "bad", 200, NULL);
	fx_scrape(&fx);
	assert_absent(snap_value(fx.snap, "sonde_service_cpu_seconds_total", "bad.service", "user",
				 NULL));
	assert_absent(snap_value(fx.snap, "sonde_service_memory_bytes", "bad.service", NULL));
	assert_near(snap_value(fx.snap, "sonde_service_io_bytes_total", "bad.service", "read", NULL),
		    0, 0);
	assert_near(snap_value(fx.snap, "sonde_service_processes", "bad.service", NULL), 2, 0);
	assert_int_equal(snap_count(fx.snap, "sonde_service_pressure_cpu_waiting_seconds_total"), 0);
	fx_close(&fx);

	fx_open(&fx, "nonexistent", 200, NULL);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_services_cgroup_layout", "none", NULL), 1, 0);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "services", NULL), 0, 0);
	assert_int_equal(snap_count(fx.snap, "sonde_service_processes"), 0);
	fx_close(&fx);
}

/* Units that go away lose their series at the next scrape. */
static void test_units_vanish(void **state)
{
	struct fx fx;

	fx_open(&fx, "v2", 200, NULL);
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "sonde_service_processes"), 3);
	snprintf(fx.svc->cfg.cgroupfs, sizeof(fx.svc->cfg.cgroupfs), "%s/host/cgroup/hybrid",
		 fixtures());
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "sonde_service_processes"), 1);
	assert_absent(snap_value(fx.snap, "sonde_services_cgroup_layout", "v2", NULL));
	assert_absent(snap_value(fx.snap, "sonde_service_processes", "redis.service", NULL));
	fx_close(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_combined),
		cmocka_unit_test(test_v1_split_monotonic),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_max_units),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_malformed_and_missing),
		cmocka_unit_test(test_units_vanish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
