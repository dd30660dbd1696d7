// SPDX-License-Identifier: MIT
/* Transaction helpers: address text and bounded string copies. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "transaction.h"

static void v4(const char *text)
{
	struct sonde_addr a = { .family = AF_INET };
	char out[64] = "junk";

	assert_int_equal(inet_pton(AF_INET, text, a.addr), 1);
	sonde_addr_string(&a, out, sizeof(out));
	assert_string_equal(out, text);
}

static void test_addr_string(void **state)
{
	struct sonde_addr a = { .family = AF_INET6 };
	char out[64], small[8] = "junk";

	(void)state;
	v4("127.0.0.1");
	v4("10.20.255.7");
	v4("0.0.0.0");
	v4("255.255.255.255");
	v4("192.168.100.9");
	v4("1.99.100.199");
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::42", a.addr), 1);
	sonde_addr_string(&a, out, sizeof(out));
	assert_string_equal(out, "2001:db8::42");
	/* unknown family, or no room: empty, never an overflow */
	a.family = 0;
	sonde_addr_string(&a, out, sizeof(out));
	assert_string_equal(out, "");
	a.family = AF_INET;
	sonde_addr_string(&a, small, sizeof(small));
	assert_string_equal(small, "");
}

static void test_setn(void **state)
{
	char dst[8];

	(void)state;
	sonde_txn_setn(dst, sizeof(dst), "abc", 3);
	assert_string_equal(dst, "abc");
	sonde_txn_setn(dst, sizeof(dst), "abcdefghij", 10); /* cut to cap - 1 */
	assert_string_equal(dst, "abcdefg");
	sonde_txn_setn(dst, sizeof(dst), "ab\0cd", 5); /* a NUL ends the value */
	assert_string_equal(dst, "ab");
	sonde_txn_setn(dst, sizeof(dst), "", 0);
	assert_string_equal(dst, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_string),
		cmocka_unit_test(test_setn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
