// SPDX-License-Identifier: MIT
#include "heap.h"

#include <malloc.h>

void sonde_heap_keep_scrape_memory(void)
{
	/* blocks below 64 MiB come from the heap, which is trimmed past 128 MiB */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

void sonde_heap_start_policy(void)
{
	/* glibc's defaults (its threshold then adapts again) */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 128 << 10);
}
