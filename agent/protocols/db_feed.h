/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_DB_FEED_H
#define SONDE_PROTOCOLS_DB_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocols/db_txn.h"
#include "protocols/framing.h"
#include "protocols/protocol.h"

/*
 * How the PostgreSQL and MySQL parsers feed their request and response
 * streams to the length-prefixed frame driver (sonde_frame_feed).
 */

/* The first member of their state blocks. */
struct sonde_db_conn {
	struct sonde_proto_stats stats;
	bool valid;      /* a request parsed: no more -EPROTO */
	bool dead;       /* not parseable from here on: -EPROTO */
	bool resp_armed; /* a request came since the response stream desynced */
};

/* One direction of the state block: its stream, and its body buffer. */
struct sonde_db_dir {
	void *stream;         /* the parser's stream, which starts with... */
	struct sonde_frame *f; /* ...this frame */
	uint8_t *buf;
	size_t cap;
};

/* The frame callbacks' ctx: the chunk being fed. */
struct sonde_db_chunk {
	void *state;  /* the parser's state block */
	void *stream; /* sonde_db_dir.stream of this direction */
	bool req;     /* request flow */
	struct sonde_db_out o;
};

struct sonde_db_proto {
	struct sonde_frame_ops framing;
	struct sonde_db_dir (*dir)(void *state, bool req);
};

/*
 * ops->feed of a DB parser: returns -EPROTO once the connection is dead.
 * The response stream, after a RESYNC, resumes at its first chunk after a
 * request.
 */
int sonde_db_feed(const struct sonde_db_proto *p, void *state,
		  enum sonde_flow flow, const uint8_t *data, size_t len,
		  size_t total, uint64_t ts, sonde_txn_emit_fn emit,
		  void *userdata);

static inline const struct sonde_proto_stats *sonde_db_stats(const void *state)
{
	return &((const struct sonde_db_conn *)state)->stats;
}

/*
 * A request is queued while none is pending, so the response stream must
 * be between frames: when it is not, it was framed on bytes from before
 * the capture started (or misframed); restart it with this answer.
 */
static inline void sonde_db_resp_check(struct sonde_db_conn *c,
				       const struct sonde_fifo *pending,
				       struct sonde_frame *resp)
{
	if (sonde_fifo_empty(pending) && sonde_frame_partial(resp)) {
		c->stats.desyncs++;
		resp->st = SONDE_FRAME_RESYNC;
	}
}

#endif
