// SPDX-License-Identifier: MIT
/*
 * Loads the real BPF programs, does TCP I/O on loopback from this process,
 * and checks the ring buffer says exactly what happened: roles, byte
 * counts, captured prefixes, close, connect latency and refusal. Needs
 * root (or CAP_BPF+CAP_PERFMON); skips (77) otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode.h"
#include "loader.h"

#define MAX_SEEN 256

struct seen {
	uint8_t type, dir, role, flags;
	uint32_t tgid;
	int fd;
	uint64_t sock_id;
	uint32_t total, len;
	uint8_t data[SONDE_EBPF_CAPTURE_MAX];
	uint16_t lport, pport;
	uint8_t lfam, pfam;
	uint8_t laddr[16], paddr[16];
	uint64_t dur;
	int failed;
	uint64_t bytes_sent, bytes_recv;
	size_t n_segs;
	struct sonde_ebpf_seg segs[SONDE_EBPF_SEGS_MAX];
};

struct capture {
	struct seen ev[MAX_SEEN];
	unsigned n;
	unsigned bad;
};

struct fixture {
	bool unix_sockets;
	uint32_t capture;
	uint32_t capture_http;
	uint32_t wakeup_bytes;
	uint32_t h2_conns;
	bool exec_records;
	bool tls_programs;
	pid_t child; /* setup_child: a second traced process, fed an fd over sp */
	int sp;
	struct sonde_ebpf_probe *probe;
	struct capture cap;
};

static int on_rec(void *ud, void *data, size_t size)
{
	struct capture *c = ud;
	struct sonde_ebpf_record r;
	struct seen *s;

	if (sonde_ebpf_decode(data, size, &r)) {
		c->bad++;
		return 0;
	}
	if (c->n >= MAX_SEEN)
		return 0;
	s = &c->ev[c->n++];
	memset(s, 0, sizeof(*s));
	s->type = r.type;
	s->dir = r.hdr->dir;
	s->flags = r.hdr->flags;
	s->role = r.hdr->role;
	s->tgid = r.hdr->tgid;
	s->fd = r.hdr->fd;
	s->sock_id = r.hdr->sock_id;
	if (r.type == SONDE_EBPF_EV_DATA) {
		s->total = r.u.data->total;
		s->len = r.u.data->len;
		memcpy(s->data, r.payload, r.payload_len);
		s->n_segs = r.n_segs;
		sonde_ebpf_segs(&r, s->segs);
		s->lport = r.u.data->local.port;
		s->pport = r.u.data->peer.port;
		s->lfam = r.u.data->local.family;
		s->pfam = r.u.data->peer.family;
		memcpy(s->laddr, r.u.data->local.addr, 16);
		memcpy(s->paddr, r.u.data->peer.addr, 16);
	} else if (r.type == SONDE_EBPF_EV_OPEN) {
		s->lport = r.u.open->local.port;
		s->pport = r.u.open->peer.port;
		s->lfam = r.u.open->local.family;
		s->pfam = r.u.open->peer.family;
		memcpy(s->laddr, r.u.open->local.addr, 16);
		memcpy(s->paddr, r.u.open->peer.addr, 16);
	} else if (r.type == SONDE_EBPF_EV_CONNECT) {
		s->dur = r.u.connect->duration_ns;
		s->failed = r.u.connect->failed;
		s->lport = r.u.connect->local.port;
		s->pport = r.u.connect->peer.port;
	} else if (r.type == SONDE_EBPF_EV_CLOSE) {
		s->bytes_sent = r.u.close->bytes_sent;
		s->bytes_recv = r.u.close->bytes_recv;
	}
	return 0;
}

static void open_probe(struct fixture *f)
{
	struct sonde_ebpf_probe_opts o = { 0 };
	char why[256];
	int err;

	o.capture_bytes = f->capture ? f->capture : 64;
	o.capture_http = f->capture_http;
	o.ring_bytes = 1 << 20;
	o.wakeup_bytes = f->wakeup_bytes;
	o.unix_sockets = f->unix_sockets;
	o.h2_conns = f->h2_conns;
	o.exec_records = f->exec_records;
	o.tls_programs = f->tls_programs;
	o.pids[0] = (uint32_t)getpid();
	o.n_pids = 1;
	if (f->child > 0)
		o.pids[o.n_pids++] = (uint32_t)f->child;
	/* ctest runs these tests once per set of syscall hooks */
	if (getenv("SONDE_TEST_EBPF_HOOKS") &&
	    strcmp(getenv("SONDE_TEST_EBPF_HOOKS"), "tracepoints") == 0)
		o.hooks = SONDE_EBPF_HOOKS_TRACEPOINTS;
	else
		o.hooks = SONDE_EBPF_HOOKS_RAW;
	memset(&f->cap, 0, sizeof(f->cap));
	err = sonde_ebpf_probe_open(&o, on_rec, &f->cap, &f->probe, why, sizeof(why));
	if (err == -EPERM || err == -ENOTSUP || err == -ENOENT) {
		/* a missing capability of this host, not a defect */
		printf("SKIP: %s\n", why);
		free(f);
		exit(77);
	}
	if (err)
		fail_msg("probe did not load: %s (%d)", why, err);
}

/* A fixture with these settings (0: the defaults), the probe opened on it. */
static int setup_with(void **state, uint32_t capture, uint32_t wakeup_bytes, bool unix_sockets)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->capture = capture;
	f->wakeup_bytes = wakeup_bytes;
	f->unix_sockets = unix_sockets;
	open_probe(f);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0, 0, false);
}

static int setup_unix(void **state)
{
	return setup_with(state, 0, 0, true);
}

static int setup_max(void **state)
{
	return setup_with(state, SONDE_EBPF_CAPTURE_MAX, 0, false);
}

static int setup_http(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->capture_http = 16;
	open_probe(f);
	*state = f;
	return 0;
}

static int setup_batched(void **state)
{
	cpu_set_t one;

	/* one CPU: the probe counts queued bytes per CPU */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return -1;
	return setup_with(state, 0, 4096, false);
}

/* Room for one HTTP/2 connection's frame positions, on one CPU (the LRU
 * map's free lists are per CPU). */
static int setup_h2_one(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (!f || sched_setaffinity(0, sizeof(one), &one))
		return -1;
	f->h2_conns = 1;
	open_probe(f);
	*state = f;
	return 0;
}

/* The child of setup_child: serves one exchange on the fd it is sent. */
static void serve_passed_fd(int sp)
{
	char buf[64], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sp, &mh, 0) != 1 || !(cm = CMSG_FIRSTHDR(&mh)) ||
	    cm->cmsg_type != SCM_RIGHTS)
		_exit(1);
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (read(fd, buf, sizeof(buf)) != 6 || write(fd, "+PONG\r\n", 7) != 7)
		_exit(2);
	close(fd);
	_exit(0);
}

/*
 * A fixture with a second traced process running body on its end of a
 * socketpair (f->sp is ours); exec_records and wakeup_bytes for the probe.
 */
static int setup_forked(void **state, void (*body)(int sp), bool exec_records,
			uint32_t wakeup_bytes)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sp[2];

	if (!f || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		return -1;
	f->child = fork();
	if (f->child < 0)
		return -1;
	if (f->child == 0) {
		close(sp[0]);
		body(sp[1]);
		_exit(1);
	}
	close(sp[1]);
	f->sp = sp[0];
	f->exec_records = exec_records;
	f->wakeup_bytes = wakeup_bytes;
	open_probe(f);
	*state = f;
	return 0;
}

