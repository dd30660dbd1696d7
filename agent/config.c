// SPDX-License-Identifier: MIT
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct cfg_ctx {
	const char *file;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int cfg_error(struct cfg_ctx *c, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_error(struct cfg_ctx *c, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node)
		snprintf(c->err, c->errlen, "%s:%zu: %s", c->file,
			 (size_t)node->start_mark.line + 1, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->file, msg);
	return -EINVAL;
}

static void *at(void *base, size_t off)
{
	return (char *)base + off;
}

int sonde_config_parse_duration_ms(const char *s, unsigned long long *ret_ms)
{
	static const struct {
		const char *suffix;
		unsigned long long mult;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1 } };
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > ULLONG_MAX / units[i].mult)
				return -ERANGE;
			*ret_ms = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

int sonde_listen_split(const char *s, char *host, size_t hostlen, unsigned *ret_port)
{
	const char *colon, *h = s, *hend;
	unsigned long port;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '[') {
		hend = strchr(s, ']');
		if (!hend || hend[1] != ':')
			return -EINVAL;
		h = s + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hend = colon;
		/* A bare IPv6 address is ambiguous without brackets. */
		if (memchr(s, ':', (size_t)(hend - s)))
			return -EINVAL;
	}
	if (!isdigit((unsigned char)colon[1]))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || port > 65535)
		return -ERANGE;
	if ((size_t)(hend - h) >= hostlen)
		return -EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*ret_port = (unsigned)port;
	return 0;
}

