// SPDX-License-Identifier: MIT
/*
 * Every format against fixtures: real logs written by nginx 1.22,
 * PostgreSQL 15 and MariaDB 10.11 on this machine, plus hand-made
 * Apache/MySQL 8/prefix variants. Every fixture is also fed with CRLF line
 * ends, one byte per read and in random reads; results must be identical.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "feed.h"

#define NGX_TIMED_FORMAT                                                   \
	"'$remote_addr - $remote_user [$time_local] \"$request\" '\n"       \
	"                   '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" '\n" \
	"                   'rt=$request_time urt=\"$upstream_response_time\" cs=$upstream_cache_status host=$host';"

#define NGX_JSON_FORMAT                                                    \
	"escape=json '{\"time\":\"$time_iso8601\",\"method\":\"$request_method\",\"uri\":\"$request_uri\"," \
	"\"status\":$status,\"rt\":$request_time,\"cache\":\"$upstream_cache_status\",\"host\":\"$host\",\"ua\":\"$http_user_agent\"}'"

static void cfg_init(struct sonde_log_format_config *cfg, const char *format,
		     const char *log_format)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->format, sizeof(cfg->format), "%s", format);
	if (log_format)
		snprintf(cfg->log_format, sizeof(cfg->log_format), "%s",
			 log_format);
}

static void run_fixture(const struct sonde_log_format_config *cfg,
			const char *name, struct fed *out)
{
	size_t len;
	char *buf = fixture_load(name, &len);

	feed_all_modes(cfg, buf, len, out);
	free(buf);
}

/* The 13 requests sent to nginx, in order, as every nginx layout logs them. */
static void check_nginx_requests(const struct fed *f, bool have_time,
				 bool have_host)
{
	assert_int_equal(f->n, 13);
	assert_int_equal(f->errors, 0);
	assert_int_equal(f->txn[0].kind, SONDE_TXN_HTTP_SERVER);
	assert_int_equal(f->txn[0].proto, SONDE_PROTO_HTTP1);
	assert_int_equal(f->txn[0].source, SONDE_SRC_LOG);
	assert_string_equal(f->txn[0].service, "nginx");
	assert_string_equal(f->txn[0].operation, "GET");
	assert_string_equal(f->txn[0].path, "/");
	assert_int_equal(f->txn[0].status, 200);
	assert_string_equal(f->txn[1].path, "/static/app.css"); /* the query is not kept */
	/* \x22 in nginx's default escaping is a '"' of the path */
	assert_string_equal(f->txn[2].path, "/p/\"quoted\"/x");
	assert_int_equal(f->txn[2].status, 404);
	assert_string_equal(f->txn[3].path, "/api/users/12345/orders/9f8e7d6c5b4a");
	assert_string_equal(f->txn[4].operation, "HEAD");
	assert_string_equal(f->txn[10].operation, "PURGE");
	assert_string_equal(f->txn[12].path, "http://www.example.com/abs/path");
	assert_int_equal(fed_count_status(f, 200), 6);
	assert_int_equal(fed_count_status(f, 404), 5);
	assert_int_equal(fed_count_status(f, 400), 2);
	if (have_time) {
		/* 22/Nov/2026:04:38:05 +0000 */
		assert_int_equal(f->txn[0].start_ns, 1795322285ull * 1000000000ull);
	}
	if (have_host) {
		assert_string_equal(f->txn[0].server_address, "www.example.com");
		assert_string_equal(f->txn[3].server_address, "api.example.com");
	}
}