static int setup_child(void **state)
{
	return setup_forked(state, serve_passed_fd, false, 0);
}

/* The child of setup_exec: execs /bin/true once sent a byte. */
static void exec_on_byte(int sp)
{
	char b;

	if (read(sp, &b, 1) == 1)
		execl("/bin/true", "true", (char *)NULL);
}

/*
 * That child, the probe with EXEC records on and wakeups batched by 1 MiB
 * (an EXEC record must wake the reader anyway); setup_no_exec: the same
 * without them.
 */
static int setup_exec(void **state)
{
	return setup_forked(state, exec_on_byte, true, 1 << 20);
}

static int setup_no_exec(void **state)
{
	return setup_forked(state, exec_on_byte, false, 1 << 20);
}

static int setup_tls_programs(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tls_programs = true;
	open_probe(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
		close(f->sp);
	}
	sonde_ebpf_probe_free(f->probe);
	free(f);
	return 0;
}

static void drain(struct fixture *f)
{
	/* records are only forced out past wakeup_bytes: poll until quiet */
	int i;

	for (i = 0; i < 5; i++)
		sonde_ebpf_probe_poll(f->probe, 20);
}

/* Closes a client, its accepted end and the listener, then reads what
 * the probe saw. */
static void close_and_drain(struct fixture *f, int c, int a, int l)
{
	close(c);
	close(a);
	close(l);
	drain(f);
}

#define IPPROTO_MPTCP_NR 262 /* older libc headers lack IPPROTO_MPTCP */

/* A loopback listener of protocol proto (0: TCP) on a free port. */
static int listener_of(int proto, uint16_t *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, proto);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	*ret_port = ntohs(a.sin_port);
	return s;
}

static int listener(uint16_t *ret_port)
{
	return listener_of(0, ret_port);
}

static int connect_of(int proto, uint16_t port, bool nonblock, int *ret_err)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), proto);

	assert_true(s >= 0);
	*ret_err = connect(s, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	return s;
}

static int connect_to(uint16_t port, bool nonblock, int *ret_err)
{
	return connect_of(0, port, nonblock, ret_err);
}

static const struct seen *find(const struct capture *c, uint8_t type, int fd,
			       uint8_t dir, unsigned nth)
{
	unsigned i;

	for (i = 0; i < c->n; i++)
		if (c->ev[i].type == type && c->ev[i].fd == fd &&
		    (type != SONDE_EBPF_EV_DATA || c->ev[i].dir == dir) && nth-- == 0)
			return &c->ev[i];
	return NULL;
}

/* find(), failing the test when the event was not seen. */
static const struct seen *must_find(const struct capture *c, uint8_t type,
				    int fd, uint8_t dir, unsigned nth)
{
	const struct seen *s = find(c, type, fd, dir, nth);

	assert_non_null(s);
	return s;
}

static void test_io_syscalls(void **state)
{
	struct fixture *f = *state;
	char big[300], buf[400];
	const struct seen *s;
	uint16_t port;
	int l = listener(&port), cerr, c, a;
	struct iovec iov[3];
	struct msghdr mh = { 0 };
	unsigned i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	c = connect_to(port, false, &cerr);
	assert_int_equal(cerr, 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);

	/* client: write / writev / sendmsg / sendto */
	assert_int_equal(write(c, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	iov[0] = (struct iovec){ "ab", 2 };
	iov[1] = (struct iovec){ "cdef", 4 };
	iov[2] = (struct iovec){ big, sizeof(big) };
	assert_int_equal(writev(c, iov, 3), 306);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	assert_int_equal(sendmsg(c, &mh, 0), 6);
	assert_int_equal(sendto(c, "xyz", 3, 0, NULL, 0), 3);

	/* server: read exactly what was sent with read / readv / recvmsg / recvfrom */
	assert_int_equal(read(a, buf, 18), 18);
	iov[0] = (struct iovec){ buf, 1 };
	iov[1] = (struct iovec){ buf + 1, 305 };
	assert_int_equal(readv(a, iov, 2), 306);
	iov[0] = (struct iovec){ buf, 6 };
	mh.msg_iovlen = 1;
	assert_int_equal(recvmsg(a, &mh, 0), 6);
	assert_int_equal(recvfrom(a, buf, sizeof(buf), 0, NULL, NULL), 3);
	close_and_drain(f, c, a, l);

	assert_int_equal(f->cap.bad, 0);
	s = must_find(&f->cap, SONDE_EBPF_EV_OPEN, c, 0, 0);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_CLIENT);
	assert_int_equal(s->pport, port);
	assert_int_equal(s->lfam, AF_INET);
	assert_memory_equal(s->paddr, "\x7f\0\0\x01", 4);
	assert_memory_equal(s->laddr, "\x7f\0\0\x01", 4);
	s = must_find(&f->cap, SONDE_EBPF_EV_OPEN, a, 0, 0);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_SERVER);
	assert_int_equal(s->lport, port);
	assert_memory_equal(s->laddr, "\x7f\0\0\x01", 4);

	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->total, 18);
	assert_int_equal(s->len, 18);
	assert_memory_equal(s->data, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_CLIENT);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 1);
	assert_int_equal(s->total, 306);
	assert_int_equal(s->len, 64); /* capture_bytes */
	assert_memory_equal(s->data, "abcdef", 6);
	assert_memory_equal(s->data + 6, big, 58);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 2);
	assert_int_equal(s->total, 6);
	assert_memory_equal(s->data, "abcdef", 6);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 3);
	assert_int_equal(s->total, 3);
	assert_memory_equal(s->data, "xyz", 3);

	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->total, 18);
	assert_memory_equal(s->data, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_SERVER);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 1);
	assert_int_equal(s->total, 306);
	assert_int_equal(s->len, 64);
	assert_memory_equal(s->data, "abcdef", 6);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 2);
	assert_int_equal(s->total, 6);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 3);
	assert_int_equal(s->total, 3);
	assert_memory_equal(s->data, "xyz", 3);
	assert_null(find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 4));

	s = must_find(&f->cap, SONDE_EBPF_EV_CLOSE, c, 0, 0);
	assert_int_equal(s->bytes_sent, 18 + 306 + 6 + 3);
	assert_int_equal(s->bytes_recv, 0);
	s = must_find(&f->cap, SONDE_EBPF_EV_CLOSE, a, 0, 0);
	assert_int_equal(s->bytes_recv, 18 + 306 + 6 + 3);

	/* the listener and non-socket fds never show up */
	assert_null(find(&f->cap, SONDE_EBPF_EV_CLOSE, l, 0, 0));
}

/* IPv6 on ::1, and a socket first seen mid-stream (no accept observed). */
static void test_ipv6_and_midstream(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t al = sizeof(a6);
	static const uint8_t lo6[16] = { [15] = 1 };
	const struct seen *s;
	int l = socket(AF_INET6, SOCK_STREAM, 0), c, a;
	char b[8];

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a6, sizeof(a6)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a6, &al), 0);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a6, sizeof(a6)), 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	/* forget what accept/connect told the kernel side: seen mid-stream */
	sonde_ebpf_probe_free(f->probe);
	f->probe = NULL;
	open_probe(f);
	assert_int_equal(write(c, "ping", 4), 4);
	assert_int_equal(read(a, b, 4), 4);
	close_and_drain(f, c, a, l);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_UNKNOWN);
	assert_int_equal(s->lfam, AF_INET6);
	assert_int_equal(s->pfam, AF_INET6);
	assert_memory_equal(s->laddr, lo6, 16);
	assert_memory_equal(s->paddr, lo6, 16);
	assert_int_equal(s->lport, ntohs(a6.sin6_port));
	assert_int_equal(s->total, 4);
	assert_memory_equal(s->data, "ping", 4);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->pport, ntohs(a6.sin6_port));
}

