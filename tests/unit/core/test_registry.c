// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "registry.h"

static const struct sonde_snap_family *find(const struct sonde_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_families; i++)
		if (strcmp(s->families[i].name, name) == 0)
			return &s->families[i];
	return NULL;
}

static void test_basic(void **st)
{
	static const double b[] = { 0.1, 1, 10 };
	struct sonde_family_desc cd = { .name = "x_requests_total", .help = "h", .type = SONDE_COUNTER, .labels = { "code" } };
	struct sonde_family_desc hd = { .name = "x_seconds", .help = "h", .type = SONDE_HISTOGRAM, .labels = { "op" }, .buckets = b, .n_buckets = 3 };
	struct sonde_family_desc gd = { .name = "x_temp", .help = "h", .type = SONDE_GAUGE };
	struct sonde_registry *reg;
	struct sonde_family *c, *h, *g, *again;
	struct sonde_snapshot *snap;
	const char *v200[] = { "200" }, *v500[] = { "500" }, *vget[] = { "get" };

	(void)st;
	assert_int_equal(sonde_registry_new(100, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &cd, &c), 0);
	assert_int_equal(sonde_registry_add(reg, &hd, &h), 0);
	assert_int_equal(sonde_registry_add(reg, &gd, &g), 0);
	/* Same shape: the same family; other shape: refused. */
	assert_int_equal(sonde_registry_add(reg, &cd, &again), 0);
	assert_ptr_equal(again, c);
	gd.type = SONDE_COUNTER;
	gd.name = "x_seconds";
	assert_int_equal(sonde_registry_add(reg, &gd, &again), -EEXIST);

	sonde_counter_inc(sonde_family_series(c, v200));
	sonde_counter_add(sonde_family_series(c, v200), 2);
	sonde_counter_add(sonde_family_series(c, v500), -5); /* ignored: counters only go up */
	assert_ptr_equal(sonde_family_series(c, v200), sonde_family_series(c, v200));
	sonde_gauge_set(sonde_family_solo(g), 21.5);
	sonde_histogram_observe(sonde_family_series(h, vget), 0.05);
	sonde_histogram_observe(sonde_family_series(h, vget), 0.1); /* le is inclusive */
	sonde_histogram_observe(sonde_family_series(h, vget), 5);
	sonde_histogram_observe(sonde_family_series(h, vget), 50);

	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	const struct sonde_snap_family *fc = find(snap, "x_requests_total");
	const struct sonde_snap_family *fh = find(snap, "x_seconds");
	const struct sonde_snap_family *fg = find(snap, "x_temp");
	assert_non_null(fc);
	assert_int_equal(fc->n_series, 2);
	assert_string_equal(fc->series[0].values[0], "200");
	assert_true(fc->series[0].value == 3.0);
	assert_true(fc->series[1].value == 0.0);
	assert_true(fg->series[0].value == 21.5);
	assert_int_equal(fh->series[0].count, 4);
	assert_int_equal(fh->series[0].buckets[0], 2);
	assert_int_equal(fh->series[0].buckets[1], 2);
	assert_int_equal(fh->series[0].buckets[2], 3);
	assert_true(fh->series[0].value == 55.15);
	assert_true(fh->series[0].created > 1e9);
	/* families sorted by name */
	for (size_t i = 1; i < snap->n_families; i++)
		assert_true(strcmp(snap->families[i - 1].name, snap->families[i].name) < 0);
	sonde_snapshot_free(snap);
	sonde_registry_free(reg);
}

static void test_bad_names(void **st)
{
	struct sonde_registry *reg;
	struct sonde_family *f;
	struct sonde_family_desc d = { .name = "1bad", .help = "h", .type = SONDE_GAUGE };

	(void)st;
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), -EINVAL);
	d.name = "ok_name";
	d.labels[0] = "__reserved";
	assert_int_equal(sonde_registry_add(reg, &d, &f), -EINVAL);
	d.labels[0] = "bad-label";
	assert_int_equal(sonde_registry_add(reg, &d, &f), -EINVAL);
	d.labels[0] = "le";
	d.type = SONDE_HISTOGRAM;
	assert_int_equal(sonde_registry_add(reg, &d, &f), -EINVAL);
	sonde_registry_free(reg);
}

