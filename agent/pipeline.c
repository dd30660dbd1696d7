// SPDX-License-Identifier: MIT
#include "pipeline.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "grpc.h"
#include "route.h"

struct sonde_pipeline {
	struct sonde_registry *reg;
	struct sonde_family *http_server, *http_client, *rpc_server, *rpc_client, *db;
	struct sonde_family *cache_ops, *cache_lookups, *cache_hits, *cache_dur;
	struct sonde_family *txns;
	/* sonde_transactions_total by [source][kind], looked up on first use */
	struct sonde_series *_Atomic txn_series[SONDE_SRC_LOG + 1][SONDE_TXN_CACHE + 1];
	struct sonde_route_table *_Atomic routes; /* see sonde_pipeline_set_routes */
};

static const struct sonde_family_desc http_server_desc = {
	.name = "http_server_request_duration_seconds",
	.help = "Duration of HTTP server requests, from the request's first byte to the response.",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.labels = { "http_request_method", "http_response_status_code", "http_route", "service" },
};

static const struct sonde_family_desc http_client_desc = {
	.name = "http_client_request_duration_seconds",
	.help = "Duration of HTTP client requests, from the request's first byte to the response.",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.labels = { "http_request_method", "http_response_status_code", "server_address",
		    "server_port", "service" },
};

static const struct sonde_family_desc rpc_server_desc = {
	.name = "rpc_server_call_duration_seconds",
	.help = "Duration of RPCs served (gRPC), from the request's first byte to the status.",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.labels = { "rpc_system_name", "rpc_method", "rpc_response_status_code", "error_type",
		    "service" },
};

static const struct sonde_family_desc rpc_client_desc = {
	.name = "rpc_client_call_duration_seconds",
	.help = "Duration of RPCs made (gRPC), from the request's first byte to the status.",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.labels = { "rpc_system_name", "rpc_method", "rpc_response_status_code", "error_type",
		    "server_address", "server_port", "service" },
};

static const struct sonde_family_desc db_desc = {
	.name = "db_client_operation_duration_seconds",
	.help = "Duration of database operations (wire: client-observed; logs: server-side).",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.labels = { "db_system_name", "db_operation_name", "db_query_summary", "server_address",
		    "error_type", "service" },
};

static const struct sonde_family_desc cache_ops_desc = {
	.name = "sonde_cache_operations_total",
	.help = "Cache commands observed, by command.",
	.type = SONDE_COUNTER,
	.labels = { "cache_system", "cache_operation", "error_type", "service" },
};

static const struct sonde_family_desc cache_lookups_desc = {
	.name = "sonde_cache_lookups_total",
	.help = "Keys looked up by cache read commands (MGET k1 k2 counts 2).",
	.type = SONDE_COUNTER,
	.labels = { "cache_system", "cache_operation", "service" },
};

static const struct sonde_family_desc cache_hits_desc = {
	.name = "sonde_cache_hits_total",
	.help = "Keys found by cache read commands; hit ratio = hits / lookups.",
	.type = SONDE_COUNTER,
	.labels = { "cache_system", "cache_operation", "service" },
};

static const struct sonde_family_desc cache_dur_desc = {
	.name = "sonde_cache_operation_duration_seconds",
	.help = "Duration of cache commands, client-observed.",
	.unit = "seconds",
	.type = SONDE_HISTOGRAM,
	.labels = { "cache_system", "cache_operation", "service" },
};

static const struct sonde_family_desc txns_desc = {
	.name = "sonde_transactions_total",
	.help = "Transactions turned into metrics, by source and kind.",
	.type = SONDE_COUNTER,
	.labels = { "source", "kind" },
};

