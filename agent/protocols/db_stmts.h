/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_DB_STMTS_H
#define SONDE_PROTOCOLS_DB_STMTS_H

#include <stdbool.h>
#include <stdint.h>

#include "protocols/db_txn.h"

/*
 * Prepared statements remembered per connection: a key (the parser's
 * statement id or name hash, never 0) -> the summary of its SQL, so that
 * executions are named. A fixed table with LRU replacement, allocated at
 * the first put: a connection that prepares nothing pays a pointer.
 */

#define SONDE_DB_STMTS 16

struct sonde_db_stmt {
	uint64_t key;  /* 0 = free */
	uint32_t used; /* clock of the last use */
	struct sonde_db_sum sum;
};

struct sonde_db_stmts {
	uint32_t clock;
	struct sonde_db_stmt *e; /* SONDE_DB_STMTS entries, or NULL */
};

/* The summary stored under key, or NULL; a hit counts as a use. */
const struct sonde_db_sum *sonde_db_stmt_find(struct sonde_db_stmts *t, uint64_t key);

/*
 * Stores sum under key. When the table is full the least recently used
 * entry is replaced: then returns true (the caller counts it as dropped),
 * as when the table cannot be allocated (nothing stored).
 */
bool sonde_db_stmt_put(struct sonde_db_stmts *t, uint64_t key,
		       const struct sonde_db_sum *sum);

void sonde_db_stmt_forget(struct sonde_db_stmts *t, uint64_t key);

/* Frees the table; t is empty (and usable) again. */
void sonde_db_stmts_free(struct sonde_db_stmts *t);

#endif
