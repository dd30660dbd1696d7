// SPDX-License-Identifier: MIT
/* The "logs" config section. */
#include "logs_config.h"

#include <stddef.h>

#define SRC_OFF(m) offsetof(struct sonde_logs_source_cfg, m)
#define SRC_SIZE(m) sizeof(((struct sonde_logs_source_cfg *)0)->m)
/* json's sub-fields are relative to the json struct itself */
#define JSON_OFF(m)                                        \
	(offsetof(struct sonde_log_format_config, json.m) - \
	 offsetof(struct sonde_log_format_config, json))
#define JSON_SIZE(m) sizeof(((struct sonde_log_format_config *)0)->json.m)
#define CFG_OFF(m) offsetof(struct sonde_logs_cfg, m)
#define CFG_SIZE(m) sizeof(((struct sonde_logs_cfg *)0)->m)

#define JSON_FIELD(n, h)                                              \
	{ .name = #n, .type = SONDE_CFG_STRING, .offset = JSON_OFF(n), \
	  .size = JSON_SIZE(n), .help = h }

static const struct sonde_cfg_field json_fields[] = {
	JSON_FIELD(method, "Field holding the HTTP method."),
	JSON_FIELD(path, "Field holding the request path."),
	JSON_FIELD(request, "Field holding the request line (\"GET /x HTTP/1.1\")."),
	JSON_FIELD(status, "Field holding the HTTP status code."),
	JSON_FIELD(duration, "Field holding the request duration."),
	JSON_FIELD(duration_unit, "Unit of duration: s (default), ms, us, ns."),
	JSON_FIELD(cache_status, "Field holding the cache status (HIT, MISS...)."),
	JSON_FIELD(host, "Field holding the server name (Host)."),
	SONDE_CFG_END,
};

static const struct sonde_cfg_field source_fields[] = {
	{ .name = "path", .type = SONDE_CFG_STRING, .offset = SRC_OFF(path),
	  .size = SRC_SIZE(path),
	  .help = "Absolute path or glob(7) of the files to follow, re-scanned\n"
		  "every poll_interval." },
	{ .name = "format", .type = SONDE_CFG_STRING,
	  .offset = SRC_OFF(fmt.format), .size = SRC_SIZE(fmt.format),
	  .def = "combined",
	  .help = "nginx (with log_format), combined, apache, json, postgres,\n"
		  "mysql_slow, or raw (lines are counted, not parsed)." },
	{ .name = "log_format", .type = SONDE_CFG_STRING,
	  .offset = SRC_OFF(fmt.log_format), .size = SRC_SIZE(fmt.log_format),
	  .help = "For format nginx: the log_format, in nginx's own syntax." },
	{ .name = "json", .type = SONDE_CFG_SECTION,
	  .offset = SRC_OFF(fmt.json), .sub = json_fields,
	  .help = "For format json: which fields hold what." },
	{ .name = "service", .type = SONDE_CFG_STRING,
	  .offset = SRC_OFF(fmt.service), .size = SRC_SIZE(fmt.service),
	  .help = "Value of the service label of this source's transactions." },
	{ .name = "from_beginning", .type = SONDE_CFG_BOOL,
	  .offset = SRC_OFF(from_beginning), .def = "false",
	  .help = "Read files found at start from their beginning, not their end\n"
		  "(files created later are always read from their beginning)." },
	{ .name = "max_line_length", .type = SONDE_CFG_INT,
	  .offset = SRC_OFF(max_line_length), .def = "65536", .min = 64,
	  .max = SONDE_LOGS_MAX_LINE_MAX,
	  .help = "Longer lines are cut to this many bytes (and counted); the\n"
		  "rest of the line is skipped." },
	SONDE_CFG_END,
};

static const struct sonde_cfg_field logs_fields[] = {
	{ .name = "state_dir", .type = SONDE_CFG_STRING,
	  .offset = CFG_OFF(state_dir), .size = CFG_SIZE(state_dir),
	  .def = "/var/lib/sonde",
	  .help = "Where read offsets are checkpointed (file logs.state)." },
	{ .name = "checkpoint_interval", .type = SONDE_CFG_DURATION,
	  .offset = CFG_OFF(checkpoint_interval), .def = "5s", .min = 100,
	  .max = 3600000,
	  .help = "How often offsets are saved; after a crash at most the lines\n"
		  "read in this interval are read again." },
	{ .name = "poll_interval", .type = SONDE_CFG_DURATION,
	  .offset = CFG_OFF(poll_interval), .def = "1s", .min = 10,
	  .max = 600000,
	  .help = "Glob re-scan and polling of every file (the fallback when\n"
		  "inotify is not available or overflowed)." },
	{ .name = "rotate_wait", .type = SONDE_CFG_DURATION,
	  .offset = CFG_OFF(rotate_wait), .def = "5s", .min = 0,
	  .max = 3600000,
	  .help = "How long a rotated (renamed or deleted) file is still read,\n"
		  "for writers that reopen their log late." },
	{ .name = "flush_idle", .type = SONDE_CFG_DURATION,
	  .offset = CFG_OFF(flush_idle), .def = "2s", .min = 10,
	  .max = 600000,
	  .help = "A multi-line entry (PostgreSQL, MySQL slow log) held this long\n"
		  "without a following line is completed." },
	{ .name = "inotify_delay", .type = SONDE_CFG_DURATION,
	  .offset = CFG_OFF(inotify_delay), .def = "20ms", .min = 0,
	  .max = 1000,
	  .help = "After reading on an inotify event, wait this long before\n"
		  "looking again: a busy file is read in batches (less CPU), at\n"
		  "the cost of this much latency." },
	{ .name = "inotify", .type = SONDE_CFG_BOOL, .offset = CFG_OFF(inotify),
	  .def = "true",
	  .help = "Use inotify; false: poll only, every poll_interval." },
	{ .name = "max_files", .type = SONDE_CFG_INT,
	  .offset = CFG_OFF(max_files), .def = "256", .min = 1, .max = 65536,
	  .help = "Files followed at once (rotated ones still read included);\n"
		  "the path label is capped at twice this." },
	{ .name = "read_size", .type = SONDE_CFG_INT,
	  .offset = CFG_OFF(read_size), .def = "262144", .min = 4096,
	  .max = 16777216, .help = "Bytes per read(2)." },
	{ .name = "debug_dump", .type = SONDE_CFG_STRING,
	  .offset = CFG_OFF(debug_dump), .size = CFG_SIZE(debug_dump),
	  .help = "Testing aid, off by default: append every line read to this\n"
		  "file (flushed after every read batch and before every checkpoint)." },
	{ .name = "debug_dump_max_bytes", .type = SONDE_CFG_INT,
	  .offset = CFG_OFF(debug_dump_max_bytes), .def = "1073741824",
	  .min = 0, .max = 1LL << 40,
	  .help = "debug_dump stops growing at this size (further lines are\n"
		  "counted as dropped)." },
	{ .name = "sources", .type = SONDE_CFG_LIST, .offset = CFG_OFF(sources),
	  .size = sizeof(struct sonde_logs_source_cfg),
	  .max_items = SONDE_LOGS_MAX_SOURCES,
	  .count_offset = CFG_OFF(n_sources), .sub = source_fields,
	  .help = "The log files to follow; none: the module is off." },
	SONDE_CFG_END,
};

const struct sonde_cfg_section sonde_logs_config_section = {
	.key = "logs",
	.size = sizeof(struct sonde_logs_cfg),
	.fields = logs_fields,
	.help = "Log tailing: access logs, database logs, JSON lines.",
};
