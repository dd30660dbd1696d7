// SPDX-License-Identifier: MIT
/* ebpf.cgroups: paths to ids over a fixture cgroup tree in a temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroups.h"

struct got {
	uint64_t ids[2048];
	unsigned n;
	unsigned refuse_after; /* add fails once this many were taken (0: never) */
};

static int add(void *userdata, uint64_t id)
{
	struct got *g = userdata;

	if (g->refuse_after && g->n >= g->refuse_after)
		return -ENOSPC;
	g->ids[g->n++] = id;
	return 0;
}

static bool has(const struct got *g, uint64_t id)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->ids[i] == id)
			return true;
	return false;
}

static uint64_t ino(const char *root, const char *rel)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(stat(p, &sb), 0);
	return (uint64_t)sb.st_ino;
}

static void mk(const char *root, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void touch(const char *root, const char *rel)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void test_unified_tree(void **state)
{
	char root[] = "/tmp/sonde-cg-XXXXXX", err[320] = "";
	const char *paths[3];
	struct sonde_cgroup_filter *f;
	struct sonde_cgroup_filter_stats st;
	struct got g = { 0 };
	char abs[400];

	assert_non_null(mkdtemp(root));
	touch(root, "cgroup.controllers");
	mk(root, "system.slice");
	mk(root, "system.slice/nginx.service");
	touch(root, "system.slice/nginx.service/cgroup.procs");
	mk(root, "system.slice/nginx.service/inner");
	mk(root, "system.slice/other.service");
	snprintf(abs, sizeof(abs), "%s/system.slice/absent.service", root);
	paths[0] = "system.slice/nginx.service";
	paths[1] = abs; /* absolute below the hierarchy */
	paths[2] = "/user.slice"; /* relative, leading slash */
	assert_int_equal(sonde_cgroup_filter_new(root, paths, 3, &f, err, sizeof(err)), 0);
	assert_string_equal(sonde_cgroup_filter_root(f), root);

	assert_int_equal(sonde_cgroup_filter_scan(f, add, &g), 2);
	assert_true(has(&g, ino(root, "system.slice/nginx.service")));
	assert_true(has(&g, ino(root, "system.slice/nginx.service/inner")));
	assert_false(has(&g, ino(root, "system.slice/other.service")));
	sonde_cgroup_filter_stats(f, &st);
	assert_int_equal(st.ids, 2);
	assert_int_equal(st.missing, 2);
	assert_int_equal(st.dropped, 0);

	/* nothing new: nothing handed out again */
	assert_int_equal(sonde_cgroup_filter_scan(f, add, &g), 0);
	/* cgroups that appear later, and a path that appears later */
	mk(root, "system.slice/nginx.service/late");
	mk(root, "system.slice/absent.service");
	assert_int_equal(sonde_cgroup_filter_scan(f, add, &g), 2);
	assert_true(has(&g, ino(root, "system.slice/nginx.service/late")));
	assert_true(has(&g, ino(root, "system.slice/absent.service")));
	sonde_cgroup_filter_stats(f, &st);
	assert_int_equal(st.ids, 4);
	assert_int_equal(st.missing, 1);
	/* a new kernel map: forget, and everything is handed out again */
	sonde_cgroup_filter_forget(f);
	g.n = 0;
	assert_int_equal(sonde_cgroup_filter_scan(f, add, &g), 4);
	sonde_cgroup_filter_free(f);
	rm_rf(root);
}

static void test_hybrid_and_errors(void **state)
{
	char root[] = "/tmp/sonde-cg-XXXXXX", err[320] = "", uni[300];
	const char *dotdot[] = { "system.slice/../../etc" };
	const char *all[] = { "" };
	struct sonde_cgroup_filter *f = NULL;
	struct got g = { 0 };

	assert_non_null(mkdtemp(root));
	/* no hierarchy at all */
	assert_int_equal(sonde_cgroup_filter_new(root, all, 1, &f, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no cgroup v2 hierarchy"));
	/* hybrid: v2 under unified/ */
	mk(root, "unified");
	touch(root, "unified/cgroup.controllers");
	mk(root, "unified/a");
	assert_int_equal(sonde_cgroup_filter_new(root, dotdot, 1, &f, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad path"));
	assert_int_equal(sonde_cgroup_filter_new(root, all, 1, &f, err, sizeof(err)), 0);
	snprintf(uni, sizeof(uni), "%s/unified", root);
	assert_string_equal(sonde_cgroup_filter_root(f), uni);
	/* "" is the whole hierarchy: its root and a */
	assert_int_equal(sonde_cgroup_filter_scan(f, add, &g), 2);
	assert_true(has(&g, ino(root, "unified")));
	assert_true(has(&g, ino(root, "unified/a")));
	sonde_cgroup_filter_free(f);
	rm_rf(root);
}

/* Beyond the cap (or when the kernel map refuses), cgroups are counted. */
static void test_cap(void **state)
{
	char root[] = "/tmp/sonde-cg-XXXXXX", err[320] = "", rel[64];
	const char *paths[] = { "big" };
	struct sonde_cgroup_filter *f;
	struct sonde_cgroup_filter_stats st;
	struct got *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	assert_non_null(mkdtemp(root));
	touch(root, "cgroup.controllers");
	mk(root, "big");
	for (int i = 0; i < SONDE_CGROUP_FILTER_MAX + 9; i++) {
		snprintf(rel, sizeof(rel), "big/c%d", i);
		mk(root, rel);
	}
	assert_int_equal(sonde_cgroup_filter_new(root, paths, 1, &f, err, sizeof(err)), 0);
	assert_int_equal(sonde_cgroup_filter_scan(f, add, g), SONDE_CGROUP_FILTER_MAX);
	sonde_cgroup_filter_stats(f, &st);
	assert_int_equal(st.ids, SONDE_CGROUP_FILTER_MAX);
	assert_int_equal(st.dropped, 10); /* big itself + 1033 children - 1024 */
	/* the next scan finds the same: the figure does not grow */
	assert_int_equal(sonde_cgroup_filter_scan(f, add, g), 0);
	sonde_cgroup_filter_stats(f, &st);
	assert_int_equal(st.dropped, 10);
	sonde_cgroup_filter_free(f);

	/* the kernel map refusing an id: counted, handed out again later */
	memset(g, 0, sizeof(*g));
	g->refuse_after = 5;
	assert_int_equal(sonde_cgroup_filter_new(root, paths, 1, &f, err, sizeof(err)), 0);
	assert_int_equal(sonde_cgroup_filter_scan(f, add, g), 5);
	sonde_cgroup_filter_stats(f, &st);
	assert_int_equal(st.dropped, SONDE_CGROUP_FILTER_MAX + 10 - 5);
	g->refuse_after = 0;
	assert_int_equal(sonde_cgroup_filter_scan(f, add, g), SONDE_CGROUP_FILTER_MAX - 5);
	sonde_cgroup_filter_free(f);
	free(g);
	rm_rf(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unified_tree),
		cmocka_unit_test(test_hybrid_and_errors),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
