// SPDX-License-Identifier: MIT
#include "prom_self.h"

#include <stdio.h>

/* Scrapes of 10k series take ~1-5 ms: resolve that range finely. */
static const double scrape_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
					 0.025,	 0.05,	0.1,	0.25,  0.5,
					 1,	 2.5 };

static const struct sonde_family_desc fam_scrapes = {
	.name = "sonde_scrapes_total",
	.help = "Scrapes of /metrics served, by exposition format.",
	.type = SONDE_COUNTER,
	.labels = { "format" },
};
static const struct sonde_family_desc fam_scrape_errors = {
	.name = "sonde_scrape_errors_total",
	.help = "Scrapes of /metrics answered 500 (snapshot or allocation failure).",
	.type = SONDE_COUNTER,
};
static const struct sonde_family_desc fam_duration = {
	.name = "sonde_scrape_duration_seconds",
	.help = "Time to snapshot, format and compress one /metrics response.",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.buckets = scrape_buckets,
	.n_buckets = sizeof(scrape_buckets) / sizeof(scrape_buckets[0]),
};
static const struct sonde_family_desc fam_size = {
	.name = "sonde_scrape_response_size_bytes",
	.help = "Body size of the last /metrics response as sent (after compression).",
	.unit = "bytes",
	.type = SONDE_GAUGE,
};
static const struct sonde_family_desc fam_requests = {
	.name = "sonde_http_requests_total",
	.help = "HTTP requests answered by the exporter, by handler and status code.",
	.type = SONDE_COUNTER,
	.labels = { "handler", "code" },
};
static const struct sonde_family_desc fam_rejected = {
	.name = "sonde_http_connections_rejected_total",
	.help = "Connections closed unserved because max_connections were open.",
	.type = SONDE_COUNTER,
};
static const struct sonde_family_desc fam_open = {
	.name = "sonde_http_connections",
	.help = "HTTP connections currently open to the exporter.",
	.type = SONDE_GAUGE,
};

int sonde_prom_self_register(struct sonde_registry *reg,
			     struct sonde_prom_self *ret_self)
{
	struct sonde_prom_self s = { 0 };
	struct sonde_family *f;
	int err;

	err = sonde_registry_add(reg, &fam_scrapes, &f);
	if (err)
		return err;
	s.scrapes[SONDE_PROM_TEXT] = sonde_family_series(f, (const char *const[]){ "text" });
	s.scrapes[SONDE_PROM_OPENMETRICS] =
		sonde_family_series(f, (const char *const[]){ "openmetrics" });
	err = sonde_registry_add(reg, &fam_scrape_errors, &f);
	if (err)
		return err;
	s.scrape_errors = sonde_family_solo(f);
	err = sonde_registry_add(reg, &fam_duration, &f);
	if (err)
		return err;
	s.duration = sonde_family_solo(f);
	err = sonde_registry_add(reg, &fam_size, &f);
	if (err)
		return err;
	s.size = sonde_family_solo(f);
	err = sonde_registry_add(reg, &fam_requests, &s.requests);
	if (err)
		return err;
	err = sonde_registry_add(reg, &fam_rejected, &f);
	if (err)
		return err;
	s.rejected = sonde_family_solo(f);
	err = sonde_registry_add(reg, &fam_open, &f);
	if (err)
		return err;
	s.open = sonde_family_solo(f);
	*ret_self = s;
	return 0;
}

void sonde_prom_self_request(const struct sonde_prom_self *self,
			     const char *handler, unsigned code)
{
	char codebuf[12];

	snprintf(codebuf, sizeof(codebuf), "%u", code);
	sonde_counter_inc(sonde_family_series(self->requests,
					      (const char *const[]){ handler, codebuf }));
}
