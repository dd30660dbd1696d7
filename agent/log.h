/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include <stdbool.h>

/* syslog priorities, printed as journald "<N>" prefixes under systemd */
enum sonde_log_level {
	SONDE_LOG_ERR = 3,
	SONDE_LOG_WARNING = 4,
	SONDE_LOG_NOTICE = 5,
	SONDE_LOG_INFO = 6,
	SONDE_LOG_DEBUG = 7,
};

/* The one global besides the parsed CLI: the threshold. */
void sonde_log_set_level(enum sonde_log_level level);
enum sonde_log_level sonde_log_get_level(void);
/* Parses "error", "warning", "notice", "info", "debug"; -EINVAL otherwise. */
int sonde_log_level_parse(const char *s, enum sonde_log_level *ret_level);
/* Force (or disable) the "<N>" prefix; default: on when JOURNAL_STREAM is set. */
void sonde_log_set_journal(bool on);

/*
 * kind/name give the "[kind:name]" prefix, e.g. "probe", "ebpf".
 * Rate limited per call site via the static-free token bucket below.
 */
void sonde_log(enum sonde_log_level level, const char *kind, const char *name,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Caller-owned rate limiter: at most `burst` messages per `interval_ms`;
 * suppressed ones are counted and reported with the next message that passes.
 */
struct sonde_ratelimit {
	unsigned interval_ms;
	unsigned burst;
	unsigned long long window_start_ms;
	unsigned printed;
	unsigned suppressed;
};
#define SONDE_RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }

/* Returns true when the message may be printed; thread-safe. */
bool sonde_ratelimit_ok(struct sonde_ratelimit *rl, unsigned *ret_suppressed);

void sonde_log_rl(struct sonde_ratelimit *rl, enum sonde_log_level level,
		  const char *kind, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
