/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_NEGOTIATE_H
#define SONDE_PROM_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>

#include "prom_format.h"

/*
 * HTTP content negotiation for /metrics. Header values are client bytes:
 * both parsers are bounded by len, allocate nothing and accept anything.
 *
 * Format: OpenMetrics only when application/openmetrics-text (version
 * absent or 1.x) is named explicitly with a q-value above 0 and not below
 * the q-value the header gives text/plain (through its most specific
 * match: text/plain, text/ *, * / *). Anything else, including a header
 * that accepts nothing we offer, gets text 0.0.4: scrapers that send odd
 * headers still get metrics rather than a 406.
 */
enum sonde_prom_fmt sonde_prom_negotiate_format(const char *accept, size_t len);

/* true when Accept-Encoding allows gzip (gzip/x-gzip or "*", q > 0). */
bool sonde_prom_accepts_gzip(const char *accept_encoding, size_t len);

#endif
