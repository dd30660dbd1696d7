/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_CGROUPS_H
#define SONDE_EBPF_CGROUPS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The ebpf.cgroups filter: configured cgroup v2 directories and every
 * cgroup below them, as the ids the kernel reports for a task
 * (bpf_get_current_cgroup_id: the cgroup directory's inode number). Pure
 * file-system work; the module hands new ids to the loader.
 *
 * Paths are relative to the cgroup v2 hierarchy ("system.slice/nginx.service")
 * or absolute below it. The v2 hierarchy is cgroupfs itself (unified
 * layout) or cgroupfs/unified (hybrid). A path missing at one scan is
 * looked for again at the next: a unit started after the agent is picked
 * up then.
 */

#define SONDE_CGROUP_FILTER_MAX 1024 /* ids, the BPF map's size */
#define SONDE_CGROUP_DEPTH_MAX 16    /* levels walked below a configured path */

struct sonde_cgroup_filter;

/* Called once per id not handed out before; non-zero stops the scan. */
typedef int (*sonde_cgroup_add_fn)(void *userdata, uint64_t id);

/*
 * -ENOENT when cgroupfs holds no cgroup v2 hierarchy, -EINVAL for a path
 * with ".." or too long; errbuf says which.
 */
int sonde_cgroup_filter_new(const char *cgroupfs, const char *const *paths,
			    unsigned n, struct sonde_cgroup_filter **ret_filter,
			    char *errbuf, size_t errlen);
void sonde_cgroup_filter_free(struct sonde_cgroup_filter *f);

/* Forgets what was handed out (a new kernel map): the next scan hands all. */
void sonde_cgroup_filter_forget(struct sonde_cgroup_filter *f);

/* Walks every configured path; returns the number of ids added. */
int sonde_cgroup_filter_scan(struct sonde_cgroup_filter *f, sonde_cgroup_add_fn add,
			     void *userdata);

struct sonde_cgroup_filter_stats {
	unsigned ids;          /* handed out so far */
	unsigned missing;      /* configured paths absent at the last scan */
	/* cgroups found at the last scan but not filtered in (beyond
	 * SONDE_CGROUP_FILTER_MAX, or refused by add): not traced */
	uint64_t dropped;
};
void sonde_cgroup_filter_stats(const struct sonde_cgroup_filter *f,
			       struct sonde_cgroup_filter_stats *ret);
/* The v2 hierarchy's directory in use. */
const char *sonde_cgroup_filter_root(const struct sonde_cgroup_filter *f);

#endif
