/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_EVENTS_H
#define SONDE_EBPF_EVENTS_H

/*
 * The records the kernel programs put on the ring buffer, shared by
 * sonde.bpf.c and user space. Every record starts with sonde_ebpf_hdr;
 * user space checks the record length against the type before reading
 * (decode.c), so a short or garbled record is counted, never trusted.
 */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Payload prefix bound; a power of two so the BPF side can mask offsets. */
#define SONDE_EBPF_CAPTURE_MAX 16384
/* A unix socket's name is kept to its first SONDE_EBPF_UNIX_NAME_MAX - 1
 * bytes (the kernel's sun_path holds 108); a power of two */
#define SONDE_EBPF_UNIX_NAME_MAX 64
#define SONDE_EBPF_COMM_LEN 16
/* iovecs looked at per readv/writev/recvmsg/sendmsg. */
#define SONDE_EBPF_IOV_MAX 64

enum sonde_ebpf_ev_type {
	SONDE_EBPF_EV_DATA = 1,    /* bytes a syscall moved on a TCP socket */
	SONDE_EBPF_EV_OPEN = 2,    /* accept/connect returned a socket */
	SONDE_EBPF_EV_CLOSE = 3,   /* close() on a TCP socket */
	SONDE_EBPF_EV_CONNECT = 4, /* SYN_SENT left: established or failed */
	/* an SSL object over memory BIOs wrote through this socket: its
	 * earlier writes' plaintext (SONDE_EBPF_F_ORPHAN records) is this
	 * socket's */
	SONDE_EBPF_EV_SSL_PAIR = 5,
	/* a traced process started another program (execve): a header only,
	 * woken at once, for user space to look for Go's crypto/tls in it */
	SONDE_EBPF_EV_EXEC = 6,
};

enum sonde_ebpf_dir {
	SONDE_EBPF_DIR_RECV = 0,
	SONDE_EBPF_DIR_SEND = 1,
};

enum sonde_ebpf_role {
	SONDE_EBPF_ROLE_UNKNOWN = 0,
	SONDE_EBPF_ROLE_SERVER = 1, /* accepted */
	SONDE_EBPF_ROLE_CLIENT = 2, /* connected */
};

/* Per-CPU counters in the `stats` map. */
enum sonde_ebpf_stat {
	SONDE_EBPF_STAT_LOST = 0,      /* ring buffer full: record dropped */
	SONDE_EBPF_STAT_RETRANS,       /* tcp_retransmit_skb */
	SONDE_EBPF_STAT_ESTAB_UP,      /* transitions into ESTABLISHED */
	SONDE_EBPF_STAT_ESTAB_DOWN,    /* transitions out of ESTABLISHED */
	SONDE_EBPF_STAT_SUBMITTED,     /* records written */
	SONDE_EBPF_STAT_TRUNCATED,     /* data records whose payload was cut */
	SONDE_EBPF_STAT_TLS_UNPAIRED,  /* SSL_read/SSL_write with no known socket */
	SONDE_EBPF_STAT_H2_LOST,       /* HTTP/2 frame walks that lost their place */
	SONDE_EBPF_STAT_H2_WALKED,     /* HTTP/2 records frame-walked */
	SONDE_EBPF_STAT_N,
};

/*
 * The name of the socket a unix-socket connection reached (its server's
 * bound path, or an abstract name with its leading NUL): `unix_names`,
 * keyed by the end's identity (its local address bytes).
 */
struct sonde_ebpf_unix_name {
	__u8 len; /* bytes of name[], the sun_path as bound (a path's NUL included) */
	__u8 pad[7];
	char name[SONDE_EBPF_UNIX_NAME_MAX];
};

struct sonde_ebpf_addr {
	__u8 family; /* AF_INET, AF_INET6, 0 */
	__u8 pad;
	__u16 port; /* host order */
	__u8 addr[16];
};

/* The `socks` map: the per-(tgid, fd) verdict cache and byte counters. */
struct sonde_ebpf_sock_key {
	__u32 tgid;
	__s32 fd;
};

struct sonde_ebpf_sock_info {
	__u64 file; /* struct file *: tells a cached verdict is still this fd's */
	__u64 ino;
	__u64 bytes_sent;
	__u64 bytes_recv;
	__u8 is_tcp;
	__u8 role;
	__u8 lost;   /* bit dir | (plaintext ? 2 : 0): a record was lost since */
	__u8 seen;   /* same bits: a record went out (its stream has begun) */
	__u8 h2;     /* the HTTP/2 preface was seen: frames are walked */
	__u8 pad[3];
	struct sonde_ebpf_addr local;
	struct sonde_ebpf_addr peer;
	/* payload muted (sock_ctl capture 0): bytes held for the next report */
	__u64 batch_ns;        /* when the last report went out */
	__u32 batch_bytes[2];  /* per enum sonde_ebpf_dir */
};

