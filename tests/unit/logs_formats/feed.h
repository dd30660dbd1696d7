/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TEST_FEED_H
#define SONDE_TEST_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "probes/logs/format.h"

/* What a file produced: every transaction and the count of -EINVAL lines. */
struct fed {
	size_t n, cap;
	struct sonde_txn *txn;
	unsigned errors;
	unsigned lines;
};

enum feed_mode {
	FEED_LINES,	/* whole buffer, split at '\n' */
	FEED_CRLF,	/* same text with "\r\n" line ends */
	FEED_BYTES,	/* one byte per read, through a line assembler */
	FEED_RANDOM,	/* random read sizes 1..97, through a line assembler */
};

/* Reads tests/fixtures/logs_formats/<name>; aborts the test if missing. */
char *fixture_load(const char *name, size_t *ret_len);

struct sonde_log_format *fmt_make(const char *format, const char *log_format);

/* Feeds buf as a tailer would, then flushes at EOF. */
void feed(struct sonde_log_format *fmt, const char *buf, size_t len,
	  enum feed_mode mode, struct fed *out);
/* Like FEED_LINES, but also flushes (as an idle tailer would) before every
 * line for which at_boundary() is true. */
void feed_flushing(struct sonde_log_format *fmt, const char *buf, size_t len,
		   bool (*at_boundary)(const char *line, size_t len),
		   struct fed *out);
void fed_free(struct fed *f);
/* Same transactions, field by field. */
bool fed_equal(const struct fed *a, const struct fed *b);
/* Convenience: the whole fixture through a fresh format in every mode; the
 * results must agree. Returns the FEED_LINES result. */
void feed_all_modes(const struct sonde_log_format_config *cfg, const char *buf,
		    size_t len, struct fed *out);

unsigned fed_count_op(const struct fed *f, const char *op);
unsigned fed_count_target(const struct fed *f, const char *target);
unsigned fed_count_status(const struct fed *f, int status);
unsigned long long fed_sum_duration(const struct fed *f);

#endif
