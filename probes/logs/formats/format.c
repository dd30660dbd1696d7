// SPDX-License-Identifier: MIT
/* Format name -> implementation, and the fields every transaction shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct sonde_logfmt_ops *const formats[] = {
	&sonde_logfmt_nginx,	&sonde_logfmt_combined,
	&sonde_logfmt_apache,	&sonde_logfmt_json,
	&sonde_logfmt_postgres, &sonde_logfmt_mysql_slow,
};

struct sonde_log_format {
	const struct sonde_logfmt_ops *ops;
	void *state;
	char service[SONDE_TXN_SERVICE_LEN];
};

int sonde_log_format_new(const struct sonde_log_format_config *cfg,
			 struct sonde_log_format **ret_fmt, char *errbuf,
			 size_t errlen)
{
	const struct sonde_logfmt_ops *ops = NULL;
	struct sonde_log_format *fmt = NULL;
	size_t i;
	int err;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strncmp(cfg->format, formats[i]->name,
			    sizeof(cfg->format)) == 0)
			ops = formats[i];
	if (!ops) {
		snprintf(errbuf, errlen,
			 "unknown log format \"%.32s\" (nginx, combined, apache, json, postgres, mysql_slow)",
			 cfg->format);
		err = -EINVAL;
		goto err;
	}
	fmt = calloc(1, sizeof(*fmt));
	if (!fmt) {
		err = -ENOMEM;
		goto err;
	}
	fmt->ops = ops;
	if (cfg->service[0])
		SONDE_TXN_SET(fmt->service, cfg->service, sizeof(cfg->service));
	else
		SONDE_TXN_SET(fmt->service, ops->default_service,
			      strlen(ops->default_service));
	err = ops->new(cfg, &fmt->state, errbuf, errlen);
	if (err < 0)
		goto err;
	*ret_fmt = fmt;
	return 0;
err:
	free(fmt);
	return err;
}

void sonde_log_format_free(struct sonde_log_format *fmt)
{
	if (!fmt)
		return;
	fmt->ops->free(fmt->state);
	free(fmt);
}

static void finish(const struct sonde_log_format *fmt, struct sonde_txn *txn)
{
	txn->source = SONDE_SRC_LOG;
	if (!txn->service[0])
		memcpy(txn->service, fmt->service, sizeof(txn->service));
}

int sonde_log_format_line(struct sonde_log_format *fmt, const char *line,
			  size_t len, struct sonde_txn *ret_txn)
{
	int r;

	/* Tailers hand over CRLF files line by line; the CR is not content. */
	if (len && line[len - 1] == '\r')
		len--;
	/* filled in place: a copy of the record is a tenth of a line's cost */
	memset(ret_txn, 0, sizeof(*ret_txn));
	r = fmt->ops->line(fmt->state, line, len, ret_txn);
	if (r == 1)
		finish(fmt, ret_txn);
	return r;
}

int sonde_log_format_flush(struct sonde_log_format *fmt,
			   struct sonde_txn *ret_txn)
{
	struct sonde_txn txn;

	if (!fmt->ops->flush)
		return 0;
	memset(&txn, 0, sizeof(txn));
	if (fmt->ops->flush(fmt->state, &txn) != 1)
		return 0;
	finish(fmt, &txn);
	*ret_txn = txn;
	return 1;
}
