// SPDX-License-Identifier: MIT
/* Fixture loading and replay for the PostgreSQL and MySQL parser tests. */
#include "replay.h"
#include "hexdigit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_chunk(char *line, struct fx_chunk *c)
{
	char *ts, *total, *hex, *save = NULL;
	size_t n;

	c->flow = line[0] == '>' ? SONDE_FLOW_REQUEST : SONDE_FLOW_RESPONSE;
	ts = strtok_r(line + 1, " \n", &save);
	total = strtok_r(NULL, " \n", &save);
	hex = strtok_r(NULL, " \n", &save);
	if (!ts || !total)
		return -EINVAL;
	if (!hex)
		hex = "";
	n = strlen(hex);
	if (n % 2)
		return -EINVAL;
	c->ts = strtoull(ts, NULL, 10);
	c->len = n / 2;
	c->data = malloc(c->len + 1);
	if (!c->data)
		return -ENOMEM;
	for (size_t i = 0; i < c->len; i++) {
		int hi = sonde_hexval(hex[2 * i]);
		int lo = sonde_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		c->data[i] = (uint8_t)(hi << 4 | lo);
	}
	c->total = strcmp(total, "-") == 0 ? c->len : strtoull(total, NULL, 10);
	return c->total >= c->len ? 0 : -EINVAL;
}

static int parse_txn(char *line, struct fx_txn *t)
{
	char *f[5], *p = line + 2;

	for (int i = 0; i < 5; i++) {
		f[i] = p;
		p = strchr(p, i < 4 ? '|' : '\n');
		if (!p && i < 4)
			return -EINVAL;
		if (p)
			*p++ = '\0';
	}
	snprintf(t->op, sizeof(t->op), "%s", f[0]);
	snprintf(t->target, sizeof(t->target), "%s", f[1]);
	snprintf(t->error, sizeof(t->error), "%s", f[2]);
	t->start = strtoull(f[3], NULL, 10);
	t->duration = strtoull(f[4], NULL, 10);
	return 0;
}

int fx_load(const char *path, struct fixture *ret_fx)
{
	struct fixture fx = { 0 };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == '>' || line[0] == '<') {
			struct fx_chunk *c = realloc(fx.chunks, (fx.n_chunks + 1) * sizeof(*c));
			if (!c) {
				err = -ENOMEM;
				goto out;
			}
			fx.chunks = c;
			memset(&c[fx.n_chunks], 0, sizeof(*c));
			err = parse_chunk(line, &c[fx.n_chunks++]);
		} else if (line[0] == '=') {
			struct fx_txn *t = realloc(fx.txns, (fx.n_txns + 1) * sizeof(*t));
			if (!t) {
				err = -ENOMEM;
				goto out;
			}
			fx.txns = t;
			err = parse_txn(line, &t[fx.n_txns++]);
		} else if (line[0] == '%') {
			unsigned long long a, b, c;
			if (sscanf(line + 1, "%llu %llu %llu", &a, &b, &c) != 3)
				err = -EINVAL;
			fx.has_stats = true;
			fx.stats.parse_errors = a;
			fx.stats.desyncs = b;
			fx.stats.dropped = c;
		} else if (strncmp(line, "! eproto", 8) == 0) {
			fx.eproto = true;
		}
		if (err)
			goto out;
	}
out:
	free(line);
	fclose(f);
	if (err) {
		fx_free(&fx);
		return err;
	}
	*ret_fx = fx;
	return 0;
}

void fx_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n_chunks; i++)
		free(fx->chunks[i].data);
	free(fx->chunks);
	free(fx->txns);
	memset(fx, 0, sizeof(*fx));
}

static void collect(struct sonde_txn *txn, void *userdata)
{
	struct replay_out *out = userdata;

	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct sonde_txn *t = realloc(out->txns, cap * sizeof(*t));
		if (!t)
			abort();
		out->txns = t;
		out->cap = cap;
	}
	out->txns[out->n++] = *txn;
}

static int feed(const struct sonde_proto_ops *ops, void *st,
		const struct fx_chunk *c, size_t off, size_t n, size_t total,
		struct replay_out *out)
{
	return ops->feed(st, c->flow, c->data + off, n, total, c->ts, collect, out);
}

int replay_run(const struct sonde_proto_ops *ops, const struct fixture *fx,
	       enum replay_mode mode, size_t split_chunk, size_t split_at,
	       struct replay_out *out)
{
	void *st = calloc(1, ops->state_size);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -ENOMEM;
	ops->init(st);
	for (size_t i = 0; i < fx->n_chunks && rc == 0; i++) {
		const struct fx_chunk *c = &fx->chunks[i];
		size_t gap = c->total - c->len;

		if (mode == REPLAY_BYTES && c->len > 0) {
			for (size_t k = 0; k < c->len && rc == 0; k++)
				rc = feed(ops, st, c, k, 1, k + 1 == c->len ? 1 + gap : 1, out);
		} else if (mode == REPLAY_SPLIT && i == split_chunk && split_at > 0 &&
			   split_at < c->len) {
			rc = feed(ops, st, c, 0, split_at, split_at, out);
			if (rc == 0)
				rc = feed(ops, st, c, split_at, c->len - split_at,
					  c->len - split_at + gap, out);
		} else {
			rc = feed(ops, st, c, 0, c->len, c->total, out);
		}
	}
	out->rc = rc;
	out->stats = *ops->stats(st);
	sonde_proto_state_free(ops, st);
	return 0;
}

void replay_out_free(struct replay_out *out)
{
	free(out->txns);
	memset(out, 0, sizeof(*out));
}

bool replay_check(const struct fixture *fx, const struct replay_out *out,
		  char *why, size_t whylen)
{
	if (fx->eproto ? out->rc != -EPROTO : out->rc != 0) {
		snprintf(why, whylen, "feed returned %d, expected %d", out->rc,
			 fx->eproto ? -EPROTO : 0);
		return false;
	}
	if (out->n != fx->n_txns) {
		snprintf(why, whylen, "%zu txns, expected %zu", out->n, fx->n_txns);
		return false;
	}
	for (size_t i = 0; i < out->n; i++) {
		const struct sonde_txn *t = &out->txns[i];
		const struct fx_txn *e = &fx->txns[i];

		if (strcmp(t->operation, e->op) || strcmp(t->target, e->target) ||
		    strcmp(t->error, e->error) || t->start_ns != e->start ||
		    t->duration_ns != e->duration || t->kind != SONDE_TXN_DB) {
			snprintf(why, whylen,
				 "txn %zu: got %s|%s|%s|%" PRIu64 "|%" PRIu64
				 " expected %s|%s|%s|%" PRIu64 "|%" PRIu64,
				 i, t->operation, t->target, t->error, t->start_ns,
				 t->duration_ns, e->op, e->target, e->error,
				 e->start, e->duration);
			return false;
		}
	}
	if (fx->has_stats &&
	    (out->stats.parse_errors != fx->stats.parse_errors ||
	     out->stats.desyncs != fx->stats.desyncs ||
	     out->stats.dropped != fx->stats.dropped)) {
		snprintf(why, whylen,
			 "stats %" PRIu64 " %" PRIu64 " %" PRIu64
			 ", expected %" PRIu64 " %" PRIu64 " %" PRIu64,
			 out->stats.parse_errors, out->stats.desyncs,
			 out->stats.dropped, fx->stats.parse_errors,
			 fx->stats.desyncs, fx->stats.dropped);
		return false;
	}
	return true;
}
