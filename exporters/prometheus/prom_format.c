// SPDX-License-Identifier: MIT
#include "prom_format.h"

#include "prom_dtoa.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

size_t sonde_prom_fmt_u64(unsigned long long v, char *out)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t sonde_prom_fmt_double(double v, char *out)
{
	if (isnan(v)) {
		memcpy(out, "NaN", 4);
		return 3;
	}
	if (isinf(v)) {
		memcpy(out, v > 0 ? "+Inf" : "-Inf", 5);
		return 4;
	}
	/*
	 * Integral values (counts, bytes, most counters) print exactly and
	 * without an exponent; 2^63 bounds the conversion, not exactness.
	 */
	if (v == trunc(v) && fabs(v) < 9.2e18) {
		long long i = (long long)v;

		if (i < 0) {
			out[0] = '-';
			return 1 + sonde_prom_fmt_u64(-(unsigned long long)i, out + 1);
		}
		return sonde_prom_fmt_u64((unsigned long long)i, out);
	}
	return sonde_prom_dtoa(v, out);
}

/* Length of a valid UTF-8 sequence at s (at most len bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* Overlongs, surrogates and > U+10FFFF are excluded by the 2nd byte. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* quote: escape '"' too (label values, OpenMetrics HELP). */
static void put_escaped(struct sonde_buf *out, const char *str, bool quote)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), run = 0, i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_seq(s + i, len - i);
			if (n) {
				i += n;
				run += n;
				continue;
			}
		}
		sonde_buf_put(out, s + i - run, run);
		run = 0;
		if (c == '\\')
			sonde_buf_put(out, "\\\\", 2);
		else if (c == '\n')
			sonde_buf_put(out, "\\n", 2);
		else if (c == '"')
			sonde_buf_put(out, quote ? "\\\"" : "\"", quote ? 2 : 1);
		else if (c < 0x80)
			sonde_buf_putc(out, (char)c); /* other controls are legal */
		else
			sonde_buf_put(out, "\xef\xbf\xbd", 3);
		i++;
	}
	sonde_buf_put(out, s + i - run, run);
}

void sonde_prom_escape_label(struct sonde_buf *out, const char *s)
{
	put_escaped(out, s ? s : "", true);
}

void sonde_prom_escape_help(struct sonde_buf *out, const char *s,
			    enum sonde_prom_fmt fmt)
{
	put_escaped(out, s ? s : "", fmt == SONDE_PROM_OPENMETRICS);
}

static bool has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len >= n && memcmp(s + len - n, suf, n) == 0;
}

static void put_double(struct sonde_buf *out, double v)
{
	char tmp[SONDE_PROM_DOUBLE_MAX];

	sonde_buf_put(out, tmp, sonde_prom_fmt_double(v, tmp));
}

static void put_u64(struct sonde_buf *out, uint64_t v)
{
	char tmp[SONDE_PROM_DOUBLE_MAX];

	sonde_buf_put(out, tmp, sonde_prom_fmt_u64(v, tmp));
}

/* Copies bytes already in out (by offset: data may move on growth). */
static void put_self(struct sonde_buf *out, size_t off, size_t len)
{
	if (!sonde_buf_reserve(out, len))
		return;
	memcpy(out->data + out->len, out->data + off, len);
	out->len += len;
}

/* The family's metric-name prefix, e.g. "http_requests" for OM counters. */
struct fam_name {
	const char *s;
	size_t len;
};

static void put_name(struct sonde_buf *out, struct fam_name n, const char *suffix)
{
	sonde_buf_put(out, n.s, n.len);
	if (suffix)
		sonde_buf_puts(out, suffix);
}

static void put_meta(struct sonde_buf *out, const struct sonde_snap_family *f,
		     struct fam_name n, enum sonde_prom_fmt fmt)
{
	static const char *const types[] = {
		[SONDE_COUNTER] = "counter",
		[SONDE_GAUGE] = "gauge",
		[SONDE_HISTOGRAM] = "histogram",
	};

