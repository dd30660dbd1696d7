// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conntab.h"

struct sonde_conntab {
	struct sonde_conntab_opts o;
	struct sonde_conn *pool;
	struct sonde_conn *free_list; /* linked through hnext */
	/* pool[next_fresh..] were never used: taken in order so that the
	 * untouched part of the pool costs no resident memory */
	size_t next_fresh;
	struct sonde_conn **buckets;
	/* loopback connections by their (local, peer) pair: each end of a
	 * connection traced at both ends finds the other */
	struct sonde_conn **pbuckets;
	size_t n_buckets; /* power of two, for both */
	struct sonde_conn *oldest, *newest;
	struct sonde_conntab_stats stats;
};

/* The parser callback's context: the table and the connection fed. */
struct emit_ctx {
	struct sonde_conntab *tab;
	struct sonde_conn *conn;
};

static size_t bucket_of(const struct sonde_conntab *tab, uint32_t tgid,
			int32_t fd)
{
	uint64_t h = ((uint64_t)tgid << 32 | (uint32_t)fd) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (tab->n_buckets - 1);
}

int sonde_conntab_new(const struct sonde_conntab_opts *opts,
		      struct sonde_conntab **ret_tab)
{
	struct sonde_conntab *tab;
	int err;

	if (!opts || opts->max_conns == 0 || opts->n_protos > SONDE_CONNTAB_MAX_PROTOS)
		return -EINVAL;
	tab = calloc(1, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	tab->o = *opts;
	if (!tab->o.detect_chunks)
		tab->o.detect_chunks = 8;
	if (tab->o.detect_chunks > 255)
		tab->o.detect_chunks = 255;
	if (!tab->o.ephemeral_lo && !tab->o.ephemeral_hi) {
		tab->o.ephemeral_lo = 32768;
		tab->o.ephemeral_hi = 60999;
	}
	tab->n_buckets = 16;
	while (tab->n_buckets < opts->max_conns)
		tab->n_buckets <<= 1;
	tab->pool = calloc(opts->max_conns, sizeof(*tab->pool));
	tab->buckets = calloc(tab->n_buckets, sizeof(*tab->buckets));
	tab->pbuckets = calloc(tab->n_buckets, sizeof(*tab->pbuckets));
	if (!tab->pool || !tab->buckets || !tab->pbuckets) {
		err = -ENOMEM;
		goto err;
	}
	*ret_tab = tab;
	return 0;
err:
	sonde_conntab_free(tab);
	return err;
}

static void lru_unlink(struct sonde_conntab *tab, struct sonde_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		tab->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		tab->newest = c->prev;
	c->prev = c->next = NULL;
}

static void lru_append(struct sonde_conntab *tab, struct sonde_conn *c)
{
	c->prev = tab->newest;
	c->next = NULL;
	if (tab->newest)
		tab->newest->next = c;
	else
		tab->oldest = c;
	tab->newest = c;
}

static void drop_parser(struct sonde_conn *c)
{
	if (c->proto)
		sonde_proto_state_free(c->proto, c->pstate);
	else
		free(c->pstate);
	c->pstate = NULL;
	c->proto = NULL;
}

static void on_txn(struct sonde_txn *t, void *userdata);
static void release(struct sonde_conntab *tab, struct sonde_conn *c);
static void fold_stats(struct sonde_conntab *tab, struct sonde_conn *c);

/*
 * The connection ends (close, idle expiry, eviction, an fd reused without
 * a close seen): its parser gets an empty response-flow chunk, len ==
 * total == 0, which means "connection closed" (protocol.h). HTTP then
 * completes a last response whose body went out by sendfile(); the other
 * parsers ignore it. Not at sonde_conntab_free: the caller is shutting
 * down and its emit callback may no longer be usable.
 */
static void feed_close(struct sonde_conntab *tab, struct sonde_conn *c)
{
	static const uint8_t none[1];
	struct emit_ctx ctx = { .tab = tab, .conn = c };

	if (c->state != SONDE_CONN_PARSING || !c->proto || !c->pstate)
		return;
	/* -EPROTO does not matter any more: the state is freed next */
	(void)c->proto->feed(c->pstate, SONDE_FLOW_RESPONSE, none, 0, 0,
			     c->last_ns, on_txn, &ctx);
	fold_stats(tab, c);
}

/* The connection is over: last words to its parser, then release. */
static void finish(struct sonde_conntab *tab, struct sonde_conn *c)
{
	feed_close(tab, c);
	if (c->tls && !c->plain_seen)
		tab->stats.tls_opaque++;
	/* ended before its detection budget ran out, unrecognised (HTTP/2) */
	if (c->state == SONDE_CONN_DETECTING && c->detect_left < tab->o.detect_chunks)
		tab->stats.ignored++;
	release(tab, c);
}

static uint64_t addr_hash(const struct sonde_addr *a, uint64_t h)
{
	h = (h ^ a->family ^ (uint64_t)a->port << 8) * 0x100000001B3ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->addr[i]) * 0x100000001B3ull;
	return h;
}

