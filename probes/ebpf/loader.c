// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "linkfree.h"
#include "loader.h"
#include "verifierlog.h"
#include "log.h"
#include "sslsyms.h"
#include "sonde.skel.h"

/* uprobes per libssl file: up to 4 functions, entry and return */
#define TLS_LINKS_PER_LIB 8
/*
 * What a refused uprobe (EACCES) needs: CAP_SYS_ADMIN. The kernel's uprobe
 * events asked for CAP_PERFMON until a security fix (a uprobe put inside
 * an instruction corrupts the program), backported to the stable kernels:
 * the build VMs' 6.18 and Debian 12's 6.1 both ask for CAP_SYS_ADMIN.
 */
#define UPROBE_DENIED(err)                                                        \
	((err) == -EACCES ? " (the kernel creates uprobes only for CAP_SYS_ADMIN)" : "")

/* uprobes per Go program: Read's copy, Write's entry */
#define GO_LINKS_PER_PROGRAM 2

/*
 * The uprobes of programs hooked after start (Go's, OpenSSL linked in):
 * room for `most` programs, allocated at the first, and how many hooked.
 */
struct prog_links {
	struct bpf_link **links;
	unsigned n, programs;
};

/* Links destroyed (together: linkfree.h), room freed. */
static void prog_links_free(struct prog_links *pl)
{
	sonde_ebpf_links_destroy(pl->links, pl->n);
	pl->n = 0;
	free(pl->links);
	pl->links = NULL;
}

/*
 * Room for one more program of up to per_program links per listed
 * process: 0, or -ENOSPC past `most` programs (what says which), -ENOMEM.
 */
