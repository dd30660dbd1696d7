/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGFMT_INTERNAL_H
#define SONDE_LOGFMT_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hexdigit.h"
#include "probes/logs/format.h"

/*
 * Private interface between the format dispatcher (format.c) and the
 * individual formats. Each format keeps its whole state in one block
 * allocated at _new, so a line never allocates.
 */

struct sonde_logfmt_ops {
	const char *name;
	const char *default_service;
	int (*new)(const struct sonde_log_format_config *cfg, void **ret_state,
		   char *errbuf, size_t errlen);
	void (*free)(void *state);
	int (*line)(void *state, const char *line, size_t len,
		    struct sonde_txn *txn);
	/* NULL for single-line formats. */
	int (*flush)(void *state, struct sonde_txn *txn);
};

extern const struct sonde_logfmt_ops sonde_logfmt_nginx;
extern const struct sonde_logfmt_ops sonde_logfmt_combined;
extern const struct sonde_logfmt_ops sonde_logfmt_apache;
extern const struct sonde_logfmt_ops sonde_logfmt_json;
extern const struct sonde_logfmt_ops sonde_logfmt_postgres;
extern const struct sonde_logfmt_ops sonde_logfmt_mysql_slow;

/* ---- shared scanning helpers (util.c) ---- */

/*
 * A non-negative decimal ("0.123", "12", "1.5e-3") times 10^scale_exp,
 * rounded to an integer, in integer arithmetic: seconds with scale_exp 9
 * give ns ("0.123" -> 123000000), milliseconds use 6. -EINVAL when s is
 * not such a number, -ERANGE on overflow.
 */
int sonde_logfmt_decimal_scaled(const char *s, size_t len, int scale_exp,
				uint64_t *ret_val);
/* Plain unsigned integer, digits only. */
/* Decimal digits only, at most 19 of them; inline, as every line has two. */
static inline int sonde_logfmt_uint(const char *s, size_t len, uint64_t *ret_val)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret_val = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t sonde_logfmt_days_from_civil(int64_t y, unsigned m, unsigned d);
/* "Jan".."Dec" -> 1..12, 0 if not a month. */
unsigned sonde_logfmt_month(const char *s, size_t len);
/* nginx/Apache "%d/%b/%Y:%H:%M:%S %z" -> ns since the epoch. */
int sonde_logfmt_time_clf(const char *s, size_t len, uint64_t *ret_ns);
/*
 * ISO 8601 / PostgreSQL style "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+hh[:mm]| UTC]"
 * -> ns since the epoch. A named zone other than UTC/GMT is -EINVAL.
 */
int sonde_logfmt_time_iso(const char *s, size_t len, uint64_t *ret_ns);

/* memmem bounded by both lengths. */
const char *sonde_logfmt_find(const char *hay, size_t haylen, const char *needle,
			      size_t nlen);
bool sonde_logfmt_starts(const char *s, size_t len, const char *prefix);
/* Past spaces, tabs, CR and LF, up to end. */
const char *sonde_logfmt_skip_ws(const char *s, const char *end);

/* HTTP request line "GET /p HTTP/1.1" -> method and path into txn. */
/* The request path, without its query string (routes never use it). */
void sonde_logfmt_set_path(struct sonde_txn *txn, const char *s, size_t len);
void sonde_logfmt_request_line(const char *s, size_t len,
			       struct sonde_txn *txn);
/* Method token check: letters only, 1..20 chars; else "_OTHER". */
void sonde_logfmt_set_method(struct sonde_txn *txn, const char *s, size_t len);
/* nginx $upstream_cache_status -> cache_lookups/cache_hits. */
void sonde_logfmt_cache_status(struct sonde_txn *txn, const char *s, size_t len);
/* Host or host:port -> server_address (+ server_port). */
void sonde_logfmt_set_host(struct sonde_txn *txn, const char *s, size_t len);
/* Textual IPv4/IPv6 -> struct sonde_addr (left untouched if invalid). */
void sonde_logfmt_set_addr(struct sonde_addr *a, const char *s, size_t len);
/* SQL text -> operation and target via sonde_sql_summarize(). */
void sonde_logfmt_set_sql(struct sonde_txn *txn, const char *sql, size_t len);

#endif
