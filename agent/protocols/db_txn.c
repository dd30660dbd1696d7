// SPDX-License-Identifier: MIT
#include <string.h>

#include "protocols/db_txn.h"
#include "protocols/pg_sql.h"
#include "sanitize.h"

void sonde_db_summarize(const uint8_t *sql, size_t n, bool backslash,
			struct sonde_db_sum *sum)
{
	n = sonde_sql_first_statement((const char *)sql, n, backslash);
	sonde_sql_summarize((const char *)sql, n, sum->op, sizeof(sum->op),
			    sum->target, sizeof(sum->target));
}

void sonde_db_sum_unknown(struct sonde_db_sum *sum)
{
	memset(sum, 0, sizeof(*sum));
	SONDE_TXN_SET(sum->op, "OTHER", 5);
}

void sonde_db_emit(const struct sonde_db_out *o, enum sonde_proto proto,
		   uint64_t start_ns, const struct sonde_db_sum *sum,
		   const char error[SONDE_DB_ERROR_LEN])
{
	struct sonde_txn t;

	memset(&t, 0, sizeof(t));
	t.kind = SONDE_TXN_DB;
	t.proto = proto;
	t.start_ns = start_ns;
	t.duration_ns = o->ts > start_ns ? o->ts - start_ns : 0;
	SONDE_TXN_SET(t.operation, sum->op, sizeof(sum->op));
	SONDE_TXN_SET(t.target, sum->target, sizeof(sum->target));
	SONDE_TXN_SET(t.error, error, SONDE_DB_ERROR_LEN);
	o->emit(&t, o->userdata);
}
