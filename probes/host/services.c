// SPDX-License-Identifier: MIT
#include "services.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "family.h"
#include "log.h"
#include "collector_module.h"
#include "module.h"

#define PROCS_MAX_DEPTH 8
#define PROCS_MAX_DIRS 256 /* per unit: bounds the walk of delegated subtrees */

static const char *const layout_names[] = {
	[SONDE_CGROUP_NONE] = "none",
	[SONDE_CGROUP_V1] = "v1",
	[SONDE_CGROUP_V2] = "v2",
	[SONDE_CGROUP_HYBRID] = "hybrid",
};

static const struct {
	const char *name, *help, *file;
	bool full;
} psi_defs[SVC_PSI_N] = {
	{ "sonde_service_pressure_cpu_waiting_seconds_total",
	  "Time in seconds some processes of the service waited for CPU (cgroup v2 cpu.pressure some).",
	  "cpu.pressure", false },
	{ "sonde_service_pressure_cpu_stalled_seconds_total",
	  "Time in seconds all processes of the service waited for CPU (cgroup v2 cpu.pressure full).",
	  "cpu.pressure", true },
	{ "sonde_service_pressure_memory_waiting_seconds_total",
	  "Time in seconds some processes of the service waited for memory (memory.pressure some).",
	  "memory.pressure", false },
	{ "sonde_service_pressure_memory_stalled_seconds_total",
	  "Time in seconds no process of the service made progress for memory (memory.pressure full).",
	  "memory.pressure", true },
	{ "sonde_service_pressure_io_waiting_seconds_total",
	  "Time in seconds some processes of the service waited for I/O (io.pressure some).",
	  "io.pressure", false },
	{ "sonde_service_pressure_io_stalled_seconds_total",
	  "Time in seconds no process of the service made progress for I/O (io.pressure full).",
	  "io.pressure", true },
};

#define F(field) offsetof(struct sonde_services_cfg, field)