/* The largest capture, through one buffer and through many iovecs. */
static void test_max_capture(void **state)
{
	struct fixture *f = *state;
	enum { BIG = SONDE_EBPF_CAPTURE_MAX + 1808 };
	char *out = malloc(BIG), *in = malloc(BIG);
	struct iovec iov[4], many[SONDE_EBPF_IOV_MAX + 2];
	const struct seen *s;
	uint16_t port;
	int l = listener(&port), cerr, c, a;
	size_t got, i;

	assert_non_null(out);
	assert_non_null(in);
	for (i = 0; i < BIG; i++)
		out[i] = (char)(i * 7 + i / 251);
	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, out, BIG), BIG);
	for (got = 0; got < BIG;) {
		ssize_t n = read(a, in + got, BIG - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	/* 3 iovecs that cross the capture bound inside the third */
	iov[0] = (struct iovec){ out, 100 };
	iov[1] = (struct iovec){ out + 100, 5000 };
	iov[2] = (struct iovec){ out + 5100, BIG - 5100 };
	assert_int_equal(writev(c, iov, 3), BIG);
	/* memcached-style: a response in many small iovecs, all captured */
	for (i = 0; i < SONDE_EBPF_IOV_MAX; i++)
		many[i] = (struct iovec){ out + i * 7, 7 };
	assert_int_equal(writev(c, many, SONDE_EBPF_IOV_MAX), 7 * SONDE_EBPF_IOV_MAX);
	/* past the iovecs looked at: counted, not captured */
	for (i = 0; i < SONDE_EBPF_IOV_MAX + 2; i++)
		many[i] = (struct iovec){ out, 1 };
	assert_int_equal(writev(c, many, SONDE_EBPF_IOV_MAX + 2), SONDE_EBPF_IOV_MAX + 2);
	close_and_drain(f, c, a, l);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->total, BIG);
	assert_int_equal(s->len, SONDE_EBPF_CAPTURE_MAX);
	assert_memory_equal(s->data, out, SONDE_EBPF_CAPTURE_MAX);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 1);
	assert_int_equal(s->total, BIG);
	assert_int_equal(s->len, SONDE_EBPF_CAPTURE_MAX);
	assert_memory_equal(s->data, out, SONDE_EBPF_CAPTURE_MAX);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 2);
	assert_int_equal(s->total, 7 * SONDE_EBPF_IOV_MAX);
	assert_int_equal(s->len, 7 * SONDE_EBPF_IOV_MAX);
	assert_memory_equal(s->data, out, 7 * SONDE_EBPF_IOV_MAX);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 3);
	assert_int_equal(s->total, SONDE_EBPF_IOV_MAX + 2);
	assert_int_equal(s->len, SONDE_EBPF_IOV_MAX);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_true(s->len <= SONDE_EBPF_CAPTURE_MAX && s->len == (s->total < SONDE_EBPF_CAPTURE_MAX ? s->total : SONDE_EBPF_CAPTURE_MAX));
	assert_memory_equal(s->data, out, s->len);
	free(out);
	free(in);
}

static void test_not_tcp_ignored(void **state)
{
	struct fixture *f = *state;
	int p[2], sp[2], u;
	char b[8];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "pipe", 4), 4);
	assert_int_equal(read(p[0], b, 4), 4);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(write(sp[0], "unix", 4), 4);
	assert_int_equal(read(sp[1], b, 4), 4);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(u >= 0);
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
	close(u);
	drain(f);
	assert_int_equal(f->cap.n, 0);
}

/*
 * unix_sockets: a unix stream socket's I/O is recorded like TCP's, with
 * family AF_UNIX and no port; datagram ones and pipes still are not.
 */
static void test_unix_stream(void **state)
{
	struct fixture *f = *state;
	int sp[2], dg[2];
	const struct seen *s;
	uint8_t peer[8], me[8];
	char b[8];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg), 0);
	assert_int_equal(write(sp[0], "GET ", 4), 4);
	assert_int_equal(read(sp[1], b, 4), 4);
	assert_int_equal(write(dg[0], "dgrm", 4), 4);
	assert_int_equal(read(dg[1], b, 4), 4);
	close(sp[0]);
	close(sp[1]);
	close(dg[0]);
	close(dg[1]);
	drain(f);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, sp[0], SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->lfam, AF_UNIX);
	assert_int_equal(s->pfam, AF_UNIX);
	assert_int_equal(s->lport, 0);
	assert_int_equal(s->total, 4);
	assert_memory_equal(s->data, "GET ", 4);
	/* addresses: each end's identity and its peer's, mirrored */
	memcpy(peer, s->paddr, sizeof(peer));
	memcpy(me, s->laddr, sizeof(me));
	assert_memory_not_equal(me, peer, sizeof(me));
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, sp[1], SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->total, 4);
	assert_memory_equal(s->laddr, peer, sizeof(peer));
	assert_memory_equal(s->paddr, me, sizeof(me));
	assert_null(find(&f->cap, SONDE_EBPF_EV_DATA, dg[0], SONDE_EBPF_DIR_SEND, 0));
	assert_null(find(&f->cap, SONDE_EBPF_EV_DATA, dg[1], SONDE_EBPF_DIR_RECV, 0));
}

/* The name the kernel kept for the unix end whose address is addr. */
static void unix_name_is(const struct fixture *f, const uint8_t *addr, const char *want)
{
	struct sonde_ebpf_unix_name n;
	struct sonde_addr a = { .family = AF_UNIX };
	char out[SONDE_TXN_SERVER_LEN];

	memcpy(a.addr, addr, sizeof(a.addr));
	assert_int_equal(sonde_ebpf_probe_unix_name(f->probe, sonde_ebpf_unix_id(&a), &n), 0);
	sonde_ebpf_unix_name_string(&n, out, sizeof(out));
	assert_string_equal(out, want);
}

/*
 * A unix socket reached by connect() and accept(), as servers are: the
 * client's end is cached at connect, when the server's end is not
 * accepted yet (it has no file); the two ends' identities still mirror,
 * and both know the name of the socket the client reached (the server's
 * own, the client's peer's).
 */
static void test_unix_accepted(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t alen;
	const struct seen *c, *s;
	int l, cl, a;
	char b[8], want[32];

	/* an abstract name: nothing to clean up in the filesystem */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
					    "sonde-live-%d", (int)getpid()));
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	cl = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, alen), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&sa, alen), 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(cl, "GET ", 4), 4);
	assert_int_equal(read(a, b, 4), 4);
	close(cl);
	close(a);
	close(l);
	drain(f);
	c = must_find(&f->cap, SONDE_EBPF_EV_DATA, cl, SONDE_EBPF_DIR_SEND, 0);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(c->role, SONDE_EBPF_ROLE_CLIENT);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_SERVER);
	assert_memory_equal(c->paddr, s->laddr, 16);
	assert_memory_equal(c->laddr, s->paddr, 16);
	assert_memory_not_equal(c->laddr, c->paddr, 16);
	snprintf(want, sizeof(want), "@sonde-live-%d", (int)getpid());
	unix_name_is(f, c->laddr, want);
	unix_name_is(f, s->laddr, want);
}

