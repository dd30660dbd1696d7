// SPDX-License-Identifier: MIT
#include "logs_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline.h"

static const char *const rotation_kinds[] = {
	[SONDE_TAILER_ROTATED_RENAME] = "rename",
	[SONDE_TAILER_ROTATED_DELETE] = "delete",
	[SONDE_TAILER_REPLACED] = "replaced",
};

const char *sonde_logs_event_name(enum sonde_tailer_event ev)
{
	switch (ev) {
	case SONDE_TAILER_OPENED: return "opened";
	case SONDE_TAILER_CLOSED: return "closed";
	case SONDE_TAILER_ROTATED_RENAME: return "rotated (rename)";
	case SONDE_TAILER_ROTATED_DELETE: return "rotated (delete)";
	case SONDE_TAILER_TRUNCATED: return "truncated (copytruncate)";
	case SONDE_TAILER_REPLACED: return "replaced while stopped: read from start";
	case SONDE_TAILER_RESUMED: return "resumed from checkpoint";
	}
	return "?";
}

bool sonde_logs_format_parsed(const char *format)
{
	return format[0] && strcmp(format, "raw") != 0;
}

struct family_def {
	size_t offset; /* of the family pointer in sonde_logs_metrics */
	struct sonde_family_desc desc;
};

#define FAM(member, ...) \
	{ offsetof(struct sonde_logs_metrics, member), { __VA_ARGS__ } }

static const struct family_def path_families[] = {
	FAM(lines, .name = "sonde_log_lines_total", .type = SONDE_COUNTER,
	    .help = "Lines read from log files.", .labels = { "path" }),
	FAM(bytes, .name = "sonde_log_bytes_total", .type = SONDE_COUNTER,
	    .unit = "bytes", .help = "Bytes of lines read, newlines included.",
	    .labels = { "path" }),
	FAM(errors, .name = "sonde_log_parse_errors_total",
	    .type = SONDE_COUNTER,
	    .help = "Lines the log format could not parse.",
	    .labels = { "path" }),
	FAM(truncated, .name = "sonde_log_lines_truncated_total",
	    .type = SONDE_COUNTER,
	    .help = "Lines longer than max_line_length, cut to it.",
	    .labels = { "path" }),
	FAM(rotations, .name = "sonde_log_rotations_total",
	    .type = SONDE_COUNTER,
	    .help = "Rotations seen: rename (+create), delete (+recreate), "
		    "replaced (changed while sonde was stopped).",
	    .labels = { "path", "kind" }),
	FAM(truncations, .name = "sonde_log_truncations_total",
	    .type = SONDE_COUNTER,
	    .help = "Files truncated in place (copytruncate) and read again "
		    "from their start.",
	    .labels = { "path" }),
	FAM(watched, .name = "sonde_log_files_watched", .type = SONDE_GAUGE,
	    .help = "Files open, rotated ones still being drained included.",
	    .labels = { "path" }),
	FAM(resumed, .name = "sonde_log_resumed_total", .type = SONDE_COUNTER,
	    .help = "Files resumed from a checkpointed offset at start.",
	    .labels = { "path" }),
};

struct solo_def {
	size_t offset; /* of the series pointer */
	struct sonde_family_desc desc;
};

#define SOLO(member, ...) \
	{ offsetof(struct sonde_logs_metrics, member), { __VA_ARGS__ } }

static const struct solo_def solo_families[] = {
	SOLO(overflows, .name = "sonde_log_inotify_overflows_total",
	     .type = SONDE_COUNTER,
	     .help = "inotify queue overflows (each answered by a full poll)."),
	SOLO(skipped, .name = "sonde_log_files_skipped_total",
	     .type = SONDE_COUNTER,
	     .help = "Matching files not followed because max_files was reached "
		     "(counted at every scan)."),
	SOLO(ckpt_errors, .name = "sonde_log_checkpoint_errors_total",
	     .type = SONDE_COUNTER,
	     .help = "Failures to load or save the offsets state file."),
	SOLO(read_errors, .name = "sonde_log_read_errors_total",
	     .type = SONDE_COUNTER, .help = "read(2) errors on log files."),
	SOLO(dump_dropped, .name = "sonde_log_debug_dump_dropped_total",
	     .type = SONDE_COUNTER,
	     .help = "Lines not written to debug_dump (size cap or write error)."),
	SOLO(inotify, .name = "sonde_log_inotify", .type = SONDE_GAUGE,
	     .help = "1 when inotify is in use, 0 when polling only."),
};

