// SPDX-License-Identifier: MIT
/*
 * Formatter golden files (both formats) and the float/escape primitives.
 * SONDE_UPDATE_GOLDEN=1 rewrites the fixtures instead of comparing.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_format.h"
#include "registry.h"

static char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
			data[n] = '\0';
			*ret_len = (size_t)n;
		} else {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	return data;
}

static void check_golden(const struct sonde_buf *out, const char *name)
{
	char path[1024];
	const char *dir = getenv("SONDE_FIXTURES");
	size_t len = 0;
	char *want;

	snprintf(path, sizeof(path), "%s/prometheus/%s", dir ? dir : SONDE_FIXTURES, name);
	if (getenv("SONDE_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(out->data, 1, out->len, f), out->len);
		fclose(f);
		return;
	}
	want = read_file(path, &len);
	if (!want)
		fail_msg("missing fixture %s", path);
	if (len != out->len || memcmp(want, out->data, len) != 0) {
		fprintf(stderr, "--- want %s\n%s--- got\n%.*s---\n", path, want,
			(int)out->len, out->data);
		free(want);
		fail_msg("output differs from %s", name);
	}
	free(want);
}

/* ---- a registry with every type and the escaping edge cases ---- */

static const double small_buckets[] = { 0.005, 0.1, 1, 2.5 };

static struct sonde_registry *build_registry(void)
{
	static const struct sonde_family_desc req = {
		.name = "http_requests_total",
		.help = "Requests by method and path.\nSecond line with a \\ backslash and \"quotes\".",
		.type = SONDE_COUNTER,
		.labels = { "method", "path" },
	};
	static const struct sonde_family_desc cpu = {
		.name = "node_cpu_seconds_total",
		.help = "Seconds the CPUs spent in each mode.",
		.unit = "seconds",
		.type = SONDE_COUNTER,
		.labels = { "cpu", "mode" },
	};
	static const struct sonde_family_desc temp = {
		.name = "room_temperature_celsius",
		.help = "A gauge with awkward values.",
		.unit = "celsius",
		.type = SONDE_GAUGE,
		.labels = { "room" },
	};
	static const struct sonde_family_desc dur = {
		.name = "http_server_request_duration_seconds",
		.help = "Request latency.",
		.unit = "seconds",
		.type = SONDE_HISTOGRAM,
		.labels = { "http_route" },
		.buckets = small_buckets,
		.n_buckets = 4,
	};
	static const struct sonde_family_desc up = {
		.name = "sonde_up",
		.help = "A gauge without labels; unit given but not in the name.",
		.unit = "bytes",
		.type = SONDE_GAUGE,
	};
	static const struct sonde_family_desc empty = {
		.name = "never_touched",
		.help = "No series: not exposed.",
		.type = SONDE_GAUGE,
		.labels = { "x" },
	};
	struct sonde_registry *reg;
	struct sonde_family *f;
	struct sonde_series *s;

	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &req, &f), 0);
	sonde_counter_add(sonde_family_series(f, (const char *const[]){ "GET", "C:\\dir\\\"file\"" }), 3);
	sonde_counter_add(sonde_family_series(f, (const char *const[]){ "POST", "line1\nline2" }), 1);
	sonde_counter_add(sonde_family_series(f, (const char *const[]){ "GET", "caf\xc3\xa9 \xe2\x82\xac" }), 2.5);
	sonde_counter_add(sonde_family_series(f, (const char *const[]){ "GET", "bad\xff\xfe utf8" }), 7);
	sonde_counter_add(sonde_family_series(f, (const char *const[]){ "PUT", NULL }), 12345678901.0);

	assert_int_equal(sonde_registry_add(reg, &cpu, &f), 0);
	sonde_counter_set(sonde_family_series(f, (const char *const[]){ "0", "idle" }), 1234.56);
	sonde_counter_set(sonde_family_series(f, (const char *const[]){ "0", "user" }), 1e21);

	assert_int_equal(sonde_registry_add(reg, &temp, &f), 0);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "a" }), NAN);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "b" }), INFINITY);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "c" }), -INFINITY);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "d" }), 0.1);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "e" }), -273.15);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "f" }), 1e-300);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "g" }), 1.0 / 3.0);
	sonde_gauge_set(sonde_family_series(f, (const char *const[]){ "h" }), -0.0);

	assert_int_equal(sonde_registry_add(reg, &dur, &f), 0);
	s = sonde_family_series(f, (const char *const[]){ "/api/users/:id" });
	sonde_histogram_observe(s, 0.001);
	sonde_histogram_observe(s, 0.05);
	sonde_histogram_observe(s, 0.05);
	sonde_histogram_observe(s, 2);
	sonde_histogram_observe(s, 30);
	sonde_family_series(f, (const char *const[]){ "/idle" });

	assert_int_equal(sonde_registry_add(reg, &up, &f), 0);
	sonde_gauge_set(sonde_family_solo(f), 1);
	assert_int_equal(sonde_registry_add(reg, &empty, &f), 0);
	return reg;
}

