// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "protocols/db_stmts.h"

static struct sonde_db_stmt *stmt_find(struct sonde_db_stmts *t, uint64_t key)
{
	if (!t->e)
		return NULL;
	for (unsigned i = 0; i < SONDE_DB_STMTS; i++) {
		if (t->e[i].key == key) {
			t->e[i].used = ++t->clock;
			return &t->e[i];
		}
	}
	return NULL;
}

const struct sonde_db_sum *sonde_db_stmt_find(struct sonde_db_stmts *t, uint64_t key)
{
	struct sonde_db_stmt *e = key ? stmt_find(t, key) : NULL;

	return e ? &e->sum : NULL;
}

bool sonde_db_stmt_put(struct sonde_db_stmts *t, uint64_t key,
		       const struct sonde_db_sum *sum)
{
	struct sonde_db_stmt *e, *victim;
	bool evicted = false;

	if (!t->e) {
		t->e = calloc(SONDE_DB_STMTS, sizeof(*t->e));
		if (!t->e)
			return true;
	}
	e = stmt_find(t, key);
	victim = &t->e[0];
	if (!e) {
		for (unsigned i = 0; i < SONDE_DB_STMTS && !e; i++)
			if (t->e[i].key == 0)
				e = &t->e[i];
		if (!e) {
			for (unsigned i = 1; i < SONDE_DB_STMTS; i++)
				if (t->e[i].used < victim->used)
					victim = &t->e[i];
			e = victim;
			evicted = true;
		}
	}
	e->key = key;
	e->used = ++t->clock;
	e->sum = *sum;
	return evicted;
}

void sonde_db_stmt_forget(struct sonde_db_stmts *t, uint64_t key)
{
	struct sonde_db_stmt *e = key ? stmt_find(t, key) : NULL;

	if (e)
		memset(e, 0, sizeof(*e));
}

void sonde_db_stmts_free(struct sonde_db_stmts *t)
{
	free(t->e);
	t->e = NULL;
	t->clock = 0;
}
