// SPDX-License-Identifier: MIT
/*
 * The ebpf module: config, metrics, and the glue from ring-buffer records
 * to the connection table and the pipeline. Everything runs on the agent's
 * loop thread, so the table needs no lock: the ring buffer's epoll fd wakes
 * the loop, and a timer drains it too (each CPU forces a wakeup only once
 * it has queued wakeup_bytes, which keeps wakeups per request far below
 * one under load).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "conntab.h"
#include "decode.h"
#include "orphans.h"
#include "loader.h"
#include "log.h"
#include "module.h"
#include "service.h"
#include "tlsbins.h"
#include "tlslibs.h"

#define EBPF_LIST_MAX SONDE_EBPF_FILTER_MAX

struct ebpf_cfg {
	bool enabled;
	long long capture_bytes;
	long long capture_bytes_pipelined;
	long long capture_bytes_http2;
	long long max_connections;
	unsigned long long idle_timeout;
	long long ring_buffer_size;
	long long wakeup_bytes;
	unsigned long long poll_interval;
	char pids[EBPF_LIST_MAX][16];
	unsigned n_pids;
	char ports[EBPF_LIST_MAX][8];
	unsigned n_ports;
	char cgroups[EBPF_LIST_MAX][256];
	unsigned n_cgroups;
	char cgroupfs[128];
	char syscall_hooks[16];
	bool tls;
	bool go_tls;
	bool tls_programs;
	bool unix_sockets;
	char tls_hooks[16];
	char tls_libraries[SONDE_EBPF_TLS_LIBS_MAX][SONDE_TLS_LIB_PATH_MAX];
	unsigned n_tls_libraries;
};

/* New cgroups below the configured ones are looked for this often. */
#define CGROUP_RESCAN_NS (5 * 1000000000ull)
/*
 * Every process is looked at for new programs with their own TLS (Go's,
 * OpenSSL linked in) this often, besides each
 * one a traced process starts (EXEC records): for records lost, and for
 * processes moved into a traced cgroup after their exec.
 */
#define BINS_RESCAN_NS (10 * 1000000000ull)
/*
 * Processes that started a program, looked at once the ring buffer is
 * drained (reading a large executable takes milliseconds, which must not
 * hold records back); past this many per drain, the rescan finds them.
 */
#define BINS_EXECS_MAX 64
/*
 * Processes whose TLS could not be read, whose mapped libssl files are
 * looked at after the drain (a container's own, a bundled one); each pid
 * at most once per LIBS_RELOOK_NS, among the last LIBS_RECENT looked at.
 */
#define LIBS_QUEUE_MAX 16
#define LIBS_RECENT 256
#define LIBS_RELOOK_NS (60 * 1000000000ull)
/* SSL plaintexts held at once awaiting their socket (memory BIOs) */
#define ORPHANS_MAX 64

static const char *const hook_kinds[] = { "auto", "raw", "tracepoints", NULL };
static const char *const tls_hook_kinds[] = { "internal", "entry", NULL };

static const struct sonde_cfg_field ebpf_fields[] = {
	{ .name = "enabled", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct ebpf_cfg, enabled), .def = "true",
	  .help = "trace TCP sockets with eBPF (needs root or CAP_BPF+CAP_PERFMON, BTF)" },
	{ .name = "capture_bytes", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct ebpf_cfg, capture_bytes), .def = "1024",
	  .min = 0, .max = SONDE_EBPF_CAPTURE_MAX,
	  .help = "payload prefix copied per syscall on HTTP connections (the headers)" },
	{ .name = "capture_bytes_pipelined", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct ebpf_cfg, capture_bytes_pipelined), .def = "8192",
	  .min = 0, .max = SONDE_EBPF_CAPTURE_MAX,
	  .help = "payload per syscall on Redis, Memcached, PostgreSQL and MySQL connections, and before the protocol is known: whole pipelined batches up to this size are parsed" },
	{ .name = "capture_bytes_http2", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct ebpf_cfg, capture_bytes_http2), .def = "16384",
	  .min = 0, .max = SONDE_EBPF_CAPTURE_MAX,
	  .help = "payload per syscall or TLS call on HTTP/2 connections whose frames the kernel does not walk (first seen mid-stream, or a walk that lost its place)" },
	{ .name = "max_connections", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct ebpf_cfg, max_connections), .def = "16384",
	  .min = 16, .max = 1 << 20,
	  .help = "connection table size; the least recently active is evicted beyond it" },
	{ .name = "idle_timeout", .type = SONDE_CFG_DURATION,
	  .offset = offsetof(struct ebpf_cfg, idle_timeout), .def = "5m",
	  .min = 1000, .max = 86400000,
	  .help = "connections without traffic for this long are forgotten" },
	{ .name = "ring_buffer_size", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct ebpf_cfg, ring_buffer_size), .def = "2097152",
	  .min = 65536, .max = 1 << 30,
	  .help = "kernel->agent ring buffer bytes (rounded up to a power of two)" },
	{ .name = "wakeup_bytes", .type = SONDE_CFG_INT,
	  .offset = offsetof(struct ebpf_cfg, wakeup_bytes), .def = "262144",
	  .min = 0, .max = 1 << 29,
	  .help = "wake the agent once this much is queued (0: on every event); it also polls every poll_interval" },
	{ .name = "poll_interval", .type = SONDE_CFG_DURATION,
	  .offset = offsetof(struct ebpf_cfg, poll_interval), .def = "100ms",
	  .min = 10, .max = 10000,
	  .help = "ring buffer drain and metrics refresh period" },
	{ .name = "pids", .type = SONDE_CFG_STRLIST,
	  .offset = offsetof(struct ebpf_cfg, pids), .size = 16,
	  .max_items = EBPF_LIST_MAX, .count_offset = offsetof(struct ebpf_cfg, n_pids),
	  .help = "only these process ids (empty: all)" },
	{ .name = "ports", .type = SONDE_CFG_STRLIST,
	  .offset = offsetof(struct ebpf_cfg, ports), .size = 8,
	  .max_items = EBPF_LIST_MAX, .count_offset = offsetof(struct ebpf_cfg, n_ports),
	  .help = "only connections with this local or peer port (empty: all)" },
	{ .name = "cgroups", .type = SONDE_CFG_STRLIST,
	  .offset = offsetof(struct ebpf_cfg, cgroups), .size = 256,
	  .max_items = EBPF_LIST_MAX, .count_offset = offsetof(struct ebpf_cfg, n_cgroups),
	  .help = "only processes in these cgroup v2 paths or below, e.g. system.slice/nginx.service (empty: all)" },
	{ .name = "cgroupfs", .type = SONDE_CFG_STRING,
	  .offset = offsetof(struct ebpf_cfg, cgroupfs),
	  .size = sizeof(((struct ebpf_cfg *)0)->cgroupfs), .def = "/sys/fs/cgroup",
	  .help = "cgroup mount point holding the v2 hierarchy (itself, or unified/ in hybrid mode)" },
	{ .name = "syscall_hooks", .type = SONDE_CFG_ENUM,
	  .offset = offsetof(struct ebpf_cfg, syscall_hooks),
	  .size = sizeof(((struct ebpf_cfg *)0)->syscall_hooks), .def = "auto",
	  .enum_values = hook_kinds,
	  .help = "raw: one BTF raw tracepoint on syscall exit (cheapest); tracepoints: one tracepoint per syscall (Linux 5.15 and later); auto: raw, else tracepoints" },
	{ .name = "tls", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct ebpf_cfg, tls), .def = "true",
	  .help = "parse traffic inside TLS (HTTPS, TLS to databases and caches) from uprobes on libssl's SSL_read/SSL_write" },
	{ .name = "go_tls", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct ebpf_cfg, go_tls), .def = "true",
	  .help = "with tls: parse the TLS of Go programs too (their own crypto/tls, not libssl), from uprobes placed in each Go executable seen running: as a traced process starts it, or by a look at every process every 10 s" },
	{ .name = "tls_programs", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct ebpf_cfg, tls_programs), .def = "true",
	  .help = "with tls: parse the TLS of programs with OpenSSL linked in (the official and NodeSource Node.js builds), from uprobes placed in each such executable seen running, as for go_tls, and of libssl files not the system's (a container's own, a bundled one), looked for in a process's maps once its TLS went unread" },
	{ .name = "unix_sockets", .type = SONDE_CFG_BOOL,
	  .offset = offsetof(struct ebpf_cfg, unix_sockets), .def = "true",
	  .help = "trace unix-domain stream sockets too (a database or cache reached through its local socket, an app server behind nginx); a ports filter leaves them out" },
	{ .name = "tls_hooks", .type = SONDE_CFG_ENUM,
	  .offset = offsetof(struct ebpf_cfg, tls_hooks),
	  .size = sizeof(((struct ebpf_cfg *)0)->tls_hooks), .def = "internal",
	  .enum_values = tls_hook_kinds,
	  .help = "internal: OpenSSL's internal read/write functions, ~1 us per call (a library where they are not found is left unhooked; a program with OpenSSL linked in is hooked at the entries then); entry: SSL_read/SSL_write at their entry, any OpenSSL build, single-stepped in libssl: ~14 us per call on VMs" },
	{ .name = "tls_libraries", .type = SONDE_CFG_STRLIST,
	  .offset = offsetof(struct ebpf_cfg, tls_libraries), .size = SONDE_TLS_LIB_PATH_MAX,
	  .max_items = SONDE_EBPF_TLS_LIBS_MAX,
	  .count_offset = offsetof(struct ebpf_cfg, n_tls_libraries),
	  .help = "libssl files to hook (empty: libssl.so.3 and libssl.so.1.1 in the usual library directories)" },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section ebpf_section = {
	.key = "ebpf",
	.size = sizeof(struct ebpf_cfg),
	.fields = ebpf_fields,
	.help = "eBPF socket tracing: HTTP, PostgreSQL, MySQL, Redis, Memcached and TCP metrics",
};

