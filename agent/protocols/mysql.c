// SPDX-License-Identifier: MIT
/*
 * MySQL / MariaDB client/server protocol, incremental and allocation-free.
 *
 * Packets are a 3-byte little-endian length and a sequence id; a payload
 * of 0xffffff bytes continues in the next packet. Every command starts a
 * new sequence (id 0) from the client, which is how commands are told from
 * handshake, authentication and LOCAL INFILE packets (ids >= 1) without
 * having seen the connection start. One transaction per COM_QUERY,
 * COM_STMT_EXECUTE and MariaDB COM_STMT_BULK_EXECUTE; other commands are
 * paired with their responses so that the stream stays in step.
 *
 * Result sets are walked without needing CLIENT_DEPRECATE_EOF: column
 * definitions are counted, and a 0xfe packet of at most 5 bytes is an EOF
 * packet while the OK packet that replaces it is at least 7.
 */
#include <errno.h>
#include <string.h>

#include "protocols/db_feed.h"
#include "protocols/db_stmts.h"
#include "protocols/framing.h"
#include "protocols/protocol.h"

#define MY_REQ_PREFIX 512
#define MY_RESP_PREFIX 64
#define MY_PENDING 8        /* queued at most (pipelined commands) */
#define MY_PENDING_INLINE 2 /* held in the state; the queue moves to the heap past it */
#define MY_MAX_PAYLOAD 0xffffffu

#define MY_CAP_COMPRESS 0x00000020u
#define MY_CAP_SSL 0x00000800u
#define MY_CAP_PROTOCOL_41 0x00000200u
#define MY_CAP_DEPRECATE_EOF 0x01000000u
#define MY_STATUS_MORE_RESULTS 0x0008u
#define MY_STATUS_CURSOR_EXISTS 0x0040u

enum my_cmd {
	MY_COM_QUIT = 0x01,
	MY_COM_QUERY = 0x03,
	MY_COM_FIELD_LIST = 0x04,
	MY_COM_STATISTICS = 0x09,
	MY_COM_PROCESS_INFO = 0x0a,
	MY_COM_CHANGE_USER = 0x11,
	MY_COM_STMT_PREPARE = 0x16,
	MY_COM_STMT_EXECUTE = 0x17,
	MY_COM_STMT_SEND_LONG_DATA = 0x18,
	MY_COM_STMT_CLOSE = 0x19,
	MY_COM_STMT_FETCH = 0x1c,
	MY_COM_STMT_BULK_EXECUTE = 0xfa,
};

struct my_stream {
	struct sonde_frame f;
	uint8_t seq;
	bool cont;      /* this packet continues a 0xffffff-byte one */
	bool next_cont;
	uint32_t len;
};

/* What a pending command's response looks like. */
enum my_expect {
	MY_E_RESULT = 1, /* OK / ERR / LOCAL INFILE / result set(s) */
	MY_E_PREPARE,    /* PREPARE_OK + definitions / ERR */
	MY_E_SIMPLE,     /* one packet, whatever it holds */
	MY_E_FIELDS,     /* column definitions until EOF / ERR */
	MY_E_ROWS,       /* rows until EOF / ERR (COM_STMT_FETCH) */
	MY_E_AUTH,       /* auth exchange until OK / ERR */
};

/* Where the response to the oldest pending command is. */
enum my_rst {
	MY_R_FIRST = 0,
	MY_R_DEFS,
	MY_R_AFTER_DEFS,
	MY_R_ROWS,
	MY_R_INFILE,
};

struct my_pending {
	uint8_t expect;
	bool txn;
	char error[SONDE_DB_ERROR_LEN];
	uint64_t start_ns;
	struct sonde_db_sum sum;
};

struct my_state {
	struct sonde_db_conn c;
	struct my_stream req, resp;
	bool caps_known;
	bool deprecate_eof;
	bool eat_eof; /* an EOF may close the definitions just skipped */
	uint8_t rst;
	uint64_t defs_left;
	struct sonde_db_sum last_prepare; /* MariaDB's statement id -1 */
	struct sonde_fifo fifo;
	uint16_t cap;            /* entries in pend[] */
	struct my_pending *pend; /* pend_inline, or a heap array once grown */
	struct my_pending pend_inline[MY_PENDING_INLINE];
	struct sonde_db_stmts stmts;
	uint8_t req_buf[MY_REQ_PREFIX];
	uint8_t resp_buf[MY_RESP_PREFIX];
};

static bool my_known_cmd(uint8_t c)
{
	return (c >= 0x01 && c <= 0x1f) || c == MY_COM_STMT_BULK_EXECUTE;
}