	if (f->help && f->help[0]) {
		sonde_buf_put(out, "# HELP ", 7);
		put_name(out, n, NULL);
		sonde_buf_putc(out, ' ');
		sonde_prom_escape_help(out, f->help, fmt);
		sonde_buf_putc(out, '\n');
	}
	sonde_buf_put(out, "# TYPE ", 7);
	put_name(out, n, NULL);
	sonde_buf_putc(out, ' ');
	sonde_buf_puts(out, (unsigned)f->type < 3 ? types[f->type] : "unknown");
	sonde_buf_putc(out, '\n');
	/* OpenMetrics requires the family name to end with the unit. */
	if (fmt == SONDE_PROM_OPENMETRICS && f->unit && f->unit[0]) {
		size_t ul = strlen(f->unit);

		if (n.len > ul + 1 && n.s[n.len - ul - 1] == '_' &&
		    memcmp(n.s + n.len - ul, f->unit, ul) == 0) {
			sonde_buf_put(out, "# UNIT ", 7);
			put_name(out, n, NULL);
			sonde_buf_putc(out, ' ');
			sonde_buf_puts(out, f->unit);
			sonde_buf_putc(out, '\n');
		}
	}
}

/* Writes `k="v",` for every label; returns the bytes written. */
static size_t put_pairs(struct sonde_buf *out, const struct sonde_snap_family *f,
			const struct sonde_snap_series *s)
{
	size_t start = out->len;
	unsigned n = f->n_labels < SONDE_MAX_LABELS ? f->n_labels : SONDE_MAX_LABELS;

	for (unsigned i = 0; i < n; i++) {
		sonde_buf_puts(out, f->labels[i]);
		sonde_buf_put(out, "=\"", 2);
		sonde_prom_escape_label(out, s->values[i]);
		sonde_buf_put(out, "\",", 2);
	}
	return out->failed ? 0 : out->len - start;
}

/* `{pairs}` from pairs already written at off (trailing comma dropped). */
static void put_labelset(struct sonde_buf *out, size_t off, size_t len)
{
	if (!len)
		return;
	sonde_buf_putc(out, '{');
	put_self(out, off, len - 1);
	sonde_buf_putc(out, '}');
}

static void put_created(struct sonde_buf *out, struct fam_name n, size_t off,
			size_t len, double created)
{
	if (!(created > 0))
		return;
	put_name(out, n, "_created");
	put_labelset(out, off, len);
	sonde_buf_putc(out, ' ');
	put_double(out, created);
	sonde_buf_putc(out, '\n');
}

static void put_scalar_series(struct sonde_buf *out,
			      const struct sonde_snap_family *f,
			      const struct sonde_snap_series *s,
			      struct fam_name n, enum sonde_prom_fmt fmt)
{
	bool om_counter = fmt == SONDE_PROM_OPENMETRICS && f->type == SONDE_COUNTER;
	size_t off, len;

	put_name(out, n, om_counter ? "_total" : NULL);
	off = out->len + 1;
	if (f->n_labels) {
		sonde_buf_putc(out, '{');
		len = put_pairs(out, f, s);
		if (out->failed)
			return;
		out->data[out->len - 1] = '}';
	} else {
		len = 0;
	}
	sonde_buf_putc(out, ' ');
	put_double(out, s->value);
	sonde_buf_putc(out, '\n');
	if (om_counter)
		put_created(out, n, off, len, s->created);
}

struct le_table {
	unsigned n;
	size_t len[SONDE_MAX_BUCKETS];
	char text[SONDE_MAX_BUCKETS][SONDE_PROM_DOUBLE_MAX + 2];
};

static void le_table_init(struct le_table *t, const struct sonde_snap_family *f)
{
	t->n = f->n_buckets < SONDE_MAX_BUCKETS ? f->n_buckets : SONDE_MAX_BUCKETS;
	for (unsigned i = 0; i < t->n; i++) {
		size_t l = sonde_prom_fmt_double(f->buckets[i], t->text[i]);

		/*
		 * Bounds print as floats ("1.0") in both formats: OpenMetrics'
		 * canonical form, what Prometheus 3 normalises to, and the same
		 * series in Prometheus 2 whichever format a scrape negotiated.
		 */
		if (!strpbrk(t->text[i], ".eEIN")) {
			memcpy(t->text[i] + l, ".0", 3);
			l += 2;
		}
		t->len[i] = l;
	}
}

