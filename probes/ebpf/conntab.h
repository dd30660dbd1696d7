/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_CONNTAB_H
#define SONDE_EBPF_CONNTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "events.h"
#include "protocols/protocol.h"
#include "transaction.h"

/*
 * The connection table: (tgid, fd) -> one connection with its role, its
 * detected protocol and that parser's state. The socket id (inode number)
 * tells a reused fd from the connection it used to be. Fixed capacity: the
 * least recently active connection is evicted (and counted) when full, and
 * idle ones expire. Pure: no BPF, no registry, driven by the caller's clock
 * (monotonic ns), so the tests drive it with made-up events.
 */

#define SONDE_CONNTAB_MAX_PROTOS 8
/*
 * Request bytes kept while detecting: servers that read a header first and
 * the rest after (MySQL reads 4 bytes, then the payload) show detect() too
 * little in any one chunk.
 */
#define SONDE_CONN_DETECT_BUF 256
/* The size of a gap of unknown size (records lost): past any body. */
#define SONDE_CONN_GAP_UNKNOWN ((size_t)1 << 40)

enum sonde_conn_role {
	SONDE_CONN_ROLE_UNKNOWN = 0,
	SONDE_CONN_ROLE_SERVER = 1, /* reads are requests */
	SONDE_CONN_ROLE_CLIENT = 2, /* writes are requests */
};

/* What a chunk is on a TLS connection (sonde_conntab_chunk.tls). */
enum sonde_conn_tls {
	SONDE_CONN_TLS_NONE = 0,   /* the wire's bytes, TLS or not */
	SONDE_CONN_TLS_PLAIN = 1,  /* the TLS library's plaintext: parsed, not counted */
	SONDE_CONN_TLS_CIPHER = 2, /* wire bytes known to be encrypted: counted only */
};

enum sonde_conn_state {
	SONDE_CONN_DETECTING = 0,
	SONDE_CONN_PARSING,
	SONDE_CONN_IGNORED, /* no parser wants it: bytes are still counted */
};

struct sonde_conn {
	uint32_t tgid;
	int32_t fd;
	uint64_t sock_id;
	uint8_t role;       /* enum sonde_conn_role */
	bool role_guessed;  /* not from accept/connect */
	uint8_t state;      /* enum sonde_conn_state */
	uint8_t detect_left;
	uint8_t switches;
	/*
	 * TLS: the wire's bytes are counted, never parsed; the protocol is
	 * detected and parsed from the plaintext chunks (plain_seen).
	 */
	bool tls;
	bool plain_seen;
	/* the client end of a loopback DB/cache connection, detected: at its
	 * first response, set aside if the server's end is traced too */
	bool end_check;
	bool paired;        /* in the table's address-pair index (pnext) */
	bool unix_named;    /* unix_name asked; its answer (NULL: none) */
	/*
	 * The socket's capture setting as the kernel holds it, when not its
	 * default: set by the kernel at an HTTP/1 start (a chunk's ctl_set),
	 * or by the proto_changed callback once it changed it.
	 */
	bool ctl_set;
	uint32_t ctl_capture, ctl_plain;
	char *unix_name;
	unsigned proto_idx;
	const struct sonde_proto_ops *proto;
	void *pstate;
	struct sonde_proto_stats seen; /* last stats folded into the table's */
	struct sonde_addr local;
	struct sonde_addr peer;
	uint64_t first_ns;
	uint64_t last_ns;
	uint64_t bytes_sent;
	uint64_t bytes_recv;
	uint16_t det_len;
	uint8_t det[SONDE_CONN_DETECT_BUF];
	/* table internals */
	struct sonde_conn *hnext;
	struct sonde_conn *pnext;       /* loopback connections by (local, peer) */
	struct sonde_conn *prev, *next; /* activity order, oldest first */
};

/* txn is the table's scratch copy, already completed with pid, addresses,
 * kind and server address; the callee may still change it. */
typedef void (*sonde_conntab_emit_fn)(struct sonde_txn *txn,
				      const struct sonde_conn *conn,
				      void *userdata);
/*
 * The connection's protocol changed: conn->proto is the parser now, or
 * NULL when no parser wants it (e.g. stop copying its payload). Also
 * called when a connection turns out to be TLS (conn->tls): its wire
 * bytes are no longer worth copying.
 */
typedef void (*sonde_conntab_proto_fn)(struct sonde_conn *conn, void *userdata);

struct sonde_conntab_opts {
	unsigned max_conns;
	uint64_t idle_ns;
	const struct sonde_proto_ops *protos[SONDE_CONNTAB_MAX_PROTOS];
	unsigned n_protos;
	unsigned detect_chunks; /* request chunks tried before giving up; 0: 8 */
	unsigned max_switches;  /* re-detections after -EPROTO */
	uint16_t ephemeral_lo, ephemeral_hi; /* 0,0: 32768..60999 */
	/*
	 * The client end of a loopback DB or cache connection is not parsed
	 * past its first exchange when the server's end, traced on this host
	 * too, reports the same commands. Counted in loopback_clients; like
	 * an ignored connection, proto_changed tells its payload is not
	 * wanted. Without the server's end, the client's reports
	 * (loopback_clients_reported).
	 */
	bool loopback_dedup;
	sonde_conntab_emit_fn emit;
	sonde_conntab_proto_fn proto_changed;
	/*
	 * The name of the socket a unix-socket connection reached, as its
	 * transactions' server_address: asked once per connection, at its
	 * first transaction; false (or NULL here) leaves "unix".
	 */
	bool (*unix_name)(const struct sonde_conn *conn, char *out, size_t len, void *userdata);
	void *userdata;
};

