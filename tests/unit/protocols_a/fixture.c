// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "hexdigit.h"

#define FX_MAX_TXNS 1024 /* a full Redis pending queue (512) and more */

size_t fx_unescape(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n) {
		char c = s[i++];

		if (c != '\\' || i >= n) {
			if (o < cap)
				out[o++] = (uint8_t)c;
			continue;
		}
		c = s[i++];
		switch (c) {
		case 'r': c = '\r'; break;
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case '0': c = '\0'; break;
		case 'x':
			if (i + 1 < n + 1 && sonde_hexval(s[i]) >= 0 &&
			    sonde_hexval(s[i + 1]) >= 0) {
				c = (char)(sonde_hexval(s[i]) << 4 |
					   sonde_hexval(s[i + 1]));
				i += 2;
			}
			break;
		case '[': {
			size_t count = 0;

			while (i < n && s[i] >= '0' && s[i] <= '9')
				count = count * 10 + (size_t)(s[i++] - '0');
			if (i < n && s[i] == ']')
				i++;
			if (i < n) {
				char r = s[i++];

				while (count-- > 0 && o < cap)
					out[o++] = (uint8_t)r;
			}
			continue;
		}
		default: break;
		}
		if (o < cap)
			out[o++] = (uint8_t)c;
	}
	return o;
}

static const struct sonde_proto_ops *proto_by_name(const char *name)
{
	if (strcmp(name, "http1") == 0)
		return &sonde_proto_http1;
	if (strcmp(name, "redis") == 0)
		return &sonde_proto_redis;
	if (strcmp(name, "memcached") == 0)
		return &sonde_proto_memcached;
	return NULL;
}

static void parse_kv(const char *line, struct fx_expect *e)
{
	const char *p = line;

	e->n = 0;
	while (*p && e->n < FX_MAX_KEYS) {
		const char *k, *eq, *v;
		size_t kl, vl;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		k = p;
		eq = strchr(k, '=');
		if (!eq)
			break;
		kl = (size_t)(eq - k);
		v = eq + 1;
		p = v;
		while (*p && *p != ' ')
			p++;
		vl = (size_t)(p - v);
		if (kl >= sizeof(e->key[0]))
			kl = sizeof(e->key[0]) - 1;
		if (vl >= sizeof(e->val[0]))
			vl = sizeof(e->val[0]) - 1;
		memcpy(e->key[e->n], k, kl);
		e->key[e->n][kl] = '\0';
		memcpy(e->val[e->n], v, vl);
		e->val[e->n][vl] = '\0';
		e->n++;
	}
}

int fx_load(const char *path, struct fx **ret_fx)
{
	FILE *f = fopen(path, "r");
	struct fx *fx = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t ts = 0;
	int err = 0;

	if (!f)
		return -errno;
	fx = calloc(1, sizeof(*fx));
	if (!fx) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(fx->name, sizeof(fx->name), "%s", path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '>' || line[0] == '<') {
			struct fx_chunk *c;
			char *bar = strchr(line, '|'), *a;

			if (!bar) {
				err = -EINVAL;
				goto out;
			}
			*bar = '\0';
			fx->chunks = realloc(fx->chunks, (fx->n_chunks + 1) * sizeof(*c));
			c = &fx->chunks[fx->n_chunks++];
			memset(c, 0, sizeof(*c));
			c->flow = line[0] == '>' ? SONDE_FLOW_REQUEST : SONDE_FLOW_RESPONSE;
			ts += 1000;
			for (a = strtok(line + 1, " "); a; a = strtok(NULL, " ")) {
				if (a[0] == '@')
					ts = strtoull(a + 1, NULL, 10);
				else if (a[0] == '+')
					c->gap = strtoull(a + 1, NULL, 10);
			}
			c->ts = ts;
			c->data = malloc(strlen(bar + 1) * 1024 + 16);
			c->len = fx_unescape(bar + 1, strlen(bar + 1), c->data,
					     strlen(bar + 1) * 1024 + 16);
		} else if (line[0] == '=') {
			fx->expect = realloc(fx->expect,
					     (fx->n_expect + 1) * sizeof(*fx->expect));
			parse_kv(line + 1, &fx->expect[fx->n_expect++]);
		} else if (strncmp(line, "proto ", 6) == 0) {
			fx->ops = proto_by_name(line + 6);
		} else if (strcmp(line, "nosplit") == 0) {
			fx->nosplit = true;
		} else if (strcmp(line, "eproto") == 0) {
			fx->eproto = true;
		} else if (strncmp(line, "stats", 5) == 0) {
			struct fx_expect e;
			unsigned i;

			parse_kv(line + 5, &e);
			fx->has_stats = true;
			for (i = 0; i < e.n; i++) {
				uint64_t v = strtoull(e.val[i], NULL, 10);

				if (strcmp(e.key[i], "parse_errors") == 0)
					fx->stats.parse_errors = v;
				else if (strcmp(e.key[i], "desyncs") == 0)
					fx->stats.desyncs = v;
				else if (strcmp(e.key[i], "dropped") == 0)
					fx->stats.dropped = v;
			}
		} else {
			err = -EINVAL;
			goto out;
		}
	}
	if (!fx->ops)
		err = -EINVAL;
