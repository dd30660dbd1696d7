// SPDX-License-Identifier: MIT
/* Accept / Accept-Encoding negotiation for /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_negotiate.h"

#define OM SONDE_PROM_OPENMETRICS
#define TEXT SONDE_PROM_TEXT

static enum sonde_prom_fmt fmt_of(const char *accept)
{
	enum sonde_prom_fmt f;
	size_t n = accept ? strlen(accept) : 0;
	char *copy = NULL;

	if (accept) {
		/* an exact-size heap copy: ASan catches any read past len */
		copy = malloc(n ? n : 1);
		memcpy(copy, accept, n);
	}
	f = sonde_prom_negotiate_format(copy, n);
	free(copy);
	return f;
}

static bool gzip_of(const char *ae)
{
	size_t n = strlen(ae);
	char *copy = malloc(n ? n : 1);
	bool ok;

	memcpy(copy, ae, n);
	ok = sonde_prom_accepts_gzip(copy, n);
	free(copy);
	return ok;
}

static void test_format_defaults(void **state)
{
	assert_int_equal(fmt_of(NULL), TEXT);
	assert_int_equal(fmt_of(""), TEXT);
	assert_int_equal(fmt_of("*/*"), TEXT);
	assert_int_equal(fmt_of("text/plain"), TEXT);
	assert_int_equal(fmt_of("text/html"), TEXT);
	assert_int_equal(fmt_of("application/json"), TEXT);
	assert_int_equal(fmt_of("application/*"), TEXT);
	assert_int_equal(fmt_of(",,;;=;q"), TEXT);
}

static void test_format_openmetrics(void **state)
{
	assert_int_equal(fmt_of("application/openmetrics-text"), OM);
	assert_int_equal(fmt_of("application/openmetrics-text;version=1.0.0"), OM);
	assert_int_equal(fmt_of("application/openmetrics-text; version=\"1.0.0\"; charset=utf-8"), OM);
	assert_int_equal(fmt_of("Application/OpenMetrics-Text ; Version=1.0.0"), OM);
	/* what Prometheus 2.x sends */
	assert_int_equal(fmt_of("application/openmetrics-text;version=1.0.0,"
				"application/openmetrics-text;version=0.0.1;q=0.75,"
				"text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), OM);
	/* explicitly named and tied with text: the client asked for it */
	assert_int_equal(fmt_of("text/plain, application/openmetrics-text"), OM);
	assert_int_equal(fmt_of("*/*, application/openmetrics-text;q=0.2"), TEXT);
	assert_int_equal(fmt_of("*/*;q=0.1, application/openmetrics-text;q=0.2"), OM);
}

static void test_format_qvalues(void **state)
{
	assert_int_equal(fmt_of("application/openmetrics-text;q=0"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;q=0.000"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;q=0.5,text/plain;q=0.9"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;q=0.9,text/plain;q=0.5"), OM);
	assert_int_equal(fmt_of("application/openmetrics-text;q=0.9,text/*;q=0.95"), TEXT);
	/* text/plain's most specific range decides, not the wildcard */
	assert_int_equal(fmt_of("application/openmetrics-text;q=0.5,text/plain;q=0.1,*/*"), OM);
	/* malformed q: the element is ignored */
	assert_int_equal(fmt_of("application/openmetrics-text;q=2"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;q=abc"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;q=0.12345"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;q=1.0"), OM);
	assert_int_equal(fmt_of("application/openmetrics-text;q=\"0.8\""), OM);
}

static void test_format_versions(void **state)
{
	assert_int_equal(fmt_of("application/openmetrics-text;version=0.0.1"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;version=2.0.0"), TEXT);
	assert_int_equal(fmt_of("application/openmetrics-text;version=1.1.0"), OM);
	/* text of another version does not count against OpenMetrics */
	assert_int_equal(fmt_of("text/plain;version=9.9,application/openmetrics-text;q=0.5"), OM);
	/* protobuf is not offered */
	assert_int_equal(fmt_of("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"), TEXT);
}

static void test_format_quoting(void **state)
{
	/* a comma inside quotes does not split elements */
	assert_int_equal(fmt_of("text/plain;x=\"a,application/openmetrics-text\";q=0.1"), TEXT);
	assert_int_equal(fmt_of("text/plain;x=\"a\\\"b,c\";q=0.1,application/openmetrics-text"), OM);
	/* unterminated quote swallows the rest */
	assert_int_equal(fmt_of("text/plain;x=\"open,application/openmetrics-text"), TEXT);
}

static void test_gzip(void **state)
{
	assert_true(gzip_of("gzip"));
	assert_true(gzip_of("GZIP"));
	assert_true(gzip_of("x-gzip"));
	assert_true(gzip_of("deflate, gzip;q=0.5"));
	assert_true(gzip_of("br , gzip , deflate"));
	assert_true(gzip_of("*"));
	assert_true(gzip_of("identity;q=0, *;q=0.1"));
	assert_false(gzip_of(""));
	assert_false(gzip_of("identity"));
	assert_false(gzip_of("deflate, br"));
	assert_false(gzip_of("gzip;q=0"));
	assert_false(gzip_of("gzip;q=0, *"));
	assert_false(gzip_of("*;q=0"));
	assert_false(gzip_of("gzipx"));
	assert_false(gzip_of("gzip;q=x"));
	assert_false(sonde_prom_accepts_gzip(NULL, 0));
}

/* Every prefix of a header is a header too: no read past len, no crash. */
static void test_every_prefix(void **state)
{
	const char *h = "application/openmetrics-text;version=\"1.0.0\";q=0.75,"
			"text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
	size_t n = strlen(h);

	for (size_t i = 0; i <= n; i++) {
		char *copy = malloc(i ? i : 1);

		memcpy(copy, h, i);
		(void)sonde_prom_negotiate_format(copy, i);
		(void)sonde_prom_accepts_gzip(copy, i);
		free(copy);
	}
	assert_int_equal(sonde_prom_negotiate_format(h, 28), OM);
	assert_int_equal(sonde_prom_negotiate_format(h, 27), TEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_defaults),
		cmocka_unit_test(test_format_openmetrics),
		cmocka_unit_test(test_format_qvalues),
		cmocka_unit_test(test_format_versions),
		cmocka_unit_test(test_format_quoting),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_every_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
