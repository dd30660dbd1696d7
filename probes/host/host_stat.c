// SPDX-License-Identifier: MIT
/* /proc/stat (cpu, stat), /proc/loadavg, /proc/sys/fs/file-nr, clock, uname. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "host.h"

static const char *const cpu_modes[HOST_CPU_MODES] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};
static const char *const guest_modes[2] = { "user", "nice" };

int sonde_host_register_cpu(struct sonde_host *h)
{
	int err;

	if ((err = sonde_host_family(h->reg, "node_cpu_seconds_total",
				     "Seconds the CPUs spent in each mode.", SONDE_COUNTER, "cpu",
				     "mode", SONDE_HOST_CPU_MAX * HOST_CPU_MODES, &h->cpu)) < 0)
		return err;
	return sonde_host_family(h->reg, "node_cpu_guest_seconds_total",
				 "Seconds the CPUs spent in guests (VMs) for each mode.",
				 SONDE_COUNTER, "cpu", "mode", SONDE_HOST_CPU_MAX * 2, &h->cpu_guest);
}

int sonde_host_register_stat(struct sonde_host *h)
{
	const struct {
		const char *name, *help;
		enum sonde_metric_type type;
		struct sonde_family **fam;
	} t[] = {
		{ "node_boot_time_seconds", "Node boot time, in unixtime.", SONDE_GAUGE,
		  &h->boot_time },
		{ "node_context_switches_total", "Total number of context switches.",
		  SONDE_COUNTER, &h->ctxt },
		{ "node_intr_total", "Total number of interrupts serviced.", SONDE_COUNTER,
		  &h->intr },
		{ "node_forks_total", "Total number of forks.", SONDE_COUNTER, &h->forks },
		{ "node_procs_running", "Number of processes in runnable state.", SONDE_GAUGE,
		  &h->procs_running },
		{ "node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
		  SONDE_GAUGE, &h->procs_blocked },
		{ "node_load1", "1m load average.", SONDE_GAUGE, &h->load[0] },
		{ "node_load5", "5m load average.", SONDE_GAUGE, &h->load[1] },
		{ "node_load15", "15m load average.", SONDE_GAUGE, &h->load[2] },
		{ "node_filefd_allocated", "File descriptor statistics: allocated.", SONDE_GAUGE,
		  &h->filefd_allocated },
		{ "node_filefd_maximum", "File descriptor statistics: maximum.", SONDE_GAUGE,
		  &h->filefd_maximum },
		{ "node_time_seconds", "System time in seconds since epoch (1970).", SONDE_GAUGE,
		  &h->time_seconds },
	};
	struct sonde_family_desc uname = {
		.name = "node_uname_info",
		.help = "Labeled system information as provided by the uname system call.",
		.type = SONDE_GAUGE,
		.labels = { "domainname", "machine", "nodename", "release", "sysname", "version" },
		.max_series = 4,
	};
	int err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if ((err = sonde_host_family(h->reg, t[i].name, t[i].help, t[i].type, NULL, NULL, 0,
					     t[i].fam)) < 0)
			return err;
	if ((err = sonde_host_family(h->reg, "node_time_zone_offset_seconds",
				     "System time zone offset in seconds.", SONDE_GAUGE, "time_zone",
				     NULL, 4, &h->tz_offset)) < 0 ||
	    (err = sonde_host_family(h->reg, "node_time_clocksource_available_info",
				     "Available clocksources read from "
				     "'/sys/devices/system/clocksource'.",
				     SONDE_GAUGE, "clocksource", "device", 64,
				     &h->clocksource_avail)) < 0 ||
	    (err = sonde_host_family(h->reg, "node_time_clocksource_current_info",
				     "Current clocksource read from '/sys/devices/system/clocksource'.",
				     SONDE_GAUGE, "clocksource", "device", 16,
				     &h->clocksource_current)) < 0)
		return err;
	return sonde_registry_add(h->reg, &uname, &h->uname);
}

/* Index of "cpuN" as a number; false for the aggregate "cpu" line or junk. */
static bool cpu_index(const char *tok, size_t len, unsigned *ret_idx)
{
	uint64_t v;

	if (len <= 3 || memcmp(tok, "cpu", 3) != 0 ||
	    !sonde_host_parse_u64(tok + 3, len - 3, &v) || v >= SONDE_HOST_CPU_MAX)
		return false;
	*ret_idx = (unsigned)v;
	return true;
}

static struct sonde_host_cpu_prev *cpu_prev(struct sonde_host *h, unsigned idx)
{
	if (idx >= h->n_cpu_prev) {
		size_t n = idx + 1;
		struct sonde_host_cpu_prev *p = realloc(h->cpu_prev, n * sizeof(*p));

		if (!p)
			return NULL;
		memset(p + h->n_cpu_prev, 0, (n - h->n_cpu_prev) * sizeof(*p));
		h->cpu_prev = p;
		h->n_cpu_prev = n;
	}
	return &h->cpu_prev[idx];
}