static int prog_links_room(struct prog_links *pl, unsigned most, unsigned per_program,
			   const char *what, char *why, size_t whylen)
{
	if (pl->programs >= most) {
		snprintf(why, whylen, "%u %s hooked already (the most kept)", pl->programs, what);
		return -ENOSPC;
	}
	if (!pl->links) {
		pl->links = calloc((size_t)most * per_program * SONDE_EBPF_FILTER_MAX,
				   sizeof(*pl->links));
		if (!pl->links) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

struct sonde_ebpf_probe {
	struct sonde_bpf *skel;
	struct ring_buffer *rb;
	unsigned features;
	int ncpus;
	unsigned tls_libs; /* libssl files hooked */
	/* with a pid filter, each hook is attached per process */
	struct bpf_link *tls_links[SONDE_EBPF_TLS_LIBS_MAX * TLS_LINKS_PER_LIB *
				   SONDE_EBPF_FILTER_MAX];
	unsigned n_tls_links;
	/* the processes the uprobes are attached for; -1 alone: all */
	int tls_pids[SONDE_EBPF_FILTER_MAX];
	unsigned n_tls_pids;
	/* Go programs' crypto/tls: two uprobes each (per listed process) */
	struct prog_links go;
	/* programs with OpenSSL linked in: a libssl's hooks each */
	struct prog_links ssl;
	bool tls_entry; /* opts.tls_entry */
	bool ssl_loaded; /* the SSL programs are loaded */
	bool cookies;    /* the kernel gives programs their attach cookie (5.15) */
};

/*
 * Whether the running kernel offers programs of this type a BPF helper:
 * true too when the probe cannot tell (an error such as EPERM; the load
 * that follows then says what is wrong).
 */
static bool kernel_has_helper(enum bpf_prog_type type, enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(type, id, NULL) != 0;
}

/* Why a load was refused EPERM, for the log. */
static const char *eperm_reason(void)
{
	struct rlimit r;

	/*
	 * Before 5.11 BPF memory counts against RLIMIT_MEMLOCK; 5.11 also
	 * brought bpf_ktime_get_coarse_ns, by which libbpf tells them apart.
	 */
	if (getrlimit(RLIMIT_MEMLOCK, &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
	    !kernel_has_helper(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_ktime_get_coarse_ns))
		return "needs root or CAP_BPF+CAP_PERFMON, and on this kernel (before 5.11) "
		       "an RLIMIT_MEMLOCK large enough for the maps: LimitMEMLOCK=infinity in "
		       "the unit, ulimit -l unlimited in a shell";
	return "needs root or CAP_BPF+CAP_PERFMON";
}

/*
 * libbpf prints a refused program's verifier log as one message of this
 * form (after its "libbpf: " prefix): the program's name, then the log.
 */
#define LIBBPF_PROG_LOG_FMT "prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n"

/* The verifier's verdict on a refused program, in one line at notice. */
static void log_verdict(const char *fmt, va_list ap)
{
	const char *at = strstr(fmt, LIBBPF_PROG_LOG_FMT), *name, *vlog;
	char verdict[1024];
	va_list aq;

	/* its two strings are read only when they are the message's only arguments */
	if (!at || strchr(fmt, '%') != at + 6 || strchr(at + sizeof(LIBBPF_PROG_LOG_FMT) - 1, '%'))
		return;
	va_copy(aq, ap);
	name = va_arg(aq, const char *);
	vlog = va_arg(aq, const char *);
	va_end(aq);
	if (name && vlog && sonde_ebpf_verifier_verdict(vlog, verdict, sizeof(verdict)))
		sonde_log(SONDE_LOG_NOTICE, "probe", "ebpf",
			  "the kernel's verifier refused program %s: %s", name, verdict);
}

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_WARN)
		log_verdict(fmt, ap);

	/* libbpf's verifier dumps are for debugging, not for the journal */
	if (sonde_log_get_level() < SONDE_LOG_DEBUG || level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	sonde_log(SONDE_LOG_DEBUG, "probe", "ebpf", "libbpf: %s", buf);
	return 0;
}

/* kernel.perf_event_paranoid, or -1 when it cannot be read. */
static int perf_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/*
 * libbpf finds tracepoint ids in tracefs; some hosts boot without it
 * mounted. Mounting it is what `perf` does too (only on the real /sys).
 */
static bool tracefs_events(const char *root, char *out, size_t outlen)
{
	char p[512], mnt[512];

	snprintf(p, sizeof(p), "%s/kernel/tracing/events/syscalls", root);
	if (path_exists(p))
		goto tracing;
	snprintf(p, sizeof(p), "%s/kernel/debug/tracing/events/syscalls", root);
	if (path_exists(p)) {
		snprintf(out, outlen, "%s/kernel/debug/tracing/events", root);
		return true;
	}
	snprintf(mnt, sizeof(mnt), "%s/kernel/tracing", root);
	if (strcmp(root, "/sys") != 0 ||
	    mount("tracefs", mnt, "tracefs", 0, NULL) != 0)
		return false;
	snprintf(p, sizeof(p), "%s/kernel/tracing/events/syscalls", root);
	if (!path_exists(p))
		return false;
tracing:
	snprintf(out, outlen, "%s/kernel/tracing/events", root);
	return true;
}

static bool tracepoint_exists(const char *events, const char *cat,
			      const char *name)
{
	char p[640];

	snprintf(p, sizeof(p), "%s/%s/%s", events, cat, name);
	return path_exists(p);
}

static uint32_t ring_size(uint32_t want)
{
	uint32_t sz = (uint32_t)sysconf(_SC_PAGESIZE);

	if (want > (1u << 30))
		want = 1u << 30;
	while (sz < want)
		sz <<= 1;
	return sz;
}

/*
 * Each CPU wakes the reader once it has queued its threshold, so all CPUs
 * together may queue ncpus times that unannounced: keep it within half the
 * ring, or a many-core host would fill the ring before anyone woke the
 * reader (the poll timer would be the only drain).
 */
static uint32_t wakeup_per_cpu(uint32_t want, uint32_t ring, int ncpus)
{
	uint32_t cap;

	if (!want)
		return 0;
	cap = ring / 2 / (uint32_t)(ncpus > 0 ? ncpus : 1);
	if (cap == 0)
		cap = 1;
	return want < cap ? want : cap;
}

static const char *const required_tps[] = {
	"sys_exit_read", "sys_exit_write", "sys_exit_readv", "sys_exit_writev",
	"sys_exit_recvfrom", "sys_exit_sendto", "sys_exit_recvmsg",
	"sys_exit_sendmsg", "sys_exit_accept", "sys_exit_accept4",
	"sys_exit_connect", "sys_enter_close", "sys_exit_sendfile64", "sys_exit_splice",
};

/*
 * Which syscall hooks to load: the one BTF raw tracepoint on every exit
 * (sys_exit_any), or the per-syscall tracepoints.
 */
static void choose_hooks(struct sonde_bpf *skel, bool raw)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (strncmp(sec, "tracepoint/", 11) == 0)
			bpf_program__set_autoload(prog, !raw);
		else if (strncmp(sec, "tp_btf/", 7) == 0)
			bpf_program__set_autoload(prog, raw);
	}
}

