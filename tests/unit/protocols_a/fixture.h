/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TEST_PROTOCOLS_A_FIXTURE_H
#define SONDE_TEST_PROTOCOLS_A_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocols/protocol.h"

/*
 * Conversation fixtures for the wire parsers, one text file each:
 *
 *   # comment
 *   proto http1|redis|memcached
 *   nosplit                      only replay whole (resync depends on chunking)
 *   > [@TS] [+GAP] |bytes        a request-flow chunk; < for response flow
 *   = key=value ...              an expected transaction, in emit order
 *   stats parse_errors=N desyncs=N dropped=N
 *   eproto                       feed must return -EPROTO at some point
 *
 * Bytes after '|' take escapes \r \n \t \\ \0 \xHH and \[N]c (c repeated N
 * times). TS defaults to the previous chunk's + 1000 (first: 1000); GAP
 * makes total = len + GAP. Expected keys: op status err lookups hits start
 * dur path host port reqb respb trace span tflags kind; only the keys given
 * are checked.
 */

struct fx_chunk {
	enum sonde_flow flow;
	uint64_t ts;
	uint64_t gap;
	size_t len;
	uint8_t *data;
};

#define FX_MAX_KEYS 16

struct fx_expect {
	unsigned n;
	char key[FX_MAX_KEYS][16];
	char val[FX_MAX_KEYS][80];
};

struct fx {
	char name[256];
	const struct sonde_proto_ops *ops;
	bool nosplit;
	bool eproto;
	bool has_stats;
	struct sonde_proto_stats stats;
	size_t n_chunks;
	struct fx_chunk *chunks;
	size_t n_expect;
	struct fx_expect *expect;
};

int fx_load(const char *path, struct fx **ret_fx);
void fx_free(struct fx *fx);

/* Decodes the escapes of one fixture text; returns the length. */
size_t fx_unescape(const char *s, size_t n, uint8_t *out, size_t cap);

/*
 * Replays the fixture in every mode (whole, each chunk split at every byte,
 * byte by byte) and checks the emitted transactions; on mismatch writes a
 * description into err and returns false.
 */
bool fx_run(const struct fx *fx, char *err, size_t errlen);

#endif