static void test_nginx_custom_format(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;
	unsigned lookups = 0, hits = 0;
	size_t i;

	cfg_init(&cfg, "nginx", NGX_TIMED_FORMAT);
	run_fixture(&cfg, "nginx_timed.log", &f);
	check_nginx_requests(&f, true, true);
	for (i = 0; i < f.n; i++) {
		lookups += f.txn[i].cache_lookups;
		hits += f.txn[i].cache_hits;
	}
	/* cs=MISS then cs=HIT for /cached/z; "-" elsewhere */
	assert_int_equal(lookups, 2);
	assert_int_equal(hits, 1);
	assert_int_equal(f.txn[5].cache_lookups, 1);
	assert_int_equal(f.txn[5].cache_hits, 0);
	assert_int_equal(f.txn[6].cache_hits, 1);
	/* rt=0.001 on the GARBAGE line, 0.000 elsewhere */
	assert_int_equal(fed_sum_duration(&f), 1000000);
	assert_int_equal(f.txn[7].duration_ns, 1000000);
	assert_string_equal(f.txn[7].operation, "_OTHER");
	assert_int_equal(f.txn[7].status, 400);
	assert_string_equal(f.txn[8].operation, "_OTHER");
	assert_int_equal(f.txn[0].peer.family, AF_INET);
	assert_int_equal(f.txn[0].response_bytes, 6);
	/* invalid UTF-8 stays raw here: route resolution makes it safe */
	assert_memory_equal(f.txn[9].path, "/\xc3\xa9t\xc3\xa9/\xff\xfe", 9);
	fed_free(&f);
}

static void test_nginx_combined(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;

	cfg_init(&cfg, "combined", NULL);
	run_fixture(&cfg, "nginx_combined.log", &f);
	check_nginx_requests(&f, true, false);
	assert_int_equal(fed_sum_duration(&f), 0);
	fed_free(&f);
	/* "nginx" without a log_format is combined */
	cfg_init(&cfg, "nginx", "");
	run_fixture(&cfg, "nginx_combined.log", &f);
	check_nginx_requests(&f, true, false);
	fed_free(&f);
	/* the same default format written out in nginx.conf syntax */
	cfg_init(&cfg, "nginx",
		 "'$remote_addr - $remote_user [$time_local] \"$request\" '\n"
		 "'$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"'");
	run_fixture(&cfg, "nginx_combined.log", &f);
	check_nginx_requests(&f, true, false);
	fed_free(&f);
}

static void test_nginx_escape_json(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;

	cfg_init(&cfg, "nginx", NGX_JSON_FORMAT);
	run_fixture(&cfg, "nginx_json.log", &f);
	assert_int_equal(f.n, 13);
	assert_int_equal(f.errors, 0);
	assert_string_equal(f.txn[1].path, "/static/app.css"); /* the query is not kept */
	assert_string_equal(f.txn[2].path, "/p/\"quoted\"/x");
	assert_string_equal(f.txn[12].path, "/abs/path");
	assert_string_equal(f.txn[7].operation, "_OTHER");
	assert_int_equal(fed_count_status(&f, 400), 2);
	assert_int_equal(f.txn[5].cache_lookups, 1);
	assert_int_equal(f.txn[6].cache_hits, 1);
	assert_int_equal(f.txn[0].start_ns, 1795322285ull * 1000000000ull);
	fed_free(&f);
}

static void test_json_lines(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;

	cfg_init(&cfg, "json", NULL);
	strcpy(cfg.json.method, "method");
	strcpy(cfg.json.path, "uri");
	strcpy(cfg.json.status, "status");
	strcpy(cfg.json.duration, "rt");
	strcpy(cfg.json.cache_status, "cache");
	strcpy(cfg.json.host, "host");
	strcpy(cfg.service, "web");
	run_fixture(&cfg, "nginx_json.log", &f);
	assert_int_equal(f.n, 13);
	assert_int_equal(f.errors, 0);
	assert_string_equal(f.txn[0].service, "web");
	assert_string_equal(f.txn[2].path, "/p/\"quoted\"/x");
	assert_string_equal(f.txn[4].operation, "HEAD");
	assert_int_equal(fed_count_status(&f, 404), 5);
	assert_int_equal(f.txn[5].cache_lookups + f.txn[6].cache_lookups, 2);
	assert_int_equal(f.txn[6].cache_hits, 1);
	assert_int_equal(f.txn[7].duration_ns, 1000000);
	assert_string_equal(f.txn[3].server_address, "api.example.com");
	fed_free(&f);
}

static void test_json_units_and_request(void **state)
{
	struct sonde_log_format_config cfg;
	struct sonde_log_format *fmt;
	struct sonde_txn t;
	const char *l1 = "{\"req\": \"POST /api/v1/items?x=1 HTTP/2.0\", \"code\": \"201\", "
			 "\"ms\": 12.5, \"nested\": {\"a\": [1, {\"b\": \"}\"}]}, \"ok\": true}";
	const char *l2 = "{\"req\":\"GET /\\u00e9t\\u00e9 HTTP/1.1\",\"code\":200,\"ms\":1e1}";
	char err[128];

	cfg_init(&cfg, "json", NULL);
	strcpy(cfg.json.request, "req");
	strcpy(cfg.json.status, "code");
	strcpy(cfg.json.duration, "ms");
	strcpy(cfg.json.duration_unit, "ms");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	assert_int_equal(sonde_log_format_line(fmt, l1, strlen(l1), &t), 1);
	assert_string_equal(t.operation, "POST");
	assert_string_equal(t.path, "/api/v1/items"); /* the query is not kept */
	assert_int_equal(t.status, 201);
	assert_int_equal(t.duration_ns, 12500000);
	assert_string_equal(t.service, "http");
	assert_int_equal(sonde_log_format_line(fmt, l2, strlen(l2), &t), 1);
	assert_string_equal(t.path, "/\xc3\xa9t\xc3\xa9");
	assert_int_equal(t.duration_ns, 10000000);
	sonde_log_format_free(fmt);

	strcpy(cfg.json.duration_unit, "fortnights");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), -EINVAL);
}

