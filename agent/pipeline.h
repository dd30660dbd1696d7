/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PIPELINE_H
#define SONDE_PIPELINE_H

#include "registry.h"
#include "transaction.h"

/*
 * Where every transaction goes: the metrics sink (and later the span
 * queue). Thread-safe: sources may submit from their own threads.
 */

struct sonde_pipeline;

int sonde_pipeline_new(struct sonde_registry *reg,
		       struct sonde_pipeline **ret_pipe);
void sonde_pipeline_free(struct sonde_pipeline *pipe);

struct sonde_route_table;
/*
 * Takes ownership of routes (NULL: heuristic only); frees the old table.
 * Not concurrent with sonde_pipeline_submit: the agent sets routes in the
 * agent module's init, while every other module is stopped (start-up and
 * reload), so submit reads the table without a lock.
 */
void sonde_pipeline_set_routes(struct sonde_pipeline *pipe,
			       struct sonde_route_table *routes);

/* Turns one transaction into metric updates. Never allocates once warm. */
void sonde_pipeline_submit(struct sonde_pipeline *pipe,
			   const struct sonde_txn *txn);

#endif
