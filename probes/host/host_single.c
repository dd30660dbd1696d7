// SPDX-License-Identifier: MIT
/* Collectors made of one-number files: entropy and conntrack. */
#include <errno.h>
#include <stdio.h>

#include "host.h"

static const struct single_def {
	int collector;
	const char *file, *name, *help;
} singles[HOST_SINGLE_N] = {
	{ HOST_COLL_ENTROPY, "sys/kernel/random/entropy_avail", "node_entropy_available_bits",
	  "Bits of available entropy." },
	{ HOST_COLL_ENTROPY, "sys/kernel/random/poolsize", "node_entropy_pool_size_bits",
	  "Bits of entropy pool." },
	{ HOST_COLL_CONNTRACK, "sys/net/netfilter/nf_conntrack_count", "node_nf_conntrack_entries",
	  "Number of currently allocated flow entries for connection tracking." },
	{ HOST_COLL_CONNTRACK, "sys/net/netfilter/nf_conntrack_max",
	  "node_nf_conntrack_entries_limit", "Maximum size of connection tracking table." },
};

int sonde_host_register_single(struct sonde_host *h)
{
	int err;

	for (int i = 0; i < HOST_SINGLE_N; i++)
		if ((err = sonde_host_family(h->reg, singles[i].name, singles[i].help, SONDE_GAUGE,
					     NULL, NULL, 0, &h->single[i])) < 0)
			return err;
	return 0;
}

/* Files that do not exist (nf_conntrack not loaded) are skipped without error. */
static int collect_single(struct sonde_host *h, int collector, unsigned *parse_errors)
{
	int err = 0;

	for (int i = 0; i < HOST_SINGLE_N; i++) {
		char path[4096];
		uint64_t v;
		int e;

		if (singles[i].collector != collector)
			continue;
		sonde_family_mark(h->single[i]);
		e = sonde_path_join(path, sizeof(path), h->cfg.procfs, singles[i].file);
		if (e == 0)
			e = sonde_host_read_u64(&h->buf, path, &v);
		if (e == 0)
			sonde_gauge_set(sonde_family_solo(h->single[i]), (double)v);
		else if (e == -EBADMSG)
			(*parse_errors)++;
		else if (e != -ENOENT)
			err = e;
		sonde_family_sweep(h->single[i]);
	}
	return err;
}

int sonde_host_collect_entropy(struct sonde_host *h, unsigned *parse_errors)
{
	return collect_single(h, HOST_COLL_ENTROPY, parse_errors);
}

int sonde_host_collect_conntrack(struct sonde_host *h, unsigned *parse_errors)
{
	return collect_single(h, HOST_COLL_CONNTRACK, parse_errors);
}