static void test_apache(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;

	cfg_init(&cfg, "apache", NULL);
	run_fixture(&cfg, "apache_access.log", &f);
	assert_int_equal(f.n, 6);
	assert_int_equal(f.errors, 0);
	assert_string_equal(f.txn[0].service, "apache");
	assert_string_equal(f.txn[0].path, "/apache_pb.gif");
	assert_int_equal(f.txn[0].response_bytes, 2326);
	/* 10/Oct/2026:13:55:36 -0700 */
	assert_int_equal(f.txn[0].start_ns, 1791665736ull * 1000000000ull);
	assert_string_equal(f.txn[2].operation, "POST");
	assert_int_equal(f.txn[2].status, 401);
	assert_string_equal(f.txn[3].path, "/search"); /* the query is not kept */
	assert_int_equal(f.txn[3].duration_ns, 1534000);
	assert_string_equal(f.txn[4].operation, "OPTIONS");
	assert_string_equal(f.txn[4].path, "*");
	assert_int_equal(f.txn[4].peer.family, AF_INET6);
	assert_string_equal(f.txn[5].operation, "_OTHER");
	assert_int_equal(f.txn[5].status, 408);
	fed_free(&f);
}

static void test_apache_custom(void **state)
{
	struct sonde_log_format_config cfg;
	struct sonde_log_format *fmt;
	struct sonde_txn t;
	char err[128];
	const char *l;

	/* pasted from apache2.conf, with %D, %v and a literal '$' */
	cfg_init(&cfg, "apache",
		 "LogFormat \"%v:%p %h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" %D $%{X}e\" vhost_timed");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	l = "www.example.com:443 10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] \"GET /a?b=1 HTTP/1.1\" 302 512 \"-\" 2500 $x";
	assert_int_equal(sonde_log_format_line(fmt, l, strlen(l), &t), 1);
	assert_string_equal(t.server_address, "www.example.com");
	assert_int_equal(t.server_port, 443);
	assert_string_equal(t.path, "/a"); /* the query is not kept */
	assert_int_equal(t.status, 302);
	assert_int_equal(t.response_bytes, 512);
	assert_int_equal(t.duration_ns, 2500000);
	assert_string_equal(t.service, "apache");
	/* the same line without the literal '$' does not fit */
	l = "www.example.com:443 10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] \"GET /a HTTP/1.1\" 302 512 \"-\" 2500 x";
	assert_int_equal(sonde_log_format_line(fmt, l, strlen(l), &t), -EINVAL);
	sonde_log_format_free(fmt);

	/* raw, with %{ms}T and %m %U */
	cfg_init(&cfg, "apache", "%m %U%q %s %{ms}T");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	l = "DELETE /items/7?force=1 204 12";
	assert_int_equal(sonde_log_format_line(fmt, l, strlen(l), &t), 1);
	assert_string_equal(t.operation, "DELETE");
	assert_int_equal(t.status, 204);
	assert_int_equal(t.duration_ns, 12000000);
	sonde_log_format_free(fmt);

	cfg_init(&cfg, "apache", "%h %{Referer");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), -EINVAL);
}

