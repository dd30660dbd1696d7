// SPDX-License-Identifier: MIT
#include "prom_negotiate.h"

#include <string.h>
#include <strings.h>

struct span {
	const char *p;
	size_t n;
};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct span trim(struct span s)
{
	while (s.n && is_ows(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_ows(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Splits *rest at the first sep outside double quotes. */
static struct span next_item(struct span *rest, char sep)
{
	struct span item = { rest->p, 0 };
	bool quoted = false;

	while (item.n < rest->n) {
		char c = rest->p[item.n];

		if (c == '"')
			quoted = !quoted;
		else if (c == '\\' && quoted && item.n + 1 < rest->n)
			item.n++;
		else if (c == sep && !quoted)
			break;
		item.n++;
	}
	if (item.n < rest->n) {
		rest->p += item.n + 1;
		rest->n -= item.n + 1;
	} else {
		rest->p += rest->n;
		rest->n = 0;
	}
	return trim(item);
}

/*
 * RFC 7231 qvalue: "0", "0.xxx", "1", "1.000"; returns thousandths, or -1
 * when malformed (the element is then ignored, as the RFC suggests).
 */
static int parse_q(struct span v)
{
	int q, scale = 100;
	size_t i;

	if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"') {
		v.p++;
		v.n -= 2;
	}
	if (v.n == 0 || (v.p[0] != '0' && v.p[0] != '1'))
		return -1;
	q = (v.p[0] - '0') * 1000;
	if (v.n == 1)
		return q;
	if (v.p[1] != '.' || v.n > 5)
		return -1;
	for (i = 2; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		q += (v.p[i] - '0') * scale;
		scale /= 10;
	}
	return q > 1000 ? -1 : q;
}

struct media {
	struct span type;
	struct span version; /* n == 0: absent */
	int q;		     /* thousandths; -1: malformed */
};

static struct media parse_media(struct span item)
{
	struct media m = { .q = 1000 };
	struct span rest = item;

	m.type = next_item(&rest, ';');
	while (rest.n) {
		struct span param = next_item(&rest, ';');
		const char *eq = memchr(param.p, '=', param.n);
		struct span name, value;

		if (!eq)
			continue;
		name = trim((struct span){ param.p, (size_t)(eq - param.p) });
		value = trim((struct span){ eq + 1, param.n - (size_t)(eq - param.p) - 1 });
		if (span_eq(name, "q"))
			m.q = parse_q(value);
		else if (span_eq(name, "version"))
			m.version = value;
	}
	return m;
}

static bool version_is(struct span v, const char *prefix)
{
	size_t n = strlen(prefix);

	if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"') {
		v.p++;
		v.n -= 2;
	}
	return v.n >= n && memcmp(v.p, prefix, n) == 0;
}

/* Most specific match wins its q (RFC 7231 5.3.2); ties keep the higher q. */
static void consider(int spec, int q, int *best_spec, int *best_q)
{
	if (spec > *best_spec || (spec == *best_spec && q > *best_q)) {
		*best_spec = spec;
		*best_q = q;
	}
}

enum sonde_prom_fmt sonde_prom_negotiate_format(const char *accept, size_t len)
{
	struct span rest = { accept, accept ? len : 0 };
	int om_spec = 0, om_q = 0, text_spec = 0, text_q = 0;

	while (rest.n) {
		struct media m = parse_media(next_item(&rest, ','));

		if (m.q < 0 || m.type.n == 0)
			continue;
		if (span_eq(m.type, "application/openmetrics-text")) {
			if (!m.version.n || version_is(m.version, "1."))
				consider(3, m.q, &om_spec, &om_q);
		} else if (span_eq(m.type, "text/plain")) {
			if (!m.version.n || version_is(m.version, "0.0.4"))
				consider(3, m.q, &text_spec, &text_q);
		} else if (span_eq(m.type, "text/*")) {
			consider(2, m.q, &text_spec, &text_q);
		} else if (span_eq(m.type, "*/*")) {
			consider(1, m.q, &text_spec, &text_q);
		}
	}
	if (om_spec == 3 && om_q > 0 && om_q >= text_q)
		return SONDE_PROM_OPENMETRICS;
	return SONDE_PROM_TEXT;
}

bool sonde_prom_accepts_gzip(const char *accept_encoding, size_t len)
{
	struct span rest = { accept_encoding, accept_encoding ? len : 0 };
	int gzip_q = -1, star_q = -1;

	while (rest.n) {
		struct media m = parse_media(next_item(&rest, ','));

		if (m.q < 0)
			continue;
		if (span_eq(m.type, "gzip") || span_eq(m.type, "x-gzip")) {
			if (m.q > gzip_q)
				gzip_q = m.q;
		} else if (span_eq(m.type, "*")) {
			if (m.q > star_q)
				star_q = m.q;
		}
	}
	if (gzip_q >= 0)
		return gzip_q > 0;
	return star_q > 0;
}
