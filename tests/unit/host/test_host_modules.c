// SPDX-License-Identifier: MIT
/* The three modules through their ops tables and config sections, as the agent drives them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host.h"
#include "module.h"
#include "self.h"
#include "services.h"
#include "snap.h"

extern const struct sonde_module_ops sonde_host_module;
extern const struct sonde_module_ops sonde_services_module;
extern const struct sonde_module_ops sonde_self_module;

static const struct sonde_module_ops *const mods[] = {
	&sonde_self_module,
	&sonde_host_module,
	&sonde_services_module,
};
#define N_MODS (sizeof(mods) / sizeof(mods[0]))

static int load(const char *yaml, struct sonde_config **ret_cfg, char *err, size_t errlen)
{
	const struct sonde_cfg_section *sections[N_MODS];

	for (size_t i = 0; i < N_MODS; i++)
		sections[i] = mods[i]->config;
	return sonde_config_load_string("test.yaml", yaml, sections, N_MODS, ret_cfg, err, errlen);
}

static void test_defaults(void **state)
{
	struct sonde_config *cfg = NULL;
	const struct sonde_host_cfg *h;
	const struct sonde_services_cfg *s;
	const struct sonde_self_cfg *f;
	char err[512] = "";

	assert_int_equal(load("", &cfg, err, sizeof(err)), 0);
	h = sonde_config_section(cfg, "host");
	s = sonde_config_section(cfg, "services");
	f = sonde_config_section(cfg, "self");
	assert_non_null(h);
	assert_non_null(s);
	assert_non_null(f);
	assert_true(h->enabled && s->enabled && f->enabled);
	assert_string_equal(h->procfs, "/proc");
	assert_string_equal(h->sysfs, "/sys");
	assert_string_equal(h->rootfs, "/");
	assert_int_equal(h->n_disable, 0);
	assert_string_equal(h->netdev_device_exclude, "^lo$");
	assert_non_null(strstr(h->mount_points_exclude, "var/lib/docker"));
	assert_true(h->statfs_timeout_ms == 5000);
	assert_string_equal(s->cgroupfs, "/sys/fs/cgroup");
	assert_int_equal(s->n_units, 1);
	assert_string_equal(s->units[0], "*.service");
	assert_true(s->max_units == 200);
	assert_string_equal(f->procfs, "/proc");
	sonde_config_free(cfg);
}

static void test_bad_values(void **state)
{
	const char *const bad[] = {
		"services:\n  max_units: 0\n",
		"services:\n  nosuchkey: 1\n",
		"host:\n  statfs_timeout: forever\n",
		"host:\n  disable: cpu\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sonde_config *cfg = NULL;
		char err[512] = "";

		assert_int_equal(load(bad[i], &cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "test.yaml:"));
	}
}

/* init/start, scrape, stop/free, then a "reload" with new config, as main.c does. */
static void test_lifecycle(void **state)
{
	char yaml[1024], err[512] = "";
	struct sonde_agent agent = { 0 };
	struct sonde_config *cfg = NULL;
	struct sonde_snapshot *snap = NULL;
	void *st[N_MODS] = { 0 };
	const char *fx = getenv("SONDE_FIXTURES") ? getenv("SONDE_FIXTURES") : SONDE_FIXTURES;

	snprintf(yaml, sizeof(yaml),
		 "host:\n  procfs: %s/host/proc\n  sysfs: %s/host/sys\n  disable: [filesystem]\n"
		 "services:\n  cgroupfs: %s/host/cgroup/v2\n  units: [\"nginx.*\"]\n"
		 "self:\n  procfs: %s/host/proc\n",
		 fx, fx, fx, fx);
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(sonde_registry_new(0, &agent.registry), 0);
	agent.config = cfg;
	for (size_t i = 0; i < N_MODS; i++) {
		assert_int_equal(mods[i]->init(&agent, sonde_config_section(cfg, mods[i]->config->key),
					       &st[i]),
				 0);
		assert_non_null(st[i]);
		assert_int_equal(mods[i]->start(st[i]), 0);
		assert_int_equal(mods[i]->start(st[i]), 0); /* idempotent */
	}
	assert_int_equal(sonde_registry_snapshot(agent.registry, &snap), 0);
	assert_near(snap_value(snap, "node_load1", NULL), 0.21, 1e-12);
	assert_near(snap_value(snap, "process_max_fds", NULL), 1024, 0);
	assert_int_equal(snap_count(snap, "sonde_service_processes"), 1);
	assert_int_equal(snap_count(snap, "node_filesystem_size_bytes"), 0);
	sonde_snapshot_free(snap);
	for (size_t i = 0; i < N_MODS; i++) {
		mods[i]->stop(st[i]);
		mods[i]->stop(st[i]);
		mods[i]->free(st[i]);
		st[i] = NULL;
	}
	sonde_config_free(cfg);

	/* Reload with everything disabled: modules say so with a NULL state. */
	assert_int_equal(load("host:\n  enabled: false\nservices:\n  enabled: false\n"
			      "self:\n  enabled: false\n",
			      &cfg, err, sizeof(err)),
			 0);
	agent.config = cfg;
	for (size_t i = 0; i < N_MODS; i++) {
		assert_int_equal(mods[i]->init(&agent, sonde_config_section(cfg, mods[i]->config->key),
					       &st[i]),
				 0);
		assert_null(st[i]);
		mods[i]->free(NULL);
	}
	/* No collector left behind: values stay what the last collection set. */
	assert_int_equal(sonde_registry_snapshot(agent.registry, &snap), 0);
	sonde_snapshot_free(snap);
	sonde_config_free(cfg);

	/* A bad regex refuses the config. */
	assert_int_equal(load("host:\n  netdev_device_exclude: \"(\"\n", &cfg, err, sizeof(err)), 0);
	agent.config = cfg;
	assert_int_equal(sonde_host_module.init(&agent, sonde_config_section(cfg, "host"), &st[0]),
			 -EINVAL);
	sonde_config_free(cfg);
	sonde_registry_free(agent.registry);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
