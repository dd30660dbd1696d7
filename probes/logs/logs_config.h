/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGS_CONFIG_H
#define SONDE_LOGS_CONFIG_H

#include <stdbool.h>

#include "config.h"
#include "format.h"

#define SONDE_LOGS_MAX_SOURCES 32
#define SONDE_LOGS_PATH_LEN 1024
#define SONDE_LOGS_MAX_LINE_MAX (16LL * 1024 * 1024)

struct sonde_logs_source_cfg {
	char path[SONDE_LOGS_PATH_LEN]; /* glob */
	/* format, log_format, json and service are parsed straight into it */
	struct sonde_log_format_config fmt;
	bool from_beginning;
	long long max_line_length;
};

struct sonde_logs_cfg {
	char state_dir[SONDE_LOGS_PATH_LEN];
	unsigned long long checkpoint_interval; /* ms */
	unsigned long long poll_interval;	/* ms */
	unsigned long long rotate_wait;		/* ms */
	unsigned long long flush_idle;		/* ms */
	unsigned long long inotify_delay;	/* ms */
	bool inotify;
	long long max_files;
	long long read_size;
	char debug_dump[SONDE_LOGS_PATH_LEN];
	long long debug_dump_max_bytes;
	struct sonde_logs_source_cfg sources[SONDE_LOGS_MAX_SOURCES];
	unsigned n_sources;
};

extern const struct sonde_cfg_section sonde_logs_config_section;

#endif
