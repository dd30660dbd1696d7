// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

static void summary_is(const char *sql, const char *op, const char *sum)
{
	char o[32], s[128];

	sonde_sql_summarize(sql, strlen(sql), o, sizeof(o), s, sizeof(s));
	if (strcmp(o, op) != 0 || strcmp(s, sum) != 0)
		fail_msg("%s -> [%s] [%s], want [%s] [%s]", sql, o, s, op, sum);
}

static void test_summarize(void **state)
{
	summary_is("SELECT * FROM users WHERE id = 1", "SELECT", "SELECT users");
	summary_is("select id from public.users u join orders o on o.uid = u.id",
		   "SELECT", "SELECT public.users");
	summary_is("  /* app:checkout */ -- hi\n SELECT 1", "SELECT", "SELECT");
	summary_is("SELECT \"Weird Name\".x FROM \"public\".\"Weird Name\"", "SELECT",
		   "SELECT public.Weird Name");
	summary_is("SELECT * FROM `shop`.`items`", "SELECT", "SELECT shop.items");
	summary_is("(SELECT a FROM t1) UNION (SELECT a FROM t2)", "SELECT", "SELECT t1");
	summary_is("SELECT (SELECT max(x) FROM inner_t) FROM outer_t", "SELECT",
		   "SELECT outer_t");
	summary_is("SELECT * FROM (SELECT * FROM deep) sub", "SELECT", "SELECT deep");
	summary_is("WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n+1 FROM r), "
		   "x AS MATERIALIZED (SELECT * FROM t) SELECT * FROM x JOIN r ON true",
		   "SELECT", "SELECT x");
	summary_is("WITH del AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM del",
		   "INSERT", "INSERT b");
	summary_is("insert into pgbench_history (tid) values (1)", "INSERT",
		   "INSERT pgbench_history");
	summary_is("INSERT LOW_PRIORITY IGNORE INTO t2 VALUES (1)", "INSERT", "INSERT t2");
	summary_is("REPLACE INTO kv VALUES ('a', 'b')", "REPLACE", "REPLACE kv");
	summary_is("UPDATE ONLY accounts SET x = 1", "UPDATE", "UPDATE accounts");
	summary_is("DELETE FROM sessions WHERE expires < now()", "DELETE", "DELETE sessions");
	summary_is("copy pgbench_accounts from stdin", "COPY", "COPY pgbench_accounts");
	summary_is("TRUNCATE TABLE a, b", "TRUNCATE", "TRUNCATE a");
	summary_is("CALL refresh_stats(1)", "CALL", "CALL refresh_stats");
	summary_is("begin", "BEGIN", "BEGIN");
	summary_is("END;", "END", "END");
	summary_is("vacuum analyze pgbench_branches", "VACUUM", "VACUUM");
	summary_is("SELECT 'FROM fake' AS x FROM real_t", "SELECT", "SELECT real_t");
	summary_is("SELECT $$ FROM fake $$ FROM real_t", "SELECT", "SELECT real_t");
	summary_is("SELECT $a$ FROM $b$ fake $a$ FROM real_t", "SELECT", "SELECT real_t");
	summary_is("SELECT 1 FOR UPDATE", "SELECT", "SELECT");
	summary_is("SELECT data #> '{a,b}', data #>> '{c}' FROM docs", "SELECT", "SELECT docs");
	summary_is("SELECT 1 # mysql comment FROM fake\n FROM real_t", "SELECT", "SELECT real_t");
	summary_is("DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id", "DELETE", "DELETE t1");
	summary_is("UPDATE t1 JOIN t2 ON t1.a = t2.a SET t1.b = 1", "UPDATE", "UPDATE t1");
	summary_is("INSERT INTO archive SELECT * FROM live", "INSERT", "INSERT archive");
	summary_is("SELECT * FROM ONLY parent", "SELECT", "SELECT parent");
	summary_is("SELECT a FROM x, y WHERE x.id = y.id", "SELECT", "SELECT x");
	summary_is("select @@version_comment limit 1", "SELECT", "SELECT");
	summary_is("SET NAMES utf8mb4", "SET", "SET");
	summary_is("SHOW TABLES", "SHOW", "SHOW");
	summary_is("EXPLAIN ANALYZE SELECT * FROM t", "EXPLAIN", "EXPLAIN");
	summary_is("MERGE INTO tgt USING src ON tgt.id = src.id WHEN MATCHED THEN DO NOTHING",
		   "MERGE", "MERGE tgt");
	summary_is("frobnicate the database", "OTHER", "OTHER");
	summary_is("", "OTHER", "OTHER");
	summary_is(";;;", "OTHER", "OTHER");
	summary_is("SELECT * FROM \"t\xff\x01\"", "SELECT", "SELECT t??");
	summary_is("/* unterminated", "OTHER", "OTHER");
	summary_is("SELECT * FROM 'unterminated", "SELECT", "SELECT");
}

