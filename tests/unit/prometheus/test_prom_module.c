// SPDX-License-Identifier: MIT
/*
 * The `prometheus:` section through the agent's real config loader, and
 * the module lifecycle (init/start/stop/free) as the agent drives it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "module.h"
#include "registry.h"

extern const struct sonde_module_ops sonde_prometheus_module;

static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int load(const char *yaml, struct sonde_config **ret, char *err, size_t errlen)
{
	const struct sonde_cfg_section *sections[] = { sonde_prometheus_module.config };

	return sonde_config_load_string("test.yaml", yaml, sections, 1, ret, err, errlen);
}

static bool healthz(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *req = "GET /healthz HTTP/1.0\r\n\r\n";
	char buf[512] = { 0 };
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return false;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		close(fd);
		return false;
	}
	while (len < sizeof(buf) - 1 && (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
		len += (size_t)n;
	close(fd);
	return strncmp(buf, "HTTP/1.0 200", 12) == 0 || strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

static void test_defaults_documented(void **state)
{
	const struct sonde_cfg_section *sections[] = { sonde_prometheus_module.config };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	sonde_config_print_default(f, sections, 1);
	fclose(f);
	assert_non_null(strstr(text, "prometheus:"));
	assert_non_null(strstr(text, "127.0.0.1:9745"));
	assert_non_null(strstr(text, "max_connections"));
	assert_non_null(strstr(text, "gzip"));
	free(text);
	assert_string_equal(sonde_prometheus_module.name, "prometheus");
	assert_string_equal(sonde_prometheus_module.config->key, "prometheus");
}

static void test_lifecycle(void **state)
{
	struct sonde_registry *reg;
	struct sonde_config *cfg;
	struct sonde_agent agent = { 0 };
	unsigned port = free_port();
	char yaml[256], err[512];
	void *st = NULL, *st2 = NULL;

	snprintf(yaml, sizeof(yaml),
		 "prometheus:\n  listen: \"127.0.0.1:%u\"\n  max_connections: 3\n  gzip: false\n", port);
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	agent.config = cfg;
	agent.registry = reg;
	assert_int_equal(sonde_prometheus_module.init(&agent, sonde_config_section(cfg, "prometheus"), &st), 0);
	assert_non_null(st);
	assert_int_equal(sonde_prometheus_module.start(st), 0);
	assert_true(healthz(port));

	/* a second instance on the same port: start fails with the errno */
	assert_int_equal(sonde_prometheus_module.init(&agent, sonde_config_section(cfg, "prometheus"), &st2), 0);
	assert_int_equal(sonde_prometheus_module.start(st2), -EADDRINUSE);
	sonde_prometheus_module.free(st2);

	/* reload: stop, free, init again with the same registry */
	sonde_prometheus_module.stop(st);
	sonde_prometheus_module.stop(st);
	assert_false(healthz(port));
	sonde_prometheus_module.free(st);
	assert_int_equal(sonde_prometheus_module.init(&agent, sonde_config_section(cfg, "prometheus"), &st), 0);
	assert_int_equal(sonde_prometheus_module.start(st), 0);
	assert_true(healthz(port));
	sonde_prometheus_module.stop(st);
	sonde_prometheus_module.free(st);
	sonde_prometheus_module.free(NULL);
	sonde_config_free(cfg);
	sonde_registry_free(reg);
}

static void test_disabled(void **state)
{
	struct sonde_registry *reg;
	struct sonde_config *cfg;
	struct sonde_agent agent = { 0 };
	char err[512];
	void *st = (void *)1;

	assert_int_equal(load("prometheus:\n  enabled: false\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	agent.config = cfg;
	agent.registry = reg;
	assert_int_equal(sonde_prometheus_module.init(&agent, sonde_config_section(cfg, "prometheus"), &st), 0);
	assert_null(st);
	sonde_config_free(cfg);
	sonde_registry_free(reg);
}

static void expect_bad(const char *yaml, const char *what)
{
	struct sonde_config *cfg = NULL;
	char err[512] = "";

	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "test.yaml:") || !strstr(err, what))
		fail_msg("error for %s: %s", what, err);
	sonde_config_free(cfg);
}

static void test_bad_values(void **state)
{
	expect_bad("prometheus:\n  listen: \"nope\"\n", "listen");
	expect_bad("prometheus:\n  listen: \"127.0.0.1:70000\"\n", "listen");
	expect_bad("prometheus:\n  max_connections: 0\n", "max_connections");
	expect_bad("prometheus:\n  gzip: maybe\n", "gzip");
	expect_bad("prometheus:\n  port: 9745\n", "port");
}

static void test_ipv6_listen_accepted(void **state)
{
	struct sonde_config *cfg = NULL;
	char err[512];

	assert_int_equal(load("prometheus:\n  listen: \"[::1]:9745\"\n", &cfg, err, sizeof(err)), 0);
	sonde_config_free(cfg);
	assert_int_equal(load("prometheus:\n  listen: \"localhost:9745\"\n", &cfg, err, sizeof(err)), 0);
	sonde_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_documented),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_ipv6_listen_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