static void test_postgres_debian(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;
	unsigned errors = 0;
	size_t i;

	cfg_init(&cfg, "postgres", NULL);
	run_fixture(&cfg, "postgres_debian.log", &f);
	/* 46 "statement:" + 16 "execute" lines + 2 ERRORs with STATEMENT */
	assert_int_equal(f.n, 64);
	assert_int_equal(f.errors, 0);
	assert_int_equal(fed_count_op(&f, "SELECT"), 12);
	assert_int_equal(fed_count_op(&f, "INSERT"), 15);
	assert_int_equal(fed_count_op(&f, "UPDATE"), 7);
	assert_int_equal(fed_count_op(&f, "DELETE"), 1);
	assert_int_equal(fed_count_op(&f, "BEGIN"), 4);
	assert_int_equal(fed_count_op(&f, "END"), 2);
	assert_int_equal(fed_count_op(&f, "COMMIT"), 2);
	assert_int_equal(fed_count_op(&f, "CREATE"), 5);
	assert_int_equal(fed_count_op(&f, "VACUUM"), 8);
	assert_int_equal(fed_count_op(&f, "TRUNCATE"), 3);
	assert_int_equal(fed_count_op(&f, "ALTER"), 3);
	assert_int_equal(fed_count_op(&f, "COPY"), 1);
	assert_int_equal(fed_count_op(&f, "DROP"), 1);
	/* server-side durations, exactly as logged (ms with 3 decimals) */
	assert_int_equal(fed_sum_duration(&f), 314166000ull);
	for (i = 0; i < f.n; i++) {
		assert_int_equal(f.txn[i].kind, SONDE_TXN_DB);
		assert_int_equal(f.txn[i].proto, SONDE_PROTO_POSTGRES);
		assert_string_equal(f.txn[i].service, "postgresql");
		errors += f.txn[i].error[0] != '\0';
	}
	assert_int_equal(errors, 2);
	/* the multi-line statement, continued by tab lines */
	assert_string_equal(f.txn[2].target, "SELECT users");
	assert_int_equal(f.txn[2].duration_ns, 1078000);
	/* 2026-11-22 04:38:20.391 UTC minus 1.078 ms */
	assert_int_equal(f.txn[2].start_ns, 1795322300391000000ull - 1078000ull);
	assert_string_equal(f.txn[4].target, "SELECT recent");
	assert_string_equal(f.txn[5].target, "SELECT nosuchtable");
	assert_string_equal(f.txn[5].error, "ERROR");
	assert_string_equal(f.txn[6].target, "INSERT users");
	assert_string_equal(f.txn[7].target, "DELETE users");
	assert_int_equal(fed_count_target(&f, "SELECT pgbench_accounts"), 4);
	assert_int_equal(fed_count_target(&f, "SELECT pgbench_branches"), 2);
	assert_int_equal(fed_count_target(&f, "SELECT pg_catalog.pg_class"), 2);
	assert_int_equal(fed_count_target(&f, "UPDATE pgbench_accounts"), 2);
	fed_free(&f);
}

