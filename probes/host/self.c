// SPDX-License-Identifier: MIT
#include "self.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "collector_module.h"
#include "module.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "unknown"
#endif

static const struct sonde_cfg_field self_fields[] = {
	{ .name = "enabled", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct sonde_self_cfg, enabled), .def = "true",
	  .help = "export process_* for the agent itself and sonde_build_info" },
	{ .name = "procfs", .type = SONDE_CFG_STRING,
	  .offset = offsetof(struct sonde_self_cfg, procfs),
	  .size = sizeof(((struct sonde_self_cfg *)0)->procfs), .def = "/proc",
	  .help = "procfs mount point; the agent reads <procfs>/self" },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section self_section = {
	.key = "self",
	.size = sizeof(struct sonde_self_cfg),
	.fields = self_fields,
	.help = "the agent's own resource usage",
};

int sonde_self_new(struct sonde_registry *reg, const struct sonde_self_cfg *cfg,
		   struct sonde_self **ret_self)
{
	const struct {
		const char *name, *help;
		enum sonde_metric_type type;
	} t[SELF_N] = {
		[SELF_CPU] = { "process_cpu_seconds_total",
			       "Total user and system CPU time spent in seconds.", SONDE_COUNTER },
		[SELF_RSS] = { "process_resident_memory_bytes", "Resident memory size in bytes.",
			       SONDE_GAUGE },
		[SELF_VSIZE] = { "process_virtual_memory_bytes", "Virtual memory size in bytes.",
				 SONDE_GAUGE },
		[SELF_VMAX] = { "process_virtual_memory_max_bytes",
				"Maximum amount of virtual memory available in bytes.", SONDE_GAUGE },
		[SELF_OPEN_FDS] = { "process_open_fds", "Number of open file descriptors.",
				    SONDE_GAUGE },
		[SELF_MAX_FDS] = { "process_max_fds", "Maximum number of open file descriptors.",
				   SONDE_GAUGE },
		[SELF_START] = { "process_start_time_seconds",
				 "Start time of the process since unix epoch in seconds.",
				 SONDE_GAUGE },
	};
	struct sonde_family_desc bi = {
		.name = "sonde_build_info",
		.help = "A metric with a constant '1' value labeled by the sonde version.",
		.type = SONDE_GAUGE,
		.labels = { "version" },
		.max_series = 4,
	};
	struct sonde_family_desc er = {
		.name = "sonde_self_read_errors_total",
		.help = "Failed or malformed reads of the agent's own /proc/self files.",
		.type = SONDE_COUNTER,
	};
	struct sonde_self *s;
	int err = -ENOMEM;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->reg = reg;
	s->cfg = *cfg;
	s->buf.max = 64 * 1024;
	s->user_hz = sonde_host_user_hz();
	s->page_size = sonde_host_page_size();
	for (int i = 0; i < SELF_N; i++) {
		struct sonde_family_desc d = { .name = t[i].name, .help = t[i].help,
					       .type = t[i].type };

		if ((err = sonde_registry_add(reg, &d, &s->fam[i])) < 0)
			goto fail;
	}
	if ((err = sonde_registry_add(reg, &bi, &s->build_info)) < 0 ||
	    (err = sonde_registry_add(reg, &er, &s->errors)) < 0)
		goto fail;
	*ret_self = s;
	return 0;
fail:
	sonde_self_free(s);
	return err;
}

void sonde_self_free(struct sonde_self *s)
{
	if (!s)
		return;
	sonde_host_buf_release(&s->buf);
	free(s);
}

static int read_boot_time(struct sonde_self *s)
{
	const char *pos, *end, *line, *tok;
	size_t ll, tl;
	int err;

	if ((err = sonde_host_buf_read(&s->buf, s->cfg.procfs, "stat")) < 0)
		return err;
	pos = s->buf.data;
	end = s->buf.data + s->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;
		uint64_t v;

		if (sonde_host_tok_next(&lp, le, &tok, &tl) && sonde_host_tok_eq(tok, tl, "btime") &&
		    sonde_host_tok_next(&lp, le, &tok, &tl) && sonde_host_parse_u64(tok, tl, &v)) {
			s->boot_time = (double)v;
			return 0;
		}
	}
	return -EBADMSG;
}