/*
 * HTTP/2 connections' records are frame-walked in the kernel: frame headers
 * and every frame's payload but DATA's are copied, DATA payloads left out,
 * so that a 64 KiB response costs a few dozen bytes and no frame header is
 * ever past the capture. Such a record (SONDE_EBPF_F_FRAMED) carries, after
 * its `len` copied bytes, `segs` of these: copy bytes of data[] (in order),
 * then skip bytes of the stream not captured. They add up to `len` and
 * `total`.
 */
struct sonde_ebpf_seg {
	__u32 copy;
	__u32 skip;
};
#define SONDE_EBPF_SEGS_MAX 256

/*
 * The `sock_ctl` map, keyed by socket id (inode number), written by user
 * space once it knows the protocol: how much payload this socket is worth.
 * A socket set to 0 (no parser, or the client end of a loopback DB/cache
 * connection) gets no record per syscall: its bytes go out in batches, as
 * payload-less DATA records whose `total` is the bytes gathered in that
 * direction since the last one, once SONDE_EBPF_BATCH_BYTES have gathered
 * or the first syscall SONDE_EBPF_BATCH_NS after the last report; CLOSE
 * carries the full totals.
 */
#define SONDE_EBPF_BATCH_BYTES 16384
#define SONDE_EBPF_BATCH_NS 1000000000ull
struct sonde_ebpf_sock_ctl {
	__u32 capture; /* bytes per syscall; 0 = count bytes only (muted) */
	__u32 plain;   /* bytes per SSL_read/SSL_write; 0 = no plaintext record */
};

/* sonde_ebpf_hdr.flags of DATA records on TLS connections */
#define SONDE_EBPF_F_PLAIN 0x1  /* SSL_read/SSL_write's plaintext: not on the wire */
#define SONDE_EBPF_F_CIPHER 0x2 /* a syscall inside SSL_read/SSL_write: bytes only */
/* records of this socket and direction (and kind: plaintext or not) were
 * lost to a full ring buffer just before this one: a gap of unknown size */
#define SONDE_EBPF_F_AFTER_LOSS 0x4
/* data[] is frame-walked HTTP/2: see sonde_ebpf_seg */
#define SONDE_EBPF_F_FRAMED 0x8
/*
 * Plaintext of an SSL object whose socket is not known yet (it runs over
 * memory BIOs: OpenSSL makes no syscall, the program moves the ciphertext
 * itself): an SSL_write's, or an SSL_read's before its thread's recvs were
 * followed. fd is -1, sock_id 0, local.family 0 and local.addr[0..8] the
 * SSL pointer; an SSL_PAIR record names its socket.
 */
#define SONDE_EBPF_F_ORPHAN 0x10
/*
 * This record, a socket's first on the wire with no sock_ctl yet, starts
 * an HTTP/1 request or response: the kernel set the socket's sock_ctl
 * itself ({capture_http, capture_bytes}: what user space would set once
 * it detects HTTP/1 there), so that a short-lived HTTP connection costs
 * user space no map update.
 */
#define SONDE_EBPF_F_HTTP_CTL 0x20

struct sonde_ebpf_hdr {
	__u8 type;
	__u8 dir;  /* DATA */
	__u8 role; /* the kernel's view: accept/connect seen */
	__u8 flags; /* DATA: SONDE_EBPF_F_* */
	__u32 tgid;
	__u32 tid;
	__s32 fd;
	__u64 ts_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u64 sock_id; /* socket inode number: tells fd reuse apart */
	char comm[SONDE_EBPF_COMM_LEN]; /* the thread's name: for processes gone by the time user space looks */
};

struct sonde_ebpf_data {
	struct sonde_ebpf_hdr hdr;
	struct sonde_ebpf_addr local;
	struct sonde_ebpf_addr peer;
	__u32 total; /* bytes the syscall moved */
	__u32 len;   /* bytes captured in data[] (<= total) */
	__u32 segs;  /* SONDE_EBPF_F_FRAMED: sonde_ebpf_seg entries after them */
	__u32 pad;   /* data[] at sizeof(struct sonde_ebpf_data) */
	__u8 data[];
};

struct sonde_ebpf_open {
	struct sonde_ebpf_hdr hdr;
	struct sonde_ebpf_addr local;
	struct sonde_ebpf_addr peer;
};

struct sonde_ebpf_ssl_pair {
	struct sonde_ebpf_hdr hdr; /* the socket: fd, sock_id, role */
	struct sonde_ebpf_addr local;
	struct sonde_ebpf_addr peer;
	__u64 ssl; /* the SSL object (a pointer in the process) */
};

struct sonde_ebpf_close {
	struct sonde_ebpf_hdr hdr;
	__u64 bytes_sent; /* kernel-side totals since the socket was seen */
	__u64 bytes_recv;
};

struct sonde_ebpf_connect {
	struct sonde_ebpf_hdr hdr; /* tgid: the task that called connect */
	struct sonde_ebpf_addr local;
	struct sonde_ebpf_addr peer;
	__u64 duration_ns;
	__s32 failed; /* 0 established, 1 SYN_SENT -> CLOSE */
	__u32 pad2;
};

#endif