static void test_cardinality_cap(void **st)
{
	struct sonde_family_desc d = { .name = "flood_total", .help = "h", .type = SONDE_COUNTER, .labels = { "path" }, .max_series = 50 };
	struct sonde_registry *reg;
	struct sonde_family *f;
	struct sonde_snapshot *snap;
	char path[64];

	(void)st;
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), 0);
	for (int i = 0; i < 100000; i++) {
		const char *v[] = { path };

		snprintf(path, sizeof(path), "/user/%d", i);
		sonde_counter_inc(sonde_family_series(f, v));
	}
	assert_int_equal(sonde_family_series_count(f), 50);
	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	const struct sonde_snap_family *ff = find(snap, "flood_total");
	const struct sonde_snap_family *fd = find(snap, "sonde_series_dropped_total");
	assert_int_equal(ff->n_series, 51);
	assert_string_equal(ff->series[50].values[0], SONDE_OVERFLOW_VALUE);
	assert_true(ff->series[50].value == 100000 - 50);
	double total = 0;
	for (size_t i = 0; i < ff->n_series; i++)
		total += ff->series[i].value;
	assert_true(total == 100000); /* nothing lost, only folded */
	int found = 0;
	for (size_t i = 0; i < fd->n_series; i++) {
		if (strcmp(fd->series[i].values[0], "flood_total") == 0) {
			assert_true(fd->series[i].value == 100000 - 50);
			found = 1;
		}
	}
	assert_true(found);
	sonde_snapshot_free(snap);
	sonde_registry_free(reg);
}

static void test_label_cleaning(void **st)
{
	struct sonde_family_desc d = { .name = "l", .help = "h", .type = SONDE_GAUGE, .labels = { "v" } };
	struct sonde_registry *reg;
	struct sonde_family *f;
	struct sonde_snapshot *snap;
	char longv[1000];
	const char *bad[] = { "a\xff\x01z\xc3\xa9" }, *lv[] = { longv }, *nul[] = { NULL };

	(void)st;
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), 0);
	sonde_gauge_set(sonde_family_series(f, bad), 1);
	sonde_gauge_set(sonde_family_series(f, lv), 2);
	sonde_gauge_set(sonde_family_series(f, nul), 3);
	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	const struct sonde_snap_family *ff = find(snap, "l");
	assert_string_equal(ff->series[0].values[0], "a??z\xc3\xa9");
	assert_int_equal(strlen(ff->series[1].values[0]), SONDE_LABEL_VALUE_MAX - 1);
	assert_string_equal(ff->series[2].values[0], "");
	sonde_snapshot_free(snap);
	sonde_registry_free(reg);
}

struct worker {
	struct sonde_family *c, *h;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char lbl[16];

	for (int i = 0; i < 20000; i++) {
		const char *v[] = { lbl };

		snprintf(lbl, sizeof(lbl), "k%d", i % 37);
		sonde_counter_inc(sonde_family_series(w->c, v));
		sonde_histogram_observe(sonde_family_series(w->h, v), (double)(i % 3));
	}
	return NULL;
}

static int collects;
static void collector(void *ud)
{
	(void)ud;
	collects++;
}