static size_t pair_bucket(const struct sonde_conntab *tab, const struct sonde_addr *local,
			  const struct sonde_addr *peer)
{
	return (size_t)(addr_hash(peer, addr_hash(local, 0xcbf29ce484222325ull)) >> 32) &
	       (tab->n_buckets - 1);
}

static bool addr_equal(const struct sonde_addr *a, const struct sonde_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Both ends known on this host: a loopback peer with an address (a unix
 * socket's is its peer's identity, 0 when the kernel had no peer). */
static bool pairable(const struct sonde_conn *c)
{
	static const uint8_t none[16];

	return sonde_addr_is_loopback(&c->peer) &&
	       (c->peer.port || memcmp(c->peer.addr, none, sizeof(none)) != 0);
}

/* The connection's addresses, and its place in the pair index. */
static void set_addrs(struct sonde_conntab *tab, struct sonde_conn *c,
		      const struct sonde_addr *local, const struct sonde_addr *peer)
{
	size_t b;

	if (local)
		c->local = *local;
	if (peer)
		c->peer = *peer;
	if (c->paired || !pairable(c))
		return;
	b = pair_bucket(tab, &c->local, &c->peer);
	c->pnext = tab->pbuckets[b];
	tab->pbuckets[b] = c;
	c->paired = true;
}

/* The other end of c's connection, when this host's tracing sees it. */
static struct sonde_conn *other_end(struct sonde_conntab *tab, const struct sonde_conn *c)
{
	struct sonde_conn *o;

	if (!c->paired)
		return NULL;
	for (o = tab->pbuckets[pair_bucket(tab, &c->peer, &c->local)]; o; o = o->pnext)
		if (o != c && addr_equal(&o->local, &c->peer) && addr_equal(&o->peer, &c->local))
			return o;
	return NULL;
}

/* Unhooks c from its buckets and the activity list, back to the free list. */
static void release(struct sonde_conntab *tab, struct sonde_conn *c)
{
	struct sonde_conn **pp = &tab->buckets[bucket_of(tab, c->tgid, c->fd)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (c->paired) {
		pp = &tab->pbuckets[pair_bucket(tab, &c->local, &c->peer)];
		while (*pp && *pp != c)
			pp = &(*pp)->pnext;
		if (*pp)
			*pp = c->pnext;
	}
	lru_unlink(tab, c);
	drop_parser(c);
	free(c->unix_name);
	memset(c, 0, sizeof(*c));
	c->hnext = tab->free_list;
	tab->free_list = c;
	tab->stats.active--;
}

void sonde_conntab_free(struct sonde_conntab *tab)
{
	if (!tab)
		return;
	while (tab->oldest)
		release(tab, tab->oldest);
	free(tab->buckets);
	free(tab->pbuckets);
	free(tab->pool);
	free(tab);
}

struct sonde_conn *sonde_conntab_find(struct sonde_conntab *tab, uint32_t tgid,
				      int32_t fd)
{
	struct sonde_conn *c = tab->buckets[bucket_of(tab, tgid, fd)];

	while (c && (c->tgid != tgid || c->fd != fd))
		c = c->hnext;
	return c;
}

static bool ephemeral(const struct sonde_conntab *tab, uint16_t port)
{
	return port >= tab->o.ephemeral_lo && port <= tab->o.ephemeral_hi;
}

uint8_t sonde_conntab_guess_role(const struct sonde_conntab *tab,
				 const struct sonde_addr *local,
				 const struct sonde_addr *peer)
{
	bool le, pe;

	if (!local || !peer || !local->port || !peer->port)
		return SONDE_CONN_ROLE_UNKNOWN;
	le = ephemeral(tab, local->port);
	pe = ephemeral(tab, peer->port);
	if (le && !pe)
		return SONDE_CONN_ROLE_CLIENT;
	if (pe && !le)
		return SONDE_CONN_ROLE_SERVER;
	return SONDE_CONN_ROLE_UNKNOWN;
}

static struct sonde_conn *create(struct sonde_conntab *tab, uint32_t tgid,
				 int32_t fd, uint64_t sock_id, uint64_t now_ns)
{
	struct sonde_conn *c = tab->free_list;
	size_t b;

	if (!c && tab->next_fresh < tab->o.max_conns) {
		c = &tab->pool[tab->next_fresh++];
		c->hnext = NULL;
		tab->free_list = c;
	}
	if (!c) {
		/* full: the least recently active connection makes room */
		tab->stats.evicted_cap++;
		finish(tab, tab->oldest);
		c = tab->free_list;
	}
	tab->free_list = c->hnext;
	memset(c, 0, sizeof(*c));
	c->tgid = tgid;
	c->fd = fd;
	c->sock_id = sock_id;
	c->detect_left = (uint8_t)tab->o.detect_chunks;
	c->first_ns = c->last_ns = now_ns;
	b = bucket_of(tab, tgid, fd);
	c->hnext = tab->buckets[b];
	tab->buckets[b] = c;
	lru_append(tab, c);
	tab->stats.active++;
	tab->stats.opened++;
	return c;
}

int sonde_conntab_open(struct sonde_conntab *tab, uint32_t tgid, int32_t fd,
		       uint64_t sock_id, uint8_t role,
		       const struct sonde_addr *local,
		       const struct sonde_addr *peer, uint64_t now_ns)
{
	struct sonde_conn *c = sonde_conntab_find(tab, tgid, fd);

	if (c) {
		if (c->sock_id != sock_id)
			tab->stats.reused++;
		finish(tab, c);
	}
	c = create(tab, tgid, fd, sock_id, now_ns);
	c->role = role;
	set_addrs(tab, c, local, peer);
	return 0;
}

bool sonde_conntab_close(struct sonde_conntab *tab, uint32_t tgid, int32_t fd,
			 uint64_t sock_id, struct sonde_conntab_closed *out)
{
	struct sonde_conn *c = sonde_conntab_find(tab, tgid, fd);

	if (!c)
		return false;
	if (sock_id && c->sock_id && c->sock_id != sock_id) {
		tab->stats.stale_closes++;
		return false;
	}
	if (out) {
		out->sent = c->bytes_sent;
		out->recv = c->bytes_recv;
		out->is_unix = c->local.family == AF_UNIX;
	}
	tab->stats.closed++;
	finish(tab, c);
	return true;
}

unsigned sonde_conntab_expire(struct sonde_conntab *tab, uint64_t now_ns)
{
	unsigned n = 0;

	while (tab->oldest && tab->oldest->last_ns + tab->o.idle_ns < now_ns) {
		tab->stats.evicted_idle++;
		finish(tab, tab->oldest);
		n++;
	}
	return n;
}

const struct sonde_conntab_stats *sonde_conntab_stats(const struct sonde_conntab *tab)
{
	return &tab->stats;
}

bool sonde_addr_is_loopback(const struct sonde_addr *a)
{
	static const uint8_t v6_loop[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->family == AF_UNIX)
		return true; /* both ends on this host */
	if (a->family == AF_INET)
		return a->addr[0] == 127;
	if (a->family == AF_INET6)
		return memcmp(a->addr, v6_loop, 16) == 0 ||
		       (memcmp(a->addr, v4_mapped, 12) == 0 && a->addr[12] == 127);
	return false;
}

static void fold_stats(struct sonde_conntab *tab, struct sonde_conn *c)
{
	struct sonde_conntab_proto_stats *ps = &tab->stats.proto[c->proto_idx];
	const struct sonde_proto_stats *now;

	if (!c->proto || !c->proto->stats)
		return;
	now = c->proto->stats(c->pstate);
	if (!now)
		return;
	ps->parse_errors += now->parse_errors - c->seen.parse_errors;
	ps->desyncs += now->desyncs - c->seen.desyncs;
	ps->dropped += now->dropped - c->seen.dropped;
	c->seen = *now;
}

/* A unix-socket connection's server name, asked once; "unix" without one. */
static const char *unix_server(struct sonde_conntab *tab, struct sonde_conn *c)
{
	char name[SONDE_TXN_SERVER_LEN];

	if (!c->unix_named) {
		c->unix_named = true;
		if (tab->o.unix_name && tab->o.unix_name(c, name, sizeof(name), tab->o.userdata) &&
		    name[0])
			c->unix_name = strdup(name); /* NULL on failure: "unix" */
	}
	return c->unix_name ? c->unix_name : "unix";
}

static void on_txn(struct sonde_txn *t, void *userdata)
{
	struct emit_ctx *ctx = userdata;
	struct sonde_conntab *tab = ctx->tab;
	struct sonde_conn *c = ctx->conn;

	t->source = SONDE_SRC_EBPF;
	t->pid = c->tgid;
	t->local = c->local;
	t->peer = c->peer;
	if (t->kind == SONDE_TXN_HTTP_SERVER || t->kind == SONDE_TXN_HTTP_CLIENT ||
	    sonde_proto_is_http(t->proto))
		t->kind = c->role == SONDE_CONN_ROLE_CLIENT ? SONDE_TXN_HTTP_CLIENT :
							      SONDE_TXN_HTTP_SERVER;
	/* the server end: the peer for clients, ourselves for servers */
	{
		const struct sonde_addr *srv =
			c->role == SONDE_CONN_ROLE_CLIENT ? &c->peer : &c->local;

		if (!t->server_address[0] && srv->family == AF_UNIX)
			/* a local socket: no address, its name if the kernel had one */
			SONDE_TXN_SET(t->server_address, unix_server(tab, c),
				      sizeof(t->server_address));
		else if (!t->server_address[0])
			sonde_addr_string(srv, t->server_address,
					  sizeof(t->server_address));
		if (!t->server_port)
			t->server_port = srv->port;
	}
	tab->stats.txns++;
	if (tab->o.emit)
		tab->o.emit(t, c, tab->o.userdata);
}

/* No parser from here on: bytes are still counted, payload no longer wanted. */
static void stop_parsing(struct sonde_conntab *tab, struct sonde_conn *c)
{
	drop_parser(c);
	c->state = SONDE_CONN_IGNORED;
	if (tab->o.proto_changed)
		tab->o.proto_changed(c, tab->o.userdata);
}

static void give_up(struct sonde_conntab *tab, struct sonde_conn *c)
{
	tab->stats.ignored++;
	stop_parsing(tab, c);
}

/* An end of a loopback DB or cache connection in this role. */
static bool loopback_end(const struct sonde_conntab *tab, const struct sonde_conn *c,
			 uint8_t role)
{
	return tab->o.loopback_dedup && c->role == role && c->proto &&
	       !sonde_proto_is_http(c->proto->proto) && sonde_addr_is_loopback(&c->peer);
}

/*
 * Both ends of a loopback DB or cache connection would report every
 * command: the server's end does, and the client's is set aside (its
 * payload no longer wanted). A client end is checked at its first
 * response, when the server's end, if traced, has read the request
 * already (records come in the order of the syscalls' ends); a server end
 * found later still takes over from a client end that reported. Without
 * the server's end (tracing filtered to the client), the client reports.
 */
static bool set_aside(struct sonde_conntab *tab, struct sonde_conn *client)
{
	tab->stats.loopback_clients++;
	stop_parsing(tab, client);
	return true;
}

static bool client_end_set_aside(struct sonde_conntab *tab, struct sonde_conn *c)
{
	struct sonde_conn *srv = other_end(tab, c);

	c->end_check = false;
	if (srv && srv->state == SONDE_CONN_PARSING && srv->role != SONDE_CONN_ROLE_CLIENT)
		return set_aside(tab, c);
	tab->stats.loopback_clients_reported++;
	return false;
}

static void server_end_detected(struct sonde_conntab *tab, struct sonde_conn *c)
{
	struct sonde_conn *cli = other_end(tab, c);

	if (cli && cli->state == SONDE_CONN_PARSING && cli->role == SONDE_CONN_ROLE_CLIENT &&
	    !cli->end_check)
		set_aside(tab, cli);
}

/* Tries each parser's detect() on a request-flow chunk. */
static bool detect(struct sonde_conntab *tab, struct sonde_conn *c,
		   const uint8_t *data, size_t len)
{
	unsigned i;

	for (i = 0; i < tab->o.n_protos; i++) {
		const struct sonde_proto_ops *p = tab->o.protos[i];

		if (!p->detect(data, len))
			continue;
		c->pstate = calloc(1, p->state_size ? p->state_size : 1);
		if (!c->pstate) {
			tab->stats.alloc_failed++;
			return false;
		}
		p->init(c->pstate);
		c->proto = p;
		c->proto_idx = i;
		memset(&c->seen, 0, sizeof(c->seen));
		c->state = SONDE_CONN_PARSING;
		tab->stats.proto[i].detected++;
		if (tab->o.proto_changed)
			tab->o.proto_changed(c, tab->o.userdata);
		return true;
	}
	return false;
}

/*
 * Detection on the request bytes gathered so far (when every chunk was
 * captured whole and they fit), else on this chunk alone. On success
 * *data..*total is what to feed first: the gathered bytes or the chunk.
 */
static bool detect_chunk(struct sonde_conntab *tab, struct sonde_conn *c,
			 const struct sonde_conntab_chunk *ch, const uint8_t **data,
			 size_t *len, size_t *total)
{
	if (ch->len == ch->total && c->det_len + ch->len <= sizeof(c->det)) {
		memcpy(c->det + c->det_len, ch->data, ch->len);
		c->det_len = (uint16_t)(c->det_len + ch->len);
		if (detect(tab, c, c->det, c->det_len)) {
			*data = c->det;
			*len = *total = c->det_len;
			return true;
		}
		if (c->det_len == ch->len)
			return false;
	} else {
		c->det_len = 0;
	}
	if (!detect(tab, c, ch->data, ch->len))
		return false;
	c->det_len = 0;
	return true;
}

/* A chunk of the request flow, or of either while the role is unknown. */
static bool request_chunk(const struct sonde_conn *c, const struct sonde_conntab_chunk *ch)
{
	if (c->role == SONDE_CONN_ROLE_UNKNOWN)
		return true; /* whichever side detects names the role */
	return ch->send == (c->role == SONDE_CONN_ROLE_CLIENT);
}

/*
 * A TLS ClientHello: a handshake record (type 22, version 3.x, a length
 * up to 2^14 + 2048) whose first message is a ClientHello (type 1) that
 * fits in it. Strict enough not to take a protocol's first request for it
 * (a MySQL packet 790 bytes long starts 16 03 00 too).
 */
static bool tls_client_hello(const uint8_t *d, size_t len)
{
	size_t rec, hs;

	if (len < 9 || d[0] != 0x16 || d[1] != 0x03 || d[2] > 0x04 || d[5] != 0x01)
		return false;
	rec = (size_t)d[3] << 8 | d[4];
	hs = (size_t)d[6] << 16 | (size_t)d[7] << 8 | d[8];
	return rec >= 4 && rec <= 16384 + 2048 && hs + 4 <= rec;
}

/*
 * The request flow's first bytes are a ClientHello: those gathered while
 * detecting, then this chunk's (a server may read the record's 5-byte
 * header first and its body after).
 */
static bool tls_start(const struct sonde_conn *c, const struct sonde_conntab_chunk *ch)
{
	uint8_t head[9];
	size_t n = c->det_len < sizeof(head) ? c->det_len : sizeof(head);
	size_t more = sizeof(head) - n;

	memcpy(head, c->det, n);
	if (more > ch->len)
		more = ch->len;
	if (more) /* a payload-less chunk may come without a data pointer */
		memcpy(head + n, ch->data, more);
	return tls_client_hello(head, n + more);
}

/* The connection speaks TLS: its wire bytes are counted, not parsed. */
static void mark_tls(struct sonde_conntab *tab, struct sonde_conn *c)
{
	c->tls = true;
	tab->stats.tls++;
	if (c->state == SONDE_CONN_PARSING)
		drop_parser(c);
	c->state = SONDE_CONN_DETECTING;
	c->detect_left = (uint8_t)tab->o.detect_chunks; /* for the plaintext */
	c->det_len = 0;
	if (tab->o.proto_changed)
		tab->o.proto_changed(c, tab->o.userdata);
}

/*
 * The first plaintext of a TLS connection: detection starts over on the
 * plaintext, whatever the handshake bytes did to it (given up on, taken
 * for another protocol).
 */
static void start_plaintext(struct sonde_conntab *tab, struct sonde_conn *c)
{
	if (!c->tls) {
		c->tls = true;
		tab->stats.tls++;
	}
	c->plain_seen = true;
	drop_parser(c);
	c->state = SONDE_CONN_DETECTING;
	c->detect_left = (uint8_t)tab->o.detect_chunks;
	c->switches = 0;
	c->det_len = 0;
}

static int data_piece(struct sonde_conntab *tab, const struct sonde_conntab_chunk *ch);

int sonde_conntab_data(struct sonde_conntab *tab,
		       const struct sonde_conntab_chunk *ch)
{
	struct sonde_conntab_chunk piece;
	size_t off = 0;

	if (!ch->n_segs)
		return data_piece(tab, ch);
	for (size_t i = 0; i < ch->n_segs; i++)
		off += ch->segs[i].copy;
	if (off != ch->len)
		return -EINVAL;
	off = 0;
	/* each segment as a chunk of its own: its copy, then its skip as
	 * the bytes not captured, which the parsers skip by their framing */
	piece = *ch;
	piece.segs = NULL;
	piece.n_segs = 0;
	for (size_t i = 0; i < ch->n_segs; i++) {
		const struct sonde_ebpf_seg *sg = &ch->segs[i];

		piece.data = ch->data + off;
		piece.len = sg->copy;
		piece.total = (size_t)sg->copy + sg->skip;
		piece.after_loss = ch->after_loss && i == 0;
		off += sg->copy;
		data_piece(tab, &piece);
	}
	return 0;
}

static int data_piece(struct sonde_conntab *tab, const struct sonde_conntab_chunk *ch)
{
	struct sonde_conn *c = sonde_conntab_find(tab, ch->tgid, ch->fd);
	const uint8_t *data;
	size_t len, total;
	struct emit_ctx ctx;
	enum sonde_flow flow;
	bool was_parsing;
	int err;

	if (c && ch->sock_id && c->sock_id && c->sock_id != ch->sock_id) {
		/* the fd now names another socket: its close was not seen */
		tab->stats.reused++;
		finish(tab, c);
		c = NULL;
	}
	if (!c) {
		c = create(tab, ch->tgid, ch->fd, ch->sock_id, ch->ts_ns);
		set_addrs(tab, c, ch->local, ch->peer);
		c->role = ch->kernel_role;
		if (c->role == SONDE_CONN_ROLE_UNKNOWN) {
			c->role = sonde_conntab_guess_role(tab, &c->local, &c->peer);
			c->role_guessed = true;
		}
	} else {
		lru_unlink(tab, c);
		lru_append(tab, c);
	}
	if (ch->ts_ns > c->last_ns)
		c->last_ns = ch->ts_ns;
	if (ch->ctl_set) {
		c->ctl_set = true;
		c->ctl_capture = ch->ctl_capture;
		c->ctl_plain = ch->ctl_plain;
	}
	if (ch->tls == SONDE_CONN_TLS_PLAIN) {
		if (!c->plain_seen)
			start_plaintext(tab, c);
	} else {
		if (ch->send)
			c->bytes_sent += ch->total;
		else
			c->bytes_recv += ch->total;
		if (!c->tls && (ch->tls == SONDE_CONN_TLS_CIPHER ||
				(c->state == SONDE_CONN_DETECTING && request_chunk(c, ch) &&
				 tls_start(c, ch))))
			mark_tls(tab, c);
		if (c->tls)
			return 0; /* ciphertext */
	}

	if (c->state == SONDE_CONN_IGNORED)
		return 0;
	was_parsing = c->state == SONDE_CONN_PARSING;
	data = ch->data;
	len = ch->len;
	total = ch->total;
	if (c->state == SONDE_CONN_DETECTING) {
		if (!ch->len)
			return 0;
		if (!request_chunk(c, ch))
			return 0; /* responses mean nothing before a request */
		if (!detect_chunk(tab, c, ch, &data, &len, &total)) {
			if (--c->detect_left == 0)
				give_up(tab, c);
			return 0;
		}
		if (c->role == SONDE_CONN_ROLE_UNKNOWN)
			c->role = ch->send ? SONDE_CONN_ROLE_CLIENT :
					     SONDE_CONN_ROLE_SERVER;
		if (loopback_end(tab, c, SONDE_CONN_ROLE_CLIENT))
			c->end_check = true;
		else if (loopback_end(tab, c, SONDE_CONN_ROLE_SERVER))
			server_end_detected(tab, c);
	}
	flow = ch->send == (c->role == SONDE_CONN_ROLE_CLIENT) ? SONDE_FLOW_REQUEST :
								 SONDE_FLOW_RESPONSE;
	if (c->end_check && flow == SONDE_FLOW_RESPONSE && client_end_set_aside(tab, c))
		return 0;
	ctx.tab = tab;
	ctx.conn = c;
	err = 0;
	if (ch->after_loss && was_parsing) {
		/*
		 * Records of this flow were lost before this one: a gap of
		 * unknown size, larger than any framing can skip, so the parser
		 * resyncs (or gives up) instead of reading on as if nothing
		 * were missing.
		 */
		static const uint8_t none[1];

		tab->stats.loss_gaps++;
		err = c->proto->feed(c->pstate, flow, none, 0, SONDE_CONN_GAP_UNKNOWN, ch->ts_ns,
				     on_txn, &ctx);
	}
	if (!err)
		err = c->proto->feed(c->pstate, flow, data, len, total, ch->ts_ns, on_txn,
				     &ctx);
	c->det_len = 0;
	fold_stats(tab, c);
	if (err == -EPROTO) {
		tab->stats.proto[c->proto_idx].eproto++;
		drop_parser(c);
		if (c->switches++ >= tab->o.max_switches) {
			give_up(tab, c);
		} else {
			c->state = SONDE_CONN_DETECTING;
			c->detect_left = (uint8_t)tab->o.detect_chunks;
		}
	}
	return 0;
}
