/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_PG_SQL_H
#define SONDE_PROTOCOLS_PG_SQL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length of the first statement of a multi-statement SQL string: up to its
 * top-level ';' (quotes, quoted identifiers, comments and PostgreSQL
 * dollar quotes skipped), or n. backslash: MySQL's backslash escapes in
 * string literals. Shared by the PostgreSQL and MySQL parsers, whose
 * transactions are named by the first statement of a query string.
 */
size_t sonde_sql_first_statement(const char *sql, size_t n, bool backslash);

#endif