static const double connect_buckets[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10,
};

enum { SLOT_SENT = 0, SLOT_RECV, SLOT_CONNECT, SLOT_FAIL };

struct ebpf_state {
	struct sonde_agent *agent;
	struct ebpf_cfg cfg;
	struct sonde_ebpf_probe *probe;
	struct sonde_conntab *tab;
	struct sonde_orphans *orphans; /* SSL_write plaintext awaiting its socket */
	struct sonde_service_cache *svc;
	struct sonde_timer *timer;
	bool fd_added;
	int64_t wall_offset_ns;
	uint64_t now_mono_ns;
	uint64_t last_expire_ns;
	/* the record being handled: names gone processes (NULL outside one) */
	const char *cur_comm;
	/* counted per record, added to the registry once per drain */
	uint64_t n_events, n_decode_err, n_txns;
	uint32_t cur_tgid;
	int64_t estab_base;
	unsigned n_protos;
	const char *proto_names[SONDE_CONNTAB_MAX_PROTOS];

	struct sonde_series *up, *events, *lost, *decode_err, *conns, *txns;
	struct sonde_series *evict_cap, *evict_idle, *reused, *ignored, *loopback_skipped,
		*loopback_reported;
	struct sonde_series *retrans, *tcp_active, *truncated, *h2_walked, *h2_lost;
	struct sonde_series *tls_libs, *tls_conns, *tls_opaque, *tls_unpaired, *loss_gaps;
	struct sonde_series *go_programs, *go_unsupported, *ssl_programs, *ssl_failed;
	struct sonde_series *parse_err[SONDE_CONNTAB_MAX_PROTOS];
	struct sonde_series *desync[SONDE_CONNTAB_MAX_PROTOS];
	struct sonde_series *pdropped[SONDE_CONNTAB_MAX_PROTOS];
	struct sonde_family *f_sent, *f_recv, *f_connect, *f_fail;

	/* ebpf.tls: the programs with their own TLS looked into (NULL: off,
	 * or stopped); Go's with ebpf.go_tls */
	struct sonde_tlsbins *tlsbins;
	struct sonde_tlsbins_attach bins_attach;
	uint64_t last_bins_scan_ns;
	uint32_t execs[BINS_EXECS_MAX]; /* EXEC records of this drain */
	unsigned n_execs;
	uint32_t libs_queue[LIBS_QUEUE_MAX]; /* pids speaking TLS not read, this drain */
	unsigned n_libs_queue;
	struct {
		uint32_t pid;
		uint64_t at_ns;
	} libs_recent[LIBS_RECENT]; /* ring of the pids looked at */
	unsigned libs_recent_next;
	bool bins_denied_logged;
	uint32_t pids[SONDE_EBPF_FILTER_MAX];
	unsigned n_pids;

	/* ebpf.cgroups: NULL when not filtering by cgroup */
	struct sonde_cgroup_filter *cgf;
	uint64_t last_cg_scan_ns;
	uint64_t cg_dropped_logged;
	struct sonde_series *cg_ids, *cg_dropped;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int add_family(struct sonde_registry *reg, const struct sonde_family_desc *d,
		      struct sonde_family **ret)
{
	return sonde_registry_add(reg, d, ret);
}

static int solo(struct sonde_registry *reg, const char *name, const char *help,
		enum sonde_metric_type type, struct sonde_series **ret)
{
	struct sonde_family_desc d = { .name = name, .help = help, .type = type };
	struct sonde_family *f;
	int err = add_family(reg, &d, &f);

