/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HOST_HOST_H
#define SONDE_HOST_HOST_H

#include <regex.h>
#include <stdbool.h>
#include <sys/statfs.h>

#include "family.h"
#include "hostio.h"
#include "node_scrape.h"
#include "registry.h"

/*
 * The node_exporter-compatible host collectors. Exposed to the unit tests,
 * which build a sonde_host over fixture roots and call collect directly.
 */

#define SONDE_HOST_PATH_MAX 256
#define SONDE_HOST_REGEX_MAX 256
#define SONDE_HOST_MEMINFO_MAX 256 /* distinct /proc/meminfo keys we track */
#define SONDE_HOST_CPU_MAX 4096
#define SONDE_HOST_DYN_MAX 128 /* netstat / vmstat fields we track, each */
#define SONDE_HOST_STUCK_MAX 32 /* hung statfs calls we wait out at once */

struct sonde_host_cfg {
	bool enabled;
	char procfs[SONDE_HOST_PATH_MAX];
	char sysfs[SONDE_HOST_PATH_MAX];
	char rootfs[SONDE_HOST_PATH_MAX];
	char disable[16][32];
	unsigned n_disable;
	char mount_points_exclude[SONDE_HOST_REGEX_MAX];
	char fs_types_exclude[SONDE_HOST_REGEX_MAX];
	char diskstats_device_exclude[SONDE_HOST_REGEX_MAX];
	char netdev_device_exclude[SONDE_HOST_REGEX_MAX];
	unsigned long long statfs_timeout_ms; /* 0: call statfs inline */
	char netstat_fields[SONDE_HOST_REGEX_MAX * 2];
	char vmstat_fields[SONDE_HOST_REGEX_MAX];
};

typedef int (*sonde_host_statfs_fn)(const char *path, struct statfs *ret_st);
struct sonde_host_statfs_job;

enum {
	HOST_COLL_CPU,
	HOST_COLL_STAT,
	HOST_COLL_MEMINFO,
	HOST_COLL_LOADAVG,
	HOST_COLL_FILESYSTEM,
	HOST_COLL_DISKSTATS,
	HOST_COLL_NETDEV,
	HOST_COLL_PRESSURE,
	HOST_COLL_FILEFD,
	HOST_COLL_TIME,
	HOST_COLL_UNAME,
	HOST_COLL_NETSTAT,
	HOST_COLL_VMSTAT,
	HOST_COLL_SOCKSTAT,
	HOST_COLL_ENTROPY,
	HOST_COLL_CONNTRACK,
	HOST_COLL_N,
};

#define HOST_CPU_MODES 8
#define HOST_DISK_FIELDS 17
#define HOST_NET_FIELDS 16
#define HOST_FS_FIELDS 7
#define HOST_PSI_FIELDS 5
#define HOST_SINGLE_N 4

struct sonde_host_cpu_prev {
	double mode[HOST_CPU_MODES];
	double guest[2];
	bool seen;
};

struct sonde_host_meminfo_fam {
	char key[64];
	struct sonde_family *fam;
};

struct sonde_host_dyn {
	char key[64];
	struct sonde_family *fam;
};

struct sonde_host {
	struct sonde_registry *reg;
	struct sonde_host_cfg cfg;
	bool enabled[HOST_COLL_N];
	regex_t mp_re, fstype_re, disk_re, net_re, netstat_re, vmstat_re;
	unsigned n_re; /* how many of the four were compiled, for cleanup */
	struct sonde_host_buf buf;
	sonde_host_statfs_fn statfs_fn;
	struct sonde_host_statfs_job *stuck[SONDE_HOST_STUCK_MAX];
	size_t n_stuck;
	struct sonde_family *stuck_mounts;
	double user_hz;

	struct sonde_node_scrape scrape;
	struct sonde_family *parse_errors;

	struct sonde_family *cpu, *cpu_guest;
	struct sonde_host_cpu_prev *cpu_prev;
	size_t n_cpu_prev;

	struct sonde_family *boot_time, *ctxt, *intr, *forks, *procs_running, *procs_blocked;
	struct sonde_family *load[3];
	struct sonde_family *filefd_allocated, *filefd_maximum;
	struct sonde_family *time_seconds, *uname, *tz_offset, *clocksource_avail,
		*clocksource_current;
	struct sonde_family *fs[HOST_FS_FIELDS];
	struct sonde_family *disk[HOST_DISK_FIELDS];
	struct sonde_family *net[HOST_NET_FIELDS];
	struct sonde_family *psi[HOST_PSI_FIELDS];
	struct sonde_family *single[HOST_SINGLE_N];

	struct sonde_host_meminfo_fam *mem;
	size_t n_mem;
	unsigned mem_dropped; /* keys past SONDE_HOST_MEMINFO_MAX */

	struct sonde_host_dyn netstat[SONDE_HOST_DYN_MAX], vmstat[SONDE_HOST_DYN_MAX];
	struct sonde_host_dyn sockstat[64];
	size_t n_netstat, n_vmstat, n_sockstat;
	double page_size;
};

extern const char *const sonde_host_collector_names[HOST_COLL_N];

/* Compiles the filters and registers every fixed family. */
int sonde_host_new(struct sonde_registry *reg, const struct sonde_host_cfg *cfg,
		   struct sonde_host **ret_host);
void sonde_host_free(struct sonde_host *host);
/* Test seam: statfs(2) replacement. */
void sonde_host_set_statfs(struct sonde_host *host, sonde_host_statfs_fn fn);
/* The registry collector hook: refreshes every enabled collector. */
void sonde_host_collect(void *host);

/*
 * One collector each; return 0 or -errno and add malformed lines to
 * *parse_errors (a collector with parse errors still exports what it could).
 */
int sonde_host_collect_cpu(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_stat(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_meminfo(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_loadavg(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_filesystem(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_diskstats(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_netdev(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_pressure(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_filefd(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_time(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_uname(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_netstat(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_vmstat(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_sockstat(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_entropy(struct sonde_host *h, unsigned *parse_errors);
int sonde_host_collect_conntrack(struct sonde_host *h, unsigned *parse_errors);

/*
 * statfs with cfg.statfs_timeout_ms as deadline: -ETIMEDOUT when it did not
 * return in time or the mount point is still stuck from an earlier call.
 */
int sonde_host_statfs(struct sonde_host *h, const char *mountpoint, const char *path,
		      struct statfs *ret_st);
/* Mount points whose statfs is still hung. */
size_t sonde_host_statfs_stuck(struct sonde_host *h);
/* Hands the hung calls over to their threads (they free themselves). */
void sonde_host_statfs_release(struct sonde_host *h);

/* Converts a /proc/meminfo key to node_exporter's metric name. */
int sonde_host_meminfo_name(const char *key, size_t keylen, bool has_unit, char *out,
			    size_t outlen);

#endif