/*
 * A non-syscall tracepoint's program, of the kind the syscall hooks are:
 * BTF raw tracepoints attach through bpf(2) only, classic ones through
 * perf_event_open(2), which perf_event_paranoid 3 (Debian's default)
 * keeps from anyone without CAP_SYS_ADMIN.
 */
static void want_tracepoint(struct bpf_program *btf, struct bpf_program *classic, bool raw,
			    bool on)
{
	bpf_program__set_autoload(btf, raw && on);
	bpf_program__set_autoload(classic, !raw && on);
}

static int fill_filters(struct sonde_bpf *skel,
			const struct sonde_ebpf_probe_opts *o)
{
	uint8_t one = 1;
	unsigned i;

	for (i = 0; i < o->n_pids && i < SONDE_EBPF_FILTER_MAX; i++)
		if (bpf_map__update_elem(skel->maps.pid_filter, &o->pids[i],
					 sizeof(o->pids[i]), &one, 1, BPF_ANY))
			return -errno;
	for (i = 0; i < o->n_ports && i < SONDE_EBPF_FILTER_MAX; i++)
		if (bpf_map__update_elem(skel->maps.port_filter, &o->ports[i],
					 sizeof(o->ports[i]), &one, 1, BPF_ANY))
			return -errno;
	return 0;
}

/* Loads the libssl programs only when there is a library to hook. */
static void choose_tls(struct sonde_bpf *skel, bool tls)
{
	bpf_program__set_autoload(skel->progs.ssl_read_enter, tls);
	bpf_program__set_autoload(skel->progs.ssl_read_ex_enter, tls);
	bpf_program__set_autoload(skel->progs.ssl_write_enter, tls);
	bpf_program__set_autoload(skel->progs.ssl_write_ex_enter, tls);
	bpf_program__set_autoload(skel->progs.ssl_ret, tls);
	bpf_program__set_autoload(skel->progs.ssl_ex_ret, tls);
	skel->rodata->tls_hooks = tls;
}

/*
 * pid -1: every process that maps the file, now and later; else that
 * process only (the kernel puts the breakpoint in no other, so the
 * processes a pid filter leaves out do not trap at all).
 */
static struct bpf_link *attach_cookie(struct bpf_program *prog, int pid, const char *lib,
				      const char *fn, uint64_t off, bool ret, uint64_t cookie)
{
	struct bpf_uprobe_opts uo;

	/* by hand: LIBBPF_OPTS is a GNU statement expression (clang -Wpedantic) */
	memset(&uo, 0, sizeof(uo));
	uo.sz = sizeof(uo);
	uo.func_name = fn;
	uo.retprobe = ret;
	uo.bpf_cookie = cookie;
	return bpf_program__attach_uprobe_opts(prog, pid, lib, (size_t)off, &uo);
}

/* One hook point: an exported function by name, or a file offset. */
struct tls_hook {
	const char *fn; /* NULL: off is the file offset */
	uint64_t off;
	struct bpf_program *enter, *ret; /* ret NULL: no return probe */
	bool required;
};

/*
 * Attaches each hook's return then entry probe, for each process of the
 * pid filter (or all), with the BPF cookie given, into links[*n_links];
 * all or nothing for the required.
 */