static const struct sonde_cfg_field services_fields[] = {
	{ .name = "enabled", .type = SONDE_CFG_BOOL, .offset = F(enabled), .def = "true",
	  .help = "export per-service CPU, memory, I/O, pressure and process counts from cgroups" },
	{ .name = "cgroupfs", .type = SONDE_CFG_STRING, .offset = F(cgroupfs),
	  .size = sizeof(((struct sonde_services_cfg *)0)->cgroupfs), .def = "/sys/fs/cgroup",
	  .help = "cgroup mount point (v2, v1 controllers, or hybrid with unified/)" },
	{ .name = "units", .type = SONDE_CFG_STRLIST, .offset = F(units),
	  .size = SONDE_SERVICES_NAME_MAX, .max_items = SONDE_SERVICES_PATTERNS,
	  .count_offset = F(n_units), .def = "*.service",
	  .help = "glob patterns of systemd units (cgroups under system.slice) to export" },
	{ .name = "max_units", .type = SONDE_CFG_INT, .offset = F(max_units), .def = "200",
	  .min = 1, .max = 4096,
	  .help = "units exported at most (by name order); the rest are counted as dropped" },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section services_section = {
	.key = "services",
	.size = sizeof(struct sonde_services_cfg),
	.fields = services_fields,
	.help = "per-service (systemd unit) resources from cgroup v1/v2",
};

static int register_families(struct sonde_services *s)
{
	unsigned cap = (unsigned)s->cfg.max_units + 8;
	struct sonde_registry *reg = s->reg;
	int err;

	if ((err = sonde_host_family(reg, "sonde_service_cpu_seconds_total",
				     "CPU time of the service's processes, by mode (user, system).",
				     SONDE_COUNTER, "service", "mode", 2 * cap,
				     &s->fam[SVC_CPU])) < 0 ||
	    (err = sonde_host_family(reg, "sonde_service_memory_bytes",
				     "Memory charged to the service's cgroup (v2 memory.current, "
				     "v1 memory.usage_in_bytes), page cache included.",
				     SONDE_GAUGE, "service", NULL, cap, &s->fam[SVC_MEM])) < 0 ||
	    (err = sonde_host_family(reg, "sonde_service_io_bytes_total",
				     "Block I/O bytes of the service, by direction (read, write).",
				     SONDE_COUNTER, "service", "direction", 2 * cap,
				     &s->fam[SVC_IO])) < 0 ||
	    (err = sonde_host_family(reg, "sonde_service_processes",
				     "Processes in the service's cgroup and its children.",
				     SONDE_GAUGE, "service", NULL, cap, &s->fam[SVC_PROCS])) < 0)
		return err;
	for (int i = 0; i < SVC_PSI_N; i++)
		if ((err = sonde_host_family(reg, psi_defs[i].name, psi_defs[i].help,
					     SONDE_COUNTER, "service", NULL, cap, &s->psi[i])) < 0)
			return err;
	if ((err = sonde_host_family(reg, "sonde_services_units",
				     "Units exported by the services collector.", SONDE_GAUGE,
				     NULL, NULL, 0, &s->n_exported)) < 0 ||
	    (err = sonde_host_family(reg, "sonde_services_units_dropped_total",
				     "Matching units left out at a collection because of "
				     "max_units, summed over collections.",
				     SONDE_COUNTER, NULL, NULL, 0, &s->dropped)) < 0 ||
	    (err = sonde_host_family(reg, "sonde_services_cgroup_layout",
				     "The cgroup layout found (v1, v2, hybrid or none); constant 1.",
				     SONDE_GAUGE, "layout", NULL, 8, &s->layout_info)) < 0)
		return err;
	return sonde_node_scrape_register(reg, &s->scrape);
}

int sonde_services_new(struct sonde_registry *reg, const struct sonde_services_cfg *cfg,
		       struct sonde_services **ret_svc)
{
	struct sonde_services *s;
	int err = -ENOMEM;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->reg = reg;
	s->cfg = *cfg;
	if (s->cfg.n_units == 0) {
		strcpy(s->cfg.units[0], "*.service");
		s->cfg.n_units = 1;
	}
	if (s->cfg.max_units <= 0)
		s->cfg.max_units = 200;
	s->buf.max = 1 << 20;
	s->user_hz = sonde_host_user_hz();
	if ((err = register_families(s)) < 0)
		goto fail;
	err = -ENOMEM;
	s->cpu_prev = calloc((size_t)s->cfg.max_units, sizeof(*s->cpu_prev));
	s->cpu_cur = calloc((size_t)s->cfg.max_units, sizeof(*s->cpu_cur));
	if (!s->cpu_prev || !s->cpu_cur)
		goto fail;
	*ret_svc = s;
	return 0;
fail:
	sonde_services_free(s);
	return err;
}

void sonde_services_free(struct sonde_services *s)
{
	if (!s)
		return;
	sonde_host_buf_release(&s->buf);
	free(s->units);
	free(s->cpu_prev);
	free(s->cpu_cur);
	free(s);
}

/* ---- layout ---- */

static void set_dir(char *out, size_t outlen, const char *root, const char *sub)
{
	char path[512];

	out[0] = '\0';
	if (sonde_path_join(path, sizeof(path), root, sub) == 0 && access(path, F_OK) == 0)
		snprintf(out, outlen, "%s", path);
}

static void read_controllers(struct sonde_services *s)
{
	char path[1024];
	const char *pos, *end, *tok;
	size_t tl;

	s->v2_cpu = s->v2_memory = s->v2_io = false;
	if (sonde_path_join(path, sizeof(path), s->unified, "cgroup.controllers") < 0 ||
	    sonde_host_buf_read_path(&s->buf, path) < 0)
		return;
	pos = s->buf.data;
	end = s->buf.data + s->buf.len;
	while (sonde_host_tok_next(&pos, end, &tok, &tl)) {
		s->v2_cpu |= sonde_host_tok_eq(tok, tl, "cpu");
		s->v2_memory |= sonde_host_tok_eq(tok, tl, "memory");
		s->v2_io |= sonde_host_tok_eq(tok, tl, "io");
	}
}

static void detect_layout(struct sonde_services *s)
{
	const char *root = s->cfg.cgroupfs;

	switch (sonde_cgroupfs_v2_find(root, s->unified, sizeof(s->unified))) {
	case SONDE_CGROUPFS_V2_ROOT:
		s->layout = SONDE_CGROUP_V2;
		break;
	case SONDE_CGROUPFS_V2_UNIFIED:
		s->layout = SONDE_CGROUP_HYBRID;
		break;
	default:
		s->layout = SONDE_CGROUP_NONE;
	}
	s->v1_cpuacct[0] = s->v1_memory[0] = s->v1_blkio[0] = s->v1_pids[0] = s->v1_systemd[0] = 0;
	if (s->layout != SONDE_CGROUP_V2) {
		set_dir(s->v1_cpuacct, sizeof(s->v1_cpuacct), root, "cpuacct");
		if (!s->v1_cpuacct[0])
			set_dir(s->v1_cpuacct, sizeof(s->v1_cpuacct), root, "cpu,cpuacct");
		set_dir(s->v1_memory, sizeof(s->v1_memory), root, "memory");
		set_dir(s->v1_blkio, sizeof(s->v1_blkio), root, "blkio");
		set_dir(s->v1_pids, sizeof(s->v1_pids), root, "pids");
		set_dir(s->v1_systemd, sizeof(s->v1_systemd), root, "systemd");
		if (s->layout == SONDE_CGROUP_NONE &&
		    (s->v1_cpuacct[0] || s->v1_memory[0] || s->v1_systemd[0] || s->v1_pids[0]))
			s->layout = SONDE_CGROUP_V1;
	}
	if (s->layout == SONDE_CGROUP_V2)
		s->v2_cpu = s->v2_memory = s->v2_io = true; /* files exist or not per cgroup */
	else if (s->layout == SONDE_CGROUP_HYBRID)
		read_controllers(s);
}

/* ---- discovery ---- */

static bool wanted(const struct sonde_services *s, const char *name)
{
	for (unsigned i = 0; i < s->cfg.n_units; i++)
		if (fnmatch(s->cfg.units[i], name, 0) == 0)
			return true;
	return false;
}

static void add_unit(struct sonde_services *s, const char *name, const char *rel)
{
	struct sonde_services_unit *u;

	if (strlen(name) >= sizeof(u->name)) {
		s->discover_overflow++;
		return;
	}
	if (s->n_units == s->cap_units) {
		size_t nc = s->cap_units ? s->cap_units * 2 : 64;
		struct sonde_services_unit *nu;

		if (nc > SONDE_SERVICES_DISCOVER_MAX)
			nc = SONDE_SERVICES_DISCOVER_MAX;
		if (s->n_units >= nc) {
			s->discover_overflow++;
			return;
		}
		nu = realloc(s->units, nc * sizeof(*nu));
		if (!nu) {
			s->discover_overflow++;
			return;
		}
		s->units = nu;
		s->cap_units = nc;
	}
	u = &s->units[s->n_units];
	if (snprintf(u->rel, sizeof(u->rel), "%s/%s", rel, name) >= (int)sizeof(u->rel)) {
		s->discover_overflow++;
		return;
	}
	/* Length checked above. */
	memcpy(u->name, name, strlen(name) + 1);
	s->n_units++;
}

static bool suffix_is(const char *name, const char *suffix)
{
	size_t nl = strlen(name), sl = strlen(suffix);

	return nl > sl && strcmp(name + nl - sl, suffix) == 0;
}

/* Units of one hierarchy: system.slice/<unit> and system.slice/<sub>.slice/<unit>. */
static void scan(struct sonde_services *s, const char *hier, const char *rel, int depth)
{
	char path[1024];
	struct dirent *de;
	DIR *d;

	if (!hier[0] || sonde_path_join(path, sizeof(path), hier, rel) < 0)
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (wanted(s, de->d_name)) {
			add_unit(s, de->d_name, rel);
		} else if (depth == 0 && suffix_is(de->d_name, ".slice")) {
			char sub[512];

			if (snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name) < (int)sizeof(sub))
				scan(s, hier, sub, depth + 1);
		}
	}
	closedir(d);
}