static void test_connect_latency_and_refusal(void **state)
{
	struct fixture *f = *state;
	const struct seen *s = NULL;
	uint16_t port, dead;
	int l = listener(&port), l2 = listener(&dead), cerr, c, c2;
	struct pollfd pfd;
	unsigned i;

	close(l2); /* nothing listens on `dead` now */
	c = connect_to(port, true, &cerr);
	assert_true(cerr == 0 || cerr == EINPROGRESS);
	pfd = (struct pollfd){ .fd = c, .events = POLLOUT };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	c2 = connect_to(dead, false, &cerr);
	assert_int_equal(cerr, ECONNREFUSED);
	close(c);
	close(c2);
	close(l);
	drain(f);

	for (i = 0; i < f->cap.n; i++)
		if (f->cap.ev[i].type == SONDE_EBPF_EV_CONNECT && f->cap.ev[i].pport == port)
			s = &f->cap.ev[i];
	assert_non_null(s);
	assert_int_equal(s->failed, 0);
	assert_true(s->dur > 0 && s->dur < 1000000000ull);
	s = NULL;
	for (i = 0; i < f->cap.n; i++)
		if (f->cap.ev[i].type == SONDE_EBPF_EV_CONNECT && f->cap.ev[i].pport == dead)
			s = &f->cap.ev[i];
	assert_non_null(s);
	assert_int_equal(s->failed, 1);
	/* the non-blocking connect is a client socket too */
	s = must_find(&f->cap, SONDE_EBPF_EV_OPEN, c, 0, 0);
	assert_int_equal(s->role, SONDE_EBPF_ROLE_CLIENT);
}

static void test_stats_and_mute(void **state)
{
	struct fixture *f = *state;
	uint64_t st[SONDE_EBPF_STAT_N];
	uint16_t port;
	int l = listener(&port), cerr, c, a;
	const struct seen *s;
	char b[16];

	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "one", 3), 3);
	assert_int_equal(read(a, b, 3), 3);
	drain(f);
	s = must_find(&f->cap, SONDE_EBPF_EV_OPEN, a, 0, 0);
	assert_int_equal(sonde_ebpf_probe_set_capture(f->probe, s->sock_id, 0, 0), 0);
	assert_int_equal(write(c, "two", 3), 3);
	assert_int_equal(read(a, b, 3), 3);
	close_and_drain(f, c, a, l);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->len, 3);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 1);
	assert_int_equal(s->total, 3);
	assert_int_equal(s->len, 0); /* muted: bytes counted, nothing copied */
	s = must_find(&f->cap, SONDE_EBPF_EV_CLOSE, a, 0, 0);
	assert_int_equal(s->bytes_recv, 6);
	assert_int_equal(sonde_ebpf_probe_stats(f->probe, st), 0);
	assert_int_equal(st[SONDE_EBPF_STAT_LOST], 0);
	assert_true(st[SONDE_EBPF_STAT_SUBMITTED] >= f->cap.n);
	assert_true(st[SONDE_EBPF_STAT_ESTAB_UP] >= 2);
}

/*
 * A socket whose first bytes are an HTTP/1 request or response gets the
 * HTTP capture from the kernel itself (capture_http, flagged on that
 * record); other first bytes, and a socket user space already set, keep
 * theirs.
 */
static void test_http_capture_by_kernel(void **state)
{
	struct fixture *f = *state;
	static const char req[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char inl[] = "GET key\r\n"; /* Redis' inline command */
	char resp[200], val[200], b[256];
	uint16_t port;
	int l = listener(&port), cerr, c[3], a[3], i;
	const struct seen *s;
	size_t rl = sizeof(req) - 1;

	memset(resp, 'x', sizeof(resp));
	memcpy(resp, "HTTP/1.1 200 OK\r\n", 17);
	memset(val, 'x', sizeof(val));
	memcpy(val, "$194\r\n", 6);
	for (i = 0; i < 3; i++) {
		c[i] = connect_to(port, false, &cerr);
		a[i] = accept(l, NULL, NULL);
		assert_true(a[i] >= 0);
	}
	drain(f);
	/* the third: user space's setting first, whole calls */
	s = must_find(&f->cap, SONDE_EBPF_EV_OPEN, a[2], 0, 0);
	assert_int_equal(sonde_ebpf_probe_set_capture(f->probe, s->sock_id, 100, 64), 0);
	for (i = 0; i < 3; i++) {
		const char *q = i == 1 ? inl : req;
		size_t ql = i == 1 ? sizeof(inl) - 1 : rl;

		assert_int_equal(write(c[i], q, ql), (ssize_t)ql);
		assert_int_equal(read(a[i], b, ql), (ssize_t)ql);
		assert_int_equal(write(a[i], i == 1 ? val : resp, sizeof(resp)),
				 (ssize_t)sizeof(resp));
		assert_int_equal(read(c[i], b, sizeof(resp)), (ssize_t)sizeof(resp));
	}
	for (i = 0; i < 3; i++) {
		close(c[i]);
		close(a[i]);
	}
	close(l);
	drain(f);
	/* HTTP: each end's first record whole and flagged, then 16 bytes */
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c[0], SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->len, rl);
	assert_true(s->flags & SONDE_EBPF_F_HTTP_CTL);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a[0], SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->len, rl);
	assert_true(s->flags & SONDE_EBPF_F_HTTP_CTL);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a[0], SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->total, sizeof(resp));
	assert_int_equal(s->len, 16);
	assert_false(s->flags & SONDE_EBPF_F_HTTP_CTL);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c[0], SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->len, 16);
	assert_false(s->flags & SONDE_EBPF_F_HTTP_CTL);
	/* not HTTP's start: the default capture (64), no flag */
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c[1], SONDE_EBPF_DIR_SEND, 0);
	assert_false(s->flags & SONDE_EBPF_F_HTTP_CTL);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a[1], SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->len, 64);
	assert_false(s->flags & SONDE_EBPF_F_HTTP_CTL);
	/* user space's setting stands: its end captures 100, unflagged; the
	 * client's end, not set, is the kernel's */
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a[2], SONDE_EBPF_DIR_RECV, 0);
	assert_false(s->flags & SONDE_EBPF_F_HTTP_CTL);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a[2], SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->len, 100);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c[2], SONDE_EBPF_DIR_SEND, 0);
	assert_true(s->flags & SONDE_EBPF_F_HTTP_CTL);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c[2], SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->len, 16);
	assert_int_equal(f->cap.bad, 0);
}

/*
 * Records lost to a full ring buffer: the next record of that socket and
 * direction says so (SONDE_EBPF_F_AFTER_LOSS), once; the others do not.
 */