static int attach_hooks(struct sonde_ebpf_probe *p, const char *lib,
			const struct tls_hook *hooks, size_t n, uint64_t cookie,
			struct bpf_link **links, unsigned *n_links, char *why, size_t whylen)
{
	unsigned first = *n_links;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		unsigned done = 0;

		err = 0;
		for (unsigned k = 0; k < p->n_tls_pids; k++) {
			/* the return probe first: an entry without one would leak calls */
			struct bpf_link *r = hooks[i].ret ?
						     attach_cookie(hooks[i].ret, p->tls_pids[k], lib,
								   hooks[i].fn, hooks[i].off, true,
								   cookie) :
						     NULL;
			struct bpf_link *e = r || !hooks[i].ret ?
						     attach_cookie(hooks[i].enter, p->tls_pids[k], lib,
								   hooks[i].fn, hooks[i].off, false,
								   cookie) :
						     NULL;

			if (e) {
				if (r)
					links[(*n_links)++] = r;
				links[(*n_links)++] = e;
				done++;
				continue;
			}
			/* a listed process gone since: the others still count */
			err = -errno;
			bpf_link__destroy(r);
		}
		if (done)
			continue;
		if (!err)
			err = -ESRCH;
		if (!hooks[i].required)
			continue;
		if (hooks[i].fn)
			snprintf(why, whylen, "cannot hook %s in %s: %s%s", hooks[i].fn, lib,
				 strerror(-err), UPROBE_DENIED(err));
		else
			snprintf(why, whylen, "cannot hook offset 0x%llx in %s: %s%s",
				 (unsigned long long)hooks[i].off, lib, strerror(-err),
				 UPROBE_DENIED(err));
		while (*n_links > first)
			bpf_link__destroy(links[--*n_links]);
		return err;
	}
	return 0;
}

/*
 * Hooks one OpenSSL copy (a libssl file, or a program it is linked into):
 * its internal read/write functions (cheap probes, see sslsyms.h), or
 * with entry SSL_read/SSL_write (required) and their _ex forms (OpenSSL
 * 1.1.1 and later), into links[*n_links]. fallback: hook the entries
 * where the internal functions are not found. Returns 0 once reads and
 * writes are hooked (*ret_entry: at their entry), else -errno with the
 * reason in why.
 */
static int attach_openssl(struct sonde_ebpf_probe *p, const char *lib, bool entry,
			  bool fallback, struct bpf_link **links, unsigned *n_links,
			  bool *ret_entry, char *why, size_t whylen)
{
	struct sonde_bpf *sk = p->skel;
	struct sonde_ssl_internal in;
	const struct tls_hook exported[] = {
		{ "SSL_read", 0, sk->progs.ssl_read_enter, sk->progs.ssl_ret, true },
		{ "SSL_write", 0, sk->progs.ssl_write_enter, sk->progs.ssl_ret, true },
		{ "SSL_read_ex", 0, sk->progs.ssl_read_ex_enter, sk->progs.ssl_ex_ret, false },
		{ "SSL_write_ex", 0, sk->progs.ssl_write_ex_enter, sk->progs.ssl_ex_ret, false },
	};
	int err = entry ? -ENOENT : sonde_ssl_internal_find(lib, &in);

	*ret_entry = entry || (err == -ENOENT && fallback);
	if (*ret_entry)
		return attach_hooks(p, lib, exported, sizeof(exported) / sizeof(exported[0]), 0,
				    links, n_links, why, whylen);
	if (err) {
		snprintf(why, whylen, "%s: %s", lib,
			 err == -ENOENT ? "OpenSSL's internal read/write functions not found (ebpf.tls_hooks: entry hooks SSL_read/SSL_write instead, at a higher cost per call)" :
					  strerror(-err));
		return err;
	}
	{
		/* the internal functions take SSL_read_ex's arguments */
		const struct tls_hook internal[] = {
			{ NULL, in.read_off, sk->progs.ssl_read_ex_enter, sk->progs.ssl_ex_ret, true },
			{ NULL, in.write_off, sk->progs.ssl_write_ex_enter, sk->progs.ssl_ex_ret, true },
		};

		return attach_hooks(p, lib, internal, 2, 0, links, n_links, why, whylen);
	}
}

