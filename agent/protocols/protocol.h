/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOL_H
#define SONDE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "transaction.h"

/*
 * Wire protocol parsers, shared by the eBPF and pcap paths.
 *
 * One parser instance per connection lives in a fixed-size state block
 * (ops->state_size bytes, owned by the connection table): parsers never
 * allocate, never log, and are bounded by pointer+length. Bytes arrive in
 * the order the application read or wrote them, one syscall (or one TCP
 * segment) at a time, labelled as request flow or response flow: the
 * connection table knows the role (accepted socket: reads are requests;
 * connected socket: writes are requests).
 *
 * Capture is bounded: a chunk may carry only the first `len` of the `total`
 * bytes the syscall moved. Parsers skip the missing `total - len` bytes
 * where framing allows (inside a body or bulk string); when the gap falls
 * where framing is needed they drop what is pending, count it, and resync
 * at the start of the next chunk of request flow.
 */

enum sonde_flow {
	SONDE_FLOW_REQUEST = 0,
	SONDE_FLOW_RESPONSE = 1,
};

/*
 * Called for each completed transaction. txn is the parser's scratch, only
 * valid during the call: the callee may fill in what it knows (the
 * connection's addresses, pid, service) in place instead of copying it.
 */
typedef void (*sonde_txn_emit_fn)(struct sonde_txn *txn, void *userdata);

/* Per-parser counters the connection table exports. */
struct sonde_proto_stats {
	uint64_t parse_errors;  /* bytes that did not parse as this protocol */
	uint64_t desyncs;       /* gaps that forced a resync */
	uint64_t dropped;       /* requests dropped: pending queue full, unpaired */
};

struct sonde_proto_ops {
	enum sonde_proto proto;
	const char *name;
	size_t state_size;
	/*
	 * Could these first bytes of a connection's request flow start this
	 * protocol? Cheap and conservative; `len` may be short.
	 */
	bool (*detect)(const uint8_t *data, size_t len);
	/* Initialise a zeroed state block. */
	void (*init)(void *state);
	/*
	 * Feed one chunk. ts_ns: monotonic ns when the syscall completed.
	 * Emitted transactions carry kind, proto, operation, target/path,
	 * status/error, cache counts, start_ns (monotonic: the request's
	 * first chunk), duration_ns; the caller fills addresses, pid and
	 * service. Returns 0, or -EPROTO when the stream is clearly not this
	 * protocol (the caller then stops parsing the connection).
	 */
	int (*feed)(void *state, enum sonde_flow flow, const uint8_t *data,
		    size_t len, size_t total, uint64_t ts_ns,
		    sonde_txn_emit_fn emit, void *userdata);
	const struct sonde_proto_stats *(*stats)(const void *state);
	/*
	 * Optional: frees what the parser allocated beyond its state block
	 * (queues grown on demand). The block itself is the caller's. After
	 * fini the block may be freed, or zeroed and init'ed again.
	 */
	void (*fini)(void *state);
};

/* Frees a state block the way every owner must: the parser's part first. */
static inline void sonde_proto_state_free(const struct sonde_proto_ops *ops, void *state)
{
	if (state && ops->fini)
		ops->fini(state);
	free(state);
}

extern const struct sonde_proto_ops sonde_proto_http1;
extern const struct sonde_proto_ops sonde_proto_redis;
extern const struct sonde_proto_ops sonde_proto_memcached;
extern const struct sonde_proto_ops sonde_proto_postgres;
extern const struct sonde_proto_ops sonde_proto_mysql;
extern const struct sonde_proto_ops sonde_proto_http2;

#endif
