/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_SELF_H
#define SONDE_PROM_SELF_H

#include "prom_format.h"
#include "registry.h"

/* The exporter's own metrics; families live in the agent's registry. */
struct sonde_prom_self {
	struct sonde_family *requests;	   /* {handler, code} */
	struct sonde_series *scrapes[2];   /* by enum sonde_prom_fmt */
	struct sonde_series *scrape_errors;
	struct sonde_series *duration;
	struct sonde_series *size;
	struct sonde_series *rejected;
	struct sonde_series *open;
};

int sonde_prom_self_register(struct sonde_registry *reg,
			     struct sonde_prom_self *ret_self);
/* handler: "/metrics", "/", "/healthz" or "other". */
void sonde_prom_self_request(const struct sonde_prom_self *self,
			     const char *handler, unsigned code);

#endif
