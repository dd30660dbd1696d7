/* SPDX-License-Identifier: MIT */
#ifndef SONDE_MODULE_H
#define SONDE_MODULE_H

#include "config.h"
#include "loop.h"
#include "pipeline.h"
#include "registry.h"

/*
 * What a module gets from the agent. Lives as long as the agent; the
 * config pointer changes on reload (modules are stopped, freed, and
 * initialised again with the new one, but for those kept running:
 * keep_on_reload; families persist in the registry).
 */
struct sonde_agent {
	const struct sonde_config *config;
	struct sonde_registry *registry;
	struct sonde_loop *loop;
	struct sonde_pipeline *pipeline;
};

/*
 * A module: a const ops table, apart from its runtime state.
 * init: validate its section, allocate state, register families (no I/O
 *       that can block for long; return -errno to refuse the config).
 * start: open fds, add them to the loop, start threads.
 * stop: undo start (idempotent). free: accepts NULL.
 * A module whose section says it is disabled returns 0 from init with
 * *ret_state == NULL, and is then skipped.
 * keep_on_reload: on SIGHUP, when its section is the same byte for byte
 * (flat sections only: no pointers), the module is not stopped and
 * initialised again but goes on running; it must then not keep pointers
 * into the configuration (copy its section) nor read other sections.
 */
struct sonde_module_ops {
	const char *name;
	const struct sonde_cfg_section *config; /* may be NULL */
	int (*init)(struct sonde_agent *agent, const void *section,
		    void **ret_state);
	int (*start)(void *state);
	void (*stop)(void *state);
	void (*free)(void *state);
	bool keep_on_reload;
};

#endif
