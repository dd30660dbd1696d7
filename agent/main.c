// SPDX-License-Identifier: MIT
/* sonde: CLI, signals, systemd notification, module lifecycle. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "heap.h"
#include "log.h"
#include "module.h"

#define DEFAULT_CONFIG "/etc/sonde/sonde.yaml"

extern const struct sonde_module_ops *const sonde_modules[];
extern const size_t sonde_n_modules;

/* The parsed command line: the agent's one global besides the log level. */
static struct {
	const char *config;
	bool config_explicit;
} cli = { .config = DEFAULT_CONFIG };

/* Room for this many modules (checked at start). */
#define SONDE_MAX_MODULES 64

struct running {
	struct sonde_agent agent;
	struct sonde_config *config;
	void *states[SONDE_MAX_MODULES];
	bool started[SONDE_MAX_MODULES];
	struct sonde_timer *watchdog;
	int sigfd;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: sonde [OPTIONS]\n"
		"Host observability agent: HTTP, database and cache latency from eBPF,\n"
		"packets and logs; host and per-service resources; Prometheus metrics.\n"
		"\n"
		"  -c, --config FILE          configuration file (default " DEFAULT_CONFIG ";\n"
		"                             built-in defaults when that file does not exist)\n"
		"      --check-config FILE    validate FILE and exit: 0 if good, else 1 with\n"
		"                             file:line: what is wrong\n"
		"      --print-default-config print every setting with its default and exit\n"
		"  -V, --version              print the version and exit\n"
		"  -h, --help                 print this help and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop, SIGHUP reloads the configuration (a bad new\n"
		"configuration is reported and the running one kept).\n"
		"Metrics: http://127.0.0.1:9745/metrics by default (prometheus.listen).\n");
}

static size_t collect_sections(const struct sonde_cfg_section **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < sonde_n_modules && n < cap; i++)
		if (sonde_modules[i]->config)
			out[n++] = sonde_modules[i]->config;
	return n;
}

static int load_config(const char *path, bool explicit_path, struct sonde_config **ret_cfg)
{
	const struct sonde_cfg_section *sections[64];
	size_t n = collect_sections(sections, 64);
	char err[1024];
	int r;

	if (!explicit_path && access(path, F_OK) < 0 && errno == ENOENT) {
		sonde_log(SONDE_LOG_NOTICE, "agent", "config",
			  "%s not found, running on built-in defaults", path);
		path = NULL;
	}
	r = sonde_config_load(path, sections, n, ret_cfg, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s\n", err);
	return r;
}

/* Stops and frees every module but those keep[] marks (NULL: all). */
static void modules_stop_but(struct running *run, const bool *keep)
{
	for (size_t i = sonde_n_modules; i-- > 0;) {
		if (keep && keep[i])
			continue;
		if (run->started[i] && sonde_modules[i]->stop)
			sonde_modules[i]->stop(run->states[i]);
		run->started[i] = false;
	}
	for (size_t i = sonde_n_modules; i-- > 0;) {
		if (keep && keep[i])
			continue;
		if (run->states[i] && sonde_modules[i]->free)
			sonde_modules[i]->free(run->states[i]);
		run->states[i] = NULL;
	}
}

static void modules_stop(struct running *run)
{
	modules_stop_but(run, NULL);
}

/* Initialises (and starts) every module but those keep[] marks (NULL: all). */
static int modules_init_but(struct running *run, bool start, const bool *keep)
{
	int r = 0;

	run->agent.config = run->config;
	for (size_t i = 0; i < sonde_n_modules; i++) {
		const struct sonde_module_ops *m = sonde_modules[i];
		void *section = m->config ? sonde_config_section(run->config, m->config->key) : NULL;

		if (keep && keep[i])
			continue;
		r = m->init(&run->agent, section, &run->states[i]);
		if (r < 0) {
			sonde_log(SONDE_LOG_ERR, "module", m->name, "cannot initialise: %s",
				  strerror(-r));
			goto fail;
		}
	}
	for (size_t i = 0; start && i < sonde_n_modules; i++) {
		const struct sonde_module_ops *m = sonde_modules[i];

		if ((keep && keep[i]) || !run->states[i] || !m->start)
			continue;
		r = m->start(run->states[i]);
		if (r < 0) {
			sonde_log(SONDE_LOG_ERR, "module", m->name, "cannot start: %s", strerror(-r));
			goto fail;
		}
		run->started[i] = true;
	}
	return 0;
fail:
	modules_stop_but(run, keep);
	return r;
}

static int modules_init(struct running *run, bool start)
{
	return modules_init_but(run, start, NULL);
}

/*
 * A module that allows it (keep_on_reload) and whose section is the same,
 * byte for byte, in both configurations goes on running across a reload.
 */
static bool keeps_running(const struct sonde_module_ops *m, const struct sonde_config *a,
			  const struct sonde_config *b)
{
	const void *x, *y;

	if (!m->keep_on_reload || !m->config)
		return false;
	x = sonde_config_section(a, m->config->key);
	y = sonde_config_section(b, m->config->key);
	return x && y && memcmp(x, y, m->config->size) == 0;
}

/* The core every module needs: registry, loop, pipeline (freed with the config). */
static int core_new(struct running *run)
{
	int r;

	if ((r = sonde_registry_new(0, &run->agent.registry)) < 0 ||
	    (r = sonde_loop_new(&run->agent.loop)) < 0 ||
	    (r = sonde_pipeline_new(run->agent.registry, &run->agent.pipeline)) < 0)
		return r;
	return 0;
}

static void core_free(struct running *run)
{
	sonde_pipeline_free(run->agent.pipeline);
	sonde_loop_free(run->agent.loop);
	sonde_registry_free(run->agent.registry);
	sonde_config_free(run->config);
}

static int check_config(const char *path)
{
	struct running run = { 0 };
	int r;

	sonde_log_set_level(SONDE_LOG_ERR);
	if (load_config(path, true, &run.config) < 0)
		return 1;
	/* Modules validate what the schema cannot (formats, patterns). */
	r = core_new(&run) < 0 || modules_init(&run, false) < 0 ? 1 : 0;
	modules_stop(&run);
	if (r == 0)
		printf("%s: configuration is valid\n", path);
	core_free(&run);
	return r;
}

static void reload(struct running *run)
{
	struct sonde_config *old = run->config, *nc = NULL;
	bool keep[SONDE_MAX_MODULES] = { false };

	sd_notify(0, "RELOADING=1");
	if (load_config(cli.config, cli.config_explicit, &nc) < 0) {
		sonde_log(SONDE_LOG_ERR, "agent", "reload",
			  "new configuration rejected, keeping the running one");
		sd_notify(0, "READY=1");
		return;
	}
	for (size_t i = 0; i < sonde_n_modules; i++) {
		keep[i] = keeps_running(sonde_modules[i], old, nc);
		if (keep[i])
			sonde_log(SONDE_LOG_INFO, "agent", "reload",
				  "module %s: configuration unchanged, kept running",
				  sonde_modules[i]->name);
	}
	modules_stop_but(run, keep);
	run->config = nc;
	sonde_heap_start_policy();
	if (modules_init_but(run, true, keep) < 0) {
		sonde_log(SONDE_LOG_ERR, "agent", "reload",
			  "new configuration failed to start, restoring the previous one");
		sonde_config_free(nc);
		run->config = old;
		if (modules_init_but(run, true, keep) < 0)
			sonde_log(SONDE_LOG_ERR, "agent", "reload",
				  "previous configuration failed to start again");
	} else {
		sonde_config_free(old);
		malloc_trim(0);
		sonde_log(SONDE_LOG_INFO, "agent", "reload", "configuration reloaded");
	}
	sonde_heap_keep_scrape_memory();
	sd_notify(0, "READY=1");
}

static void on_signal(int fd, uint32_t events, void *userdata)
{
	struct running *run = userdata;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(run);
		} else {
			sonde_log(SONDE_LOG_INFO, "agent", "core", "received %s, stopping",
				  strsignal((int)si.ssi_signo));
			sd_notify(0, "STOPPING=1");
			sonde_loop_quit(run->agent.loop);
		}
	}
}