int sonde_config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *ret_port)
{
	unsigned port;
	int r = sonde_listen_split(s, host, hostlen, &port);

	if (r < 0)
		return r;
	/* Port 0 (any free port) is for tests, not for a configured service. */
	if (port == 0)
		return -ERANGE;
	*ret_port = port;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "True", "TRUE", "Yes", "On" };
	static const char *const no[] = { "false", "no", "off", "False", "FALSE", "No", "Off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *type_name(enum sonde_cfg_type t)
{
	switch (t) {
	case SONDE_CFG_BOOL: return "a boolean (true/false)";
	case SONDE_CFG_INT: return "an integer";
	case SONDE_CFG_STRING: return "a string";
	case SONDE_CFG_STRLIST: return "a list of strings";
	case SONDE_CFG_DURATION: return "a duration (e.g. 500ms, 10s, 2m)";
	case SONDE_CFG_ENUM: return "one of the listed values";
	case SONDE_CFG_LISTEN: return "an address host:port";
	case SONDE_CFG_SECTION: return "a mapping";
	case SONDE_CFG_LIST: return "a list of mappings";
	}
	return "?";
}

/* Applies one scalar to a scalar-typed field. msg gets a reason on error. */
static int set_scalar(const struct sonde_cfg_field *f, void *base, const char *v,
		      char *msg, size_t msglen)
{
	void *p = at(base, f->offset);
	size_t len = strlen(v);

	switch (f->type) {
	case SONDE_CFG_BOOL:
		if (parse_bool(v, p) < 0)
			goto bad_type;
		return 0;
	case SONDE_CFG_INT: {
		long long n;
		char *end;

		errno = 0;
		n = strtoll(v, &end, 0);
		if (!*v || *end || errno == EINVAL)
			goto bad_type;
		if (errno == ERANGE || n < f->min || n > f->max) {
			snprintf(msg, msglen, "'%s': %s out of range [%lld, %lld]", f->name, v,
				 f->min, f->max);
			return -ERANGE;
		}
		*(long long *)p = n;
		return 0;
	}
	case SONDE_CFG_STRING:
		if (len >= f->size) {
			snprintf(msg, msglen, "'%s': value too long (%zu bytes, at most %zu)",
				 f->name, len, f->size - 1);
			return -ERANGE;
		}
		memcpy(p, v, len + 1);
		return 0;
	case SONDE_CFG_ENUM:
		for (const char *const *e = f->enum_values; e && *e; e++) {
			if (strcmp(*e, v) == 0 && len < f->size) {
				memcpy(p, v, len + 1);
				return 0;
			}
		}
		{
			size_t o = (size_t)snprintf(msg, msglen, "'%s': '%s' is not one of:", f->name, v);

			for (const char *const *e = f->enum_values; e && *e && o < msglen; e++)
				o += (size_t)snprintf(msg + o, msglen - o, " %s", *e);
		}
		return -EINVAL;
	case SONDE_CFG_LISTEN: {
		char host[256];
		unsigned port;
		int r = sonde_config_parse_listen(v, host, sizeof(host), &port);

		if (r == -ERANGE) {
			snprintf(msg, msglen, "'%s': port out of range in '%s' (1-65535)", f->name, v);
			return r;
		}
		if (r < 0) {
			snprintf(msg, msglen, "'%s': '%s' is not host:port (e.g. 127.0.0.1:9745, [::1]:9745)",
				 f->name, v);
			return r;
		}
		if (len >= f->size) {
			snprintf(msg, msglen, "'%s': value too long", f->name);
			return -ERANGE;
		}
		memcpy(p, v, len + 1);
		return 0;
	}
	case SONDE_CFG_DURATION: {
		int r = sonde_config_parse_duration_ms(v, p);

		if (r == -EINVAL)
			goto bad_type;
		if (r < 0 || *(unsigned long long *)p < (unsigned long long)f->min ||
		    (f->max && *(unsigned long long *)p > (unsigned long long)f->max)) {
			snprintf(msg, msglen, "'%s': %s out of range [%lldms, %lldms]", f->name, v,
				 f->min, f->max);
			return -ERANGE;
		}
		return 0;
	}
	default:
		goto bad_type;
	}
bad_type:
	snprintf(msg, msglen, "'%s': expected %s, got '%s'", f->name, type_name(f->type), v);
	return -EINVAL;
}

static void set_defaults(const struct sonde_cfg_field *fields, void *base)
{
	char msg[256];

	for (const struct sonde_cfg_field *f = fields; f->name; f++) {
		if (f->type == SONDE_CFG_SECTION) {
			set_defaults(f->sub, at(base, f->offset));
		} else if (f->type == SONDE_CFG_STRLIST && f->def) {
			/* Default lists are comma-separated in the table. */
			char (*items)[f->size] = at(base, f->offset);
			unsigned *count = at(base, f->count_offset);
			const char *s = f->def;

			*count = 0;
			while (*s && *count < f->max_items) {
				const char *e = strchr(s, ',');
				size_t l = e ? (size_t)(e - s) : strlen(s);

				if (l >= f->size)
					l = f->size - 1;
				memcpy(items[*count], s, l);
				items[*count][l] = '\0';
				(*count)++;
				s += e ? (size_t)(e - s) + 1 : l;
			}
		} else if (f->def && f->type != SONDE_CFG_LIST && f->type != SONDE_CFG_STRLIST) {
			/* Tables are tested (test_config) to have valid defaults. */
			(void)set_scalar(f, base, f->def, msg, sizeof(msg));
		}
	}
}

static int apply_map(struct cfg_ctx *c, const struct sonde_cfg_field *fields, void *base,
		     yaml_node_t *map, const char *where);

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int apply_field(struct cfg_ctx *c, const struct sonde_cfg_field *f, void *base,
		       yaml_node_t *val)
{
	char msg[512];

	switch (f->type) {
	case SONDE_CFG_SECTION:
		if (val->type == YAML_SCALAR_NODE && val->data.scalar.length == 0)
			return 0; /* "key:" with nothing: keep defaults */
		if (val->type != YAML_MAPPING_NODE)
			return cfg_error(c, val, "'%s': expected a mapping", f->name);
		return apply_map(c, f->sub, at(base, f->offset), val, f->name);
	case SONDE_CFG_STRLIST: {
		char (*items)[f->size] = at(base, f->offset);
		unsigned *count = at(base, f->count_offset);

		*count = 0;
		if (val->type == YAML_SCALAR_NODE && val->data.scalar.length == 0)
			return 0;
		if (val->type != YAML_SEQUENCE_NODE)
			return cfg_error(c, val, "'%s': expected a list of strings", f->name);
		for (yaml_node_item_t *it = val->data.sequence.items.start;
		     it < val->data.sequence.items.top; it++) {
			yaml_node_t *n = yaml_document_get_node(c->doc, *it);
			const char *s = scalar(n);

			if (!s)
				return cfg_error(c, n, "'%s': list items must be strings", f->name);
			if (*count >= f->max_items)
				return cfg_error(c, n, "'%s': too many items (at most %zu)", f->name,
						 f->max_items);
			if (strlen(s) >= f->size)
				return cfg_error(c, n, "'%s': item too long (at most %zu bytes)",
						 f->name, f->size - 1);
			strcpy(items[(*count)++], s);
		}
		return 0;
	}
	case SONDE_CFG_LIST: {
		unsigned *count = at(base, f->count_offset);

		*count = 0;
		if (val->type == YAML_SCALAR_NODE && val->data.scalar.length == 0)
			return 0;
		if (val->type != YAML_SEQUENCE_NODE)
			return cfg_error(c, val, "'%s': expected a list", f->name);
		for (yaml_node_item_t *it = val->data.sequence.items.start;
		     it < val->data.sequence.items.top; it++) {
			yaml_node_t *n = yaml_document_get_node(c->doc, *it);
			void *elem;
			int r;

			if (*count >= f->max_items)
				return cfg_error(c, n, "'%s': too many entries (at most %zu)", f->name,
						 f->max_items);
			if (n->type != YAML_MAPPING_NODE)
				return cfg_error(c, n, "'%s': each entry must be a mapping", f->name);
			elem = at(base, f->offset + (*count) * f->size);
			memset(elem, 0, f->size);
			set_defaults(f->sub, elem);
			if ((r = apply_map(c, f->sub, elem, n, f->name)) < 0)
				return r;
			(*count)++;
		}
		return 0;
	}
	default: {
		const char *s = scalar(val);

		if (!s)
			return cfg_error(c, val, "'%s': expected %s", f->name, type_name(f->type));
		if (val->data.scalar.length != strlen(s))
			return cfg_error(c, val, "'%s': value contains a NUL byte", f->name);
		if (set_scalar(f, base, s, msg, sizeof(msg)) < 0)
			return cfg_error(c, val, "%s", msg);
		return 0;
	}
	}
}

static int apply_map(struct cfg_ctx *c, const struct sonde_cfg_field *fields, void *base,
		     yaml_node_t *map, const char *where)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = scalar(k);
		const struct sonde_cfg_field *f;
		int r;

		if (!key)
			return cfg_error(c, k, "keys must be plain strings in '%s'", where);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(c->doc, q->key));

			if (prev && strcmp(prev, key) == 0)
				return cfg_error(c, k, "duplicate key '%s' in '%s'", key, where);
		}
		for (f = fields; f->name; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (!f->name) {
			char known[384];
			size_t o = 0;

			known[0] = '\0';
			for (f = fields; f->name && o < sizeof(known); f++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      o ? ", " : "", f->name);
			return cfg_error(c, k, "unknown key '%s' in '%s' (known: %s)", key, where, known);
		}
		if ((r = apply_field(c, f, base, v)) < 0)
			return r;
	}
	return 0;
}

