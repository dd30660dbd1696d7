/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_LINKFREE_H
#define SONDE_EBPF_LINKFREE_H

#include <stddef.h>

struct bpf_link;

/*
 * Destroys the n links (NULL entries skipped), several at a time. A classic
 * tracepoint's or a uprobe's detach waits in the kernel for the tracepoint
 * grace periods (perf_trace_event_unreg: tracepoint_synchronize_unregister),
 * ~80 ms each on the test VMs: one after the other, the per-syscall hooks
 * took ~1.9 s to detach. Waiting on threads of their own, they share the
 * grace periods. Falls back to one at a time where a thread cannot start.
 */
void sonde_ebpf_links_destroy(struct bpf_link **links, size_t n);

#endif