	if (err)
		return err;
	*ret = sonde_family_solo(f);
	return 0;
}

static int one_label(struct sonde_registry *reg, const char *name, const char *help,
		     const char *label, const char *value, struct sonde_series **ret)
{
	struct sonde_family_desc d = { .name = name, .help = help,
				       .type = SONDE_COUNTER, .labels = { label } };
	const char *v[1] = { value };
	struct sonde_family *f;
	int err = add_family(reg, &d, &f);

	if (err)
		return err;
	*ret = sonde_family_series(f, v);
	return 0;
}

static int register_metrics(struct ebpf_state *st)
{
	struct sonde_registry *reg = st->agent->registry;
	struct sonde_family_desc d;
	unsigned i;
	int err;

#define TRY(x) do { err = (x); if (err) return err; } while (0)
	TRY(solo(reg, "sonde_ebpf_up", "1 when the eBPF probes are loaded and attached",
		 SONDE_GAUGE, &st->up));
	TRY(solo(reg, "sonde_ebpf_events_total", "ring buffer records received",
		 SONDE_COUNTER, &st->events));
	TRY(solo(reg, "sonde_ebpf_events_lost_total",
		 "records the kernel dropped because the ring buffer was full",
		 SONDE_COUNTER, &st->lost));
	TRY(solo(reg, "sonde_ebpf_events_truncated_total",
		 "data records whose payload was cut to capture_bytes",
		 SONDE_COUNTER, &st->truncated));
	TRY(solo(reg, "sonde_ebpf_http2_records_walked_total",
		 "HTTP/2 data records frame-walked in the kernel (DATA payloads left out)",
		 SONDE_COUNTER, &st->h2_walked));
	TRY(solo(reg, "sonde_ebpf_http2_walks_lost_total",
		 "HTTP/2 frame walks that lost their place in the stream, or their connection's",
		 SONDE_COUNTER, &st->h2_lost));
	TRY(solo(reg, "sonde_ebpf_decode_errors_total",
		 "ring buffer records that did not decode", SONDE_COUNTER,
		 &st->decode_err));
	TRY(solo(reg, "sonde_ebpf_connections_active",
		 "connections in the eBPF connection table", SONDE_GAUGE, &st->conns));
	TRY(solo(reg, "sonde_ebpf_transactions_total",
		 "transactions parsed from traced sockets", SONDE_COUNTER, &st->txns));
	TRY(one_label(reg, "sonde_ebpf_connections_dropped_total",
		      "connections forgotten before close", "reason", "table_full",
		      &st->evict_cap));
	TRY(one_label(reg, "sonde_ebpf_connections_dropped_total",
		      "connections forgotten before close", "reason", "idle",
		      &st->evict_idle));
	TRY(one_label(reg, "sonde_ebpf_connections_dropped_total",
		      "connections forgotten before close", "reason", "fd_reused",
		      &st->reused));
	TRY(solo(reg, "sonde_ebpf_connections_unparsed_total",
		 "connections no protocol parser recognised", SONDE_COUNTER,
		 &st->ignored));
	TRY(solo(reg, "sonde_ebpf_loopback_clients_skipped_total",
		 "client ends of loopback DB/cache connections not parsed (the server end reports their commands)",
		 SONDE_COUNTER, &st->loopback_skipped));
	TRY(solo(reg, "sonde_ebpf_loopback_clients_reported_total",
		 "client ends of loopback DB/cache connections parsed because their server end is not traced here",
		 SONDE_COUNTER, &st->loopback_reported));
	for (i = 0; i < st->n_protos; i++) {
		TRY(one_label(reg, "sonde_ebpf_parse_errors_total",
			      "bytes a protocol parser could not parse", "protocol",
			      st->proto_names[i], &st->parse_err[i]));
		TRY(one_label(reg, "sonde_ebpf_parser_desyncs_total",
			      "capture gaps that forced a parser to resync", "protocol",
			      st->proto_names[i], &st->desync[i]));
		TRY(one_label(reg, "sonde_ebpf_parser_dropped_total",
			      "requests a parser dropped (pending queue full, unpaired)",
			      "protocol", st->proto_names[i], &st->pdropped[i]));
	}
	TRY(solo(reg, "sonde_ebpf_loss_gaps_total",
		 "chunks that followed records of their connection lost to a full ring buffer: the parser was told of a gap",
		 SONDE_COUNTER, &st->loss_gaps));
	TRY(solo(reg, "sonde_ebpf_tls_libraries",
		 "libssl files whose SSL_read/SSL_write are hooked", SONDE_GAUGE, &st->tls_libs));
	TRY(solo(reg, "sonde_ebpf_tls_programs",
		 "OpenSSL copies hooked besides tls_libraries: programs with OpenSSL linked in, libssl files not the system's",
		 SONDE_GAUGE, &st->ssl_programs));
	TRY(solo(reg, "sonde_ebpf_tls_programs_unhooked_total",
		 "OpenSSL copies found (linked into a program, a libssl file not the system's) but not hooked: uprobes refused, or past the 16 kept (the log says why)",
		 SONDE_COUNTER, &st->ssl_failed));
	TRY(solo(reg, "sonde_ebpf_go_tls_programs",
		 "Go executables whose crypto/tls is hooked", SONDE_GAUGE, &st->go_programs));
	TRY(solo(reg, "sonde_ebpf_go_tls_unsupported_total",
		 "Go executables with crypto/tls that could not be hooked (the log says why)",
		 SONDE_COUNTER, &st->go_unsupported));
	TRY(solo(reg, "sonde_ebpf_tls_connections_total",
		 "connections seen speaking TLS", SONDE_COUNTER, &st->tls_conns));
	TRY(solo(reg, "sonde_ebpf_tls_connections_opaque_total",
		 "TLS connections that ended with no plaintext seen (their TLS library is not hooked: statically linked other than Go's, GnuTLS...)",
		 SONDE_COUNTER, &st->tls_opaque));
	TRY(solo(reg, "sonde_ebpf_tls_unpaired_total",
		 "SSL_read/SSL_write calls with data whose socket could not be told (no syscall inside, before or after them on that SSL object's thread)",
		 SONDE_COUNTER, &st->tls_unpaired));
	TRY(solo(reg, "sonde_tcp_retransmits_total", "TCP segments retransmitted (node)",
		 SONDE_COUNTER, &st->retrans));
	TRY(solo(reg, "sonde_tcp_connections_active",
		 "TCP connections in ESTABLISHED state (node)", SONDE_GAUGE,
		 &st->tcp_active));

	memset(&d, 0, sizeof(d));
	d.labels[0] = "service";
	d.type = SONDE_COUNTER;
	d.name = "sonde_tcp_bytes_sent_total";
	/* no OpenMetrics unit: it must end the name, and "sent" does */
	d.help = "bytes written to TCP sockets";
	TRY(add_family(reg, &d, &st->f_sent));
	d.name = "sonde_tcp_bytes_received_total";
	d.help = "bytes read from TCP sockets";
	TRY(add_family(reg, &d, &st->f_recv));
	d.name = "sonde_tcp_connect_failures_total";
	d.help = "outgoing TCP connects that failed (SYN_SENT -> CLOSE)";
	TRY(add_family(reg, &d, &st->f_fail));
	d.type = SONDE_HISTOGRAM;
	d.name = "sonde_tcp_connect_duration_seconds";
	d.help = "time from SYN sent to ESTABLISHED for outgoing connects";
	d.unit = "seconds";
	d.buckets = connect_buckets;
	d.n_buckets = sizeof(connect_buckets) / sizeof(connect_buckets[0]);
	TRY(add_family(reg, &d, &st->f_connect));
#undef TRY
	return 0;
}

/* Per-service series, looked up once per cache refresh of the pid. */
static struct sonde_series *svc_series(struct sonde_service_info *si, int slot,
				       struct sonde_family *f)
{
	if (!si->slot[slot]) {
		const char *v[1] = { si->service };

		si->slot[slot] = sonde_family_series(f, v);
	}
	return si->slot[slot];
}

static void on_txn(struct sonde_txn *txn, const struct sonde_conn *conn,
		   void *userdata)
{
	struct ebpf_state *st = userdata;
	/*
	 * The record's comm names only its own process: a connection evicted
	 * or closed for another one (table full) gets no hint.
	 */
	struct sonde_service_info *si = sonde_service_lookup(
		st->svc, conn->tgid, st->now_mono_ns,
		conn->tgid == st->cur_tgid ? st->cur_comm : NULL);

	memcpy(txn->process, si->process, sizeof(txn->process));
	memcpy(txn->service, si->service, sizeof(txn->service));
	if (txn->start_ns)
		txn->start_ns = (uint64_t)((int64_t)txn->start_ns + st->wall_offset_ns);
	st->n_txns++;
	if (st->agent->pipeline)
		sonde_pipeline_submit(st->agent->pipeline, txn);
}

/* A process speaks TLS the hooks do not read (yet): look at its libssl files. */
static void queue_libs_look(struct ebpf_state *st, uint32_t pid)
{
	if (!st->tlsbins || !st->bins_attach.openssl || st->n_libs_queue >= LIBS_QUEUE_MAX)
		return;
	for (unsigned i = 0; i < LIBS_RECENT; i++)
		if (st->libs_recent[i].pid == pid &&
		    st->now_mono_ns - st->libs_recent[i].at_ns < LIBS_RELOOK_NS)
			return;
	for (unsigned i = 0; i < st->n_libs_queue; i++)
		if (st->libs_queue[i] == pid)
			return;
	st->libs_queue[st->n_libs_queue++] = pid;
}

/* After a drain: the queued processes' libssl files, each pid remembered. */
static void look_libs(struct ebpf_state *st)
{
	for (unsigned i = 0; i < st->n_libs_queue; i++) {
		st->libs_recent[st->libs_recent_next].pid = st->libs_queue[i];
		st->libs_recent[st->libs_recent_next].at_ns = st->now_mono_ns;
		st->libs_recent_next = (st->libs_recent_next + 1) % LIBS_RECENT;
		sonde_tlsbins_look_libs(st->tlsbins, st->libs_queue[i], &st->bins_attach);
	}
	st->n_libs_queue = 0;
}

/*
 * Sockets start with capture_bytes_pipelined so that a first write full of
 * pipelined commands parses; HTTP needs only its headers, and a socket no
 * parser wants needs no payload at all (the kernel still counts bytes). On
 * TLS connections the wire's bytes are never copied, and the same choice
 * applies to the plaintext; the plaintext of other connections keeps the
 * default, for those that start TLS later (PostgreSQL's SSLRequest).
 */
static void on_proto(struct sonde_conn *conn, void *userdata)
{
	struct ebpf_state *st = userdata;
	uint32_t dflt = (uint32_t)st->cfg.capture_bytes_pipelined;
	uint32_t want = dflt, capture, plain;

	if (!conn->proto)
		want = 0;
	else if (conn->proto->proto == SONDE_PROTO_HTTP1)
		want = (uint32_t)st->cfg.capture_bytes;
	else if (conn->proto->proto == SONDE_PROTO_HTTP2)
		want = (uint32_t)st->cfg.capture_bytes_http2; /* every frame header */
	if (conn->tls) {
		capture = 0;
		plain = conn->state == SONDE_CONN_DETECTING ? dflt : want;
	} else {
		capture = want;
		plain = dflt;
	}
	/* only a change of what the kernel holds (an HTTP/1 socket's was set
	 * by the kernel itself: no map update for the many short ones) */
	if (st->probe && conn->sock_id &&
	    (conn->ctl_set ? capture != conn->ctl_capture || plain != conn->ctl_plain :
			     capture != dflt || plain != dflt) &&
	    sonde_ebpf_probe_set_capture(st->probe, conn->sock_id, capture, plain) == 0) {
		conn->ctl_set = true;
		conn->ctl_capture = capture;
		conn->ctl_plain = plain;
	}
	if (conn->tls && !conn->plain_seen)
		queue_libs_look(st, conn->tgid);
}

/* The conntab's question: the name of the socket a unix connection reached. */
static bool unix_name(const struct sonde_conn *conn, char *out, size_t len, void *userdata)
{
	struct ebpf_state *st = userdata;
	struct sonde_ebpf_unix_name n;

	if (!st->probe ||
	    sonde_ebpf_probe_unix_name(st->probe, sonde_ebpf_unix_id(&conn->local), &n))
		return false;
	sonde_ebpf_unix_name_string(&n, out, len);
	return true;
}

static void handle_data(struct ebpf_state *st, const struct sonde_ebpf_record *r)
{
	const struct sonde_ebpf_data *d = r->u.data;
	struct sonde_service_info *si = sonde_service_lookup(st->svc, d->hdr.tgid,
							     d->hdr.ts_ns, d->hdr.comm);
	struct sonde_addr local, peer;
	struct sonde_conntab_chunk ch = {
		.tgid = d->hdr.tgid, .fd = d->hdr.fd, .sock_id = d->hdr.sock_id,
		.kernel_role = d->hdr.role, .send = d->hdr.dir == SONDE_EBPF_DIR_SEND,
		.local = &local, .peer = &peer, .data = r->payload,
		.len = r->payload_len, .total = d->total, .ts_ns = d->hdr.ts_ns,
		.tls = (d->hdr.flags & SONDE_EBPF_F_PLAIN) ? SONDE_CONN_TLS_PLAIN :
		       (d->hdr.flags & SONDE_EBPF_F_CIPHER) ? SONDE_CONN_TLS_CIPHER :
							       SONDE_CONN_TLS_NONE,
		.after_loss = (d->hdr.flags & SONDE_EBPF_F_AFTER_LOSS) != 0,
		.ctl_set = (d->hdr.flags & SONDE_EBPF_F_HTTP_CTL) != 0,
		/* what the kernel set (capture_http, capture_bytes) */
		.ctl_capture = (uint32_t)st->cfg.capture_bytes,
		.ctl_plain = (uint32_t)st->cfg.capture_bytes_pipelined,
		.n_segs = r->n_segs,
	};
	struct sonde_ebpf_seg segs[SONDE_EBPF_SEGS_MAX];

	/* plaintext is not on the wire: the syscalls inside SSL calls count
	 * it; a unix socket's bytes are not TCP's */
	if (ch.tls == SONDE_CONN_TLS_PLAIN || d->local.family == AF_UNIX)
		;
	else if (ch.send)
		sonde_counter_add(svc_series(si, SLOT_SENT, st->f_sent), d->total);
	else
		sonde_counter_add(svc_series(si, SLOT_RECV, st->f_recv), d->total);
	sonde_ebpf_addr_convert(&d->local, &local);
	sonde_ebpf_addr_convert(&d->peer, &peer);
	if (ch.n_segs) {
		sonde_ebpf_segs(r, segs);
		ch.segs = segs;
	}
	sonde_conntab_data(st->tab, &ch);
}

/* An orphan handed to the socket the kernel paired its SSL object with. */
struct pair_ctx {
	struct ebpf_state *st;
	const struct sonde_ebpf_ssl_pair *pair;
	struct sonde_addr local, peer;
};

static void feed_orphan(const struct sonde_orphan *o, void *userdata)
{
	struct pair_ctx *p = userdata;
	struct sonde_conntab_chunk ch = {
		.tgid = o->tgid, .fd = p->pair->hdr.fd, .sock_id = p->pair->hdr.sock_id,
		.kernel_role = p->pair->hdr.role, .send = o->send, .local = &p->local,
		.peer = &p->peer, .data = o->data, .len = o->len, .total = o->total,
		.ts_ns = o->ts_ns, .tls = SONDE_CONN_TLS_PLAIN,
	};

	sonde_conntab_data(p->st->tab, &ch);
}

/* An SSL object over memory BIOs wrote through this socket: what it held
 * (its first reads and writes) is this socket's plaintext. */
static void handle_pair(struct ebpf_state *st, const struct sonde_ebpf_record *r)
{
	struct pair_ctx p = { .st = st, .pair = r->u.pair };

	sonde_ebpf_addr_convert(&r->u.pair->local, &p.local);
	sonde_ebpf_addr_convert(&r->u.pair->peer, &p.peer);
	sonde_orphans_take(st->orphans, r->hdr->tgid, r->u.pair->ssl, r->hdr->ts_ns, feed_orphan,
			   &p);
}

static void handle_close(struct ebpf_state *st, const struct sonde_ebpf_record *r)
{
	const struct sonde_ebpf_close *c = r->u.close;
	struct sonde_conntab_closed seen;
	struct sonde_service_info *si;

	if (!sonde_conntab_close(st->tab, c->hdr.tgid, c->hdr.fd, c->hdr.sock_id, &seen) ||
	    seen.is_unix)
		return;
	/* bytes the table never saw: records lost to a full ring buffer */
	si = sonde_service_lookup(st->svc, c->hdr.tgid, c->hdr.ts_ns, c->hdr.comm);
	if (c->bytes_sent > seen.sent)
		sonde_counter_add(svc_series(si, SLOT_SENT, st->f_sent),
				  (double)(c->bytes_sent - seen.sent));
	if (c->bytes_recv > seen.recv)
		sonde_counter_add(svc_series(si, SLOT_RECV, st->f_recv),
				  (double)(c->bytes_recv - seen.recv));
}

static void handle_connect(struct ebpf_state *st, const struct sonde_ebpf_record *r)
{
	const struct sonde_ebpf_connect *c = r->u.connect;
	struct sonde_service_info *si = sonde_service_lookup(st->svc, c->hdr.tgid,
							     c->hdr.ts_ns, c->hdr.comm);

	if (c->failed)
		sonde_counter_inc(svc_series(si, SLOT_FAIL, st->f_fail));
	else
		sonde_histogram_observe(svc_series(si, SLOT_CONNECT, st->f_connect),
					(double)c->duration_ns / 1e9);
}

static int attach_go(void *userdata, const char *path, uint32_t pid,
		     const struct sonde_go_tls *go, char *why, unsigned whylen)
{
	struct ebpf_state *st = userdata;
	int err = sonde_ebpf_probe_attach_go(st->probe, path, go, why, whylen);

	if (!err)
		sonde_log(SONDE_LOG_INFO, "probe", "ebpf",
			  "TLS: crypto/tls hooked in the Go program of pid %u", pid);
	return err;
}

static int attach_openssl(void *userdata, const char *path, uint32_t pid, char *why,
			  unsigned whylen)
{
	struct ebpf_state *st = userdata;
	bool entry = false;
	int err = sonde_ebpf_probe_attach_openssl(st->probe, path, &entry, why, whylen);

	if (!err)
		sonde_log(SONDE_LOG_INFO, "probe", "ebpf",
			  "TLS: %s hooked in an OpenSSL of pid %u's own (linked into its program, or a libssl file not the system's)",
			  entry ? "SSL_read/SSL_write (entry)" :
				  "OpenSSL's internal read/write functions",
			  pid);
	return err;
}

/* Whether the agent holds CAP_SYS_PTRACE (effective). */
static bool may_ptrace(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective & CAP_TO_MASK(CAP_SYS_PTRACE);
}

static void bins_gauges(struct ebpf_state *st)
{
	const struct sonde_tlsbins_stats *bs = sonde_tlsbins_stats(st->tlsbins);

	if (bs->denied && !st->bins_denied_logged) {
		st->bins_denied_logged = true;
		sonde_log(SONDE_LOG_NOTICE, "probe", "ebpf",
			  "TLS: may not open /proc/%u/exe, the first such process%s: a "
			  "program with its own TLS (Go, OpenSSL linked in) the agent may not "
			  "read is not hooked, its TLS is counted, not parsed",
			  bs->denied_pid,
			  may_ptrace() ? ", even with CAP_SYS_PTRACE (not dumpable, or kept "
					 "by a security module)" :
					 " (another user's needs CAP_SYS_PTRACE)");
	}
	sonde_gauge_set(st->go_programs, (double)sonde_ebpf_probe_go_programs(st->probe));
	sonde_gauge_set(st->ssl_programs, (double)sonde_ebpf_probe_openssl_programs(st->probe));
	sonde_counter_set(st->go_unsupported, (double)(bs->go_unsupported + bs->go_failed));
	sonde_counter_set(st->ssl_failed, (double)bs->ssl_failed);
}

static void scan_bins(struct ebpf_state *st)
{
	sonde_tlsbins_scan(st->tlsbins, st->pids, st->n_pids, &st->bins_attach);
	st->last_bins_scan_ns = st->now_mono_ns;
	bins_gauges(st);
}

static int on_record(void *userdata, void *data, size_t size)
{
	struct ebpf_state *st = userdata;
	struct sonde_ebpf_record r;
	struct sonde_addr local, peer;

	st->n_events++;
	if (sonde_ebpf_decode(data, size, &r)) {
		st->n_decode_err++;
		return 0;
	}
	if (r.hdr->ts_ns > st->now_mono_ns)
		st->now_mono_ns = r.hdr->ts_ns;
	st->cur_comm = r.hdr->comm;
	st->cur_tgid = r.hdr->tgid;
	switch (r.type) {
	case SONDE_EBPF_EV_DATA:
		if (r.hdr->flags & SONDE_EBPF_F_ORPHAN)
			sonde_orphans_add(st->orphans, r.hdr->tgid,
					  sonde_ebpf_orphan_ssl(r.u.data),
					  r.hdr->dir == SONDE_EBPF_DIR_SEND, r.hdr->ts_ns,
					  r.payload, r.payload_len, r.u.data->total);
		else
			handle_data(st, &r);
		break;
	case SONDE_EBPF_EV_SSL_PAIR:
		handle_pair(st, &r);
		break;
	case SONDE_EBPF_EV_OPEN:
		sonde_ebpf_addr_convert(&r.u.open->local, &local);
		sonde_ebpf_addr_convert(&r.u.open->peer, &peer);
		sonde_conntab_open(st->tab, r.hdr->tgid, r.hdr->fd, r.hdr->sock_id,
				   r.hdr->role, &local, &peer, r.hdr->ts_ns);
		break;
	case SONDE_EBPF_EV_CLOSE:
		handle_close(st, &r);
		break;
	case SONDE_EBPF_EV_CONNECT:
		handle_connect(st, &r);
		break;
	case SONDE_EBPF_EV_EXEC:
		if (st->tlsbins && st->n_execs < BINS_EXECS_MAX)
			st->execs[st->n_execs++] = r.hdr->tgid;
		break;
	}
	st->cur_comm = NULL; /* points into the ring buffer */
	return 0;
}

static int add_cgroup(void *userdata, uint64_t id)
{
	struct ebpf_state *st = userdata;

	return sonde_ebpf_probe_add_cgroup(st->probe, id);
}

/* Hands cgroups that appeared below the configured ones to the kernel. */
static void scan_cgroups(struct ebpf_state *st)
{
	struct sonde_cgroup_filter_stats cs;

	if (!st->cgf || !st->probe)
		return;
	sonde_cgroup_filter_scan(st->cgf, add_cgroup, st);
	st->last_cg_scan_ns = st->now_mono_ns;
	sonde_cgroup_filter_stats(st->cgf, &cs);
	sonde_gauge_set(st->cg_ids, cs.ids);
	sonde_gauge_set(st->cg_dropped, (double)cs.dropped);
	if (cs.dropped && cs.dropped != st->cg_dropped_logged)
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "%llu cgroups below ebpf.cgroups are not traced (filter full at %d)",
			  (unsigned long long)cs.dropped, SONDE_CGROUP_FILTER_MAX);
	st->cg_dropped_logged = cs.dropped;
}

