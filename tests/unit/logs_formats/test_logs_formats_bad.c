// SPDX-License-Identifier: MIT
/*
 * Hostile input for every format: binary garbage, NUL bytes, 10 MB
 * lines, invalid UTF-8, truncated JSON, a log_format that does not match
 * the file. Every line is either a transaction, ignored, or -EINVAL:
 * never a crash, never a read past len (ASan builds check that: lines
 * are passed in exact-size heap buffers).
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

#include "feed.h"

static const char *const all_formats[] = {
	"nginx", "combined", "apache", "json", "postgres", "mysql_slow",
};
#define N_FORMATS (sizeof(all_formats) / sizeof(all_formats[0]))

/* One line in an exact-size heap copy, so ASan sees any overread. */
static int line_exact(struct sonde_log_format *fmt, const char *s, size_t len,
		      struct sonde_txn *t)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	r = sonde_log_format_line(fmt, copy, len, t);
	free(copy);
	assert_true(r == 1 || r == 0 || r == -EINVAL);
	return r;
}

static void check_txn_sane(const struct sonde_txn *t)
{
	assert_true(memchr(t->operation, '\0', sizeof(t->operation)) != NULL);
	assert_true(memchr(t->target, '\0', sizeof(t->target)) != NULL);
	assert_true(memchr(t->path, '\0', sizeof(t->path)) != NULL);
	assert_true(memchr(t->server_address, '\0', sizeof(t->server_address)) != NULL);
	assert_true(memchr(t->error, '\0', sizeof(t->error)) != NULL);
	assert_true(memchr(t->service, '\0', sizeof(t->service)) != NULL);
}

static void test_binary_garbage(void **state)
{
	uint64_t seed = 42;
	char buf[512];
	struct sonde_txn t;
	size_t f, i, k;

	for (f = 0; f < N_FORMATS; f++) {
		struct sonde_log_format *fmt = fmt_make(all_formats[f], NULL);
		unsigned txns = 0, errs = 0;

		for (i = 0; i < 2000; i++) {
			size_t n;
			int r;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			n = seed % sizeof(buf);
			for (k = 0; k < n; k++) {
				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				buf[k] = (char)seed;
			}
			r = line_exact(fmt, buf, n, &t);
			if (r == 1) {
				check_txn_sane(&t);
				txns++;
			}
			errs += r == -EINVAL;
		}
		/* random bytes are not access log lines */
		if (strcmp(all_formats[f], "mysql_slow") != 0)
			assert_true(errs > 1900);
		if (sonde_log_format_flush(fmt, &t) == 1)
			check_txn_sane(&t);
		sonde_log_format_free(fmt);
	}
}

static void test_nul_and_invalid_utf8(void **state)
{
	static const char nginx_nul[] =
		"127.0.0.1 - - [22/Nov/2026:04:38:05 +0000] \"GET /a\0b HTTP/1.1\" 200 6 \"-\" \"\xff\xfe\0\"";
	static const char pg_nul[] =
		"2026-11-22 04:38:20.388 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT\0 * FROM \xff\"t\0\"";
	static const char json_nul[] = "{\"method\":\"GET\",\"path\":\"/\xc3\x28\\u0000x\",\"status\":200}";
	struct sonde_log_format *fmt;
	struct sonde_txn t;

	fmt = fmt_make("combined", NULL);
	assert_int_equal(line_exact(fmt, nginx_nul, sizeof(nginx_nul) - 1, &t), 1);
	/* the path stops at the NUL: strings in a txn are C strings */
	assert_string_equal(t.path, "/a");
	assert_int_equal(t.status, 200);
	sonde_log_format_free(fmt);

	fmt = fmt_make("postgres", NULL);
	assert_int_equal(line_exact(fmt, pg_nul, sizeof(pg_nul) - 1, &t), 0);
	assert_int_equal(sonde_log_format_flush(fmt, &t), 1);
	check_txn_sane(&t);
	assert_string_equal(t.operation, "SELECT");
	sonde_log_format_free(fmt);

	fmt = fmt_make("json", NULL);
	assert_int_equal(line_exact(fmt, json_nul, sizeof(json_nul) - 1, &t), 1);
	assert_int_equal(t.status, 200);
	check_txn_sane(&t);
	sonde_log_format_free(fmt);
}

