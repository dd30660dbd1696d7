// SPDX-License-Identifier: MIT
/*
 * One harness per log format (FUZZ_FORMAT picks it). The input is split
 * into lines as a tailer would; for "nginx" (and "apache" when the input
 * starts with '%' or "LogFormat") the first line is the log_format
 * itself, so the format compilers are fuzzed too. Every line is
 * passed in an exact-size heap buffer so overreads are caught.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/logs/format.h"

static void check(const struct sonde_txn *t)
{
	/* every string field stays terminated inside its buffer */
	if (!memchr(t->operation, '\0', sizeof(t->operation)) ||
	    !memchr(t->target, '\0', sizeof(t->target)) ||
	    !memchr(t->path, '\0', sizeof(t->path)) ||
	    !memchr(t->server_address, '\0', sizeof(t->server_address)) ||
	    !memchr(t->error, '\0', sizeof(t->error)) ||
	    !memchr(t->service, '\0', sizeof(t->service)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sonde_log_format_config cfg;
	struct sonde_log_format *fmt = NULL;
	const char *p = (const char *)data, *end = p + size;
	struct sonde_txn t;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.format, FUZZ_FORMAT);
	/* nginx: the first line is always the log_format; apache: when it
	 * looks like one (custom LogFormat), else the built-in layouts */
	if (strcmp(FUZZ_FORMAT, "nginx") == 0 ||
	    (strcmp(FUZZ_FORMAT, "apache") == 0 && size &&
	     (p[0] == '%' || p[0] == 'L'))) {
		const char *nl = memchr(p, '\n', size);
		size_t n = nl ? (size_t)(nl - p) : size;

		if (n >= sizeof(cfg.log_format))
			return 0;
		memcpy(cfg.log_format, p, n);
		p += nl ? n + 1 : n;
	}
	if (strcmp(FUZZ_FORMAT, "json") == 0) {
		strcpy(cfg.json.method, "m");
		strcpy(cfg.json.request, "request");
		strcpy(cfg.json.status, "s");
		strcpy(cfg.json.duration, "d");
		strcpy(cfg.json.duration_unit, "ms");
		strcpy(cfg.json.cache_status, "c");
		strcpy(cfg.json.host, "h");
	}
	if (sonde_log_format_new(&cfg, &fmt, err, sizeof(err)) < 0)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = malloc(n ? n : 1);
		int r;

		if (!line)
			break;
		memcpy(line, p, n);
		r = sonde_log_format_line(fmt, line, n, &t);
		free(line);
		if (r == 1)
			check(&t);
		else if (r != 0 && r != -EINVAL)
			abort();
		p += nl ? n + 1 : n;
	}
	if (sonde_log_format_flush(fmt, &t) == 1)
		check(&t);
	sonde_log_format_free(fmt);
	return 0;
}
