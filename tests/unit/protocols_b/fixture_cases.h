/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TEST_PROTO_B_CASES_H
#define SONDE_TEST_PROTO_B_CASES_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

static inline const char *fx_dir(void)
{
	const char *d = getenv("SONDE_FIXTURES");

	return d && *d ? d : SONDE_FIXTURES;
}

/*
 * Replays one fixture whole, cut in two at every byte of every chunk, and
 * byte by byte: every way must give the same transactions.
 */
static inline void fx_replay_all(const struct sonde_proto_ops *ops,
				 const char *area, const char *name)
{
	char path[4096], why[512];
	struct fixture fx;
	struct replay_out out;
	size_t splits = 0;

	snprintf(path, sizeof(path), "%s/protocols/%s/%s.txt", fx_dir(), area, name);
	if (fx_load(path, &fx) != 0)
		fail_msg("cannot load %s", path);

	assert_int_equal(replay_run(ops, &fx, REPLAY_WHOLE, 0, 0, &out), 0);
	if (!replay_check(&fx, &out, why, sizeof(why)))
		fail_msg("%s whole: %s", name, why);
	replay_out_free(&out);

	for (size_t c = 0; c < fx.n_chunks; c++) {
		for (size_t k = 1; k < fx.chunks[c].len; k++, splits++) {
			assert_int_equal(replay_run(ops, &fx, REPLAY_SPLIT, c, k, &out), 0);
			if (!replay_check(&fx, &out, why, sizeof(why)))
				fail_msg("%s split chunk %zu at %zu: %s", name, c, k, why);
			replay_out_free(&out);
		}
	}

	assert_int_equal(replay_run(ops, &fx, REPLAY_BYTES, 0, 0, &out), 0);
	if (!replay_check(&fx, &out, why, sizeof(why)))
		fail_msg("%s byte by byte: %s", name, why);
	replay_out_free(&out);
	print_message("%s: %zu txns, whole + %zu splits + bytewise\n", name,
		      fx.n_txns, splits);
	fx_free(&fx);
}

/* One test per fixture conversation: test_<name> replays it every way. */
#define FX_REPLAY_TEST(ops, area, name)            \
	static void test_##name(void **state)      \
	{                                          \
		(void)state;                       \
		fx_replay_all(ops, area, #name);   \
	}

/* What a parser emitted: how many transactions, and the last one. */
struct sink {
	size_t n;
	struct sonde_txn last;
};

static inline void sink_txn(struct sonde_txn *t, void *userdata)
{
	struct sink *s = userdata;

	s->n++;
	s->last = *t;
}

/* A fresh, initialised parser state (sonde_proto_state_free() it). */
static inline void *fx_new_state(const struct sonde_proto_ops *ops)
{
	void *st = calloc(1, ops->state_size);

	assert_non_null(st);
	ops->init(st);
	return st;
}

/* Every emitted txn must be well formed, whatever the input was. */
static inline void fx_count_txn(struct sonde_txn *t, void *userdata)
{
	size_t *n = userdata;

	assert_non_null(memchr(t->operation, 0, sizeof(t->operation)));
	assert_non_null(memchr(t->target, 0, sizeof(t->target)));
	assert_non_null(memchr(t->error, 0, sizeof(t->error)));
	assert_int_equal(t->kind, SONDE_TXN_DB);
	(*n)++;
}

static inline uint64_t fx_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Hostile input: random bytes after an optional valid prefix, random
 * flows, capture gaps (some absurd): no crash, no hang, no -EPROTO
 * once the prefix made the stream valid unless the parser gave up.
 */
static inline void fx_hostile(const struct sonde_proto_ops *ops,
			      const uint8_t *prefix, size_t plen)
{
	void *st = calloc(1, ops->state_size);
	uint8_t buf[777];
	uint64_t seed = 0x2545f4914f6cdd1dull;
	size_t txns = 0;

	assert_non_null(st);
	for (int round = 0; round < 300; round++) {
		if (round && ops->fini)
			ops->fini(st); /* the contract: fini before init again */
		ops->init(st);
		if (plen)
			ops->feed(st, SONDE_FLOW_REQUEST, prefix, plen, plen, 1,
				  fx_count_txn, &txns);
		for (int i = 0; i < 60; i++) {
			size_t n = fx_rand(&seed) % sizeof(buf), total;
			uint64_t r;
			int rc;

			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)fx_rand(&seed);
			r = fx_rand(&seed);
			total = n;
			if (r % 5 == 0)
				total += (r >> 8) % 100000;
			if (r % 97 == 0)
				total = SIZE_MAX;
			rc = ops->feed(st, (r >> 40) & 1 ? SONDE_FLOW_RESPONSE
							 : SONDE_FLOW_REQUEST,
				       buf, n, total, (uint64_t)i * 10, fx_count_txn,
				       &txns);
			if (rc != 0) {
				assert_int_equal(rc, -EPROTO);
				break;
			}
		}
	}
	sonde_proto_state_free(ops, st);
}

#endif
