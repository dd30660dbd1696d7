/* SPDX-License-Identifier: MIT */
#ifndef SONDE_SANITIZE_H
#define SONDE_SANITIZE_H

#include <stddef.h>

/*
 * SQL text never leaves the agent with its literals. Bounded by length,
 * no allocation, safe on any bytes.
 */

/*
 * op: the statement's operation, upper-cased ("SELECT", "INSERT", "BEGIN",
 * "CALL"; "OTHER" when unknown). summary: "OP table" with the first table
 * (FROM/INTO/UPDATE/JOIN target), or just "OP". Either out may be NULL.
 */
void sonde_sql_summarize(const char *sql, size_t len, char *op, size_t oplen,
			 char *summary, size_t sumlen);

/* Copies sql with every string/number literal replaced by '?'; returns the
 * length written (out is always NUL-terminated when outlen > 0). */
size_t sonde_sql_sanitize(const char *sql, size_t len, char *out, size_t outlen);

#endif
