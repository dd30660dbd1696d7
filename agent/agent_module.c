// SPDX-License-Identifier: MIT
/* The "agent" config section: settings of the core itself. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "log.h"
#include "module.h"
#include "route.h"

struct agent_section {
	char log_level[16];
	long long max_series_per_family;
	char routes[SONDE_ROUTE_MAX_PATTERNS][SONDE_ROUTE_PATTERN_LEN];
	unsigned n_routes;
};

static const char *const log_levels[] = { "error", "warning", "notice", "info", "debug", NULL };

static const struct sonde_cfg_field agent_fields[] = {
	{ .name = "log_level", .type = SONDE_CFG_ENUM,
	  .offset = offsetof(struct agent_section, log_level),
	  .size = sizeof(((struct agent_section *)0)->log_level), .def = "info",
	  .enum_values = log_levels,
	  .help = "Least important messages logged: error, warning, notice, info, debug." },
	{ .name = "max_series_per_family", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct agent_section, max_series_per_family), .def = "2000",
	  .min = 10, .max = 1000000,
	  .help = "Series cap per metric family; beyond it updates go to an overflow series\n"
		  "(label values \"__overflow__\") and sonde_series_dropped_total{family} counts them." },
	{ .name = "routes", .type = SONDE_CFG_STRLIST,
	  .offset = offsetof(struct agent_section, routes),
	  .size = SONDE_ROUTE_PATTERN_LEN, .max_items = SONDE_ROUTE_MAX_PATTERNS,
	  .count_offset = offsetof(struct agent_section, n_routes),
	  .help = "HTTP route patterns tried before the default id-folding heuristic,\n"
		  "e.g. [\"/api/users/:id\", \"/static/*\"]." },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section agent_section_desc = {
	.key = "agent",
	.size = sizeof(struct agent_section),
	.fields = agent_fields,
	.help = "The agent core.",
};

/* Non-NULL state so that the loader keeps the module; nothing to free. */
struct agent_state {
	int unused;
};

static int agent_init(struct sonde_agent *agent, const void *section, void **ret_state)
{
	const struct agent_section *s = section;
	struct sonde_route_table *routes = NULL;
	enum sonde_log_level level;
	struct agent_state *st;
	char err[256];
	int r;

	if (sonde_log_level_parse(s->log_level, &level) < 0)
		return -EINVAL;
	r = sonde_route_table_new((const char(*)[SONDE_ROUTE_PATTERN_LEN])s->routes, s->n_routes,
				  &routes, err, sizeof(err));
	if (r < 0) {
		sonde_log(SONDE_LOG_ERR, "agent", "config", "agent.routes: %s", err);
		return r;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		sonde_route_table_free(routes);
		return -ENOMEM;
	}
	sonde_log_set_level(level);
	sonde_registry_set_default_max_series(agent->registry,
					      (unsigned)s->max_series_per_family);
	sonde_pipeline_set_routes(agent->pipeline, routes);
	*ret_state = st;
	return 0;
}

static void agent_free(void *state)
{
	free(state);
}

const struct sonde_module_ops sonde_agent_module = {
	.name = "agent",
	.config = &agent_section_desc,
	.init = agent_init,
	.free = agent_free,
};
