// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

struct src {
	char path[64];
	bool follow;
};

struct sect {
	bool enabled;
	long long port;
	char name[16];
	char mode[8];
	char listen[64];
	unsigned long long interval;
	char pats[4][32];
	unsigned n_pats;
	struct {
		long long depth;
	} inner;
	struct src srcs[3];
	unsigned n_srcs;
};

static const char *const modes[] = { "fast", "slow", NULL };

static const struct sonde_cfg_field src_fields[] = {
	{ .name = "path", .type = SONDE_CFG_STRING, .offset = offsetof(struct src, path), .size = 64 },
	{ .name = "follow", .type = SONDE_CFG_BOOL, .offset = offsetof(struct src, follow), .def = "true" },
	SONDE_CFG_END,
};

static const struct sonde_cfg_field inner_fields[] = {
	{ .name = "depth", .type = SONDE_CFG_INT, .offset = 0, .def = "3", .min = 1, .max = 9 },
	SONDE_CFG_END,
};

static const struct sonde_cfg_field fields[] = {
	{ .name = "enabled", .type = SONDE_CFG_BOOL, .offset = offsetof(struct sect, enabled), .def = "true" },
	{ .name = "port", .type = SONDE_CFG_INT, .offset = offsetof(struct sect, port), .def = "80", .min = 1, .max = 65535 },
	{ .name = "name", .type = SONDE_CFG_STRING, .offset = offsetof(struct sect, name), .size = 16, .def = "x" },
	{ .name = "mode", .type = SONDE_CFG_ENUM, .offset = offsetof(struct sect, mode), .size = 8, .def = "fast", .enum_values = modes },
	{ .name = "listen", .type = SONDE_CFG_LISTEN, .offset = offsetof(struct sect, listen), .size = 64, .def = "127.0.0.1:9745" },
	{ .name = "interval", .type = SONDE_CFG_DURATION, .offset = offsetof(struct sect, interval), .def = "10s", .min = 100, .max = 3600000 },
	{ .name = "patterns", .type = SONDE_CFG_STRLIST, .offset = offsetof(struct sect, pats), .size = 32, .max_items = 4, .count_offset = offsetof(struct sect, n_pats), .def = "*.service,*.socket" },
	{ .name = "inner", .type = SONDE_CFG_SECTION, .offset = offsetof(struct sect, inner), .sub = inner_fields },
	{ .name = "sources", .type = SONDE_CFG_LIST, .offset = offsetof(struct sect, srcs), .size = sizeof(struct src), .max_items = 3, .count_offset = offsetof(struct sect, n_srcs), .sub = src_fields },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section section = { .key = "test", .size = sizeof(struct sect), .fields = fields, .help = "t" };
static const struct sonde_cfg_section *const sections[] = { &section };

static struct sonde_config *load_ok(const char *yaml)
{
	struct sonde_config *cfg = NULL;
	char err[512] = "";
	int r = sonde_config_load_string("t.yaml", yaml, sections, 1, &cfg, err, sizeof(err));

	if (r < 0)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

static void expect_err(const char *yaml, const char *msg)
{
	struct sonde_config *cfg = NULL;
	char err[512] = "";
	int r = sonde_config_load_string("t.yaml", yaml, sections, 1, &cfg, err, sizeof(err));

	assert_true(r < 0);
	assert_null(cfg);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not contain '%s'", err, msg);
}

static void test_defaults(void **s)
{
	struct sonde_config *cfg = load_ok("");
	struct sect *t = sonde_config_section(cfg, "test");

	(void)s;
	assert_true(t->enabled);
	assert_int_equal(t->port, 80);
	assert_string_equal(t->name, "x");
	assert_string_equal(t->mode, "fast");
	assert_string_equal(t->listen, "127.0.0.1:9745");
	assert_int_equal(t->interval, 10000);
	assert_int_equal(t->n_pats, 2);
	assert_string_equal(t->pats[1], "*.socket");
	assert_int_equal(t->inner.depth, 3);
	assert_int_equal(t->n_srcs, 0);
	assert_null(sonde_config_section(cfg, "nope"));
	sonde_config_free(cfg);
}

static void test_values(void **s)
{
	struct sonde_config *cfg = load_ok(
		"test:\n"
		"  enabled: false\n"
		"  port: 8080\n"
		"  mode: slow\n"
		"  listen: \"[::1]:9000\"\n"
		"  interval: 500ms\n"
		"  patterns: [a.service]\n"
		"  inner: {depth: 9}\n"
		"  sources:\n"
		"    - path: /var/log/a\n"
		"    - path: /var/log/b\n"
		"      follow: no\n");
	struct sect *t = sonde_config_section(cfg, "test");

	(void)s;
	assert_false(t->enabled);
	assert_int_equal(t->port, 8080);
	assert_string_equal(t->mode, "slow");
	assert_string_equal(t->listen, "[::1]:9000");
	assert_int_equal(t->interval, 500);
	assert_int_equal(t->n_pats, 1);
	assert_string_equal(t->pats[0], "a.service");
	assert_int_equal(t->inner.depth, 9);
	assert_int_equal(t->n_srcs, 2);
	assert_string_equal(t->srcs[0].path, "/var/log/a");
	assert_true(t->srcs[0].follow);
	assert_false(t->srcs[1].follow);
	sonde_config_free(cfg);
}

static void test_errors(void **s)
{
	(void)s;
	expect_err("test:\n  port: [1\n", "t.yaml:3:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence started at line 2)");
	expect_err("test:\n  a: b: c\n", "t.yaml:2:");
	expect_err("test:\n  port: 1\n  bogus: 2\n", "t.yaml:3: unknown key 'bogus' in 'test'");
	expect_err("nosuch:\n  a: 1\n", "t.yaml:1: unknown section 'nosuch'");
	expect_err("test:\n\n  port: abc\n", "t.yaml:3: 'port': expected an integer, got 'abc'");
	expect_err("test:\n  port: 70000\n", "t.yaml:2: 'port': 70000 out of range [1, 65535]");
	expect_err("test:\n  enabled: maybe\n", "'enabled': expected a boolean");
	expect_err("test:\n  listen: 127.0.0.1:99999\n", "t.yaml:2: 'listen': port out of range");
	expect_err("test:\n  listen: nocolon\n", "'listen': 'nocolon' is not host:port");
	expect_err("test:\n  mode: medium\n", "'mode': 'medium' is not one of: fast slow");
	expect_err("test:\n  name: waytoolongforsixteen\n", "'name': value too long");
	expect_err("test:\n  interval: 10 parsecs\n", "'interval': expected a duration");
	expect_err("test:\n  interval: 5ms\n", "'interval': 5ms out of range");
	expect_err("test:\n  patterns: [a, b, c, d, e]\n", "'patterns': too many items");
	expect_err("test:\n  patterns: x\n", "'patterns': expected a list of strings");
	expect_err("test:\n  inner: {depth: 0}\n", "'depth': 0 out of range");
	expect_err("test:\n  inner: {wat: 1}\n", "unknown key 'wat' in 'inner'");
	expect_err("test:\n  sources: [{path: a}, {path: b}, {path: c}, {path: d}]\n", "'sources': too many entries");
	expect_err("test:\n  sources:\n    - path: a\n      nope: 1\n", "t.yaml:4: unknown key 'nope' in 'sources'");
	expect_err("test:\n  port: 1\n  port: 2\n", "t.yaml:3: duplicate key 'port'");
	expect_err("- a\n- b\n", "top level must be a mapping");
	expect_err("test: 5\n", "section 'test' must be a mapping");
	expect_err("test:\n  port: 1\n---\ntest:\n  port: 2\n", "more than one YAML document");
}

static void test_file(void **s)
{
	struct sonde_config *cfg = NULL;
	char err[512] = "";

	(void)s;
	assert_int_equal(sonde_config_load("/nonexistent/x.yaml", sections, 1, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.yaml: cannot open"));
	assert_int_equal(sonde_config_load(NULL, sections, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(((struct sect *)sonde_config_section(cfg, "test"))->port, 80);
	sonde_config_free(cfg);
}

static void test_parsers(void **s)
{
	unsigned long long ms;
	char host[64];
	unsigned port;

	(void)s;
	assert_int_equal(sonde_config_parse_duration_ms("2m", &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(sonde_config_parse_duration_ms("1h", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(sonde_config_parse_duration_ms("250", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(sonde_config_parse_duration_ms("-1s", &ms), -EINVAL);
	assert_int_equal(sonde_config_parse_duration_ms("99999999999999999999s", &ms), -ERANGE);
	assert_int_equal(sonde_config_parse_listen("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(sonde_config_parse_listen("localhost:0", host, sizeof(host), &port), -ERANGE);
	assert_int_equal(sonde_config_parse_listen(":9745", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(sonde_config_parse_listen("::1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sonde_config_parse_listen("a:12x", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sonde_config_parse_listen("a:65536", host, sizeof(host), &port), -ERANGE);
	assert_int_equal(sonde_listen_split("127.0.0.1:0", host, sizeof(host), &port), 0);
	assert_int_equal(port, 0);
}

static void test_print_default(void **s)
{
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct sonde_config *cfg = NULL;
	char err[256];

	(void)s;
	sonde_config_print_default(f, sections, 1);
	fclose(f);
	assert_non_null(strstr(buf, "test:\n"));
	assert_non_null(strstr(buf, "  port: 80\n"));
	/* What it prints loads back. */
	assert_int_equal(sonde_config_load_string("p", buf, sections, 1, &cfg, err, sizeof(err)), 0);
	sonde_config_free(cfg);
}

static void test_absent_section(void **s)
{
	static const struct sonde_cfg_section absent = { .key = "gone", .help = "not built" };
	const struct sonde_cfg_section *const two[] = { &section, &absent };
	struct sonde_config *cfg = NULL;
	char err[256] = "", buf[4096];
	FILE *f;

	(void)s;
	assert_int_equal(sonde_config_load_string("t.yaml", "gone:\n  anything: 1\ntest:\n  port: 81\n",
						  two, 2, &cfg, err, sizeof(err)), 0);
	assert_int_equal(((struct sect *)sonde_config_section(cfg, "test"))->port, 81);
	sonde_config_free(cfg);
	/* still a mapping, still one section */
	assert_true(sonde_config_load_string("t.yaml", "gone: 5\n", two, 2, &cfg, err, sizeof(err)) < 0);
	f = fmemopen(buf, sizeof(buf), "w");
	sonde_config_print_default(f, two, 2);
	fclose(f);
	assert_null(strstr(buf, "gone"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),	 cmocka_unit_test(test_file),
		cmocka_unit_test(test_parsers),	 cmocka_unit_test(test_print_default),
		cmocka_unit_test(test_absent_section),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
