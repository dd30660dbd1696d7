// SPDX-License-Identifier: MIT
/*
 * nginx access logs with any log_format, and the fixed "combined" layout;
 * apache.c reuses the matcher for Apache's layouts.
 *
 * A format compiles at _new into literal and variable tokens
 * (nginx_compile.c). A line is
 * matched left to right: a variable ends where the next literal begins
 * (escape-aware, since nginx escapes '"' inside values), or where a typed
 * scanner says it ends ($time_local holds a space, upstream lists hold
 * ", " and " : "). Ambiguous layouts get a small, bounded backtracking
 * budget; a line that still does not fit is -EINVAL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nginx_internal.h"

/* Access log lines are bounded by nginx's header buffers; longer is junk. */
#define NGX_MAX_LINE (64 * 1024)
#define NGX_BACKTRACK_BUDGET 64

/* ---- matching ---- */

/* Separators are a few bytes: a loop beats a call to memcmp. */
static inline bool same(const char *a, const char *b, size_t n)
{
	if (n > 8)
		return memcmp(a, b, n) == 0;
	for (size_t k = 0; k < n; k++)
		if (a[k] != b[k])
			return false;
	return true;
}

/*
 * First unescaped occurrence of the literal at or after from. memchr finds
 * candidates for the literal's first byte; when escapes matter (esc), a
 * backslash before the candidate escapes the byte after it, and the search
 * resumes past that byte. A literal that itself starts with a backslash is
 * matched byte by byte, as the escape rule would otherwise hide it. (A
 * plain byte loop was measured 35% slower over a whole combined line, and
 * memmem slower still for these two- and three-byte separators.)
 */
static const char *find_literal(bool esc, const char *line, size_t len,
				size_t from, const char *lit, size_t litlen)
{
	size_t i;

	if (esc && lit[0] == '\\') {
		for (i = from; i + litlen <= len; i++) {
			if (line[i] == lit[0] && memcmp(line + i, lit, litlen) == 0)
				return line + i;
			if (line[i] == '\\')
				i++;
		}
		return NULL;
	}
	i = from;
	while (i + litlen <= len) {
		const char *c = memchr(line + i, lit[0], len - i);
		const char *bs;

		if (!c)
			return NULL;
		if (esc && (bs = memchr(line + i, '\\', (size_t)(c - (line + i))))) {
			i = (size_t)(bs - line) + 2;
			continue;
		}
		if ((size_t)(c - line) + litlen > len)
			return NULL;
		if (same(c, lit, litlen))
			return c;
		i = (size_t)(c - line) + 1;
	}
	return NULL;
}

/* "0.001, 0.002 : -" */
static size_t scan_upstream_list(const char *s, size_t len)
{
	size_t i = 0, end;

	for (;;) {
		while (i < len && s[i] != ' ' && s[i] != ',')
			i++;
		end = i;
		if (i + 2 <= len && s[i] == ',' && s[i + 1] == ' ')
			i += 2;
		else if (i + 3 <= len && s[i] == ' ' && s[i + 1] == ':' &&
			 s[i + 2] == ' ')
			i += 3;
		else
			return end;
		if (i == len || s[i] == ' ' || s[i] == ',')
			return end;
	}
}

static size_t scan_number(const char *s, size_t len)
{
	size_t i = 0;

	if (len && s[0] == '-')
		return 1;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	return i;
}

/* Where a variable with a known shape ends, or false. */
static inline __attribute__((always_inline)) bool typed_end(enum ngx_var v, const char *s, size_t len,
		      size_t *ret_len)
{
	switch (v) {
	case V_TIME_LOCAL:
		/* the shape only: apply() parses it, once per distinct second */
		*ret_len = 26;
		return len >= 26 && s[2] == '/' && s[6] == '/' && s[11] == ':' &&
		       s[14] == ':' && s[17] == ':' && s[20] == ' ';
	case V_UPSTREAM_LIST:
		*ret_len = scan_upstream_list(s, len);
		return true;
	case V_STATUS:
		*ret_len = 3;
		return len >= 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
		       s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
	case V_REQUEST_TIME:
	case V_BODY_BYTES_SENT:
	case V_BYTES_SENT:
	case V_REQUEST_LENGTH:
	case V_MSEC:
	case V_APACHE_USEC:
	case V_APACHE_MSEC:
	case V_SERVER_PORT:
	case V_REMOTE_PORT:
		*ret_len = scan_number(s, len);
		return *ret_len > 0;
	default:
		return false;
	}
}

static bool is_strict(enum ngx_var v)
{
	return v == V_STATUS || v == V_TIME_LOCAL || v == V_REQUEST_TIME ||
	       v == V_MSEC;
}