static void detach_tls(struct sonde_ebpf_probe *p)
{
	sonde_ebpf_links_destroy(p->tls_links, p->n_tls_links);
	p->n_tls_links = 0;
	p->tls_libs = 0;
}

/*
 * The skeleton's links destroyed together (linkfree.h: the per-syscall
 * tracepoints took ~1.9 s one by one) and forgotten, so that destroying
 * the skeleton after finds none.
 */
static void detach_skeleton(struct sonde_bpf *skel)
{
	struct bpf_link *links[sizeof(skel->links) / sizeof(struct bpf_link *)];
	struct bpf_object_skeleton *s = skel ? skel->skeleton : NULL;
	size_t n = 0;

	for (int i = 0; s && i < s->prog_cnt && n < sizeof(links) / sizeof(links[0]); i++) {
		if (s->progs[i].link && *s->progs[i].link) {
			links[n++] = *s->progs[i].link;
			*s->progs[i].link = NULL;
		}
	}
	sonde_ebpf_links_destroy(links, n);
}

/* Each configured libssl file, skipped with a log line when it cannot be hooked. */
static void attach_tls(struct sonde_ebpf_probe *p, const struct sonde_ebpf_probe_opts *o)
{
	unsigned i;

	p->tls_entry = o->tls_entry;
	p->n_tls_pids = 0;
	for (i = 0; i < o->n_pids && i < SONDE_EBPF_FILTER_MAX; i++)
		p->tls_pids[p->n_tls_pids++] = (int)o->pids[i];
	if (!p->n_tls_pids)
		p->tls_pids[p->n_tls_pids++] = -1;

	for (i = 0; i < o->n_tls_libs && i < SONDE_EBPF_TLS_LIBS_MAX; i++) {
		char why[768];

		bool entry;

		if (attach_openssl(p, o->tls_libs[i], o->tls_entry, false, p->tls_links,
				   &p->n_tls_links, &entry, why, sizeof(why)) == 0) {
			p->tls_libs++;
			sonde_log(SONDE_LOG_INFO, "probe", "ebpf", "TLS: %s hooked in %s%s",
				  entry ? "SSL_read/SSL_write (entry)" :
					  "OpenSSL's internal read/write functions",
				  o->tls_libs[i],
				  o->n_pids ? " (for the processes in ebpf.pids only)" : "");
		} else {
			sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
				  "TLS: not hooked: %s; its TLS connections are counted, not parsed",
				  why);
		}
	}
	if (p->tls_libs)
		p->features |= SONDE_EBPF_HAS_TLS;
}

/* Payload bytes per call, as the kernel's scratch record allows. */
static uint32_t capture_clamp(uint32_t bytes)
{
	return bytes > SONDE_EBPF_CAPTURE_MAX ? SONDE_EBPF_CAPTURE_MAX : bytes;
}