static void test_loss_flag(void **state)
{
	struct fixture *f = *state;
	uint64_t st[SONDE_EBPF_STAT_N];
	static char out[SONDE_EBPF_CAPTURE_MAX], in[SONDE_EBPF_CAPTURE_MAX];
	uint16_t port;
	int l = listener(&port), cerr, c, a, i;
	const struct seen *s;
	unsigned first, n_send = 0, n_recv = 0;

	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	drain(f);
	memset(&f->cap, 0, sizeof(f->cap));
	/* ~16 KiB of records per round into a 1 MiB ring nobody reads */
	for (i = 0; i < 200; i++) {
		assert_int_equal(write(c, out, sizeof(out)), (ssize_t)sizeof(out));
		assert_int_equal(recv(a, in, sizeof(in), MSG_WAITALL), (ssize_t)sizeof(in));
	}
	assert_int_equal(sonde_ebpf_probe_stats(f->probe, st), 0);
	assert_true(st[SONDE_EBPF_STAT_LOST] > 0);
	drain(f);
	for (i = 0; i < (int)f->cap.n; i++)
		assert_false(f->cap.ev[i].flags & SONDE_EBPF_F_AFTER_LOSS);
	first = f->cap.n; /* what the ring held */
	assert_int_equal(write(c, "after", 5), 5);
	assert_int_equal(recv(a, in, 5, MSG_WAITALL), 5);
	assert_int_equal(write(c, "again", 5), 5);
	assert_int_equal(recv(a, in, 5, MSG_WAITALL), 5);
	close_and_drain(f, c, a, l);
	/* the first record after the loss in each direction says so, only it */
	for (i = (int)first; i < (int)f->cap.n; i++) {
		s = &f->cap.ev[i];
		if (s->type != SONDE_EBPF_EV_DATA)
			continue;
		if (s->fd == c && s->dir == SONDE_EBPF_DIR_SEND)
			assert_int_equal(!!(s->flags & SONDE_EBPF_F_AFTER_LOSS), n_send++ == 0);
		if (s->fd == a && s->dir == SONDE_EBPF_DIR_RECV)
			assert_int_equal(!!(s->flags & SONDE_EBPF_F_AFTER_LOSS), n_recv++ == 0);
	}
	assert_int_equal(n_send, 2);
	assert_int_equal(n_recv, 2);
}

/*
 * A muted socket reports its bytes in batches: its first muted call at once
 * (nothing reported yet), then when SONDE_EBPF_BATCH_BYTES have gathered,
 * then on the first call SONDE_EBPF_BATCH_NS after the last report; CLOSE
 * has the totals.
 */
static void test_mute_batches(void **state)
{
	struct fixture *f = *state;
	static char b[7000];
	const struct seen *s;
	uint16_t port;
	int l = listener(&port), cerr, c, a, i;
	unsigned n = 0;

	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	drain(f);
	s = must_find(&f->cap, SONDE_EBPF_EV_OPEN, c, 0, 0);
	assert_int_equal(sonde_ebpf_probe_set_capture(f->probe, s->sock_id, 0, 0), 0);
	for (i = 0; i < 100; i++) /* 10,000 bytes: the first 100 reported */
		assert_int_equal(write(c, b, 100), 100);
	/* 9,900 held + 7,000 >= SONDE_EBPF_BATCH_BYTES: reported */
	assert_int_equal(write(c, b, sizeof(b)), (ssize_t)sizeof(b));
	usleep(SONDE_EBPF_BATCH_NS / 1000 + 100000);
	assert_int_equal(write(c, b, 10), 10); /* a batch period later: reported */
	close_and_drain(f, c, a, l);
	while (find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, n))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 0)->total, 100);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 1);
	assert_int_equal(s->total, 16900);
	assert_int_equal(s->len, 0);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 2)->total, 10);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, c, 0, 0)->bytes_sent, 17010);
}

/* Reads and discards n bytes from fd. */
static void read_exactly(int fd, size_t n)
{
	static uint8_t buf[65536];

	while (n) {
		ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

		assert_true(r > 0);
		n -= (size_t)r;
	}
}

static void frame_hdr(uint8_t *h, uint32_t len, uint8_t type, uint32_t stream)
{
	h[0] = (uint8_t)(len >> 16);
	h[1] = (uint8_t)(len >> 8);
	h[2] = (uint8_t)len;
	h[3] = type;
	h[4] = 0;
	h[5] = (uint8_t)(stream >> 24);
	h[6] = (uint8_t)(stream >> 16);
	h[7] = (uint8_t)(stream >> 8);
	h[8] = (uint8_t)stream;
}

/*
 * The bytes fd's records of direction dir copied and skipped, in sum over
 * whole and framed records; returns how many were framed.
 */
static unsigned sum_records(const struct fixture *f, int fd, uint8_t dir, uint64_t *ret_copied,
			    uint64_t *ret_skipped)
{
	const struct seen *s;
	unsigned framed = 0;

	*ret_copied = *ret_skipped = 0;
	for (unsigned i = 0; (s = find(&f->cap, SONDE_EBPF_EV_DATA, fd, dir, i)); i++) {
		if (!(s->flags & SONDE_EBPF_F_FRAMED)) {
			*ret_copied += s->len;
			continue;
		}
		framed++;
		for (size_t j = 0; j < s->n_segs; j++) {
			*ret_copied += s->segs[j].copy;
			*ret_skipped += s->segs[j].skip;
		}
	}
	return framed;
}

/* Copied whole, not walked in user memory: no segments. */
static void assert_whole(const struct seen *s, const uint8_t *bytes, size_t n)
{
	assert_false(s->flags & SONDE_EBPF_F_FRAMED);
	assert_int_equal(s->total, n);
	assert_int_equal(s->len, n);
	assert_memory_equal(s->data, bytes, n);
}

static void assert_segs(const struct seen *s, size_t n, ...)
{
	va_list ap;

	assert_true(s->flags & SONDE_EBPF_F_FRAMED);
	assert_int_equal(s->n_segs, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->segs[i].copy, va_arg(ap, unsigned));
		assert_int_equal(s->segs[i].skip, va_arg(ap, unsigned));
	}
	va_end(ap);
}

/*
 * HTTP/2: from the client preface on, records are frame-walked: frame
 * headers and non-DATA payloads copied, DATA payloads skipped, the place
 * carried across calls, iovecs, and a frame header split between writes.
 * Calls up to 2 KiB are copied whole (no segments) and only move the
 * place. The reading end, whose reads cut the stream elsewhere, agrees in
 * sum.
 */
