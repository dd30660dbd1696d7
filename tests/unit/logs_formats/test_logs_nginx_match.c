// SPDX-License-Identifier: MIT
/*
 * The nginx matcher's fast paths against the cases they must not change:
 * escaped separators inside values (nginx's \x22 and JSON's \"), lines
 * only backtracking can split, a repeated $time_local, and the addresses
 * the IPv4 fast path must accept or hand to inet_pton.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "feed.h"

static int line(struct sonde_log_format *fmt, const char *s, struct sonde_txn *t)
{
	return sonde_log_format_line(fmt, s, strlen(s), t);
}

static void test_escaped_separators(void **state)
{
	struct sonde_log_format *fmt = fmt_make("nginx",
		"escape=json '$remote_addr \"$request\" $status \"$http_user_agent\" rt=$request_time'");
	struct sonde_txn t;

	(void)state;
	/* '" ' and '"' inside the values are escaped: they do not end them */
	assert_int_equal(line(fmt, "10.1.2.3 \"GET /a\\\" b HTTP/1.1\" 201 "
				   "\"ua\\\" 2\\\\\" rt=0.250", &t), 1);
	assert_int_equal(t.status, 201);
	assert_string_equal(t.path, "/a\"");
	assert_int_equal(t.duration_ns, 250000000);
	/* a backslash as the very last byte of a value */
	assert_int_equal(line(fmt, "10.1.2.3 \"GET /b HTTP/1.1\" 200 \"ua\\\\\" rt=0.001", &t), 1);
	assert_int_equal(t.duration_ns, 1000000);
	sonde_log_format_free(fmt);

	fmt = fmt_make("combined", NULL);
	/* nginx's default escaping: \x22 in the request and the agent */
	assert_int_equal(line(fmt, "1.2.3.4 - - [22/Nov/2026:04:38:05 +0000] "
				   "\"GET /q\\x22\\x22 HTTP/1.1\" 404 0 \"-\" \"a\\x22 \\x22b\"", &t), 1);
	assert_int_equal(t.status, 404);
	assert_string_equal(t.path, "/q\"\"");
	sonde_log_format_free(fmt);
}

static void test_backtracking(void **state)
{
	struct sonde_log_format *fmt = fmt_make("nginx", "'$http_referer - $status $request_time'");
	struct sonde_txn t;

	(void)state;
	/* the first " - " is inside the referer: only a second try fits */
	assert_int_equal(line(fmt, "a - b - 503 0.010", &t), 1);
	assert_int_equal(t.status, 503);
	assert_int_equal(t.duration_ns, 10000000);
	assert_int_equal(line(fmt, "a - b - c 0.010", &t), -EINVAL);
	sonde_log_format_free(fmt);
}

static void test_time_memo(void **state)
{
	struct sonde_log_format *fmt = fmt_make("combined", NULL);
	struct sonde_txn t;
	const char *a = "1.2.3.4 - - [22/Nov/2026:04:38:05 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"";
	const char *b = "1.2.3.4 - - [22/Nov/2026:04:38:06 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"";
	const char *bad = "1.2.3.4 - - [22/Nov/2026:04:38:0x +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"";

	(void)state;
	assert_int_equal(line(fmt, a, &t), 1);
	assert_int_equal(t.start_ns, 1795322285ull * 1000000000ull);
	assert_int_equal(line(fmt, a, &t), 1);
	assert_int_equal(t.start_ns, 1795322285ull * 1000000000ull);
	assert_int_equal(line(fmt, b, &t), 1);
	assert_int_equal(t.start_ns, 1795322286ull * 1000000000ull);
	/* the right shape with a bad digit is still an error */
	assert_int_equal(line(fmt, bad, &t), -EINVAL);
	sonde_log_format_free(fmt);
}

static void test_addresses(void **state)
{
	static const struct {
		const char *addr;
		int family;
		uint8_t first;
	} cases[] = {
		{ "10.0.0.1", AF_INET, 10 },   { "255.255.255.255", AF_INET, 255 },
		{ "0.0.0.0", AF_INET, 0 },     { "010.0.0.1", 0, 0 },
		{ "256.1.1.1", 0, 0 },	       { "1.2.3", 0, 0 },
		{ "1.2.3.4.5", 0, 0 },	       { "1..2.3", 0, 0 },
		{ "1.2.3.4x", 0, 0 },	       { "::1", AF_INET6, 0 },
		{ "2001:db8::7", AF_INET6, 0x20 }, { "::ffff:1.2.3.4", AF_INET6, 0 },
		{ "unix:", 0, 0 },
	};
	struct sonde_log_format *fmt = fmt_make("nginx", "'$remote_addr $status'");
	struct sonde_txn t;
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s 200", cases[i].addr);
		assert_int_equal(line(fmt, buf, &t), 1);
		if (t.peer.family != cases[i].family)
			fail_msg("%s: family %d, want %d", cases[i].addr, t.peer.family,
				 cases[i].family);
		if (cases[i].family)
			assert_int_equal(t.peer.addr[0], cases[i].first);
	}
	sonde_log_format_free(fmt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaped_separators),
		cmocka_unit_test(test_backtracking),
		cmocka_unit_test(test_time_memo),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
