/* SPDX-License-Identifier: MIT */
#ifndef SONDE_REGISTRY_INTERNAL_H
#define SONDE_REGISTRY_INTERNAL_H

/* The registry's structures, shared by registry.c and series_memo.c only. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "registry.h"

struct sonde_series {
	struct sonde_series *hnext;           /* hash chain */
	struct sonde_series *prev, *next;     /* creation order */
	struct sonde_family *fam;
	uint64_t hash;
	_Atomic uint64_t bits;  /* value (double bits); histogram sum */
	_Atomic uint64_t count; /* histogram count */
	_Atomic uint64_t gen;
	double created;
	char *values[SONDE_MAX_LABELS];
	_Atomic uint64_t buckets[]; /* histograms: n_buckets + 1 (+Inf), not cumulative */
};

struct sonde_family {
	struct sonde_registry *reg;
	char *name, *help, *unit;
	enum sonde_metric_type type;
	unsigned n_labels;
	char *labels[SONDE_MAX_LABELS];
	unsigned n_buckets;
	double buckets[SONDE_MAX_BUCKETS];
	unsigned max_series; /* 0: registry default */

	pthread_rwlock_t lock;
	struct sonde_series **table;
	size_t table_size, n_series;
	struct sonde_series *first, *last;
	struct sonde_series *overflow;
	struct sonde_series *dropped; /* in sonde_series_dropped_total */
	_Atomic uint64_t gen;
	_Atomic bool swept; /* ever swept: the per-thread memo stays away */
};

struct collector {
	sonde_collect_fn fn;
	void *userdata;
};

struct sonde_registry {
	pthread_mutex_t lock; /* families array, collectors */
	pthread_mutex_t collect_lock; /* serialises collectors and snapshots */
	struct sonde_family **fams;
	size_t n_fams, cap_fams;
	struct collector *collectors;
	size_t n_collectors, cap_collectors;
	_Atomic unsigned default_max_series;
	struct sonde_family *dropped_fam;
	uint64_t id; /* unique in the process, never reused: keys the memo */
};

#endif
