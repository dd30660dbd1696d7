// SPDX-License-Identifier: MIT
/*
 * Scrape benchmark.
 *   bench_scrape render [--series N] [--iters K]
 *       in-process: snapshot + format of N registry series, p50/p99
 *   bench_scrape serve [--series N]
 *       fills a registry, serves it on 127.0.0.1:<free>, prints "port P",
 *       runs until stdin closes
 *   bench_scrape scrape --port P --pid PID [--n N] [--gzip] [--om]
 *       N sequential scrapes (HTTP/1.0, one connection each, like a cold
 *       scraper); latency p50/p99 and the server's CPU per scrape from
 *       /proc/PID/stat; prints one key=value line
 * Series mix: 60% counters, 30% gauges, 10% histograms (OTel buckets).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "heap.h"
#include "prom_buf.h"
#include "prom_format.h"
#include "prom_server.h"
#include "registry.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

static int fill(struct sonde_registry *reg, unsigned n)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
	unsigned n_counter = n * 6 / 10, n_gauge = n * 3 / 10, n_hist = n - n_counter - n_gauge;
	uint64_t x = 88172645463325252ull;
	char a[32], b[32], c[32];
	int err;

	for (unsigned i = 0; i < n_counter; i++) {
		struct sonde_family_desc d = {
			.help = "Bench counter.", .type = SONDE_COUNTER,
			.labels = { "service", "route", "method" }, .max_series = 1000000,
		};
		char name[64];
		struct sonde_family *f;
		const char *v[3] = { a, b, methods[i % 4] };

		snprintf(name, sizeof(name), "bench_requests_%u_total", i % 6);
		d.name = name;
		if ((err = sonde_registry_add(reg, &d, &f)))
			return err;
		snprintf(a, sizeof(a), "svc-%u", i % 50);
		snprintf(b, sizeof(b), "/api/v1/resource%u/:id", i);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sonde_counter_add(sonde_family_series(f, v), (double)(x % 10000000));
	}
	for (unsigned i = 0; i < n_gauge; i++) {
		struct sonde_family_desc d = {
			.help = "Bench gauge.", .type = SONDE_GAUGE,
			.labels = { "service", "queue" }, .max_series = 1000000,
		};
		char name[64];
		struct sonde_family *f;
		const char *v[2] = { a, c };

		snprintf(name, sizeof(name), "bench_queue_%u_bytes", i % 3);
		d.name = name;
		if ((err = sonde_registry_add(reg, &d, &f)))
			return err;
		snprintf(a, sizeof(a), "svc-%u", i % 50);
		snprintf(c, sizeof(c), "q%u", i);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sonde_gauge_set(sonde_family_series(f, v), (double)(x % 1000000) / 7.0);
	}
	for (unsigned i = 0; i < n_hist; i++) {
		struct sonde_family_desc d = {
			.name = "bench_request_duration_seconds", .help = "Bench histogram.",
			.unit = "seconds", .type = SONDE_HISTOGRAM,
			.labels = { "http_route", "http_request_method" },
			.buckets = sonde_buckets_otel_seconds,
			.n_buckets = sonde_buckets_otel_seconds_n, .max_series = 1000000,
		};
		struct sonde_family *f;
		struct sonde_series *s;
		const char *v[2] = { b, methods[i % 4] };

		if ((err = sonde_registry_add(reg, &d, &f)))
			return err;
		snprintf(b, sizeof(b), "/api/v2/thing%u", i);
		s = sonde_family_series(f, v);
		for (int k = 0; k < 20; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			sonde_histogram_observe(s, (double)(x % 5000) / 1000.0);
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, unsigned n, double p)
{
	unsigned i = (unsigned)ceil(p * n) - 1;

	return v[i < n ? i : n - 1];
}

static double cpu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Like a scrape in the server: snapshot, then format into a buffer reused
 * from the last scrape. Wall and thread-CPU times: on a loaded machine the
 * CPU time is the one that says what rendering costs.
 */
static int do_render(int argc, char **argv)
{
	unsigned n = (unsigned)atoi(arg(argc, argv, "--series", "10000"));
	unsigned iters = (unsigned)atoi(arg(argc, argv, "--iters", "200"));
	double *t[6];
	static const char *const names[6] = { "snapshot_wall", "snapshot_cpu", "format_text_wall",
					      "format_text_cpu", "format_om_wall", "format_om_cpu" };
	struct sonde_registry *reg;
	struct sonde_buf out;
	size_t bytes = 0, lines = 0;

	for (int k = 0; k < 6; k++)
		t[k] = calloc(iters, sizeof(double));
	if (sonde_registry_new(0, &reg) || fill(reg, n))
		return 1;
	sonde_buf_init(&out, 0);
	for (unsigned i = 0; i < iters; i++) {
		struct sonde_snapshot *snap;
		double w0 = now_s(), c0 = cpu_now_s(), w1, c1, w2, c2;

		if (sonde_registry_snapshot(reg, &snap))
			return 1;
		w1 = now_s(), c1 = cpu_now_s();
		out.len = 0;
		if (sonde_prom_format(snap, SONDE_PROM_TEXT, &out))
			return 1;
		w2 = now_s(), c2 = cpu_now_s();
		bytes = out.len;
		if (i == 0)
			for (size_t k = 0; k < out.len; k++)
				lines += out.data[k] == '\n';
		out.len = 0;
		if (sonde_prom_format(snap, SONDE_PROM_OPENMETRICS, &out))
			return 1;
		t[4][i] = now_s() - w2;
		t[5][i] = cpu_now_s() - c2;
		sonde_snapshot_free(snap);
		t[0][i] = w1 - w0;
		t[1][i] = c1 - c0;
		t[2][i] = w2 - w1;
		t[3][i] = c2 - c1;
	}
	printf("series=%u lines=%zu bytes=%zu", n, lines, bytes);
	for (int k = 0; k < 6; k++) {
		qsort(t[k], iters, sizeof(double), cmp_double);
		printf(" %s_p50_ms=%.3f %s_p99_ms=%.3f", names[k], pct(t[k], iters, .5) * 1e3,
		       names[k], pct(t[k], iters, .99) * 1e3);
		free(t[k]);
	}
	printf("\n");
	sonde_buf_release(&out);
	sonde_registry_free(reg);
	return 0;
}

