// SPDX-License-Identifier: MIT
/*
 * Apache access logs: the built-in common/combined(+%D) layouts, or any
 * LogFormat translated into nginx tokens and matched by nginx.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nginx_internal.h"

/* Apache LogFormat directive letter -> nginx variable (NULL: ignored). */
static const char *apache_var(char c, const char *arg, size_t arglen)
{
	switch (c) {
	case 'h': case 'a': return "remote_addr";
	case 'l': return "sonde_ident";
	case 'u': return "remote_user";
	case 'r': return "request";
	case 's': return "status";
	case 'b': case 'B': return "body_bytes_sent";
	case 'O': return "bytes_sent";
	case 'I': return "request_length";
	case 'D': return "sonde_apache_usec";
	case 'm': return "request_method";
	case 'U': return "uri";
	case 'v': return "server_name";
	case 'V': return "host";
	case 'p': return "server_port";
	case 'T':
		/* %T is whole seconds, %{ms}T and %{us}T finer */
		if (arglen == 2 && memcmp(arg, "us", 2) == 0)
			return "sonde_apache_usec";
		if (arglen == 2 && memcmp(arg, "ms", 2) == 0)
			return "sonde_apache_msec";
		return "request_time";
	case 'i':
		if (arglen == 4 && strncasecmp(arg, "host", 4) == 0)
			return "http_host";
		return NULL;
	default:
		return NULL;
	}
}

/*
 * Apache's LogFormat ("%h %l %u %t \"%r\" %>s %b %D", or the whole
 * `LogFormat "..." name` line) -> the same token language. %t carries its
 * own brackets; modifiers (%>s, %!200,304{...}i) are accepted and ignored.
 */
static int apache_translate(const char *in, char *out, size_t outlen,
			    char *errbuf, size_t errlen)
{
	const char *s = in, *end = in + strnlen(in, SONDE_LOG_FORMAT_STR_LEN);
	size_t n = 0;

#define PUT(str, l)                                          \
	do {                                                 \
		if (n + (l) >= outlen)                       \
			goto too_long;                       \
		memcpy(out + n, (str), (l));                 \
		n += (l);                                    \
	} while (0)

	s = sonde_logfmt_skip_ws(s, end);
	if (sonde_logfmt_starts(s, (size_t)(end - s), "LogFormat "))
		s = sonde_logfmt_skip_ws(s + 10, end);
	if (s < end && *s == '"') {
		const char *q = ++s;

		/* up to the closing quote; \" inside stays for the loop below */
		while (q < end && *q != '"')
			q += (*q == '\\' && q + 1 < end) ? 2 : 1;
		end = q;
	}
	while (s < end) {
		const char *arg = NULL, *var;
		size_t arglen = 0;

		if (*s == '\\' && s + 1 < end) {
			char e = s[1] == 'n' ? '\n' : s[1] == 't' ? '\t' : s[1];

			PUT(&e, 1);
			s += 2;
			continue;
		}
		if (*s != '%') {
			/* "${}" compiles to a literal '$', never a variable */
			if (*s == '$')
				PUT("${}", 3);
			else
				PUT(s, 1);
			s++;
			continue;
		}
		if (++s == end)
			break;
		if (*s == '%') {
			PUT("%", 1);
			s++;
			continue;
		}
		while (s < end && (*s == '<' || *s == '>' || *s == '!' || *s == ',' ||
				   (*s >= '0' && *s <= '9')))
			s++;
		if (s < end && *s == '{') {
			const char *close = memchr(s, '}', (size_t)(end - s));

			if (!close)
				goto bad;
			arg = s + 1;
			arglen = (size_t)(close - arg);
			s = close + 1;
		}
		if (s == end)
			goto bad;
		if (*s == 't' && !arg) {
			PUT("[$time_local]", 13);
		} else {
			var = apache_var(*s, arg, arglen);
			PUT("${", 2);
			if (var)
				PUT(var, strlen(var));
			else
				PUT("sonde_skip", 10);
			PUT("}", 1);
		}
		s++;
	}
	out[n] = '\0';
	return 0;
#undef PUT
bad:
	snprintf(errbuf, errlen, "apache log_format: incomplete %% directive");
	return -EINVAL;
too_long:
	snprintf(errbuf, errlen, "apache log_format: too long");
	return -E2BIG;
}

static int apache_custom_new(const struct sonde_log_format_config *cfg,
			     void **ret_state, char *errbuf, size_t errlen)
{
	const char *fmts[1];
	char *buf = malloc(SONDE_LOG_FORMAT_STR_LEN);
	int r;

	if (!buf)
		return -ENOMEM;
	r = apache_translate(cfg->log_format, buf, SONDE_LOG_FORMAT_STR_LEN,
			     errbuf, errlen);
	if (r == 0) {
		fmts[0] = buf;
		r = sonde_logfmt_ngx_new_state(fmts, 1, cfg, ret_state, errbuf, errlen);
	}
	free(buf);
	return r;
}

static int apache_new(const struct sonde_log_format_config *cfg,
		      void **ret_state, char *errbuf, size_t errlen)
{
	static const char *const fmts[] = {
		FMT_COMBINED " $sonde_apache_usec", FMT_COMBINED, FMT_COMMON
	};

	if (cfg->log_format[0])
		return apache_custom_new(cfg, ret_state, errbuf, errlen);
	return sonde_logfmt_ngx_new_state(fmts, 3, cfg, ret_state, errbuf, errlen);
}

const struct sonde_logfmt_ops sonde_logfmt_apache = {
	.name = "apache",
	.default_service = "apache",
	.new = apache_new,
	.free = sonde_logfmt_ngx_free,
	.line = sonde_logfmt_ngx_line,
};