static void test_concurrency(void **st)
{
	static const double b[] = { 0.5, 1.5 };
	struct sonde_family_desc cd = { .name = "c_total", .help = "h", .type = SONDE_COUNTER, .labels = { "k" } };
	struct sonde_family_desc hd = { .name = "h_seconds", .help = "h", .type = SONDE_HISTOGRAM, .labels = { "k" }, .buckets = b, .n_buckets = 2 };
	struct sonde_registry *reg;
	struct worker w[4];
	pthread_t th[4];
	struct sonde_snapshot *snap;
	struct sonde_family *c, *h;

	(void)st;
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &cd, &c), 0);
	assert_int_equal(sonde_registry_add(reg, &hd, &h), 0);
	assert_int_equal(sonde_registry_add_collector(reg, collector, NULL), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ c, h, i };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	/* Snapshots while writers run must be consistent per series. */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
		const struct sonde_snap_family *fh = find(snap, "h_seconds");
		for (size_t s = 0; s < fh->n_series; s++)
			assert_true(fh->series[s].buckets[0] <= fh->series[s].buckets[1] &&
				    fh->series[s].buckets[1] <= fh->series[s].count);
		sonde_snapshot_free(snap);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	const struct sonde_snap_family *fc = find(snap, "c_total");
	const struct sonde_snap_family *fh = find(snap, "h_seconds");
	double total = 0;
	uint64_t count = 0;
	assert_int_equal(fc->n_series, 37);
	for (size_t s = 0; s < fc->n_series; s++) {
		total += fc->series[s].value;
		count += fh->series[s].count;
	}
	assert_true(total == 80000);
	assert_int_equal(count, 80000);
	assert_int_equal(collects, 51);
	sonde_snapshot_free(snap);
	sonde_registry_remove_collector(reg, collector, NULL);
	sonde_registry_free(reg);
}

static void test_mark_sweep(void **st)
{
	struct sonde_family_desc d = { .name = "dev_bytes", .help = "h", .type = SONDE_GAUGE, .labels = { "device" } };
	struct sonde_registry *reg;
	struct sonde_family *f;
	const char *a[] = { "sda" }, *b[] = { "sdb" };

	(void)st;
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), 0);
	sonde_family_mark(f);
	sonde_gauge_set(sonde_family_series(f, a), 1);
	sonde_gauge_set(sonde_family_series(f, b), 2);
	sonde_family_sweep(f);
	assert_int_equal(sonde_family_series_count(f), 2);
	sonde_family_mark(f);
	sonde_gauge_set(sonde_family_series(f, b), 3);
	sonde_family_sweep(f);
	assert_int_equal(sonde_family_series_count(f), 1);
	assert_true(sonde_series_value(sonde_family_series(f, b)) == 3);
	sonde_registry_free(reg);
}

/* The per-thread memo answers what the registry answers, never more. */
/* Several families, one set of values: each gets its own series. */
static void test_memo_n(void **st)
{
	struct sonde_family_desc d = { .name = "n_total", .help = "h", .type = SONDE_COUNTER,
				       .labels = { "a", "b" } };
	struct sonde_registry *reg;
	struct sonde_family *f[3];
	struct sonde_series *s[3], *again[3];
	const char *v[] = { "x", "y" }, *w[] = { "x", "z" };

	(void)st;
	assert_int_equal(sonde_registry_new(100, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f[0]), 0);
	d.name = "n2_total";
	assert_int_equal(sonde_registry_add(reg, &d, &f[1]), 0);
	d.name = "n3_total";
	d.labels[1] = NULL; /* one label only: looked up without the memo */
	assert_int_equal(sonde_registry_add(reg, &d, &f[2]), 0);
	sonde_family_series_memo_n(f, 2, v, s);
	assert_ptr_equal(s[0], sonde_family_series(f[0], v));
	assert_ptr_equal(s[1], sonde_family_series(f[1], v));
	assert_ptr_not_equal(s[0], s[1]);
	sonde_family_series_memo_n(f, 3, w, again);
	assert_ptr_equal(again[0], sonde_family_series(f[0], w));
	assert_ptr_equal(again[1], sonde_family_series(f[1], w));
	assert_ptr_equal(again[2], sonde_family_series(f[2], w));
	assert_ptr_not_equal(again[0], s[0]);
	/* hits: the same handles again */
	sonde_family_series_memo_n(f, 2, v, again);
	assert_ptr_equal(again[0], s[0]);
	assert_ptr_equal(again[1], s[1]);
	sonde_registry_free(reg);
}

