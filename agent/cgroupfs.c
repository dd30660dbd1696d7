// SPDX-License-Identifier: MIT
#include "cgroupfs.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

static bool has_controllers(const char *dir)
{
	char p[PATH_MAX];

	return sonde_path_join(p, sizeof(p), dir, "cgroup.controllers") == 0 &&
	       access(p, F_OK) == 0;
}

enum sonde_cgroupfs_v2 sonde_cgroupfs_v2_find(const char *cgroupfs, char *dir, size_t dirlen)
{
	size_t len = strlen(cgroupfs);

	if (dirlen == 0)
		return SONDE_CGROUPFS_V2_NONE;
	if (len < dirlen && has_controllers(cgroupfs)) {
		memcpy(dir, cgroupfs, len + 1);
		return SONDE_CGROUPFS_V2_ROOT;
	}
	if (sonde_path_join(dir, dirlen, cgroupfs, "unified") == 0 && has_controllers(dir))
		return SONDE_CGROUPFS_V2_UNIFIED;
	dir[0] = '\0';
	return SONDE_CGROUPFS_V2_NONE;
}