static int unit_cmp(const void *a, const void *b)
{
	const struct sonde_services_unit *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->rel, y->rel);
}

static void discover(struct sonde_services *s)
{
	const char *hiers[] = { s->unified,   s->v1_systemd, s->v1_cpuacct,
				s->v1_memory, s->v1_blkio,  s->v1_pids };
	size_t o = 0;

	s->n_units = 0;
	s->discover_overflow = 0;
	for (size_t i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++)
		scan(s, hiers[i], "system.slice", 0);
	/* Name order makes the max_units cut the same at every scrape. */
	if (s->n_units > 1)
		qsort(s->units, s->n_units, sizeof(*s->units), unit_cmp);
	for (size_t i = 0; i < s->n_units; i++)
		if (o == 0 || strcmp(s->units[o - 1].name, s->units[i].name) != 0)
			s->units[o++] = s->units[i];
	s->n_units = o;
}

/* ---- per-unit readers ---- */

static int unit_file(char *out, size_t outlen, const char *hier, const char *rel,
		     const char *file)
{
	int n;

	if (!hier[0])
		return -ENOENT;
	n = snprintf(out, outlen, "%s/%s/%s", hier, rel, file);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* "key value" lines (cpu.stat, cpuacct.stat); picks two keys. */
static int read_kv2(struct sonde_services *s, const char *path, const char *k1, const char *k2,
		    uint64_t *ret_v1, uint64_t *ret_v2)
{
	const char *pos, *end, *line, *tok, *vt;
	size_t ll, tl, vl;
	unsigned found = 0;
	uint64_t v[2] = { 0, 0 };
	int err;

	if ((err = sonde_host_buf_read_path(&s->buf, path)) < 0)
		return err;
	pos = s->buf.data;
	end = s->buf.data + s->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;
		int k;

		if (!sonde_host_tok_next(&lp, le, &tok, &tl))
			continue;
		k = sonde_host_tok_eq(tok, tl, k1) ? 0 : sonde_host_tok_eq(tok, tl, k2) ? 1 : -1;
		if (k < 0)
			continue;
		if (!sonde_host_tok_next(&lp, le, &vt, &vl) || !sonde_host_parse_u64(vt, vl, &v[k]))
			return -EBADMSG;
		found |= 1u << k;
	}
	if (found != 3)
		return -EBADMSG;
	*ret_v1 = v[0];
	*ret_v2 = v[1];
	return 0;
}

