// SPDX-License-Identifier: MIT
/*
 * Kernel side of the eBPF probe: syscall tracepoints for socket I/O,
 * accept/connect/close, the sock/tcp tracepoints for connection life, and
 * uprobes on libssl for TLS plaintext. Only tracepoints and uprobes are
 * used: kprobes and fentry are not available on every host this runs on.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115
#define IPPROTO_MPTCP_ 262
#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_SYN_RECV_ 3
#define TCP_CLOSE_ 7
#define MSG_OOB_ 1
#define MSG_PEEK_ 2
#define MSG_TRUNC_ 0x20
#define MSG_ERRQUEUE_ 0x2000

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/*
 * Whether the running kernel has helper bpf_<name> (a CO-RE relocation:
 * a constant at load). The verifier follows only the branch the kernel
 * takes, so one object serves kernels with and without the helper.
 */
#define HAVE_HELPER(name) bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_##name)

/* Written by the loader before load. */
const volatile __u32 self_tgid = 0;
/* Payload per syscall until user space says otherwise (sock_ctl). */
const volatile __u32 capture_bytes = 8192;
/* ... and of a socket whose first bytes are HTTP/1's (0: left to user
 * space, as every other protocol) */
const volatile __u32 capture_http = 0;
const volatile __u8 filter_pids = 0;
const volatile __u8 filter_ports = 0;
const volatile __u8 filter_cgroups = 0;
/* Wake user space only once this much is queued; it also polls on a timer. */
const volatile __u64 wakeup_bytes = 0;
/* The SSL uprobes are loaded (libssl, or programs with OpenSSL linked in):
 * syscalls look for an SSL call around them. */
const volatile __u8 tls_hooks = 0;
/* EXEC records (sched_process_exec) are wanted */
const volatile __u8 watch_exec = 0;
/* Unix-domain stream sockets are traced too (ebpf.unix_sockets). */
const volatile __u8 trace_unix = 0;
/* Unix sockets' ends are told apart by their struct sock, which is known
 * at connect() already (the server's end has no file, so no inode, until
 * accept()); XORed with this key of the loader's, no kernel address
 * reaches user space as such. */
const volatile __u64 unix_id_key = 0;

/* Where a syscall's bytes are: none for sendfile/splice (kernel to kernel) */
enum arg_kind { ARG_BUF = 0, ARG_IOV = 1, ARG_MSG = 2, ARG_NONE = 3 };

#define sock_key sonde_ebpf_sock_key
#define sock_info sonde_ebpf_sock_info

struct syn_info {
	__u64 ts_ns;
	__u32 tgid;
	__u32 pad;
	char comm[SONDE_EBPF_COMM_LEN];
};

/* An HTTP/2 connection's place in its frames, per direction (h2_frames). */
struct h2_pos {
	__u32 remain; /* payload bytes left in the current frame */
	__u8 elide;   /* that payload is DATA's: left out of the record */
	__u8 have;    /* bytes of the next frame header seen so far (0..8) */
	__u8 head[4]; /* its first four: the length and the type */
	__u8 lost;    /* the position is not known: records are not walked */
	__u8 pad;
};

struct h2_state {
	struct h2_pos pos[4];
};

/*
 * An HTTP/2 frame walk in progress (h2_walk): kept in the CPU's scratch
 * record, not on the stack: the steps (h2_steps_fn, a global function the
 * verifier checks once on its own) find it there.
 */
struct h2_walk {
	struct h2_pos p;
	__u64 iov;  /* struct iovec * in user memory; 0: one buffer */
	__u64 base; /* the buffer being walked */
	__u32 iovcnt, iov_i;
	__u32 blen, boff;   /* its length (bounded by left) and our place in it */
	__u32 left;         /* bytes of the call not walked yet */
	__u32 out;          /* bytes copied into data[] */
	__u32 nseg;         /* segments closed */
	__u32 seg_copy, seg_skip;
	__u8 copied; /* the call is in data[] whole: only the position moves */
	__u8 full;  /* the table or data[] is full: the rest is skipped */
	__u8 failed; /* a read failed or steps ran out: position lost */
};

/*
 * Room for three times the max: the verifier checks `off + n` with off and
 * n each only known through masks (off < MAX, n < 2 * MAX).
 */
struct scratch {
	__u8 raw[sizeof(struct sonde_ebpf_data) + 3 * SONDE_EBPF_CAPTURE_MAX];
	struct h2_walk walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, struct sock_info);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sonde_ebpf_sock_ctl);
} sock_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct syn_info);
} syn_sent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} port_filter SEC(".maps");

/*
 * Each established TCP socket's side of the handshake (struct sock address
 * -> SONDE_EBPF_ROLE_*): SYN_RECV -> ESTABLISHED is the server's,
 * SYN_SENT -> ESTABLISHED the client's. It gives a role to a socket first
 * seen in a process that neither accepted nor connected it (PostgreSQL's
 * backends, fds passed over a unix socket).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} sk_roles SEC(".maps");

/* cgroup v2 ids (ebpf.cgroups and their descendants), filled by the agent */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_EBPF_STAT_N);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * One scratch record per CPU: a plain array indexed by the CPU (programs
 * run with migration disabled), since a per-CPU array's values may not
 * exceed 32 KiB. The loader sizes it to the possible CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/*
 * TLS: the SSL_read/SSL_write(_ex) call each thread is inside (pid_tgid ->
 * call), from the uprobe at its entry to the uretprobe at its return. A
 * syscall on a TCP socket made inside it names the call's socket (fd) and
 * is ciphertext.
 */
struct ssl_call {
	__u64 ssl;     /* SSL * */
	__u64 buf;     /* the plaintext */
	__u64 out_len; /* size_t * of the _ex forms (bytes moved), else 0 */
	__s32 fd;      /* socket a nested syscall used; -1 until one did, */
		       /* SSL_FD_UNTRACED when that was a socket not traced */
	__u8 dir;
	__u8 pad[3];
};

/* ssl_call.fd: the call's I/O went to a socket not traced (filtered out,
 * or a unix socket when those are not traced) */
#define SSL_FD_UNTRACED (-2)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

/*
 * The socket each SSL object last used ({tgid, SSL *} -> fd), for calls
 * served from what OpenSSL had already buffered, without a syscall.
 */
struct ssl_key {
	__u32 tgid;
	__u32 pad;
	__u64 ssl;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ssl_key);
	__type(value, __s32);
} ssl_fds SEC(".maps");

/*
 * SSL objects over memory BIOs (Node.js, Python's asyncio, gRPC's C core):
 * OpenSSL makes no syscall inside SSL_read/SSL_write; the program moves
 * the ciphertext itself, on the same thread, just before an SSL_read (its
 * recv) and just after an SSL_write (its send). For threads that made such
 * a call (pid_tgid -> state): the socket of their last recv outside an
 * SSL call, and the SSL object whose write awaits their next send.
 * Nothing is looked up until a first such call (bio_seen).
 */
struct bio_thread {
	__s32 recv_fd; /* -1: none yet */
	__u8 h2;       /* that object's plaintext began with the HTTP/2 preface */
	__u8 pad[3];
	__u64 ssl;     /* awaiting a send; 0: none */
	/* its frame positions over what it held (by dir), for h2_frames */
	struct h2_pos pos[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct bio_thread);
} bio_threads SEC(".maps");

__u32 bio_seen = 0;

/* Bytes this CPU queued since it last woke the reader (ringbuf_flags). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} queued SEC(".maps");

/*
 * Unix-socket connections: the name of the socket they reached, by end
 * identity, for user space to read when the connection's first
 * transaction is reported. Not deleted at close (records are read
 * later than that): LRU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct sonde_ebpf_unix_name);
} unix_names SEC(".maps");

/* unix_name's value under construction: off the callers' stacks */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_ebpf_unix_name);
} unix_name_buf SEC(".maps");

/*
 * HTTP/2: where each direction of a connection is in its frames (socket id
 * -> four positions, indexed dir | plaintext << 1), carried from one
 * record to the next by h2_walk. Created when the preface is seen.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct h2_state);
} h2_frames SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

static __always_inline bool pid_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_pids && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return false;
	if (filter_cgroups) {
		/* every caller runs in the task's own context */
		__u64 cg = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&cgroup_filter, &cg))
			return false;
	}
	return true;
}

static __always_inline bool ports_wanted(const struct sock_info *si)
{
	__u16 lp = si->local.port, pp = si->peer.port;

	if (!filter_ports)
		return true;
	return bpf_map_lookup_elem(&port_filter, &lp) ||
	       bpf_map_lookup_elem(&port_filter, &pp);
}

/*
 * Wake user space once this CPU has queued wakeup_bytes since its last
 * wakeup: a per-CPU count, so no producer reads the ring's shared
 * positions (bpf_ringbuf_query) on every record. (Forcing a wakeup on every
 * record while the backlog stayed above the mark cost a self-IPI, a VM exit
 * under a hypervisor, per record: measured ~10 % of nginx's throughput,
 * docs/BENCHMARKS.md.) The reader's poll timer drains what is queued below
 * the mark.
 */
