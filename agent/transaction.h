/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TRANSACTION_H
#define SONDE_TRANSACTION_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * The one record every source converges on: one HTTP request, one SQL
 * query, one cache command. Fixed-size fields so that parsers fill it
 * without allocating; every string is NUL-terminated and truncated to fit.
 */

enum sonde_txn_kind {
	SONDE_TXN_NONE = 0,
	SONDE_TXN_HTTP_SERVER,
	SONDE_TXN_HTTP_CLIENT,
	SONDE_TXN_DB,
	SONDE_TXN_CACHE,
};

enum sonde_proto {
	SONDE_PROTO_UNKNOWN = 0,
	SONDE_PROTO_HTTP1,
	SONDE_PROTO_POSTGRES,
	SONDE_PROTO_MYSQL,
	SONDE_PROTO_REDIS,
	SONDE_PROTO_MEMCACHED,
	SONDE_PROTO_NGINX_CACHE, /* nginx proxy_cache, seen via $upstream_cache_status */
	SONDE_PROTO_HTTP2,
};

/* HTTP/1.x or HTTP/2: the same metrics, the same roles. */
static inline bool sonde_proto_is_http(enum sonde_proto p)
{
	return p == SONDE_PROTO_HTTP1 || p == SONDE_PROTO_HTTP2;
}

enum sonde_txn_source {
	SONDE_SRC_EBPF = 0,
	SONDE_SRC_PCAP,
	SONDE_SRC_LOG,
};

/* The RPC system an HTTP exchange carried, if any. */
enum sonde_rpc_system {
	SONDE_RPC_NONE = 0,
	SONDE_RPC_GRPC,
};

/* Result of a cache lookup for transactions that are not key-counted. */
enum sonde_cache_result {
	SONDE_CACHE_NONE = 0,
	SONDE_CACHE_HIT,
	SONDE_CACHE_MISS,
};

struct sonde_addr {
	uint8_t family; /* AF_INET, AF_INET6, or 0 when unknown */
	uint8_t addr[16];
	uint16_t port; /* host byte order */
};

#define SONDE_TXN_OP_LEN 32
#define SONDE_TXN_TARGET_LEN 128
#define SONDE_TXN_PATH_LEN 256
#define SONDE_TXN_ERROR_LEN 32
#define SONDE_TXN_SERVER_LEN 64
#define SONDE_TXN_PROCESS_LEN 16
#define SONDE_TXN_SERVICE_LEN 64

struct sonde_txn {
	enum sonde_txn_kind kind;
	enum sonde_proto proto;
	enum sonde_txn_source source;

	/* Wall clock, ns since the epoch; 0 when the source does not know. */
	uint64_t start_ns;
	/* Always set: the time the operation took. */
	uint64_t duration_ns;

	/* HTTP method, SQL operation (SELECT), cache command (GET, MGET, mg). */
	char operation[SONDE_TXN_OP_LEN];
	/*
	 * Low-cardinality target: HTTP route, "SELECT users", ... never raw.
	 * HTTP sources may leave it empty and fill `path`: the pipeline then
	 * resolves the route (agent/route.h) before any label is made.
	 */
	char target[SONDE_TXN_TARGET_LEN];
	/* Raw HTTP path (query string included or not: log parsers drop it,
	 * the route never looks past it); never exported. */
	char path[SONDE_TXN_PATH_LEN];
	/* HTTP status code, 0 when none. */
	int status;
	/* gRPC over HTTP/2: the call's status code, from grpc-status or, when
	 * the response had none, from the HTTP status (agent/grpc.h). Such a
	 * call is reported as an RPC, not as an HTTP request. */
	enum sonde_rpc_system rpc_system;
	int rpc_status;
	/* Error type, "" when none: SQLSTATE, "ERR", "WRONGTYPE", "500"... */
	char error[SONDE_TXN_ERROR_LEN];

	/* Cache: keys looked up and keys found (MGET k1 k2 k3 -> lookups 3). */
	uint32_t cache_lookups;
	uint32_t cache_hits;

	/* Server address as the client named it (Host header, peer ip). */
	char server_address[SONDE_TXN_SERVER_LEN];
	uint16_t server_port;

	struct sonde_addr peer;
	struct sonde_addr local;

	uint32_t pid;
	char process[SONDE_TXN_PROCESS_LEN];
	/* systemd unit or configured service name; "" lets the sink decide. */
	char service[SONDE_TXN_SERVICE_LEN];

	uint64_t request_bytes;
	uint64_t response_bytes;

	/* W3C trace context carried by the request, if any. */
	bool has_trace;
	uint8_t trace_id[16];
	uint8_t parent_span_id[8];
	uint8_t trace_flags;
};

/* Bounded copy helpers shared by every parser: always NUL-terminate. */
static inline void sonde_txn_setn(char *dst, unsigned cap, const char *src,
				  unsigned long n)
{
	const char *nul;

	if (cap == 0)
		return;
	if (n > cap - 1)
		n = cap - 1;
	/* a NUL in the source ends the value, as it would a C string */
	nul = memchr(src, '\0', n);
	if (nul)
		n = (unsigned long)(nul - src);
	memcpy(dst, src, n);
	dst[n] = '\0';
}
#define SONDE_TXN_SET(field, src, n) \
	sonde_txn_setn((field), sizeof(field), (src), (n))

/* The request's W3C trace context. */
static inline void sonde_txn_set_trace(struct sonde_txn *t, const uint8_t trace_id[16],
				       const uint8_t parent_span_id[8], uint8_t flags)
{
	t->has_trace = true;
	memcpy(t->trace_id, trace_id, 16);
	memcpy(t->parent_span_id, parent_span_id, 8);
	t->trace_flags = flags;
}

const char *sonde_proto_name(enum sonde_proto p);
/* "10.0.0.7", "::1"; "" when the family is unknown (len >= 46 fits all). */
void sonde_addr_string(const struct sonde_addr *a, char *out, size_t len);
const char *sonde_txn_kind_name(enum sonde_txn_kind k);

#endif
