/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_SERVICE_H
#define SONDE_EBPF_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "transaction.h"

/*
 * Which service a process belongs to: its systemd unit ("nginx.service")
 * from /proc/<pid>/cgroup, else its process name. A direct-mapped cache by
 * pid: bounded, no allocation after _new, entries re-read after a TTL so a
 * reused pid is picked up.
 */

#define SONDE_SERVICE_SLOTS 4

struct sonde_service_info {
	uint32_t tgid;
	uint64_t expires_ns;
	char process[SONDE_TXN_PROCESS_LEN];
	char service[SONDE_TXN_SERVICE_LEN];
	/* caller's per-service handles; cleared whenever the entry is refilled */
	void *slot[SONDE_SERVICE_SLOTS];
};

struct sonde_service_cache;

/* proc_root: "/proc" (tests point it at a fixture tree). */
int sonde_service_cache_new(unsigned size, uint64_t ttl_ns, const char *proc_root,
			    struct sonde_service_cache **ret_cache);
void sonde_service_cache_free(struct sonde_service_cache *cache);

/*
 * Never NULL. comm_hint (may be NULL): the name the kernel saw, used when
 * the process is already gone from /proc; with neither, names are "" (and
 * retried after the TTL).
 */
struct sonde_service_info *sonde_service_lookup(struct sonde_service_cache *cache,
						uint32_t tgid, uint64_t now_ns,
						const char *comm_hint);

/*
 * The systemd unit in /proc/<pid>/cgroup text: the last path component
 * ending in ".service" on the unified ("0::") or name=systemd line.
 * -ENOENT when there is none.
 */
int sonde_service_from_cgroup(const char *text, size_t len, char *out,
			      size_t outlen);

#endif