static void test_postgres_prefixes(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;

	cfg_init(&cfg, "postgres", NULL);
	run_fixture(&cfg, "postgres_prefixes.log", &f);
	assert_int_equal(f.errors, 0);
	assert_int_equal(f.n, 6);
	assert_string_equal(f.txn[0].target, "SELECT orders");
	assert_int_equal(f.txn[0].duration_ns, 12500000);
	assert_int_equal(f.txn[0].start_ns,
			 1795320000ull * 1000000000ull - 12500000ull);
	assert_string_equal(f.txn[1].target, "UPDATE public.orders");
	assert_string_equal(f.txn[2].target, "INSERT audit");
	assert_int_equal(f.txn[2].start_ns, 0);
	assert_string_equal(f.txn[3].target, "SELECT");
	assert_int_equal(f.txn[3].duration_ns, 300000);
	assert_int_equal(f.txn[3].start_ns,
			 (1795320003ull - 3600) * 1000000000ull + 1000000ull - 300000ull);
	assert_string_equal(f.txn[4].operation, "SELECT");
	assert_string_equal(f.txn[4].error, "ERROR");
	assert_string_equal(f.txn[5].target, "DELETE sessions");
	assert_int_equal(f.txn[5].start_ns, 0);
	fed_free(&f);
}

static void test_mariadb_slow(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;
	size_t i;

	cfg_init(&cfg, "mysql_slow", NULL);
	run_fixture(&cfg, "mariadb_slow.log", &f);
	assert_int_equal(f.errors, 0);
	assert_int_equal(f.n, 17);
	assert_int_equal(fed_count_op(&f, "SELECT"), 6);
	assert_int_equal(fed_count_op(&f, "CREATE"), 2);
	assert_int_equal(fed_count_op(&f, "INSERT"), 2);
	assert_int_equal(fed_count_op(&f, "UPDATE"), 2);
	assert_int_equal(fed_count_op(&f, "DELETE"), 1);
	assert_int_equal(fed_count_op(&f, "SHOW"), 1);
	assert_int_equal(fed_count_op(&f, "ALTER"), 1);
	assert_int_equal(fed_count_op(&f, "BEGIN"), 1);
	assert_int_equal(fed_count_op(&f, "COMMIT"), 1);
	assert_int_equal(fed_count_target(&f, "SELECT items"), 3);
	assert_int_equal(fed_sum_duration(&f), 30300000ull);
	for (i = 0; i < f.n; i++) {
		assert_int_equal(f.txn[i].kind, SONDE_TXN_DB);
		assert_int_equal(f.txn[i].proto, SONDE_PROTO_MYSQL);
		assert_string_equal(f.txn[i].service, "mysql");
	}
	assert_int_equal(f.txn[0].start_ns, 1795322317ull * 1000000000ull);
	assert_int_equal(f.txn[0].duration_ns, 324000);
	/* the last entry before the restart banner */
	assert_string_equal(f.txn[8].target, "SELECT");
	assert_int_equal(f.txn[8].duration_ns, 10180000);
	assert_string_equal(f.txn[16].target, "SELECT nosuch");
	fed_free(&f);
}

static void test_mysql8_slow(void **state)
{
	struct sonde_log_format_config cfg;
	struct fed f;

	cfg_init(&cfg, "mysql_slow", NULL);
	strcpy(cfg.service, "orders-db");
	run_fixture(&cfg, "mysql8_slow.log", &f);
	assert_int_equal(f.errors, 0);
	/* the administrator command (Quit) is not a query */
	assert_int_equal(f.n, 5);
	assert_string_equal(f.txn[0].target, "SELECT orders");
	assert_string_equal(f.txn[0].error, "");
	/* log_slow_extra's Errno: the failed statement carries it */
	assert_string_equal(f.txn[3].target, "SELECT missing_table");
	assert_string_equal(f.txn[3].error, "1146");
	assert_string_equal(f.txn[4].error, "");
	assert_int_equal(f.txn[4].duration_ns, 300000);
	assert_int_equal(f.txn[0].duration_ns, 1500000000ull);
	assert_int_equal(f.txn[0].start_ns, 1795320600ull * 1000000000ull);
	assert_string_equal(f.txn[1].target, "INSERT shop.orders");
	assert_string_equal(f.txn[2].target, "CALL refresh_stats");
	assert_string_equal(f.txn[2].service, "orders-db");
	fed_free(&f);
}

