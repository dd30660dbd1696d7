/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HOST_SELF_H
#define SONDE_HOST_SELF_H

#include <stdbool.h>

#include "hostio.h"
#include "registry.h"

/* The agent's own process_* metrics (Prometheus client conventions) and build info. */

struct sonde_self_cfg {
	bool enabled;
	char procfs[256];
};

enum {
	SELF_CPU,
	SELF_RSS,
	SELF_VSIZE,
	SELF_VMAX,
	SELF_OPEN_FDS,
	SELF_MAX_FDS,
	SELF_START,
	SELF_N,
};

struct sonde_self {
	struct sonde_registry *reg;
	struct sonde_self_cfg cfg;
	struct sonde_host_buf buf;
	double user_hz, page_size;
	double boot_time; /* 0 until read */
	struct sonde_family *fam[SELF_N];
	struct sonde_family *build_info, *errors;
};

int sonde_self_new(struct sonde_registry *reg, const struct sonde_self_cfg *cfg,
		   struct sonde_self **ret_self);
void sonde_self_free(struct sonde_self *self);
/* Registry collector hook. */
void sonde_self_collect(void *self);

#endif