static void test_memo(void **st)
{
	struct sonde_family_desc d = { .name = "m_total", .help = "h", .type = SONDE_COUNTER,
				       .labels = { "a", "b" }, .max_series = 2 };
	struct sonde_registry *reg, *reg2;
	struct sonde_family *f, *f2;
	char big[300];
	const char *v1[] = { "x", "y" }, *v2[] = { "xy", "" }, *v3[] = { "p", "q" };
	const char *vbig[] = { big, "z" }, *bad[] = { "a\x01", "y" }, *clean[] = { "a?", "y" };

	(void)st;
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sonde_registry_new(100, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), 0);
	/* hit and miss agree with the plain lookup; "x","y" is not "xy","" */
	assert_ptr_equal(sonde_family_series_memo(f, v1), sonde_family_series(f, v1));
	assert_ptr_equal(sonde_family_series_memo(f, v1), sonde_family_series(f, v1));
	assert_ptr_equal(sonde_family_series_memo(f, v2), sonde_family_series(f, v2));
	assert_ptr_not_equal(sonde_family_series_memo(f, v1), sonde_family_series_memo(f, v2));
	/* at the cap: the overflow series, and it is not remembered, so a
	 * raised cap gives the values their own series at once */
	struct sonde_series *ov = sonde_family_series_memo(f, v3);
	assert_ptr_equal(ov, sonde_family_series(f, v3));
	sonde_registry_free(reg);

	/* a new registry (maybe at the same address) never sees old entries */
	assert_int_equal(sonde_registry_new(100, &reg2), 0);
	d.max_series = 0;
	assert_int_equal(sonde_registry_add(reg2, &d, &f2), 0);
	assert_ptr_equal(sonde_family_series_memo(f2, v1), sonde_family_series(f2, v1));
	assert_ptr_equal(sonde_family_series_memo(f2, v3), sonde_family_series(f2, v3));
	/* keys too long for the memo, and values the registry cleans */
	assert_ptr_equal(sonde_family_series_memo(f2, vbig), sonde_family_series(f2, vbig));
	assert_ptr_equal(sonde_family_series_memo(f2, bad), sonde_family_series(f2, clean));
	/* a swept family is looked up afresh every time */
	sonde_family_mark(f2);
	sonde_family_sweep(f2);
	assert_ptr_equal(sonde_family_series_memo(f2, v1), sonde_family_series(f2, v1));
	assert_int_equal(sonde_family_series_count(f2), 1);
	sonde_registry_free(reg2);
}

/* Raising the cap after an overflow: the memo did not pin the values. */
static void test_memo_cap_raised(void **st)
{
	struct sonde_family_desc d = { .name = "r_total", .help = "h", .type = SONDE_COUNTER,
				       .labels = { "a" } };
	struct sonde_registry *reg;
	struct sonde_family *f;
	const char *v1[] = { "one" }, *v2[] = { "two" };
	struct sonde_series *ov;

	(void)st;
	assert_int_equal(sonde_registry_new(1, &reg), 0);
	assert_int_equal(sonde_registry_add(reg, &d, &f), 0);
	(void)sonde_family_series_memo(f, v1);
	ov = sonde_family_series_memo(f, v2);
	sonde_registry_set_default_max_series(reg, 10);
	assert_ptr_not_equal(sonde_family_series_memo(f, v2), ov);
	assert_int_equal(sonde_family_series_count(f), 2);
	sonde_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),	     cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_cardinality_cap), cmocka_unit_test(test_label_cleaning),
		cmocka_unit_test(test_concurrency),   cmocka_unit_test(test_mark_sweep),
		cmocka_unit_test(test_memo),	     cmocka_unit_test(test_memo_n),
		cmocka_unit_test(test_memo_cap_raised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
