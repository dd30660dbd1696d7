// SPDX-License-Identifier: MIT
/* The logs module: its config section, and lines to metrics end to end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "logs_config.h"
#include "module.h"

extern const struct sonde_module_ops sonde_logs_module;

static const struct sonde_cfg_section *const sections[] = {
	&sonde_logs_config_section,
};

static int load(const char *yaml, struct sonde_config **ret, char *err,
		size_t errlen)
{
	return sonde_config_load_string("test.yaml", yaml, sections, 1, ret,
					err, errlen);
}

static void test_config_defaults(void **state)
{
	struct sonde_config *cfg = NULL;
	const struct sonde_logs_cfg *c;
	char err[512];

	assert_int_equal(load("logs:\n"
			      "  sources:\n"
			      "    - path: /var/log/nginx/access.log\n"
			      "    - path: /var/log/app/*.json\n"
			      "      format: json\n"
			      "      service: shop\n"
			      "      from_beginning: true\n"
			      "      max_line_length: 1024\n"
			      "      json: {status: code, duration: took, duration_unit: ms}\n",
			      &cfg, err, sizeof(err)),
			 0);
	c = sonde_config_section(cfg, "logs");
	assert_non_null(c);
	assert_string_equal(c->state_dir, "/var/lib/sonde");
	assert_int_equal(c->checkpoint_interval, 5000);
	assert_int_equal(c->poll_interval, 1000);
	assert_true(c->inotify);
	assert_int_equal(c->n_sources, 2);
	assert_string_equal(c->sources[0].fmt.format, "combined");
	assert_int_equal(c->sources[0].max_line_length, 65536);
	assert_false(c->sources[0].from_beginning);
	assert_string_equal(c->sources[1].fmt.format, "json");
	assert_string_equal(c->sources[1].fmt.service, "shop");
	assert_string_equal(c->sources[1].fmt.json.status, "code");
	assert_string_equal(c->sources[1].fmt.json.duration, "took");
	assert_string_equal(c->sources[1].fmt.json.duration_unit, "ms");
	assert_int_equal(c->sources[1].max_line_length, 1024);
	assert_true(c->sources[1].from_beginning);
	sonde_config_free(cfg);
}

static void test_config_bad(void **state)
{
	struct sonde_config *cfg = NULL;
	char err[512];

	assert_int_equal(load("logs:\n"
			      "  sources:\n"
			      "    - path: /x\n"
			      "      max_line_length: 99999999\n",
			      &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "test.yaml:4"));
	assert_int_equal(load("logs:\n"
			      "  sources:\n"
			      "    - path: /x\n"
			      "      colour: red\n",
			      &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "colour"));
}

struct env {
	char dir[64];
	struct sonde_registry *reg;
	struct sonde_pipeline *pipe;
	struct sonde_agent agent;
	struct sonde_config *cfg;
	void *state;
};

static void env_start(struct env *e, const char *yaml_fmt)
{
	char yaml[4096], err[512];

	strcpy(e->dir, "/tmp/sonde-logsmod-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(yaml, sizeof(yaml), yaml_fmt, e->dir, e->dir, e->dir);
	assert_int_equal(load(yaml, &e->cfg, err, sizeof(err)), 0);
	assert_int_equal(sonde_registry_new(0, &e->reg), 0);
	assert_int_equal(sonde_pipeline_new(e->reg, &e->pipe), 0);
	e->agent = (struct sonde_agent){ .config = e->cfg,
					 .registry = e->reg,
					 .pipeline = e->pipe };
	assert_int_equal(sonde_logs_module.init(&e->agent,
						sonde_config_section(e->cfg, "logs"),
						&e->state),
			 0);
	assert_non_null(e->state);
}

static void env_stop(struct env *e)
{
	char cmd[128];

	sonde_logs_module.stop(e->state);
	sonde_logs_module.free(e->state);
	sonde_pipeline_free(e->pipe);
	sonde_registry_free(e->reg);
	sonde_config_free(e->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
}

/* Sum of a family's series whose first label equals v (NULL: all). */
static double value(struct sonde_registry *reg, const char *fam, const char *v)
{
	struct sonde_snapshot *snap;
	double sum = 0;

	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	for (size_t i = 0; i < snap->n_families; i++) {
		const struct sonde_snap_family *f = &snap->families[i];

		if (strcmp(f->name, fam) != 0)
			continue;
		for (size_t j = 0; j < f->n_series; j++) {
			if (v && strcmp(f->series[j].values[0], v) != 0)
				continue;
			sum += f->type == SONDE_HISTOGRAM ?
				       (double)f->series[j].count :
				       f->series[j].value;
		}
	}
	sonde_snapshot_free(snap);
	return sum;
}

static void wait_value(struct sonde_registry *reg, const char *fam,
		       const char *v, double want)
{
	for (int i = 0; i < 500; i++) {
		if (value(reg, fam, v) >= want)
			break;
		usleep(10000);
	}
	assert_true(value(reg, fam, v) == want);
}

static void append(const char *path, const char *s)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

#define LINE(path, status) \
	"127.0.0.1 - - [22/Nov/2026:04:00:00 +0000] \"GET " path \
	" HTTP/1.1\" " status " 12 \"-\" \"curl\"\n"

