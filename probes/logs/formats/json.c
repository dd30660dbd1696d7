// SPDX-License-Identifier: MIT
/*
 * JSON lines: one flat object per line, field names from the config.
 * A single-pass scanner of our own: no allocation, no recursion, values
 * are spans into the line; nested objects/arrays are skipped with a depth
 * counter. Anything that is not one complete object is -EINVAL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define JSON_MAX_DEPTH 64

enum jtype {
	J_STRING,
	J_NUMBER,
	J_LITERAL, /* true, false, null */
	J_NESTED,
};

enum jfield {
	F_METHOD,
	F_PATH,
	F_REQUEST,
	F_STATUS,
	F_DURATION,
	F_CACHE,
	F_HOST,
	F__COUNT,
};

struct json_state {
	char names[F__COUNT][SONDE_LOG_FIELD_LEN];
	int scale_exp; /* duration unit -> ns */
};

struct jspan {
	const char *s; /* for strings: inside the quotes, still escaped */
	size_t len;
	enum jtype type;
	bool escaped;
};

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* At an opening quote: the index after the closing one, or 0 on error. */
static size_t scan_string(const char *s, size_t len, size_t i, bool *escaped)
{
	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			*escaped = true;
			i++;
		}
	}
	return 0;
}

static size_t scan_nested(const char *s, size_t len, size_t i)
{
	unsigned depth = 0;
	bool esc;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			i = scan_string(s, len, i, &esc);
			if (!i)
				return 0;
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return 0;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return 0;
}

static size_t scan_value(const char *s, size_t len, size_t i, struct jspan *v)
{
	size_t start = i, end;

	v->escaped = false;
	if (i >= len)
		return 0;
	if (s[i] == '"') {
		end = scan_string(s, len, i, &v->escaped);
		if (!end)
			return 0;
		v->s = s + start + 1;
		v->len = end - start - 2;
		v->type = J_STRING;
		return end;
	}
	if (s[i] == '{' || s[i] == '[') {
		end = scan_nested(s, len, i);
		if (!end)
			return 0;
		v->type = J_NESTED;
		v->s = s + start;
		v->len = end - start;
		return end;
	}
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			   s[i] == '+' || s[i] == '.' || s[i] == 'e' ||
			   s[i] == 'E' || (s[i] >= 'a' && s[i] <= 'z')))
		i++;
	if (i == start)
		return 0;
	v->s = s + start;
	v->len = i - start;
	v->type = (s[start] >= 'a' && s[start] <= 'z') ? J_LITERAL : J_NUMBER;
	if (v->type == J_LITERAL &&
	    !(v->len == 4 && (memcmp(v->s, "true", 4) == 0 ||
			      memcmp(v->s, "null", 4) == 0)) &&
	    !(v->len == 5 && memcmp(v->s, "false", 5) == 0))
		return 0;
	return i;
}

/* JSON string escapes -> bytes (UTF-8 for \u); always NUL-terminates. */
static size_t json_unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i = 0, n = 0;

	if (outlen == 0)
		return 0;
	while (i < len && n + 1 < outlen) {
		char c = s[i++];
		unsigned cp = 0;
		int k;

		if (c != '\\' || i >= len) {
			out[n++] = c;
			continue;
		}
		c = s[i++];
		switch (c) {
		case 'n': out[n++] = '\n'; continue;
		case 't': out[n++] = '\t'; continue;
		case 'r': out[n++] = '\r'; continue;
		case 'b': out[n++] = '\b'; continue;
		case 'f': out[n++] = '\f'; continue;
		case 'u': break;
		default: out[n++] = c; continue;
		}
		for (k = 0; k < 4; k++) {
			if (i >= len || sonde_hexval(s[i]) < 0)
				break;
			cp = cp << 4 | (unsigned)sonde_hexval(s[i++]);
		}
		if (k < 4 || (cp >= 0xd800 && cp <= 0xdfff))
			cp = '?'; /* surrogate halves are not worth pairing here */
		if (cp < 0x80) {
			out[n++] = (char)cp;
		} else if (cp < 0x800 && n + 2 < outlen) {
			out[n++] = (char)(0xc0 | cp >> 6);
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp >= 0x800 && n + 3 < outlen) {
			out[n++] = (char)(0xe0 | cp >> 12);
			out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			break;
		}
	}
	out[n] = '\0';
	return n;
}

static int field_of(const struct json_state *st, const struct jspan *key)
{
	char buf[SONDE_LOG_FIELD_LEN];
	const char *k = key->s;
	size_t klen = key->len;
	int f;

	if (key->escaped) {
		klen = json_unescape(key->s, key->len, buf, sizeof(buf));
		k = buf;
	}
	for (f = 0; f < F__COUNT; f++)
		if (st->names[f][0] && strlen(st->names[f]) == klen &&
		    memcmp(st->names[f], k, klen) == 0)
			return f;
	return -1;
}

/* A value as text: strings unescaped into buf, numbers as they are. */
static size_t value_text(const struct jspan *v, char *buf, size_t buflen,
			 const char **ret)
{
	if (v->type == J_STRING && v->escaped) {
		*ret = buf;
		return json_unescape(v->s, v->len, buf, buflen);
	}
	*ret = v->s;
	return v->len;
}