static void refresh_metrics(struct ebpf_state *st)
{
	const struct sonde_conntab_stats *cs = sonde_conntab_stats(st->tab);
	uint64_t ks[SONDE_EBPF_STAT_N];
	unsigned i;

	sonde_gauge_set(st->conns, cs->active);
	sonde_counter_set(st->evict_cap, (double)cs->evicted_cap);
	sonde_counter_set(st->evict_idle, (double)cs->evicted_idle);
	sonde_counter_set(st->reused, (double)cs->reused);
	sonde_counter_set(st->ignored, (double)cs->ignored);
	sonde_counter_set(st->loopback_skipped, (double)cs->loopback_clients);
	sonde_counter_set(st->loopback_reported, (double)cs->loopback_clients_reported);
	sonde_counter_set(st->tls_conns, (double)cs->tls);
	sonde_counter_set(st->tls_opaque, (double)cs->tls_opaque);
	sonde_counter_set(st->loss_gaps, (double)cs->loss_gaps);
	for (i = 0; i < st->n_protos; i++) {
		sonde_counter_set(st->parse_err[i], (double)cs->proto[i].parse_errors);
		sonde_counter_set(st->desync[i], (double)cs->proto[i].desyncs);
		sonde_counter_set(st->pdropped[i], (double)cs->proto[i].dropped);
	}
	if (!st->probe || sonde_ebpf_probe_stats(st->probe, ks))
		return;
	sonde_counter_set(st->lost, (double)ks[SONDE_EBPF_STAT_LOST]);
	sonde_counter_set(st->truncated, (double)ks[SONDE_EBPF_STAT_TRUNCATED]);
	sonde_counter_set(st->h2_walked, (double)ks[SONDE_EBPF_STAT_H2_WALKED]);
	sonde_counter_set(st->h2_lost, (double)ks[SONDE_EBPF_STAT_H2_LOST]);
	sonde_counter_set(st->tls_unpaired, (double)(ks[SONDE_EBPF_STAT_TLS_UNPAIRED] +
						     sonde_orphans_dropped(st->orphans)));
	sonde_counter_set(st->retrans, (double)ks[SONDE_EBPF_STAT_RETRANS]);
	if (sonde_ebpf_probe_features(st->probe) & SONDE_EBPF_HAS_SOCK_STATE) {
		int64_t active = st->estab_base + (int64_t)ks[SONDE_EBPF_STAT_ESTAB_UP] -
				 (int64_t)ks[SONDE_EBPF_STAT_ESTAB_DOWN];

		sonde_gauge_set(st->tcp_active, active < 0 ? 0 : (double)active);
	}
}