static bool match_from(const struct ngx_prog *p, bool esc, unsigned ti,
		       const char *line, size_t len, size_t pos,
		       struct ngx_span *spans, unsigned *budget)
{
	const struct ngx_token *t, *next;
	size_t tlen = 0, from;
	bool typed;

	if (ti == p->n)
		return pos == len;
	t = &p->toks[ti];
	if (!t->is_var) {
		if (len - pos < t->lit_len ||
		    !same(line + pos, p->lits + t->lit_off, t->lit_len))
			return false;
		return match_from(p, esc, ti + 1, line, len, pos + t->lit_len, spans,
				  budget);
	}
	spans[ti].off = pos;
	if (ti + 1 == p->n) {
		spans[ti].len = len - pos;
		return true;
	}
	next = &p->toks[ti + 1];
	typed = typed_end(t->var, line + pos, len - pos, &tlen);
	if (typed) {
		spans[ti].len = tlen;
		if (match_from(p, esc, ti + 1, line, len, pos + tlen, spans, budget))
			return true;
	}
	/* Values nginx always writes in one shape need not be searched for:
	 * a mismatch there means an earlier variable took too much or too
	 * little, and backtracking tries its next split. */
	if (is_strict(t->var))
		return false;
	if (next->is_var) {
		const char *sp;

		/* Two variables back to back: only a space can end an untyped one. */
		if (typed)
			return false;
		sp = memchr(line + pos, ' ', len - pos);
		spans[ti].len = sp ? (size_t)(sp - (line + pos)) : len - pos;
		return match_from(p, esc, ti + 1, line, len, pos + spans[ti].len,
				  spans, budget);
	}
	from = pos;
	while (from <= len) {
		const char *found = find_literal(esc, line, len, from,
						 p->lits + next->lit_off,
						 next->lit_len);
		size_t at;

		if (!found)
			return false;
		at = (size_t)(found - line);
		from = at + 1;
		if (typed && at == pos + tlen)
			continue;
		if (*budget == 0)
			return false;
		(*budget)--;
		spans[ti].len = at - pos;
		if (match_from(p, esc, ti + 1, line, len, at, spans, budget))
			return true;
	}
	return false;
}

/*
 * The first path match_from would try, without recursion or backtracking:
 * every variable takes its typed length or ends at the first separator.
 * Nearly every real line matches on that path; match_from runs only when
 * it fails, and then reaches the same answer as it would have alone,
 * since depth-first it tries this path first.
 */
static bool match_greedy(const struct ngx_prog *p, bool esc, const char *line,
			 size_t len, struct ngx_span *spans)
{
	size_t pos = 0, tlen;

	for (unsigned ti = 0; ti < p->n; ti++) {
		const struct ngx_token *t = &p->toks[ti], *next;
		const char *found;

		if (!t->is_var) {
			if (len - pos < t->lit_len ||
			    !same(line + pos, p->lits + t->lit_off, t->lit_len))
				return false;
			pos += t->lit_len;
			continue;
		}
		spans[ti].off = pos;
		if (ti + 1 == p->n) {
			spans[ti].len = len - pos;
			return true;
		}
		if (typed_end(t->var, line + pos, len - pos, &tlen)) {
			spans[ti].len = tlen;
			pos += tlen;
			continue;
		}
		if (is_strict(t->var))
			return false;
		next = &p->toks[ti + 1];
		if (next->is_var) {
			found = memchr(line + pos, ' ', len - pos);
			spans[ti].len = found ? (size_t)(found - (line + pos)) : len - pos;
		} else {
			found = find_literal(esc, line, len, pos, p->lits + next->lit_off,
					     next->lit_len);
			if (!found)
				return false;
			spans[ti].len = (size_t)(found - (line + pos));
		}
		pos += spans[ti].len;
	}
	return pos == len;
}