static bool my_detect(const uint8_t *d, size_t len)
{
	uint32_t n;

	if (!d || len < 5)
		return false;
	n = sonde_le24(d);
	if (d[3] == 0)
		return n >= 1 && my_known_cmd(d[4]);
	/* HandshakeResponse41: capability flags with CLIENT_PROTOCOL_41. */
	if (d[3] == 1 && n >= 32 && len >= 8)
		return (sonde_le32(d + 4) & MY_CAP_PROTOCOL_41) != 0;
	/* The same inside TLS, after the SSLRequest (id 1): the plaintext's start. */
	if (d[3] == 2 && n > 32 && len >= 8)
		return (sonde_le32(d + 4) & (MY_CAP_PROTOCOL_41 | MY_CAP_SSL)) ==
		       (MY_CAP_PROTOCOL_41 | MY_CAP_SSL);
	return false;
}

static void my_init(void *state)
{
	struct my_state *s = state;

	memset(s, 0, sizeof(*s));
	s->pend = sonde_fifo_adopt(s->pend, &s->cap, s->pend_inline, MY_PENDING_INLINE);
}

static void my_fini(void *state)
{
	struct my_state *s = state;

	s->pend = sonde_fifo_release(s->pend, &s->cap, s->pend_inline, MY_PENDING_INLINE);
	sonde_db_stmts_free(&s->stmts);
}

/* The frame stream and body buffer of a direction. */
static struct sonde_db_dir my_dir(void *state, bool req)
{
	struct my_state *s = state;

	return req ? (struct sonde_db_dir){ &s->req, &s->req.f, s->req_buf, sizeof(s->req_buf) }
		   : (struct sonde_db_dir){ &s->resp, &s->resp.f, s->resp_buf, sizeof(s->resp_buf) };
}

/* ---- prepared statements ---- */

/* The statement table's key of a statement id (never 0). */
static uint64_t my_stmt_key(uint32_t id)
{
	return (uint64_t)id | 1ull << 32;
}

/* ---- helpers ---- */

/* A length-encoded integer at *off; false when cut or invalid. */
static bool my_lenenc(const uint8_t *b, size_t have, size_t *off,
		      uint64_t *ret_v)
{
	size_t o = *off, n;
	uint64_t v = 0;

	if (o >= have)
		return false;
	switch (b[o]) {
	case 0xfb:
	case 0xff:
		return false;
	case 0xfc:
		n = 2;
		break;
	case 0xfd:
		n = 3;
		break;
	case 0xfe:
		n = 8;
		break;
	default:
		*ret_v = b[o];
		*off = o + 1;
		return true;
	}
	if (have - o - 1 < n)
		return false;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[o + 1 + i] << (8 * i);
	*off = o + 1 + n;
	*ret_v = v;
	return true;
}

static struct my_pending *my_front(struct my_state *s)
{
	int i = sonde_fifo_front(&s->fifo, s->cap);

	return i < 0 ? NULL : &s->pend[i];
}

static void my_emit(const struct my_pending *p, const struct sonde_db_out *o)
{
	sonde_db_emit(o, SONDE_PROTO_MYSQL, p->start_ns, &p->sum, p->error);
}

static void my_complete(struct my_state *s, const struct sonde_db_out *o)
{
	struct my_pending *p = my_front(s);

	if (p && p->txn)
		my_emit(p, o);
	sonde_fifo_pop(&s->fifo, s->cap);
	s->rst = MY_R_FIRST;
	s->defs_left = 0;
}

/* ---- requests ---- */

static void my_on_handshake_response(struct my_state *s, const uint8_t *b,
				     size_t have, uint32_t len)
{
	uint32_t caps;

	if (have < 4)
		return;
	caps = sonde_le32(b);
	s->caps_known = true;
	s->deprecate_eof = (caps & MY_CAP_DEPRECATE_EOF) != 0;
	/*
	 * SSLRequest (the 32-byte prefix of the response) means TLS follows;
	 * the compressed protocol has other framing. Neither is parsed.
	 */
	if (((caps & MY_CAP_SSL) && len == 32) || (caps & MY_CAP_COMPRESS))
		s->c.dead = true;
}

