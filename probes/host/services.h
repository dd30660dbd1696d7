/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HOST_SERVICES_H
#define SONDE_HOST_SERVICES_H

#include <stdbool.h>

#include "hostio.h"
#include "node_scrape.h"
#include "registry.h"

/*
 * Per-service resources from cgroups, keyed by systemd unit, on cgroup v2,
 * v1 and hybrid layouts. Units are the cgroup directories under
 * system.slice (and one level of nested *.slice) whose names match the
 * configured globs.
 */

#define SONDE_SERVICES_PATTERNS 32
#define SONDE_SERVICES_NAME_MAX 128
#define SONDE_SERVICES_DISCOVER_MAX 8192 /* names held per scan; the rest count as dropped */

struct sonde_services_cfg {
	bool enabled;
	char cgroupfs[256];
	char units[SONDE_SERVICES_PATTERNS][SONDE_SERVICES_NAME_MAX];
	unsigned n_units;
	long long max_units;
};

enum sonde_cgroup_layout {
	SONDE_CGROUP_NONE = 0,
	SONDE_CGROUP_V1,
	SONDE_CGROUP_V2,
	SONDE_CGROUP_HYBRID,
};

enum { SVC_CPU, SVC_MEM, SVC_IO, SVC_PROCS, SVC_FAMS };
enum { SVC_PSI_N = 6 };

struct sonde_services_unit {
	char name[SONDE_SERVICES_NAME_MAX];
	char rel[2 * SONDE_SERVICES_NAME_MAX + 16]; /* "system.slice/[x.slice/]name" */
};

/* Last exported CPU split of a unit, to keep both counters monotonic. */
struct sonde_services_cpu_prev {
	char name[SONDE_SERVICES_NAME_MAX];
	double user, sys;
};

struct sonde_services {
	struct sonde_registry *reg;
	struct sonde_services_cfg cfg;
	struct sonde_host_buf buf;
	double user_hz;

	/* Refreshed at every collection: the layout can change under us. */
	enum sonde_cgroup_layout layout;
	char unified[512]; /* "" without a v2 hierarchy */
	char v1_cpuacct[512], v1_memory[512], v1_blkio[512], v1_pids[512], v1_systemd[512];
	bool v2_cpu, v2_memory, v2_io; /* controllers enabled in the v2 hierarchy */

	struct sonde_services_unit *units;
	size_t n_units, cap_units;
	size_t discover_overflow;

	/* Sorted by name (units are): looked up by bsearch, rebuilt every scrape. */
	struct sonde_services_cpu_prev *cpu_prev, *cpu_cur;
	size_t n_cpu_prev, n_cpu_cur;

	struct sonde_family *fam[SVC_FAMS];
	struct sonde_family *psi[SVC_PSI_N];
	struct sonde_family *n_exported, *dropped, *layout_info;
	struct sonde_node_scrape scrape;
};

int sonde_services_new(struct sonde_registry *reg, const struct sonde_services_cfg *cfg,
		       struct sonde_services **ret_svc);
void sonde_services_free(struct sonde_services *svc);
/* Registry collector hook. */
void sonde_services_collect(void *svc);
/* One pass; 0 or -errno (-ENOENT: no cgroup hierarchy found). */
int sonde_services_refresh(struct sonde_services *svc);

#endif
