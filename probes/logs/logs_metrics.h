/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGS_METRICS_H
#define SONDE_LOGS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "logs_config.h"
#include "module.h"
#include "tailer.h"

/*
 * Per-path state of the logs module: its parser instance (multi-line
 * entries are per file) and its series. Counts are kept in plain fields
 * on the hot path and added to the registry once per read batch.
 */
struct sonde_logs_path {
	char *path; /* label value; "__overflow__" past the cap */
	unsigned source;
	struct sonde_log_format *fmt; /* NULL: format raw, lines only */
	struct sonde_series *lines, *bytes, *errors, *truncated;
	uint64_t d_lines, d_bytes, d_errors, d_truncated;
	bool active; /* a line since the last idle check */
};

struct sonde_logs_metrics {
	struct sonde_pipeline *pipeline;
	struct sonde_registry *registry;
	const struct sonde_logs_cfg *cfg;
	struct sonde_family *lines, *bytes, *errors, *truncated, *rotations,
		*truncations, *watched, *resumed;
	struct sonde_series *overflows, *skipped, *ckpt_errors, *read_errors,
		*dump_dropped, *inotify;
	struct sonde_logs_path *paths; /* max_paths + one overflow per source */
	unsigned n_paths, max_paths;
	struct sonde_logs_path *overflow; /* paths[max_paths]: source 0's */
};

int sonde_logs_metrics_init(struct sonde_logs_metrics *m,
			    struct sonde_agent *agent,
			    const struct sonde_logs_cfg *cfg);
void sonde_logs_metrics_free(struct sonde_logs_metrics *m);

/* The entry for path (created on first use; past the cap: the overflow). */
struct sonde_logs_path *sonde_logs_path_get(struct sonde_logs_metrics *m,
					    unsigned source, const char *path);
void sonde_logs_path_event(struct sonde_logs_metrics *m,
			   struct sonde_logs_path *p,
			   enum sonde_tailer_event ev);
void sonde_logs_submit(struct sonde_logs_metrics *m, struct sonde_logs_path *p,
		       struct sonde_txn *txn);
/* Adds the batched counts to the registry. */
void sonde_logs_metrics_publish(struct sonde_logs_metrics *m,
				const struct sonde_tailer_stats *st,
				uint64_t dump_dropped);
/* Completes held multi-line entries of paths idle since the last call
 * (all: of every path, at stop). */
void sonde_logs_flush_idle(struct sonde_logs_metrics *m, bool all);
/* The tailer was freed: no file is open any more, handles are gone. */
void sonde_logs_metrics_stopped(struct sonde_logs_metrics *m);
const char *sonde_logs_event_name(enum sonde_tailer_event ev);

/* Is this format one the parsers handle (not raw)? */
bool sonde_logs_format_parsed(const char *format);

#endif
