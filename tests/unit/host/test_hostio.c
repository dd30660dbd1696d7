// SPDX-License-Identifier: MIT
/* Bounded tokenising and number parsing under the host collectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostio.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 7;

	assert_true(sonde_host_parse_u64("0", 1, &v));
	assert_int_equal(v, 0);
	assert_true(sonde_host_parse_u64("18446744073709551615", 20, &v));
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_false(sonde_host_parse_u64("18446744073709551616", 20, &v));
	assert_false(sonde_host_parse_u64("", 0, &v));
	assert_false(sonde_host_parse_u64("-1", 2, &v));
	assert_false(sonde_host_parse_u64("12a", 3, &v));
	assert_false(sonde_host_parse_u64("123456789012345678901", 21, &v));
	assert_int_equal(v, 7); /* untouched on failure */
	/* Only len bytes are looked at. */
	assert_true(sonde_host_parse_u64("12xyz", 2, &v));
	assert_int_equal(v, 12);
}

static void test_parse_double(void **state)
{
	double v = 5;

	assert_true(sonde_host_parse_double("0.21", 4, &v));
	assert_true(v == 0.21);
	assert_true(sonde_host_parse_double("1e3", 3, &v));
	assert_true(v == 1000);
	assert_false(sonde_host_parse_double("inf", 3, &v));
	assert_false(sonde_host_parse_double("nan", 3, &v));
	assert_false(sonde_host_parse_double("0x10", 4, &v));
	assert_false(sonde_host_parse_double("1.5.", 4, &v));
	assert_false(sonde_host_parse_double("", 0, &v));
	assert_false(sonde_host_parse_double("1e999", 5, &v));
	assert_true(sonde_host_parse_double("2.5abc", 3, &v));
	assert_true(v == 2.5);
}

static void test_lines_and_tokens(void **state)
{
	const char text[] = "a b\n\n  c\t d  \nlast";
	const char *pos = text, *end = text + strlen(text), *line, *tok;
	size_t ll, tl;
	int lines = 0, toks = 0;

	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;

		lines++;
		while (sonde_host_tok_next(&lp, le, &tok, &tl)) {
			assert_true(tok >= line && tok + tl <= le);
			toks++;
		}
	}
	assert_int_equal(lines, 4);
	assert_int_equal(toks, 5);
	pos = text;
	assert_false(sonde_host_line_next(&pos, text, &line, &ll));
}

/* Every prefix of a PSI file parses without reading past its length. */
static void test_psi_every_prefix(void **state)
{
	const char full[] = "some avg10=0.63 avg60=5.56 avg300=2.83 total=17209604\n"
			    "full avg10=0.00 avg60=0.00 avg300=0.00 total=1234\n";
	size_t n = strlen(full);

	for (size_t cut = 0; cut <= n; cut++) {
		char *copy = malloc(cut ? cut : 1); /* exact size: ASan catches any overread */
		double some = -1, fullv = -1;
		unsigned have = 0;
		int r;

		memcpy(copy, full, cut);
		r = sonde_host_parse_psi(copy, cut, &some, &fullv, &have);
		if (r == 0) {
			assert_true(have & 1);
			assert_true(some >= 0);
		}
		free(copy);
	}
	{
		double some, fullv;
		unsigned have;

		assert_int_equal(sonde_host_parse_psi(full, n, &some, &fullv, &have), 0);
		assert_int_equal(have, 3);
		assert_true(some == 17.209604);
		assert_true(fullv == 0.001234);
		assert_int_equal(sonde_host_parse_psi("junk\n", 5, &some, &fullv, &have), -EBADMSG);
	}
}

static void test_buf_read(void **state)
{
	struct sonde_host_buf buf = { .max = 16 };
	char dir[] = "/tmp/sonde-hostio-XXXXXX", path[256];
	FILE *f;
	uint64_t v;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/small", dir);
	f = fopen(path, "w");
	fputs("12345\n", f);
	fclose(f);
	assert_int_equal(sonde_host_buf_read(&buf, dir, "small"), 0);
	assert_int_equal(buf.len, 6);
	assert_int_equal(sonde_host_read_u64(&buf, path, &v), 0);
	assert_int_equal(v, 12345);
	snprintf(path, sizeof(path), "%s/big", dir);
	f = fopen(path, "w");
	fputs("0123456789abcdefghij\n", f);
	fclose(f);
	assert_int_equal(sonde_host_buf_read(&buf, dir, "big"), -EFBIG);
	assert_int_equal(sonde_host_buf_read(&buf, dir, "missing"), -ENOENT);
	unlink(path);
	snprintf(path, sizeof(path), "%s/small", dir);
	unlink(path);
	rmdir(dir);
	sonde_host_buf_release(&buf);
	sonde_host_buf_release(NULL);
}

static void test_path_join(void **state)
{
	char out[16];

	assert_int_equal(sonde_path_join(out, sizeof(out), "/", "/proc/stat"), 0);
	assert_string_equal(out, "/proc/stat");
	assert_int_equal(sonde_path_join(out, sizeof(out), "/x/", "stat"), 0);
	assert_string_equal(out, "/x/stat");
	assert_int_equal(sonde_path_join(out, sizeof(out), "/a/very/long/root", "stat"),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),	 cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_lines_and_tokens), cmocka_unit_test(test_psi_every_prefix),
		cmocka_unit_test(test_buf_read),	 cmocka_unit_test(test_path_join),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
