// SPDX-License-Identifier: MIT
/*
 * node_netstat_* (/proc/net/netstat, /proc/net/snmp, /proc/net/snmp6),
 * node_vmstat_* (/proc/vmstat), with node_exporter 1.5's default field
 * selections, and node_sockstat_* (/proc/net/sockstat{,6}). node_exporter
 * types netstat and vmstat "untyped"; the registry has no such type, so
 * they are gauges (rate() works on either).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* Finds or registers node_<sub>_<key>; NULL past the table size or on a bad name. */
static struct sonde_family *dyn_family(struct sonde_host *h, struct sonde_host_dyn *tab,
				       size_t *n, const char *prefix, const char *key,
				       const char *help)
{
	size_t cap = tab == h->sockstat ? sizeof(h->sockstat) / sizeof(h->sockstat[0])
					: SONDE_HOST_DYN_MAX;
	char name[160];
	struct sonde_family *fam;

	for (size_t i = 0; i < *n; i++)
		if (strcmp(tab[i].key, key) == 0)
			return tab[i].fam;
	if (*n >= cap || strlen(key) >= sizeof(tab[0].key))
		return NULL;
	snprintf(name, sizeof(name), "%s%s", prefix, key);
	if (sonde_host_family(h->reg, name, help, SONDE_GAUGE, NULL, NULL, 0, &fam) < 0)
		return NULL;
	snprintf(tab[*n].key, sizeof(tab[*n].key), "%s", key);
	tab[*n].fam = fam;
	(*n)++;
	return fam;
}

static void set_netstat(struct sonde_host *h, const char *proto, size_t pl, const char *field,
			size_t fl, double v)
{
	char key[128], help[160];
	struct sonde_family *fam;

	if (pl + fl + 2 > sizeof(key))
		return;
	snprintf(key, sizeof(key), "%.*s_%.*s", (int)pl, proto, (int)fl, field);
	if (regexec(&h->netstat_re, key, 0, NULL, 0) != 0)
		return;
	snprintf(help, sizeof(help), "Statistic %.*s%.*s.", (int)pl, proto, (int)fl, field);
	fam = dyn_family(h, h->netstat, &h->n_netstat, "node_netstat_", key, help);
	if (fam)
		sonde_gauge_set(sonde_family_solo(fam), v);
}

/* "Proto: f1 f2 ...\nProto: v1 v2 ...\n" pairs (netstat, snmp). */
static int header_value_pairs(struct sonde_host *h, const char *rel, unsigned *parse_errors)
{
	const char *pos, *end, *hl, *vl;
	size_t hlen, vlen;
	int err;

	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, rel)) < 0)
		return err;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &hl, &hlen)) {
		const char *hp = hl, *he = hl + hlen, *vp, *ve, *ht, *vt;
		size_t htl, vtl, pl;

		if (hlen == 0)
			continue;
		if (!sonde_host_line_next(&pos, end, &vl, &vlen)) {
			(*parse_errors)++;
			break;
		}
		vp = vl;
		ve = vl + vlen;
		if (!sonde_host_tok_next(&hp, he, &ht, &htl) || !sonde_host_tok_next(&vp, ve, &vt, &vtl) ||
		    htl < 2 || ht[htl - 1] != ':' || htl != vtl || memcmp(ht, vt, htl) != 0) {
			(*parse_errors)++;
			continue;
		}
		pl = htl - 1;
		for (;;) {
			const char *f, *v;
			size_t fl, vl2;
			bool hf = sonde_host_tok_next(&hp, he, &f, &fl);
			bool hv = sonde_host_tok_next(&vp, ve, &v, &vl2);
			double d;

			if (!hf && !hv)
				break;
			if (hf != hv) {
				(*parse_errors)++;
				break;
			}
			/* snmp's Tcp MaxConn is -1: parse as a float, not an unsigned. */
			if (!sonde_host_parse_double(v, vl2, &d)) {
				(*parse_errors)++;
				continue;
			}
			set_netstat(h, ht, pl, f, fl, d);
		}
	}
	return 0;
}

/* snmp6: "Ip6InOctets  123" lines; the protocol is the prefix before the field. */
static int snmp6(struct sonde_host *h, unsigned *parse_errors)
{
	static const char *const protos[] = { "UdpLite6", "Icmp6", "Udp6", "Ip6" };
	const char *pos, *end, *line;
	size_t ll;
	int err;

	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "net/snmp6")) < 0)
		return err;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll, *k, *v;
		size_t kl, vl;
		double d;
		size_t i;

		if (!sonde_host_tok_next(&lp, le, &k, &kl))
			continue;
		if (!sonde_host_tok_next(&lp, le, &v, &vl) || !sonde_host_parse_double(v, vl, &d)) {
			(*parse_errors)++;
			continue;
		}
		for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
			size_t pl = strlen(protos[i]);

			if (kl > pl && memcmp(k, protos[i], pl) == 0) {
				set_netstat(h, k, pl, k + pl, kl - pl, d);
				break;
			}
		}
	}
	return 0;
}

