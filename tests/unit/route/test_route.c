// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static void route_is(const struct sonde_route_table *t, const char *path,
		     const char *want)
{
	char out[128];
	size_t len = strlen(path);
	char *copy = malloc(len ? len : 1);

	/* exact-size copy: ASan catches any read past len */
	memcpy(copy, path, len);
	memset(out, 'Z', sizeof(out));
	sonde_route_resolve(t, copy, len, out, sizeof(out));
	free(copy);
	if (strcmp(out, want) != 0)
		fail_msg("%s -> [%s], want [%s]", path, out, want);
}

static void test_heuristic(void **state)
{
	route_is(NULL, "/", "/");
	route_is(NULL, "", "/");
	route_is(NULL, "/index.html", "/index.html");
	route_is(NULL, "/api/users/12345", "/api/users/:id");
	route_is(NULL, "/api/users/12345/", "/api/users/:id");
	route_is(NULL, "//api//users//7", "/api/users/:id");
	route_is(NULL, "/api/v1/items?id=5&x=y", "/api/v1/items");
	route_is(NULL, "/docs/page#section-2", "/docs/page");
	route_is(NULL, "/o/550e8400-e29b-41d4-a716-446655440000/items",
		 "/o/:id/items");
	route_is(NULL, "/commit/9f8e7d6c5b4a", "/commit/:id");
	route_is(NULL, "/blob/deadbeefdeadbeef", "/blob/:id");
	route_is(NULL, "/feed/facade", "/feed/facade");
	route_is(NULL, "/u/user12345", "/u/:id");
	route_is(NULL, "/u/a1b2c3d4e5", "/u/:id");
	route_is(NULL, "/t/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "/t/:id");
	route_is(NULL, "/api/v2/oauth2/html5", "/api/v2/oauth2/html5");
	route_is(NULL, "/static/app.css", "/static/app.css");
	route_is(NULL, "/s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x", "/s/:id/x");
	route_is(NULL, "/a/b/c/d/e/f/g/h", "/a/b/c/d/e/f/*");
	route_is(NULL, "/a/b/c/d/e/f", "/a/b/c/d/e/f");
	route_is(NULL, "*", "*");
	route_is(NULL, "http://www.example.com/abs/path/42?x", "/abs/path/:id");
	route_is(NULL, "http://www.example.com", "/");
	route_is(NULL, "garbage", "_OTHER");
	route_is(NULL, "/p/\"quoted\"/x", "/p/\"quoted\"/x");
	/* valid UTF-8 kept; invalid bytes and controls become '?' */
	route_is(NULL, "/\xc3\xa9t\xc3\xa9/\xff\xfe", "/\xc3\xa9t\xc3\xa9/??");
	route_is(NULL, "/a\x01\x7f" "b", "/a??b");
	route_is(NULL, "/x/\xed\xa0\x80", "/x/???");
	route_is(NULL, "/x/\xe2\x82", "/x/??");
}

static void test_patterns(void **state)
{
	static const char pats[][SONDE_ROUTE_PATTERN_LEN] = {
		"/api/users/:id",
		"/api/users/:id/orders/{order}",
		"/static/*",
		"/files/*/meta",
		"/health",
	};
	struct sonde_route_table *t = NULL;
	char err[128];

	assert_int_equal(sonde_route_table_new(pats, 5, &t, err, sizeof(err)), 0);
	route_is(t, "/api/users/alice", "/api/users/:id");
	route_is(t, "/api/users/alice?x=1", "/api/users/:id");
	route_is(t, "/api/users/alice/orders/o-77", "/api/users/:id/orders/{order}");
	route_is(t, "/api/users/alice/friends", "/api/users/alice/friends");
	route_is(t, "/static/css/deep/app.css", "/static/*");
	route_is(t, "/static", "/static/*");
	route_is(t, "/files/report.pdf/meta", "/files/*/meta");
	route_is(t, "/files/report.pdf/data", "/files/report.pdf/data");
	route_is(t, "/health", "/health");
	route_is(t, "/health/", "/health");
	route_is(t, "/healthz", "/healthz");
	route_is(t, "/other/123", "/other/:id");
	sonde_route_table_free(t);
	sonde_route_table_free(NULL);
}

static void test_long_pattern(void **state)
{
	char pats[1][SONDE_ROUTE_PATTERN_LEN];
	struct sonde_route_table *t = NULL;
	char err[128], out[128], small[8];

	memset(pats[0], 'p', sizeof(pats[0]) - 1);
	pats[0][0] = '/';
	pats[0][sizeof(pats[0]) - 1] = '\0';
	assert_int_equal(sonde_route_table_new((const char(*)[SONDE_ROUTE_PATTERN_LEN])pats, 1, &t,
					       err, sizeof(err)), 0);
	sonde_route_resolve(t, pats[0], strlen(pats[0]), out, sizeof(out));
	assert_string_equal(out, pats[0]);
	sonde_route_resolve(t, pats[0], strlen(pats[0]), small, sizeof(small));
	assert_string_equal(small, "/pppppp");
	sonde_route_table_free(t);
}

static void test_pattern_errors(void **state)
{
	static const char bad[][SONDE_ROUTE_PATTERN_LEN] = { "no-slash" };
	static const char bad2[][SONDE_ROUTE_PATTERN_LEN] = { "/caf\xc3\xa9" };
	struct sonde_route_table *t = NULL;
	char err[128] = "";

	assert_int_equal(sonde_route_table_new(bad, 1, &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, "no-slash"));
	assert_int_equal(sonde_route_table_new(bad2, 1, &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	assert_int_equal(sonde_route_table_new(NULL, 0, &t, err, sizeof(err)), 0);
	route_is(t, "/x/1", "/x/:id");
	sonde_route_table_free(t);
	assert_int_equal(sonde_route_table_new(NULL, SONDE_ROUTE_MAX_PATTERNS + 1, &t,
					       err, sizeof(err)), -EINVAL);
}

static void test_bounds(void **state)
{
	char out[16], tiny[1], small[4];
	char *big;
	const size_t n = 1 << 20;
	size_t i;

	/* output length is capped by outlen and always terminated */
	sonde_route_resolve(NULL, "/abcdef/ghijkl/mnopqr", 21, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_string_equal(out, "/abcdef/*");
	sonde_route_resolve(NULL, "/abc", 4, tiny, sizeof(tiny));
	assert_string_equal(tiny, "");
	sonde_route_resolve(NULL, "/abcdef", 7, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	sonde_route_resolve(NULL, "/abc", 4, out, 0);
	sonde_route_resolve(NULL, NULL, 5, out, sizeof(out));
	assert_string_equal(out, "/");
	/* len bounds the read: no NUL needed */
	sonde_route_resolve(NULL, "/abc/def", 4, out, sizeof(out));
	assert_string_equal(out, "/abc");
	big = malloc(n);
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (char)("/a1\xff"[i % 4]);
	{
		char o[128];

		sonde_route_resolve(NULL, big, n, o, sizeof(o));
		assert_true(strlen(o) <= 120);
	}
	free(big);
}

/* A long-but-normal route never exceeds the label limit. */
static void test_length_cap(void **state)
{
	char o[256];
	const char *p = "/ggggggggggggggggggggggggggggggggggggggg/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
			"/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm";

	sonde_route_resolve(NULL, p, strlen(p), o, sizeof(o));
	assert_true(strlen(o) <= 120);
	assert_string_equal(o + strlen(o) - 2, "/*");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heuristic),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_pattern_errors),
		cmocka_unit_test(test_long_pattern),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_length_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