static int alloc_sections(struct sonde_config *cfg,
			  const struct sonde_cfg_section *const *sections, size_t n)
{
	/* a copy: callers build the list on their stack (main.c) */
	const struct sonde_cfg_section **copy = calloc(n ? n : 1, sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		copy[i] = sections[i];
	cfg->sections = copy;
	cfg->n_sections = n;
	cfg->data = calloc(n ? n : 1, sizeof(void *));
	if (!cfg->data)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cfg->data[i] = calloc(1, sections[i]->size ? sections[i]->size : 1);
		if (!cfg->data[i])
			return -ENOMEM;
		if (sections[i]->fields)
			set_defaults(sections[i]->fields, cfg->data[i]);
	}
	return 0;
}

static int apply_document(struct cfg_ctx *c, struct sonde_config *cfg)
{
	yaml_node_t *root = yaml_document_get_root_node(c->doc);

	if (!root)
		return 0; /* empty file: defaults */
	if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return cfg_error(c, root, "the top level must be a mapping of sections");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *key = scalar(k);
		size_t i;
		int r;

		if (!key)
			return cfg_error(c, k, "section names must be plain strings");
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(c->doc, q->key));

			if (prev && strcmp(prev, key) == 0)
				return cfg_error(c, k, "duplicate section '%s'", key);
		}
		for (i = 0; i < cfg->n_sections; i++)
			if (strcmp(cfg->sections[i]->key, key) == 0)
				break;
		if (i == cfg->n_sections) {
			char known[384];
			size_t o = 0;

			known[0] = '\0';
			for (size_t j = 0; j < cfg->n_sections && o < sizeof(known); j++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      o ? ", " : "", cfg->sections[j]->key);
			return cfg_error(c, k, "unknown section '%s' (known: %s)", key, known);
		}
		if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)
			continue;
		if (v->type != YAML_MAPPING_NODE)
			return cfg_error(c, v, "section '%s' must be a mapping", key);
		/* A module this build leaves out: its section is accepted unread. */
		if (!cfg->sections[i]->fields)
			continue;
		if ((r = apply_map(c, cfg->sections[i]->fields, cfg->data[i], v, key)) < 0)
			return r;
	}
	return 0;
}