static void drain(struct ebpf_state *st)
{
	st->now_mono_ns = clock_ns(CLOCK_MONOTONIC);
	sonde_ebpf_probe_consume(st->probe);
	if (st->n_execs) { /* only queued while st->tlsbins is set */
		sonde_tlsbins_scan(st->tlsbins, st->execs, st->n_execs, &st->bins_attach);
		bins_gauges(st);
		st->n_execs = 0;
	}
	if (st->n_libs_queue && st->tlsbins) {
		look_libs(st);
		bins_gauges(st);
	}
	/* one atomic add per batch, not per record */
	if (st->n_events)
		sonde_counter_add(st->events, (double)st->n_events);
	if (st->n_decode_err)
		sonde_counter_add(st->decode_err, (double)st->n_decode_err);
	if (st->n_txns)
		sonde_counter_add(st->txns, (double)st->n_txns);
	st->n_events = st->n_decode_err = st->n_txns = 0;
}

static void on_fd(int fd, uint32_t events, void *userdata)
{
	drain(userdata);
}

static void on_tick(void *userdata)
{
	struct ebpf_state *st = userdata;

	st->wall_offset_ns = (int64_t)(clock_ns(CLOCK_REALTIME) -
				       clock_ns(CLOCK_MONOTONIC));
	drain(st);
	if (st->now_mono_ns - st->last_expire_ns >= 1000000000ull) {
		sonde_conntab_expire(st->tab, st->now_mono_ns);
		st->last_expire_ns = st->now_mono_ns;
	}
	if (st->cgf && st->now_mono_ns - st->last_cg_scan_ns >= CGROUP_RESCAN_NS)
		scan_cgroups(st);
	if (st->tlsbins && st->now_mono_ns - st->last_bins_scan_ns >= BINS_RESCAN_NS)
		scan_bins(st);
	refresh_metrics(st);
}

