// SPDX-License-Identifier: MIT
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The only mutable globals of the agent besides the parsed CLI. */
static enum sonde_log_level log_level = SONDE_LOG_INFO;
static int log_journal = -1; /* -1: decide from JOURNAL_STREAM */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void sonde_log_set_level(enum sonde_log_level level)
{
	log_level = level;
}

enum sonde_log_level sonde_log_get_level(void)
{
	return log_level;
}

void sonde_log_set_journal(bool on)
{
	log_journal = on;
}

int sonde_log_level_parse(const char *s, enum sonde_log_level *ret_level)
{
	static const struct {
		const char *name;
		enum sonde_log_level level;
	} names[] = {
		{ "error", SONDE_LOG_ERR },	  { "warning", SONDE_LOG_WARNING },
		{ "notice", SONDE_LOG_NOTICE }, { "info", SONDE_LOG_INFO },
		{ "debug", SONDE_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*ret_level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *level_word(enum sonde_log_level level)
{
	switch (level) {
	case SONDE_LOG_ERR: return "error";
	case SONDE_LOG_WARNING: return "warning";
	case SONDE_LOG_NOTICE: return "notice";
	case SONDE_LOG_INFO: return "info";
	default: return "debug";
	}
}

static void log_emit(enum sonde_log_level level, const char *kind,
		     const char *name, unsigned suppressed, const char *fmt,
		     va_list ap)
{
	char msg[1024];
	int journal;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	journal = log_journal;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;

	pthread_mutex_lock(&log_lock);
	if (journal)
		fprintf(stderr, "<%d>", (int)level);
	else
		fprintf(stderr, "sonde: %s: ", level_word(level));
	fprintf(stderr, "[%s:%s] %s", kind ? kind : "agent", name ? name : "core",
		msg);
	if (suppressed)
		fprintf(stderr, " (%u similar messages suppressed)", suppressed);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void sonde_log(enum sonde_log_level level, const char *kind, const char *name,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, kind, name, 0, fmt, ap);
	va_end(ap);
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

bool sonde_ratelimit_ok(struct sonde_ratelimit *rl, unsigned *ret_suppressed)
{
	unsigned long long now = now_ms();
	bool ok;

	pthread_mutex_lock(&log_lock);
	if (rl->window_start_ms == 0 || now - rl->window_start_ms >= rl->interval_ms) {
		rl->window_start_ms = now;
		rl->printed = 0;
	}
	ok = rl->printed < rl->burst;
	if (ok) {
		rl->printed++;
		if (ret_suppressed)
			*ret_suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&log_lock);
	return ok;
}

void sonde_log_rl(struct sonde_ratelimit *rl, enum sonde_log_level level,
		  const char *kind, const char *name, const char *fmt, ...)
{
	unsigned suppressed = 0;
	va_list ap;

	if (level > log_level || !sonde_ratelimit_ok(rl, &suppressed))
		return;
	va_start(ap, fmt);
	log_emit(level, kind, name, suppressed, fmt, ap);
	va_end(ap);
}