static int series_cmp(const void *a, const void *b, void *arg)
{
	const struct sonde_snap_series *x = a, *y = b;
	unsigned n = *(const unsigned *)arg;

	for (unsigned i = 0; i < n; i++) {
		int c = strcmp(x->values[i] ? x->values[i] : "", y->values[i] ? y->values[i] : "");

		if (c)
			return c;
	}
	return 0;
}

/*
 * Creation times are wall-clock: pin them so the output is reproducible;
 * and sort series here so the fixture does not depend on the registry's
 * internal order (the formatter keeps whatever order it is given).
 */
static void pin_created(struct sonde_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_families; i++) {
		struct sonde_snap_family *f = &snap->families[i];

		qsort_r(f->series, f->n_series, sizeof(*f->series), series_cmp, &f->n_labels);
		for (size_t j = 0; j < f->n_series; j++)
			f->series[j].created = 1700000000.25 + (double)j;
	}
}

static void golden_registry(enum sonde_prom_fmt fmt, const char *fixture)
{
	struct sonde_registry *reg = build_registry();
	struct sonde_snapshot *snap;
	struct sonde_buf out;

	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	pin_created(snap);
	sonde_buf_init(&out, 0);
	assert_int_equal(sonde_prom_format(snap, fmt, &out), 0);
	check_golden(&out, fixture);
	sonde_buf_release(&out);
	sonde_snapshot_free(snap);
	sonde_registry_free(reg);
}

static void test_golden_registry_text(void **state)
{
	golden_registry(SONDE_PROM_TEXT, "registry.prom.txt");
}

static void test_golden_registry_openmetrics(void **state)
{
	golden_registry(SONDE_PROM_OPENMETRICS, "registry.openmetrics.txt");
}

/*
 * A hand-built snapshot reaches what the registry sanitises away (raw
 * newlines in values), a torn histogram, NULL help and a counter without
 * the _total suffix.
 */
static void golden_raw(enum sonde_prom_fmt fmt, const char *fixture)
{
	struct sonde_snap_series esc[] = {
		{ .values = { "a\nb", "back\\slash" }, .value = 1, .created = 1.5 },
		{ .values = { "\"q\"", "" }, .value = 2 },
	};
	struct sonde_snap_series torn[] = {
		/* bucket 2 below bucket 1, count below the last bucket */
		{ .value = 0.75, .count = 3, .buckets = { 1, 5, 4 }, .created = 1e9 },
	};
	struct sonde_snap_series plain[] = { { .value = 42 } };
	struct sonde_snap_family fams[] = {
		{ .name = "esc_total", .help = "Tab\there, newline\nthere, \"quoted\" \\.",
		  .type = SONDE_COUNTER, .n_labels = 2, .labels = { "k", "v" },
		  .n_series = 2, .series = esc },
		{ .name = "nohelp", .type = SONDE_GAUGE, .n_series = 1, .series = plain },
		{ .name = "odd_counter", .help = "No _total suffix.", .type = SONDE_COUNTER,
		  .n_series = 1, .series = plain },
		{ .name = "torn_seconds", .help = "Torn.", .unit = "seconds",
		  .type = SONDE_HISTOGRAM, .n_buckets = 3, .buckets = { 1, 10, 100 },
		  .n_series = 1, .series = torn },
	};
	struct sonde_snapshot snap = { .n_families = 4, .families = fams };
	struct sonde_buf out;

	sonde_buf_init(&out, 0);
	assert_int_equal(sonde_prom_format(&snap, fmt, &out), 0);
	check_golden(&out, fixture);
	sonde_buf_release(&out);
}

static void test_golden_raw_text(void **state)
{
	golden_raw(SONDE_PROM_TEXT, "raw.prom.txt");
}

static void test_golden_raw_openmetrics(void **state)
{
	golden_raw(SONDE_PROM_OPENMETRICS, "raw.openmetrics.txt");
}