/* ESTABLISHED sockets before we attached: the kernel only sees changes. */
static int64_t count_established(void)
{
	const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];
	int64_t n = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");
		unsigned st;

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%*d: %*s %*s %x", &st) == 1 && st == 1)
				n++;
		fclose(f);
	}
	return n;
}

static void ephemeral_range(uint16_t *lo, uint16_t *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned a, b;

	if (!f)
		return;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
		*lo = (uint16_t)a;
		*hi = (uint16_t)b;
	}
	fclose(f);
}

static int parse_lists(const struct ebpf_cfg *cfg, struct sonde_ebpf_probe_opts *o)
{
	unsigned i;

	for (i = 0; i < cfg->n_pids; i++) {
		char *end;
		unsigned long v = strtoul(cfg->pids[i], &end, 10);

		if (*end || !v || v > 0xffffffffUL)
			return -EINVAL;
		o->pids[o->n_pids++] = (uint32_t)v;
	}
	for (i = 0; i < cfg->n_ports; i++) {
		char *end;
		unsigned long v = strtoul(cfg->ports[i], &end, 10);

		if (*end || !v || v > 65535)
			return -EINVAL;
		o->ports[o->n_ports++] = (uint16_t)v;
	}
	return 0;
}

static void ebpf_free(void *state)
{
	struct ebpf_state *st = state;

	if (!st)
		return;
	sonde_ebpf_probe_free(st->probe);
	sonde_tlsbins_free(st->tlsbins);
	sonde_conntab_free(st->tab);
	sonde_orphans_free(st->orphans);
	sonde_service_cache_free(st->svc);
	sonde_cgroup_filter_free(st->cgf);
	free(st);
}