/*
 * The kernel's idle and iowait can step back a little when a CPU goes
 * idle/busy between reads (and on hotplug); counters must not, so a lower
 * reading keeps the previous value as node_exporter does.
 */
static double monotonic(struct sonde_host_cpu_prev *p, double *slot, double v)
{
	if (p && p->seen && v < *slot)
		return *slot;
	if (p)
		*slot = v;
	return v;
}

static int cpu_line(struct sonde_host *h, const char *tok, size_t tl, const char *pos,
		    const char *end)
{
	char label[16];
	double v[HOST_CPU_MODES + 2];
	struct sonde_host_cpu_prev *p;
	unsigned idx, n = 0;

	if (!cpu_index(tok, tl, &idx))
		return -EBADMSG;
	while (n < HOST_CPU_MODES + 2 && sonde_host_tok_next(&pos, end, &tok, &tl)) {
		uint64_t ticks;

		if (!sonde_host_parse_u64(tok, tl, &ticks))
			return -EBADMSG;
		v[n++] = (double)ticks / h->user_hz;
	}
	if (n < 4) /* user nice system idle exist on every kernel */
		return -EBADMSG;
	snprintf(label, sizeof(label), "%u", idx);
	p = cpu_prev(h, idx);
	for (unsigned m = 0; m < n && m < HOST_CPU_MODES; m++) {
		const char *lv[2] = { label, cpu_modes[m] };

		sonde_counter_set(sonde_family_series(h->cpu, lv),
				  monotonic(p, p ? &p->mode[m] : NULL, v[m]));
	}
	for (unsigned g = 0; HOST_CPU_MODES + g < n; g++) {
		const char *lv[2] = { label, guest_modes[g] };

		sonde_counter_set(sonde_family_series(h->cpu_guest, lv),
				  monotonic(p, p ? &p->guest[g] : NULL, v[HOST_CPU_MODES + g]));
	}
	if (p)
		p->seen = true;
	return 0;
}

int sonde_host_collect_cpu(struct sonde_host *h, unsigned *parse_errors)
{
	const char *pos, *end, *line, *tok;
	size_t ll, tl;
	unsigned cpus = 0;
	int err;

	sonde_family_mark(h->cpu);
	sonde_family_mark(h->cpu_guest);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "stat")) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;

		if (!sonde_host_tok_next(&lp, le, &tok, &tl) || tl < 3 || memcmp(tok, "cpu", 3) != 0)
			continue;
		if (tl == 3) /* the all-CPU sum: node_exporter exports per CPU only */
			continue;
		if (cpu_line(h, tok, tl, lp, le) < 0)
			(*parse_errors)++;
		else
			cpus++;
	}
	if (cpus == 0)
		err = -ENODATA;
out:
	sonde_family_sweep(h->cpu);
	sonde_family_sweep(h->cpu_guest);
	return err;
}

int sonde_host_collect_stat(struct sonde_host *h, unsigned *parse_errors)
{
	const struct {
		const char *key;
		struct sonde_family *fam;
		bool counter;
	} keys[] = {
		{ "btime", h->boot_time, false },	 { "ctxt", h->ctxt, true },
		{ "intr", h->intr, true },		 { "processes", h->forks, true },
		{ "procs_running", h->procs_running, false },
		{ "procs_blocked", h->procs_blocked, false },
	};
	const char *pos, *end, *line, *tok;
	size_t ll, tl, found = 0;
	int err;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		sonde_family_mark(keys[k].fam);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "stat")) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;

		if (!sonde_host_tok_next(&lp, le, &tok, &tl))
			continue;
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *vt;
			size_t vl;
			uint64_t v;

			if (!sonde_host_tok_eq(tok, tl, keys[k].key))
				continue;
			if (!sonde_host_tok_next(&lp, le, &vt, &vl) ||
			    !sonde_host_parse_u64(vt, vl, &v)) {
				(*parse_errors)++;
				break;
			}
			if (keys[k].counter)
				sonde_counter_set(sonde_family_solo(keys[k].fam), (double)v);
			else
				sonde_gauge_set(sonde_family_solo(keys[k].fam), (double)v);
			found++;
			break;
		}
	}
	if (found == 0)
		err = -ENODATA;
out:
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		sonde_family_sweep(keys[k].fam);
	return err;
}

#define HEAD_FIELDS 3 /* /proc/loadavg and file-nr: three leading numbers */

/* A gauge set from the field-th number at the head of a procfs file. */
struct head_gauge {
	struct sonde_family *fam;
	unsigned field;
};

/*
 * The first HEAD_FIELDS blank-separated numbers of <procfs>/rel (unsigned
 * integers, or decimals when !integers) must all parse; then each gauge is
 * set from its field. A short or malformed file is a parse error and sets
 * nothing.
 */