static void test_lines_to_metrics(void **state)
{
	struct env e = { 0 };
	char path[128], dump[128], buf[4096];
	FILE *f;
	size_t n;

	env_start(&e, "logs:\n"
		      "  state_dir: %s/state\n"
		      "  poll_interval: 50ms\n"
		      "  debug_dump: %s/dump\n"
		      "  sources:\n"
		      "    - path: %s/*.log\n"
		      "      format: combined\n"
		      "      service: web\n"
		      "      max_line_length: 200\n");
	snprintf(path, sizeof(path), "%s/access.log", e.dir);
	snprintf(dump, sizeof(dump), "%s/dump", e.dir);
	append(path, LINE("/old", "200"));
	assert_int_equal(sonde_logs_module.start(e.state), 0);
	usleep(100000);
	append(path, LINE("/a", "200") LINE("/b", "404") "garbage\n");
	wait_value(e.reg, "sonde_log_lines_total", path, 3);
	wait_value(e.reg, "http_server_request_duration_seconds", NULL, 2);
	assert_true(value(e.reg, "sonde_log_parse_errors_total", path) == 1);
	assert_true(value(e.reg, "sonde_log_bytes_total", path) ==
		    (double)(strlen(LINE("/a", "200")) +
			     strlen(LINE("/b", "404")) + strlen("garbage\n")));
	assert_true(value(e.reg, "sonde_log_files_watched", path) == 1);
	memset(buf, 'x', 300);
	buf[300] = '\n';
	buf[301] = '\0';
	append(path, buf);
	wait_value(e.reg, "sonde_log_lines_truncated_total", path, 1);
	sonde_logs_module.stop(e.state);
	/* the dump holds exactly the lines read, the long one cut */
	f = fopen(dump, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_int_equal(n, strlen(LINE("/a", "200")) + strlen(LINE("/b", "404")) +
				    strlen("garbage\n") + 201);
	env_stop(&e);
}

static void test_raw_and_restart(void **state)
{
	struct env e = { 0 };
	char path[128];

	env_start(&e, "logs:\n"
		      "  state_dir: %s/state\n"
		      "  poll_interval: 50ms\n"
		      "  inotify: false\n"
		      "  sources:\n"
		      "    - path: %s/app.log\n"
		      "      format: raw\n"
		      "      from_beginning: true\n"
		      "# %s\n");
	snprintf(path, sizeof(path), "%s/app.log", e.dir);
	append(path, "one\ntwo\n");
	assert_int_equal(sonde_logs_module.start(e.state), 0);
	wait_value(e.reg, "sonde_log_lines_total", path, 2);
	assert_true(value(e.reg, "sonde_log_inotify", NULL) == 0);
	/* stop saves the offset; a second start resumes after "two" */
	sonde_logs_module.stop(e.state);
	append(path, "three\n");
	assert_int_equal(sonde_logs_module.start(e.state), 0);
	wait_value(e.reg, "sonde_log_lines_total", path, 3);
	usleep(200000);
	assert_true(value(e.reg, "sonde_log_lines_total", path) == 3);
	env_stop(&e);
}

static void test_multiline_flushed_when_idle(void **state)
{
	struct env e = { 0 };
	char path[128];

	env_start(&e, "logs:\n"
		      "  state_dir: %s/state\n"
		      "  flush_idle: 1s\n"
		      "  sources:\n"
		      "    - path: %s/pg.log\n"
		      "      format: postgres\n"
		      "# %s\n");
	snprintf(path, sizeof(path), "%s/pg.log", e.dir);
	append(path, "");
	assert_int_equal(sonde_logs_module.start(e.state), 0);
	usleep(100000);
	/* a statement may go on in the next lines: the format holds it */
	append(path, "2026-11-22 04:38:20.388 UTC [15617] postgres@postgres LOG:  "
		     "duration: 14.586 ms  statement: SELECT id FROM users;\n");
	wait_value(e.reg, "sonde_log_lines_total", path, 1);
	assert_true(value(e.reg, "db_client_operation_duration_seconds", NULL) == 0);
	/* nothing follows: completed after flush_idle */
	wait_value(e.reg, "db_client_operation_duration_seconds", NULL, 1);
	env_stop(&e);
}

static void test_disabled_without_sources(void **state)
{
	struct sonde_config *cfg = NULL;
	struct sonde_agent agent = { 0 };
	void *st = (void *)1;
	char err[256];

	assert_int_equal(load("logs:\n  state_dir: /tmp\n", &cfg, err,
			      sizeof(err)),
			 0);
	assert_int_equal(sonde_logs_module.init(&agent,
						sonde_config_section(cfg, "logs"),
						&st),
			 0);
	assert_null(st);
	sonde_logs_module.free(NULL);
	sonde_config_free(cfg);
}

static void test_bad_format_refused(void **state)
{
	struct sonde_config *cfg = NULL;
	struct sonde_registry *reg;
	struct sonde_pipeline *pipe;
	struct sonde_agent agent = { 0 };
	void *st = NULL;
	char err[256];

	assert_int_equal(load("logs:\n  sources:\n    - path: /x.log\n"
			      "      format: klingon\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_pipeline_new(reg, &pipe), 0);
	agent.registry = reg;
	agent.pipeline = pipe;
	assert_true(sonde_logs_module.init(&agent, sonde_config_section(cfg, "logs"),
					   &st) < 0);
	assert_null(st);
	sonde_pipeline_free(pipe);
	sonde_registry_free(reg);
	sonde_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_lines_to_metrics),
		cmocka_unit_test(test_raw_and_restart),
		cmocka_unit_test(test_multiline_flushed_when_idle),
		cmocka_unit_test(test_disabled_without_sources),
		cmocka_unit_test(test_bad_format_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