static void test_empty(void **state)
{
	struct sonde_snapshot snap = { 0 };
	struct sonde_buf out;

	sonde_buf_init(&out, 0);
	assert_int_equal(sonde_prom_format(&snap, SONDE_PROM_TEXT, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(sonde_prom_format(&snap, SONDE_PROM_OPENMETRICS, &out), 0);
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.data, "# EOF\n", 6);
	sonde_buf_release(&out);
}

static void expect_double(double v, const char *want)
{
	char buf[SONDE_PROM_DOUBLE_MAX];
	size_t n = sonde_prom_fmt_double(v, buf);

	if (n != strlen(want) || strcmp(buf, want) != 0)
		fail_msg("%.17g: got %s (%zu), want %s", v, buf, n, want);
}

static void test_double_format(void **state)
{
	expect_double(0, "0");
	expect_double(-0.0, "0");
	expect_double(1, "1");
	expect_double(-1, "-1");
	expect_double(1e6, "1000000");
	expect_double(1e15, "1000000000000000");
	expect_double(9007199254740993.0, "9007199254740992");
	expect_double(1e18, "1000000000000000000");
	expect_double(-9.1e18, "-9100000000000000000");
	expect_double(1e19, "1e+19");
	expect_double(0.1, "0.1");
	expect_double(0.005, "0.005");
	expect_double(2.5, "2.5");
	expect_double(1.0 / 3.0, "0.3333333333333333");
	/* Grisu2's rare not-shortest case: still reads back exactly */
	expect_double(1e23, "9.999999999999999e+22");
	expect_double(123456789012345.67, "123456789012345.67");
	expect_double(1e16 + 2, "10000000000000002");
	expect_double(0.0001, "0.0001");
	expect_double(0.00001, "0.00001");
	expect_double(0.000001, "1e-06");
	expect_double(-1.5e300, "-1.5e+300");
	expect_double(2.2250738585072014e-308, "2.2250738585072014e-308");
	expect_double(9.3e18, "9.3e+18");
	expect_double(1e-300, "1e-300");
	expect_double(5e-324, "5e-324");
	expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
	expect_double(NAN, "NaN");
	expect_double(INFINITY, "+Inf");
	expect_double(-INFINITY, "-Inf");
}

static int sig_digits(const char *s)
{
	int n = 0;
	bool lead = true;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = false;
		n++;
	}
	return n;
}

/*
 * Every finite double prints to text that parses back bit-exact, in at
 * most 17 digits, and (Grisu2) rarely one digit longer than the shortest.
 */
static void test_double_roundtrip(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[SONDE_PROM_DOUBLE_MAX];
	int longer = 0;

	for (int i = 0; i < 200000; i++) {
		uint64_t bits;
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bits = x;
		if (i % 3 == 0) /* also plenty of "ordinary" magnitudes */
			bits = (bits & 0x800fffffffffffffull) | ((uint64_t)(1023 + (int)(x % 80) - 40) << 52);
		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		assert_true(sonde_prom_fmt_double(v, buf) < SONDE_PROM_DOUBLE_MAX);
		if (strtod(buf, NULL) != v)
			fail_msg("%.17g printed as %s", v, buf);
		/* integers below 2^63 print whole, exactly: all their digits */
		if (v == trunc(v) && fabs(v) < 9.2e18)
			continue;
		assert_true(sig_digits(buf) <= 17);
		/* shortest: the printf route (15..17 digits) is never shorter */
		if (i % 16 == 0) {
			char ref[64];

			for (int prec = 1; prec <= 17; prec++) {
				snprintf(ref, sizeof(ref), "%.*g", prec, v);
				if (strtod(ref, NULL) == v) {
					if (sig_digits(buf) > sig_digits(ref) + 1)
						fail_msg("%s is long, %s would do", buf, ref);
					longer += sig_digits(buf) > sig_digits(ref);
					break;
				}
			}
		}
	}
	/* Grisu2 misses the shortest form for well under 1% of doubles */
	assert_true(longer < 200000 / 16 / 100);
}