static void test_huge_lines(void **state)
{
	const size_t big = 10u << 20;
	char *buf = malloc(big);
	struct sonde_txn t;
	size_t f;

	assert_non_null(buf);
	memset(buf, 'A', big);
	for (f = 0; f < N_FORMATS; f++) {
		struct sonde_log_format *fmt = fmt_make(all_formats[f], NULL);

		assert_int_equal(sonde_log_format_line(fmt, buf, big, &t), -EINVAL);
		sonde_log_format_free(fmt);
	}
	/* a 10 MB statement: kept bounded, still summarized */
	{
		struct sonde_log_format *fmt = fmt_make("postgres", NULL);
		const char *head = "2026-11-22 04:38:20.388 UTC [1] LOG:  duration: 2.000 ms  statement: INSERT INTO big VALUES ('";

		memcpy(buf, head, strlen(head));
		assert_int_equal(sonde_log_format_line(fmt, buf, big, &t), 0);
		assert_int_equal(sonde_log_format_line(fmt, "\t')", 3, &t), 0);
		assert_int_equal(sonde_log_format_flush(fmt, &t), 1);
		assert_string_equal(t.target, "INSERT big");
		assert_int_equal(t.duration_ns, 2000000);
		sonde_log_format_free(fmt);
	}
	{
		struct sonde_log_format *fmt = fmt_make("mysql_slow", NULL);
		const char *q = "# Query_time: 0.5  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0";

		assert_int_equal(sonde_log_format_line(fmt, q, strlen(q), &t), 0);
		memcpy(buf, "UPDATE huge SET x='", 19);
		assert_int_equal(sonde_log_format_line(fmt, buf, big, &t), 0);
		assert_int_equal(sonde_log_format_flush(fmt, &t), 1);
		assert_string_equal(t.target, "UPDATE huge");
		sonde_log_format_free(fmt);
	}
	{
		/* a 10 MB JSON line that is valid: linear scan, no limit needed */
		struct sonde_log_format *fmt = fmt_make("json", NULL);
		const char *head = "{\"status\":200,\"ua\":\"";

		memset(buf, 'x', big);
		memcpy(buf, head, strlen(head));
		memcpy(buf + big - 2, "\"}", 2);
		assert_int_equal(sonde_log_format_line(fmt, buf, big, &t), 1);
		assert_int_equal(t.status, 200);
		sonde_log_format_free(fmt);
	}
	free(buf);
}

static void test_truncated_json(void **state)
{
	static const char full[] =
		"{\"method\":\"GET\",\"path\":\"/a\\\"b\",\"status\":200,\"duration\":0.25,\"x\":{\"y\":[1,2]}}";
	struct sonde_log_format *fmt = fmt_make("json", NULL);
	struct sonde_txn t;
	size_t n;

	/* every proper prefix is invalid; the whole line is one transaction */
	for (n = 0; n < sizeof(full) - 1; n++)
		assert_int_equal(line_exact(fmt, full, n, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, full, sizeof(full) - 1, &t), 1);
	assert_string_equal(t.path, "/a\"b");
	assert_int_equal(t.duration_ns, 250000000);
	/* not objects, or objects without any configured field */
	assert_int_equal(line_exact(fmt, "[1,2]", 5, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, "{}", 2, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, "{\"a\":1}", 7, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, "{\"status\":\"abc\"}", 16, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, "{\"status\":200} x", 16, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, "{\"status\":200,}", 15, &t), -EINVAL);
	assert_int_equal(line_exact(fmt, "{\"status\":tru}", 14, &t), -EINVAL);
	sonde_log_format_free(fmt);
}

static void test_format_mismatch(void **state)
{
	struct sonde_log_format *fmt;
	struct fed f;
	size_t len;
	char *buf;

	/* the custom format against a plain combined file: every line counted */
	buf = fixture_load("nginx_combined.log", &len);
	fmt = fmt_make("nginx", "$remote_addr [$time_local] \"$request\" $status rt=$request_time");
	feed(fmt, buf, len, FEED_LINES, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.errors, 13);
	fed_free(&f);
	sonde_log_format_free(fmt);
	/* nginx lines through the database formats */
	fmt = fmt_make("postgres", NULL);
	feed(fmt, buf, len, FEED_LINES, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.errors, 13);
	fed_free(&f);
	sonde_log_format_free(fmt);
	fmt = fmt_make("mysql_slow", NULL);
	feed(fmt, buf, len, FEED_LINES, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.errors, 13);
	fed_free(&f);
	sonde_log_format_free(fmt);
	fmt = fmt_make("json", NULL);
	feed(fmt, buf, len, FEED_LINES, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.errors, 13);
	fed_free(&f);
	sonde_log_format_free(fmt);
	free(buf);

	/* a postgres log through the access log formats */
	buf = fixture_load("postgres_debian.log", &len);
	fmt = fmt_make("combined", NULL);
	feed(fmt, buf, len, FEED_LINES, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.errors, f.lines);
	fed_free(&f);
	sonde_log_format_free(fmt);
	free(buf);
}

/* Every fixture cut at every byte: the truncated last line must not crash. */
static void test_fixture_prefixes(void **state)
{
	static const struct {
		const char *file, *format;
	} cases[] = {
		{ "nginx_timed.log", "combined" }, { "nginx_json.log", "json" },
		{ "apache_access.log", "apache" }, { "postgres_prefixes.log", "postgres" },
		{ "mysql8_slow.log", "mysql_slow" },
	};
	size_t c, cut;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *buf = fixture_load(cases[c].file, &len);

		for (cut = 0; cut <= len; cut += 1) {
			struct sonde_log_format *fmt = fmt_make(cases[c].format, NULL);
			struct fed f;
			char *copy = malloc(cut ? cut : 1);

			memcpy(copy, buf, cut);
			feed(fmt, copy, cut, FEED_LINES, &f);
			for (size_t i = 0; i < f.n; i++)
				check_txn_sane(&f.txn[i]);
			fed_free(&f);
			free(copy);
			sonde_log_format_free(fmt);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_nul_and_invalid_utf8),
		cmocka_unit_test(test_huge_lines),
		cmocka_unit_test(test_truncated_json),
		cmocka_unit_test(test_format_mismatch),
		cmocka_unit_test(test_fixture_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
