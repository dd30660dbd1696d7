/* SPDX-License-Identifier: MIT */
#ifndef SONDE_ROUTE_H
#define SONDE_ROUTE_H

#include <stddef.h>

/*
 * Raw HTTP path -> low-cardinality route. Configured patterns first
 * (e.g. "/api/users/:id", or "/static/" followed by a star), then a default heuristic that folds
 * numbers, UUIDs, hex hashes and other id-like segments into ":id", and
 * caps the depth, so a raw path never becomes a label value.
 */

#define SONDE_ROUTE_PATTERN_LEN 128
#define SONDE_ROUTE_MAX_PATTERNS 64

struct sonde_route_table;

/* patterns may be NULL with n == 0: heuristic only. */
int sonde_route_table_new(const char (*patterns)[SONDE_ROUTE_PATTERN_LEN],
			  unsigned n, struct sonde_route_table **ret_table,
			  char *errbuf, size_t errlen);
void sonde_route_table_free(struct sonde_route_table *table);

/* Query string and fragment are ignored. table may be NULL. */
void sonde_route_resolve(const struct sonde_route_table *table,
			 const char *path, size_t len, char *out, size_t outlen);

#endif
