// SPDX-License-Identifier: MIT
/*
 * nginx log_format -> tokens: literals and variables, with the variables
 * this agent reads mapped to ids and every other one kept as a field to
 * match and skip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nginx_internal.h"

static const struct {
	const char *name;
	enum ngx_var var;
} ngx_vars[] = {
	{ "request", V_REQUEST },
	{ "request_method", V_REQUEST_METHOD },
	{ "request_uri", V_REQUEST_URI },
	{ "uri", V_URI },
	{ "document_uri", V_URI },
	{ "status", V_STATUS },
	{ "request_time", V_REQUEST_TIME },
	{ "upstream_response_time", V_UPSTREAM_LIST },
	{ "upstream_connect_time", V_UPSTREAM_LIST },
	{ "upstream_header_time", V_UPSTREAM_LIST },
	{ "upstream_status", V_UPSTREAM_LIST },
	{ "upstream_addr", V_UPSTREAM_LIST },
	{ "upstream_bytes_received", V_UPSTREAM_LIST },
	{ "upstream_bytes_sent", V_UPSTREAM_LIST },
	{ "upstream_response_length", V_UPSTREAM_LIST },
	{ "upstream_cache_status", V_UPSTREAM_CACHE_STATUS },
	{ "body_bytes_sent", V_BODY_BYTES_SENT },
	{ "bytes_sent", V_BYTES_SENT },
	{ "request_length", V_REQUEST_LENGTH },
	{ "host", V_HOST },
	{ "http_host", V_HTTP_HOST },
	{ "server_name", V_SERVER_NAME },
	{ "server_port", V_SERVER_PORT },
	{ "remote_addr", V_REMOTE_ADDR },
	{ "remote_port", V_REMOTE_PORT },
	{ "time_local", V_TIME_LOCAL },
	{ "time_iso8601", V_TIME_ISO8601 },
	{ "msec", V_MSEC },
	{ "sonde_apache_usec", V_APACHE_USEC },
	{ "sonde_apache_msec", V_APACHE_MSEC },
};

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static enum ngx_var lookup_var(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(ngx_vars) / sizeof(ngx_vars[0]); i++)
		if (strlen(ngx_vars[i].name) == len &&
		    memcmp(ngx_vars[i].name, name, len) == 0)
			return ngx_vars[i].var;
	return V_SKIP;
}

static int add_literal(struct ngx_prog *p, const char *s, size_t len)
{
	struct ngx_token *last = p->n ? &p->toks[p->n - 1] : NULL;

	if (len == 0)
		return 0;
	if (p->lits_len + len > sizeof(p->lits))
		return -E2BIG;
	memcpy(p->lits + p->lits_len, s, len);
	/* Adjacent literal pieces merge, so a literal is always one search. */
	if (last && !last->is_var &&
	    last->lit_off + last->lit_len == p->lits_len) {
		last->lit_len += (unsigned)len;
	} else {
		if (p->n == NGX_MAX_TOKENS)
			return -E2BIG;
		p->toks[p->n++] = (struct ngx_token){
			.is_var = false,
			.lit_off = p->lits_len,
			.lit_len = (unsigned)len,
		};
	}
	p->lits_len += (unsigned)len;
	return 0;
}

int sonde_logfmt_ngx_compile(struct ngx_prog *p, const char *fmt, size_t len,
		   char *errbuf, size_t errlen)
{
	size_t i = 0;
	int r;

	while (i < len) {
		size_t start = i, nstart, nlen;

		if (fmt[i] != '$') {
			while (i < len && fmt[i] != '$')
				i++;
			r = add_literal(p, fmt + start, i - start);
			if (r < 0)
				goto too_big;
			continue;
		}
		i++;
		if (i < len && fmt[i] == '{') {
			const char *close = memchr(fmt + i, '}', len - i);

			if (!close) {
				snprintf(errbuf, errlen,
					 "log_format: unterminated \"${\"");
				return -EINVAL;
			}
			nstart = i + 1;
			nlen = (size_t)(close - (fmt + nstart));
			i = (size_t)(close - fmt) + 1;
		} else {
			nstart = i;
			while (i < len && is_name_char(fmt[i]))
				i++;
			nlen = i - nstart;
		}
		if (nlen == 0) {
			r = add_literal(p, "$", 1);
			if (r < 0)
				goto too_big;
			continue;
		}
		if (p->n == NGX_MAX_TOKENS)
			goto too_big;
		p->toks[p->n++] = (struct ngx_token){
			.is_var = true,
			.var = lookup_var(fmt + nstart, nlen),
		};
	}
	if (p->n == 0) {
		snprintf(errbuf, errlen, "log_format: empty format");
		return -EINVAL;
	}
	memset(p->var_tok, NGX_NO_TOKEN, sizeof(p->var_tok));
	for (unsigned t = p->n; t-- > 0;)
		if (p->toks[t].is_var)
			p->var_tok[p->toks[t].var] = (uint8_t)t;
	return 0;
too_big:
	snprintf(errbuf, errlen, "log_format: too many tokens (max %d)",
		 NGX_MAX_TOKENS);
	return -E2BIG;
}