int sonde_pipeline_new(struct sonde_registry *reg, struct sonde_pipeline **ret_pipe)
{
	struct {
		const struct sonde_family_desc *d;
		size_t off;
	} fams[] = {
		{ &http_server_desc, offsetof(struct sonde_pipeline, http_server) },
		{ &http_client_desc, offsetof(struct sonde_pipeline, http_client) },
		{ &rpc_server_desc, offsetof(struct sonde_pipeline, rpc_server) },
		{ &rpc_client_desc, offsetof(struct sonde_pipeline, rpc_client) },
		{ &db_desc, offsetof(struct sonde_pipeline, db) },
		{ &cache_ops_desc, offsetof(struct sonde_pipeline, cache_ops) },
		{ &cache_lookups_desc, offsetof(struct sonde_pipeline, cache_lookups) },
		{ &cache_hits_desc, offsetof(struct sonde_pipeline, cache_hits) },
		{ &cache_dur_desc, offsetof(struct sonde_pipeline, cache_dur) },
		{ &txns_desc, offsetof(struct sonde_pipeline, txns) },
	};
	struct sonde_pipeline *pipe;
	int err;

	pipe = calloc(1, sizeof(*pipe));
	if (!pipe)
		return -ENOMEM;
	pipe->reg = reg;
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		struct sonde_family_desc d = *fams[i].d;

		if (d.type == SONDE_HISTOGRAM) {
			d.buckets = sonde_buckets_otel_seconds;
			d.n_buckets = sonde_buckets_otel_seconds_n;
		}
		err = sonde_registry_add(reg, &d, (struct sonde_family **)((char *)pipe + fams[i].off));
		if (err < 0) {
			sonde_pipeline_free(pipe);
			return err;
		}
	}
	*ret_pipe = pipe;
	return 0;
}

void sonde_pipeline_free(struct sonde_pipeline *pipe)
{
	if (!pipe)
		return;
	sonde_route_table_free(atomic_load(&pipe->routes));
	free(pipe);
}

void sonde_pipeline_set_routes(struct sonde_pipeline *pipe, struct sonde_route_table *routes)
{
	sonde_route_table_free(atomic_exchange(&pipe->routes, routes));
}

static const char *service_of(const struct sonde_txn *t)
{
	if (t->service[0])
		return t->service;
	if (t->process[0])
		return t->process;
	return "unknown";
}

/* The decimal text of a status code or a port, in room for 12 (snprintf
 * is a tenth of a log line). */
static void decimal_string(int value, char *out)
{
	char tmp[12];
	unsigned v = value < 0 ? 0u - (unsigned)value : (unsigned)value;
	size_t n = 0, o = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (value < 0)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
}

static void server_of(const struct sonde_txn *t, char *addr, size_t alen, char *port, size_t plen)
{
	unsigned p = t->server_port;

	if (t->server_address[0])
		sonde_txn_setn(addr, (unsigned)alen, t->server_address,
			       sizeof(t->server_address));
	else
		sonde_addr_string(&t->peer, addr, alen);
	if (!p && !t->server_address[0])
		p = t->peer.port;
	if (p && plen >= 6)
		decimal_string((int)p, port);
	else
		port[0] = '\0';
}

static const char *source_name(enum sonde_txn_source s)
{
	switch (s) {
	case SONDE_SRC_EBPF: return "ebpf";
	case SONDE_SRC_PCAP: return "pcap";
	default: return "log";
	}
}

static void submit_http(struct sonde_pipeline *pipe, const struct sonde_txn *t, double secs)
{
	char status[12], route[SONDE_TXN_TARGET_LEN];
	const char *method = t->operation[0] ? t->operation : "_OTHER";

	decimal_string(t->status, status);
	if (t->kind == SONDE_TXN_HTTP_SERVER) {
		if (t->target[0]) {
			SONDE_TXN_SET(route, t->target, sizeof(t->target));
		} else {
			sonde_route_resolve(atomic_load_explicit(&pipe->routes, memory_order_acquire),
					    t->path, strnlen(t->path, sizeof(t->path)), route,
					    sizeof(route));
		}
		const char *v[] = { method, status, route, service_of(t) };

		sonde_histogram_observe(sonde_family_series_memo(pipe->http_server, v), secs);
	} else {
		char addr[SONDE_TXN_SERVER_LEN], port[8];

		server_of(t, addr, sizeof(addr), port, sizeof(port));
		const char *v[] = { method, status, addr, port, service_of(t) };

		sonde_histogram_observe(sonde_family_series_memo(pipe->http_client, v), secs);
	}
	/* nginx proxy_cache seen through $upstream_cache_status. */
	if (t->cache_lookups) {
		const char *v[] = { "nginx", "proxy_cache", service_of(t) };
		struct sonde_family *f[] = { pipe->cache_lookups, pipe->cache_hits };
		struct sonde_series *s[2];

		sonde_family_series_memo_n(f, 2, v, s);
		sonde_counter_add(s[0], t->cache_lookups);
		sonde_counter_add(s[1], t->cache_hits);
	}
}

