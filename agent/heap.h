/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HEAP_H
#define SONDE_HEAP_H

/*
 * Process-wide malloc policy: memory freed after a scrape (the registry
 * snapshot and the formatted body, a few MB at 10k series) stays mapped
 * for the next one instead of going back to the kernel, which would make
 * every scrape pay its page faults again (85 % of a 10k-series snapshot's
 * time). RSS stays at the scrape's peak, which it reaches anyway. Call
 * once at start, before threads.
 */
void sonde_heap_keep_scrape_memory(void);

#endif