static void test_nginx_variables(void **state)
{
	struct sonde_log_format_config cfg;
	struct sonde_log_format *fmt;
	struct sonde_txn t;
	char err[128];
	const char *line;

	/* ${var}, adjacent variables, upstream lists in both separators */
	cfg_init(&cfg, "nginx",
		 "${request_method}:${uri} $status ${request_time}s up=$upstream_response_time "
		 "c=$upstream_cache_status h=$http_host ts=$msec $time_iso8601 x=$unknown_thing end");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	line = "GET:/a/b 502 1.250s up=0.500, 0.700 : 0.010 c=STALE h=shop.example:8443 "
	       "ts=1795322285.500 2026-11-22T04:38:05+00:00 x=some thing with spaces end";
	assert_int_equal(sonde_log_format_line(fmt, line, strlen(line), &t), 1);
	assert_string_equal(t.operation, "GET");
	assert_string_equal(t.path, "/a/b");
	assert_int_equal(t.status, 502);
	assert_int_equal(t.duration_ns, 1250000000ull);
	assert_int_equal(t.cache_lookups, 1);
	assert_int_equal(t.cache_hits, 1);
	assert_string_equal(t.server_address, "shop.example");
	assert_int_equal(t.server_port, 8443);
	assert_int_equal(t.start_ns, 1795322285500000000ull - 1250000000ull);
	line = "GET:/a/b 200 0.001s up=- c=BYPASS h=- ts=1.0 2026-11-22T04:38:05+00:00 x= end";
	assert_int_equal(sonde_log_format_line(fmt, line, strlen(line), &t), 1);
	assert_int_equal(t.cache_lookups, 1);
	assert_int_equal(t.cache_hits, 0);
	assert_string_equal(t.server_address, "");
	/* does not fit the format */
	line = "GET:/a/b 200 0.001s";
	assert_int_equal(sonde_log_format_line(fmt, line, strlen(line), &t), -EINVAL);
	sonde_log_format_free(fmt);

	/* cache status vocabulary */
	cfg_init(&cfg, "nginx", "$upstream_cache_status $status");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	{
		static const struct { const char *l; unsigned lk, hit; } cases[] = {
			{ "HIT 200", 1, 1 },	     { "STALE 200", 1, 1 },
			{ "UPDATING 200", 1, 1 },    { "REVALIDATED 200", 1, 1 },
			{ "MISS 200", 1, 0 },	     { "EXPIRED 200", 1, 0 },
			{ "BYPASS 200", 1, 0 },	     { "- 200", 0, 0 },
			{ "SCARCE 200", 0, 0 },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			assert_int_equal(sonde_log_format_line(fmt, cases[i].l,
							       strlen(cases[i].l), &t), 1);
			assert_int_equal(t.cache_lookups, cases[i].lk);
			assert_int_equal(t.cache_hits, cases[i].hit);
		}
	}
	sonde_log_format_free(fmt);
}

static bool pg_boundary(const char *line, size_t len)
{
	/* a server writes a message (ERROR + DETAIL + STATEMENT) in one go:
	 * an idle flush can come before any primary message */
	return len && line[0] != '\t' &&
	       (memmem(line, len, " LOG:  ", 7) || memmem(line, len, " ERROR:  ", 9) ||
		memmem(line, len, " FATAL:  ", 9));
}

