// SPDX-License-Identifier: MIT
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

char *fixture_load(const char *name, size_t *ret_len)
{
	char path[4096];
	const char *dir = getenv("SONDE_FIXTURES");
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/logs_formats/%s",
		 dir ? dir : SONDE_FIXTURES, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("missing fixture %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	*ret_len = (size_t)len;
	return buf;
}

struct sonde_log_format *fmt_make(const char *format, const char *log_format)
{
	struct sonde_log_format_config cfg;
	struct sonde_log_format *fmt = NULL;
	char err[256] = "";

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.format, sizeof(cfg.format), "%s", format);
	if (log_format)
		snprintf(cfg.log_format, sizeof(cfg.log_format), "%s", log_format);
	if (sonde_log_format_new(&cfg, &fmt, err, sizeof(err)) < 0)
		fail_msg("format %s: %s", format, err);
	return fmt;
}

static void push(struct fed *out, const struct sonde_txn *t)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->txn = realloc(out->txn, out->cap * sizeof(*out->txn));
		assert_non_null(out->txn);
	}
	out->txn[out->n++] = *t;
}

static void one_line(struct sonde_log_format *fmt, const char *line, size_t len,
		     struct fed *out)
{
	struct sonde_txn t;
	int r;

	memset(&t, 0xa5, sizeof(t));
	r = sonde_log_format_line(fmt, line, len, &t);
	out->lines++;
	if (r == 1)
		push(out, &t);
	else if (r == -EINVAL)
		out->errors++;
	else
		assert_int_equal(r, 0);
}

static void finish(struct sonde_log_format *fmt, struct fed *out)
{
	struct sonde_txn t;

	if (sonde_log_format_flush(fmt, &t) == 1)
		push(out, &t);
	/* a second flush has nothing left */
	assert_int_equal(sonde_log_format_flush(fmt, &t), 0);
}

/* A tailer's line assembler fed by reads of the given sizes. */
static void assemble(struct sonde_log_format *fmt, const char *buf, size_t len,
		     bool random_sizes, struct fed *out)
{
	char *line = malloc(len + 1);
	size_t have = 0, pos = 0;
	uint64_t seed = 0x12345678;

	assert_non_null(line);
	while (pos < len) {
		size_t chunk = 1, i;

		if (random_sizes) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			chunk = 1 + seed % 97;
		}
		if (chunk > len - pos)
			chunk = len - pos;
		for (i = 0; i < chunk; i++) {
			char c = buf[pos + i];

			if (c == '\n') {
				one_line(fmt, line, have, out);
				have = 0;
			} else {
				line[have++] = c;
			}
		}
		pos += chunk;
	}
	if (have)
		one_line(fmt, line, have, out);
	finish(fmt, out);
	free(line);
}

void feed(struct sonde_log_format *fmt, const char *buf, size_t len,
	  enum feed_mode mode, struct fed *out)
{
	size_t start = 0, i;

	memset(out, 0, sizeof(*out));
	switch (mode) {
	case FEED_LINES:
	case FEED_CRLF: {
		char *copy = malloc(len + 2);

		assert_non_null(copy);
		for (i = 0; i <= len; i++) {
			if (i == len || buf[i] == '\n') {
				size_t n = i - start;

				if (i == len && n == 0)
					break;
				memcpy(copy, buf + start, n);
				if (mode == FEED_CRLF)
					copy[n++] = '\r';
				one_line(fmt, copy, n, out);
				start = i + 1;
			}
		}
		free(copy);
		finish(fmt, out);
		break;
	}
	case FEED_BYTES:
		assemble(fmt, buf, len, false, out);
		break;
	case FEED_RANDOM:
		assemble(fmt, buf, len, true, out);
		break;
	}
}

void feed_flushing(struct sonde_log_format *fmt, const char *buf, size_t len,
		   bool (*at_boundary)(const char *line, size_t len),
		   struct fed *out)
{
	size_t start = 0, i;
	struct sonde_txn t;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (at_boundary(buf + start, i - start) &&
		    sonde_log_format_flush(fmt, &t) == 1)
			push(out, &t);
		one_line(fmt, buf + start, i - start, out);
		start = i + 1;
	}
	if (start < len)
		one_line(fmt, buf + start, len - start, out);
	finish(fmt, out);
}

void fed_free(struct fed *f)
{
	free(f->txn);
	memset(f, 0, sizeof(*f));
}

static bool txn_equal(const struct sonde_txn *a, const struct sonde_txn *b)
{
	return a->kind == b->kind && a->proto == b->proto &&
	       a->source == b->source && a->start_ns == b->start_ns &&
	       a->duration_ns == b->duration_ns &&
	       strcmp(a->operation, b->operation) == 0 &&
	       strcmp(a->target, b->target) == 0 &&
	       strcmp(a->path, b->path) == 0 && a->status == b->status &&
	       strcmp(a->error, b->error) == 0 &&
	       a->cache_lookups == b->cache_lookups &&
	       a->cache_hits == b->cache_hits &&
	       strcmp(a->server_address, b->server_address) == 0 &&
	       a->server_port == b->server_port &&
	       a->peer.family == b->peer.family &&
	       memcmp(a->peer.addr, b->peer.addr, 16) == 0 &&
	       strcmp(a->service, b->service) == 0 &&
	       a->request_bytes == b->request_bytes &&
	       a->response_bytes == b->response_bytes;
}

bool fed_equal(const struct fed *a, const struct fed *b)
{
	size_t i;

	if (a->n != b->n || a->errors != b->errors)
		return false;
	for (i = 0; i < a->n; i++)
		if (!txn_equal(&a->txn[i], &b->txn[i]))
			return false;
	return true;
}

void feed_all_modes(const struct sonde_log_format_config *cfg, const char *buf,
		    size_t len, struct fed *out)
{
	static const enum feed_mode modes[] = { FEED_LINES, FEED_CRLF,
						FEED_BYTES, FEED_RANDOM };
	size_t m;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct sonde_log_format *fmt = NULL;
		char err[256] = "";
		struct fed f;

		if (sonde_log_format_new(cfg, &fmt, err, sizeof(err)) < 0)
			fail_msg("format %s: %s", cfg->format, err);
		feed(fmt, buf, len, modes[m], &f);
		sonde_log_format_free(fmt);
		if (m == 0) {
			*out = f;
			continue;
		}
		if (!fed_equal(out, &f))
			fail_msg("format %s: feed mode %zu differs (%zu txns/%u errors vs %zu/%u)",
				 cfg->format, m, out->n, out->errors, f.n, f.errors);
		fed_free(&f);
	}
}

unsigned fed_count_op(const struct fed *f, const char *op)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < f->n; i++)
		n += strcmp(f->txn[i].operation, op) == 0;
	return n;
}

unsigned fed_count_target(const struct fed *f, const char *target)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < f->n; i++)
		n += strcmp(f->txn[i].target, target) == 0;
	return n;
}

unsigned fed_count_status(const struct fed *f, int status)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < f->n; i++)
		n += f->txn[i].status == status;
	return n;
}

unsigned long long fed_sum_duration(const struct fed *f)
{
	unsigned long long s = 0;
	size_t i;

	for (i = 0; i < f->n; i++)
		s += f->txn[i].duration_ns;
	return s;
}
