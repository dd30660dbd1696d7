// SPDX-License-Identifier: MIT
/* /proc/meminfo with node_exporter's naming: "Active(anon): N kB" -> node_memory_Active_anon_bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

int sonde_host_meminfo_name(const char *key, size_t keylen, bool has_unit, char *out,
			    size_t outlen)
{
	static const char prefix[] = "node_memory_";
	size_t o = sizeof(prefix) - 1;

	if (keylen == 0 || outlen <= o)
		return -EINVAL;
	memcpy(out, prefix, o);
	for (size_t i = 0; i < keylen; i++) {
		char c = key[i];

		if (c == ')')
			continue;
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		/* "(" becomes "_" and ")" vanishes; anything else odd becomes "_". */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[o++] = c;
	}
	if (has_unit) {
		if (o + sizeof("_bytes") > outlen)
			return -ENAMETOOLONG;
		memcpy(out + o, "_bytes", sizeof("_bytes"));
	} else {
		out[o] = '\0';
	}
	return 0;
}

/* The family for this key, registered on first sight (kernels differ in fields). */
static struct sonde_family *meminfo_family(struct sonde_host *h, const char *key, size_t kl,
					   bool has_unit, size_t *hint)
{
	char name[128], help[192];
	struct sonde_host_meminfo_fam *e;
	struct sonde_family *fam;

	if (kl >= sizeof(e->key))
		return NULL;
	/* Lines come in the same order every read: try the next slot first. */
	if (*hint < h->n_mem && strncmp(h->mem[*hint].key, key, kl) == 0 &&
	    h->mem[*hint].key[kl] == '\0')
		return h->mem[(*hint)++].fam;
	for (size_t i = 0; i < h->n_mem; i++) {
		if (strncmp(h->mem[i].key, key, kl) == 0 && h->mem[i].key[kl] == '\0') {
			*hint = i + 1;
			return h->mem[i].fam;
		}
	}
	if (h->n_mem >= SONDE_HOST_MEMINFO_MAX) {
		h->mem_dropped++;
		return NULL;
	}
	if (sonde_host_meminfo_name(key, kl, has_unit, name, sizeof(name)) < 0)
		return NULL;
	snprintf(help, sizeof(help), "Memory information field %s.", name + strlen("node_memory_"));
	if (sonde_host_family(h->reg, name, help, SONDE_GAUGE, NULL, NULL, 0, &fam) < 0)
		return NULL;
	if (!h->mem) {
		h->mem = calloc(SONDE_HOST_MEMINFO_MAX, sizeof(*h->mem));
		if (!h->mem)
			return NULL;
	}
	e = &h->mem[h->n_mem++];
	memcpy(e->key, key, kl);
	e->key[kl] = '\0';
	e->fam = fam;
	*hint = h->n_mem;
	return fam;
}

int sonde_host_collect_meminfo(struct sonde_host *h, unsigned *parse_errors)
{
	const char *pos, *end, *line;
	size_t ll, hint = 0, found = 0;
	int err;

	for (size_t i = 0; i < h->n_mem; i++)
		sonde_family_mark(h->mem[i].fam);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "meminfo")) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll, *key, *vt, *ut;
		size_t kl, vl, ul;
		struct sonde_family *fam;
		bool has_unit;
		uint64_t v;

		if (!sonde_host_tok_next(&lp, le, &key, &kl))
			continue;
		if (kl < 2 || key[kl - 1] != ':' || !sonde_host_tok_next(&lp, le, &vt, &vl) ||
		    !sonde_host_parse_u64(vt, vl, &v)) {
			(*parse_errors)++;
			continue;
		}
		/* Like node_exporter, any unit is taken to be kB (the only one Linux prints). */
		has_unit = sonde_host_tok_next(&lp, le, &ut, &ul);
		fam = meminfo_family(h, key, kl - 1, has_unit, &hint);
		if (!fam) {
			(*parse_errors)++;
			continue;
		}
		sonde_gauge_set(sonde_family_solo(fam), has_unit ? (double)v * 1024.0 : (double)v);
		found++;
	}
	if (found == 0)
		err = -ENODATA;
out:
	for (size_t i = 0; i < h->n_mem; i++)
		sonde_family_sweep(h->mem[i].fam);
	return err;
}