static bool my_boundary(const char *line, size_t len)
{
	/* "# User@Host:" starts an entry when no "# Time:" line precedes it */
	return (len >= 7 && memcmp(line, "# Time:", 7) == 0) ||
	       (len >= 12 && memcmp(line, "# User@Host:", 12) == 0) ||
	       memmem(line, len, "started with:", 13) != NULL;
}

/* An idle flush between two entries changes nothing. */
static void test_flush_at_entry_boundaries(void **state)
{
	static const struct {
		const char *file, *format;
		bool (*pred)(const char *, size_t);
	} cases[] = {
		{ "postgres_debian.log", "postgres", pg_boundary },
		{ "postgres_prefixes.log", "postgres", pg_boundary },
		{ "mariadb_slow.log", "mysql_slow", my_boundary },
		{ "mysql8_slow.log", "mysql_slow", my_boundary },
	};
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sonde_log_format_config cfg;
		struct sonde_log_format *fmt;
		struct fed whole, flushed;
		size_t len;
		char *buf = fixture_load(cases[c].file, &len);

		cfg_init(&cfg, cases[c].format, NULL);
		feed_all_modes(&cfg, buf, len, &whole);
		fmt = fmt_make(cases[c].format, NULL);
		feed_flushing(fmt, buf, len, cases[c].pred, &flushed);
		sonde_log_format_free(fmt);
		if (!fed_equal(&whole, &flushed))
			fail_msg("%s: flushing at entry boundaries changed the result (%zu vs %zu)",
				 cases[c].file, whole.n, flushed.n);
		fed_free(&whole);
		fed_free(&flushed);
		free(buf);
	}
}

static void test_config_errors(void **state)
{
	struct sonde_log_format_config cfg;
	struct sonde_log_format *fmt = NULL;
	char err[256];

	cfg_init(&cfg, "syslog", NULL);
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "syslog"));
	cfg_init(&cfg, "nginx", "escape=yaml '$status'");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), -EINVAL);
	cfg_init(&cfg, "nginx", "'$status $request");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), -EINVAL);
	cfg_init(&cfg, "nginx", "${status");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), -EINVAL);
	assert_null(fmt);
	/* a '"'-started raw format is not nginx.conf quoting */
	cfg_init(&cfg, "nginx", "\"$request\" $status");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	{
		struct sonde_txn t;
		const char *l = "\"GET /x HTTP/1.1\" 204";

		assert_int_equal(sonde_log_format_line(fmt, l, strlen(l), &t), 1);
		assert_int_equal(t.status, 204);
		assert_string_equal(t.path, "/x");
	}
	sonde_log_format_free(fmt);
	sonde_log_format_free(NULL);
	/* the whole directive, pasted from nginx.conf */
	cfg_init(&cfg, "nginx",
		 "log_format  timed  escape=default\n    '$request $status '\n    \"rt=$request_time\";");
	assert_int_equal(sonde_log_format_new(&cfg, &fmt, err, sizeof(err)), 0);
	{
		struct sonde_txn t;
		const char *l = "GET /y HTTP/1.1 301 rt=0.250";

		assert_int_equal(sonde_log_format_line(fmt, l, strlen(l), &t), 1);
		assert_int_equal(t.status, 301);
		assert_int_equal(t.duration_ns, 250000000);
		assert_string_equal(t.path, "/y");
	}
	sonde_log_format_free(fmt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nginx_custom_format),
		cmocka_unit_test(test_nginx_combined),
		cmocka_unit_test(test_nginx_escape_json),
		cmocka_unit_test(test_nginx_variables),
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_json_units_and_request),
		cmocka_unit_test(test_apache),
		cmocka_unit_test(test_apache_custom),
		cmocka_unit_test(test_postgres_debian),
		cmocka_unit_test(test_postgres_prefixes),
		cmocka_unit_test(test_mariadb_slow),
		cmocka_unit_test(test_mysql8_slow),
		cmocka_unit_test(test_flush_at_entry_boundaries),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