int sonde_logs_metrics_init(struct sonde_logs_metrics *m,
			    struct sonde_agent *agent,
			    const struct sonde_logs_cfg *cfg)
{
	char err[256];
	int r;

	memset(m, 0, sizeof(*m));
	m->pipeline = agent->pipeline;
	m->registry = agent->registry;
	m->cfg = cfg;
	/* renamed-and-recreated files keep their path: 2x leaves room for
	 * patterns that match dated names as they come and go */
	m->max_paths = (unsigned)cfg->max_files * 2;
	m->paths = calloc(m->max_paths + cfg->n_sources, sizeof(*m->paths));
	if (!m->paths)
		return -ENOMEM;
	m->overflow = &m->paths[m->max_paths];
	for (size_t i = 0; i < sizeof(path_families) / sizeof(path_families[0]);
	     i++) {
		struct sonde_family_desc d = path_families[i].desc;

		d.max_series = m->max_paths * (d.labels[1] ? 4 : 1) + 1;
		r = sonde_registry_add(agent->registry, &d,
				       (struct sonde_family **)((char *)m +
								path_families[i].offset));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < sizeof(solo_families) / sizeof(solo_families[0]);
	     i++) {
		struct sonde_family *f;

		r = sonde_registry_add(agent->registry, &solo_families[i].desc,
				       &f);
		if (r < 0)
			return r;
		*(struct sonde_series **)((char *)m + solo_families[i].offset) =
			sonde_family_solo(f);
	}
	/* refuse a bad format now, with the source named, not at first line */
	for (unsigned i = 0; i < cfg->n_sources; i++) {
		struct sonde_log_format *fmt = NULL;

		if (!sonde_logs_format_parsed(cfg->sources[i].fmt.format))
			continue;
		r = sonde_log_format_new(&cfg->sources[i].fmt, &fmt, err,
					 sizeof(err));
		if (r < 0) {
			sonde_log(SONDE_LOG_ERR, "probe", "logs",
				  "logs.sources[%u] (%s): %s", i,
				  cfg->sources[i].path, err);
			return r;
		}
		sonde_log_format_free(fmt);
	}
	return 0;
}

void sonde_logs_metrics_free(struct sonde_logs_metrics *m)
{
	if (!m->paths)
		return;
	for (unsigned i = 0; i < m->max_paths + m->cfg->n_sources; i++) {
		free(m->paths[i].path);
		sonde_log_format_free(m->paths[i].fmt);
	}
	free(m->paths);
	m->paths = NULL;
}

static int path_setup(struct sonde_logs_metrics *m, struct sonde_logs_path *p,
		      unsigned source, const char *label)
{
	const struct sonde_logs_source_cfg *sc = &m->cfg->sources[source];
	const char *v[1] = { label };
	char err[256];

	p->path = strdup(label);
	if (!p->path)
		return -ENOMEM;
	p->source = source;
	if (sonde_logs_format_parsed(sc->fmt.format) &&
	    sonde_log_format_new(&sc->fmt, &p->fmt, err, sizeof(err)) < 0)
		p->fmt = NULL; /* checked at init: cannot fail but on ENOMEM */
	p->lines = sonde_family_series(m->lines, v);
	p->bytes = sonde_family_series(m->bytes, v);
	p->errors = sonde_family_series(m->errors, v);
	p->truncated = sonde_family_series(m->truncated, v);
	return 0;
}

struct sonde_logs_path *sonde_logs_path_get(struct sonde_logs_metrics *m,
					    unsigned source, const char *path)
{
	struct sonde_logs_path *ov = &m->paths[m->max_paths + source];

	for (unsigned i = 0; i < m->n_paths; i++)
		if (m->paths[i].source == source &&
		    strcmp(m->paths[i].path, path) == 0)
			return &m->paths[i];
	if (m->n_paths < m->max_paths &&
	    path_setup(m, &m->paths[m->n_paths], source, path) == 0)
		return &m->paths[m->n_paths++];
	if (!ov->path && path_setup(m, ov, source, SONDE_OVERFLOW_VALUE) < 0)
		return NULL;
	return ov;
}

