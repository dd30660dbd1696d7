// SPDX-License-Identifier: MIT
/*
 * Fuzz harness for the PostgreSQL and MySQL parsers (FUZZ_OPS picks one).
 * The input is a list of chunks: a control byte (bit 0: response flow,
 * bits 1-2: capture gap none / small / 1 MiB / absurd), a length byte,
 * then that many bytes. Every emitted transaction must be well formed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocols/protocol.h"

extern const struct sonde_proto_ops FUZZ_OPS;

static void check_txn(struct sonde_txn *t, void *userdata)
{
	(void)userdata;
	if (!memchr(t->operation, 0, sizeof(t->operation)) ||
	    !memchr(t->target, 0, sizeof(t->target)) ||
	    !memchr(t->error, 0, sizeof(t->error)) || t->kind != SONDE_TXN_DB)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sonde_proto_ops *ops = &FUZZ_OPS;
	void *st = calloc(1, ops->state_size);
	uint64_t ts = 1;
	size_t i = 0;

	if (!st)
		return 0;
	ops->init(st);
	while (i + 2 <= size) {
		uint8_t ctl = data[i];
		size_t n = data[i + 1], total;
		int rc;

		i += 2;
		if (n > size - i)
			n = size - i;
		switch ((ctl >> 1) & 3) {
		case 0: total = n; break;
		case 1: total = n + (ctl >> 3); break;
		case 2: total = n + (1u << 20); break;
		default: total = SIZE_MAX; break;
		}
		rc = ops->feed(st, ctl & 1 ? SONDE_FLOW_RESPONSE : SONDE_FLOW_REQUEST,
			       data + i, n, total, ts++, check_txn, NULL);
		if (rc != 0 && rc != -EPROTO)
			abort();
		if (rc)
			break;
		i += n;
	}
	sonde_proto_state_free(ops, st);
	return 0;
}
