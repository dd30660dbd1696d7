// SPDX-License-Identifier: MIT
/*
 * Hostile /proc and cgroup files: every fixture file, truncated at every
 * byte and with seeded random byte flips, is fed to every collector (host,
 * services, self) under ASan/UBSan. Collectors must not crash, read out of
 * bounds or leak, whatever the file holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "host.h"
#include "self.h"
#include "services.h"

static const char *fixtures(void)
{
	const char *e = getenv("SONDE_FIXTURES");

	return e && *e ? e : SONDE_FIXTURES;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return data;
}

static void spit(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* cp -r src dst, with plain libc. */
static void copy_tree(const char *src, const char *dst)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
}

struct target {
	const char *rel; /* file inside the copied tree */
};

static int fake_statfs(const char *path, struct statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_blocks = 10;
	return 0;
}

struct world {
	struct sonde_registry *reg;
	struct sonde_host *host;
	struct sonde_services *svc;
	struct sonde_self *self;
};

static void world_open(struct world *w, const char *proc, const char *cgroup)
{
	struct sonde_host_cfg hc = { .enabled = true, .rootfs = "/" };
	struct sonde_services_cfg sc = { .enabled = true, .max_units = 4 };
	struct sonde_self_cfg fc = { .enabled = true };

	snprintf(hc.procfs, sizeof(hc.procfs), "%.200s", proc);
	snprintf(fc.procfs, sizeof(fc.procfs), "%.200s", proc);
	snprintf(sc.cgroupfs, sizeof(sc.cgroupfs), "%.200s", cgroup);
	strcpy(hc.mount_points_exclude, "^/(proc|sys)($|/)");
	strcpy(hc.fs_types_exclude, "^proc$");
	strcpy(hc.diskstats_device_exclude, "^loop[0-9]+$");
	strcpy(hc.netdev_device_exclude, "^lo$");
	assert_int_equal(sonde_registry_new(0, &w->reg), 0);
	assert_int_equal(sonde_host_new(w->reg, &hc, &w->host), 0);
	sonde_host_set_statfs(w->host, fake_statfs);
	assert_int_equal(sonde_services_new(w->reg, &sc, &w->svc), 0);
	assert_int_equal(sonde_self_new(w->reg, &fc, &w->self), 0);
	sonde_registry_add_collector(w->reg, sonde_host_collect, w->host);
	sonde_registry_add_collector(w->reg, sonde_services_collect, w->svc);
	sonde_registry_add_collector(w->reg, sonde_self_collect, w->self);
}

/* Runs the collectors owning the file; a full snapshot now and then. */
static void world_scrape(struct world *w, bool cgroup, unsigned long run)
{
	struct sonde_snapshot *snap = NULL;

	if (run % 64 == 0) {
		assert_int_equal(sonde_registry_snapshot(w->reg, &snap), 0);
		sonde_snapshot_free(snap);
	} else if (cgroup) {
		sonde_services_refresh(w->svc);
	} else {
		sonde_host_collect(w->host);
		sonde_self_collect(w->self);
	}
}

static void world_close(struct world *w)
{
	sonde_self_free(w->self);
	sonde_services_free(w->svc);
	sonde_host_free(w->host);
	sonde_registry_free(w->reg);
}

static void mutate_all(void **state)
{
	static const char *const proc_files[] = {
		"stat",	 "meminfo",	   "loadavg",	     "diskstats",	"net/dev",
		"1/mounts", "pressure/cpu", "pressure/memory", "sys/fs/file-nr", "self/stat",
		"self/limits", "net/netstat", "net/snmp", "net/snmp6", "vmstat", "net/sockstat", "sys/kernel/random/entropy_avail",
	};
	static const char *const cg_files[] = {
		"system.slice/nginx.service/cpu.stat",
		"system.slice/nginx.service/io.stat",
		"system.slice/nginx.service/memory.current",
		"system.slice/nginx.service/cpu.pressure",
		"system.slice/nginx.service/cgroup.procs",
	};
	char tmp[] = "/tmp/sonde-host-mutate-XXXXXX", proc[512], cg[512], src[512];
	struct world w;
	unsigned seed = 12345;
	unsigned long runs = 0;

	assert_non_null(mkdtemp(tmp));
	snprintf(proc, sizeof(proc), "%s/proc", tmp);
	snprintf(cg, sizeof(cg), "%s/v2", tmp);
	snprintf(src, sizeof(src), "%s/host/proc", fixtures());
	copy_tree(src, proc);
	snprintf(src, sizeof(src), "%s/host/cgroup/v2", fixtures());
	copy_tree(src, cg);
	world_open(&w, proc, cg);

	for (size_t t = 0; t < sizeof(proc_files) / sizeof(proc_files[0]) +
				   sizeof(cg_files) / sizeof(cg_files[0]);
	     t++) {
		size_t np = sizeof(proc_files) / sizeof(proc_files[0]);
		char path[1024];
		size_t len;
		char *orig, *work;

		snprintf(path, sizeof(path), "%s/%s", t < np ? proc : cg,
			 t < np ? proc_files[t] : cg_files[t - np]);
		orig = slurp(path, &len);
		work = malloc(len + 1);
		assert_non_null(work);
		/* Every truncation point: partial lines, numbers cut mid-digit. */
		for (size_t cut = 0; cut <= len; cut++) {
			spit(path, orig, cut);
			world_scrape(&w, t >= np, runs);
			runs++;
		}
		/* Random flips toward characters the parsers care about. */
		for (int round = 0; round < 100; round++) {
			static const char interesting[] = " \t\n:()=-.0123456789\\\0x";

			memcpy(work, orig, len);
			for (int k = 0; k < 1 + (int)(rand_r(&seed) % 6) && len; k++) {
				size_t at = (size_t)rand_r(&seed) % len;

				work[at] = (rand_r(&seed) & 1) ? (char)rand_r(&seed)
							       : interesting[(size_t)rand_r(&seed) %
									     (sizeof(interesting) - 1)];
			}
			spit(path, work, len);
			world_scrape(&w, t >= np, runs);
			runs++;
		}
		spit(path, orig, len);
		free(work);
		free(orig);
	}
	world_close(&w);
	assert_int_equal(nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_true(runs > 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mutate_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
