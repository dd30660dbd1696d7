// SPDX-License-Identifier: MIT
/*
 * MySQL/MariaDB slow query log. An entry is a run of "# " header lines
 * (# Time, # User@Host, # Thread_id, # Query_time, MariaDB's extra
 * # Rows_affected/# Full_scan/...), optional "use db;" and
 * "SET timestamp=N;" lines, then the statement over one or more lines. It
 * ends when the next header or a server banner (the three lines a restart
 * writes into the middle of the file) arrives, or on flush.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MY_SQL_KEEP 4096

struct my_state {
	bool in_entry;	/* saw a header */
	bool have_time; /* Query_time parsed */
	bool meta_done; /* SET timestamp seen: everything after is SQL */
	bool in_stmt;
	bool admin; /* "# administrator command: Quit;": not a query */
	uint64_t duration_ns;
	uint64_t start_ns;
	char error[SONDE_TXN_ERROR_LEN]; /* MySQL 8 log_slow_extra "Errno: N" */
	size_t sql_len;
	char sql[MY_SQL_KEEP];
};

static bool is_banner(const char *line, size_t len)
{
	static const char started[] = "started with:";
	size_t sl = sizeof(started) - 1;

	if (sonde_logfmt_starts(line, len, "Tcp port: "))
		return true;
	/* "Time                 Id Command    Argument", spaces or tabs */
	if (len > 4 && sonde_logfmt_starts(line, len, "Time") &&
	    (line[4] == ' ' || line[4] == '\t') &&
	    sonde_logfmt_find(line, len, "Id Command", 10))
		return true;
	return len >= sl && memcmp(line + len - sl, started, sl) == 0 &&
	       sonde_logfmt_find(line, len, ", Version: ", 11);
}

static void reset(struct my_state *st)
{
	st->in_entry = false;
	st->have_time = false;
	st->meta_done = false;
	st->in_stmt = false;
	st->admin = false;
	st->duration_ns = 0;
	st->start_ns = 0;
	st->error[0] = '\0';
	st->sql_len = 0;
}

static int complete(struct my_state *st, struct sonde_txn *txn)
{
	int r = 0;

	if (st->in_entry && st->have_time && st->in_stmt && !st->admin &&
	    st->sql_len) {
		txn->kind = SONDE_TXN_DB;
		txn->proto = SONDE_PROTO_MYSQL;
		txn->duration_ns = st->duration_ns;
		txn->start_ns = st->start_ns;
		memcpy(txn->error, st->error, sizeof(txn->error));
		sonde_logfmt_set_sql(txn, st->sql, st->sql_len);
		r = 1;
	}
	reset(st);
	return r;
}

static void header(struct my_state *st, const char *line, size_t len)
{
	const char *v, *end;
	uint64_t err;

	st->in_entry = true;
	if (!sonde_logfmt_starts(line, len, "# Query_time: "))
		return;
	v = line + 14;
	end = memchr(v, ' ', len - 14);
	if (!end)
		end = line + len;
	if (sonde_logfmt_decimal_scaled(v, (size_t)(end - v), 9,
					&st->duration_ns) == 0)
		st->have_time = true;
	/* MySQL 8 with log_slow_extra: the statement's error number */
	v = sonde_logfmt_find(line, len, " Errno: ", 8);
	if (v) {
		v += 8;
		end = memchr(v, ' ', len - (size_t)(v - line));
		if (!end)
			end = line + len;
		if (sonde_logfmt_uint(v, (size_t)(end - v), &err) == 0 && err)
			SONDE_TXN_SET(st->error, v, (size_t)(end - v));
	}
}

static bool set_timestamp(struct my_state *st, const char *line, size_t len)
{
	uint64_t ts;

	if (!sonde_logfmt_starts(line, len, "SET timestamp=") || len < 16 ||
	    line[len - 1] != ';')
		return false;
	if (sonde_logfmt_decimal_scaled(line + 14, len - 15, 9, &ts) == 0)
		st->start_ns = ts;
	return true;
}

static int my_line(void *state, const char *line, size_t len,
		   struct sonde_txn *txn)
{
	struct my_state *st = state;
	int r = 0;

	if (is_banner(line, len))
		return complete(st, txn);
	if (len && line[0] == '#') {
		if (st->in_stmt)
			r = complete(st, txn);
		if (st->in_entry &&
		    sonde_logfmt_starts(line, len, "# administrator command: ")) {
			st->admin = true;
			st->in_stmt = true;
			return r;
		}
		header(st, line, len);
		return r;
	}
	if (!st->in_entry)
		return len == 0 ? 0 : -EINVAL;
	if (!st->in_stmt && !st->meta_done) {
		if (sonde_logfmt_starts(line, len, "use ") && len &&
		    line[len - 1] == ';')
			return 0;
		if (set_timestamp(st, line, len)) {
			st->meta_done = true;
			return 0;
		}
	}
	if (!st->in_stmt && len == 0)
		return 0;
	if (st->in_stmt && st->sql_len < sizeof(st->sql))
		st->sql[st->sql_len++] = '\n';
	if (len > sizeof(st->sql) - st->sql_len)
		len = sizeof(st->sql) - st->sql_len;
	memcpy(st->sql + st->sql_len, line, len);
	st->sql_len += len;
	st->in_stmt = true;
	return 0;
}

static int my_flush(void *state, struct sonde_txn *txn)
{
	return complete(state, txn);
}

static int my_new(const struct sonde_log_format_config *cfg, void **ret_state,
		  char *errbuf, size_t errlen)
{
	struct my_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	*ret_state = st;
	return 0;
}

static void my_free(void *state)
{
	free(state);
}

const struct sonde_logfmt_ops sonde_logfmt_mysql_slow = {
	.name = "mysql_slow",
	.default_service = "mysql",
	.new = my_new,
	.free = my_free,
	.line = my_line,
	.flush = my_flush,
};
