// SPDX-License-Identifier: MIT
/*
 * Feeds a recorded conversation to a parser and prints what it measured,
 * for the ground-truth test (truth.py) that compares it with the server's
 * own counters. Input: records of flow (1 byte: 0 request, 1 response),
 * length (4 bytes little-endian), bytes. Each record is fed as one chunk,
 * or, with a seed argument, split at random points. PROTO_A_VERBOSE=1
 * also prints one line per transaction.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocols/protocol.h"

struct totals {
	unsigned long txns, lookups, hits, errors;
	bool verbose;
};

static void add(struct sonde_txn *txn, void *userdata)
{
	struct totals *t = userdata;

	if (t->verbose)
		printf("txn %s %d %llu %llu %s\n", txn->operation, txn->status,
		       (unsigned long long)txn->request_bytes,
		       (unsigned long long)txn->response_bytes,
		       txn->path[0] ? txn->path : "-");
	t->txns++;
	t->lookups += txn->cache_lookups;
	t->hits += txn->cache_hits;
	if (txn->error[0])
		t->errors++;
}

int main(int argc, char **argv)
{
	const struct sonde_proto_ops *ops;
	struct totals t = { 0 };
	unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	unsigned char hdr[5];
	uint8_t *buf = NULL;
	void *state;
	FILE *f;
	int rc = 1;

	t.verbose = getenv("PROTO_A_VERBOSE") != NULL;
	if (argc < 3) {
		fprintf(stderr, "usage: %s redis|memcached|http1 FILE [SEED]\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "redis") == 0)
		ops = &sonde_proto_redis;
	else if (strcmp(argv[1], "memcached") == 0)
		ops = &sonde_proto_memcached;
	else
		ops = &sonde_proto_http1;
	f = fopen(argv[2], "rb");
	state = calloc(1, ops->state_size);
	if (!f || !state)
		goto out;
	ops->init(state);
	while (fread(hdr, 1, 5, f) == 5) {
		size_t len = (size_t)hdr[1] | (size_t)hdr[2] << 8 | (size_t)hdr[3] << 16 |
			     (size_t)hdr[4] << 24, off = 0;
		enum sonde_flow flow = hdr[0] ? SONDE_FLOW_RESPONSE : SONDE_FLOW_REQUEST;

		buf = realloc(buf, len + 1);
		if (!buf || fread(buf, 1, len, f) != len)
			goto out;
		while (off < len) {
			size_t n = len - off;

			if (seed) {
				seed = seed * 6364136223846793005ul + 1442695040888963407ul;
				n = 1 + (seed >> 33) % n;
			}
			if (ops->feed(state, flow, buf + off, n, n, 0, add, &t) == -EPROTO) {
				fprintf(stderr, "EPROTO\n");
				goto out;
			}
			off += n;
		}
	}
	printf("txns %lu lookups %lu hits %lu errors %lu parse_errors %lu desyncs %lu dropped %lu\n",
	       t.txns, t.lookups, t.hits, t.errors,
	       (unsigned long)ops->stats(state)->parse_errors,
	       (unsigned long)ops->stats(state)->desyncs,
	       (unsigned long)ops->stats(state)->dropped);
	rc = 0;
out:
	if (f)
		fclose(f);
	free(buf);
	sonde_proto_state_free(ops, state);
	return rc;
}
