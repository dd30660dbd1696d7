/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HOST_NODE_SCRAPE_H
#define SONDE_HOST_NODE_SCRAPE_H

#include <stdbool.h>

#include "registry.h"

/*
 * node_exporter's node_scrape_collector_duration_seconds and
 * node_scrape_collector_success, labelled by collector; the host and
 * services collectors register the same two families.
 */

struct sonde_node_scrape {
	struct sonde_family *duration, *success;
};

int sonde_node_scrape_register(struct sonde_registry *reg, struct sonde_node_scrape *ret);
/* CLOCK_MONOTONIC in seconds: a collector's start time for _done. */
double sonde_node_scrape_now(void);
/* Sets collector's duration (now - t0) and success (ok: 1, else 0). */
void sonde_node_scrape_done(const struct sonde_node_scrape *ns, const char *collector,
			    double t0, bool ok);

#endif
