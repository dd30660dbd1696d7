/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TEST_CONNTAB_FAKE_H
#define SONDE_TEST_CONNTAB_FAKE_H
/*
 * What the connection table tests share (test_conntab.c,
 * test_conntab_tls.c): two fake protocols and a table built on them that
 * records what it emits and every proto_changed call.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conntab.h"

/*
 * "Fake cache": requests "REQ <op>\n", responses "RES <n>\n"; a response
 * completes the pending request. "BAD" anywhere -> -EPROTO, "ERR" counts a
 * parse error. Bytes of each flow are counted (total, not len). "HDR\n" is
 * a response whose body goes out of band (HTTP's sendfile case): only the
 * connection's end, an empty response chunk (len == total == 0), completes
 * it.
 */
extern const struct sonde_proto_ops fake_cache; /* "REQ"; a cache, REDIS */
extern const struct sonde_proto_ops fake_web;   /* "WEB "; HTTP1 */

#define MAX_TXN 64
#define MAX_CHANGES 16

struct ctx {
	struct sonde_conntab *tab;
	struct sonde_txn txn[MAX_TXN];
	uint8_t role[MAX_TXN];
	unsigned n;
	unsigned ignored;  /* proto_changed with no parser */
	unsigned detected; /* proto_changed with a parser */
	/* every proto_changed call: the connection as it was then */
	unsigned n_changes;
	struct {
		bool tls;
		uint8_t state;
		const struct sonde_proto_ops *proto;
	} changes[MAX_CHANGES];
};

/* The unix_name callback of the tables mk() makes from then on (NULL). */
extern bool (*fake_unix_name)(const struct sonde_conn *conn, char *out, size_t len,
			      void *userdata);

/*
 * A table of max_conns on fake_cache then fake_web: detect_chunks 3,
 * max_switches 1, loopback_dedup; done() frees it.
 */
struct ctx *mk(unsigned max_conns, uint64_t idle_ns);
void done(struct ctx *x);
struct sonde_addr v4(const char *ip, uint16_t port);
/* one chunk of the string s (total 0: its length); role from the kernel or
 * UNKNOWN; tgid 100 */
void chunk(struct ctx *x, int fd, uint64_t sock_id, uint8_t krole, bool send,
	   const struct sonde_addr *l, const struct sonde_addr *p, const char *s,
	   size_t total, uint64_t ts);

#endif