static int my_on_command(struct my_state *s, const struct my_stream *st,
			 const uint8_t *b, size_t have)
{
	const struct sonde_db_sum *sum;
	struct my_pending *p;
	uint8_t cmd, expect = MY_E_SIMPLE;
	bool txn = false;
	uint32_t id;
	int i;

	if (have < 1 || !my_known_cmd(b[0]))
		return -EPROTO;
	cmd = b[0];
	switch (cmd) {
	case MY_COM_QUIT:
	case MY_COM_STMT_SEND_LONG_DATA:
		return 0;
	case MY_COM_STMT_CLOSE:
		if (have >= 5)
			sonde_db_stmt_forget(&s->stmts, my_stmt_key(sonde_le32(b + 1)));
		return 0;
	case MY_COM_QUERY:
	case MY_COM_STMT_EXECUTE:
	case MY_COM_STMT_BULK_EXECUTE:
		expect = MY_E_RESULT;
		txn = true;
		break;
	case MY_COM_PROCESS_INFO:
		expect = MY_E_RESULT;
		break;
	case MY_COM_STMT_PREPARE:
		expect = MY_E_PREPARE;
		break;
	case MY_COM_FIELD_LIST:
		expect = MY_E_FIELDS;
		break;
	case MY_COM_STMT_FETCH:
		expect = MY_E_ROWS;
		break;
	case MY_COM_CHANGE_USER:
		expect = MY_E_AUTH;
		break;
	default:
		break;
	}
	sonde_db_resp_check(&s->c, &s->fifo, &s->resp.f);
	s->pend = sonde_fifo_push_grow(&s->fifo, s->pend, &s->cap, sizeof(*s->pend), MY_PENDING,
					s->pend_inline, &i);
	if (i < 0) {
		s->c.stats.dropped++;
		return 0;
	}
	p = &s->pend[i];
	memset(p, 0, sizeof(*p));
	p->expect = expect;
	p->txn = txn;
	p->start_ns = st->f.msg_ts;
	if (cmd == MY_COM_QUERY || cmd == MY_COM_STMT_PREPARE) {
		sonde_db_summarize(b + 1, have - 1, true, &p->sum);
		if (cmd == MY_COM_STMT_PREPARE)
			s->last_prepare = p->sum;
	} else if (txn) {
		id = have >= 5 ? sonde_le32(b + 1) : 0;
		sum = have >= 5 ? sonde_db_stmt_find(&s->stmts, my_stmt_key(id)) : NULL;
		if (sum)
			p->sum = *sum;
		else if (have >= 5 && id == 0xffffffffu)
			/*
			 * MariaDB: -1 is the statement prepared last, which
			 * may be in flight in the same batch.
			 */
			p->sum = s->last_prepare;
		else
			sonde_db_sum_unknown(&p->sum);
	}
	return 0;
}

static int my_on_request(struct my_state *s, const struct my_stream *st,
			 const uint8_t *b, size_t have)
{
	if (st->cont)
		return 0;
	if (st->seq == 0)
		return my_on_command(s, st, b, have);
	/*
	 * Only the handshake response has sequence id 1 from the client, or
	 * 2 when it follows an SSLRequest (its plaintext, from the TLS hooks).
	 */
	if ((st->seq == 1 || (st->seq == 2 && !s->caps_known)) && sonde_fifo_empty(&s->fifo))
		my_on_handshake_response(s, b, have, st->len);
	return 0;
}

/* ---- responses ---- */

static bool my_is_eof(const uint8_t *b, size_t have, uint32_t len)
{
	return have >= 1 && b[0] == 0xfe && len <= 5;
}

/* 0xfe with a length below the maximum: EOF, or OK in its place. */
static bool my_is_terminator(const uint8_t *b, size_t have, uint32_t len)
{
	return have >= 1 && b[0] == 0xfe && len < MY_MAX_PAYLOAD;
}

/* Status flags of an OK (0x00 / 0xfe) or EOF packet; 0 when cut. */
static uint16_t my_status(const uint8_t *b, size_t have, uint32_t len)
{
	size_t off = 1;
	uint64_t v;

	if (b[0] == 0xfe && len <= 5)
		return have >= 5 ? sonde_le16(b + 3) : 0;
	if (!my_lenenc(b, have, &off, &v) || !my_lenenc(b, have, &off, &v) ||
	    have - off < 2)
		return 0;
	return sonde_le16(b + off);
}

/*
 * An ERR packet of len bytes, have of them kept. Fewer than 9 kept of a
 * longer packet (the rest fell into a capture gap) do not tell a pre-4.1
 * error (no SQLSTATE) from a cut SQLSTATE: then it is just ERR.
 */
