// SPDX-License-Identifier: MIT
/*
 * The agent's per-record work on the eBPF path without the kernel: the
 * connection table, the protocol parsers and the pipeline, fed the byte
 * chunks of N request/response exchanges as the probe would deliver them
 * (both ends of each loopback connection, as when client and server run
 * on the same host), timed with the thread's CPU clock.
 *   sonde_bench_agent_path [http|redis|postgres] [EXCHANGES] [ROUNDS]
 * The live bench (bench.py) cannot resolve a change under ~3 % on a shared
 * 2-vCPU machine; this one is deterministic: under
 * `valgrind --tool=callgrind` the instruction count per exchange repeats
 * exactly, so agent-side changes can be compared run against run.
 * Left out: the ring buffer, record decoding and service lookup.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conntab.h"
#include "pipeline.h"
#include "protocols/protocol.h"
#include "registry.h"

#define CONNS 8 /* keep-alive connections, each seen at both ends */

struct workload {
	const char *name;
	uint16_t port;
	const char *req;
	size_t req_len;
	const char *resp;
	size_t resp_len;
	const char *counter; /* the family whose count is the exchanges seen */
};

#define S(lit) lit, sizeof(lit) - 1

static const struct workload workloads[] = {
	{ "http", 8080,
	  S("GET /api/users/123 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"),
	  S("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
	    "Date: Sun, 06 Dec 2026 17:00:00 GMT\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n"),
	  "http_server_request_duration_seconds" },
	{ "redis", 6379, S("*2\r\n$3\r\nGET\r\n$9\r\nkey:00042\r\n"), S("$3\r\nxyz\r\n"),
	  "sonde_cache_operations_total" },
	/* Query 'SELECT abalance FROM pgbench_accounts WHERE aid = 12345;',
	 * then RowDescription, DataRow, CommandComplete, ReadyForQuery */
	{ "postgres", 5432,
	  S("Q\000\000\000=SELECT abalance FROM pgbench_accounts WHERE aid = 12345;\000"),
	  S("T\000\000\000!\000\001abalance\000\000\000\000\000\000\000\000\000\000\027\000\004\377\377\377\377\000\000"
	    "D\000\000\000\013\000\001\000\000\000\0010"
	    "C\000\000\000\015SELECT 1\000"
	    "Z\000\000\000\005I"),
	  "db_client_operation_duration_seconds" },
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the module's emit adds, without the /proc lookup. */
static void on_txn(struct sonde_txn *t, const struct sonde_conn *c, void *userdata)
{
	(void)c;
	memcpy(t->process, "bench", 6);
	memcpy(t->service, "bench.service", 14);
	sonde_pipeline_submit(userdata, t);
}

static struct sonde_addr v4(uint16_t port)
{
	struct sonde_addr a = { .family = AF_INET, .port = port };

	a.addr[0] = 127;
	a.addr[3] = 1;
	return a;
}

static void chunk(struct sonde_conntab *tab, uint32_t tgid, int32_t fd, bool send,
		  const struct sonde_addr *local, const struct sonde_addr *peer,
		  const char *data, size_t len, uint64_t ts)
{
	struct sonde_conntab_chunk ch = {
		.tgid = tgid, .fd = fd, .sock_id = ((uint64_t)tgid << 20) | (uint64_t)fd,
		.send = send, .local = local, .peer = peer,
		.data = (const uint8_t *)data, .len = len, .total = len, .ts_ns = ts,
	};

	sonde_conntab_data(tab, &ch);
}

/* n exchanges round-robin over CONNS connections; ts advances 20 us each. */
static void run(struct sonde_conntab *tab, const struct workload *w, unsigned n,
		uint64_t *ts)
{
	struct sonde_addr srv = v4(w->port), cli[CONNS];

	for (unsigned c = 0; c < CONNS; c++)
		cli[c] = v4((uint16_t)(40000 + c));
	for (unsigned i = 0; i < n; i++) {
		unsigned c = i % CONNS;
		uint64_t t = *ts;

		/* client 1000 writes, server 2000 reads, answers, client reads */
		chunk(tab, 1000, 10 + (int)c, true, &cli[c], &srv, w->req, w->req_len, t);
		chunk(tab, 2000, 10 + (int)c, false, &srv, &cli[c], w->req, w->req_len, t + 2000);
		chunk(tab, 2000, 10 + (int)c, true, &srv, &cli[c], w->resp, w->resp_len, t + 15000);
		chunk(tab, 1000, 10 + (int)c, false, &cli[c], &srv, w->resp, w->resp_len, t + 17000);
		*ts = t + 20000;
	}
}

static double family_count(struct sonde_registry *reg, const char *name)
{
	struct sonde_snapshot *snap;
	double n = 0;

	if (sonde_registry_snapshot(reg, &snap))
		return -1;
	for (size_t i = 0; i < snap->n_families; i++) {
		const struct sonde_snap_family *f = &snap->families[i];

		if (strcmp(f->name, name) != 0)
			continue;
		for (size_t s = 0; s < f->n_series; s++)
			n += f->type == SONDE_HISTOGRAM ? (double)f->series[s].count :
								  f->series[s].value;
	}
	sonde_snapshot_free(snap);
	return n;
}

int main(int argc, char **argv)
{
	const struct workload *w = &workloads[0];
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 200000;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	struct sonde_conntab_opts o = {
		.max_conns = 1024, .idle_ns = 300000000000ull,
		.protos = { &sonde_proto_http1, &sonde_proto_redis, &sonde_proto_postgres },
		.n_protos = 3, .loopback_dedup = true, .emit = on_txn,
	};
	struct sonde_registry *reg;
	struct sonde_pipeline *pipe;
	struct sonde_conntab *tab;
	double best = 1e30, seen;
	uint64_t ts = 1000000000ull;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: %s [http|redis|postgres] [EXCHANGES] [ROUNDS]\n", argv[0]);
		return 0;
	}
	for (size_t i = 0; argc > 1 && i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(argv[1], workloads[i].name) == 0)
			w = &workloads[i];
	if (argc > 1 && strcmp(argv[1], w->name) != 0) {
		fprintf(stderr, "unknown workload %s (http, redis, postgres)\n", argv[1]);
		return 2;
	}
	if (n == 0 || rounds < 1 || sonde_registry_new(0, &reg) < 0 ||
	    sonde_pipeline_new(reg, &pipe) < 0)
		return 1;
	o.userdata = pipe;
	if (sonde_conntab_new(&o, &tab) < 0)
		return 1;
	for (unsigned c = 0; c < CONNS; c++) {
		struct sonde_addr srv = v4(w->port), cli = v4((uint16_t)(40000 + c));

		sonde_conntab_open(tab, 1000, 10 + (int)c, (1000ull << 20) | (10 + c),
				   SONDE_CONN_ROLE_CLIENT, &cli, &srv, ts);
		sonde_conntab_open(tab, 2000, 10 + (int)c, (2000ull << 20) | (10 + c),
				   SONDE_CONN_ROLE_SERVER, &srv, &cli, ts);
	}
	run(tab, w, CONNS * 4, &ts); /* detection and first series: not timed */
	for (int r = 0; r < rounds; r++) {
		double t0 = cpu_now(), t;

		run(tab, w, n, &ts);
		t = cpu_now() - t0;
		if (t < best)
			best = t;
	}
	seen = family_count(reg, w->counter);
	printf("%s: %u exchanges x %d rounds (both ends, %d connections), %.0f counted in %s\n",
	       w->name, n, rounds, CONNS, seen, w->counter);
	printf("agent path: %.1f ns per exchange (best round, thread CPU)\n",
	       best / (double)n * 1e9);
	sonde_conntab_free(tab);
	sonde_pipeline_free(pipe);
	sonde_registry_free(reg);
	return seen == (double)(n * (unsigned)rounds + CONNS * 4) ? 0 : 1;
}