static int prev_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct sonde_services_cpu_prev *)elem)->name);
}

/*
 * cgroup v1 splits user/system by timer ticks (cpuacct.usage_user/_sys),
 * which on VMs drifts several % from the precise cpuacct.usage that the
 * processes' own utime+stime follow. Like the kernel's cputime_adjust (and
 * cgroup v2's cpu.stat), scale the tick split to the precise total and never
 * let either part go back.
 */
static void split_total(struct sonde_services *s, const char *name, double total, double u,
			double y, double *ret_user, double *ret_sys)
{
	const struct sonde_services_cpu_prev *p;
	double user = u + y > 0 ? total * u / (u + y) : total, sys;

	p = bsearch(name, s->cpu_prev, s->n_cpu_prev, sizeof(*s->cpu_prev), prev_cmp);
	if (p && user < p->user)
		user = p->user;
	sys = total - user;
	if (p && sys < p->sys) {
		sys = p->sys;
		user = total - sys;
		if (user < p->user) /* the total itself went back: keep the last pair */
			user = p->user;
	}
	if (sys < 0)
		sys = 0;
	*ret_user = user;
	*ret_sys = sys;
}

static int unit_cpu(struct sonde_services *s, const char *name, const char *rel,
		    double *ret_user, double *ret_sys)
{
	char path[1024];
	uint64_t u, y, total;

	/* In hybrid mode without the cpu controller on v2, cpu.stat exists but stays at 0. */
	if (s->v2_cpu && unit_file(path, sizeof(path), s->unified, rel, "cpu.stat") == 0 &&
	    read_kv2(s, path, "user_usec", "system_usec", &u, &y) == 0) {
		*ret_user = (double)u / 1e6;
		*ret_sys = (double)y / 1e6;
		return 0;
	}
	if (unit_file(path, sizeof(path), s->v1_cpuacct, rel, "cpuacct.usage_user") == 0 &&
	    sonde_host_read_u64(&s->buf, path, &u) == 0 &&
	    unit_file(path, sizeof(path), s->v1_cpuacct, rel, "cpuacct.usage_sys") == 0 &&
	    sonde_host_read_u64(&s->buf, path, &y) == 0) {
		if (unit_file(path, sizeof(path), s->v1_cpuacct, rel, "cpuacct.usage") == 0 &&
		    sonde_host_read_u64(&s->buf, path, &total) == 0) {
			split_total(s, name, (double)total / 1e9, (double)u, (double)y, ret_user,
				    ret_sys);
			return 0;
		}
		*ret_user = (double)u / 1e9;
		*ret_sys = (double)y / 1e9;
		return 0;
	}
	/* Kernels before 4.6 have only the tick-based cpuacct.stat. */
	if (unit_file(path, sizeof(path), s->v1_cpuacct, rel, "cpuacct.stat") == 0 &&
	    read_kv2(s, path, "user", "system", &u, &y) == 0) {
		*ret_user = (double)u / s->user_hz;
		*ret_sys = (double)y / s->user_hz;
		return 0;
	}
	return -ENOENT;
}