int sonde_host_collect_netstat(struct sonde_host *h, unsigned *parse_errors)
{
	int err, e;

	for (size_t i = 0; i < h->n_netstat; i++)
		sonde_family_mark(h->netstat[i].fam);
	err = header_value_pairs(h, "net/netstat", parse_errors);
	if ((e = header_value_pairs(h, "net/snmp", parse_errors)) < 0)
		err = e;
	/* No IPv6 (ipv6.disable=1): no snmp6, not an error. */
	if ((e = snmp6(h, parse_errors)) < 0 && e != -ENOENT)
		err = e;
	for (size_t i = 0; i < h->n_netstat; i++)
		sonde_family_sweep(h->netstat[i].fam);
	return err;
}

int sonde_host_collect_vmstat(struct sonde_host *h, unsigned *parse_errors)
{
	const char *pos, *end, *line;
	size_t ll;
	int err;

	for (size_t i = 0; i < h->n_vmstat; i++)
		sonde_family_mark(h->vmstat[i].fam);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "vmstat")) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll, *k, *v;
		char key[64], help[128];
		struct sonde_family *fam;
		size_t kl, vl;
		double d;

		if (!sonde_host_tok_next(&lp, le, &k, &kl))
			continue;
		if (kl >= sizeof(key) || !sonde_host_tok_next(&lp, le, &v, &vl) ||
		    !sonde_host_parse_double(v, vl, &d)) {
			(*parse_errors)++;
			continue;
		}
		memcpy(key, k, kl);
		key[kl] = '\0';
		if (regexec(&h->vmstat_re, key, 0, NULL, 0) != 0)
			continue;
		snprintf(help, sizeof(help), "/proc/vmstat information field %s.", key);
		fam = dyn_family(h, h->vmstat, &h->n_vmstat, "node_vmstat_", key, help);
		if (fam)
			sonde_gauge_set(sonde_family_solo(fam), d);
		else
			(*parse_errors)++;
	}
out:
	for (size_t i = 0; i < h->n_vmstat; i++)
		sonde_family_sweep(h->vmstat[i].fam);
	return err;
}

/* "Proto: key value key value ..." lines; "sockets: used N" is IPv4's total. */
static int sockstat_file(struct sonde_host *h, const char *rel, unsigned *parse_errors)
{
	const char *pos, *end, *line;
	size_t ll;
	int err;

	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, rel)) < 0)
		return err;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll, *proto, *k, *v;
		size_t pl, kl, vl;

		if (!sonde_host_tok_next(&lp, le, &proto, &pl))
			continue;
		if (pl < 2 || proto[pl - 1] != ':' || pl > 32) {
			(*parse_errors)++;
			continue;
		}
		pl--;
		while (sonde_host_tok_next(&lp, le, &k, &kl)) {
			char key[96], help[160];
			struct sonde_family *fam;
			bool sockets = pl == 7 && memcmp(proto, "sockets", 7) == 0;
			double d;

			if (!sonde_host_tok_next(&lp, le, &v, &vl) || !sonde_host_parse_double(v, vl, &d) ||
			    kl > 32) {
				(*parse_errors)++;
				break;
			}
			snprintf(key, sizeof(key), "%.*s_%.*s", (int)pl, proto, (int)kl, k);
			if (sockets)
				snprintf(help, sizeof(help), "Number of IPv4 sockets in %.*s.", (int)kl, k);
			else
				snprintf(help, sizeof(help), "Number of %.*s sockets in state %.*s.",
					 (int)pl, proto, (int)kl, k);
			fam = dyn_family(h, h->sockstat, &h->n_sockstat, "node_sockstat_", key, help);
			if (!fam) {
				(*parse_errors)++;
				continue;
			}
			sonde_gauge_set(sonde_family_solo(fam), d);
			/* "mem" is in pages; node_exporter adds the byte value. */
			if (!sockets && kl == 3 && memcmp(k, "mem", 3) == 0) {
				snprintf(key, sizeof(key), "%.*s_mem_bytes", (int)pl, proto);
				snprintf(help, sizeof(help), "Number of %.*s sockets in state mem_bytes.",
					 (int)pl, proto);
				fam = dyn_family(h, h->sockstat, &h->n_sockstat, "node_sockstat_", key,
						 help);
				if (fam)
					sonde_gauge_set(sonde_family_solo(fam), d * h->page_size);
			}
		}
	}
	return 0;
}

int sonde_host_collect_sockstat(struct sonde_host *h, unsigned *parse_errors)
{
	int err, e;

	for (size_t i = 0; i < h->n_sockstat; i++)
		sonde_family_mark(h->sockstat[i].fam);
	err = sockstat_file(h, "net/sockstat", parse_errors);
	if ((e = sockstat_file(h, "net/sockstat6", parse_errors)) < 0 && e != -ENOENT)
		err = e;
	for (size_t i = 0; i < h->n_sockstat; i++)
		sonde_family_sweep(h->sockstat[i].fam);
	return err;
}