static int load_common(const char *name, FILE *in, const char *str,
		       const struct sonde_cfg_section *const *sections, size_t n,
		       struct sonde_config **ret_cfg, char *errbuf, size_t errlen)
{
	struct cfg_ctx c = { .file = name, .err = errbuf, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	struct sonde_config *cfg;
	int err;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	if ((err = alloc_sections(cfg, sections, n)) < 0)
		goto fail;
	if (in || str) {
		if (!yaml_parser_initialize(&parser)) {
			err = -ENOMEM;
			goto fail;
		}
		if (in)
			yaml_parser_set_input_file(&parser, in);
		else
			yaml_parser_set_input_string(&parser, (const unsigned char *)str, strlen(str));
		if (!yaml_parser_load(&parser, &doc)) {
			if (parser.context)
				snprintf(errbuf, errlen,
					 "%s:%zu:%zu: YAML syntax error: %s (%s started at line %zu)",
					 name, (size_t)parser.problem_mark.line + 1,
					 (size_t)parser.problem_mark.column + 1,
					 parser.problem ? parser.problem : "unknown", parser.context,
					 (size_t)parser.context_mark.line + 1);
			else
				snprintf(errbuf, errlen, "%s:%zu:%zu: YAML syntax error: %s", name,
					 (size_t)parser.problem_mark.line + 1,
					 (size_t)parser.problem_mark.column + 1,
					 parser.problem ? parser.problem : "unknown");
			yaml_parser_delete(&parser);
			err = -EINVAL;
			goto fail;
		}
		c.doc = &doc;
		err = apply_document(&c, cfg);
		yaml_document_delete(&doc);
		/* A second document in the stream is a mistake, not ignored. */
		if (err == 0 && yaml_parser_load(&parser, &doc)) {
			if (yaml_document_get_root_node(&doc)) {
				snprintf(errbuf, errlen, "%s: more than one YAML document", name);
				err = -EINVAL;
			}
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
		if (err < 0)
			goto fail;
	}
	*ret_cfg = cfg;
	return 0;
fail:
	sonde_config_free(cfg);
	return err;
}

int sonde_config_load(const char *path, const struct sonde_cfg_section *const *sections,
		      size_t n, struct sonde_config **ret_cfg, char *errbuf, size_t errlen)
{
	struct sonde_config *cfg = NULL;
	FILE *f = NULL;
	int err;

	if (path) {
		f = fopen(path, "r");
		if (!f) {
			err = -errno;
			snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
			return err;
		}
	}
	err = load_common(path ? path : "<defaults>", f, NULL, sections, n, &cfg, errbuf, errlen);
	if (f)
		fclose(f);
	if (err < 0)
		return err;
	if (path)
		snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	*ret_cfg = cfg;
	return 0;
}

int sonde_config_load_string(const char *name, const char *yaml,
			     const struct sonde_cfg_section *const *sections, size_t n,
			     struct sonde_config **ret_cfg, char *errbuf, size_t errlen)
{
	return load_common(name, NULL, yaml, sections, n, ret_cfg, errbuf, errlen);
}

void sonde_config_free(struct sonde_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->data && i < cfg->n_sections; i++)
		free(cfg->data[i]);
	free(cfg->data);
	free((void *)cfg->sections);
	free(cfg);
}

void *sonde_config_section(const struct sonde_config *cfg, const char *key)
{
	for (size_t i = 0; cfg && i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i]->key, key) == 0)
			return cfg->data[i];
	return NULL;
}

