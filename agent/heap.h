/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HEAP_H
#define SONDE_HEAP_H

/*
 * Process-wide malloc policy: memory freed after a scrape (the registry
 * snapshot and the formatted body, a few MB at 10k series) stays mapped
 * for the next one instead of going back to the kernel, which would make
 * every scrape pay its page faults again (85 % of a 10k-series snapshot's
 * time). RSS stays at the scrape's peak, which it reaches anyway. Set
 * once the modules have started (mallopt is thread-safe).
 */
void sonde_heap_keep_scrape_memory(void);

/*
 * While modules start (at start and at reload): glibc's own policy, so
 * that big start-up scratch (the kernel's BTF, which libbpf reads whole
 * for CO-RE: 5.4 MB on 6.18, and the tables built over it) is mmapped and
 * returned when freed instead of growing the heap that the scrape policy
 * then keeps: the agent's peak RSS at start went from 27-31 to 19 MB.
 * sonde_heap_keep_scrape_memory() after.
 */
void sonde_heap_start_policy(void);

#endif