static int ebpf_init(struct sonde_agent *agent, const void *section,
		     void **ret_state)
{
	const struct ebpf_cfg *cfg = section;
	struct sonde_conntab_opts to = { 0 };
	struct sonde_ebpf_probe_opts po = { 0 };
	struct ebpf_state *st = NULL;
	int err;

	if (!cfg || !cfg->enabled) {
		*ret_state = NULL;
		return 0;
	}
	if (parse_lists(cfg, &po)) {
		sonde_log(SONDE_LOG_ERR, "probe", "ebpf",
			  "pids and ports must be positive numbers (ports up to 65535)");
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->agent = agent;
	st->cfg = *cfg;
#define PROTO(sym) do { to.protos[to.n_protos] = &sym; \
	st->proto_names[to.n_protos++] = sym.name; } while (0)
#ifdef SONDE_HAVE_PROTO_HTTP1
	PROTO(sonde_proto_http1);
#endif
#ifdef SONDE_HAVE_PROTO_HTTP2
	PROTO(sonde_proto_http2); /* its preface starts "PRI", no HTTP/1 method */
#endif
	/*
	 * Memcached before Redis: Redis also takes inline commands ("get k"),
	 * which real Redis clients never send but memcached clients always do.
	 */
#ifdef SONDE_HAVE_PROTO_MEMCACHED
	PROTO(sonde_proto_memcached);
#endif
#ifdef SONDE_HAVE_PROTO_REDIS
	PROTO(sonde_proto_redis);
#endif
#ifdef SONDE_HAVE_PROTO_POSTGRES
	PROTO(sonde_proto_postgres);
#endif
#ifdef SONDE_HAVE_PROTO_MYSQL
	PROTO(sonde_proto_mysql);
#endif
#undef PROTO
	st->n_protos = to.n_protos;
	to.max_conns = (unsigned)cfg->max_connections;
	to.idle_ns = cfg->idle_timeout * 1000000ull;
	to.max_switches = 2;
	to.loopback_dedup = true;
	to.emit = on_txn;
	to.proto_changed = on_proto;
	to.unix_name = unix_name;
	to.userdata = st;
	ephemeral_range(&to.ephemeral_lo, &to.ephemeral_hi);
	err = sonde_conntab_new(&to, &st->tab);
	if (err)
		goto err;
	err = sonde_service_cache_new(4096, 30ull * 1000000000ull, "/proc", &st->svc);
	if (err)
		goto err;
	/* a write's socket is named by the very next send: 2 s is ample */
	err = sonde_orphans_new(ORPHANS_MAX, 2000000000ull, &st->orphans);
	if (err)
		goto err;
	err = register_metrics(st);
	if (err)
		goto err;
	if (cfg->n_cgroups) {
		const char *paths[EBPF_LIST_MAX];
		char why[320] = "";

		for (unsigned i = 0; i < cfg->n_cgroups; i++)
			paths[i] = cfg->cgroups[i];
		err = sonde_cgroup_filter_new(cfg->cgroupfs, paths, cfg->n_cgroups, &st->cgf,
					      why, sizeof(why));
		if (err) {
			sonde_log(SONDE_LOG_ERR, "probe", "ebpf", "%s", why);
			goto err;
		}
		err = solo(st->agent->registry, "sonde_ebpf_cgroups",
			   "cgroups whose processes are traced (ebpf.cgroups and below)",
			   SONDE_GAUGE, &st->cg_ids);
		if (!err)
			err = solo(st->agent->registry, "sonde_ebpf_cgroups_untraced",
				   "cgroups below ebpf.cgroups left untraced: the filter is full",
				   SONDE_GAUGE, &st->cg_dropped);
		if (err)
			goto err;
	}
	sonde_gauge_set(st->up, 0);
	*ret_state = st;
	return 0;
err:
	ebpf_free(st);
	return err;
}