static void on_watchdog(void *userdata)
{
	(void)userdata;
	sd_notify(0, "WATCHDOG=1");
}

static int run_agent(void)
{
	struct running run = { .sigfd = -1 };
	uint64_t wd_usec = 0;
	sigset_t mask;
	int r = 1;

	if (load_config(cli.config, cli.config_explicit, &run.config) < 0)
		return 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	run.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (run.sigfd < 0 || core_new(&run) < 0 ||
	    sonde_loop_add_fd(run.agent.loop, run.sigfd, EPOLLIN, on_signal, &run) < 0) {
		sonde_log(SONDE_LOG_ERR, "agent", "core", "cannot set up: %s", strerror(errno));
		goto out;
	}
	sonde_heap_start_policy();
	if (modules_init(&run, true) < 0)
		goto out;
	/* Start-up scratch (BTF for CO-RE, config parsing) is freed by now. */
	malloc_trim(0);
	sonde_heap_keep_scrape_memory();
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
		sonde_loop_add_timer(run.agent.loop, wd_usec / 2000, on_watchdog, NULL,
				     &run.watchdog);
	sd_notify(0, "READY=1\nSTATUS=running");
	sonde_log(SONDE_LOG_INFO, "agent", "core", "sonde %s running (config: %s)", SONDE_VERSION,
		  run.config->path[0] ? run.config->path : "built-in defaults");
	r = sonde_loop_run(run.agent.loop) < 0 ? 1 : 0;
	modules_stop(&run);
out:
	if (run.watchdog)
		sonde_loop_del_timer(run.agent.loop, run.watchdog);
	core_free(&run);
	if (run.sigfd >= 0)
		close(run.sigfd);
	return r;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_PRINT };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, OPT_CHECK },
		{ "print-default-config", no_argument, NULL, OPT_PRINT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	if (sonde_n_modules > SONDE_MAX_MODULES) {
		fprintf(stderr, "sonde: too many modules\n");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.config = optarg;
			cli.config_explicit = true;
			break;
		case OPT_CHECK:
			return check_config(optarg);
		case OPT_PRINT: {
			const struct sonde_cfg_section *sections[64];

			sonde_config_print_default(stdout, sections, collect_sections(sections, 64));
			return 0;
		}
		case 'V':
			printf("sonde %s\n", SONDE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sonde: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return run_agent();
}
