// SPDX-License-Identifier: MIT
/* The `prometheus:` config section and the module the agent starts. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "module.h"
#include "prom_server.h"

struct prom_config {
	bool enabled;
	char listen[SONDE_PROM_LISTEN_MAX];
	long long max_connections;
	bool gzip;
};

static const struct sonde_cfg_field prom_fields[] = {
	{ .name = "enabled", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct prom_config, enabled), .def = "true",
	  .help = "Serve /metrics over HTTP." },
	{ .name = "listen", .type = SONDE_CFG_LISTEN,
	  .offset = offsetof(struct prom_config, listen),
	  .size = SONDE_PROM_LISTEN_MAX, .def = "127.0.0.1:9745",
	  .help = "Address to serve on: host:port, [ipv6]:port or name:port." },
	{ .name = "max_connections", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct prom_config, max_connections), .def = "64",
	  .min = 1, .max = 10000,
	  .help = "HTTP connections open at once; more are closed and counted." },
	{ .name = "gzip", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct prom_config, gzip), .def = "true",
	  .help = "Compress responses when the scraper accepts gzip." },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section prom_section = {
	.key = "prometheus",
	.size = sizeof(struct prom_config),
	.fields = prom_fields,
	.help = "Prometheus exporter (text 0.0.4 and OpenMetrics 1.0).",
};

static int prom_init(struct sonde_agent *agent, const void *section,
		     void **ret_state)
{
	const struct prom_config *cfg = section;
	struct sonde_prom_server_opts opts;
	struct sonde_prom_server *srv;
	int err;

	if (!cfg || !cfg->enabled) {
		*ret_state = NULL;
		return 0;
	}
	opts = (struct sonde_prom_server_opts){
		.listen = cfg->listen,
		.max_connections = (unsigned)cfg->max_connections,
		.gzip = cfg->gzip,
	};
	err = sonde_prom_server_new(agent->registry, &opts, &srv);
	if (err) {
		sonde_log(SONDE_LOG_ERR, "exporter", "prometheus",
			  "cannot set up on %s: %s", cfg->listen, strerror(-err));
		return err;
	}
	*ret_state = srv;
	return 0;
}

static int prom_start(void *state)
{
	char errbuf[512];
	int err;

	err = sonde_prom_server_start(state, errbuf, sizeof(errbuf));
	if (err) {
		sonde_log(SONDE_LOG_ERR, "exporter", "prometheus", "%s", errbuf);
		return err;
	}
	sonde_log(SONDE_LOG_INFO, "exporter", "prometheus",
		  "serving /metrics on port %u", sonde_prom_server_port(state));
	return 0;
}

static void prom_stop(void *state)
{
	sonde_prom_server_stop(state);
}

static void prom_free(void *state)
{
	sonde_prom_server_free(state);
}

const struct sonde_module_ops sonde_prometheus_module = {
	.name = "prometheus",
	.config = &prom_section,
	.init = prom_init,
	.start = prom_start,
	.stop = prom_stop,
	.free = prom_free,
};