static __always_inline __u64 ringbuf_flags(__u64 size)
{
	__u32 zero = 0;
	__u64 *pending;

	if (!wakeup_bytes)
		return 0;
	pending = bpf_map_lookup_elem(&queued, &zero);
	if (!pending)
		return 0;
	*pending += size;
	if (*pending < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	*pending = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/* Queues a record with these wakeup flags; false (counted) when the ring is full. */
static __always_inline bool output(void *ev, __u64 size, __u64 flags)
{
	if (bpf_ringbuf_output(&events, ev, size, flags)) {
		stat_inc(SONDE_EBPF_STAT_LOST);
		return false;
	}
	stat_inc(SONDE_EBPF_STAT_SUBMITTED);
	return true;
}

/* Queues a record, the reader woken per wakeup_bytes (ringbuf_flags). */
static __always_inline bool submit(void *ev, __u64 size)
{
	return output(ev, size, ringbuf_flags(size));
}

static __always_inline struct file *fd_file(__s32 fd)
{
	struct file **fds;
	struct fdtable *fdt;
	struct file *f = NULL;

	if (fd < 0)
		return NULL;
	if (HAVE_HELPER(get_current_task_btf)) {
		/*
		 * Direct loads through the BTF task pointer: the verifier
		 * turns them into fault-checked loads, cheaper than one
		 * helper call each.
		 */
		fdt = bpf_get_current_task_btf()->files->fdt;
		if ((unsigned int)fd >= fdt->max_fds)
			return NULL;
		fds = fdt->fd;
	} else { /* before 5.11: a helper read each */
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		fdt = BPF_CORE_READ(task, files, fdt);
		if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
			return NULL;
		fds = BPF_CORE_READ(fdt, fd);
	}
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

static __always_inline void read_addrs(struct sock *sk, struct sonde_ebpf_addr *local,
				       struct sonde_ebpf_addr *peer, __u16 family)
{
	local->family = peer->family = family;
	local->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	peer->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* explicit sizes: BPF_CORE_READ_INTO on a u8[] would copy one byte */
	if (family == AF_INET) {
		bpf_core_read(local->addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(peer->addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(local->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(peer->addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* The side of the handshake the kernel saw for sk, or ROLE_UNKNOWN. */
static __always_inline __u8 handshake_role(struct sock *sk)
{
	__u64 key = (__u64)sk;
	__u8 *role = bpf_map_lookup_elem(&sk_roles, &key);

	return role ? *role : SONDE_EBPF_ROLE_UNKNOWN;
}

/*
 * The listening socket's name, as the server's end has it for its own
 * and the client's end for its peer's (connect() copies it onto the end
 * it creates for the server). By role; unknown, by which end has one.
 * A global function, verified once, whose value is built in a per-CPU
 * buffer: inlined into every socket lookup it cost the programs' stack
 * and seconds of verification.
 */
__noinline int unix_name(__u64 sk_addr, __u64 peer_addr, __u32 role, __u64 me)
{
	struct unix_sock *sk = (struct unix_sock *)sk_addr, *peer = (struct unix_sock *)peer_addr;
	struct unix_address *own, *other = NULL, *a;
	struct sonde_ebpf_unix_name *n;
	__u32 zero = 0, len;

	n = bpf_map_lookup_elem(&unix_name_buf, &zero);
	if (!n || !sk)
		return 0;
	own = BPF_CORE_READ(sk, addr);
	if (peer)
		other = BPF_CORE_READ(peer, addr);

	if (role == SONDE_EBPF_ROLE_SERVER)
		a = own;
	else if (role == SONDE_EBPF_ROLE_CLIENT)
		a = other;
	else
		a = own && !other ? own : !own ? other : NULL;
	if (!a)
		return 0;
	/* the address's length counts sun_family's two bytes */
	len = BPF_CORE_READ(a, len);
	if (len <= 2)
		return 0;
	len -= 2;
	if (len > SONDE_EBPF_UNIX_NAME_MAX - 1)
		len = SONDE_EBPF_UNIX_NAME_MAX - 1;
	/* the verifier's bound, on the register the call uses (the compiler
	 * would drop a mask it can prove idle, and reuse the unclamped one) */
	barrier_var(len);
	len &= SONDE_EBPF_UNIX_NAME_MAX - 1;
	if (bpf_probe_read_kernel(n->name, len, &a->name[0].sun_path))
		return 0;
	n->len = len;
	bpf_map_update_elem(&unix_names, &me, n, BPF_ANY);
	return 0;
}

/*
 * fd -> file -> socket -> sk: is it TCP (or MPTCP) over IPv4/IPv6? Fills si
 * (addresses included) and returns true when it is. role: what accept or
 * connect said; ROLE_UNKNOWN asks the handshake the kernel saw.
 */
static __always_inline bool resolve_sock(__s32 fd, struct sock_info *si, __u8 role)
{
	struct file *f = fd_file(fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family, proto, type;
	umode_t mode;

	if (!f)
		return false;
	si->file = (__u64)f;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return false;
	si->ino = BPF_CORE_READ(f, f_inode, i_ino);
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return false;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return false;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_UNIX) {
		/* a local stream (PHP's "localhost" to MySQL, an app server
		 * behind nginx): no address, no port, no handshake to say who
		 * is the server: accept/connect, or the first request, will */
		struct sock *peer;
		__u64 me, them;

		if (!trace_unix || BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
			return false;
		si->local.family = si->peer.family = AF_UNIX;
		/* each end's identity and its peer's stand in for addresses, so
		 * that user space can pair the two ends of one connection */
		peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		me = (__u64)sk ^ unix_id_key;
		them = peer ? (__u64)peer ^ unix_id_key : 0;
		__builtin_memcpy(si->local.addr, &me, sizeof(me));
		__builtin_memcpy(si->peer.addr, &them, sizeof(them));
		unix_name((__u64)sk, (__u64)peer, role, me);
		si->role = role;
		si->is_tcp = 1;
		return true;
	}
	if (family != AF_INET && family != AF_INET6)
		return false;
	proto = BPF_CORE_READ(sk, sk_protocol);
	type = BPF_CORE_READ(sk, sk_type);
	/* MPTCP: the same byte stream (Go can listen and dial with it) */
	if ((proto != IPPROTO_TCP && proto != IPPROTO_MPTCP_) || type != SOCK_STREAM)
		return false;
	read_addrs(sk, &si->local, &si->peer, family);
	si->role = role != SONDE_EBPF_ROLE_UNKNOWN ? role : handshake_role(sk);
	si->is_tcp = 1;
	return true;
}

/*
 * The cached verdict for (tgid, fd), re-validated against the fd's current
 * struct file for sockets (exec and dup2 replace fds without close()).
 */
static __always_inline struct sock_info *lookup_sock(__u32 tgid, __s32 fd)
{
	struct sock_key key = { .tgid = tgid, .fd = fd };
	struct sock_info *si = bpf_map_lookup_elem(&socks, &key);
	struct sock_info fresh = {};

	if (si) {
		if (!si->is_tcp)
			return NULL;
		if ((__u64)fd_file(fd) == si->file)
			return si;
	}
	if (resolve_sock(fd, &fresh, SONDE_EBPF_ROLE_UNKNOWN) && !ports_wanted(&fresh))
		fresh.is_tcp = 0;
	bpf_map_update_elem(&socks, &key, &fresh, BPF_ANY);
	if (!fresh.is_tcp)
		return NULL;
	return bpf_map_lookup_elem(&socks, &key);
}

static __always_inline void fill_hdr(struct sonde_ebpf_hdr *h, __u8 type,
				     __u64 pid_tgid, __s32 fd,
				     const struct sock_info *si)
{
	h->type = type;
	h->dir = 0;
	h->role = si ? si->role : 0;
	h->flags = 0;
	h->tgid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->fd = fd;
	h->ts_ns = bpf_ktime_get_ns();
	h->sock_id = si ? si->ino : 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/*
 * For the verifier: a length it can see is below the scratch room. The
 * empty asm keeps clang from folding the mask away on values it already
 * knows are small (the verifier does not know what clang knows).
 */
static __always_inline __u32 bounded(__u32 v)
{
	asm volatile("" : "+r"(v));
	return v & (2 * SONDE_EBPF_CAPTURE_MAX - 1);
}

/* Copies up to `want` bytes from the iovecs into buf; returns the count. */
static __always_inline __u32 copy_iov(__u8 *buf, const struct iovec *iov,
				      __u32 iovcnt, __u32 want)
{
	__u32 off = 0;

	/* a bounded loop, not unrolled: memcached answers in many small iovecs */
#pragma clang loop unroll(disable)
	for (int i = 0; i < SONDE_EBPF_IOV_MAX; i++) {
		struct iovec v;
		__u32 n;

		if (i >= iovcnt || off >= want)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		n = want - off;
		if (v.iov_len < n)
			n = v.iov_len;
		/* off < want <= MAX already: the masks only inform the verifier */
		if (n && bpf_probe_read_user(buf + (bounded(off) & (SONDE_EBPF_CAPTURE_MAX - 1)),
					     bounded(n), v.iov_base))
			break;
		off += n;
	}
	return off;
}

/* A byte count in a record's 32-bit field: saturated, never wrapped. */
static __always_inline __u32 sat32(__u64 v)
{
	return v > 0xffffffffULL ? 0xffffffffU : (__u32)v;
}

/*
 * A muted socket (sock_ctl capture 0) is worth its byte counts only: this
 * call's bytes join the direction's batch, which is reported (returns its
 * size, and starts a new one) once SONDE_EBPF_BATCH_BYTES have gathered or
 * SONDE_EBPF_BATCH_NS have passed since the last report; 0 holds it back.
 * Not atomic: two threads on one socket at once may misplace a call's
 * bytes in a batch, which CLOSE's totals (atomic) set right.
 */
static __always_inline __u32 batch_due(struct sock_info *si, __u8 dir, long ret)
{
	__u32 *b = &si->batch_bytes[dir & 1];
	__u64 sum = *b + (__u64)ret, now = bpf_ktime_get_ns();

	if (sum < SONDE_EBPF_BATCH_BYTES && now - si->batch_ns < SONDE_EBPF_BATCH_NS) {
		*b = (__u32)sum;
		return 0;
	}
	*b = 0;
	si->batch_ns = now;
	return sat32(sum);
}

/* Offsets in data[] of a record being walked: the segment table is built
 * past anything copied (which stays under SONDE_EBPF_CAPTURE_MAX). */
#define H2_TABLE_OFF (2 * SONDE_EBPF_CAPTURE_MAX)
/* Steps per record: each a frame header, a payload piece or an iovec. */
#define H2_STEPS 1024
/* Steps per call of the walk's global function (h2_steps_fn) */
#define H2_BATCH 8
#define H2_PREFACE_LEN 24
/* Its first 8 bytes, "PRI * HT", read as a little-endian __u64 */
#define H2_PREFACE_HEAD 0x5448202a20495250ULL
/* Calls up to this size are copied whole rather than walked in user memory */
#define H2_COPY_WHOLE 2048
/* Frame headers and payloads h2_advance walks inline before h2_steps */
#define H2_ADVANCE_STEPS 16


static __always_inline struct sonde_ebpf_seg *h2_table(struct scratch *s)
{
	return (struct sonde_ebpf_seg *)(s->raw + sizeof(struct sonde_ebpf_data) +
					 H2_TABLE_OFF);
}

/* Stores the current segment; the last slot takes all that is left. */
static __always_inline void h2_seg_close(struct h2_walk *w, struct scratch *s)
{
	struct sonde_ebpf_seg *t = h2_table(s);
	__u32 i = w->nseg;

	if (i >= SONDE_EBPF_SEGS_MAX - 1) {
		w->full = 1;
		return;
	}
	t[i & (SONDE_EBPF_SEGS_MAX - 1)].copy = w->seg_copy;
	t[i & (SONDE_EBPF_SEGS_MAX - 1)].skip = w->seg_skip;
	w->nseg = i + 1;
	w->seg_copy = w->seg_skip = 0;
}

/* n bytes of the stream at src go into data[], or are skipped once full. */
static __always_inline void h2_copy(struct h2_walk *w, struct scratch *s, __u64 src,
				    __u32 n)
{
	struct sonde_ebpf_data *ev = (struct sonde_ebpf_data *)s->raw;

	if (w->seg_skip && !w->full)
		h2_seg_close(w, s);
	if (w->full || w->out + n > SONDE_EBPF_CAPTURE_MAX) {
		w->full = 1;
		w->seg_skip += n;
		return;
	}
	if (bpf_probe_read_user(ev->data + (bounded(w->out) & (SONDE_EBPF_CAPTURE_MAX - 1)),
				bounded(n), (void *)src)) {
		w->failed = 1;
		w->seg_skip += n;
		return;
	}
	w->out += n;
	w->seg_copy += n;
}

/* The walk lost its place: this direction is no longer walked. */
static __always_inline void h2_lose(struct h2_pos *p)
{
	p->lost = 1;
	stat_inc(SONDE_EBPF_STAT_H2_LOST);
}

/*
 * n bytes of the next frame header, whose first four (at most) are at h:
 * keeps the length and the type (flags and stream id are the parser's);
 * once all 9 are seen, the frame's payload is next.
 */
static __always_inline void h2_header_bytes(struct h2_pos *p, const __u8 *h, __u32 n)
{
	__u32 have = p->have;

	for (__u32 j = 0; j < 4; j++)
		if (j < n && have + j < 4)
			p->head[(have + j) & 3] = h[j];
	have += n;
	if (have >= 9) {
		p->remain = (__u32)p->head[0] << 16 | (__u32)p->head[1] << 8 | p->head[2];
		p->elide = p->head[3] == 0; /* DATA */
		have = 0;
	}
	p->have = have;
}

/*
 * One step of the walk: a frame header (or the part of it in this
 * buffer), a piece of a frame's payload, or the next iovec. Returns 1 when
 * the walk is over.
 */
static __always_inline int h2_step(void)
{
	__u32 cpu = bpf_get_smp_processor_id(), n;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);
	struct h2_walk *w;

	if (!s)
		return 1;
	w = &s->walk;
	if (!w->left || w->failed)
		return 1;
	if (w->boff >= w->blen) {
		struct iovec v;

		if (!w->iov || w->iov_i >= w->iovcnt || w->iov_i >= SONDE_EBPF_IOV_MAX ||
		    bpf_probe_read_user(&v, sizeof(v),
					(void *)(w->iov + (__u64)w->iov_i * sizeof(v)))) {
			w->failed = 1;
			return 1;
		}
		w->iov_i++;
		w->base = (__u64)v.iov_base;
		w->blen = v.iov_len < w->left ? v.iov_len : w->left;
		w->boff = 0;
		return 0;
	}
	n = w->blen - w->boff;
	if (n > w->left)
		n = w->left;
	if (w->p.remain) {
		if (n > w->p.remain)
			n = w->p.remain;
		if (w->copied)
			; /* in data[] already */
		else if (w->p.elide)
			w->seg_skip += n;
		else
			h2_copy(w, s, w->base + w->boff, n);
		w->p.remain -= n;
	} else {
		__u8 h[16] = {};

		if (n > 9u - w->p.have)
			n = 9u - w->p.have;
		if (w->copied) {
			const __u8 *d = ((struct sonde_ebpf_data *)s->raw)->data;

			for (__u32 j = 0; j < 4; j++)
				h[j] = d[(w->boff + j) & (SONDE_EBPF_CAPTURE_MAX - 1)];
		} else if (bpf_probe_read_user(h, n & 15, (void *)(w->base + w->boff))) {
			w->failed = 1;
			return 1;
		}
		if (!w->copied)
			h2_copy(w, s, w->base + w->boff, n);
		h2_header_bytes(&w->p, h, n);
	}
	w->boff += n;
	w->left -= n;
	return 0;
}

/*
 * H2_BATCH steps of the walk; 1 when it is over. A global function, which
 * the verifier checks once per program and then takes as a call: the loop
 * in h2_steps costs it a few instructions per call, H2_STEPS / H2_BATCH
 * times (one step per call verified 2.5 times slower loads). Not bpf_loop:
 * its callback is a BPF_PSEUDO_FUNC reference, which kernels before 5.17
 * refuse in the whole object, even where it never runs.
 */
__noinline int h2_steps_fn(void)
{
	for (int j = 0; j < H2_BATCH; j++)
		if (h2_step())
			return 1;
	return 0;
}

/* Runs the walk set up in this CPU's scratch record, H2_STEPS at most. */
static __always_inline void h2_steps(void)
{
	for (__u32 i = 0; i < H2_STEPS / H2_BATCH; i++)
		if (h2_steps_fn())
			break;
}

/*
 * The walk's global functions take their position in the scratch record's
 * walk.p and leave it there (kernels before 5.12 allow them scalars and the
 * context only, no pointers); h2_walk and h2_advance below copy it from and
 * back to the map.
 */

/* A new walk of `left` bytes from the position in w->p, all else cleared. */
static __always_inline void h2_walk_begin(struct h2_walk *w, __u32 left)
{
	struct h2_pos pos = w->p;

	__builtin_memset(w, 0, sizeof(*w));
	w->p = pos;
	w->left = left;
}

/*
 * Walks the call's `ret` bytes (how: the arg_kind << 24 | the iovec count)
 * from position walk.p, filling this CPU's scratch record with what is
 * copied and the segment table after it. Returns the bytes of data[]
 * (copied plus table); ev->len and ev->segs are set. On failure the rest
 * of the call is one skip and walk.p.lost is set.
 */
__noinline __u32 h2_walk_fn(__u64 ptr, __u32 how, __u32 ret)
{
	__u32 kind = how >> 24, iovcnt = how & 0xffffff;
	__u32 cpu = bpf_get_smp_processor_id(), tlen, out, i;
	struct sonde_ebpf_data *ev;
	struct sonde_ebpf_seg *t;
	struct h2_walk *w;
	struct scratch *s;

	s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return 0;
	ev = (struct sonde_ebpf_data *)s->raw;
	w = &s->walk;
	h2_walk_begin(w, ret);
	if (kind == ARG_BUF) {
		w->base = ptr;
		w->blen = ret;
	} else if (kind == ARG_IOV) {
		w->iov = ptr;
		w->iovcnt = iovcnt;
	} else {
		struct user_msghdr m;

		if (bpf_probe_read_user(&m, sizeof(m), (void *)ptr))
			w->failed = 1;
		w->iov = (__u64)m.msg_iov;
		w->iovcnt = m.msg_iovlen;
	}
	h2_steps();
	stat_inc(SONDE_EBPF_STAT_H2_WALKED);
	if (w->full)
		stat_inc(SONDE_EBPF_STAT_TRUNCATED); /* frames past the table: a gap */
	if (w->left || w->failed) {
		w->seg_skip += w->left; /* the rest, unread */
		h2_lose(&w->p);
	}
	/* the last segment: its slot is always free (h2_seg_close) */
	i = w->nseg;
	if (w->seg_copy || w->seg_skip) {
		t = h2_table(s);
		t[i & (SONDE_EBPF_SEGS_MAX - 1)].copy = w->seg_copy;
		t[i & (SONDE_EBPF_SEGS_MAX - 1)].skip = w->seg_skip;
		i++;
	}
	out = w->out;
	if (i > SONDE_EBPF_SEGS_MAX || out > SONDE_EBPF_CAPTURE_MAX)
		return 0;
	ev->len = out;
	ev->segs = i;
	tlen = i * sizeof(struct sonde_ebpf_seg);
	if (bpf_probe_read_kernel(ev->data + (bounded(out) & (SONDE_EBPF_CAPTURE_MAX - 1)),
				  tlen & (SONDE_EBPF_SEGS_MAX * sizeof(struct sonde_ebpf_seg) * 2 - 1),
				  h2_table(s)))
		return 0;
	return out + tlen;
}

/*
 * A call small enough to be copied whole (H2_COPY_WHOLE) is: one user read
 * instead of two per frame, and the walk only moves the position (walk.p)
 * over the copy in data[] (direct loads). Returns 0, or -1 with
 * walk.p.lost set.
 */
__noinline int h2_advance_fn(__u32 len)
{
	__u32 cpu = bpf_get_smp_processor_id(), off = 0, n;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);
	struct h2_pos *p;
	struct h2_walk *w;
	const __u8 *d;

	if (!s)
		return -1;
	w = &s->walk;
	p = &w->p;
	d = ((struct sonde_ebpf_data *)s->raw)->data;
	/* most calls are a few frames: walked here, without the step loop */
	for (int i = 0; i < H2_ADVANCE_STEPS && off < len; i++) {
		if (p->remain) {
			n = len - off < p->remain ? len - off : p->remain;
			p->remain -= n;
			off += n;
			continue;
		}
		n = len - off < 9u - p->have ? len - off : 9u - p->have;
		h2_header_bytes(p, d + (off & (SONDE_EBPF_CAPTURE_MAX - 1)), n);
		off += n;
	}
	if (off >= len)
		return 0;
	/* the rest, step by step */
	h2_walk_begin(w, len - off);
	w->blen = len;
	w->boff = off;
	w->copied = 1;
	h2_steps();
	if (w->left || w->failed) {
		h2_lose(p);
		return -1;
	}
	return 0;
}

/* h2_walk_fn for the position at p (a map value's), moved on there. */
static __always_inline __u32 h2_walk(struct h2_pos *p, __u64 ptr, __u32 how, __u32 ret)
{
	__u32 cpu = bpf_get_smp_processor_id(), size;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);

	if (!s)
		return 0;
	s->walk.p = *p;
	size = h2_walk_fn(ptr, how, ret);
	*p = s->walk.p;
	return size;
}

/* h2_advance_fn for the position at p (a map value's), moved on there. */
static __always_inline void h2_advance(struct h2_pos *p, __u32 len)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);

	if (!s)
		return;
	s->walk.p = *p;
	h2_advance_fn(len);
	*p = s->walk.p;
}

/* The first 8 bytes of a stream, little-endian, compared on their first n. */
#define HEAD8(a, b, c, d, e, f, g, h)                                              \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 |    \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define HEAD_IS(head, n, want) (((head) & (~0ULL >> (64 - 8 * (n)))) == (want))

/*
 * An HTTP/1 request (the common methods, origin-form target) or response
 * starts these 8 bytes. Other methods are left to user space's detection.
 */
static __always_inline bool http1_head(__u64 h)
{
	return HEAD_IS(h, 5, HEAD8('G', 'E', 'T', ' ', '/', 0, 0, 0)) ||
	       HEAD_IS(h, 6, HEAD8('P', 'O', 'S', 'T', ' ', '/', 0, 0)) ||
	       HEAD_IS(h, 5, HEAD8('P', 'U', 'T', ' ', '/', 0, 0, 0)) ||
	       HEAD_IS(h, 6, HEAD8('H', 'E', 'A', 'D', ' ', '/', 0, 0)) ||
	       HEAD_IS(h, 7, HEAD8('P', 'A', 'T', 'C', 'H', ' ', '/', 0)) ||
	       h == HEAD8('D', 'E', 'L', 'E', 'T', 'E', ' ', '/') ||
	       h == HEAD8('O', 'P', 'T', 'I', 'O', 'N', 'S', ' ') ||
	       HEAD_IS(h, 7, HEAD8('H', 'T', 'T', 'P', '/', '1', '.', 0));
}

/*
 * The start of a stream (slot: dir | plaintext << 1, its first record;
 * `total` bytes moved), for the two protocols whose capture the kernel
 * sets itself, without a sock_ctl of user space's yet. Returns the
 * record's flag (SONDE_EBPF_F_HTTP_CTL) or 0.
 *
 * The HTTP/2 client preface ("PRI * HTTP/2.0..."): from now on the
 * connection's records are frame-walked, this one from its start.
 * Captures are set to whole calls: the server answers within
 * microseconds, long before the agent has read the preface (its own
 * setting follows).
 *
 * An HTTP/1 request or response on the wire: the capture user space
 * would set once it detects HTTP/1 there (capture_http), so that a
 * short-lived HTTP connection costs user space no map update; the
 * record's flag tells it so. Here, where the head is read anyway, and
 * not after the copy: there the branch multiplied the verifier's states.
 */
static __always_inline __u8 stream_start(struct sock_info *si, __u8 slot, __u8 kind,
					 __u64 ptr, bool have_ctl, __u32 total)
{
	struct sonde_ebpf_sock_ctl c = { .capture = SONDE_EBPF_CAPTURE_MAX,
					 .plain = SONDE_EBPF_CAPTURE_MAX };
	struct h2_state st = {}, *v;
	__u64 head = 0, src = ptr;

	if (kind == ARG_MSG) {
		struct user_msghdr m;

		/* sendmsg/recvmsg (gRPC's C core): the first iovec of the header */
		if (bpf_probe_read_user(&m, sizeof(m), (void *)ptr) || !m.msg_iovlen)
			return 0;
		ptr = (__u64)m.msg_iov;
		kind = ARG_IOV;
	}
	if (kind != ARG_BUF) {
		struct iovec v;

		if (kind != ARG_IOV || bpf_probe_read_user(&v, sizeof(v), (void *)ptr) ||
		    v.iov_len < sizeof(head))
			return 0;
		src = (__u64)v.iov_base;
	}
	if (bpf_probe_read_user(&head, sizeof(head), (void *)src))
		return 0;
	if (head != H2_PREFACE_HEAD) {
		if (have_ctl || (slot & 2) || !capture_http || total < sizeof(head) ||
		    !http1_head(head))
			return 0;
		c.capture = capture_http;
		c.plain = capture_bytes;
		return bpf_map_update_elem(&sock_ctl, &si->ino, &c, BPF_NOEXIST) ?
			       0 : SONDE_EBPF_F_HTTP_CTL;
	}
	if (bpf_map_update_elem(&h2_frames, &si->ino, &st, BPF_ANY))
		return 0;
	v = bpf_map_lookup_elem(&h2_frames, &si->ino);
	if (!v)
		return 0;
	v->pos[slot & 3].remain = H2_PREFACE_LEN;
	si->h2 = 1;
	if (!have_ctl) {
		if (slot & 2)
			c.capture = 0; /* inside TLS: the wire's bytes are counted only */
		bpf_map_update_elem(&sock_ctl, &si->ino, &c, BPF_NOEXIST);
	}
	return 0;
}

/*
 * Queues a DATA record with `size` bytes of data[]. The parser must know
 * when bytes went missing, and is told by the socket's next record of this
 * kind (lost_bit): when this one did not fit in the ring, or when the frame
 * walk (p, if any) lost its place.
 */
static __always_inline void submit_data(struct sock_info *si, struct sonde_ebpf_data *ev,
					__u32 size, __u8 lost_bit, const struct h2_pos *p)
{
	if (submit(ev, sizeof(*ev) + bounded(size)))
		si->lost &= ~lost_bit;
	else
		si->lost |= lost_bit;
	if (p && p->lost)
		si->lost |= lost_bit;
}

/*
 * ret > 0 bytes moved on traced socket si (fd), recorded. tls: 0 for a
 * syscall outside any SSL call; SONDE_EBPF_F_CIPHER for one inside an SSL
 * call (counted, no payload); SONDE_EBPF_F_PLAIN for SSL_read/SSL_write's
 * own plaintext (payload only: its bytes are not the wire's, which the
 * nested syscalls count).
 */
static __always_inline int sock_data(__u64 id, struct sock_info *si, long ret, __s32 fd,
				     __u64 ptr, __u32 iovcnt, __u8 kind, __u8 dir,
				     __u32 flags, __u8 tls)
{
	struct sonde_ebpf_sock_ctl *ctl;
	struct sonde_ebpf_data *ev;
	struct scratch *s;
	__u32 cpu, want, got = 0, size;
	__u32 total = sat32((__u64)ret);
	struct h2_pos *p = NULL;
	__u8 lost_bit, slot;

	ctl = bpf_map_lookup_elem(&sock_ctl, &si->ino);
	if (tls == SONDE_EBPF_F_PLAIN) {
		want = ctl ? ctl->plain : capture_bytes;
		if (ctl && want == 0)
			return 0; /* no parser wants this plaintext */
	} else {
		if (dir == SONDE_EBPF_DIR_SEND)
			__sync_fetch_and_add(&si->bytes_sent, ret);
		else
			__sync_fetch_and_add(&si->bytes_recv, ret);
		want = ctl ? ctl->capture : capture_bytes;
		if (ctl && want == 0) {
			total = batch_due(si, dir, ret);
			if (!total)
				return 0;
		}
	}
	cpu = bpf_get_smp_processor_id();
	s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return 0;
	ev = (struct sonde_ebpf_data *)s->raw;
	fill_hdr(&ev->hdr, SONDE_EBPF_EV_DATA, id, fd, si);
	ev->hdr.dir = dir;
	slot = (dir & 1) | (tls == SONDE_EBPF_F_PLAIN ? 2 : 0);
	lost_bit = 1 << slot;
	ev->hdr.flags = tls | (si->lost & lost_bit ? SONDE_EBPF_F_AFTER_LOSS : 0);
	ev->local = si->local;
	ev->peer = si->peer;
	ev->total = total;
	ev->segs = 0;
	if (want > SONDE_EBPF_CAPTURE_MAX)
		want = SONDE_EBPF_CAPTURE_MAX;
	if ((__u64)ret < want)
		want = ret;
	/* bytes moved without a user buffer, or encrypted */
	if ((flags & MSG_TRUNC_) || kind == ARG_NONE || tls == SONDE_EBPF_F_CIPHER)
		want = 0;
	if (want && !(si->seen & lost_bit)) {
		si->seen |= lost_bit;
		if (!si->h2)
			ev->hdr.flags |= stream_start(si, slot, kind, ptr, ctl != NULL, total);
	}
	if (want && si->h2) {
		struct h2_state *h2 = bpf_map_lookup_elem(&h2_frames, &si->ino);

		/*
		 * Nested, not `p = h2 ? ... : NULL; if (p && p->lost) ...`:
		 * clang turns that into branches on p->lost that Linux 6.1's
		 * verifier (Debian 12) cannot relate, and it then refuses a
		 * NULL p it follows on a path that cannot happen.
		 */
		if (!h2) {
			/* its place was evicted (more HTTP/2 connections than
			 * h2_frames holds): no longer walked, counted once */
			si->h2 = 0;
			stat_inc(SONDE_EBPF_STAT_H2_LOST);
		} else if (!h2->pos[slot & 3].lost) {
			p = &h2->pos[slot & 3];
			if (total > H2_COPY_WHOLE) {
				size = h2_walk(p, ptr, (__u32)kind << 24 | (iovcnt & 0xffffff),
					       total);
				if (!size) {
					si->lost |= lost_bit; /* not sent: a gap before the next */
					return 0;
				}
				ev->hdr.flags |= SONDE_EBPF_F_FRAMED;
				submit_data(si, ev, size, lost_bit, p);
				return 0;
			}
			want = total; /* copied whole below, then walked over */
		}
	}
	if (want && kind == ARG_BUF) {
		if (!bpf_probe_read_user(ev->data, bounded(want), (void *)ptr))
			got = want;
	} else if (want && kind == ARG_IOV) {
		got = copy_iov(ev->data, (const struct iovec *)ptr, iovcnt,
			       want);
	} else if (want && kind == ARG_MSG) {
		struct user_msghdr m;

		if (!bpf_probe_read_user(&m, sizeof(m), (void *)ptr))
			got = copy_iov(ev->data, m.msg_iov, m.msg_iovlen, want);
	}
	if (got > SONDE_EBPF_CAPTURE_MAX)
		got = SONDE_EBPF_CAPTURE_MAX;
	ev->len = got;
	if (got < ev->total && want)
		stat_inc(SONDE_EBPF_STAT_TRUNCATED);
	if (p) {
		stat_inc(SONDE_EBPF_STAT_H2_WALKED);
		if (got < total)
			h2_lose(p);
		else
			h2_advance(p, got);
	}
	submit_data(si, ev, got, lost_bit, p);
	return 0;
}

/*
 * Inside an SSL call, the socket's syscall is ciphertext, and it tells the
 * call which socket it works on (fd; untraced_in_ssl_call for a socket
 * not traced). Returns the sock_data tls flag.
 */
static __always_inline __u8 in_ssl_call(__u64 id, __s32 fd)
{
	struct ssl_call *call;

	if (!tls_hooks)
		return 0;
	call = bpf_map_lookup_elem(&ssl_calls, &id);
	if (!call)
		return 0;
	if (call->fd == -1)
		call->fd = fd;
	return SONDE_EBPF_F_CIPHER;
}

/*
 * A syscall on an fd that is not traced, inside an SSL call: the call's
 * transport is a socket left out (by the filters, or a unix socket when
 * those are not traced: MariaDB's client on its server's local socket)
 * only if the fd is a socket. Any other fd is the program's own business:
 * Node.js's SSL_read, driving a handshake, reads /etc/localtime to check
 * the certificate's dates, and every one of its objects (over memory
 * BIOs) used to be taken for untraced.
 */
static __always_inline void untraced_in_ssl_call(__u64 id, __s32 fd)
{
	struct ssl_call *call;
	struct file *f;

	if (!tls_hooks)
		return;
	call = bpf_map_lookup_elem(&ssl_calls, &id);
	if (!call || call->fd != -1)
		return;
	f = fd_file(fd);
	if (f && (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) == S_IFSOCK)
		call->fd = SSL_FD_UNTRACED;
}

/*
 * A syscall outside any SSL call, on a traced socket, by a thread that
 * runs SSL over memory BIOs (bio_call): a recv is the socket of its next
 * SSL_read; a send, the socket of the SSL_write waiting for it, told to
 * user space (SSL_PAIR) and kept for the object's next calls.
 */
static __always_inline void bio_io(__u64 id, struct sock_info *si, __s32 fd, __u8 dir)
{
	struct bio_thread *t = bpf_map_lookup_elem(&bio_threads, &id);
	struct ssl_key key = { .tgid = id >> 32 };
	struct sonde_ebpf_ssl_pair *ev;
	struct scratch *s;
	__u32 cpu;

	if (!t)
		return;
	if (dir == SONDE_EBPF_DIR_RECV) {
		t->recv_fd = fd;
		return;
	}
	if (!t->ssl)
		return;
	key.ssl = t->ssl;
	t->ssl = 0;
	bpf_map_update_elem(&ssl_fds, &key, &fd, BPF_ANY);
	/* built in the scratch record, which sock_data fills only after */
	cpu = bpf_get_smp_processor_id();
	s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return;
	ev = (struct sonde_ebpf_ssl_pair *)s->raw;
	fill_hdr(&ev->hdr, SONDE_EBPF_EV_SSL_PAIR, id, fd, si);
	ev->local = si->local;
	ev->peer = si->peer;
	ev->ssl = key.ssl;
	submit(ev, sizeof(*ev));
	if (t->h2 && !si->h2) {
		/* the plaintext slots (dir | 2) go on from what was held */
		struct h2_state *h = (struct h2_state *)s->raw;

		__builtin_memset(h, 0, sizeof(*h));
		h->pos[2] = t->pos[SONDE_EBPF_DIR_RECV];
		h->pos[3] = t->pos[SONDE_EBPF_DIR_SEND];
		if (!bpf_map_update_elem(&h2_frames, &si->ino, h, BPF_ANY))
			si->h2 = 1;
	}
	t->h2 = 0;
}

/*
 * One program per I/O syscall, at its exit: the arguments come from the
 * registers the syscall was entered with (bpf_task_pt_regs), which stay
 * saved until it returns. No enter program, no per-call map entry: half
 * the programs and two hash-map writes fewer per call than an enter/exit
 * pair (measured on the 2026-11-22 VM, nginx CPU added per request:
 * enter+exit pairs 1.46 us, exit-only tracepoints 0.74 us, the one tp_btf
 * program below 0.58 us).
 */
static __always_inline int data_exit(long ret, __s32 fd, __u64 ptr, __u32 iovcnt,
				     __u8 kind, __u8 dir, __u32 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock_info *si;
	__u8 tls;

	/*
	 * A peek leaves the bytes queued: the read that takes them reports
	 * them. Neither the urgent byte nor the error queue (timestamps,
	 * zerocopy notices) is part of the stream.
	 */
	if (ret <= 0 || (flags & (MSG_PEEK_ | MSG_OOB_ | MSG_ERRQUEUE_)) ||
	    !pid_wanted(id >> 32))
		return 0;
	si = lookup_sock(id >> 32, fd);
	if (!si) {
		untraced_in_ssl_call(id, fd);
		return 0;
	}
	tls = in_ssl_call(id, fd);
	if (!tls && bio_seen)
		bio_io(id, si, fd, dir);
	return sock_data(id, si, ret, fd, ptr, iovcnt, kind, dir, flags, tls);
}

/* The entry registers of the current syscall. */
static __always_inline struct pt_regs *sys_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

#define FD(r) ((__s32)PT_REGS_PARM1_SYSCALL(r))
#define P2(r) ((__u64)PT_REGS_PARM2_SYSCALL(r))
#define P3(r) ((__u32)PT_REGS_PARM3_SYSCALL(r))
#define P4(r) ((__u32)PT_REGS_PARM4_SYSCALL(r))

/* iovcnt and flags: expressions of the entry registers r */
#define DATA_EXIT(name, kind, dir, iovcnt, flags)                                   \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                  \
	int sys_exit_##name(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                           \
		struct pt_regs *r;                                                  \
		if (ctx->ret <= 0)                                                  \
			return 0;                                                   \
		r = sys_regs();                                                     \
		return data_exit(ctx->ret, FD(r), P2(r), iovcnt, kind, dir, flags); \
	}

DATA_EXIT(read, ARG_BUF, SONDE_EBPF_DIR_RECV, 0, 0)
DATA_EXIT(recvfrom, ARG_BUF, SONDE_EBPF_DIR_RECV, 0, P4(r))
DATA_EXIT(readv, ARG_IOV, SONDE_EBPF_DIR_RECV, P3(r), 0)
DATA_EXIT(recvmsg, ARG_MSG, SONDE_EBPF_DIR_RECV, 0, P3(r))
DATA_EXIT(write, ARG_BUF, SONDE_EBPF_DIR_SEND, 0, 0)
DATA_EXIT(sendto, ARG_BUF, SONDE_EBPF_DIR_SEND, 0, 0)
DATA_EXIT(writev, ARG_IOV, SONDE_EBPF_DIR_SEND, P3(r), 0)
DATA_EXIT(sendmsg, ARG_MSG, SONDE_EBPF_DIR_SEND, 0, 0)
DATA_EXIT(sendfile64, ARG_NONE, SONDE_EBPF_DIR_SEND, 0, 0)

/*
 * splice() moves bytes between a pipe and a file or socket: into a socket
 * (its out fd, the third argument) they are sent, out of one (its in fd)
 * received. Payload-less either way: counted, a capture gap for parsers.
 */
static __always_inline int splice_exit(long ret, __s32 in_fd, __s32 out_fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock_info *si;

	if (ret <= 0 || !pid_wanted(id >> 32))
		return 0;
	si = lookup_sock(id >> 32, out_fd);
	if (si)
		return sock_data(id, si, ret, out_fd, 0, 0, ARG_NONE, SONDE_EBPF_DIR_SEND, 0, 0);
	si = lookup_sock(id >> 32, in_fd);
	if (si)
		return sock_data(id, si, ret, in_fd, 0, 0, ARG_NONE, SONDE_EBPF_DIR_RECV, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_splice")
int sys_exit_splice(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *r;

	if (ctx->ret <= 0)
		return 0;
	r = sys_regs();
	return splice_exit(ctx->ret, FD(r), (__s32)P3(r));
}

/* A new socket for this fd: cache it with its role and tell user space. */
static __always_inline int open_sock(__u64 id, __s32 fd, __u8 role)
{
	struct sock_key key = { .tgid = id >> 32, .fd = fd };
	struct sock_info si = {};
	struct sonde_ebpf_open ev;

	if (!resolve_sock(fd, &si, role) || !ports_wanted(&si)) {
		si.is_tcp = 0;
		bpf_map_update_elem(&socks, &key, &si, BPF_ANY);
		return 0;
	}
	bpf_map_update_elem(&socks, &key, &si, BPF_ANY);
	fill_hdr(&ev.hdr, SONDE_EBPF_EV_OPEN, id, fd, &si);
	ev.local = si.local;
	ev.peer = si.peer;
	submit(&ev, sizeof(ev));
	return 0;
}

static __always_inline int exit_accept(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (ret < 0 || !pid_wanted(id >> 32))
		return 0;
	return open_sock(id, ret, SONDE_EBPF_ROLE_SERVER);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sys_exit_accept(struct trace_event_raw_sys_exit *ctx) { return exit_accept(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_accept4")
int sys_exit_accept4(struct trace_event_raw_sys_exit *ctx) { return exit_accept(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_connect")
int sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 fd;

	if (ctx->ret != 0 && ctx->ret != -EINPROGRESS)
		return 0;
	if (!pid_wanted(id >> 32))
		return 0;
	fd = FD(sys_regs());
	return open_sock(id, fd, SONDE_EBPF_ROLE_CLIENT);
}

/*
 * The fd is being closed: tell user space, forget the socket. at_exit: the
 * close already released the fd, so another thread of the process may
 * have been given the number back (accept, connect, open) and its own exit
 * hook may already have cached the new file under this key: an entry that
 * names the file now in the slot is that newcomer's, not the closed one's.
 */
static __always_inline int close_fd(__u64 id, __s32 fd, bool at_exit)
{
	struct sock_key key = { .tgid = id >> 32, .fd = fd };
	struct sock_info *si = bpf_map_lookup_elem(&socks, &key);
	struct sonde_ebpf_close ev;
	__u64 file;

	if (!si)
		return 0;
	file = si->file;
	if (at_exit && file && (__u64)fd_file(fd) == file)
		return 0;
	if (si->is_tcp) {
		fill_hdr(&ev.hdr, SONDE_EBPF_EV_CLOSE, id, key.fd, si);
		ev.bytes_sent = si->bytes_sent;
		ev.bytes_recv = si->bytes_recv;
		submit(&ev, sizeof(ev));
		bpf_map_delete_elem(&sock_ctl, &si->ino);
		if (si->h2)
			bpf_map_delete_elem(&h2_frames, &si->ino);
	}
	/* only the closed socket's entry: the newcomer may have cached itself
	 * under this key since the lookup above */
	si = bpf_map_lookup_elem(&socks, &key);
	if (si && si->file == file)
		bpf_map_delete_elem(&socks, &key);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	return close_fd(bpf_get_current_pid_tgid(), ctx->args[0], false);
}

/*
 * The same hooks as one BTF raw tracepoint on every syscall's exit,
 * dispatched on the syscall number: no perf record is built per call, so
 * a traced syscall costs a fraction of what the per-syscall tracepoints
 * above cost. The loader prefers it and falls back to those when the
 * kernel refuses it. Numbers are x86-64's (the object is built for x86).
 */
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_readv 19
#define NR_writev 20
#define NR_sendfile 40
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_splice 275
#define NR_accept4 288

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_any, struct pt_regs *regs, long ret)
{
	__u8 kind = ARG_BUF, dir = SONDE_EBPF_DIR_RECV;
	__u32 flags = 0;
	__u64 id;

	switch (regs->orig_ax) {
	case NR_read:
		break;
	case NR_recvfrom:
		flags = regs->r10; /* the syscall ABI's fourth argument */
		break;
	case NR_readv:
		kind = ARG_IOV;
		break;
	case NR_recvmsg:
		kind = ARG_MSG;
		flags = regs->dx;
		break;
	case NR_write:
	case NR_sendto:
		dir = SONDE_EBPF_DIR_SEND;
		break;
	case NR_writev:
		kind = ARG_IOV;
		dir = SONDE_EBPF_DIR_SEND;
		break;
	case NR_sendmsg:
		kind = ARG_MSG;
		dir = SONDE_EBPF_DIR_SEND;
		break;
	case NR_sendfile:
		kind = ARG_NONE;
		dir = SONDE_EBPF_DIR_SEND;
		break;
	case NR_splice:
		return splice_exit(ret, (__s32)regs->di, (__s32)regs->dx);
	case NR_accept:
	case NR_accept4:
		return exit_accept(ret);
	case NR_connect:
		if (ret != 0 && ret != -EINPROGRESS)
			return 0;
		id = bpf_get_current_pid_tgid();
		if (!pid_wanted(id >> 32))
			return 0;
		return open_sock(id, (__s32)regs->di, SONDE_EBPF_ROLE_CLIENT);
	case NR_close:
		return ret == 0 ? close_fd(bpf_get_current_pid_tgid(), (__s32)regs->di, true) : 0;
	default:
		return 0;
	}
	if (ret <= 0)
		return 0;
	return data_exit(ret, (__s32)regs->di, regs->si,
			 kind == ARG_IOV ? (__u32)regs->dx : 0, kind, dir, flags);
}

/*
 * TLS through libssl: SSL_read/SSL_write(_ex) move plaintext in and out of
 * the buffer the application gave. The entry uprobe remembers the call;
 * the return uprobe records the plaintext on the socket a syscall inside
 * the call used, or, for a call served from OpenSSL's buffer, the one this
 * SSL object used last. The loader attaches these to each libssl file.
 */
static __always_inline int ssl_enter(__u64 ssl, __u64 buf, __u64 out_len, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call call = { .ssl = ssl, .buf = buf, .out_len = out_len, .fd = -1,
				 .dir = dir };

	if (!pid_wanted(id >> 32))
		return 0;
	bpf_map_update_elem(&ssl_calls, &id, &call, BPF_ANY);
	return 0;
}

/*
 * HTTP/2 over memory BIOs: the preface is in an orphan, never seen on a
 * socket, so the kernel follows the frames of what the object's thread
 * holds (copied whole; else the place is lost) and hands the positions to
 * h2_frames when the object is placed (bio_io), which walks its records
 * from then on as stream_start's HTTP/2 connections.
 */
static __always_inline void orphan_h2(struct bio_thread *t, struct sonde_ebpf_data *ev,
				      __u8 dir)
{
	struct h2_pos *p = &t->pos[dir & 1];
	__u64 head = 0;

	if (!t->h2) {
		if (ev->len < sizeof(head))
			return;
		__builtin_memcpy(&head, ev->data, sizeof(head));
		if (head != H2_PREFACE_HEAD)
			return;
		__builtin_memset(t->pos, 0, sizeof(t->pos));
		p->remain = H2_PREFACE_LEN;
		t->h2 = 1;
	}
	if (p->lost)
		return;
	if (ev->len < ev->total) {
		h2_lose(p);
		return;
	}
	h2_advance(p, ev->len);
}

/*
 * Plaintext whose socket is not known yet: recorded without one
 * (SONDE_EBPF_F_ORPHAN, the SSL pointer in local.addr), for user space to
 * hold until an SSL_PAIR record names the socket.
 */
static __always_inline void orphan(__u64 id, struct bio_thread *t, long n, __u64 buf,
				   __u8 dir)
{
	__u32 cpu = bpf_get_smp_processor_id(), want = capture_bytes;
	struct sonde_ebpf_data *ev;
	struct scratch *s;

	s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return;
	ev = (struct sonde_ebpf_data *)s->raw;
	fill_hdr(&ev->hdr, SONDE_EBPF_EV_DATA, id, -1, NULL);
	ev->hdr.dir = dir;
	ev->hdr.flags = SONDE_EBPF_F_PLAIN | SONDE_EBPF_F_ORPHAN;
	__builtin_memset(&ev->local, 0, sizeof(ev->local));
	__builtin_memset(&ev->peer, 0, sizeof(ev->peer));
	__builtin_memcpy(ev->local.addr, &t->ssl, sizeof(t->ssl));
	ev->total = sat32((__u64)n);
	ev->segs = 0;
	ev->pad = 0;
	if (want > SONDE_EBPF_CAPTURE_MAX)
		want = SONDE_EBPF_CAPTURE_MAX;
	if ((__u64)n < want)
		want = n;
	ev->len = bpf_probe_read_user(ev->data, bounded(want), (void *)buf) ? 0 : want;
	orphan_h2(t, ev, dir);
	submit(ev, sizeof(*ev) + bounded(ev->len));
}

/*
 * An SSL call that made no syscall, on an SSL object never seen with a
 * socket: one over memory BIOs (or served from OpenSSL's buffer before
 * any syscall). A read's ciphertext came by the thread's last recv: its
 * socket, from now on the object's. A write's ciphertext goes by the
 * thread's next send: the plaintext is recorded as an orphan now, the
 * socket named then (bio_io). So is a read's when the thread's recvs were
 * not followed yet (its first such call: a server's first request, which
 * the answer's send then places). Returns the socket's fd, or -1.
 */
static __always_inline __s32 bio_call(__u64 id, struct ssl_key *key, long n, __u64 buf,
				      __u8 dir)
{
	struct bio_thread fresh, *t;
	__s32 fd;

	bio_seen = 1;
	t = bpf_map_lookup_elem(&bio_threads, &id);
	if (!t) {
		/* not an initialiser: clang makes a .rodata.cst16 constant of
		 * one, which the skeleton cannot map */
		__builtin_memset(&fresh, 0, sizeof(fresh));
		fresh.recv_fd = -1;
		bpf_map_update_elem(&bio_threads, &id, &fresh, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&bio_threads, &id);
	}
	if (n <= 0)
		return -1;
	/* an object already holding orphans stays one until its send places
	 * it: what it held must reach the socket first */
	if (t && dir == SONDE_EBPF_DIR_RECV && t->recv_fd >= 0 && t->ssl != key->ssl) {
		fd = t->recv_fd;
		bpf_map_update_elem(&ssl_fds, key, &fd, BPF_ANY);
		return fd;
	}
	if (t) {
		if (t->ssl != key->ssl)
			t->h2 = 0; /* another object: its own frames */
		t->ssl = key->ssl;
		orphan(id, t, n, buf, dir);
		return -1;
	}
	stat_inc(SONDE_EBPF_STAT_TLS_UNPAIRED);
	return -1;
}

/*
 * TLS plaintext (n bytes at buf, n <= 0: none) that a library call moved
 * on socket fd, recorded if that is a traced socket: libssl's and Go's.
 */
static __always_inline int plain_data(__u64 id, __s32 fd, __u64 buf, long n, __u8 dir)
{
	struct sock_info *si;

	if (n <= 0)
		return 0;
	si = lookup_sock(id >> 32, fd);
	if (!si)
		return 0;
	return sock_data(id, si, n, fd, buf, 0, ARG_BUF, dir, 0, SONDE_EBPF_F_PLAIN);
}

/*
 * n: plaintext bytes the call moved, or <= 0; ex: the _ex form and
 * OpenSSL's internal functions, whose return is > 0 on success with the
 * count at out_len.
 */
static __always_inline int ssl_exit(long n, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &id);
	struct ssl_key key = { .tgid = id >> 32 };
	__s32 fd, *cached;
	__u64 buf;
	__u8 dir;

	if (!c)
		return 0;
	key.ssl = c->ssl;
	fd = c->fd;
	buf = c->buf;
	dir = c->dir;
	if (ex && n > 0) {
		size_t moved = 0;

		n = bpf_probe_read_user(&moved, sizeof(moved), (void *)c->out_len) ? 0 :
										    (long)moved;
	} else if (ex) {
		n = 0;
	}
	bpf_map_delete_elem(&ssl_calls, &id);
	if (fd != -1) {
		bpf_map_update_elem(&ssl_fds, &key, &fd, BPF_ANY);
	} else {
		cached = bpf_map_lookup_elem(&ssl_fds, &key);
		if (cached)
			fd = *cached;
		else
			fd = bio_call(id, &key, n, buf, dir);
	}
	if (fd < 0)
		return 0; /* SSL_FD_UNTRACED: not on a traced socket */
	return plain_data(id, fd, buf, n, dir);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf)
{
	return ssl_enter((__u64)ssl, (__u64)buf, 0, SONDE_EBPF_DIR_RECV);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, __u64 num, void *readbytes)
{
	return ssl_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, SONDE_EBPF_DIR_RECV);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, void *buf)
{
	return ssl_enter((__u64)ssl, (__u64)buf, 0, SONDE_EBPF_DIR_SEND);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, void *buf, __u64 num, void *written)
{
	return ssl_enter((__u64)ssl, (__u64)buf, (__u64)written, SONDE_EBPF_DIR_SEND);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_ret, int ret)
{
	return ssl_exit(ret, false);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_ex_ret, int ret)
{
	return ssl_exit(ret, true);
}

/*
 * TLS in Go programs: crypto/tls is Go code, compiled into each program,
 * and it speaks Go's register ABI (arguments in ax, bx, cx...). uretprobes
 * cannot be used (Go moves stacks, and a return address changed by the
 * kernel makes its unwinder abort the program), so the user side
 * (gosyms.c) finds two instructions the kernel emulates without
 * single-stepping:
 *  - the JBE of (*Conn).Write's stack check. Taken, the goroutine grows
 *    its stack and enters Write again: only the not-taken pass counts (CF
 *    and ZF clear). The receiver is in ax, the plaintext in bx, cx bytes,
 *    recorded whole: Go's Write sends everything or fails the connection;
 *  - the one CALL runtime.memmove in (*Conn).Read: the copy of decrypted
 *    plaintext (bx, cx bytes) into the caller's buffer (ax), its return.
 *    Read keeps its receiver in the spill slot of its first argument,
 *    [rbp+16] (gosyms.c checks its prologue).
 * The socket comes from the *Conn: its first field
 * is the net.Conn it wraps ({itab, data}); when the itab's type hash is
 * *net.TCPConn's or *net.UnixConn's (the attach cookie: low and high 32
 * bits, from the program's itabs or its Go version, gosyms.c), data
 * points at a net.conn whose first field, *netFD, starts with a poll.FD
 * { fdMutex (16 bytes); Sysfd int }: Go 1.17's layout, the first release
 * with the register ABI, assumed for later ones.
 */
#define X86_CF 0x1
#define X86_ZF 0x40
#define GO_SYSFD_OFF 16

/* The socket's fd behind a *tls.Conn, or -1. */
static __always_inline __s32 go_conn_fd(__u64 conn, __u64 cookie)
{
	__u64 iface[2], fdp = 0;
	__u32 hash = 0;
	__s64 sysfd = -1;

	if (bpf_probe_read_user(iface, sizeof(iface), (void *)conn) || !iface[0] ||
	    bpf_probe_read_user(&hash, sizeof(hash), (void *)(iface[0] + 16)) || !hash ||
	    (hash != (__u32)cookie && hash != (__u32)(cookie >> 32)) ||
	    bpf_probe_read_user(&fdp, sizeof(fdp), (void *)iface[1]) || !fdp ||
	    bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(fdp + GO_SYSFD_OFF)) ||
	    sysfd < 0 || sysfd > 0x7fffffff)
		return -1;
	return (__s32)sysfd;
}

/* The attach cookie; 0 (no type matches) before 5.15, which the loader
 * knows: it attaches no Go program there. */
static __always_inline __u64 go_cookie(struct pt_regs *ctx)
{
	return HAVE_HELPER(get_attach_cookie) ? bpf_get_attach_cookie(ctx) : 0;
}

/* At the stack check's JBE: false when it jumps (the call starts over). */
static __always_inline bool go_entered(struct pt_regs *ctx)
{
	return !(ctx->flags & (X86_CF | X86_ZF));
}

/*
 * A process that starts a program is told to user space at once (not
 * batched: the program's TLS may begin within milliseconds), which hooks
 * it if it carries its own TLS (Go, OpenSSL linked in). One record per exec
 * of a traced process.
 */
static __always_inline int exec_seen(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_ebpf_hdr h;

	if (!watch_exec || !pid_wanted(id >> 32))
		return 0;
	fill_hdr(&h, SONDE_EBPF_EV_EXEC, id, -1, NULL);
	output(&h, sizeof(h), BPF_RB_FORCE_WAKEUP);
	return 0;
}

/*
 * The non-syscall tracepoints come twice, chosen with the syscall hooks:
 * as BTF raw tracepoints (attached by bpf(2) alone) and as classic ones
 * (attached through perf_event_open(2), which Debian's kernels refuse to
 * anyone without CAP_SYS_ADMIN: perf_event_paranoid 3, their default).
 */
SEC("tp_btf/sched_process_exec")
int sched_process_exec(void *ctx)
{
	return exec_seen();
}

SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec_tp(void *ctx)
{
	return exec_seen();
}

SEC("uprobe")
int go_tls_write(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 fd;

	if (!go_entered(ctx) || !pid_wanted(id >> 32))
		return 0;
	fd = go_conn_fd(ctx->ax, go_cookie(ctx));
	if (fd < 0) {
		stat_inc(SONDE_EBPF_STAT_TLS_UNPAIRED);
		return 0;
	}
	return plain_data(id, fd, ctx->bx, (long)ctx->cx, SONDE_EBPF_DIR_SEND);
}

SEC("uprobe")
int go_tls_read(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 conn = 0;
	__s32 fd;

	if (!pid_wanted(id >> 32))
		return 0;
	if (bpf_probe_read_user(&conn, sizeof(conn), (void *)(ctx->bp + 16)) ||
	    (fd = go_conn_fd(conn, go_cookie(ctx))) < 0) {
		stat_inc(SONDE_EBPF_STAT_TLS_UNPAIRED);
		return 0;
	}
	return plain_data(id, fd, ctx->bx, (long)ctx->cx, SONDE_EBPF_DIR_RECV);
}


static __always_inline void tp_addrs(struct trace_event_raw_inet_sock_set_state *ctx,
				     struct sonde_ebpf_addr *local,
				     struct sonde_ebpf_addr *peer)
{
	local->family = peer->family = ctx->family;
	local->port = ctx->sport;
	peer->port = ctx->dport;
	if (ctx->family == AF_INET) {
		/* ctx fields at variable offsets: the verifier wants helpers */
		bpf_probe_read_kernel(local->addr, 4, ctx->saddr);
		bpf_probe_read_kernel(peer->addr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(local->addr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(peer->addr, 16, ctx->daddr_v6);
	}
}

/*
 * A TCP state change of socket sk: connection counts, handshake roles and
 * connect latency. Addresses from the classic tracepoint's record (tp) or,
 * without one, from the socket.
 */
static __always_inline int sock_state(__u64 sk, int olds, int news,
				      struct trace_event_raw_inet_sock_set_state *tp)
{
	struct sonde_ebpf_connect ev = {};
	struct syn_info *syn;

	if (news == TCP_ESTABLISHED_)
		stat_inc(SONDE_EBPF_STAT_ESTAB_UP);
	if (olds == TCP_ESTABLISHED_)
		stat_inc(SONDE_EBPF_STAT_ESTAB_DOWN);
	if (news == TCP_ESTABLISHED_ && (olds == TCP_SYN_RECV_ || olds == TCP_SYN_SENT_)) {
		__u8 role = olds == TCP_SYN_RECV_ ? SONDE_EBPF_ROLE_SERVER : SONDE_EBPF_ROLE_CLIENT;

		bpf_map_update_elem(&sk_roles, &sk, &role, BPF_ANY);
	} else if (news == TCP_CLOSE_) {
		bpf_map_delete_elem(&sk_roles, &sk);
	}

	if (news == TCP_SYN_SENT_) {
		/* inside connect(): current is the connecting task */
		__u64 id = bpf_get_current_pid_tgid();
		struct syn_info si = { .ts_ns = bpf_ktime_get_ns(), .tgid = id >> 32 };

		if (!pid_wanted(si.tgid))
			return 0;
		bpf_get_current_comm(si.comm, sizeof(si.comm));
		bpf_map_update_elem(&syn_sent, &sk, &si, BPF_ANY);
		return 0;
	}
	if (olds != TCP_SYN_SENT_)
		return 0;
	syn = bpf_map_lookup_elem(&syn_sent, &sk);
	if (!syn)
		return 0;
	ev.hdr.type = SONDE_EBPF_EV_CONNECT;
	ev.hdr.role = SONDE_EBPF_ROLE_CLIENT;
	ev.hdr.tgid = syn->tgid;
	__builtin_memcpy(ev.hdr.comm, syn->comm, sizeof(ev.hdr.comm));
	ev.hdr.fd = -1;
	ev.hdr.ts_ns = bpf_ktime_get_ns();
	ev.duration_ns = ev.hdr.ts_ns - syn->ts_ns;
	ev.failed = news != TCP_ESTABLISHED_;
	bpf_map_delete_elem(&syn_sent, &sk);
	if (tp)
		tp_addrs(tp, &ev.local, &ev.peer);
	else
		read_addrs((struct sock *)sk, &ev.local, &ev.peer,
			   BPF_CORE_READ((struct sock *)sk, __sk_common.skc_family));
	if (filter_ports) {
		__u16 lp = ev.local.port, pp = ev.peer.port;

		if (!bpf_map_lookup_elem(&port_filter, &lp) &&
		    !bpf_map_lookup_elem(&port_filter, &pp))
			return 0;
	}
	submit(&ev, sizeof(ev));
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, struct sock *sk, int olds, int news)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return sock_state((__u64)sk, olds, news, NULL);
}

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return sock_state((__u64)ctx->skaddr, ctx->oldstate, ctx->newstate, ctx);
}

SEC("tp_btf/tcp_retransmit_skb")
int tcp_retransmit_skb(void *ctx)
{
	stat_inc(SONDE_EBPF_STAT_RETRANS);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb_tp(void *ctx)
{
	stat_inc(SONDE_EBPF_STAT_RETRANS);
	return 0;
}
