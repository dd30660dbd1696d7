/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOG_FORMAT_H
#define SONDE_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "transaction.h"

/*
 * A log format: a pure parser from lines to transactions, like the wire
 * parsers. Bounded, never allocates per line (only at _new), never logs.
 */

#define SONDE_LOG_FORMAT_STR_LEN 2048
#define SONDE_LOG_FIELD_LEN 64

struct sonde_log_format_config {
	/* "nginx" (with log_format), "combined", "apache" (common/combined),
	 * "json", "postgres", "mysql_slow" */
	char format[32];
	/* nginx log_format in nginx's own syntax; "" = combined */
	char log_format[SONDE_LOG_FORMAT_STR_LEN];
	/* "json" only: field names; "" = not present */
	struct {
		char method[SONDE_LOG_FIELD_LEN];
		char path[SONDE_LOG_FIELD_LEN];     /* or request, "GET /x HTTP/1.1" */
		char request[SONDE_LOG_FIELD_LEN];
		char status[SONDE_LOG_FIELD_LEN];
		char duration[SONDE_LOG_FIELD_LEN];
		char duration_unit[16];             /* "s" (default), "ms", "us", "ns" */
		char cache_status[SONDE_LOG_FIELD_LEN];
		char host[SONDE_LOG_FIELD_LEN];
	} json;
	/* value for the service label; "" = derived from the format */
	char service[SONDE_TXN_SERVICE_LEN];
};

struct sonde_log_format;

int sonde_log_format_new(const struct sonde_log_format_config *cfg,
			 struct sonde_log_format **ret_fmt, char *errbuf,
			 size_t errlen);
void sonde_log_format_free(struct sonde_log_format *fmt);

/*
 * One complete line, without its newline. Multi-line formats (PostgreSQL
 * continuation lines, MySQL slow log entries) hold an entry until the line
 * that starts the next one. Returns:
 *   1        a transaction was completed into *ret_txn (at most one per line)
 *   0        line consumed, nothing completed yet (or a line to ignore)
 *   -EINVAL  the line did not parse (count it as a parse error)
 * A single call may both complete the previous entry (return 1) and start
 * a new one. *ret_txn is scratch space and is meaningful only on 1.
 */
int sonde_log_format_line(struct sonde_log_format *fmt, const char *line,
			  size_t len, struct sonde_txn *ret_txn);

/* Completes a held multi-line entry (on idle/EOF): 1 if *ret_txn was set. */
int sonde_log_format_flush(struct sonde_log_format *fmt,
			   struct sonde_txn *ret_txn);

#endif
