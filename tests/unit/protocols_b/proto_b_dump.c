// SPDX-License-Identifier: MIT
/*
 * Replays recorded conversations (fixture format, see gen_fixtures.py)
 * through the PostgreSQL or MySQL parser and prints one line per
 * transaction: "txn OP|TARGET|ERROR|DURATION_NS", then
 * "stats PARSE_ERRORS DESYNCS DROPPED RC". Used by the live tests.
 * --cap N keeps only the first N bytes of each chunk, as a bounded eBPF
 * capture would (the rest becomes a capture gap).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int main(int argc, char **argv)
{
	const struct sonde_proto_ops *ops;
	size_t cap = 0;
	int a = 1;

	if (argc > 2 && strcmp(argv[1], "--cap") == 0) {
		cap = strtoul(argv[2], NULL, 10);
		a = 3;
	}
	if (argc - a < 2) {
		fprintf(stderr, "usage: %s [--cap N] postgres|mysql FILE...\n", argv[0]);
		return 2;
	}
	ops = strcmp(argv[a], "mysql") == 0 ? &sonde_proto_mysql : &sonde_proto_postgres;
	for (a++; a < argc; a++) {
		struct fixture fx;
		struct replay_out out;

		if (fx_load(argv[a], &fx) != 0) {
			fprintf(stderr, "%s: cannot load\n", argv[a]);
			return 1;
		}
		for (size_t i = 0; cap && i < fx.n_chunks; i++)
			if (fx.chunks[i].len > cap)
				fx.chunks[i].len = cap;
		replay_run(ops, &fx, REPLAY_WHOLE, 0, 0, &out);
		for (size_t i = 0; i < out.n; i++)
			printf("txn %s|%s|%s|%" PRIu64 "\n", out.txns[i].operation,
			       out.txns[i].target, out.txns[i].error,
			       out.txns[i].duration_ns);
		printf("stats %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n",
		       out.stats.parse_errors, out.stats.desyncs,
		       out.stats.dropped, out.rc);
		replay_out_free(&out);
		fx_free(&fx);
	}
	return 0;
}
