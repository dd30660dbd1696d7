// SPDX-License-Identifier: MIT
/* Block devices (/proc/diskstats), network devices (/proc/net/dev), PSI (/proc/pressure). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

struct field_def {
	const char *name, *help;
	enum sonde_metric_type type;
	double scale;
};

/* /proc/diskstats columns after "major minor name", in the kernel's order. */
static const struct field_def disk_fields[HOST_DISK_FIELDS] = {
	{ "node_disk_reads_completed_total", "The total number of reads completed successfully.",
	  SONDE_COUNTER, 1 },
	{ "node_disk_reads_merged_total", "The total number of reads merged.", SONDE_COUNTER, 1 },
	{ "node_disk_read_bytes_total", "The total number of bytes read successfully.",
	  SONDE_COUNTER, 512 },
	{ "node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
	  SONDE_COUNTER, 0.001 },
	{ "node_disk_writes_completed_total",
	  "The total number of writes completed successfully.", SONDE_COUNTER, 1 },
	{ "node_disk_writes_merged_total", "The number of writes merged.", SONDE_COUNTER, 1 },
	{ "node_disk_written_bytes_total", "The total number of bytes written successfully.",
	  SONDE_COUNTER, 512 },
	{ "node_disk_write_time_seconds_total",
	  "This is the total number of seconds spent by all writes.", SONDE_COUNTER, 0.001 },
	{ "node_disk_io_now", "The number of I/Os currently in progress.", SONDE_GAUGE, 1 },
	{ "node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", SONDE_COUNTER,
	  0.001 },
	{ "node_disk_io_time_weighted_seconds_total",
	  "The weighted # of seconds spent doing I/Os.", SONDE_COUNTER, 0.001 },
	{ "node_disk_discards_completed_total",
	  "The total number of discards completed successfully.", SONDE_COUNTER, 1 },
	{ "node_disk_discards_merged_total", "The total number of discards merged.",
	  SONDE_COUNTER, 1 },
	/* node_exporter exports discarded sectors, not bytes. */
	{ "node_disk_discarded_sectors_total",
	  "The total number of sectors discarded successfully.", SONDE_COUNTER, 1 },
	{ "node_disk_discard_time_seconds_total",
	  "This is the total number of seconds spent by all discards.", SONDE_COUNTER, 0.001 },
	{ "node_disk_flush_requests_total",
	  "The total number of flush requests completed successfully", SONDE_COUNTER, 1 },
	{ "node_disk_flush_requests_time_seconds_total",
	  "This is the total number of seconds spent by all flush requests.", SONDE_COUNTER,
	  0.001 },
};

/* /proc/net/dev columns after "name:". */
static const char *const net_fields[HOST_NET_FIELDS] = {
	"receive_bytes",     "receive_packets",	   "receive_errs",     "receive_drop",
	"receive_fifo",	     "receive_frame",	   "receive_compressed", "receive_multicast",
	"transmit_bytes",    "transmit_packets",   "transmit_errs",    "transmit_drop",
	"transmit_fifo",     "transmit_colls",	   "transmit_carrier", "transmit_compressed",
};

enum { PSI_CPU_WAIT, PSI_MEM_WAIT, PSI_MEM_STALL, PSI_IO_WAIT, PSI_IO_STALL };

static const struct field_def psi_fields[HOST_PSI_FIELDS] = {
	[PSI_CPU_WAIT] = { "node_pressure_cpu_waiting_seconds_total",
			   "Total time in seconds that processes have waited for CPU time",
			   SONDE_COUNTER, 1 },
	[PSI_MEM_WAIT] = { "node_pressure_memory_waiting_seconds_total",
			   "Total time in seconds that processes have waited for memory",
			   SONDE_COUNTER, 1 },
	[PSI_MEM_STALL] = { "node_pressure_memory_stalled_seconds_total",
			    "Total time in seconds no process could make progress due to memory "
			    "congestion",
			    SONDE_COUNTER, 1 },
	[PSI_IO_WAIT] = { "node_pressure_io_waiting_seconds_total",
			  "Total time in seconds that processes have waited due to IO congestion",
			  SONDE_COUNTER, 1 },
	[PSI_IO_STALL] = { "node_pressure_io_stalled_seconds_total",
			   "Total time in seconds no process could make progress due to IO "
			   "congestion",
			   SONDE_COUNTER, 1 },
};

int sonde_host_register_diskstats(struct sonde_host *h)
{
	int err;

	for (int i = 0; i < HOST_DISK_FIELDS; i++)
		if ((err = sonde_host_family(h->reg, disk_fields[i].name, disk_fields[i].help,
					     disk_fields[i].type, "device", NULL, 0, &h->disk[i])) < 0)
			return err;
	return 0;
}

int sonde_host_register_netdev(struct sonde_host *h)
{
	int err;

	for (int i = 0; i < HOST_NET_FIELDS; i++) {
		char name[64], help[96];

		snprintf(name, sizeof(name), "node_network_%s_total", net_fields[i]);
		snprintf(help, sizeof(help), "Network device statistic %s.", net_fields[i]);
		if ((err = sonde_host_family(h->reg, name, help, SONDE_COUNTER, "device", NULL, 0,
					     &h->net[i])) < 0)
			return err;
	}
	return 0;
}

int sonde_host_register_pressure(struct sonde_host *h)
{
	int err;

	for (int i = 0; i < HOST_PSI_FIELDS; i++)
		if ((err = sonde_host_family(h->reg, psi_fields[i].name, psi_fields[i].help,
					     SONDE_COUNTER, NULL, NULL, 0, &h->psi[i])) < 0)
			return err;
	return 0;
}