/* Undoes nginx (\xHH), JSON (\" \uXXXX) and Apache (\" \\) escaping. */
static size_t unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i = 0, n = 0;

	while (i < len && n + 1 < outlen) {
		char c = s[i++];

		if (c == '\\' && i < len) {
			char e = s[i++];
			int hi, lo;

			if (e == 'x' && i + 2 <= len && (hi = sonde_hexval(s[i])) >= 0 &&
			    (lo = sonde_hexval(s[i + 1])) >= 0) {
				c = (char)(hi << 4 | lo);
				i += 2;
			} else if (e == 'u' && i + 4 <= len) {
				int v = 0, k;

				for (k = 0; k < 4 && v >= 0; k++) {
					int d = sonde_hexval(s[i + k]);

					v = d < 0 ? -1 : v << 4 | d;
				}
				if (v < 0) {
					c = '?';
				} else {
					c = v < 0x80 ? (char)v : '?';
					i += 4;
				}
			} else {
				c = e == 'n' ? '\n' : e == 't' ? '\t' :
				    e == 'r' ? '\r' : e;
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

static bool is_dash(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '-');
}

/* $time_local, memoised: a busy log repeats the same second. */
static int time_local(struct ngx_state *st, const char *s, size_t len,
		      uint64_t *ret_ns)
{
	if (len == sizeof(st->clf_last) && st->clf_last_ns &&
	    memcmp(s, st->clf_last, len) == 0) {
		*ret_ns = st->clf_last_ns;
		return 0;
	}
	if (sonde_logfmt_time_clf(s, len, ret_ns) < 0)
		return -EINVAL;
	if (len == sizeof(st->clf_last)) {
		memcpy(st->clf_last, s, len);
		st->clf_last_ns = *ret_ns;
	}
	return 0;
}

/* The span of a variable's first use, or NULL when the format lacks it. */
static inline const struct ngx_span *span_of(const struct ngx_prog *p,
					     const struct ngx_span *spans,
					     enum ngx_var v)
{
	return p->var_tok[v] == NGX_NO_TOKEN ? NULL : &spans[p->var_tok[v]];
}

/* Fills txn from matched spans; -EINVAL when a key field is malformed. */
static int apply(struct ngx_state *st, const struct ngx_prog *p,
		 const char *line, const struct ngx_span *spans,
		 struct sonde_txn *txn)
{
	char buf[SONDE_TXN_PATH_LEN * 2];
	uint64_t v, end_ns = 0, dur = 0;
	bool have_dur = false;

#define sp_var(x) span_of(p, spans, (x))

#define VAL(x) (line + sp_var(x)->off), (sp_var(x)->len)
	txn->kind = SONDE_TXN_HTTP_SERVER;
	txn->proto = SONDE_PROTO_HTTP1;
	if (sp_var(V_STATUS)) {
		if (sp_var(V_STATUS)->len != 3 ||
		    sonde_logfmt_uint(VAL(V_STATUS), &v) < 0)
			return -EINVAL;
		txn->status = (int)v;
	}
	if (sp_var(V_REQUEST)) {
		if (memchr(line + sp_var(V_REQUEST)->off, '\\',
			   sp_var(V_REQUEST)->len)) {
			size_t n = unescape(VAL(V_REQUEST), buf, sizeof(buf));

			sonde_logfmt_request_line(buf, n, txn);
		} else {
			sonde_logfmt_request_line(VAL(V_REQUEST), txn);
		}
	}
	if (sp_var(V_REQUEST_METHOD))
		sonde_logfmt_set_method(txn, VAL(V_REQUEST_METHOD));
	if (sp_var(V_REQUEST_URI) || (sp_var(V_URI) && !txn->path[0])) {
		enum ngx_var pv = sp_var(V_REQUEST_URI) ? V_REQUEST_URI : V_URI;
		size_t n = unescape(VAL(pv), buf, sizeof(buf));

		sonde_logfmt_set_path(txn, buf, n);
	}
	if (sp_var(V_REQUEST_TIME) && !is_dash(VAL(V_REQUEST_TIME))) {
		if (sonde_logfmt_decimal_scaled(VAL(V_REQUEST_TIME), 9, &dur) < 0)
			return -EINVAL;
		have_dur = true;
	}
	if (!have_dur && sp_var(V_APACHE_USEC) &&
	    sonde_logfmt_decimal_scaled(VAL(V_APACHE_USEC), 3, &dur) == 0)
		have_dur = true;
	if (!have_dur && sp_var(V_APACHE_MSEC) &&
	    sonde_logfmt_decimal_scaled(VAL(V_APACHE_MSEC), 6, &dur) == 0)
		have_dur = true;
	txn->duration_ns = dur;
	if (sp_var(V_UPSTREAM_CACHE_STATUS))
		sonde_logfmt_cache_status(txn, VAL(V_UPSTREAM_CACHE_STATUS));
	if (sp_var(V_BYTES_SENT) &&
	    sonde_logfmt_uint(VAL(V_BYTES_SENT), &v) == 0)
		txn->response_bytes = v;
	else if (sp_var(V_BODY_BYTES_SENT) &&
		 sonde_logfmt_uint(VAL(V_BODY_BYTES_SENT), &v) == 0)
		txn->response_bytes = v;
	if (sp_var(V_REQUEST_LENGTH) &&
	    sonde_logfmt_uint(VAL(V_REQUEST_LENGTH), &v) == 0)
		txn->request_bytes = v;
	if (sp_var(V_HOST) && !is_dash(VAL(V_HOST)))
		sonde_logfmt_set_host(txn, VAL(V_HOST));
	else if (sp_var(V_HTTP_HOST) && !is_dash(VAL(V_HTTP_HOST)))
		sonde_logfmt_set_host(txn, VAL(V_HTTP_HOST));
	else if (sp_var(V_SERVER_NAME) && !is_dash(VAL(V_SERVER_NAME)))
		sonde_logfmt_set_host(txn, VAL(V_SERVER_NAME));
	if (sp_var(V_SERVER_PORT) &&
	    sonde_logfmt_uint(VAL(V_SERVER_PORT), &v) == 0 && v <= 65535)
		txn->server_port = (uint16_t)v;
	if (sp_var(V_REMOTE_ADDR))
		sonde_logfmt_set_addr(&txn->peer, VAL(V_REMOTE_ADDR));
	if (sp_var(V_REMOTE_PORT) &&
	    sonde_logfmt_uint(VAL(V_REMOTE_PORT), &v) == 0 && v <= 65535)
		txn->peer.port = (uint16_t)v;
	/* nginx stamps the log at the end of the request. */
	if (sp_var(V_MSEC))
		(void)sonde_logfmt_decimal_scaled(VAL(V_MSEC), 9, &end_ns);
	if (!end_ns && sp_var(V_TIME_ISO8601))
		(void)sonde_logfmt_time_iso(VAL(V_TIME_ISO8601), &end_ns);
	if (!end_ns && sp_var(V_TIME_LOCAL) &&
	    time_local(st, VAL(V_TIME_LOCAL), &end_ns) < 0)
		return -EINVAL;
	if (end_ns >= dur)
		txn->start_ns = end_ns - dur;
#undef VAL
#undef sp_var
	return 0;
}

int sonde_logfmt_ngx_line(void *state, const char *line, size_t len,
		    struct sonde_txn *txn)
{
	struct ngx_state *st = state;
	struct ngx_span spans[NGX_MAX_TOKENS];
	unsigned i, budget;
	bool bs;

	if (len > NGX_MAX_LINE)
		return -EINVAL;
	/* most lines hold no backslash: then no escape needs minding */
	bs = memchr(line, '\\', len) != NULL;
	for (i = 0; i < st->n_progs; i++) {
		const struct ngx_prog *p = &st->progs[i];
		bool esc = bs && p->escape != ESC_NONE;

		budget = NGX_BACKTRACK_BUDGET;
		if (match_greedy(p, esc, line, len, spans) ||
		    match_from(p, esc, 0, line, len, 0, spans, &budget))
			return apply(st, &st->progs[i], line, spans, txn) == 0 ?
				       1 : -EINVAL;
	}
	return -EINVAL;
}

int sonde_logfmt_ngx_new_state(const char *const *fmts, unsigned n,
		     const struct sonde_log_format_config *cfg,
		     void **ret_state, char *errbuf, size_t errlen)
{
	struct ngx_state *st;
	unsigned i;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (fmts[i])
			r = sonde_logfmt_ngx_compile(&st->progs[i], fmts[i], strlen(fmts[i]),
				    errbuf, errlen);
		else
			r = sonde_logfmt_ngx_compile_conf(&st->progs[i], cfg->log_format,
					  errbuf, errlen);
		if (r < 0)
			goto err;
	}
	st->n_progs = n;
	*ret_state = st;
	return 0;
err:
	free(st);
	return r;
}

static int ngx_new(const struct sonde_log_format_config *cfg, void **ret_state,
		   char *errbuf, size_t errlen)
{
	static const char *const fmts[] = { NULL };

	return sonde_logfmt_ngx_new_state(fmts, 1, cfg, ret_state, errbuf, errlen);
}

static int combined_new(const struct sonde_log_format_config *cfg,
			void **ret_state, char *errbuf, size_t errlen)
{
	/* Distributions append fields ($http_x_forwarded_for) to combined. */
	static const char *const fmts[] = { FMT_COMBINED,
					    FMT_COMBINED " $sonde_rest" };

	return sonde_logfmt_ngx_new_state(fmts, 2, cfg, ret_state, errbuf, errlen);
}

void sonde_logfmt_ngx_free(void *state)
{
	free(state);
}

const struct sonde_logfmt_ops sonde_logfmt_nginx = {
	.name = "nginx",
	.default_service = "nginx",
	.new = ngx_new,
	.free = sonde_logfmt_ngx_free,
	.line = sonde_logfmt_ngx_line,
};

const struct sonde_logfmt_ops sonde_logfmt_combined = {
	.name = "combined",
	.default_service = "nginx",
	.new = combined_new,
	.free = sonde_logfmt_ngx_free,
	.line = sonde_logfmt_ngx_line,
};
