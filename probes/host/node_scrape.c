// SPDX-License-Identifier: MIT
#include "node_scrape.h"

#include <time.h>

#include "family.h"

int sonde_node_scrape_register(struct sonde_registry *reg, struct sonde_node_scrape *ret)
{
	int err;

	if ((err = sonde_host_family(reg, "node_scrape_collector_duration_seconds",
				     "node_exporter: Duration of a collector scrape.", SONDE_GAUGE,
				     "collector", NULL, 64, &ret->duration)) < 0)
		return err;
	return sonde_host_family(reg, "node_scrape_collector_success",
				 "node_exporter: Whether a collector succeeded.", SONDE_GAUGE,
				 "collector", NULL, 64, &ret->success);
}

double sonde_node_scrape_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sonde_node_scrape_done(const struct sonde_node_scrape *ns, const char *collector,
			    double t0, bool ok)
{
	const char *lv[1] = { collector };

	sonde_gauge_set(sonde_family_series(ns->duration, lv), sonde_node_scrape_now() - t0);
	sonde_gauge_set(sonde_family_series(ns->success, lv), ok ? 1 : 0);
}
