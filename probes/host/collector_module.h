/* SPDX-License-Identifier: MIT */
#ifndef SONDE_COLLECTOR_MODULE_H
#define SONDE_COLLECTOR_MODULE_H

#include "registry.h"

/*
 * The module glue shared by collectors that only refresh metrics at each
 * scrape (host, services, self): start adds the registry collector hook,
 * stop removes it, free stops and frees the collector object. A module's
 * init builds its object and hands it over with _new; its ops table uses
 * _start/_stop/_free directly.
 */

typedef void (*sonde_collector_free_fn)(void *obj);

/* On failure obj is freed with free_obj. */
int sonde_collector_module_new(struct sonde_registry *reg, void *obj,
			       sonde_collect_fn collect,
			       sonde_collector_free_fn free_obj,
			       void **ret_state);
int sonde_collector_module_start(void *state);
void sonde_collector_module_stop(void *state);
void sonde_collector_module_free(void *state);

#endif
