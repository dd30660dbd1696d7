/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TEST_PROTO_B_REPLAY_H
#define SONDE_TEST_PROTO_B_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocols/protocol.h"

/* A conversation fixture (format: see gen_fixtures.py). */
struct fx_chunk {
	enum sonde_flow flow;
	uint64_t ts;
	size_t total; /* bytes the syscall moved: >= len */
	size_t len;
	uint8_t *data;
};

struct fx_txn {
	char op[64];
	char target[160];
	char error[64];
	uint64_t start;
	uint64_t duration;
};

struct fixture {
	struct fx_chunk *chunks;
	size_t n_chunks;
	struct fx_txn *txns;
	size_t n_txns;
	bool has_stats;
	struct sonde_proto_stats stats;
	bool eproto;
};

int fx_load(const char *path, struct fixture *ret_fx);
void fx_free(struct fixture *fx);

/* What a replay produced. */
struct replay_out {
	struct sonde_txn *txns;
	size_t n, cap;
	int rc; /* 0, or the first error feed returned */
	struct sonde_proto_stats stats;
};

enum replay_mode {
	REPLAY_WHOLE,
	REPLAY_SPLIT,   /* chunk `split_chunk` cut in two at `split_at` */
	REPLAY_BYTES,   /* every chunk fed one byte at a time */
};

int replay_run(const struct sonde_proto_ops *ops, const struct fixture *fx,
	       enum replay_mode mode, size_t split_chunk, size_t split_at,
	       struct replay_out *out);
void replay_out_free(struct replay_out *out);

/*
 * Compares a replay with the fixture's expectations; on mismatch writes
 * a description to why and returns false.
 */
bool replay_check(const struct fixture *fx, const struct replay_out *out,
		  char *why, size_t whylen);

#endif
