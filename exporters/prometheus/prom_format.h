/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_FORMAT_H
#define SONDE_PROM_FORMAT_H

#include <stddef.h>

#include "registry.h"
#include "prom_buf.h"

/*
 * Pure exposition: snapshot in, bytes out. No I/O, no locks, no clock, so
 * the golden-file tests see exactly what a scrape sees.
 */
enum sonde_prom_fmt {
	SONDE_PROM_TEXT = 0,	/* text/plain; version=0.0.4 */
	SONDE_PROM_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

#define SONDE_PROM_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SONDE_PROM_CT_OPENMETRICS \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Appends the exposition of snap to out; 0 or -ENOMEM (out->failed). */
int sonde_prom_format(const struct sonde_snapshot *snap,
		      enum sonde_prom_fmt fmt, struct sonde_buf *out);

/* Shortest text that parses back to v; "+Inf", "-Inf", "NaN". */
/* out must hold SONDE_PROM_DOUBLE_MAX bytes. */
#define SONDE_PROM_DOUBLE_MAX 32
size_t sonde_prom_fmt_double(double v, char *out);
size_t sonde_prom_fmt_u64(unsigned long long v, char *out);

/*
 * Escaping as the formats define it, plus invalid UTF-8 replaced by U+FFFD:
 * label values come from traffic, and one bad byte would make Prometheus
 * reject the whole scrape.
 */
void sonde_prom_escape_label(struct sonde_buf *out, const char *s);
void sonde_prom_escape_help(struct sonde_buf *out, const char *s,
			    enum sonde_prom_fmt fmt);

#endif