static void test_h2_frames(void **state)
{
	struct fixture *f = *state;
	static uint8_t first[24 + 9 + 6 + 9 + 5], body[20000], second[5 + 3 + 9 + 3000 + 13],
		split[32], last[9 + 2500 + 12], many[12 * 13];
	uint8_t h1[9], h2[9];
	struct iovec iov[4];
	const struct seen *s;
	uint64_t copied = 0, skipped = 0;
	uint16_t port;
	int l = listener(&port), cerr, c, a;
	size_t want;

	memcpy(first, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame_hdr(first + 24, 6, 4, 0);      /* SETTINGS, one setting */
	frame_hdr(first + 24 + 15, 5, 1, 1); /* HEADERS */
	memcpy(first + 48, "\x82\x86\x84\x41\x80", 5);
	frame_hdr(h1, sizeof(body), 0, 1);   /* DATA, 20,000 bytes */
	frame_hdr(h2, 3, 1, 3);              /* HEADERS, 3 bytes */
	memset(body, 'd', sizeof(body));
	memcpy(second, h2 + 4, 5);           /* that header's rest, */
	memcpy(second + 5, "abc", 3);        /* its payload, */
	frame_hdr(second + 8, 3000, 0, 3);   /* DATA, 3,000 bytes, */
	memset(second + 17, 'e', 3000);
	frame_hdr(second + 3017, 4, 8, 0);   /* WINDOW_UPDATE */
	frame_hdr(split, 10, 0, 3);          /* DATA, 10 bytes, then */
	memset(split + 9, 'x', 10);
	frame_hdr(split + 19, 4, 8, 0);      /* WINDOW_UPDATE */
	frame_hdr(last, 2500, 0, 5);         /* DATA, 2,500 bytes, then */
	frame_hdr(last + 2509, 3, 1, 5);     /* HEADERS, 3 bytes */
	memcpy(last + 2518, "xyz", 3);
	for (int i = 0; i < 12; i++)         /* 24 steps: past the unrolled walk */
		frame_hdr(many + 13 * i, 4, 8, 0);
	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	/* 1: copied whole (under 2 KiB), the preface seen */
	assert_int_equal(write(c, first, sizeof(first)), sizeof(first));
	/* 2: walked in user memory: the DATA payload over two iovecs, the
	 * next frame header cut at the end of the call */
	iov[0] = (struct iovec){ h1, 9 };
	iov[1] = (struct iovec){ body, 10000 };
	iov[2] = (struct iovec){ body + 10000, 10000 };
	iov[3] = (struct iovec){ h2, 4 };
	assert_int_equal(writev(c, iov, 4), 20013);
	/* 3: walked, starting inside that header */
	assert_int_equal(write(c, second, sizeof(second)), sizeof(second));
	/* 4, 5: copied whole, a header cut between them */
	assert_int_equal(write(c, split, 5), 5);
	assert_int_equal(write(c, split + 5, sizeof(split) - 5), sizeof(split) - 5);
	/* 6: walked: right only if 4 and 5 moved the place */
	assert_int_equal(write(c, last, sizeof(last)), sizeof(last));
	/* 7: copied whole, many frames; 8: walked (sendmsg, the DATA header
	 * cut between its iovecs), right only if 7 moved */
	assert_int_equal(write(c, many, sizeof(many)), sizeof(many));
	iov[0] = (struct iovec){ last, 4 };
	iov[1] = (struct iovec){ last + 4, sizeof(last) - 4 };
	{
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		assert_int_equal(sendmsg(c, &mh, 0), sizeof(last));
	}
	want = sizeof(first) + 20013 + sizeof(second) + sizeof(split) + 2 * sizeof(last) +
	       sizeof(many);
	read_exactly(a, want);
	close_and_drain(f, c, a, l);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 0);
	assert_whole(s, first, sizeof(first));
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 1);
	assert_int_equal(s->total, 20013);
	assert_segs(s, 2, 9u, 20000u, 4u, 0u);
	assert_memory_equal(s->data, h1, 9);
	assert_memory_equal(s->data + 9, h2, 4);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 2);
	assert_segs(s, 2, 17u, 3000u, 13u, 0u);
	assert_memory_equal(s->data, second, 17);
	assert_memory_equal(s->data + 17, second + 3017, 13);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 3);
	assert_whole(s, split, 5);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 4);
	assert_whole(s, split + 5, sizeof(split) - 5);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 5);
	assert_segs(s, 2, 9u, 2500u, 12u, 0u);
	assert_memory_equal(s->data + 9, last + 2509, 12);
	assert_whole(must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 6), many,
		     sizeof(many));
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 7);
	assert_segs(s, 2, 9u, 2500u, 12u, 0u);
	/* the reader: cut elsewhere, every byte copied or skipped once */
	sum_records(f, a, SONDE_EBPF_DIR_RECV, &copied, &skipped);
	assert_int_equal(copied + skipped, want);
	assert_true(skipped >= 20000); /* most DATA payloads left out */
}

/*
 * A walked call with more frames than the segment table holds: the table's
 * last segment takes the rest (the parser sees a gap there), and the place
 * is still right for the next call.
 */
static void test_h2_many_frames(void **state)
{
	struct fixture *f = *state;
	enum { SMALL = 120, LOTS = 300 };
	static uint8_t small[SMALL * 19 + 12], lots[LOTS * 19], last[9 + 2500 + 12];
	const struct seen *s;
	uint16_t port;
	int l = listener(&port), cerr, c, a, i;
	size_t want;

	for (i = 0; i < SMALL; i++)
		frame_hdr(small + 19 * i, 10, 0, 1); /* DATA, 10 bytes each */
	frame_hdr(small + 19 * SMALL, 3, 1, 3);    /* then HEADERS, 3 */
	for (i = 0; i < LOTS; i++)
		frame_hdr(lots + 19 * i, 10, 0, 1);
	frame_hdr(last, 2500, 0, 5);
	frame_hdr(last + 2509, 3, 1, 5);
	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24), 24);
	assert_int_equal(write(c, small, sizeof(small)), sizeof(small));
	assert_int_equal(write(c, lots, sizeof(lots)), sizeof(lots));
	assert_int_equal(write(c, last, sizeof(last)), sizeof(last));
	want = 24 + sizeof(small) + sizeof(lots) + sizeof(last);
	read_exactly(a, want);
	close_and_drain(f, c, a, l);
	/* 120 DATA frames and a HEADERS: 121 segments */
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 1);
	assert_true(s->flags & SONDE_EBPF_F_FRAMED);
	assert_int_equal(s->n_segs, SMALL + 1);
	assert_int_equal(s->segs[0].copy, 9);
	assert_int_equal(s->segs[0].skip, 10);
	assert_int_equal(s->segs[SMALL].copy, 12);
	assert_int_equal(s->segs[SMALL].skip, 0);
	assert_int_equal(s->len, 9 * SMALL + 12);
	/* 300: the table fills, its last segment skips the rest */
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 2);
	assert_int_equal(s->n_segs, SONDE_EBPF_SEGS_MAX);
	assert_int_equal(s->segs[SONDE_EBPF_SEGS_MAX - 2].skip, 10);
	assert_int_equal(s->total, sizeof(lots));
	assert_int_equal(s->segs[SONDE_EBPF_SEGS_MAX - 1].copy, 9);
	assert_int_equal(s->segs[SONDE_EBPF_SEGS_MAX - 1].skip,
			 sizeof(lots) - 19 * (SONDE_EBPF_SEGS_MAX - 1) - 9);
	/* and the next call is walked from the right place */
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 3);
	assert_segs(s, 2, 9u, 2500u, 12u, 0u);
}

/*
 * The preface sent by sendmsg and read by recvmsg (gRPC's C core does
 * both): the connection is frame-walked from it at both ends.
 */
static void test_h2_msg_preface(void **state)
{
	struct fixture *f = *state;
	static uint8_t hello[24 + 9], last[9 + 2500 + 12], in[sizeof(hello) + sizeof(last)];
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	const struct seen *s;
	uint64_t copied = 0, skipped = 0;
	uint16_t port;
	int l = listener(&port), cerr, c, a;
	size_t got = 0;

	memcpy(hello, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame_hdr(hello + 24, 0, 4, 0); /* SETTINGS, empty */
	frame_hdr(last, 2500, 0, 1);
	frame_hdr(last + 2509, 3, 1, 3);
	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	iov[0] = (struct iovec){ hello, 16 };
	iov[1] = (struct iovec){ hello + 16, sizeof(hello) - 16 };
	mh.msg_iovlen = 2;
	assert_int_equal(sendmsg(c, &mh, 0), sizeof(hello));
	iov[0] = (struct iovec){ last, sizeof(last) };
	mh.msg_iovlen = 1;
	assert_int_equal(sendmsg(c, &mh, 0), sizeof(last));
	while (got < sizeof(in)) {
		ssize_t r;

		iov[0] = (struct iovec){ in + got, sizeof(in) - got };
		r = recvmsg(a, &mh, 0);
		assert_true(r > 0);
		got += (size_t)r;
	}
	close_and_drain(f, c, a, l);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 1);
	assert_segs(s, 2, 9u, 2500u, 12u, 0u);
	assert_true(sum_records(f, a, SONDE_EBPF_DIR_RECV, &copied, &skipped) > 0);
	assert_int_equal(skipped, 2500);
	assert_int_equal(copied + skipped, sizeof(in));
}

/*
 * More HTTP/2 connections than the kernel keeps positions for: the one
 * whose place was evicted is no longer walked (its records are the
 * capture's prefix again), counted once as a lost walk; the newer one
 * still is.
 */