struct sonde_conntab_proto_stats {
	uint64_t detected;
	uint64_t parse_errors;
	uint64_t desyncs;
	uint64_t dropped;
	uint64_t eproto; /* feed() gave up on a connection */
};

struct sonde_conntab_stats {
	uint64_t opened;
	uint64_t closed;
	uint64_t evicted_cap;
	uint64_t evicted_idle;
	uint64_t reused; /* fd seen with a new socket id without a close */
	uint64_t stale_closes; /* a close of a socket its fd no longer names */
	uint64_t ignored;
	uint64_t alloc_failed;
	uint64_t loopback_clients; /* client ends of loopback DB/cache connections set aside */
	/* client ends that found no server end traced at their first
	 * response, and so report (one may still be set aside later) */
	uint64_t loopback_clients_reported;
	uint64_t tls;              /* connections seen speaking TLS */
	uint64_t tls_opaque;       /* TLS connections that ended without plaintext */
	uint64_t loss_gaps;        /* parsers told of bytes lost before a chunk */
	uint64_t txns;
	unsigned active;
	struct sonde_conntab_proto_stats proto[SONDE_CONNTAB_MAX_PROTOS];
};

struct sonde_conntab;

int sonde_conntab_new(const struct sonde_conntab_opts *opts,
		      struct sonde_conntab **ret_tab);
void sonde_conntab_free(struct sonde_conntab *tab);

/* accept/connect returned a socket on fd: a fresh connection, any older
 * one on that fd is dropped. role: SERVER or CLIENT. */
int sonde_conntab_open(struct sonde_conntab *tab, uint32_t tgid, int32_t fd,
		       uint64_t sock_id, uint8_t role,
		       const struct sonde_addr *local,
		       const struct sonde_addr *peer, uint64_t now_ns);

/* What a connection had counted when close() ended it. */
struct sonde_conntab_closed {
	uint64_t sent, recv;
	bool is_unix;
};

/*
 * close(): forgets the connection on fd if it is socket sock_id (0: any);
 * true and what it had counted if so. A close read after the fd's number
 * came back for another socket (threads of one process: one closes, one
 * accepts) names the old socket, which the newcomer already ended as
 * reused: it is ignored (stats.stale_closes), the newcomer lives on.
 */
bool sonde_conntab_close(struct sonde_conntab *tab, uint32_t tgid, int32_t fd,
			 uint64_t sock_id, struct sonde_conntab_closed *out);

struct sonde_conntab_chunk {
	uint32_t tgid;
	int32_t fd;
	uint64_t sock_id;
	uint8_t kernel_role; /* what the kernel saw, or UNKNOWN */
	bool send;           /* written (true) or read (false) */
	const struct sonde_addr *local;
	const struct sonde_addr *peer;
	const uint8_t *data;
	size_t len;   /* captured */
	size_t total; /* moved by the syscall */
	uint64_t ts_ns;
	uint8_t tls;  /* enum sonde_conn_tls */
	bool after_loss; /* bytes of this flow were lost just before (ring buffer full) */
	/* the kernel set the socket's capture at this chunk (conn->ctl_*) */
	bool ctl_set;
	uint32_t ctl_capture, ctl_plain;
	/*
	 * A frame-walked record (HTTP/2 with DATA payloads left out): data is
	 * the segments' copies end to end; each is followed in the stream by
	 * its skip, bytes not captured. 0 segments: data then total - len.
	 */
	const struct sonde_ebpf_seg *segs;
	size_t n_segs;
};

/* One syscall's bytes; creates the connection when first seen. */
int sonde_conntab_data(struct sonde_conntab *tab,
		       const struct sonde_conntab_chunk *chunk);

/* Drops connections idle since before now_ns - idle_ns; returns how many. */
unsigned sonde_conntab_expire(struct sonde_conntab *tab, uint64_t now_ns);

const struct sonde_conntab_stats *sonde_conntab_stats(const struct sonde_conntab *tab);
struct sonde_conn *sonde_conntab_find(struct sonde_conntab *tab, uint32_t tgid,
				      int32_t fd);

/* Role from ports alone: UNKNOWN unless exactly one side is ephemeral. */
uint8_t sonde_conntab_guess_role(const struct sonde_conntab *tab,
				 const struct sonde_addr *local,
				 const struct sonde_addr *peer);

bool sonde_addr_is_loopback(const struct sonde_addr *a);
/* Address text: sonde_addr_string (transaction.h). */

#endif
