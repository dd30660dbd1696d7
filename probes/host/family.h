/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HOST_FAMILY_H
#define SONDE_HOST_FAMILY_H

#include "registry.h"

/*
 * Family registration shorthand for the host and services collectors'
 * tables: up to two labels (l2 only counts when l1 is set).
 */
int sonde_host_family(struct sonde_registry *reg, const char *name, const char *help,
		      enum sonde_metric_type type, const char *l1, const char *l2,
		      unsigned max_series, struct sonde_family **ret_fam);

#endif