static int json_line(void *state, const char *line, size_t len,
		     struct sonde_txn *txn)
{
	const struct json_state *st = state;
	struct jspan vals[F__COUNT];
	bool have[F__COUNT] = { false };
	char buf[SONDE_TXN_PATH_LEN * 2];
	const char *t;
	size_t i, n;
	uint64_t v;

	i = skip_ws(line, len, 0);
	if (i >= len || line[i] != '{')
		return -EINVAL;
	i = skip_ws(line, len, i + 1);
	if (i < len && line[i] == '}') {
		i++;
		goto end;
	}
	for (;;) {
		struct jspan key, val;
		int f;

		if (i >= len || line[i] != '"')
			return -EINVAL;
		i = scan_value(line, len, i, &key);
		if (!i)
			return -EINVAL;
		i = skip_ws(line, len, i);
		if (i >= len || line[i] != ':')
			return -EINVAL;
		i = skip_ws(line, len, i + 1);
		i = scan_value(line, len, i, &val);
		if (!i)
			return -EINVAL;
		f = field_of(st, &key);
		if (f >= 0 && !have[f]) {
			have[f] = true;
			vals[f] = val;
		}
		i = skip_ws(line, len, i);
		if (i < len && line[i] == ',') {
			i = skip_ws(line, len, i + 1);
			continue;
		}
		if (i < len && line[i] == '}') {
			i++;
			break;
		}
		return -EINVAL;
	}
end:
	if (skip_ws(line, len, i) != len)
		return -EINVAL;
	if (!have[F_STATUS] && !have[F_METHOD] && !have[F_REQUEST] &&
	    !have[F_PATH])
		return -EINVAL;

	txn->kind = SONDE_TXN_HTTP_SERVER;
	txn->proto = SONDE_PROTO_HTTP1;
	if (have[F_REQUEST] && vals[F_REQUEST].type == J_STRING) {
		n = value_text(&vals[F_REQUEST], buf, sizeof(buf), &t);
		sonde_logfmt_request_line(t, n, txn);
	}
	if (have[F_METHOD] && vals[F_METHOD].type == J_STRING) {
		n = value_text(&vals[F_METHOD], buf, sizeof(buf), &t);
		sonde_logfmt_set_method(txn, t, n);
	}
	if (have[F_PATH] && vals[F_PATH].type == J_STRING) {
		n = value_text(&vals[F_PATH], buf, sizeof(buf), &t);
		sonde_logfmt_set_path(txn, t, n);
	}
	if (have[F_STATUS] && vals[F_STATUS].type != J_LITERAL) {
		n = value_text(&vals[F_STATUS], buf, sizeof(buf), &t);
		if (sonde_logfmt_uint(t, n, &v) < 0 || v > 999)
			return -EINVAL;
		txn->status = (int)v;
	}
	if (have[F_DURATION] && vals[F_DURATION].type != J_LITERAL) {
		n = value_text(&vals[F_DURATION], buf, sizeof(buf), &t);
		if (!(n == 1 && t[0] == '-') &&
		    sonde_logfmt_decimal_scaled(t, n, st->scale_exp,
						&txn->duration_ns) < 0)
			return -EINVAL;
	}
	if (have[F_CACHE] && vals[F_CACHE].type == J_STRING) {
		n = value_text(&vals[F_CACHE], buf, sizeof(buf), &t);
		sonde_logfmt_cache_status(txn, t, n);
	}
	if (have[F_HOST] && vals[F_HOST].type == J_STRING) {
		n = value_text(&vals[F_HOST], buf, sizeof(buf), &t);
		sonde_logfmt_set_host(txn, t, n);
	}
	return 1;
}

static int json_new(const struct sonde_log_format_config *cfg,
		    void **ret_state, char *errbuf, size_t errlen)
{
	static const char *const defaults[F__COUNT] = {
		"method", "path", "request", "status", "duration",
		"cache_status", "host",
	};
	const char *names[F__COUNT] = {
		cfg->json.method, cfg->json.path, cfg->json.request,
		cfg->json.status, cfg->json.duration, cfg->json.cache_status,
		cfg->json.host,
	};
	const char *unit = cfg->json.duration_unit;
	struct json_state *st;
	bool any = false;
	int f;

	for (f = 0; f < F__COUNT; f++)
		any |= names[f][0] != '\0';
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (f = 0; f < F__COUNT; f++) {
		const char *n = any ? names[f] : defaults[f];

		SONDE_TXN_SET(st->names[f], n, strnlen(n, SONDE_LOG_FIELD_LEN));
	}
	if (!unit[0] || strcmp(unit, "s") == 0) {
		st->scale_exp = 9;
	} else if (strcmp(unit, "ms") == 0) {
		st->scale_exp = 6;
	} else if (strcmp(unit, "us") == 0) {
		st->scale_exp = 3;
	} else if (strcmp(unit, "ns") == 0) {
		st->scale_exp = 0;
	} else {
		snprintf(errbuf, errlen,
			 "json: duration_unit must be s, ms, us or ns");
		free(st);
		return -EINVAL;
	}
	*ret_state = st;
	return 0;
}

static void json_free(void *state)
{
	free(state);
}

const struct sonde_logfmt_ops sonde_logfmt_json = {
	.name = "json",
	.default_service = "http",
	.new = json_new,
	.free = json_free,
	.line = json_line,
};