static int unit_memory(struct sonde_services *s, const char *rel, double *ret_v)
{
	char path[1024];
	uint64_t v;

	if ((s->v2_memory && unit_file(path, sizeof(path), s->unified, rel, "memory.current") == 0 &&
	     sonde_host_read_u64(&s->buf, path, &v) == 0) ||
	    (unit_file(path, sizeof(path), s->v1_memory, rel, "memory.usage_in_bytes") == 0 &&
	     sonde_host_read_u64(&s->buf, path, &v) == 0)) {
		*ret_v = (double)v;
		return 0;
	}
	return -ENOENT;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ...", summed over devices. */
static int parse_io_stat(const char *data, size_t len, double *ret_r, double *ret_w)
{
	const char *pos = data, *end = data + len, *line, *tok;
	size_t ll, tl;
	double r = 0, w = 0;

	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;

		if (!sonde_host_tok_next(&lp, le, &tok, &tl))
			continue;
		while (sonde_host_tok_next(&lp, le, &tok, &tl)) {
			uint64_t v;

			if (tl > 7 && memcmp(tok, "rbytes=", 7) == 0 &&
			    sonde_host_parse_u64(tok + 7, tl - 7, &v))
				r += (double)v;
			else if (tl > 7 && memcmp(tok, "wbytes=", 7) == 0 &&
				 sonde_host_parse_u64(tok + 7, tl - 7, &v))
				w += (double)v;
		}
	}
	*ret_r = r;
	*ret_w = w;
	return 0;
}

/* v1 blkio: "MAJ:MIN Read N" / "MAJ:MIN Write N" (Sync, Async, Discard, Total skipped). */
static int parse_blkio(const char *data, size_t len, double *ret_r, double *ret_w)
{
	const char *pos = data, *end = data + len, *line, *dev, *op, *val;
	size_t ll, dl, ol, vl;
	double r = 0, w = 0;

	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;
		uint64_t v;

		if (!sonde_host_tok_next(&lp, le, &dev, &dl) || !sonde_host_tok_next(&lp, le, &op, &ol) ||
		    !sonde_host_tok_next(&lp, le, &val, &vl) || !sonde_host_parse_u64(val, vl, &v))
			continue;
		if (sonde_host_tok_eq(op, ol, "Read"))
			r += (double)v;
		else if (sonde_host_tok_eq(op, ol, "Write"))
			w += (double)v;
	}
	*ret_r = r;
	*ret_w = w;
	return 0;
}