/*
 * nginx.conf syntax: one or more quoted strings, concatenated, with \" \'
 * \\ \n \t \r escapes; an optional trailing ';'. Returns false when the
 * text is not entirely made of quoted pieces.
 */
static bool unquote_conf(const char *s, const char *end, char *out,
			 size_t outlen, size_t *ret_len)
{
	size_t n = 0;
	unsigned pieces = 0;

	for (;;) {
		char q;

		s = sonde_logfmt_skip_ws(s, end);
		if (s == end || *s == ';')
			break;
		if (*s != '\'' && *s != '"')
			return false;
		q = *s++;
		while (s < end && *s != q) {
			char c = *s++;

			if (c == '\\' && s < end) {
				c = *s++;
				if (c == 'n')
					c = '\n';
				else if (c == 't')
					c = '\t';
				else if (c == 'r')
					c = '\r';
				else if (c != q && c != '\\' && c != '"' && c != '\'') {
					if (n + 1 >= outlen)
						return false;
					out[n++] = '\\';
				}
			}
			if (n + 1 >= outlen)
				return false;
			out[n++] = c;
		}
		if (s == end)
			return false;
		s++;
		pieces++;
	}
	if (s < end && *s == ';' && sonde_logfmt_skip_ws(s + 1, end) != end)
		return false;
	*ret_len = n;
	return pieces > 0;
}

int sonde_logfmt_ngx_compile_conf(struct ngx_prog *p, const char *cfg, char *errbuf,
			 size_t errlen)
{
	const char *s = cfg, *end = cfg + strnlen(cfg, SONDE_LOG_FORMAT_STR_LEN);
	char *buf = NULL;
	size_t n;
	int r;

	s = sonde_logfmt_skip_ws(s, end);
	while (end > s && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t'))
		end--;
	/* The whole directive pasted from nginx.conf: skip "log_format NAME". */
	if (sonde_logfmt_starts(s, (size_t)(end - s), "log_format") &&
	    end - s > 10 && (s[10] == ' ' || s[10] == '\t' || s[10] == '\n')) {
		s = sonde_logfmt_skip_ws(s + 10, end);
		while (s < end && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
		s = sonde_logfmt_skip_ws(s, end);
	}
	if (sonde_logfmt_starts(s, (size_t)(end - s), "escape=")) {
		const char *v = s + 7, *ve = v;

		while (ve < end && *ve != ' ' && *ve != '\t' && *ve != '\n')
			ve++;
		if (ve - v == 4 && memcmp(v, "json", 4) == 0)
			p->escape = ESC_JSON;
		else if (ve - v == 7 && memcmp(v, "default", 7) == 0)
			p->escape = ESC_DEFAULT;
		else if (ve - v == 4 && memcmp(v, "none", 4) == 0)
			p->escape = ESC_NONE;
		else {
			snprintf(errbuf, errlen,
				 "log_format: escape= must be default, json or none");
			return -EINVAL;
		}
		s = sonde_logfmt_skip_ws(ve, end);
	}
	if (s == end)
		return sonde_logfmt_ngx_compile(p, FMT_COMBINED, strlen(FMT_COMBINED), errbuf,
			       errlen);
	buf = malloc(SONDE_LOG_FORMAT_STR_LEN);
	if (!buf)
		return -ENOMEM;
	/* A leading quote means nginx.conf quoting; '"' may also be raw text. */
	if ((*s == '\'' || *s == '"') &&
	    unquote_conf(s, end, buf, SONDE_LOG_FORMAT_STR_LEN, &n)) {
		r = sonde_logfmt_ngx_compile(p, buf, n, errbuf, errlen);
	} else if (*s == '\'') {
		snprintf(errbuf, errlen, "log_format: unbalanced quotes");
		r = -EINVAL;
	} else {
		r = sonde_logfmt_ngx_compile(p, s, (size_t)(end - s), errbuf, errlen);
	}
	free(buf);
	return r;
}
