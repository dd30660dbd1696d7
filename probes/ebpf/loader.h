/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_LOADER_H
#define SONDE_EBPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "gosyms.h"

/*
 * Loads and attaches sonde.bpf.c through its skeleton and hands ring-buffer
 * records to a callback. Knows nothing of connections or metrics.
 */

struct sonde_ebpf_probe;

/* Same shape as libbpf's ring_buffer_sample_fn. */
typedef int (*sonde_ebpf_record_fn)(void *userdata, void *data, size_t size);

#define SONDE_EBPF_FILTER_MAX 64
#define SONDE_EBPF_TLS_LIBS_MAX 8

struct sonde_ebpf_probe_opts {
	uint32_t self_tgid;      /* excluded in the kernel */
	uint32_t capture_bytes;  /* clamped to SONDE_EBPF_CAPTURE_MAX */
	/* set by the kernel itself on sockets that start with HTTP/1 (clamped;
	 * 0 or capture_bytes: left to sonde_ebpf_probe_set_capture) */
	uint32_t capture_http;
	uint32_t ring_bytes;     /* rounded up to a power of two pages */
	uint32_t wakeup_bytes;   /* 0: wake on every record */
	uint32_t pids[SONDE_EBPF_FILTER_MAX];
	unsigned n_pids;         /* 0: every process */
	uint16_t ports[SONDE_EBPF_FILTER_MAX];
	unsigned n_ports;        /* 0: every port (local or peer) */
	/* only tasks in the cgroups given by sonde_ebpf_probe_add_cgroup */
	bool filter_cgroups;
	enum {
		SONDE_EBPF_HOOKS_AUTO = 0, /* raw, and tracepoints if refused */
		SONDE_EBPF_HOOKS_RAW,
		SONDE_EBPF_HOOKS_TRACEPOINTS,
	} hooks;
	/* NULL: "/sys". Tests point it at a fixture tree (tracefs is then
	 * never mounted there). */
	const char *sys_root;
	/*
	 * libssl files whose SSL_read/SSL_write(_ex) get uprobes, for TLS
	 * plaintext (none: TLS is not looked into). Files that cannot be
	 * hooked are skipped and said so in the log; the rest still work.
	 */
	const char *tls_libs[SONDE_EBPF_TLS_LIBS_MAX];
	unsigned n_tls_libs;
	/*
	 * false: hook OpenSSL's internal read/write functions (sslsyms.h),
	 * and leave a file where they are not found unhooked; true: hook the
	 * exported SSL_read/SSL_write(_ex) at their entry, single-stepped.
	 */
	bool tls_entry;
	/* unix-domain stream sockets are traced as well as TCP */
	bool unix_sockets;
	/* HTTP/2 connections whose frame positions the kernel keeps (0: 16,384) */
	uint32_t h2_conns;
	/* SONDE_EBPF_EV_EXEC records when a traced process starts a program */
	bool exec_records;
	/* programs with OpenSSL linked in may be hooked later
	 * (sonde_ebpf_probe_attach_openssl): the SSL programs are loaded even
	 * with no tls_libs */
	bool tls_programs;
};

/*
 * On failure returns -errno and writes one plain sentence saying what is
 * missing (no BTF, no privilege, no tracepoint) into why.
 */
int sonde_ebpf_probe_open(const struct sonde_ebpf_probe_opts *opts,
			  sonde_ebpf_record_fn fn, void *userdata,
			  struct sonde_ebpf_probe **ret_probe, char *why,
			  size_t whylen);
void sonde_ebpf_probe_free(struct sonde_ebpf_probe *probe);

/* An fd that polls readable when records wait. */
int sonde_ebpf_probe_fd(const struct sonde_ebpf_probe *probe);
/* Drains what is queued; returns records handled or -errno. */
int sonde_ebpf_probe_consume(struct sonde_ebpf_probe *probe);
/* Blocks up to timeout_ms (tests). */
int sonde_ebpf_probe_poll(struct sonde_ebpf_probe *probe, int timeout_ms);

/* Sums the per-CPU counters (enum sonde_ebpf_stat). */
int sonde_ebpf_probe_stats(const struct sonde_ebpf_probe *probe,
			   uint64_t ret_stats[SONDE_EBPF_STAT_N]);

/*
 * Payload bytes worth copying per syscall on this socket (sock_id from the
 * events); 0 stops payload altogether, the kernel still counts bytes.
 * plain: the same for the TLS plaintext of SSL_read/SSL_write on it; 0
 * stops its records altogether.
 */
int sonde_ebpf_probe_set_capture(struct sonde_ebpf_probe *probe, uint64_t sock_id,
				 uint32_t bytes, uint32_t plain);

/*
 * The name of the socket a unix-socket connection reached, by the end's
 * identity (sonde_ebpf_unix_id): 0, or -ENOENT when the kernel kept none
 * (a socketpair, an unnamed server, or forgotten).
 */
int sonde_ebpf_probe_unix_name(const struct sonde_ebpf_probe *probe, uint64_t end_id,
			       struct sonde_ebpf_unix_name *ret_name);

/* Lets tasks of cgroup v2 id `id` through (opts.filter_cgroups). */
int sonde_ebpf_probe_add_cgroup(struct sonde_ebpf_probe *probe, uint64_t id);

/* Which optional hooks attached (connection life, retransmits). */
#define SONDE_EBPF_HAS_SOCK_STATE 0x1
#define SONDE_EBPF_HAS_RETRANS 0x2
/* Syscalls hooked through one BTF raw tracepoint (else per-syscall ones). */
#define SONDE_EBPF_HAS_RAW_SYSCALLS 0x4
/* SSL_read/SSL_write hooked in at least one libssl file. */
#define SONDE_EBPF_HAS_TLS 0x8
unsigned sonde_ebpf_probe_features(const struct sonde_ebpf_probe *probe);

/* How many of opts.tls_libs were hooked (SSL_read and SSL_write both). */
unsigned sonde_ebpf_probe_tls_libs(const struct sonde_ebpf_probe *probe);

/*
 * Hooks a Go program's crypto/tls (gosyms.h) in the executable at path
 * (/proc/self/fd/N will do: the kernel follows it to the file), for every
 * process that runs it, or only those of opts.pids. 0, or -errno with the
 * reason in why (-ENOSPC past SONDE_EBPF_GO_PROGRAMS_MAX).
 */
#define SONDE_EBPF_GO_PROGRAMS_MAX 64
int sonde_ebpf_probe_attach_go(struct sonde_ebpf_probe *probe, const char *path,
			       const struct sonde_go_tls *go, char *why, size_t whylen);
/* Go programs hooked so far. */
unsigned sonde_ebpf_probe_go_programs(const struct sonde_ebpf_probe *probe);

/*
 * Hooks the OpenSSL linked into the program at path (sslsyms.h: its
 * internal functions, else SSL_read/SSL_write at their entry, *ret_entry
 * true; entry only with opts.tls_entry), for every process that runs it,
 * or only those of opts.pids. 0, or -errno with the reason in why
 * (-ENOSPC past SONDE_EBPF_SSL_PROGRAMS_MAX; -ENOTSUP when the probe was
 * opened with neither tls_libs nor tls_programs).
 */
#define SONDE_EBPF_SSL_PROGRAMS_MAX 16
int sonde_ebpf_probe_attach_openssl(struct sonde_ebpf_probe *probe, const char *path,
				    bool *ret_entry, char *why, size_t whylen);
/* Programs with OpenSSL linked in hooked so far. */
unsigned sonde_ebpf_probe_openssl_programs(const struct sonde_ebpf_probe *probe);

#endif
