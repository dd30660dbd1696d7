/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGS_DUMP_H
#define SONDE_LOGS_DUMP_H

#include <stddef.h>
#include <stdint.h>

/*
 * debug_dump: every line read, appended to a file, for tests that must see
 * which lines were delivered (lost and duplicated ones, not just totals).
 * Buffered; flushed before every checkpoint, so the file always holds at
 * least what the checkpoint says was delivered. Bounded by max_bytes.
 */
struct sonde_logs_dump;

int sonde_logs_dump_open(const char *path, uint64_t max_bytes,
			 struct sonde_logs_dump **ret_dump);
void sonde_logs_dump_line(struct sonde_logs_dump *d, const char *line,
			  size_t len);
int sonde_logs_dump_flush(struct sonde_logs_dump *d);
uint64_t sonde_logs_dump_dropped(const struct sonde_logs_dump *d);
/* Flushes and closes; accepts NULL. */
void sonde_logs_dump_close(struct sonde_logs_dump *d);

#endif
