/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_ORPHANS_H
#define SONDE_EBPF_ORPHANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Plaintext whose socket is not known yet (SONDE_EBPF_F_ORPHAN records: an
 * SSL object over memory BIOs), held until the kernel names
 * the socket (SSL_PAIR), then handed over in the order it came. Bounded:
 * when full the oldest goes; one older than max_age is dropped; both
 * counted.
 */
struct sonde_orphans;

struct sonde_orphan {
	uint32_t tgid;
	bool send;      /* an SSL_write's, else an SSL_read's */
	uint64_t ssl;
	uint64_t ts_ns;
	size_t total;   /* bytes the call moved */
	size_t len;     /* of them, captured in data */
	uint8_t *data;
};

typedef void (*sonde_orphan_fn)(const struct sonde_orphan *o, void *userdata);

int sonde_orphans_new(unsigned cap, uint64_t max_age_ns, struct sonde_orphans **ret_o);
void sonde_orphans_free(struct sonde_orphans *o);
/* Keeps a copy (a failed allocation counts as dropped). */
void sonde_orphans_add(struct sonde_orphans *o, uint32_t tgid, uint64_t ssl, bool send,
		       uint64_t ts_ns, const uint8_t *data, size_t len, size_t total);
/* Calls fn for each held orphan of (tgid, ssl), oldest first, and forgets
 * them; also drops those older than max_age before now_ns. Returns how
 * many were handed over. */
unsigned sonde_orphans_take(struct sonde_orphans *o, uint32_t tgid, uint64_t ssl,
			    uint64_t now_ns, sonde_orphan_fn fn, void *userdata);
/* Orphans dropped: the holder full, too old, or no memory. */
uint64_t sonde_orphans_dropped(const struct sonde_orphans *o);

#endif