static void ebpf_stop(void *state)
{
	struct ebpf_state *st = state;

	if (!st)
		return;
	if (st->timer)
		sonde_loop_del_timer(st->agent->loop, st->timer);
	st->timer = NULL;
	if (st->fd_added && st->probe)
		sonde_loop_del_fd(st->agent->loop, sonde_ebpf_probe_fd(st->probe));
	st->fd_added = false;
	sonde_ebpf_probe_free(st->probe);
	st->probe = NULL;
	/* the hooks went with the probe: a restart looks at every program again */
	sonde_tlsbins_free(st->tlsbins);
	st->tlsbins = NULL;
	st->n_libs_queue = 0;
	sonde_gauge_set(st->up, 0);
	sonde_gauge_set(st->go_programs, 0);
	sonde_gauge_set(st->ssl_programs, 0);
}

/* ebpf.tls_libraries, or the system's libssl when it is empty. */
static void tls_libs(struct ebpf_state *st, struct sonde_ebpf_probe_opts *po)
{
	unsigned i;

	if (!st->cfg.n_tls_libraries)
		st->cfg.n_tls_libraries = sonde_tls_libs_find("", st->cfg.tls_libraries,
							      SONDE_EBPF_TLS_LIBS_MAX);
	for (i = 0; i < st->cfg.n_tls_libraries; i++)
		po->tls_libs[po->n_tls_libs++] = st->cfg.tls_libraries[i];
}

static int ebpf_start(void *state)
{
	struct ebpf_state *st = state;
	struct sonde_ebpf_probe_opts po = { 0 };
	char why[256] = "";
	int err;

	parse_lists(&st->cfg, &po);
	po.self_tgid = (uint32_t)getpid();
	po.capture_bytes = (uint32_t)st->cfg.capture_bytes_pipelined;
	po.capture_http = (uint32_t)st->cfg.capture_bytes;
	po.ring_bytes = (uint32_t)st->cfg.ring_buffer_size;
	po.wakeup_bytes = (uint32_t)st->cfg.wakeup_bytes;
	po.filter_cgroups = st->cgf != NULL;
	po.hooks = strcmp(st->cfg.syscall_hooks, "raw") == 0 ? SONDE_EBPF_HOOKS_RAW :
		   strcmp(st->cfg.syscall_hooks, "tracepoints") == 0 ?
						       SONDE_EBPF_HOOKS_TRACEPOINTS :
						       SONDE_EBPF_HOOKS_AUTO;
	if (st->cfg.tls)
		tls_libs(st, &po);
	po.tls_entry = strcmp(st->cfg.tls_hooks, "entry") == 0;
	po.unix_sockets = st->cfg.unix_sockets;
	/* programs carrying their own TLS are looked for, at their exec too */
	po.exec_records = st->cfg.tls && (st->cfg.go_tls || st->cfg.tls_programs);
	po.tls_programs = st->cfg.tls && st->cfg.tls_programs;
	st->estab_base = count_established();
	err = sonde_ebpf_probe_open(&po, on_record, st, &st->probe, why, sizeof(why));
	if (err) {
		/* the agent keeps running logs, pcap and host metrics */
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "eBPF tracing disabled: %s", why);
		return 0;
	}
	sonde_gauge_set(st->tls_libs, sonde_ebpf_probe_tls_libs(st->probe));
	if (st->cfg.tls && !po.n_tls_libs)
		sonde_log(SONDE_LOG_NOTICE, "probe", "ebpf",
			  "TLS: no libssl.so.3 or libssl.so.1.1 found: TLS connections are counted, not parsed (set ebpf.tls_libraries)");
	sonde_log(SONDE_LOG_INFO, "probe", "ebpf", "syscalls hooked through %s",
		  sonde_ebpf_probe_features(st->probe) & SONDE_EBPF_HAS_RAW_SYSCALLS ?
			  "the raw tracepoint sys_exit (tp_btf)" :
			  "one tracepoint per syscall");
	if (st->cgf) {
		struct sonde_cgroup_filter_stats cs;

		st->now_mono_ns = clock_ns(CLOCK_MONOTONIC);
		sonde_cgroup_filter_forget(st->cgf); /* this probe's map is empty */
		scan_cgroups(st);
		sonde_cgroup_filter_stats(st->cgf, &cs);
		sonde_log(cs.missing ? SONDE_LOG_WARNING : SONDE_LOG_INFO, "probe", "ebpf",
			  "tracing only %u cgroups below %u ebpf.cgroups paths in %s%s",
			  cs.ids, st->cfg.n_cgroups, sonde_cgroup_filter_root(st->cgf),
			  cs.missing ? " (some paths do not exist yet: looked for again every 5 s)" : "");
	}
	if (po.exec_records) {
		memcpy(st->pids, po.pids, sizeof(st->pids));
		st->n_pids = po.n_pids;
		st->bins_attach.go = st->cfg.go_tls ? attach_go : NULL;
		st->bins_attach.openssl = st->cfg.tls_programs ? attach_openssl : NULL;
		st->bins_attach.userdata = st;
		st->tlsbins = sonde_tlsbins_new("/proc");
		if (st->tlsbins) {
			/* hooked already: never handed over as a library of its own */
			for (unsigned i = 0; i < po.n_tls_libs; i++)
				sonde_tlsbins_known(st->tlsbins, po.tls_libs[i]);
			st->now_mono_ns = clock_ns(CLOCK_MONOTONIC);
			scan_bins(st);
		}
	}
	if (!(sonde_ebpf_probe_features(st->probe) & SONDE_EBPF_HAS_SOCK_STATE))
		sonde_log(SONDE_LOG_NOTICE, "probe", "ebpf",
			  "tracepoint sock:inet_sock_set_state missing: no TCP connect latency, failures or active connections");
	err = sonde_loop_add_fd(st->agent->loop, sonde_ebpf_probe_fd(st->probe),
				EPOLLIN, on_fd, st);
	if (err)
		goto err;
	st->fd_added = true;
	err = sonde_loop_add_timer(st->agent->loop, st->cfg.poll_interval, on_tick,
				   st, &st->timer);
	if (err)
		goto err;
	st->wall_offset_ns = (int64_t)(clock_ns(CLOCK_REALTIME) -
				       clock_ns(CLOCK_MONOTONIC));
	sonde_gauge_set(st->up, 1);
	return 0;
err:
	sonde_log(SONDE_LOG_ERR, "probe", "ebpf", "cannot watch the ring buffer: %s",
		  strerror(-err));
	ebpf_stop(st);
	return err;
}

const struct sonde_module_ops sonde_ebpf_module = {
	.name = "ebpf",
	.config = &ebpf_section,
	.init = ebpf_init,
	.start = ebpf_start,
	.stop = ebpf_stop,
	.free = ebpf_free,
	/* a reload that leaves `ebpf:` alone must not forget live connections:
	 * an HTTP/2 one is never parsed again (no second preface) */
	.keep_on_reload = true,
};