static int do_serve(int argc, char **argv)
{
	unsigned n = (unsigned)atoi(arg(argc, argv, "--series", "10000"));
	struct sonde_prom_server_opts o = { .listen = "127.0.0.1:0", .max_connections = 16, .gzip = true };
	struct sonde_registry *reg;
	struct sonde_prom_server *srv;
	char err[256], buf[64];

	if (sonde_registry_new(0, &reg) || fill(reg, n))
		return 1;
	if (sonde_prom_server_new(reg, &o, &srv) || sonde_prom_server_start(srv, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("port %u\n", sonde_prom_server_port(srv));
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
	sonde_prom_server_free(srv);
	sonde_registry_free(reg);
	return 0;
}

static double proc_cpu_s(int pid)
{
	char path[64], line[2048], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(line, ')'); /* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static ssize_t scrape_once(unsigned port, bool gz, bool om, char **buf, size_t *cap)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[512];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: bench\r\n%s%s\r\n",
		 gz ? "Accept-Encoding: gzip\r\n" : "",
		 om ? "Accept: application/openmetrics-text;version=1.0.0\r\n" : "");
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (len == *cap) {
			*cap *= 2;
			*buf = realloc(*buf, *cap);
		}
		n = recv(fd, *buf + len, *cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return n < 0 ? -1 : (ssize_t)len;
}

/* Sample lines in a response (body inflated when gzip). */
static long count_samples(const char *resp, size_t len, size_t *ret_body)
{
	const char *body = memmem(resp, len, "\r\n\r\n", 4);
	size_t blen, cap = 64u << 20;
	char *plain = NULL;
	long lines = 0;
	bool bol = true;

	if (!body)
		return -1;
	body += 4;
	blen = len - (size_t)(body - resp);
	*ret_body = blen;
	if (blen >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b) {
		z_stream zs = { 0 };

		plain = malloc(cap);
		if (!plain || inflateInit2(&zs, 31) != Z_OK)
			return -1;
		zs.next_in = (Bytef *)body;
		zs.avail_in = (uInt)blen;
		zs.next_out = (Bytef *)plain;
		zs.avail_out = (uInt)cap;
		inflate(&zs, Z_FINISH);
		blen = zs.total_out;
		inflateEnd(&zs);
		body = plain;
	}
	for (size_t i = 0; i < blen; i++) {
		if (bol && body[i] != '#' && body[i] != '\n')
			lines++;
		bol = body[i] == '\n';
	}
	free(plain);
	return lines;
}

static int do_scrape(int argc, char **argv)
{
	unsigned port = (unsigned)atoi(arg(argc, argv, "--port", "0"));
	int pid = atoi(arg(argc, argv, "--pid", "0"));
	unsigned n = (unsigned)atoi(arg(argc, argv, "--n", "200"));
	bool gz = flag(argc, argv, "--gzip"), om = flag(argc, argv, "--om");
	double *lat = calloc(n, sizeof(double)), cpu0, cpu1;
	size_t cap = 1u << 20, body = 0;
	char *buf = malloc(cap);
	ssize_t len = 0;
	long samples;

	/* warm-up: first-scrape allocations are not steady state */
	for (int i = 0; i < 3; i++)
		if (scrape_once(port, gz, om, &buf, &cap) < 0)
			return 1;
	cpu0 = proc_cpu_s(pid);
	for (unsigned i = 0; i < n; i++) {
		double t0 = now_s();

		len = scrape_once(port, gz, om, &buf, &cap);
		if (len < 0) {
			fprintf(stderr, "scrape failed: %s\n", strerror(errno));
			return 1;
		}
		lat[i] = now_s() - t0;
	}
	cpu1 = proc_cpu_s(pid);
	samples = count_samples(buf, (size_t)len, &body);
	qsort(lat, n, sizeof(double), cmp_double);
	printf("samples=%ld body_bytes=%zu p50_ms=%.3f p99_ms=%.3f cpu_ms_per_scrape=%.3f "
	       "cpu_us_per_sample=%.4f\n",
	       samples, body, pct(lat, n, .5) * 1e3, pct(lat, n, .99) * 1e3,
	       (cpu1 - cpu0) * 1e3 / n, samples > 0 ? (cpu1 - cpu0) * 1e6 / n / (double)samples : 0);
	free(lat);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	sonde_heap_keep_scrape_memory(); /* the daemon's malloc policy (agent/main.c) */
	if (argc >= 2 && strcmp(argv[1], "render") == 0)
		return do_render(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return do_serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "scrape") == 0)
		return do_scrape(argc, argv);
	fprintf(stderr, "usage: %s render|serve|scrape [options]\n", argv[0]);
	return 2;
}
