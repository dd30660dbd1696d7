// SPDX-License-Identifier: MIT
/* The ebpf.cgroups filter: cgroup paths -> the ids the kernel reports. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "cgroups.h"
#include "path.h"

#define SLOTS (2 * SONDE_CGROUP_FILTER_MAX) /* open addressing, power of two */

struct sonde_cgroup_filter {
	char root[256];
	char (*paths)[512];
	unsigned n_paths;
	uint64_t seen[SLOTS]; /* 0: empty (no cgroup has id 0) */
	struct sonde_cgroup_filter_stats st;
};

int sonde_cgroup_filter_new(const char *cgroupfs, const char *const *paths,
			    unsigned n, struct sonde_cgroup_filter **ret_filter,
			    char *errbuf, size_t errlen)
{
	struct sonde_cgroup_filter *f;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->paths = calloc(n ? n : 1, sizeof(*f->paths));
	if (!f->paths) {
		free(f);
		return -ENOMEM;
	}
	if (sonde_cgroupfs_v2_find(cgroupfs, f->root, sizeof(f->root)) == SONDE_CGROUPFS_V2_NONE) {
		snprintf(errbuf, errlen,
			 "no cgroup v2 hierarchy at %.128s or %.128s/unified (ebpf.cgroups needs one)",
			 cgroupfs, cgroupfs);
		sonde_cgroup_filter_free(f);
		return -ENOENT;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *p = paths[i];
		size_t rl = strlen(f->root);

		/* absolute below the hierarchy, or relative to it */
		if (strncmp(p, f->root, rl) == 0 && (p[rl] == '/' || p[rl] == '\0'))
			p += rl;
		while (*p == '/')
			p++;
		if (strstr(p, "..") ||
		    sonde_path_join(f->paths[i], sizeof(f->paths[i]), f->root, p) < 0) {
			snprintf(errbuf, errlen, "ebpf.cgroups: bad path \"%.200s\"", paths[i]);
			sonde_cgroup_filter_free(f);
			return -EINVAL;
		}
	}
	f->n_paths = n;
	*ret_filter = f;
	return 0;
}

void sonde_cgroup_filter_free(struct sonde_cgroup_filter *f)
{
	if (!f)
		return;
	free(f->paths);
	free(f);
}

/* The slot that holds id, or the empty one where it would go (NULL: full). */
static uint64_t *slot_of(struct sonde_cgroup_filter *f, uint64_t id)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull;

	for (unsigned k = 0; k < SLOTS; k++) {
		uint64_t *slot = &f->seen[(h + k) & (SLOTS - 1)];

		if (*slot == id || *slot == 0)
			return slot;
	}
	return NULL;
}

static void offer(struct sonde_cgroup_filter *f, uint64_t id, sonde_cgroup_add_fn add,
		  void *userdata, int *added)
{
	uint64_t *slot = id ? slot_of(f, id) : NULL;

	if (!slot || *slot == id)
		return;
	if (f->st.ids >= SONDE_CGROUP_FILTER_MAX || add(userdata, id)) {
		f->st.dropped++;
		return;
	}
	*slot = id;
	f->st.ids++;
	(*added)++;
}

/* The directory open as dfd, and what lies below it, depth levels deep. */
static void walk(struct sonde_cgroup_filter *f, int dfd, unsigned depth,
		 sonde_cgroup_add_fn add, void *userdata, int *added)
{
	struct stat sb;
	DIR *d;
	struct dirent *e;

	if (fstat(dfd, &sb) == 0)
		offer(f, (uint64_t)sb.st_ino, add, userdata, added);
	if (depth == 0) {
		close(dfd);
		return;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		int sub;

		if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0)
			walk(f, sub, depth - 1, add, userdata, added);
	}
	closedir(d);
}

int sonde_cgroup_filter_scan(struct sonde_cgroup_filter *f, sonde_cgroup_add_fn add,
			     void *userdata)
{
	int added = 0;

	f->st.missing = 0;
	f->st.dropped = 0; /* counted afresh by each scan */
	for (unsigned i = 0; i < f->n_paths; i++) {
		int dfd = open(f->paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0) {
			f->st.missing++;
			continue;
		}
		walk(f, dfd, SONDE_CGROUP_DEPTH_MAX, add, userdata, &added);
	}
	return added;
}

void sonde_cgroup_filter_forget(struct sonde_cgroup_filter *f)
{
	memset(f->seen, 0, sizeof(f->seen));
	memset(&f->st, 0, sizeof(f->st));
}

void sonde_cgroup_filter_stats(const struct sonde_cgroup_filter *f,
			       struct sonde_cgroup_filter_stats *ret)
{
	*ret = f->st;
}

const char *sonde_cgroup_filter_root(const struct sonde_cgroup_filter *f)
{
	return f->root;
}
