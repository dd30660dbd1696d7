// SPDX-License-Identifier: MIT
/*
 * The log path without the tailer: every line of FILE through a format
 * (and, second pass, the pipeline too), timed with the thread's CPU clock.
 *   sonde_logs_parse_bench FILE [FORMAT] [ROUNDS]
 * FORMAT defaults to combined, ROUNDS to 3; the best round is reported.
 * Separates what run.sh measures end to end into parse and metrics cost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "pipeline.h"
#include "registry.h"

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 65536 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*ret_len = len;
	return buf;
}

/* One pass; returns lines seen, counts parse errors. */
static size_t pass(struct sonde_log_format *fmt, struct sonde_pipeline *pipe,
		   const char *buf, size_t len, size_t *errors)
{
	const char *p = buf, *end = buf + len;
	struct sonde_txn txn;
	size_t lines = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int r = sonde_log_format_line(fmt, p, l, &txn);

		if (r < 0)
			(*errors)++;
		else if (r == 1 && pipe)
			sonde_pipeline_submit(pipe, &txn);
		lines++;
		p += l + 1;
	}
	return lines;
}

int main(int argc, char **argv)
{
	struct sonde_log_format_config cfg = { 0 };
	struct sonde_log_format *fmt;
	struct sonde_registry *reg;
	struct sonde_pipeline *pipe;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	char err[256];
	size_t len, lines = 0, errors = 0;
	double best[2] = { 1e30, 1e30 };
	char *buf;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: %s FILE [FORMAT] [ROUNDS]\n", argv[0]);
		return argc < 2 ? 2 : 0;
	}
	snprintf(cfg.format, sizeof(cfg.format), "%s", argc > 2 ? argv[2] : "combined");
	buf = slurp(argv[1], &len);
	if (!buf) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (sonde_log_format_new(&cfg, &fmt, err, sizeof(err)) < 0) {
		fprintf(stderr, "format %s: %s\n", cfg.format, err);
		return 1;
	}
	if (sonde_registry_new(0, &reg) < 0 || sonde_pipeline_new(reg, &pipe) < 0)
		return 1;
	for (int r = 0; r < rounds; r++) {
		for (int with_pipe = 0; with_pipe < 2; with_pipe++) {
			double t0 = cpu_now(), t;

			errors = 0;
			lines = pass(fmt, with_pipe ? pipe : NULL, buf, len, &errors);
			t = cpu_now() - t0;
			if (t < best[with_pipe])
				best[with_pipe] = t;
		}
	}
	printf("%zu lines, %zu parse errors, %.1f MiB\n", lines, errors,
	       (double)len / (1 << 20));
	printf("parse only:       %6.1f ns/line  %5.2f M lines/s\n",
	       best[0] / (double)lines * 1e9, (double)lines / best[0] / 1e6);
	printf("parse + pipeline: %6.1f ns/line  %5.2f M lines/s\n",
	       best[1] / (double)lines * 1e9, (double)lines / best[1] / 1e6);
	sonde_pipeline_free(pipe);
	sonde_registry_free(reg);
	sonde_log_format_free(fmt);
	free(buf);
	return 0;
}