/* Opens, loads and attaches the object with one set of syscall hooks. */
static int load_attach(struct sonde_ebpf_probe *p,
		       const struct sonde_ebpf_probe_opts *opts,
		       const char *events, bool raw, char *why, size_t whylen)
{
	int err;

	if (!raw && !kernel_has_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs)) {
		snprintf(why, whylen, "the per-syscall tracepoints need Linux 5.15 or later (BPF "
				      "helper bpf_task_pt_regs); syscall_hooks auto or raw use the raw "
				      "tracepoint instead");
		return -ENOTSUP;
	}
	p->skel = sonde_bpf__open();
	if (!p->skel) {
		err = -errno;
		snprintf(why, whylen, "cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	p->skel->rodata->self_tgid = opts->self_tgid;
	p->skel->rodata->capture_bytes = capture_clamp(opts->capture_bytes);
	p->skel->rodata->capture_http = capture_clamp(opts->capture_http);
	if (p->skel->rodata->capture_http == p->skel->rodata->capture_bytes)
		p->skel->rodata->capture_http = 0;
	p->skel->rodata->filter_pids = opts->n_pids > 0;
	p->skel->rodata->filter_ports = opts->n_ports > 0;
	p->skel->rodata->filter_cgroups = opts->filter_cgroups;
	p->skel->rodata->trace_unix = opts->unix_sockets;
	if (getrandom(&p->skel->rodata->unix_id_key, sizeof(p->skel->rodata->unix_id_key), 0) !=
	    sizeof(p->skel->rodata->unix_id_key))
		p->skel->rodata->unix_id_key = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
	if (opts->ring_bytes)
		bpf_map__set_max_entries(p->skel->maps.events,
					 ring_size(opts->ring_bytes));
	bpf_map__set_max_entries(p->skel->maps.scratch_map, (uint32_t)p->ncpus);
	if (opts->h2_conns)
		bpf_map__set_max_entries(p->skel->maps.h2_frames, opts->h2_conns);
	p->skel->rodata->wakeup_bytes =
		wakeup_per_cpu(opts->wakeup_bytes, bpf_map__max_entries(p->skel->maps.events),
			       libbpf_num_possible_cpus());
	choose_hooks(p->skel, raw);
	if (tracepoint_exists(events, "sock", "inet_sock_set_state"))
		p->features |= SONDE_EBPF_HAS_SOCK_STATE;
	want_tracepoint(p->skel->progs.inet_sock_set_state, p->skel->progs.inet_sock_set_state_tp,
			raw, p->features & SONDE_EBPF_HAS_SOCK_STATE);
	if (tracepoint_exists(events, "tcp", "tcp_retransmit_skb"))
		p->features |= SONDE_EBPF_HAS_RETRANS;
	want_tracepoint(p->skel->progs.tcp_retransmit_skb, p->skel->progs.tcp_retransmit_skb_tp,
			raw, p->features & SONDE_EBPF_HAS_RETRANS);
	p->ssl_loaded = opts->n_tls_libs > 0 || opts->tls_programs;
	choose_tls(p->skel, p->ssl_loaded);
	p->skel->rodata->watch_exec = opts->exec_records;
	want_tracepoint(p->skel->progs.sched_process_exec, p->skel->progs.sched_process_exec_tp,
			raw, opts->exec_records);
	err = sonde_bpf__load(p->skel);
	if (err) {
		err = err < 0 ? err : -errno;
		if (err == -EPERM)
			snprintf(why, whylen, "not allowed to load BPF programs (%s): %s",
				 eperm_reason(), strerror(-err));
		else
			snprintf(why, whylen, "the kernel refused the BPF programs (verifier or missing kernel feature): %s",
				 strerror(-err));
		return err;
	}
	err = fill_filters(p->skel, opts);
	if (err) {
		snprintf(why, whylen, "cannot write the pid/port filters: %s", strerror(-err));
		return err;
	}
	err = sonde_bpf__attach(p->skel);
	if (err) {
		err = err < 0 ? err : -errno;
		snprintf(why, whylen, "cannot attach to the syscall tracepoints: %s%s",
			 strerror(-err),
			 (err == -EACCES || err == -EPERM) && perf_paranoid() >= 3 ?
				 " (kernel.perf_event_paranoid is 3 or more, as on Debian: classic "
				 "tracepoints attach through perf_event_open, which it allows only "
				 "with CAP_SYS_ADMIN; syscall_hooks auto or raw need no perf events)" :
				 "");
		return err;
	}
	if (raw)
		p->features |= SONDE_EBPF_HAS_RAW_SYSCALLS;
	attach_tls(p, opts);
	return 0;
}

int sonde_ebpf_probe_open(const struct sonde_ebpf_probe_opts *opts,
			  sonde_ebpf_record_fn fn, void *userdata,
			  struct sonde_ebpf_probe **ret_probe, char *why,
			  size_t whylen)
{
	const char *root = opts->sys_root ? opts->sys_root : "/sys";
	struct sonde_ebpf_probe *p = NULL;
	char events[512], btf[512];
	size_t i;
	int err;

	libbpf_set_print(libbpf_to_log);
	snprintf(btf, sizeof(btf), "%s/kernel/btf/vmlinux", root);
	if (!path_exists(btf)) {
		snprintf(why, whylen, "the kernel has no BTF (%s missing): eBPF probes need CONFIG_DEBUG_INFO_BTF",
			 btf);
		return -ENOTSUP;
	}
	if (!tracefs_events(root, events, sizeof(events))) {
		snprintf(why, whylen, "tracefs is not mounted and could not be mounted on %s/kernel/tracing: syscall tracepoints unavailable",
			 root);
		return -ENOENT;
	}
	for (i = 0; i < sizeof(required_tps) / sizeof(required_tps[0]); i++) {
		if (!tracepoint_exists(events, "syscalls", required_tps[i])) {
			snprintf(why, whylen, "tracepoint syscalls:%s is missing (CONFIG_FTRACE_SYSCALLS?)",
				 required_tps[i]);
			return -ENOENT;
		}
	}

	p = calloc(1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto err;
	}
	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0) {
		err = p->ncpus ? p->ncpus : -EINVAL;
		snprintf(why, whylen, "cannot count possible CPUs");
		goto err;
	}
	/* the raw tracepoint first; the per-syscall ones if it is refused */
	if (opts->hooks != SONDE_EBPF_HOOKS_TRACEPOINTS) {
		err = load_attach(p, opts, events, true, why, whylen);
		if (!err || err == -EPERM || opts->hooks == SONDE_EBPF_HOOKS_RAW)
			goto loaded;
		sonde_log(SONDE_LOG_INFO, "probe", "ebpf",
			  "raw syscall tracepoint refused (%s): using the per-syscall tracepoints",
			  why);
		detach_tls(p);
		detach_skeleton(p->skel);
		sonde_bpf__destroy(p->skel);
		p->skel = NULL;
		p->features = 0;
	}
	err = load_attach(p, opts, events, false, why, whylen);
loaded:
	if (err)
		goto err;
	p->cookies = kernel_has_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_attach_cookie);
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events),
				 (ring_buffer_sample_fn)fn, userdata, NULL);
	if (!p->rb) {
		err = -errno;
		snprintf(why, whylen, "cannot map the ring buffer: %s", strerror(-err));
		goto err;
	}
	*ret_probe = p;
	return 0;