static void test_u64(void **state)
{
	char buf[SONDE_PROM_DOUBLE_MAX];

	assert_int_equal(sonde_prom_fmt_u64(0, buf), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(sonde_prom_fmt_u64(UINT64_MAX, buf), 20);
	assert_string_equal(buf, "18446744073709551615");
}

static void expect_label(const char *in, const char *want)
{
	struct sonde_buf out;

	sonde_buf_init(&out, 0);
	sonde_prom_escape_label(&out, in);
	sonde_buf_putc(&out, '\0');
	assert_false(out.failed);
	assert_string_equal(out.data, want);
	sonde_buf_release(&out);
}

static void test_escape_label(void **state)
{
	expect_label("", "");
	expect_label("plain", "plain");
	expect_label("a\\b", "a\\\\b");
	expect_label("say \"hi\"", "say \\\"hi\\\"");
	expect_label("l1\nl2", "l1\\nl2");
	expect_label("tab\tok", "tab\tok");
	expect_label("caf\xc3\xa9", "caf\xc3\xa9");
	expect_label("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	/* invalid: lone continuation, overlong, surrogate, > U+10FFFF, truncated */
	expect_label("a\x80z", "a\xef\xbf\xbdz");
	expect_label("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	expect_label("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect_label("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect_label("end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd");
	expect_label(NULL, "");
}

static void test_escape_help(void **state)
{
	struct sonde_buf out;

	sonde_buf_init(&out, 0);
	sonde_prom_escape_help(&out, "a \"b\" \\ c\nd", SONDE_PROM_TEXT);
	sonde_buf_putc(&out, '\0');
	assert_string_equal(out.data, "a \"b\" \\\\ c\\nd");
	out.len = 0;
	sonde_prom_escape_help(&out, "a \"b\" \\ c\nd", SONDE_PROM_OPENMETRICS);
	sonde_buf_putc(&out, '\0');
	assert_string_equal(out.data, "a \\\"b\\\" \\\\ c\\nd");
	sonde_buf_release(&out);
}

/* A capped buffer fails cleanly: -ENOMEM, no overrun, nothing half-counted. */
static void test_buffer_limit(void **state)
{
	struct sonde_registry *reg = build_registry();
	struct sonde_snapshot *snap;
	struct sonde_buf out;

	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	for (size_t max = 1; max < 3000; max += 97) {
		sonde_buf_init(&out, max);
		assert_int_equal(sonde_prom_format(snap, SONDE_PROM_OPENMETRICS, &out), -ENOMEM);
		assert_true(out.len <= max);
		sonde_buf_release(&out);
	}
	sonde_snapshot_free(snap);
	sonde_registry_free(reg);
}

struct hammer {
	struct sonde_series *s[4];
	atomic_bool stop;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	uint64_t x = (uint64_t)(uintptr_t)&x | 1;

	while (!atomic_load(&h->stop)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sonde_histogram_observe(h->s[x % 4], (double)(x % 3000) / 1000.0);
	}
	return NULL;
}

/*
 * Scrapes while two threads observe: every exposed histogram must still be
 * cumulative with +Inf == _count, whatever the snapshot caught mid-update.
 */
static void test_concurrent_histograms(void **state)
{
	static const struct sonde_family_desc d = {
		.name = "race_seconds", .help = "Racing.", .type = SONDE_HISTOGRAM,
		.labels = { "k" }, .buckets = small_buckets, .n_buckets = 4,
	};
	struct sonde_registry *reg;
	struct sonde_family *f;
	struct hammer h = { 0 };
	pthread_t t[2];
	struct sonde_buf out;

	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), 0);
	for (int i = 0; i < 4; i++) {
		char v[4] = { (char)('a' + i), 0 };

		h.s[i] = sonde_family_series(f, (const char *const[]){ v });
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h), 0);
	sonde_buf_init(&out, 0);
	for (int iter = 0; iter < 300; iter++) {
		struct sonde_snapshot *snap;
		unsigned long long prev = 0, v, count;
		char *line, *save = NULL;

		assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
		out.len = 0;
		assert_int_equal(sonde_prom_format(snap, iter % 2 ? SONDE_PROM_OPENMETRICS : SONDE_PROM_TEXT, &out), 0);
		sonde_snapshot_free(snap);
		sonde_buf_putc(&out, '\0');
		for (line = strtok_r(out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "race_seconds_bucket{", 20) == 0) {
				v = strtoull(strrchr(line, ' ') + 1, NULL, 10);
				if (strstr(line, "le=\"0.005\""))
					prev = 0;
				if (v < prev)
					fail_msg("not cumulative: %s after %llu", line, prev);
				prev = v;
			} else if (strncmp(line, "race_seconds_count{", 19) == 0) {
				count = strtoull(strrchr(line, ' ') + 1, NULL, 10);
				if (count != prev)
					fail_msg("_count %llu != +Inf %llu", count, prev);
			}
		}
	}
	atomic_store(&h.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	sonde_buf_release(&out);
	sonde_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_registry_text),
		cmocka_unit_test(test_golden_registry_openmetrics),
		cmocka_unit_test(test_golden_raw_text),
		cmocka_unit_test(test_golden_raw_openmetrics),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_double_format),
		cmocka_unit_test(test_double_roundtrip),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_escape_help),
		cmocka_unit_test(test_buffer_limit),
		cmocka_unit_test(test_concurrent_histograms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