out:
	free(line);
	fclose(f);
	if (err) {
		fx_free(fx);
		return err;
	}
	*ret_fx = fx;
	return 0;
}

void fx_free(struct fx *fx)
{
	size_t i;

	if (!fx)
		return;
	for (i = 0; i < fx->n_chunks; i++)
		free(fx->chunks[i].data);
	free(fx->chunks);
	free(fx->expect);
	free(fx);
}

struct collect {
	size_t n;
	struct sonde_txn txns[FX_MAX_TXNS];
};

static void collect_emit(struct sonde_txn *txn, void *userdata)
{
	struct collect *c = userdata;

	if (c->n < FX_MAX_TXNS)
		c->txns[c->n] = *txn;
	c->n++;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static bool field(const struct sonde_txn *t, const char *key, char *out, size_t cap)
{
	char buf[64];

	if (strcmp(key, "op") == 0)
		snprintf(out, cap, "%s", t->operation);
	else if (strcmp(key, "status") == 0)
		snprintf(out, cap, "%d", t->status);
	else if (strcmp(key, "err") == 0)
		snprintf(out, cap, "%s", t->error);
	else if (strcmp(key, "lookups") == 0)
		snprintf(out, cap, "%" PRIu32, t->cache_lookups);
	else if (strcmp(key, "hits") == 0)
		snprintf(out, cap, "%" PRIu32, t->cache_hits);
	else if (strcmp(key, "start") == 0)
		snprintf(out, cap, "%" PRIu64, t->start_ns);
	else if (strcmp(key, "dur") == 0)
		snprintf(out, cap, "%" PRIu64, t->duration_ns);
	else if (strcmp(key, "path") == 0)
		snprintf(out, cap, "%s", t->path);
	else if (strcmp(key, "host") == 0)
		snprintf(out, cap, "%s", t->server_address);
	else if (strcmp(key, "port") == 0)
		snprintf(out, cap, "%u", t->server_port);
	else if (strcmp(key, "reqb") == 0)
		snprintf(out, cap, "%" PRIu64, t->request_bytes);
	else if (strcmp(key, "respb") == 0)
		snprintf(out, cap, "%" PRIu64, t->response_bytes);
	else if (strcmp(key, "trace") == 0) {
		if (!t->has_trace)
			snprintf(out, cap, "none");
		else {
			hex(t->trace_id, 16, buf);
			snprintf(out, cap, "%s", buf);
		}
	} else if (strcmp(key, "span") == 0) {
		hex(t->parent_span_id, 8, buf);
		snprintf(out, cap, "%s", buf);
	} else if (strcmp(key, "tflags") == 0)
		snprintf(out, cap, "%u", t->trace_flags);
	else if (strcmp(key, "kind") == 0)
		snprintf(out, cap, "%s", sonde_txn_kind_name(t->kind));
	else
		return false;
	return true;
}

struct piece {
	enum sonde_flow flow;
	uint64_t ts;
	const uint8_t *data;
	size_t len;
	size_t total;
};

/* Feeds pieces; returns false with err set on a mismatch. */
static bool replay(const struct fx *fx, const struct piece *pieces, size_t n,
		   const char *mode, char *err, size_t errlen)
{
	struct collect *c = calloc(1, sizeof(*c));
	void *state = calloc(1, fx->ops->state_size);
	const struct sonde_proto_stats *st;
	bool ok = false, eproto = false;
	size_t i;
	unsigned k;

	if (!c || !state) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fx->ops->init(state);
	for (i = 0; i < n; i++) {
		int r = fx->ops->feed(state, pieces[i].flow, pieces[i].data,
				      pieces[i].len, pieces[i].total, pieces[i].ts,
				      collect_emit, c);

		if (r == -EPROTO) {
			eproto = true;
			break;
		}
		if (r != 0) {
			snprintf(err, errlen, "%s: feed returned %d", mode, r);
			goto out;
		}
	}
	if (eproto != fx->eproto) {
		snprintf(err, errlen, "%s: eproto %d, expected %d", mode, eproto,
			 fx->eproto);
		goto out;
	}
	if (c->n != fx->n_expect) {
		int w = snprintf(err, errlen, "%s: %zu transactions, expected %zu:",
				 mode, c->n, fx->n_expect);

		for (i = 0; i < c->n && i < FX_MAX_TXNS && w > 0 && (size_t)w < errlen; i++)
			w += snprintf(err + w, errlen - (size_t)w, " [%s %d %u/%u]",
				      c->txns[i].operation, c->txns[i].status,
				      c->txns[i].cache_hits, c->txns[i].cache_lookups);
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		const struct fx_expect *e = &fx->expect[i];

		for (k = 0; k < e->n; k++) {
			char got[300];

			if (!field(&c->txns[i], e->key[k], got, sizeof(got))) {
				snprintf(err, errlen, "unknown key %s", e->key[k]);
				goto out;
			}
			if (strcmp(got, e->val[k]) != 0) {
				snprintf(err, errlen, "%s: txn %zu (%s) %s=%s, expected %s",
					 mode, i, c->txns[i].operation, e->key[k], got,
					 e->val[k]);
				goto out;
			}
		}
	}
	st = fx->ops->stats(state);
	if (fx->has_stats &&
	    (st->parse_errors != fx->stats.parse_errors ||
	     st->desyncs != fx->stats.desyncs || st->dropped != fx->stats.dropped)) {
		snprintf(err, errlen,
			 "%s: stats parse_errors=%" PRIu64 " desyncs=%" PRIu64
			 " dropped=%" PRIu64 ", expected %" PRIu64 "/%" PRIu64 "/%" PRIu64,
			 mode, st->parse_errors, st->desyncs, st->dropped,
			 fx->stats.parse_errors, fx->stats.desyncs, fx->stats.dropped);
		goto out;
	}
	ok = true;
out:
	sonde_proto_state_free(fx->ops, state);
	free(c);
	return ok;
}

static void whole(const struct fx *fx, struct piece *p)
{
	size_t i;

	for (i = 0; i < fx->n_chunks; i++) {
		p[i].flow = fx->chunks[i].flow;
		p[i].ts = fx->chunks[i].ts;
		p[i].data = fx->chunks[i].data;
		p[i].len = fx->chunks[i].len;
		p[i].total = fx->chunks[i].len + fx->chunks[i].gap;
	}
}

bool fx_run(const struct fx *fx, char *err, size_t errlen)
{
	size_t n = fx->n_chunks, i, k, bytes = 0, m;
	struct piece *p;
	bool ok = false;
	char mode[64];

	for (i = 0; i < n; i++)
		bytes += fx->chunks[i].len;
	p = calloc(n + bytes + 2, sizeof(*p));
	if (!p)
		return false;
	whole(fx, p);
	if (!replay(fx, p, n, "whole", err, errlen))
		goto out;
	if (fx->nosplit) {
		ok = true;
		goto out;
	}
	/* Each chunk split in two at every byte. */
	for (i = 0; i < n; i++) {
		const struct fx_chunk *c = &fx->chunks[i];

		for (k = 1; k < c->len; k++) {
			whole(fx, p);
			memmove(p + i + 1, p + i, (n - i) * sizeof(*p));
			p[i].len = k;
			p[i].total = k;
			p[i + 1].data = c->data + k;
			p[i + 1].len = c->len - k;
			p[i + 1].total = c->len - k + c->gap;
			snprintf(mode, sizeof(mode), "split chunk %zu at %zu", i, k);
			if (!replay(fx, p, n + 1, mode, err, errlen))
				goto out;
		}
	}
	/* Byte by byte. */
	m = 0;
	for (i = 0; i < n; i++) {
		const struct fx_chunk *c = &fx->chunks[i];

		for (k = 0; k < c->len || (k == 0 && c->len == 0); k++) {
			bool last = k + 1 >= c->len;

			p[m].flow = c->flow;
			p[m].ts = c->ts;
			p[m].data = c->data + k;
			p[m].len = c->len ? 1 : 0;
			p[m].total = p[m].len + (last ? c->gap : 0);
			m++;
		}
	}
	if (!replay(fx, p, m, "byte by byte", err, errlen))
		goto out;
	ok = true;
out:
	free(p);
	return ok;
}