void sonde_logs_path_event(struct sonde_logs_metrics *m,
			   struct sonde_logs_path *p,
			   enum sonde_tailer_event ev)
{
	const char *v[2] = { p && p->path ? p->path : SONDE_OVERFLOW_VALUE,
			     NULL };

	switch (ev) {
	case SONDE_TAILER_OPENED:
		sonde_gauge_add(sonde_family_series(m->watched, v), 1);
		break;
	case SONDE_TAILER_CLOSED:
		sonde_gauge_add(sonde_family_series(m->watched, v), -1);
		break;
	case SONDE_TAILER_ROTATED_RENAME:
	case SONDE_TAILER_ROTATED_DELETE:
	case SONDE_TAILER_REPLACED:
		v[1] = rotation_kinds[ev];
		sonde_counter_inc(sonde_family_series(m->rotations, v));
		break;
	case SONDE_TAILER_TRUNCATED:
		sonde_counter_inc(sonde_family_series(m->truncations, v));
		break;
	case SONDE_TAILER_RESUMED:
		sonde_counter_inc(sonde_family_series(m->resumed, v));
		break;
	}
}

void sonde_logs_submit(struct sonde_logs_metrics *m, struct sonde_logs_path *p,
		       struct sonde_txn *txn)
{
	const struct sonde_logs_source_cfg *sc = &m->cfg->sources[p->source];

	txn->source = SONDE_SRC_LOG;
	if (sc->fmt.service[0])
		SONDE_TXN_SET(txn->service, sc->fmt.service,
			      sizeof(sc->fmt.service));
	sonde_pipeline_submit(m->pipeline, txn);
}

static void publish_path(struct sonde_logs_path *p)
{
	if (!p->path)
		return;
	if (p->d_lines) {
		sonde_counter_add(p->lines, (double)p->d_lines);
		sonde_counter_add(p->bytes, (double)p->d_bytes);
		p->d_lines = p->d_bytes = 0;
	}
	if (p->d_errors) {
		sonde_counter_add(p->errors, (double)p->d_errors);
		p->d_errors = 0;
	}
	if (p->d_truncated) {
		sonde_counter_add(p->truncated, (double)p->d_truncated);
		p->d_truncated = 0;
	}
}

void sonde_logs_metrics_publish(struct sonde_logs_metrics *m,
				const struct sonde_tailer_stats *st,
				uint64_t dump_dropped)
{
	for (unsigned i = 0; i < m->n_paths; i++)
		publish_path(&m->paths[i]);
	for (unsigned i = 0; i < m->cfg->n_sources; i++)
		publish_path(&m->paths[m->max_paths + i]);
	sonde_counter_set(m->overflows, (double)st->inotify_overflows);
	sonde_counter_set(m->skipped, (double)st->files_skipped);
	sonde_counter_set(m->ckpt_errors, (double)st->checkpoint_errors);
	sonde_counter_set(m->read_errors, (double)st->read_errors);
	sonde_counter_set(m->dump_dropped, (double)dump_dropped);
	sonde_gauge_set(m->inotify, st->inotify ? 1 : 0);
}

void sonde_logs_flush_idle(struct sonde_logs_metrics *m, bool all)
{
	for (unsigned i = 0; i < m->max_paths + m->cfg->n_sources; i++) {
		struct sonde_logs_path *p = &m->paths[i];
		struct sonde_txn txn;

		if (i >= m->n_paths && i < m->max_paths)
			continue;
		if (p->fmt && (all || !p->active) &&
		    sonde_log_format_flush(p->fmt, &txn) == 1)
			sonde_logs_submit(m, p, &txn);
		p->active = false;
	}
}

void sonde_logs_metrics_stopped(struct sonde_logs_metrics *m)
{
	for (unsigned i = 0; i < m->max_paths + m->cfg->n_sources; i++) {
		const char *v[1] = { m->paths[i].path };

		if (!m->paths[i].path)
			continue;
		sonde_gauge_set(sonde_family_series(m->watched, v), 0);
	}
}