static void test_h2_evicted(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[9 + 2500 + 12];
	const struct seen *s;
	uint64_t st[SONDE_EBPF_STAT_N];
	uint16_t port;
	int l = listener(&port), cerr, c1, a1, c2, a2;

	frame_hdr(big, 2500, 0, 1);
	frame_hdr(big + 2509, 3, 1, 3);
	c1 = connect_to(port, false, &cerr);
	a1 = accept(l, NULL, NULL);
	c2 = connect_to(port, false, &cerr);
	a2 = accept(l, NULL, NULL);
	assert_true(a1 >= 0 && a2 >= 0);
	assert_int_equal(write(c1, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24), 24);
	assert_int_equal(write(c2, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24), 24);
	assert_int_equal(write(c1, big, sizeof(big)), sizeof(big));
	assert_int_equal(write(c1, big, sizeof(big)), sizeof(big));
	assert_int_equal(write(c2, big, sizeof(big)), sizeof(big));
	read_exactly(a1, 24 + 2 * sizeof(big));
	read_exactly(a2, 24 + sizeof(big));
	assert_int_equal(sonde_ebpf_probe_stats(f->probe, st), 0);
	close(c2);
	close(a2);
	close_and_drain(f, c1, a1, l);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c1, SONDE_EBPF_DIR_SEND, 1);
	assert_false(s->flags & SONDE_EBPF_F_FRAMED);
	/* a prefix of the capture the preface set (16 KiB), not walked */
	assert_int_equal(s->len, sizeof(big));
	assert_int_equal(s->n_segs, 0);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c2, SONDE_EBPF_DIR_SEND, 1);
	assert_segs(s, 2, 9u, 2500u, 12u, 0u);
	/* each socket has its entry: c2's preface evicted c1's, and c1's next
	 * write found it gone; the readers' entries came after the stats */
	assert_int_equal(st[SONDE_EBPF_STAT_H2_LOST], 1);
}

/*
 * MSG_PEEK leaves the bytes queued: the read that takes them reports them,
 * the peeks nothing (else a parser sees them twice). MSG_TRUNC consumes
 * bytes without copying them: counted, no payload. MSG_OOB and
 * MSG_ERRQUEUE (here a transmit timestamp returning a copy of the sent
 * packet, headers included) read what is not the stream: nothing.
 */
static void test_recv_flags(void **state)
{
	struct fixture *f = *state;
	char buf[256], ctl[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int ts = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		 SOF_TIMESTAMPING_OPT_ID;
	const struct seen *s;
	uint16_t port;
	int l = listener(&port), cerr, c, a;

	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof(ts)), 0);
	assert_int_equal(write(c, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	assert_int_equal(recv(a, buf, 1, MSG_PEEK | MSG_WAITALL), 1);
	assert_int_equal(recvfrom(a, buf, 4, MSG_PEEK, NULL, NULL), 4);
	assert_int_equal(recvmsg(a, &mh, MSG_PEEK), 18);
	assert_int_equal(read(a, buf, 18), 18);
	assert_int_equal(write(c, "abcdef", 6), 6);
	usleep(50000);
	assert_int_equal(recv(a, buf, 6, MSG_TRUNC), 6); /* buf left as it was */
	/* the urgent byte leaves the stream: its sender counts it, the
	 * receiver's MSG_OOB read of it is not stream data */
	assert_int_equal(send(c, "!", 1, MSG_OOB), 1);
	usleep(50000);
	assert_int_equal(recv(a, buf, 1, MSG_OOB), 1);
	mh.msg_iov->iov_len = sizeof(buf);
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	assert_true(recvmsg(c, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) > 18);
	close_and_drain(f, c, a, l);

	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->total, 18);
	assert_int_equal(s->len, 18);
	assert_memory_equal(s->data, "GET / HTTP/1.1\r\n\r\n", 18);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 1);
	assert_int_equal(s->total, 6);
	assert_int_equal(s->len, 0);
	assert_null(find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 2));
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, a, 0, 0)->bytes_recv, 24);
	assert_null(find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_RECV, 0));
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, c, 0, 0)->bytes_recv, 0);
}

/*
 * sendfile() and splice() move bytes without a user buffer: counted, as
 * payload-less records (a parser sees a capture gap: an HTTP body sent by
 * sendfile completes its response exactly).
 */
static void test_sendfile_splice(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/sonde-live-XXXXXX", buf[4096];
	const struct seen *s;
	uint16_t port;
	int l = listener(&port), cerr, c, a, file, p[2];
	off_t off = 0;

	memset(buf, 'b', sizeof(buf));
	file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);
	assert_int_equal(write(file, buf, 3000), 3000);
	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(pipe(p), 0);

	assert_int_equal(sendfile(c, file, &off, 3000), 3000);
	assert_int_equal(recv(a, buf, 3000, MSG_WAITALL), 3000);
	assert_int_equal(write(c, "hello", 5), 5);
	usleep(50000);
	assert_int_equal(splice(a, NULL, p[1], NULL, 5, 0), 5);   /* socket -> pipe */
	assert_int_equal(splice(p[0], NULL, a, NULL, 5, 0), 5);   /* pipe -> socket */
	assert_int_equal(recv(c, buf, 5, MSG_WAITALL), 5);
	close(file);
	close(p[0]);
	close(p[1]);
	close_and_drain(f, c, a, l);

	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->total, 3000);
	assert_int_equal(s->len, 0);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 1);
	assert_int_equal(s->total, 5);
	assert_int_equal(s->len, 0);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_SEND, 0);
	assert_int_equal(s->total, 5);
	assert_int_equal(s->len, 0);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, c, 0, 0)->bytes_sent, 3005);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, a, 0, 0)->bytes_sent, 5);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, a, 0, 0)->bytes_recv, 3005);
}

/*
 * A socket served by a process that neither accepted nor connected it
 * (PostgreSQL's backends, an fd passed over a unix socket): its role comes
 * from the handshake the kernel saw, not from a guess.
 */
static void test_role_from_handshake(void **state)
{
	struct fixture *f = *state;
	char buf[16], ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "x", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	uint16_t port;
	int l = listener(&port), cerr, c, a, status, recv_seen = 0, send_seen = 0;
	pid_t child = f->child;

	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &a, sizeof(a));
	assert_int_equal(sendmsg(f->sp, &mh, 0), 1);
	assert_int_equal(write(c, "PING\r\n", 6), 6);
	assert_int_equal(recv(c, buf, 7, MSG_WAITALL), 7);
	assert_int_equal(waitpid(child, &status, 0), child);
	f->child = 0;
	close(f->sp);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close_and_drain(f, c, a, l);

	for (unsigned i = 0; i < f->cap.n; i++) {
		const struct seen *s = &f->cap.ev[i];

		if (s->type != SONDE_EBPF_EV_DATA || s->tgid != (uint32_t)child)
			continue;
		assert_int_equal(s->role, SONDE_EBPF_ROLE_SERVER);
		if (s->dir == SONDE_EBPF_DIR_RECV) {
			assert_memory_equal(s->data, "PING\r\n", 6);
			recv_seen++;
		} else {
			send_seen++;
		}
	}
	assert_int_equal(recv_seen, 1);
	assert_int_equal(send_seen, 1);
}

/*
 * MPTCP at both ends (a plain-TCP peer gets a plain TCP socket from an
 * MPTCP listener, already covered): the same stream, seen the same way.
 */
