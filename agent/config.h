/* SPDX-License-Identifier: MIT */
#ifndef SONDE_CONFIG_H
#define SONDE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Table-driven configuration. Every module declares its section as a table
 * of fields over a plain struct (fixed-size strings and arrays, so a parsed
 * config is one flat block: copied with memcpy, freed with free). The
 * loader maps YAML (libyaml document API, for line numbers) onto the
 * tables; unknown keys and bad values are errors reported as
 * "file:line: message".
 */

enum sonde_cfg_type {
	SONDE_CFG_BOOL,     /* bool */
	SONDE_CFG_INT,      /* long long, within [min, max] */
	SONDE_CFG_STRING,   /* char[size] */
	SONDE_CFG_STRLIST,  /* char[max_items][size] + unsigned count */
	SONDE_CFG_DURATION, /* unsigned long long milliseconds: "500ms", "10s", "2m", or a bare number of ms */
	SONDE_CFG_ENUM,     /* char[size], one of enum_values */
	SONDE_CFG_LISTEN,   /* char[size] "host:port", port checked 1..65535 */
	SONDE_CFG_SECTION,  /* nested struct at offset, fields in sub */
	SONDE_CFG_LIST,     /* array of max_items structs of size, fields in sub, count at count_offset */
};

struct sonde_cfg_field {
	const char *name;
	enum sonde_cfg_type type;
	size_t offset;
	size_t size;      /* STRING/ENUM/LISTEN/STRLIST: buffer size; LIST: element size */
	const char *def;  /* default, in YAML scalar syntax; NULL = zero */
	long long min, max;
	size_t max_items;      /* STRLIST, LIST */
	size_t count_offset;   /* STRLIST, LIST: offset of an unsigned count */
	const struct sonde_cfg_field *sub; /* SECTION, LIST; terminated by name == NULL */
	const char *const *enum_values;    /* ENUM; NULL-terminated */
	const char *help;
};

#define SONDE_CFG_END { .name = NULL }

/* A top-level section: one per module. */
struct sonde_cfg_section {
	const char *key; /* top-level YAML key */
	size_t size;     /* sizeof the section struct */
	/* NULL: a module left out of this build; its section is accepted
	 * and ignored, so one config file serves builds with and without it. */
	const struct sonde_cfg_field *fields;
	const char *help;
};

struct sonde_config {
	char path[4096]; /* "" when built-in defaults */
	size_t n_sections;
	const struct sonde_cfg_section *const *sections;
	void **data; /* data[i] is section i's struct */
};

/*
 * Loads `path` (NULL: defaults only) against `sections`. On error returns
 * -EINVAL and writes "file:line: message" into errbuf.
 */
int sonde_config_load(const char *path,
		      const struct sonde_cfg_section *const *sections,
		      size_t n_sections, struct sonde_config **ret_cfg,
		      char *errbuf, size_t errlen);
/* Same, from a string (tests); name is used in messages. */
int sonde_config_load_string(const char *name, const char *yaml,
			     const struct sonde_cfg_section *const *sections,
			     size_t n_sections, struct sonde_config **ret_cfg,
			     char *errbuf, size_t errlen);
void sonde_config_free(struct sonde_config *cfg);

/* The section struct for key, or NULL. */
void *sonde_config_section(const struct sonde_config *cfg, const char *key);

/* Prints every section with its defaults and help as commented YAML. */
void sonde_config_print_default(FILE *out,
				const struct sonde_cfg_section *const *sections,
				size_t n_sections);

/* Shared scalar parsers, also for modules' own checks. */
int sonde_config_parse_duration_ms(const char *s, unsigned long long *ret_ms);
int sonde_config_parse_listen(const char *s, char *host, size_t hostlen,
			      unsigned *ret_port);
/* The syntax alone: "host:port", "[v6]:port", ":port"; port 0..65535. */
int sonde_listen_split(const char *s, char *host, size_t hostlen,
		       unsigned *ret_port);

#endif
