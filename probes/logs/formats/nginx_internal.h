/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGFMT_NGINX_H
#define SONDE_LOGFMT_NGINX_H

#include "internal.h"

/*
 * The nginx token language shared by nginx.c (matching), nginx_compile.c
 * (log_format -> tokens) and apache.c (LogFormat -> the same tokens).
 */

#define NGX_MAX_TOKENS 96
#define NGX_MAX_PROGS 3

enum ngx_var {
	V_SKIP = 0,
	V_REQUEST,
	V_REQUEST_METHOD,
	V_REQUEST_URI,
	V_URI,
	V_STATUS,
	V_REQUEST_TIME,
	V_UPSTREAM_LIST, /* $upstream_response_time and friends */
	V_UPSTREAM_CACHE_STATUS,
	V_BODY_BYTES_SENT,
	V_BYTES_SENT,
	V_REQUEST_LENGTH,
	V_HOST,
	V_HTTP_HOST,
	V_SERVER_NAME,
	V_SERVER_PORT,
	V_REMOTE_ADDR,
	V_REMOTE_PORT,
	V_TIME_LOCAL,
	V_TIME_ISO8601,
	V_MSEC,
	V_APACHE_USEC, /* internal: Apache %D */
	V_APACHE_MSEC, /* internal: Apache %{ms}T */
	V__COUNT,
};

enum ngx_escape {
	ESC_DEFAULT = 0,
	ESC_JSON,
	ESC_NONE,
};

struct ngx_token {
	bool is_var;
	enum ngx_var var;
	unsigned lit_off, lit_len;
};

struct ngx_prog {
	unsigned n;
	struct ngx_token toks[NGX_MAX_TOKENS];
	enum ngx_escape escape;
	char lits[SONDE_LOG_FORMAT_STR_LEN];
	unsigned lits_len;
	/* Token index of each variable's first use, NGX_NO_TOKEN if unused. */
	uint8_t var_tok[V__COUNT];
};
#define NGX_NO_TOKEN 0xff

struct ngx_state {
	unsigned n_progs;
	struct ngx_prog progs[NGX_MAX_PROGS];
	/* Lines of one second share $time_local: the last one parsed. */
	char clf_last[26];
	uint64_t clf_last_ns;
};

struct ngx_span {
	size_t off, len;
};

/* nginx's combined, with %l as a variable so Apache's ident fits too. */
#define FMT_COMBINED                                                     \
	"$remote_addr $sonde_ident $remote_user [$time_local] \"$request\" " \
	"$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\""
#define FMT_COMMON                                                       \
	"$remote_addr $sonde_ident $remote_user [$time_local] \"$request\" " \
	"$status $body_bytes_sent"

/* fmt in nginx's token syntax ($var, ${var}, literals). */
int sonde_logfmt_ngx_compile(struct ngx_prog *p, const char *fmt, size_t len,
			     char *errbuf, size_t errlen);
/* A log_format as written in nginx.conf (escape=, quoted pieces, or the
 * whole directive); "" is combined. */
int sonde_logfmt_ngx_compile_conf(struct ngx_prog *p, const char *cfg,
				  char *errbuf, size_t errlen);
/* A state with n programs tried in order; fmts[i] NULL = cfg->log_format. */
int sonde_logfmt_ngx_new_state(const char *const *fmts, unsigned n,
			       const struct sonde_log_format_config *cfg,
			       void **ret_state, char *errbuf, size_t errlen);
int sonde_logfmt_ngx_line(void *state, const char *line, size_t len,
			  struct sonde_txn *txn);
void sonde_logfmt_ngx_free(void *state);

#endif