err:
	sonde_ebpf_probe_free(p);
	return err;
}

int sonde_ebpf_probe_attach_go(struct sonde_ebpf_probe *p, const char *path,
			       const struct sonde_go_tls *g, char *why, size_t whylen)
{
	struct sonde_bpf *sk = p->skel;
	const struct tls_hook hooks[GO_LINKS_PER_PROGRAM] = {
		{ NULL, g->copy_off, sk->progs.go_tls_read, NULL, true },
		{ NULL, g->write_off, sk->progs.go_tls_write, NULL, true },
	};
	int err = prog_links_room(&p->go, SONDE_EBPF_GO_PROGRAMS_MAX, GO_LINKS_PER_PROGRAM,
				  "Go programs", why, whylen);

	if (!err && !p->cookies) {
		snprintf(why, whylen, "Go's TLS needs Linux 5.15 or later (BPF attach cookies)");
		err = -ENOTSUP;
	}

	if (!err)
		err = attach_hooks(p, path, hooks, GO_LINKS_PER_PROGRAM,
				   g->tcp_hash | (uint64_t)g->unix_hash << 32, p->go.links, &p->go.n,
				   why, whylen);
	if (!err)
		p->go.programs++;
	return err;
}

unsigned sonde_ebpf_probe_go_programs(const struct sonde_ebpf_probe *probe)
{
	return probe->go.programs;
}