static void test_summarize_bounds(void **state)
{
	char o[4], s[10];
	char *big;
	const size_t n = 1 << 20;

	sonde_sql_summarize("SELECT * FROM a_very_long_table_name", 35, o, sizeof(o), s,
			    sizeof(s));
	assert_string_equal(o, "SEL");
	assert_string_equal(s, "SELECT a_");
	sonde_sql_summarize("SELECT 1", 8, NULL, 0, NULL, 0);
	sonde_sql_summarize(NULL, 0, o, sizeof(o), s, sizeof(s));
	assert_string_equal(o, "OTH");
	/* length bounds the read even without a NUL */
	sonde_sql_summarize("SELECT * FROM tableXYZ", 18, NULL, 0, s, sizeof(s));
	assert_string_equal(s, "SELECT ta");
	big = malloc(n);
	assert_non_null(big);
	memset(big, '(', n);
	sonde_sql_summarize(big, n, o, sizeof(o), s, sizeof(s));
	memset(big, '\'', n);
	sonde_sql_summarize(big, n, o, sizeof(o), s, sizeof(s));
	memset(big, '/', n);
	sonde_sql_summarize(big, n, o, sizeof(o), s, sizeof(s));
	free(big);
}

static void sanitized_is(const char *sql, const char *want)
{
	char out[256];
	size_t n = sonde_sql_sanitize(sql, strlen(sql), out, sizeof(out));

	if (strcmp(out, want) != 0)
		fail_msg("%s -> [%s], want [%s]", sql, out, want);
	assert_int_equal(n, strlen(want));
}

static void test_sanitize(void **state)
{
	sanitized_is("SELECT * FROM users WHERE name = 'bob' AND id = 42",
		     "SELECT * FROM users WHERE name = ? AND id = ?");
	sanitized_is("SELECT 'it''s', 'a\\'b', E'\\n', X'DEADBEEF', 1.5e-3, .5, 0x1F",
		     "SELECT ?, ?, ?, ?, ?, ?, ?");
	sanitized_is("INSERT INTO t VALUES ($1, $2, ?)", "INSERT INTO t VALUES ($1, $2, ?)");
	sanitized_is("SELECT $$secret$$, $tag$also secret$tag$", "SELECT ?, ?");
	sanitized_is("SELECT \"users\".\"id\" FROM \"users\"", "SELECT \"users\".\"id\" FROM \"users\"");
	sanitized_is("SELECT * FROM t WHERE a = \"secret value\"", "SELECT * FROM t WHERE a = ?");
	sanitized_is("SELECT /* user=bob */ 1 -- pw=hunter2\n FROM t2",
		     "SELECT ? FROM t2");
	sanitized_is("SELECT   a,\n\tb   FROM   t", "SELECT a, b FROM t");
	sanitized_is("SELECT t1.col2 FROM t1", "SELECT t1.col2 FROM t1");
	sanitized_is("SELECT 'unterminated secret", "SELECT ?");
	sanitized_is("SELECT \x01\xff", "SELECT ??");
	sanitized_is("", "");
}

static void test_sanitize_bounds(void **state)
{
	char out[8];
	size_t n;
	char *big;
	const size_t len = 4 << 20;

	n = sonde_sql_sanitize("SELECT 'x' FROM long_table", 26, out, sizeof(out));
	assert_int_equal(n, 7);
	assert_string_equal(out, "SELECT ");
	assert_int_equal(sonde_sql_sanitize("SELECT", 6, out, 0), 0);
	big = malloc(len);
	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = "a1' \"$-/*\\\n"[i % 11];
	{
		char *o = malloc(len * 2);
		assert_non_null(o);
		n = sonde_sql_sanitize(big, len, o, len * 2);
		assert_true(n < len * 2);
		assert_int_equal(strlen(o), n);
		free(o);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summarize),
		cmocka_unit_test(test_summarize_bounds),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
