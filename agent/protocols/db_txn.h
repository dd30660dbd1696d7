/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_DB_TXN_H
#define SONDE_PROTOCOLS_DB_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocols/protocol.h"

/*
 * A database transaction as the PostgreSQL and MySQL parsers build it:
 * named by the summary of its SQL while it is pending, emitted when its
 * response completes.
 */

#define SONDE_DB_ERROR_LEN 8

/* operation and target of a statement, from sonde_sql_summarize() */
struct sonde_db_sum {
	char op[24];
	char target[104];
};

/*
 * Summarises the first statement of sql[0, n) (a multi-statement string is
 * named by its first one); backslash: MySQL's escapes in string literals.
 */
void sonde_db_summarize(const uint8_t *sql, size_t n, bool backslash,
			struct sonde_db_sum *sum);

/* A statement prepared before the capture started: counted, but unnamed. */
void sonde_db_sum_unknown(struct sonde_db_sum *sum);

/* Where a chunk's transactions go, and the chunk's time (their end). */
struct sonde_db_out {
	sonde_txn_emit_fn emit;
	void *userdata;
	uint64_t ts;
};

/* Emits a SONDE_TXN_DB transaction that started at start_ns and ends at o->ts. */
void sonde_db_emit(const struct sonde_db_out *o, enum sonde_proto proto,
		   uint64_t start_ns, const struct sonde_db_sum *sum,
		   const char error[SONDE_DB_ERROR_LEN]);

#endif
