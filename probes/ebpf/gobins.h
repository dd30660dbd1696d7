/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_GOBINS_H
#define SONDE_EBPF_GOBINS_H

#include <stdint.h>

#include "gosyms.h"

/*
 * Finds the Go programs running on the host, for their crypto/tls to be
 * hooked: each scan reads /proc/PID/exe of the processes (all, or a list)
 * and looks into each executable file not seen before (by device and
 * inode, so one program run by many processes is read once, and a
 * program replaced on disk is read again). Knows nothing of BPF: the
 * caller's attach function does the hooking.
 */
struct sonde_gobins;

/* At most this many executables are remembered; past it, new ones are skipped. */
#define SONDE_GOBINS_SEEN_MAX 4096

struct sonde_gobins_stats {
	uint64_t hooked;      /* Go programs with crypto/tls, hooked */
	uint64_t unsupported; /* Go programs with crypto/tls, not hookable */
	uint64_t failed;      /* hookable, but attach failed */
	uint64_t skipped;     /* executables not looked into: the seen table full */
	uint64_t denied;      /* processes whose /proc/PID/exe we may not open */
	uint32_t denied_pid;  /* the first of them */
};

/* 0, or -errno with the reason in why. path: the file, open by gobins
 * for the call's length (/proc/self/fd/N): the process may be gone. */
typedef int (*sonde_gobins_attach_fn)(void *userdata, const char *path, uint32_t pid,
				      const struct sonde_go_tls *go, char *why,
				      unsigned whylen);

/* proc_root: "/proc" (tests: a fixture tree). NULL on allocation failure. */
struct sonde_gobins *sonde_gobins_new(const char *proc_root);
void sonde_gobins_free(struct sonde_gobins *gb);

/*
 * Looks at the processes in pids (n_pids 0: every process) and calls
 * attach for each new Go program with crypto/tls, once. Returns how many
 * new executables were looked into.
 */
unsigned sonde_gobins_scan(struct sonde_gobins *gb, const uint32_t *pids, unsigned n_pids,
			   sonde_gobins_attach_fn attach, void *userdata);

const struct sonde_gobins_stats *sonde_gobins_stats(const struct sonde_gobins *gb);

#endif