static void put_bucket(struct sonde_buf *out, struct fam_name n, size_t off,
		       size_t len, const char *le, size_t le_len, uint64_t v)
{
	put_name(out, n, "_bucket{");
	put_self(out, off, len);
	sonde_buf_put(out, "le=\"", 4);
	sonde_buf_put(out, le, le_len);
	sonde_buf_put(out, "\"} ", 3);
	put_u64(out, v);
	sonde_buf_putc(out, '\n');
}

static void put_histogram_series(struct sonde_buf *out,
				 const struct sonde_snap_family *f,
				 const struct le_table *le,
				 const struct sonde_snap_series *s,
				 struct fam_name n, enum sonde_prom_fmt fmt)
{
	uint64_t run = 0;
	size_t off, len;

	put_name(out, n, "_bucket{");
	off = out->len;
	len = put_pairs(out, f, s);
	if (out->failed)
		return;
	/*
	 * The snapshot copies live atomics one by one, so a racing observe can
	 * leave a bucket below its predecessor or above the count: force the
	 * invariants Prometheus checks instead of exposing a torn histogram.
	 */
	for (unsigned i = 0; i < le->n; i++) {
		if (s->buckets[i] > run)
			run = s->buckets[i];
		if (i == 0) {
			sonde_buf_put(out, "le=\"", 4);
			sonde_buf_put(out, le->text[0], le->len[0]);
			sonde_buf_put(out, "\"} ", 3);
			put_u64(out, run);
			sonde_buf_putc(out, '\n');
		} else {
			put_bucket(out, n, off, len, le->text[i], le->len[i], run);
		}
	}
	if (s->count > run)
		run = s->count;
	if (le->n == 0) {
		sonde_buf_put(out, "le=\"+Inf\"} ", 11);
		put_u64(out, run);
		sonde_buf_putc(out, '\n');
	} else {
		put_bucket(out, n, off, len, "+Inf", 4, run);
	}
	put_name(out, n, "_sum");
	put_labelset(out, off, len);
	sonde_buf_putc(out, ' ');
	put_double(out, s->value);
	sonde_buf_putc(out, '\n');
	put_name(out, n, "_count");
	put_labelset(out, off, len);
	sonde_buf_putc(out, ' ');
	put_u64(out, run);
	sonde_buf_putc(out, '\n');
	if (fmt == SONDE_PROM_OPENMETRICS)
		put_created(out, n, off, len, s->created);
}

static void put_family(struct sonde_buf *out, const struct sonde_snap_family *f,
		       enum sonde_prom_fmt fmt)
{
	struct fam_name n = { f->name, strlen(f->name) };
	struct le_table le;

	/* A family without series has nothing to say; parsers dislike it. */
	if (!f->n_series)
		return;
	if (fmt == SONDE_PROM_OPENMETRICS && f->type == SONDE_COUNTER &&
	    has_suffix(n.s, n.len, "_total"))
		n.len -= 6;
	put_meta(out, f, n, fmt);
	if (f->type == SONDE_HISTOGRAM) {
		le_table_init(&le, f);
		for (size_t i = 0; i < f->n_series && !out->failed; i++)
			put_histogram_series(out, f, &le, &f->series[i], n, fmt);
	} else {
		for (size_t i = 0; i < f->n_series && !out->failed; i++)
			put_scalar_series(out, f, &f->series[i], n, fmt);
	}
}

int sonde_prom_format(const struct sonde_snapshot *snap,
		      enum sonde_prom_fmt fmt, struct sonde_buf *out)
{
	for (size_t i = 0; snap && i < snap->n_families && !out->failed; i++)
		put_family(out, &snap->families[i], fmt);
	if (fmt == SONDE_PROM_OPENMETRICS)
		sonde_buf_put(out, "# EOF\n", 6);
	return out->failed ? -ENOMEM : 0;
}
