/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_TLSBINS_H
#define SONDE_EBPF_TLSBINS_H

#include <stdint.h>

#include "gosyms.h"

/*
 * Finds the programs running on the host that carry their own TLS, for it
 * to be hooked: Go programs (crypto/tls compiled in) and programs with
 * OpenSSL linked in (the official and NodeSource Node.js builds, which
 * export its symbols; anything built against libssl.a). Each scan reads
 * /proc/PID/exe of the processes (all, or a list) and looks into each
 * executable file not seen before (by device and inode, so one program
 * run by many processes is read once, and a program replaced on disk is
 * read again). Knows nothing of BPF: the caller's attach functions do the
 * hooking.
 */
struct sonde_tlsbins;

/* At most this many executables are remembered; past it, new ones are skipped. */
#define SONDE_TLSBINS_SEEN_MAX 4096

struct sonde_tlsbins_stats {
	uint64_t go_hooked;      /* Go programs with crypto/tls, hooked */
	uint64_t go_unsupported; /* Go programs with crypto/tls, not hookable */
	uint64_t go_failed;      /* hookable, but attach failed */
	/* OpenSSL copies: linked into a program, or libssl files other than
	 * the system's (a container's, a bundled one) */
	uint64_t ssl_hooked;
	uint64_t ssl_failed;     /* ... whose attach failed */
	uint64_t skipped;        /* files not looked into: the seen table full */
	uint64_t denied;         /* processes whose /proc/PID/exe we may not open */
	uint32_t denied_pid;     /* the first of them */
};

/*
 * The caller's hooking, 0 or -errno with the reason in why. path: the
 * file, open by tlsbins for the call's length (/proc/self/fd/N): the
 * process may be gone. A NULL function: that kind is not looked for.
 */
struct sonde_tlsbins_attach {
	int (*go)(void *userdata, const char *path, uint32_t pid, const struct sonde_go_tls *go,
		  char *why, unsigned whylen);
	int (*openssl)(void *userdata, const char *path, uint32_t pid, char *why,
		       unsigned whylen);
	void *userdata;
};

/* proc_root: "/proc" (tests: a fixture tree). NULL on allocation failure. */
struct sonde_tlsbins *sonde_tlsbins_new(const char *proc_root);
void sonde_tlsbins_free(struct sonde_tlsbins *tb);

/*
 * Looks at the processes in pids (n_pids 0: every process) and calls the
 * attach function of each new program's kind, once. Returns how many new
 * executables were looked into.
 */
unsigned sonde_tlsbins_scan(struct sonde_tlsbins *tb, const uint32_t *pids, unsigned n_pids,
			    const struct sonde_tlsbins_attach *attach);

/*
 * The libssl files process pid has mapped that were not seen before (a
 * container's own, one bundled with a package: not the system's, which
 * sonde_tlsbins_known marks), each handed to attach->openssl once, read
 * through /proc/PID/root so that another mount namespace's file is the
 * one hooked. Returns how many were new.
 */
unsigned sonde_tlsbins_look_libs(struct sonde_tlsbins *tb, uint32_t pid,
				 const struct sonde_tlsbins_attach *attach);

/* A file hooked otherwise (the system's libssl): never handed over. */
void sonde_tlsbins_known(struct sonde_tlsbins *tb, const char *path);

const struct sonde_tlsbins_stats *sonde_tlsbins_stats(const struct sonde_tlsbins *tb);

#endif