/* A gRPC call: its status code is the outcome, not the HTTP status. */
static void submit_rpc(struct sonde_pipeline *pipe, const struct sonde_txn *t, double secs)
{
	char method[SONDE_TXN_PATH_LEN];
	const char *status = sonde_grpc_status_name(t->rpc_status);
	bool server = t->kind == SONDE_TXN_HTTP_SERVER;
	bool error = server ? sonde_grpc_server_fault(t->rpc_status) : t->rpc_status != 0;

	sonde_grpc_method(t->path, strnlen(t->path, sizeof(t->path)), method, sizeof(method));
	if (server) {
		const char *v[] = { "grpc", method, status, error ? status : "", service_of(t) };

		sonde_histogram_observe(sonde_family_series_memo(pipe->rpc_server, v), secs);
	} else {
		char addr[SONDE_TXN_SERVER_LEN], port[8];

		server_of(t, addr, sizeof(addr), port, sizeof(port));
		const char *v[] = { "grpc", method, status, error ? status : "", addr, port,
				    service_of(t) };

		sonde_histogram_observe(sonde_family_series_memo(pipe->rpc_client, v), secs);
	}
}

static void submit_db(struct sonde_pipeline *pipe, const struct sonde_txn *t, double secs)
{
	char addr[SONDE_TXN_SERVER_LEN], port[8];

	server_of(t, addr, sizeof(addr), port, sizeof(port));
	const char *v[] = {
		sonde_proto_name(t->proto),
		t->operation[0] ? t->operation : "OTHER",
		t->target,
		addr,
		t->error,
		service_of(t),
	};

	sonde_histogram_observe(sonde_family_series_memo(pipe->db, v), secs);
}

static void submit_cache(struct sonde_pipeline *pipe, const struct sonde_txn *t, double secs)
{
	const char *sys = sonde_proto_name(t->proto);
	const char *op = t->operation[0] ? t->operation : "OTHER";
	const char *ops[] = { sys, op, t->error, service_of(t) };
	const char *v[] = { sys, op, service_of(t) };

	/* the duration histogram and the lookup/hit pair share their labels */
	struct sonde_family *f[] = { pipe->cache_dur, pipe->cache_lookups, pipe->cache_hits };
	struct sonde_series *s[3];

	sonde_counter_inc(sonde_family_series_memo(pipe->cache_ops, ops));
	sonde_family_series_memo_n(f, t->cache_lookups ? 3 : 1, v, s);
	sonde_histogram_observe(s[0], secs);
	if (t->cache_lookups) {
		sonde_counter_add(s[1], t->cache_lookups);
		sonde_counter_add(s[2], t->cache_hits);
	}
}

static void count_txn(struct sonde_pipeline *pipe, const struct sonde_txn *t)
{
	unsigned src = t->source <= SONDE_SRC_LOG ? t->source : SONDE_SRC_LOG;
	struct sonde_series *_Atomic *slot = &pipe->txn_series[src][t->kind];
	struct sonde_series *s = atomic_load_explicit(slot, memory_order_acquire);

	if (!s) {
		const char *tv[] = { source_name(t->source), sonde_txn_kind_name(t->kind) };

		s = sonde_family_series(pipe->txns, tv);
		atomic_store_explicit(slot, s, memory_order_release);
	}
	sonde_counter_inc(s);
}

void sonde_pipeline_submit(struct sonde_pipeline *pipe, const struct sonde_txn *t)
{
	double secs = (double)t->duration_ns / 1e9;

	switch (t->kind) {
	case SONDE_TXN_HTTP_SERVER:
	case SONDE_TXN_HTTP_CLIENT:
		if (t->rpc_system == SONDE_RPC_GRPC)
			submit_rpc(pipe, t, secs);
		else
			submit_http(pipe, t, secs);
		break;
	case SONDE_TXN_DB:
		submit_db(pipe, t, secs);
		break;
	case SONDE_TXN_CACHE:
		submit_cache(pipe, t, secs);
		break;
	default:
		return;
	}
	count_txn(pipe, t);
}