static void my_error(struct my_pending *p, const uint8_t *b, size_t have,
		     uint32_t len)
{
	char code[8];
	unsigned v, n = 0;

	if (p->error[0])
		return;
	if (have >= 9 && b[3] == '#') {
		SONDE_TXN_SET(p->error, (const char *)b + 4, 5);
		return;
	}
	if (have < 3 || (have < 9 && have < len)) {
		SONDE_TXN_SET(p->error, "ERR", 3);
		return;
	}
	/* Pre-4.1 servers send no SQLSTATE: the error number, in decimal. */
	v = sonde_le16(b + 1);
	do {
		code[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < 5);
	for (unsigned i = 0; i < n; i++)
		p->error[i] = code[n - 1 - i];
	p->error[n] = '\0';
}

/* The end of one result: either more follow or the command is done. */
static void my_result_end(struct my_state *s, const uint8_t *b, size_t have,
			  uint32_t len, const struct sonde_db_out *o)
{
	if (my_status(b, have, len) & MY_STATUS_MORE_RESULTS) {
		s->rst = MY_R_FIRST;
		return;
	}
	my_complete(s, o);
}

static void my_result_first(struct my_state *s, struct my_pending *p,
			    const uint8_t *b, size_t have, uint32_t len,
			    const struct sonde_db_out *o)
{
	size_t off = 0;
	uint64_t n;

	switch (b[0]) {
	case 0x00:
	case 0xfe:
		my_result_end(s, b, have, len, o);
		return;
	case 0xff:
		my_error(p, b, have, len);
		my_complete(s, o);
		return;
	case 0xfb:
		s->rst = MY_R_INFILE;
		return;
	default:
		break;
	}
	if (!my_lenenc(b, have, &off, &n) || n == 0) {
		my_complete(s, o);
		return;
	}
	/* MARIADB_CLIENT_CACHE_METADATA: a 0 flag means no definitions. */
	if (len == off + 1 && have > off && b[off] == 0) {
		s->rst = MY_R_AFTER_DEFS;
		return;
	}
	s->defs_left = n;
	s->rst = MY_R_DEFS;
}

static void my_on_result(struct my_state *s, struct my_pending *p,
			 const uint8_t *b, size_t have, uint32_t len,
			 const struct sonde_db_out *o)
{
	switch (s->rst) {
	case MY_R_FIRST:
		my_result_first(s, p, b, have, len, o);
		return;
	case MY_R_INFILE:
		if (b[0] == 0xff) {
			my_error(p, b, have, len);
			my_complete(s, o);
		} else {
			my_result_end(s, b, have, len, o);
		}
		return;
	case MY_R_DEFS:
		if (b[0] == 0xff) {
			my_error(p, b, have, len);
			my_complete(s, o);
		} else if (--s->defs_left == 0) {
			s->rst = MY_R_AFTER_DEFS;
		}
		return;
	case MY_R_AFTER_DEFS:
		if (my_is_eof(b, have, len)) {
			if (my_status(b, have, len) & MY_STATUS_CURSOR_EXISTS)
				my_complete(s, o);
			else
				s->rst = MY_R_ROWS;
			return;
		}
		s->rst = MY_R_ROWS;
		break;
	default:
		break;
	}
	/* Rows. */
	if (b[0] == 0xff) {
		my_error(p, b, have, len);
		my_complete(s, o);
	} else if (my_is_terminator(b, have, len)) {
		my_result_end(s, b, have, len, o);
	}
}

static void my_on_prepare(struct my_state *s, struct my_pending *p,
			  const uint8_t *b, size_t have, uint32_t len,
			  const struct sonde_db_out *o)
{
	if (s->rst == MY_R_FIRST) {
		if (b[0] != 0x00 || have < 9) {
			my_complete(s, o);
			return;
		}
		if (sonde_db_stmt_put(&s->stmts, my_stmt_key(sonde_le32(b + 1)),
				      &p->sum))
			s->c.stats.dropped++;
		s->defs_left = (uint64_t)sonde_le16(b + 5) + sonde_le16(b + 7);
		if (s->defs_left == 0) {
			my_complete(s, o);
			return;
		}
		s->rst = MY_R_DEFS;
		return;
	}
	/* Parameter and column definitions, each block maybe closed by EOF. */
	if (my_is_eof(b, have, len))
		return;
	if (--s->defs_left == 0) {
		my_complete(s, o);
		s->eat_eof = !s->caps_known || !s->deprecate_eof;
	}
}

static int my_on_response(struct my_state *s, const struct my_stream *st,
			  const uint8_t *b, size_t have, const struct sonde_db_out *o)
{
	struct my_pending *p;
	bool eat = s->eat_eof;

	if (st->cont || have == 0)
		return 0;
	s->eat_eof = false;
	if (eat && my_is_eof(b, have, st->len))
		return 0;
	p = my_front(s);
	if (!p)
		return 0; /* greeting, auth exchange, or a reply we lost */
	switch (p->expect) {
	case MY_E_RESULT:
		my_on_result(s, p, b, have, st->len, o);
		break;
	case MY_E_PREPARE:
		my_on_prepare(s, p, b, have, st->len, o);
		break;
	case MY_E_FIELDS:
		if (b[0] == 0xff || my_is_terminator(b, have, st->len))
			my_complete(s, o);
		break;
	case MY_E_ROWS:
		if (b[0] == 0xff || my_is_terminator(b, have, st->len))
			my_complete(s, o);
		break;
	case MY_E_AUTH:
		if (b[0] == 0x00 || b[0] == 0xff)
			my_complete(s, o);
		break;
	default:
		my_complete(s, o);
		break;
	}
	return 0;
}

/* ---- framing ---- */

static void my_drop_pending(struct my_state *s)
{
	struct my_pending *p;

	while ((p = my_front(s))) {
		if (p->txn)
			s->c.stats.dropped++;
		sonde_fifo_pop(&s->fifo, s->cap);
	}
	s->rst = MY_R_FIRST;
	s->defs_left = 0;
	s->eat_eof = false;
}

/*
 * Response framing lost, usually a result set larger than the capture:
 * the pending commands were being answered, so they complete at this
 * chunk (durations are lower bounds, errors unknown).
 */
static void my_resp_desync(struct my_state *s, const struct sonde_db_out *o)
{
	struct my_pending *p;

	s->c.stats.desyncs++;
	while ((p = my_front(s))) {
		if (p->txn)
			my_emit(p, o);
		sonde_fifo_pop(&s->fifo, s->cap);
	}
	s->rst = MY_R_FIRST;
	s->defs_left = 0;
	s->eat_eof = false;
	s->resp.f.st = SONDE_FRAME_RESYNC;
	s->c.resp_armed = false;
}

static int my_frame(void *ctx, const uint8_t *b, size_t have)
{
	const struct sonde_db_chunk *ch = ctx;
	struct my_state *s = ch->state;
	struct my_stream *st = ch->stream;
	int r;

	r = ch->req ? my_on_request(s, st, b, have)
		    : my_on_response(s, st, b, have, &ch->o);
	if (s->c.dead)
		return -EPROTO;
	if (r < 0) {
		if (!s->c.valid) {
			s->c.dead = true;
			return -EPROTO;
		}
		s->c.stats.parse_errors++;
		if (ch->req) {
			s->c.stats.desyncs++;
			st->f.st = SONDE_FRAME_RESYNC;
		} else {
			my_drop_pending(s);
		}
		return 0;
	}
	if (ch->req && st->seq == 0 && !st->cont)
		s->c.valid = true;
	return 0;
}

static int my_length(void *ctx, const uint8_t *hdr, uint64_t *ret_len)
{
	struct my_stream *st = ((const struct sonde_db_chunk *)ctx)->stream;

	st->len = sonde_le24(hdr);
	st->seq = hdr[3];
	st->cont = st->next_cont;
	st->next_cont = st->len == MY_MAX_PAYLOAD;
	*ret_len = st->len;
	return 0;
}

static void my_lost(void *ctx)
{
	const struct sonde_db_chunk *ch = ctx;
	struct my_state *s = ch->state;

	if (ch->req)
		s->c.stats.desyncs++;
	else
		my_resp_desync(s, &ch->o);
}

/* A resynced stream forgets that a 0xffffff-byte packet was continuing. */
static void my_reset(void *ctx)
{
	struct my_stream *st = ((const struct sonde_db_chunk *)ctx)->stream;

	memset(st, 0, sizeof(*st));
}

static const struct sonde_db_proto my_db = {
	.framing = {
		.hdr_len = 4,
		.length = my_length,
		.frame = my_frame,
		.lost = my_lost,
		.reset = my_reset,
	},
	.dir = my_dir,
};

static int my_feed(void *state, enum sonde_flow flow, const uint8_t *data,
		   size_t len, size_t total, uint64_t ts_ns,
		   sonde_txn_emit_fn emit, void *userdata)
{
	return sonde_db_feed(&my_db, state, flow, data, len, total, ts_ns,
			     emit, userdata);
}

const struct sonde_proto_ops sonde_proto_mysql = {
	.proto = SONDE_PROTO_MYSQL,
	.name = "mysql",
	.state_size = sizeof(struct my_state),
	.detect = my_detect,
	.init = my_init,
	.feed = my_feed,
	.stats = sonde_db_stats,
	.fini = my_fini,
};