int sonde_ebpf_probe_attach_openssl(struct sonde_ebpf_probe *p, const char *path, bool *ret_entry,
				    char *why, size_t whylen)
{
	int err;

	if (!p->ssl_loaded) {
		snprintf(why, whylen, "the SSL hooks were not loaded (opened without TLS)");
		return -ENOTSUP;
	}
	err = prog_links_room(&p->ssl, SONDE_EBPF_SSL_PROGRAMS_MAX, TLS_LINKS_PER_LIB,
			      "programs with OpenSSL", why, whylen);
	if (!err)
		err = attach_openssl(p, path, p->tls_entry, true, p->ssl.links, &p->ssl.n,
				     ret_entry, why, whylen);
	if (!err)
		p->ssl.programs++;
	return err;
}

unsigned sonde_ebpf_probe_openssl_programs(const struct sonde_ebpf_probe *probe)
{
	return probe->ssl.programs;
}

void sonde_ebpf_probe_free(struct sonde_ebpf_probe *probe)
{
	if (!probe)
		return;
	prog_links_free(&probe->go);
	prog_links_free(&probe->ssl);
	detach_tls(probe);
	ring_buffer__free(probe->rb);
	detach_skeleton(probe->skel);
	sonde_bpf__destroy(probe->skel);
	free(probe);
}

int sonde_ebpf_probe_fd(const struct sonde_ebpf_probe *probe)
{
	return ring_buffer__epoll_fd(probe->rb);
}

int sonde_ebpf_probe_consume(struct sonde_ebpf_probe *probe)
{
	return ring_buffer__consume(probe->rb);
}

int sonde_ebpf_probe_poll(struct sonde_ebpf_probe *probe, int timeout_ms)
{
	return ring_buffer__poll(probe->rb, timeout_ms);
}

int sonde_ebpf_probe_stats(const struct sonde_ebpf_probe *probe,
			   uint64_t ret_stats[SONDE_EBPF_STAT_N])
{
	uint64_t vals[probe->ncpus];
	uint64_t sum[SONDE_EBPF_STAT_N] = { 0 };
	uint32_t k;
	int c;

	for (k = 0; k < SONDE_EBPF_STAT_N; k++) {
		/* the kernel fills it; zeroed so memory checkers see it defined */
		memset(vals, 0, sizeof(vals));
		if (bpf_map__lookup_elem(probe->skel->maps.stats, &k, sizeof(k),
					 vals, sizeof(vals), 0))
			return -errno;
		for (c = 0; c < probe->ncpus; c++)
			sum[k] += vals[c];
	}
	memcpy(ret_stats, sum, sizeof(sum));
	return 0;
}

int sonde_ebpf_probe_add_cgroup(struct sonde_ebpf_probe *probe, uint64_t id)
{
	uint8_t one = 1;

	if (bpf_map__update_elem(probe->skel->maps.cgroup_filter, &id, sizeof(id), &one,
				 sizeof(one), BPF_ANY))
		return -errno;
	return 0;
}

int sonde_ebpf_probe_set_capture(struct sonde_ebpf_probe *probe, uint64_t sock_id,
				 uint32_t bytes, uint32_t plain)
{
	struct sonde_ebpf_sock_ctl ctl = { .capture = bytes, .plain = plain };

	if (!sock_id)
		return -EINVAL;
	ctl.capture = capture_clamp(ctl.capture);
	ctl.plain = capture_clamp(ctl.plain);
	if (bpf_map__update_elem(probe->skel->maps.sock_ctl, &sock_id, sizeof(sock_id),
				 &ctl, sizeof(ctl), BPF_ANY))
		return -errno;
	return 0;
}

int sonde_ebpf_probe_unix_name(const struct sonde_ebpf_probe *probe, uint64_t end_id,
			       struct sonde_ebpf_unix_name *ret_name)
{
	struct sonde_ebpf_unix_name n;

	if (bpf_map__lookup_elem(probe->skel->maps.unix_names, &end_id, sizeof(end_id), &n,
				 sizeof(n), 0))
		return -errno;
	*ret_name = n;
	return 0;
}

unsigned sonde_ebpf_probe_features(const struct sonde_ebpf_probe *probe)
{
	return probe->features;
}

unsigned sonde_ebpf_probe_tls_libs(const struct sonde_ebpf_probe *probe)
{
	return probe->tls_libs;
}