static int head_gauges(struct sonde_host *h, const char *rel, bool integers,
		       const struct head_gauge *g, unsigned n_g, unsigned *parse_errors)
{
	const char *pos, *end, *tok;
	double v[HEAD_FIELDS];
	size_t tl;
	int err;

	for (unsigned i = 0; i < n_g; i++)
		sonde_family_mark(g[i].fam);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, rel)) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	for (unsigned i = 0; i < HEAD_FIELDS; i++) {
		uint64_t u = 0;
		bool ok = sonde_host_tok_next(&pos, end, &tok, &tl) &&
			  (integers ? sonde_host_parse_u64(tok, tl, &u) :
				      sonde_host_parse_double(tok, tl, &v[i]));

		if (!ok) {
			(*parse_errors)++;
			err = -EBADMSG;
			goto out;
		}
		if (integers)
			v[i] = (double)u;
	}
	for (unsigned i = 0; i < n_g; i++)
		sonde_gauge_set(sonde_family_solo(g[i].fam), v[g[i].field]);
out:
	for (unsigned i = 0; i < n_g; i++)
		sonde_family_sweep(g[i].fam);
	return err;
}

int sonde_host_collect_loadavg(struct sonde_host *h, unsigned *parse_errors)
{
	const struct head_gauge g[] = { { h->load[0], 0 }, { h->load[1], 1 }, { h->load[2], 2 } };

	return head_gauges(h, "loadavg", false, g, 3, parse_errors);
}

/* "allocated unused maximum" */
int sonde_host_collect_filefd(struct sonde_host *h, unsigned *parse_errors)
{
	const struct head_gauge g[] = { { h->filefd_allocated, 0 }, { h->filefd_maximum, 2 } };

	return head_gauges(h, "sys/fs/file-nr", true, g, 2, parse_errors);
}

/* Every clocksource name in <sysfs>/devices/system/clocksource/clocksourceN/<file>. */
static int clocksource_file(struct sonde_host *h, const char *dev, const char *file,
			    struct sonde_family *fam)
{
	char rel[256];
	const char *pos, *end, *tok;
	size_t tl;
	int err;

	snprintf(rel, sizeof(rel), "devices/system/clocksource/%.64s/%s", dev, file);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.sysfs, rel)) < 0)
		return err;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_tok_next(&pos, end, &tok, &tl)) {
		char name[64];
		/* node_exporter labels "clocksource0" as device "0". */
		const char *lv[2] = { name, dev + strlen("clocksource") };

		if (tl >= sizeof(name))
			return -EBADMSG;
		memcpy(name, tok, tl);
		name[tl] = '\0';
		sonde_gauge_set(sonde_family_series(fam, lv), 1);
	}
	return 0;
}

int sonde_host_collect_time(struct sonde_host *h, unsigned *parse_errors)
{
	char path[4096];
	struct timespec ts;
	struct dirent *de;
	struct tm tm;
	DIR *d;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	sonde_gauge_set(sonde_family_solo(h->time_seconds),
			(double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	sonde_family_mark(h->tz_offset);
	if (localtime_r(&ts.tv_sec, &tm)) {
		const char *lv[1] = { tm.tm_zone ? tm.tm_zone : "" };

		sonde_gauge_set(sonde_family_series(h->tz_offset, lv), (double)tm.tm_gmtoff);
	}
	sonde_family_sweep(h->tz_offset);

	sonde_family_mark(h->clocksource_avail);
	sonde_family_mark(h->clocksource_current);
	/* No clocksource directory (containers, old kernels): nothing to say, no error. */
	if (sonde_path_join(path, sizeof(path), h->cfg.sysfs, "devices/system/clocksource") ==
		    0 &&
	    (d = opendir(path))) {
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, "clocksource", 11) != 0 || !de->d_name[11])
				continue;
			if (clocksource_file(h, de->d_name, "available_clocksource",
					     h->clocksource_avail) == -EBADMSG ||
			    clocksource_file(h, de->d_name, "current_clocksource",
					     h->clocksource_current) == -EBADMSG)
				(*parse_errors)++;
		}
		closedir(d);
	}
	sonde_family_sweep(h->clocksource_avail);
	sonde_family_sweep(h->clocksource_current);
	return err;
}

int sonde_host_collect_uname(struct sonde_host *h, unsigned *parse_errors)
{
	struct utsname u;
	const char *lv[6];

	sonde_family_mark(h->uname);
	if (uname(&u) < 0) {
		int err = -errno;

		sonde_family_sweep(h->uname);
		return err;
	}
	lv[0] = u.domainname;
	lv[1] = u.machine;
	lv[2] = u.nodename;
	lv[3] = u.release;
	lv[4] = u.sysname;
	lv[5] = u.version;
	sonde_gauge_set(sonde_family_series(h->uname, lv), 1);
	sonde_family_sweep(h->uname);
	return 0;
}
