// SPDX-License-Identifier: MIT
/*
 * PostgreSQL stderr logs, log_min_duration_statement style:
 *   <prefix>LOG:  duration: 1.234 ms  statement: SELECT ...
 *   <prefix>LOG:  duration: 0.050 ms  execute <unnamed>: SELECT ...
 *   <tab>continuation of a multi-line statement
 *   <prefix>ERROR:  message  (+ DETAIL/HINT, then STATEMENT:  the SQL)
 * The prefix is whatever log_line_prefix makes it: we find the severity
 * ("LOG:  ", two spaces) instead of parsing the prefix, and read a leading
 * timestamp (%m/%t) and the first "[pid" when they are there.
 *
 * Counted: "statement:" and "execute" durations, and ERRORs paired with
 * their STATEMENT line. Not counted: "parse"/"bind" durations (the same
 * query's earlier protocol steps: counting them would count it three
 * times), bare "duration:" lines, DETAIL lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Enough SQL to summarize past long CTE lists; the rest is dropped. */
#define PG_SQL_KEEP 4096

enum pg_pending {
	PG_NONE = 0,
	PG_STMT,
	PG_ERROR,
};

struct pg_state {
	enum pg_pending pending;
	bool collecting; /* tab lines extend the SQL */
	bool have_sql;
	struct sonde_txn txn;
	char pid[16];
	size_t sql_len;
	char sql[PG_SQL_KEEP];
};

static const char *const pg_primary[] = {
	"LOG", "ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "INFO",
	"DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5",
};
static const char *const pg_secondary[] = {
	"DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION",
};

#define N_PRIMARY (sizeof(pg_primary) / sizeof(pg_primary[0]))
#define N_SECONDARY (sizeof(pg_secondary) / sizeof(pg_secondary[0]))