static void set_value(struct sonde_family *fam, enum sonde_metric_type type,
		      const char *const *lv, double v)
{
	if (type == SONDE_COUNTER)
		sonde_counter_set(sonde_family_series(fam, lv), v);
	else
		sonde_gauge_set(sonde_family_series(fam, lv), v);
}

static void mark_all(struct sonde_family **fams, int n)
{
	for (int i = 0; i < n; i++)
		sonde_family_mark(fams[i]);
}

static void sweep_all(struct sonde_family **fams, int n)
{
	for (int i = 0; i < n; i++)
		sonde_family_sweep(fams[i]);
}

int sonde_host_collect_diskstats(struct sonde_host *h, unsigned *parse_errors)
{
	const char *pos, *end, *line;
	size_t ll;
	int err;

	mark_all(h->disk, HOST_DISK_FIELDS);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "diskstats")) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll, *tok;
		size_t tl;
		char dev[SONDE_LABEL_VALUE_MAX];
		uint64_t v[HOST_DISK_FIELDS], num;
		int n = 0, i;
		bool bad = false;

		for (i = 0; i < 2; i++)
			if (!sonde_host_tok_next(&lp, le, &tok, &tl) ||
			    !sonde_host_parse_u64(tok, tl, &num))
				break;
		if (i == 0 && lp == le)
			continue; /* blank line */
		if (i < 2 || !sonde_host_tok_next(&lp, le, &tok, &tl) || tl >= sizeof(dev)) {
			(*parse_errors)++;
			continue;
		}
		memcpy(dev, tok, tl);
		dev[tl] = '\0';
		while (n < HOST_DISK_FIELDS && sonde_host_tok_next(&lp, le, &tok, &tl)) {
			if (!sonde_host_parse_u64(tok, tl, &v[n])) {
				bad = true;
				break;
			}
			n++;
		}
		/* 11 columns since 2.6, 15 with discards (4.18), 17 with flushes (5.5). */
		if (bad || n < 11) {
			(*parse_errors)++;
			continue;
		}
		if (regexec(&h->disk_re, dev, 0, NULL, 0) == 0)
			continue;
		for (i = 0; i < n; i++) {
			const char *lv[1] = { dev };

			set_value(h->disk[i], disk_fields[i].type, lv,
				  (double)v[i] * disk_fields[i].scale);
		}
	}
out:
	sweep_all(h->disk, HOST_DISK_FIELDS);
	return err;
}

int sonde_host_collect_netdev(struct sonde_host *h, unsigned *parse_errors)
{
	const char *pos, *end, *line;
	size_t ll;
	int err;

	mark_all(h->net, HOST_NET_FIELDS);
	if ((err = sonde_host_buf_read(&h->buf, h->cfg.procfs, "net/dev")) < 0)
		goto out;
	pos = h->buf.data;
	end = h->buf.data + h->buf.len;
	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *colon = memchr(line, ':', ll), *lp, *le = line + ll, *tok, *np;
		char dev[SONDE_LABEL_VALUE_MAX];
		uint64_t v[HOST_NET_FIELDS];
		size_t nl, tl;
		int n = 0;

		/* The two header lines have '|' and no ':'. */
		if (!colon) {
			if (!memchr(line, '|', ll) && ll > 0)
				(*parse_errors)++;
			continue;
		}
		np = line;
		while (np < colon && (*np == ' ' || *np == '\t'))
			np++;
		nl = (size_t)(colon - np);
		if (nl == 0 || nl >= sizeof(dev)) {
			(*parse_errors)++;
			continue;
		}
		memcpy(dev, np, nl);
		dev[nl] = '\0';
		lp = colon + 1;
		while (n < HOST_NET_FIELDS && sonde_host_tok_next(&lp, le, &tok, &tl) &&
		       sonde_host_parse_u64(tok, tl, &v[n]))
			n++;
		if (n < HOST_NET_FIELDS) {
			(*parse_errors)++;
			continue;
		}
		if (regexec(&h->net_re, dev, 0, NULL, 0) == 0)
			continue;
		for (int i = 0; i < HOST_NET_FIELDS; i++) {
			const char *lv[1] = { dev };

			sonde_counter_set(sonde_family_series(h->net[i], lv), (double)v[i]);
		}
	}
out:
	sweep_all(h->net, HOST_NET_FIELDS);
	return err;
}

int sonde_host_collect_pressure(struct sonde_host *h, unsigned *parse_errors)
{
	const struct {
		const char *file;
		int some, full; /* psi index or -1 */
	} res[] = {
		{ "pressure/cpu", PSI_CPU_WAIT, -1 },
		{ "pressure/memory", PSI_MEM_WAIT, PSI_MEM_STALL },
		{ "pressure/io", PSI_IO_WAIT, PSI_IO_STALL },
	};
	int err = 0;

	mark_all(h->psi, HOST_PSI_FIELDS);
	for (size_t r = 0; r < sizeof(res) / sizeof(res[0]); r++) {
		double some, full;
		unsigned have;
		int e = sonde_host_buf_read(&h->buf, h->cfg.procfs, res[r].file);

		/* Kernels without PSI (or booted psi=0) have no files, or refuse to read them. */
		if (e == -ENOENT || e == -EOPNOTSUPP)
			continue;
		if (e < 0) {
			err = e;
			continue;
		}
		if (sonde_host_parse_psi(h->buf.data, h->buf.len, &some, &full, &have) < 0) {
			(*parse_errors)++;
			continue;
		}
		if (have & 1)
			sonde_counter_set(sonde_family_solo(h->psi[res[r].some]), some);
		if ((have & 2) && res[r].full >= 0)
			sonde_counter_set(sonde_family_solo(h->psi[res[r].full]), full);
	}
	sweep_all(h->psi, HOST_PSI_FIELDS);
	return err;
}