static void print_help(FILE *out, int indent, const char *help)
{
	const char *s = help;

	while (s && *s) {
		const char *e = strchr(s, '\n');
		int l = e ? (int)(e - s) : (int)strlen(s);

		fprintf(out, "%*s# %.*s\n", indent, "", l, s);
		s += l + (e ? 1 : 0);
	}
}

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const char *p = s; *p; p++)
		if (strchr(":#{}[],&*!|>'\"%@`", *p) || *p == ' ')
			return true;
	return false;
}

static void print_scalar(FILE *out, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static void print_fields(FILE *out, const struct sonde_cfg_field *fields, int indent)
{
	for (const struct sonde_cfg_field *f = fields; f->name; f++) {
		print_help(out, indent, f->help);
		switch (f->type) {
		case SONDE_CFG_SECTION:
			fprintf(out, "%*s%s:\n", indent, "", f->name);
			print_fields(out, f->sub, indent + 2);
			break;
		case SONDE_CFG_LIST:
			fprintf(out, "%*s%s: []\n", indent, "", f->name);
			fprintf(out, "%*s# each entry:\n", indent, "");
			fprintf(out, "%*s# - ", indent, "");
			for (const struct sonde_cfg_field *s = f->sub; s->name; s++)
				fprintf(out, "%s%s", s == f->sub ? "" : ", ", s->name);
			fputc('\n', out);
			break;
		case SONDE_CFG_STRLIST:
			fprintf(out, "%*s%s: [", indent, "", f->name);
			if (f->def) {
				const char *s = f->def;
				bool first = true;

				while (*s) {
					const char *e = strchr(s, ',');
					size_t l = e ? (size_t)(e - s) : strlen(s);
					char item[512];

					snprintf(item, sizeof(item), "%.*s", (int)l, s);
					fputs(first ? "" : ", ", out);
					print_scalar(out, item);
					first = false;
					s += l + (e ? 1 : 0);
				}
			}
			fputs("]\n", out);
			break;
		default:
			fprintf(out, "%*s%s: ", indent, "", f->name);
			print_scalar(out, f->def ? f->def :
					  (f->type == SONDE_CFG_BOOL ? "false" :
					   f->type == SONDE_CFG_INT ? "0" : ""));
			fputc('\n', out);
		}
	}
}

void sonde_config_print_default(FILE *out, const struct sonde_cfg_section *const *sections,
				size_t n)
{
	fprintf(out, "# sonde configuration: every key with its default.\n");
	for (size_t i = 0; i < n; i++) {
		if (!sections[i]->fields)
			continue;
		fputc('\n', out);
		print_help(out, 0, sections[i]->help);
		fprintf(out, "%s:\n", sections[i]->key);
		print_fields(out, sections[i]->fields, 2);
	}
}
