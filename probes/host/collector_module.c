// SPDX-License-Identifier: MIT
#include "collector_module.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct collector_module {
	struct sonde_registry *reg;
	void *obj;
	sonde_collect_fn collect;
	sonde_collector_free_fn free_obj;
	bool started;
};

int sonde_collector_module_new(struct sonde_registry *reg, void *obj,
			       sonde_collect_fn collect,
			       sonde_collector_free_fn free_obj,
			       void **ret_state)
{
	struct collector_module *m = calloc(1, sizeof(*m));

	if (!m) {
		free_obj(obj);
		return -ENOMEM;
	}
	m->reg = reg;
	m->obj = obj;
	m->collect = collect;
	m->free_obj = free_obj;
	*ret_state = m;
	return 0;
}

int sonde_collector_module_start(void *state)
{
	struct collector_module *m = state;
	int err;

	if (m->started)
		return 0;
	if ((err = sonde_registry_add_collector(m->reg, m->collect, m->obj)) < 0)
		return err;
	m->started = true;
	return 0;
}

void sonde_collector_module_stop(void *state)
{
	struct collector_module *m = state;

	if (!m || !m->started)
		return;
	sonde_registry_remove_collector(m->reg, m->collect, m->obj);
	m->started = false;
}

void sonde_collector_module_free(void *state)
{
	struct collector_module *m = state;

	if (!m)
		return;
	sonde_collector_module_stop(m);
	m->free_obj(m->obj);
	free(m);
}
