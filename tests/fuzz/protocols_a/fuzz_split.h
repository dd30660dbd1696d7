/* SPDX-License-Identifier: MIT */
#ifndef SONDE_FUZZ_PROTOCOLS_A_SPLIT_H
#define SONDE_FUZZ_PROTOCOLS_A_SPLIT_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "protocols/protocol.h"

/*
 * Turns a fuzz input into a conversation: a control byte, then the chunk it
 * describes. Control bit 0: flow (request/response); bits 1-6: chunk
 * length - 1; bit 7: a capture gap follows, its size in the next byte.
 * Inputs that do not start with a control byte still replay usefully:
 * every byte is someone's control byte.
 */

static void fuzz_emit(struct sonde_txn *txn, void *userdata)
{
	unsigned *n = userdata;

	/* Touch every string so ASan sees an unterminated one. */
	for (const char *p = txn->operation; *p; p++)
		(*n)++;
	for (const char *p = txn->path; *p; p++)
		(*n)++;
	for (const char *p = txn->error; *p; p++)
		(*n)++;
	for (const char *p = txn->server_address; *p; p++)
		(*n)++;
}

/*
 * prologue: request-flow bytes fed first, whole (HTTP/2's client preface,
 * without which every input would be refused at its first byte).
 */
static inline int fuzz_conversation_after(const struct sonde_proto_ops *ops,
					  const uint8_t *prologue, size_t plen,
					  const uint8_t *data, size_t size)
{
	void *state = calloc(1, ops->state_size);
	size_t pos = 0;
	uint64_t ts = 1;
	unsigned n = 0;

	if (!state)
		return 0;
	ops->init(state);
	ops->detect(data, size);
	if (plen)
		ops->feed(state, SONDE_FLOW_REQUEST, prologue, plen, plen, ts, fuzz_emit, &n);
	while (pos < size) {
		uint8_t c = data[pos++];
		size_t len = (size_t)((c >> 1) & 0x3f) + 1, gap = 0;

		if ((c & 0x80) && pos < size)
			gap = data[pos++] * 37u;
		if (len > size - pos)
			len = size - pos;
		if (ops->feed(state, (c & 1) ? SONDE_FLOW_RESPONSE : SONDE_FLOW_REQUEST,
			      data + pos, len, len + gap, ts, fuzz_emit, &n) == -EPROTO)
			break;
		pos += len;
		ts += 1000;
	}
	ops->stats(state);
	sonde_proto_state_free(ops, state);
	return 0;
}

static inline int fuzz_conversation(const struct sonde_proto_ops *ops,
				    const uint8_t *data, size_t size)
{
	return fuzz_conversation_after(ops, NULL, 0, data, size);
}

#endif