static bool in_list(const char *const *list, size_t n, const char *s,
		    size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

struct pg_head {
	const char *sev;
	size_t sevlen;
	const char *msg;
	size_t msglen;
	bool primary;
};

static bool find_severity(const char *line, size_t len, struct pg_head *h)
{
	size_t from = 0;

	while (from < len) {
		const char *c = sonde_logfmt_find(line + from, len - from, ":  ", 3);
		const char *w;

		if (!c)
			return false;
		w = c;
		while (w > line && ((w[-1] >= 'A' && w[-1] <= 'Z') ||
				    (w[-1] >= '0' && w[-1] <= '9')))
			w--;
		if ((w == line || w[-1] == ' ' || w[-1] == ']' || w[-1] == ':') &&
		    w < c) {
			size_t wl = (size_t)(c - w);
			bool primary = in_list(pg_primary, N_PRIMARY, w, wl);

			if (primary || in_list(pg_secondary, N_SECONDARY, w, wl)) {
				h->sev = w;
				h->sevlen = wl;
				h->primary = primary;
				h->msg = c + 3;
				h->msglen = len - (size_t)(c + 3 - line);
				return true;
			}
		}
		from = (size_t)(c - line) + 1;
	}
	return false;
}

/* First "[digits" in the prefix: the backend pid, to pair ERROR+STATEMENT. */
static void prefix_pid(const char *line, size_t plen, char *pid, size_t cap)
{
	const char *b = memchr(line, '[', plen);
	size_t n = 0;

	pid[0] = '\0';
	if (!b)
		return;
	for (b++; b < line + plen && *b >= '0' && *b <= '9' && n + 1 < cap; b++)
		pid[n++] = *b;
	pid[n] = '\0';
}

/* %m / %t at the start of the prefix; 0 when absent or not UTC. */
static uint64_t prefix_time(const char *line, size_t plen)
{
	size_t i = 19;
	uint64_t ns;

	if (plen < 19)
		return 0;
	if (i < plen && line[i] == '.')
		for (i++; i < plen && line[i] >= '0' && line[i] <= '9'; i++)
			;
	if (i + 1 < plen && line[i] == ' ' &&
	    ((line[i + 1] >= 'A' && line[i + 1] <= 'Z') || line[i + 1] == '+' ||
	     line[i + 1] == '-')) {
		for (i += 2; i < plen && line[i] != ' '; i++)
			;
	}
	if (sonde_logfmt_time_iso(line, i, &ns) < 0)
		return 0;
	return ns;
}

static void sql_append(struct pg_state *st, const char *s, size_t len)
{
	size_t room = sizeof(st->sql) - st->sql_len;

	if (len > room)
		len = room;
	memcpy(st->sql + st->sql_len, s, len);
	st->sql_len += len;
}

/* Emits the held entry, if it makes a transaction. */
static int complete(struct pg_state *st, struct sonde_txn *txn)
{
	int r = 0;

	if ((st->pending == PG_STMT || st->pending == PG_ERROR) && st->have_sql) {
		*txn = st->txn;
		sonde_logfmt_set_sql(txn, st->sql, st->sql_len);
		r = 1;
	}
	st->pending = PG_NONE;
	st->collecting = false;
	st->have_sql = false;
	st->sql_len = 0;
	return r;
}

static void start_entry(struct pg_state *st, enum pg_pending kind,
			const char *line, size_t plen)
{
	memset(&st->txn, 0, sizeof(st->txn));
	st->txn.kind = SONDE_TXN_DB;
	st->txn.proto = SONDE_PROTO_POSTGRES;
	st->pending = kind;
	prefix_pid(line, plen, st->pid, sizeof(st->pid));
}

/* "duration: 1.234 ms  statement: SQL" / "...  execute name: SQL" */
static void start_duration(struct pg_state *st, const char *line, size_t plen,
			   const char *m, size_t mlen)
{
	const char *ms = sonde_logfmt_find(m, mlen, " ms", 3), *rest, *colon;
	uint64_t dur, end_ns;
	size_t rlen;

	if (!ms || sonde_logfmt_decimal_scaled(m + 10, (size_t)(ms - (m + 10)),
					       6, &dur) < 0)
		return;
	rest = ms + 3;
	rlen = mlen - (size_t)(rest - m);
	if (sonde_logfmt_starts(rest, rlen, "  statement: ")) {
		rest += 13;
		rlen -= 13;
	} else if (sonde_logfmt_starts(rest, rlen, "  execute ")) {
		colon = sonde_logfmt_find(rest + 10, rlen - 10, ": ", 2);
		if (!colon)
			return;
		rlen -= (size_t)(colon + 2 - rest);
		rest = colon + 2;
	} else {
		return; /* parse, bind, or duration alone: not a new query */
	}
	start_entry(st, PG_STMT, line, plen);
	st->txn.duration_ns = dur;
	end_ns = prefix_time(line, plen);
	if (end_ns >= dur)
		st->txn.start_ns = end_ns - dur;
	sql_append(st, rest, rlen);
	st->have_sql = true;
	st->collecting = true;
}

static int pg_line(void *state, const char *line, size_t len,
		   struct sonde_txn *txn)
{
	struct pg_state *st = state;
	struct pg_head h;
	size_t plen;
	int r;

	if (len && line[0] == '\t') {
		if (st->collecting) {
			sql_append(st, "\n", 1);
			sql_append(st, line + 1, len - 1);
		}
		return 0;
	}
	if (!find_severity(line, len, &h))
		return -EINVAL;
	plen = (size_t)(h.sev - line);
	if (!h.primary) {
		char pid[16];

		st->collecting = false;
		prefix_pid(line, plen, pid, sizeof(pid));
		if (h.sevlen == 9 && memcmp(h.sev, "STATEMENT", 9) == 0 &&
		    st->pending == PG_ERROR && !st->have_sql &&
		    strcmp(pid, st->pid) == 0) {
			sql_append(st, h.msg, h.msglen);
			st->have_sql = true;
			st->collecting = true;
		}
		return 0;
	}
	r = complete(st, txn);
	if (h.sevlen == 3 && memcmp(h.sev, "LOG", 3) == 0 &&
	    sonde_logfmt_starts(h.msg, h.msglen, "duration: ")) {
		start_duration(st, line, plen, h.msg, h.msglen);
	} else if (h.sevlen == 5 && memcmp(h.sev, "ERROR", 5) == 0) {
		start_entry(st, PG_ERROR, line, plen);
		st->txn.start_ns = prefix_time(line, plen);
		SONDE_TXN_SET(st->txn.error, "ERROR", 5);
	}
	return r;
}

static int pg_flush(void *state, struct sonde_txn *txn)
{
	return complete(state, txn);
}

static int pg_new(const struct sonde_log_format_config *cfg, void **ret_state,
		  char *errbuf, size_t errlen)
{
	struct pg_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	*ret_state = st;
	return 0;
}

static void pg_free(void *state)
{
	free(state);
}

const struct sonde_logfmt_ops sonde_logfmt_postgres = {
	.name = "postgres",
	.default_service = "postgresql",
	.new = pg_new,
	.free = pg_free,
	.line = pg_line,
	.flush = pg_flush,
};