static int unit_io(struct sonde_services *s, const char *rel, double *ret_r, double *ret_w)
{
	/* The recursive files include child cgroups; throttle counts every bio, the rest need CFQ/BFQ. */
	static const char *const v1_files[] = {
		"blkio.throttle.io_service_bytes_recursive",
		"blkio.throttle.io_service_bytes",
		"blkio.io_service_bytes_recursive",
		"blkio.bfq.io_service_bytes_recursive",
	};
	char path[1024];

	if (s->v2_io && unit_file(path, sizeof(path), s->unified, rel, "io.stat") == 0 &&
	    sonde_host_buf_read_path(&s->buf, path) == 0)
		return parse_io_stat(s->buf.data, s->buf.len, ret_r, ret_w);
	for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++)
		if (unit_file(path, sizeof(path), s->v1_blkio, rel, v1_files[i]) == 0 &&
		    sonde_host_buf_read_path(&s->buf, path) == 0)
			return parse_blkio(s->buf.data, s->buf.len, ret_r, ret_w);
	return -ENOENT;
}

static long count_lines(const char *data, size_t len)
{
	const char *pos = data, *end = data + len, *line;
	size_t ll;
	long n = 0;

	while (sonde_host_line_next(&pos, end, &line, &ll))
		if (ll > 0)
			n++;
	return n;
}

/* Processes in dir and its children; -1 when dir's cgroup.procs is unreadable. */
static long count_procs(struct sonde_services *s, const char *dir, int depth, unsigned *budget)
{
	char path[1024];
	struct dirent *de;
	long n;
	DIR *d;

	if (*budget == 0)
		return 0;
	(*budget)--;
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path) ||
	    sonde_host_buf_read_path(&s->buf, path) < 0)
		return -1;
	n = count_lines(s->buf.data, s->buf.len);
	if (depth >= PROCS_MAX_DEPTH)
		return n;
	d = opendir(dir);
	if (!d)
		return n;
	while ((de = readdir(d))) {
		long c;

		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		c = count_procs(s, path, depth + 1, budget);
		if (c > 0)
			n += c;
	}
	closedir(d);
	return n;
}

static int unit_procs(struct sonde_services *s, const char *rel, double *ret_v)
{
	const char *hiers[] = { s->unified, s->v1_pids, s->v1_systemd, s->v1_cpuacct,
				s->v1_memory };
	char dir[1024];

	/* The first hierarchy holding the unit: systemd puts processes in all of them. */
	for (size_t i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++) {
		unsigned budget = PROCS_MAX_DIRS;
		long n;

		if (!hiers[i][0] ||
		    snprintf(dir, sizeof(dir), "%s/%s", hiers[i], rel) >= (int)sizeof(dir))
			continue;
		n = count_procs(s, dir, 0, &budget);
		if (n >= 0) {
			*ret_v = (double)n;
			return 0;
		}
	}
	return -ENOENT;
}

static void unit_pressure(struct sonde_services *s, const char *rel, const char *const *lv)
{
	char path[1024];

	if (!s->unified[0])
		return;
	for (int i = 0; i < SVC_PSI_N; i += 2) {
		double some, full;
		unsigned have;

		if (unit_file(path, sizeof(path), s->unified, rel, psi_defs[i].file) < 0 ||
		    sonde_host_buf_read_path(&s->buf, path) < 0 ||
		    sonde_host_parse_psi(s->buf.data, s->buf.len, &some, &full, &have) < 0)
			continue;
		if (have & 1)
			sonde_counter_set(sonde_family_series(s->psi[i], lv), some);
		if (have & 2)
			sonde_counter_set(sonde_family_series(s->psi[i + 1], lv), full);
	}
}