/* /proc/self/stat: fields after the last ')' (comm may hold spaces and parens). */
static int read_stat(struct sonde_self *s)
{
	enum { UTIME = 11, STIME = 12, STARTTIME = 19, VSIZE = 20, RSS = 21, NEED = 22 };
	const char *pos, *end, *tok;
	uint64_t f[NEED];
	size_t tl;
	int n = 0, err;

	if ((err = sonde_host_buf_read(&s->buf, s->cfg.procfs, "self/stat")) < 0)
		return err;
	end = s->buf.data + s->buf.len;
	pos = memrchr(s->buf.data, ')', s->buf.len);
	if (!pos)
		return -EBADMSG;
	pos++;
	/* Field 3 (state) is a letter; the rest we need are numbers. */
	if (!sonde_host_tok_next(&pos, end, &tok, &tl))
		return -EBADMSG;
	f[n++] = 0;
	while (n < NEED && sonde_host_tok_next(&pos, end, &tok, &tl)) {
		/* Only the fields we use must be numbers (ppid..tpgid may be -1). */
		bool used = n == UTIME || n == STIME || n == STARTTIME || n == VSIZE || n == RSS;

		f[n] = 0;
		if (used && !sonde_host_parse_u64(tok, tl, &f[n]))
			return -EBADMSG;
		n++;
	}
	if (n < NEED)
		return -EBADMSG;
	sonde_counter_set(sonde_family_solo(s->fam[SELF_CPU]),
			  (double)(f[UTIME] + f[STIME]) / s->user_hz);
	sonde_gauge_set(sonde_family_solo(s->fam[SELF_VSIZE]), (double)f[VSIZE]);
	sonde_gauge_set(sonde_family_solo(s->fam[SELF_RSS]), (double)f[RSS] * s->page_size);
	if (s->boot_time > 0)
		sonde_gauge_set(sonde_family_solo(s->fam[SELF_START]),
				s->boot_time + (double)f[STARTTIME] / s->user_hz);
	return 0;
}

/* Soft limit of a /proc/self/limits row; "unlimited" as the client libraries print it. */
static bool limit_row(const char *line, size_t ll, const char *title, double *ret_v)
{
	size_t tl = strlen(title);
	const char *p = line + tl, *end = line + ll, *tok;
	size_t len;
	uint64_t v;

	if (ll < tl || memcmp(line, title, tl) != 0 || !sonde_host_tok_next(&p, end, &tok, &len))
		return false;
	if (sonde_host_tok_eq(tok, len, "unlimited")) {
		*ret_v = 18446744073709551615.0;
		return true;
	}
	if (!sonde_host_parse_u64(tok, len, &v))
		return false;
	*ret_v = (double)v;
	return true;
}

static int read_limits(struct sonde_self *s)
{
	const char *pos, *end, *line;
	size_t ll;
	unsigned found = 0;
	int err;

	if ((err = sonde_host_buf_read(&s->buf, s->cfg.procfs, "self/limits")) < 0)
		return err;
	pos = s->buf.data;
	end = s->buf.data + s->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		double v;

		if (limit_row(line, ll, "Max open files", &v)) {
			sonde_gauge_set(sonde_family_solo(s->fam[SELF_MAX_FDS]), v);
			found |= 1;
		} else if (limit_row(line, ll, "Max address space", &v)) {
			sonde_gauge_set(sonde_family_solo(s->fam[SELF_VMAX]), v);
			found |= 2;
		}
	}
	return found == 3 ? 0 : -EBADMSG;
}

static int count_fds(struct sonde_self *s)
{
	char path[4096];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;
	int err;

	if ((err = sonde_path_join(path, sizeof(path), s->cfg.procfs, "self/fd")) < 0)
		return err;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	/* Like the client libraries, the count includes the directory's own fd. */
	sonde_gauge_set(sonde_family_solo(s->fam[SELF_OPEN_FDS]), n);
	return 0;
}

void sonde_self_collect(void *userdata)
{
	struct sonde_self *s = userdata;
	const char *version[1] = { SONDE_VERSION };
	unsigned errors = 0;

	sonde_gauge_set(sonde_family_series(s->build_info, version), 1);
	if (s->boot_time <= 0 && read_boot_time(s) < 0)
		errors++;
	if (read_stat(s) < 0)
		errors++;
	if (read_limits(s) < 0)
		errors++;
	if (count_fds(s) < 0)
		errors++;
	sonde_counter_add(sonde_family_solo(s->errors), errors);
}

/* ---- module glue ---- */

static void self_obj_free(void *obj)
{
	sonde_self_free(obj);
}

static int self_init(struct sonde_agent *agent, const void *section, void **ret_state)
{
	const struct sonde_self_cfg *cfg = section;
	struct sonde_self *obj;
	int err;

	if (!cfg->enabled) {
		*ret_state = NULL;
		return 0;
	}
	if ((err = sonde_self_new(agent->registry, cfg, &obj)) < 0) {
		sonde_log(SONDE_LOG_ERR, "probe", "self", "registering metrics: %s",
			  strerror(-err));
		return err;
	}
	return sonde_collector_module_new(agent->registry, obj, sonde_self_collect,
					  self_obj_free, ret_state);
}

const struct sonde_module_ops sonde_self_module = {
	.name = "self",
	.config = &self_section,
	.init = self_init,
	.start = sonde_collector_module_start,
	.stop = sonde_collector_module_stop,
	.free = sonde_collector_module_free,
};