static void test_mptcp(void **state)
{
	struct fixture *f = *state;
	char buf[32];
	const struct seen *s;
	uint16_t port;
	int l = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP_NR), cerr, c, a;

	if (l < 0) {
		print_message("MPTCP not available here (%s): not checked\n", strerror(errno));
		skip();
	}
	close(l);
	l = listener_of(IPPROTO_MPTCP_NR, &port);
	c = connect_of(IPPROTO_MPTCP_NR, port, false, &cerr);
	assert_int_equal(cerr, 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "PING\r\n", 6), 6);
	assert_int_equal(read(a, buf, sizeof(buf)), 6);
	assert_int_equal(write(a, "+PONG\r\n", 7), 7);
	assert_int_equal(read(c, buf, sizeof(buf)), 7);
	close_and_drain(f, c, a, l);

	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_OPEN, c, 0, 0)->role, SONDE_EBPF_ROLE_CLIENT);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_OPEN, a, 0, 0)->role, SONDE_EBPF_ROLE_SERVER);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0);
	assert_int_equal(s->len, 6);
	assert_memory_equal(s->data, "PING\r\n", 6);
	s = must_find(&f->cap, SONDE_EBPF_EV_DATA, c, SONDE_EBPF_DIR_RECV, 0);
	assert_memory_equal(s->data, "+PONG\r\n", 7);
	assert_int_equal(must_find(&f->cap, SONDE_EBPF_EV_CLOSE, a, 0, 0)->bytes_sent, 7);
}

/* Readable within timeout_ms: the kernel woke the reader. */
static bool woken(struct fixture *f, int timeout_ms)
{
	struct pollfd p = { .fd = sonde_ebpf_probe_fd(f->probe), .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/*
 * With wakeup_bytes, records below the mark wait for the reader's own poll
 * (nothing wakes it: no interrupt per record), and the reader is woken
 * once this CPU has queued the mark's worth.
 */
static void test_wakeup_batching(void **state)
{
	struct fixture *f = *state;
	uint16_t port;
	int l = listener(&port), cerr, c, a, i;
	char b[256];
	unsigned before;

	c = connect_to(port, false, &cerr);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "ping", 4), 4);
	assert_int_equal(read(a, b, 4), 4);
	/* a few hundred bytes queued: no wakeup, but the records are there */
	assert_false(woken(f, 200));
	assert_true(sonde_ebpf_probe_consume(f->probe) >= 3);
	before = f->cap.n;
	assert_non_null(find(&f->cap, SONDE_EBPF_EV_DATA, a, SONDE_EBPF_DIR_RECV, 0));
	/* well past 4096 bytes of records: woken */
	memset(b, 'x', sizeof(b));
	for (i = 0; i < 40; i++) {
		assert_int_equal(write(c, b, sizeof(b)), (ssize_t)sizeof(b));
		assert_int_equal(read(a, b, sizeof(b)), (ssize_t)sizeof(b));
	}
	assert_true(woken(f, 1000));
	assert_true(sonde_ebpf_probe_consume(f->probe) > 0);
	assert_true(f->cap.n >= before + 80);
	close(c);
	close(a);
	close(l);
}

/* The child's exec: one EXEC record, from it, waking the reader at once. */
static void test_exec_record(void **state)
{
	struct fixture *f = *state;
	int status;

	assert_int_equal(write(f->sp, "x", 1), 1);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(woken(f, 2000));
	assert_true(sonde_ebpf_probe_consume(f->probe) > 0);
	assert_non_null(find(&f->cap, SONDE_EBPF_EV_EXEC, -1, 0, 0));
	assert_int_equal(find(&f->cap, SONDE_EBPF_EV_EXEC, -1, 0, 0)->tgid, (uint32_t)f->child);
	f->child = 0; /* reaped */
	close(f->sp);
}

/* Not asked for: no EXEC record. */
static void test_no_exec_record(void **state)
{
	struct fixture *f = *state;
	int status;

	assert_int_equal(write(f->sp, "x", 1), 1);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	usleep(100 * 1000);
	sonde_ebpf_probe_consume(f->probe);
	assert_null(find(&f->cap, SONDE_EBPF_EV_EXEC, -1, 0, 0));
	f->child = 0; /* reaped */
	close(f->sp);
}

/*
 * This test program defines SSL_read and SSL_write itself, as a program
 * with OpenSSL linked in does (Node.js): with tls_programs and no libssl
 * file, its OpenSSL can still be hooked (at the entries: no SSL_read_ex
 * here), and the hooked functions still return what they return.
 */
__attribute__((noinline, used)) int SSL_read(void *ssl, void *buf, int num)
{
	return ssl && buf ? num / 2 : -1;
}

__attribute__((noinline, used)) int SSL_write(void *ssl, const void *buf, int num)
{
	return ssl && buf ? num : -1;
}

static void test_tls_program(void **state)
{
	struct fixture *f = *state;
	char why[256], buf[16] = "x";
	bool entry = false;

	assert_int_equal(sonde_ebpf_probe_attach_openssl(f->probe, "/proc/self/exe", &entry, why,
							 sizeof(why)), 0);
	assert_true(entry);
	assert_int_equal(sonde_ebpf_probe_openssl_programs(f->probe), 1);
	assert_int_equal(SSL_read(f, buf, 10), 5);
	assert_int_equal(SSL_write(f, buf, 7), 7);
}

/* Opened without TLS: nothing to hook programs with. */
static void test_tls_program_refused(void **state)
{
	struct fixture *f = *state;
	char why[256];
	bool entry;

	assert_int_equal(sonde_ebpf_probe_attach_openssl(f->probe, "/proc/self/exe", &entry, why,
							 sizeof(why)), -ENOTSUP);
	assert_int_equal(sonde_ebpf_probe_openssl_programs(f->probe), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_io_syscalls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_tcp_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_and_midstream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_capture, setup_max, teardown),
		cmocka_unit_test_setup_teardown(test_loss_flag, setup_max, teardown),
		cmocka_unit_test_setup_teardown(test_connect_latency_and_refusal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats_and_mute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_capture_by_kernel, setup_http,
						teardown),
		cmocka_unit_test_setup_teardown(test_mute_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_stream, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_unix_accepted, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_h2_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_many_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_msg_preface, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_evicted, setup_h2_one, teardown),
		cmocka_unit_test_setup_teardown(test_recv_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mptcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_role_from_handshake, setup_child, teardown),
		cmocka_unit_test_setup_teardown(test_sendfile_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_batching, setup_batched, teardown),
		cmocka_unit_test_setup_teardown(test_exec_record, setup_exec, teardown),
		cmocka_unit_test_setup_teardown(test_no_exec_record, setup_no_exec, teardown),
		cmocka_unit_test_setup_teardown(test_tls_program, setup_tls_programs, teardown),
		cmocka_unit_test_setup_teardown(test_tls_program_refused, setup, teardown),
	};

	/* SONDE_TEST_SHARD=k/n: every n-th test from the k-th (ctest runs the
	 * shards side by side; each test loads and attaches its own probe) */
	struct CMUnitTest mine[sizeof(tests) / sizeof(tests[0])];
	const char *shard = getenv("SONDE_TEST_SHARD");
	unsigned k = 1, n = 1;
	size_t i, count = 0;

	if (shard && (sscanf(shard, "%u/%u", &k, &n) != 2 || n == 0 || k == 0 || k > n)) {
		fprintf(stderr, "SONDE_TEST_SHARD=%s: want k/n with 1 <= k <= n\n", shard);
		return 2;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (i % n == k - 1)
			mine[count++] = tests[i];
	return _cmocka_run_group_tests("test_ebpf_live", mine, count, NULL, NULL);
}