static void collect_unit(struct sonde_services *s, const struct sonde_services_unit *u)
{
	const char *lv[2] = { u->name, NULL };
	double a, b;

	if (unit_cpu(s, u->name, u->rel, &a, &b) == 0) {
		struct sonde_services_cpu_prev *c = &s->cpu_cur[s->n_cpu_cur++];

		/* Units come sorted by name, so cpu_cur is too. */
		memcpy(c->name, u->name, sizeof(c->name));
		c->user = a;
		c->sys = b;
		lv[1] = "user";
		sonde_counter_set(sonde_family_series(s->fam[SVC_CPU], lv), a);
		lv[1] = "system";
		sonde_counter_set(sonde_family_series(s->fam[SVC_CPU], lv), b);
	}
	if (unit_memory(s, u->rel, &a) == 0)
		sonde_gauge_set(sonde_family_series(s->fam[SVC_MEM], lv), a);
	if (unit_io(s, u->rel, &a, &b) == 0) {
		lv[1] = "read";
		sonde_counter_set(sonde_family_series(s->fam[SVC_IO], lv), a);
		lv[1] = "write";
		sonde_counter_set(sonde_family_series(s->fam[SVC_IO], lv), b);
	}
	if (unit_procs(s, u->rel, &a) == 0)
		sonde_gauge_set(sonde_family_series(s->fam[SVC_PROCS], lv), a);
	unit_pressure(s, u->rel, lv);
}

int sonde_services_refresh(struct sonde_services *s)
{
	const char *layout[1];
	size_t n, dropped;

	for (int i = 0; i < SVC_FAMS; i++)
		sonde_family_mark(s->fam[i]);
	for (int i = 0; i < SVC_PSI_N; i++)
		sonde_family_mark(s->psi[i]);
	sonde_family_mark(s->layout_info);

	detect_layout(s);
	layout[0] = layout_names[s->layout];
	sonde_gauge_set(sonde_family_series(s->layout_info, layout), 1);
	discover(s);
	n = s->n_units < (size_t)s->cfg.max_units ? s->n_units : (size_t)s->cfg.max_units;
	dropped = s->n_units - n + s->discover_overflow;
	s->n_cpu_cur = 0;
	for (size_t i = 0; i < n; i++)
		collect_unit(s, &s->units[i]);
	{
		struct sonde_services_cpu_prev *t = s->cpu_prev;

		s->cpu_prev = s->cpu_cur;
		s->n_cpu_prev = s->n_cpu_cur;
		s->cpu_cur = t;
	}
	sonde_gauge_set(sonde_family_solo(s->n_exported), (double)n);
	sonde_counter_add(sonde_family_solo(s->dropped), (double)dropped);

	for (int i = 0; i < SVC_FAMS; i++)
		sonde_family_sweep(s->fam[i]);
	for (int i = 0; i < SVC_PSI_N; i++)
		sonde_family_sweep(s->psi[i]);
	sonde_family_sweep(s->layout_info);
	return s->layout == SONDE_CGROUP_NONE ? -ENOENT : 0;
}

void sonde_services_collect(void *userdata)
{
	struct sonde_services *s = userdata;
	double t0 = sonde_node_scrape_now();
	int r = sonde_services_refresh(s);

	sonde_node_scrape_done(&s->scrape, "services", t0, r == 0);
}

/* ---- module glue ---- */

static void services_obj_free(void *obj)
{
	sonde_services_free(obj);
}

static int services_init(struct sonde_agent *agent, const void *section, void **ret_state)
{
	const struct sonde_services_cfg *cfg = section;
	struct sonde_services *obj;
	int err;

	if (!cfg->enabled) {
		*ret_state = NULL;
		return 0;
	}
	for (unsigned i = 0; i < cfg->n_units; i++) {
		if (!cfg->units[i][0]) {
			sonde_log(SONDE_LOG_ERR, "probe", "services", "units: empty pattern");
			return -EINVAL;
		}
	}
	if ((err = sonde_services_new(agent->registry, cfg, &obj)) < 0) {
		sonde_log(SONDE_LOG_ERR, "probe", "services", "registering metrics: %s",
			  strerror(-err));
		return err;
	}
	return sonde_collector_module_new(agent->registry, obj, sonde_services_collect,
					  services_obj_free, ret_state);
}

const struct sonde_module_ops sonde_services_module = {
	.name = "services",
	.config = &services_section,
	.init = services_init,
	.start = sonde_collector_module_start,
	.stop = sonde_collector_module_stop,
	.free = sonde_collector_module_free,
};
