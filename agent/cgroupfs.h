/* SPDX-License-Identifier: MIT */
#ifndef SONDE_CGROUPFS_H
#define SONDE_CGROUPFS_H

#include <stddef.h>

/* Where a cgroup mount point holds the cgroup v2 hierarchy. */
enum sonde_cgroupfs_v2 {
	SONDE_CGROUPFS_V2_NONE = 0, /* nowhere */
	SONDE_CGROUPFS_V2_ROOT,     /* cgroupfs itself: the unified layout */
	SONDE_CGROUPFS_V2_UNIFIED,  /* cgroupfs/unified: the hybrid layout */
};

/*
 * Finds the v2 hierarchy by its cgroup.controllers file and writes its
 * directory to dir ("" with NONE). A directory that does not fit in dir
 * counts as not found.
 */
enum sonde_cgroupfs_v2 sonde_cgroupfs_v2_find(const char *cgroupfs, char *dir, size_t dirlen);

#endif
