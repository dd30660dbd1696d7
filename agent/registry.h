/* SPDX-License-Identifier: MIT */
#ifndef SONDE_REGISTRY_H
#define SONDE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One metrics registry, owned by the agent.
 *
 * Families are registered at module start and give typed handles. A series
 * (one label-value set) is looked up once and its handle kept, or looked up
 * per event for dynamic labels: lookup of an existing series takes a read
 * lock and allocates nothing; a new series allocates once, and only until
 * the family's series cap, after which the family's overflow series (every
 * label value "__overflow__") absorbs the update and
 * sonde_series_dropped_total{family} counts it.
 *
 * Updates are lock-free atomics. Exposition never reads live series: it
 * takes a snapshot (sonde_registry_snapshot) and formats that.
 */

#define SONDE_MAX_LABELS 8
#define SONDE_MAX_BUCKETS 24
#define SONDE_LABEL_VALUE_MAX 128 /* longer values are truncated */
#define SONDE_OVERFLOW_VALUE "__overflow__"

enum sonde_metric_type {
	SONDE_COUNTER = 0,
	SONDE_GAUGE,
	SONDE_HISTOGRAM,
};

struct sonde_registry;
struct sonde_family;
struct sonde_series;

/* Called at every snapshot before reading; collectors refresh gauges here. */
typedef void (*sonde_collect_fn)(void *userdata);

struct sonde_family_desc {
	const char *name; /* without _total/_bucket suffixes for counters: see below */
	const char *help;
	const char *unit; /* OpenMetrics unit ("seconds", "bytes") or NULL */
	enum sonde_metric_type type;
	const char *labels[SONDE_MAX_LABELS]; /* NULL-terminated */
	const double *buckets; /* histograms: ascending upper bounds, no +Inf */
	unsigned n_buckets;
	unsigned max_series; /* 0: the registry default */
};
/*
 * Counter names are given WITH the "_total" suffix as exported in text
 * format 0.0.4 (e.g. "node_cpu_seconds_total"); OpenMetrics output strips it
 * for the family line and re-adds it on samples.
 */

/* OpenTelemetry's default HTTP/DB duration buckets, seconds. */
extern const double sonde_buckets_otel_seconds[];
extern const unsigned sonde_buckets_otel_seconds_n;

int sonde_registry_new(unsigned default_max_series,
		       struct sonde_registry **ret_reg);
void sonde_registry_free(struct sonde_registry *reg);
void sonde_registry_set_default_max_series(struct sonde_registry *reg,
					   unsigned max_series);

/*
 * Registers a family, or returns the existing one when a family of that
 * name and the same type and labels exists (so modules can be restarted on
 * reload). -EEXIST if the name exists with a different shape, -EINVAL on a
 * bad name or label.
 */
int sonde_registry_add(struct sonde_registry *reg,
		       const struct sonde_family_desc *desc,
		       struct sonde_family **ret_fam);

/* Collector hooks, run (serialised) at every snapshot. */
int sonde_registry_add_collector(struct sonde_registry *reg, sonde_collect_fn fn,
				 void *userdata);
void sonde_registry_remove_collector(struct sonde_registry *reg,
				     sonde_collect_fn fn, void *userdata);

/*
 * Returns the series for these label values (count = the family's label
 * count; NULL values are treated as ""). Never NULL for a valid family: at
 * the cap it returns the overflow series. Thread-safe.
 */
struct sonde_series *sonde_family_series(struct sonde_family *fam,
					 const char *const *values);
/*
 * The same, through a small per-thread memo of raw values -> handle
 * (series_memo.c): for hot paths that look up on every event. Only for
 * families that are never swept; a swept family bypasses the memo.
 */
struct sonde_series *sonde_family_series_memo(struct sonde_family *fam,
					      const char *const *values);
/*
 * The same for n families that take the same label values (a histogram
 * and the counters beside it): the values are packed and hashed once.
 */
void sonde_family_series_memo_n(struct sonde_family *const *fams, unsigned n,
				const char *const *values, struct sonde_series **out);
/* Convenience for families without labels. */
struct sonde_series *sonde_family_solo(struct sonde_family *fam);

void sonde_counter_add(struct sonde_series *s, double v);
void sonde_counter_inc(struct sonde_series *s);
/* For counters mirrored from the kernel or /proc: set the absolute value. */
void sonde_counter_set(struct sonde_series *s, double v);
void sonde_gauge_set(struct sonde_series *s, double v);
void sonde_gauge_add(struct sonde_series *s, double v);
void sonde_histogram_observe(struct sonde_series *s, double v);
double sonde_series_value(const struct sonde_series *s);

/*
 * Mark and sweep for collector-owned families whose series come and go
 * (devices, mounts, units): mark before refreshing, every series touched by
 * a lookup or set since is kept, sweep removes the rest. Only for families
 * whose handles are not kept across collections.
 */
void sonde_family_mark(struct sonde_family *fam);
void sonde_family_sweep(struct sonde_family *fam);

unsigned sonde_family_series_count(const struct sonde_family *fam);

/* ---- snapshots: what exposition formats ---- */

struct sonde_snap_series {
	const char *values[SONDE_MAX_LABELS];
	double value; /* counter/gauge value; histogram sum */
	uint64_t count; /* histogram count */
	uint64_t buckets[SONDE_MAX_BUCKETS]; /* cumulative counts */
	double created; /* seconds since the epoch */
};

struct sonde_snap_family {
	const char *name;
	const char *help;
	const char *unit;
	enum sonde_metric_type type;
	unsigned n_labels;
	const char *labels[SONDE_MAX_LABELS];
	unsigned n_buckets;
	double buckets[SONDE_MAX_BUCKETS];
	size_t n_series;
	struct sonde_snap_series *series; /* creation order; overflow last */
};

struct sonde_snapshot {
	size_t n_families;
	struct sonde_snap_family *families; /* sorted by name */
	void *arena; /* owns every string and array above */
};

/* Runs the collectors, then copies every family. */
int sonde_registry_snapshot(struct sonde_registry *reg,
			    struct sonde_snapshot **ret_snap);
void sonde_snapshot_free(struct sonde_snapshot *snap);

#endif
