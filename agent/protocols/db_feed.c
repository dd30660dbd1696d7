// SPDX-License-Identifier: MIT
#include <errno.h>

#include "protocols/db_feed.h"

int sonde_db_feed(const struct sonde_db_proto *p, void *state,
		  enum sonde_flow flow, const uint8_t *data, size_t len,
		  size_t total, uint64_t ts, sonde_txn_emit_fn emit,
		  void *userdata)
{
	struct sonde_db_conn *c = state;
	bool req = flow == SONDE_FLOW_REQUEST;
	struct sonde_db_dir d = p->dir(state, req);
	struct sonde_db_chunk ch = {
		.state = state,
		.stream = d.stream,
		.req = req,
		.o = { .emit = emit, .userdata = userdata, .ts = ts },
	};

	if (c->dead)
		return -EPROTO;
	if (req)
		c->resp_armed = true;
	return sonde_frame_feed(d.f, &p->framing, &ch, c->resp_armed, d.buf,
				d.cap, data, len, total, ts);
}
