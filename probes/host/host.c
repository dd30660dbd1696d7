// SPDX-License-Identifier: MIT
#include "host.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "collector_module.h"
#include "module.h"

/* Debian's node_exporter 1.5 defaults, in POSIX ERE (no \d). */
#define DEF_MP_EXCLUDE "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
#define DEF_FSTYPE_EXCLUDE                                                                   \
	"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|" \
	"iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|"      \
	"squashfs|sysfs|tracefs)$"
#define DEF_DISK_EXCLUDE "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme[0-9]+n[0-9]+p)[0-9]+$"
#define DEF_NET_EXCLUDE "^lo$"
/* The fields node_exporter 1.5 exports by default. */
#define DEF_NETSTAT_FIELDS                                                                    \
	"^(Ip_Forwarding|IpExt_(InOctets|OutOctets)|Ip6_(InOctets|OutOctets)|"                \
	"Icmp6?_(InErrors|InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|"      \
	"TCPTimeouts)|Tcp_(ActiveOpens|InErrs|InSegs|OutRsts|OutSegs|PassiveOpens|RetransSegs|" \
	"CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors|"        \
	"InErrors)|UdpLite6?_InErrors)$"
#define DEF_VMSTAT_FIELDS "^(oom_kill|pgpg|pswp|pg.*fault).*"

const char *const sonde_host_collector_names[HOST_COLL_N] = {
	[HOST_COLL_CPU] = "cpu",	       [HOST_COLL_STAT] = "stat",
	[HOST_COLL_MEMINFO] = "meminfo",       [HOST_COLL_LOADAVG] = "loadavg",
	[HOST_COLL_FILESYSTEM] = "filesystem", [HOST_COLL_DISKSTATS] = "diskstats",
	[HOST_COLL_NETDEV] = "netdev",	       [HOST_COLL_PRESSURE] = "pressure",
	[HOST_COLL_FILEFD] = "filefd",	       [HOST_COLL_TIME] = "time",
	[HOST_COLL_UNAME] = "uname",	       [HOST_COLL_NETSTAT] = "netstat",
	[HOST_COLL_VMSTAT] = "vmstat",	       [HOST_COLL_SOCKSTAT] = "sockstat",
	[HOST_COLL_ENTROPY] = "entropy",       [HOST_COLL_CONNTRACK] = "conntrack",
};

typedef int (*collect_fn)(struct sonde_host *h, unsigned *parse_errors);

static const collect_fn collectors[HOST_COLL_N] = {
	[HOST_COLL_CPU] = sonde_host_collect_cpu,
	[HOST_COLL_STAT] = sonde_host_collect_stat,
	[HOST_COLL_MEMINFO] = sonde_host_collect_meminfo,
	[HOST_COLL_LOADAVG] = sonde_host_collect_loadavg,
	[HOST_COLL_FILESYSTEM] = sonde_host_collect_filesystem,
	[HOST_COLL_DISKSTATS] = sonde_host_collect_diskstats,
	[HOST_COLL_NETDEV] = sonde_host_collect_netdev,
	[HOST_COLL_PRESSURE] = sonde_host_collect_pressure,
	[HOST_COLL_FILEFD] = sonde_host_collect_filefd,
	[HOST_COLL_TIME] = sonde_host_collect_time,
	[HOST_COLL_UNAME] = sonde_host_collect_uname,
	[HOST_COLL_NETSTAT] = sonde_host_collect_netstat,
	[HOST_COLL_VMSTAT] = sonde_host_collect_vmstat,
	[HOST_COLL_SOCKSTAT] = sonde_host_collect_sockstat,
	[HOST_COLL_ENTROPY] = sonde_host_collect_entropy,
	[HOST_COLL_CONNTRACK] = sonde_host_collect_conntrack,
};

#define F(field) offsetof(struct sonde_host_cfg, field)
#define SZ(field) sizeof(((struct sonde_host_cfg *)0)->field)

static const struct sonde_cfg_field host_fields[] = {
	{ .name = "enabled", .type = SONDE_CFG_BOOL, .offset = F(enabled), .def = "true",
	  .help = "export node_exporter-compatible host metrics" },
	{ .name = "procfs", .type = SONDE_CFG_STRING, .offset = F(procfs), .size = SZ(procfs),
	  .def = "/proc", .help = "procfs mount point (tests point it at a fixture tree)" },
	{ .name = "sysfs", .type = SONDE_CFG_STRING, .offset = F(sysfs), .size = SZ(sysfs),
	  .def = "/sys", .help = "sysfs mount point" },
	{ .name = "rootfs", .type = SONDE_CFG_STRING, .offset = F(rootfs), .size = SZ(rootfs),
	  .def = "/", .help = "host root, prefixed to mount points for statfs" },
	{ .name = "disable", .type = SONDE_CFG_STRLIST, .offset = F(disable),
	  .size = SZ(disable[0]), .max_items = 16, .count_offset = F(n_disable),
	  .help = "collectors to turn off: cpu, stat, meminfo, loadavg, filesystem, "
		  "diskstats, netdev, pressure, filefd, time, uname, netstat, vmstat, sockstat, entropy, conntrack" },
	{ .name = "mount_points_exclude", .type = SONDE_CFG_STRING,
	  .offset = F(mount_points_exclude), .size = SZ(mount_points_exclude),
	  .def = DEF_MP_EXCLUDE, .help = "POSIX extended regex of mount points to skip" },
	{ .name = "fs_types_exclude", .type = SONDE_CFG_STRING, .offset = F(fs_types_exclude),
	  .size = SZ(fs_types_exclude), .def = DEF_FSTYPE_EXCLUDE,
	  .help = "POSIX extended regex of filesystem types to skip" },
	{ .name = "diskstats_device_exclude", .type = SONDE_CFG_STRING,
	  .offset = F(diskstats_device_exclude), .size = SZ(diskstats_device_exclude),
	  .def = DEF_DISK_EXCLUDE, .help = "POSIX extended regex of block devices to skip" },
	{ .name = "netdev_device_exclude", .type = SONDE_CFG_STRING,
	  .offset = F(netdev_device_exclude), .size = SZ(netdev_device_exclude),
	  .def = DEF_NET_EXCLUDE, .help = "POSIX extended regex of network devices to skip" },
	{ .name = "netstat_fields", .type = SONDE_CFG_STRING, .offset = F(netstat_fields),
	  .size = SZ(netstat_fields), .def = DEF_NETSTAT_FIELDS,
	  .help = "POSIX extended regex of Proto_Field names from /proc/net/{netstat,snmp,snmp6}" },
	{ .name = "vmstat_fields", .type = SONDE_CFG_STRING, .offset = F(vmstat_fields),
	  .size = SZ(vmstat_fields), .def = DEF_VMSTAT_FIELDS,
	  .help = "POSIX extended regex of /proc/vmstat fields" },
	{ .name = "statfs_timeout", .type = SONDE_CFG_DURATION, .offset = F(statfs_timeout_ms),
	  .def = "5s", .min = 0, .max = 600000,
	  .help = "deadline of one statfs call; a mount that misses it is reported with "
		  "device_error 1 and skipped until the call returns (0: no deadline)" },
	SONDE_CFG_END,
};

static const struct sonde_cfg_section host_section = {
	.key = "host",
	.size = sizeof(struct sonde_host_cfg),
	.fields = host_fields,
	.help = "host resources with node_exporter's names (procfs, sysfs, statfs)",
};

static int compile(struct sonde_host *h, regex_t *re, const char *pattern, const char *what)
{
	int r = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

	if (r != 0) {
		char msg[128];

		regerror(r, re, msg, sizeof(msg));
		sonde_log(SONDE_LOG_ERR, "probe", "host", "%s: bad regex '%s': %s", what, pattern,
			  msg);
		return -EINVAL;
	}
	h->n_re++;
	return 0;
}

static int register_common(struct sonde_host *h)
{
	int err;

	if ((err = sonde_node_scrape_register(h->reg, &h->scrape)) < 0)
		return err;
	if ((err = sonde_host_family(h->reg, "sonde_host_stuck_mounts",
				     "Mount points whose statfs call missed its deadline and has "
				     "not returned yet.",
				     SONDE_GAUGE, NULL, NULL, 0, &h->stuck_mounts)) < 0)
		return err;
	return sonde_host_family(h->reg, "sonde_host_parse_errors_total",
				 "Malformed lines or files met by a host collector.", SONDE_COUNTER,
				 "collector", NULL, 64, &h->parse_errors);
}

/* Families of the fixed collectors, registered up front (meminfo registers as it reads). */
int sonde_host_register_cpu(struct sonde_host *h);
int sonde_host_register_stat(struct sonde_host *h);
int sonde_host_register_filesystem(struct sonde_host *h);
int sonde_host_register_diskstats(struct sonde_host *h);
int sonde_host_register_netdev(struct sonde_host *h);
int sonde_host_register_pressure(struct sonde_host *h);
int sonde_host_register_single(struct sonde_host *h);

static int register_all(struct sonde_host *h)
{
	int (*const regs[])(struct sonde_host *) = {
		register_common,	       sonde_host_register_cpu,
		sonde_host_register_stat,      sonde_host_register_filesystem,
		sonde_host_register_diskstats, sonde_host_register_netdev,
		sonde_host_register_pressure,  sonde_host_register_single,
	};
	int err;

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if ((err = regs[i](h)) < 0)
			return err;
	return 0;
}

static int host_statfs(const char *path, struct statfs *ret_st)
{
	return statfs(path, ret_st) < 0 ? -errno : 0;
}

int sonde_host_new(struct sonde_registry *reg, const struct sonde_host_cfg *cfg,
		   struct sonde_host **ret_host)
{
	struct sonde_host *h;
	int err = -ENOMEM;

	h = calloc(1, sizeof(*h));
	if (!h)
		goto fail;
	h->reg = reg;
	h->cfg = *cfg;
	h->statfs_fn = host_statfs;
	h->buf.max = 4 << 20; /* /proc/stat's intr line grows with IRQs x CPUs */
	h->user_hz = sonde_host_user_hz();
	h->page_size = sonde_host_page_size();

	for (unsigned i = 0; i < HOST_COLL_N; i++)
		h->enabled[i] = true;
	for (unsigned d = 0; d < cfg->n_disable; d++) {
		unsigned i;

		for (i = 0; i < HOST_COLL_N; i++)
			if (strcmp(cfg->disable[d], sonde_host_collector_names[i]) == 0)
				break;
		if (i == HOST_COLL_N) {
			sonde_log(SONDE_LOG_ERR, "probe", "host", "disable: unknown collector '%s'",
				  cfg->disable[d]);
			err = -EINVAL;
			goto fail;
		}
		h->enabled[i] = false;
	}

	/* n_re counts compiled regexes in this order, so free knows which to release. */
	if ((err = compile(h, &h->mp_re, cfg->mount_points_exclude, "mount_points_exclude")) < 0 ||
	    (err = compile(h, &h->fstype_re, cfg->fs_types_exclude, "fs_types_exclude")) < 0 ||
	    (err = compile(h, &h->disk_re, cfg->diskstats_device_exclude,
			   "diskstats_device_exclude")) < 0 ||
	    (err = compile(h, &h->net_re, cfg->netdev_device_exclude, "netdev_device_exclude")) < 0 ||
	    (err = compile(h, &h->netstat_re, cfg->netstat_fields, "netstat_fields")) < 0 ||
	    (err = compile(h, &h->vmstat_re, cfg->vmstat_fields, "vmstat_fields")) < 0)
		goto fail;
	if ((err = register_all(h)) < 0) {
		sonde_log(SONDE_LOG_ERR, "probe", "host", "registering metrics: %s",
			  strerror(-err));
		goto fail;
	}
	*ret_host = h;
	return 0;
fail:
	sonde_host_free(h);
	return err;
}

void sonde_host_free(struct sonde_host *h)
{
	regex_t *res[6];

	if (!h)
		return;
	res[0] = &h->mp_re;
	res[1] = &h->fstype_re;
	res[2] = &h->disk_re;
	res[3] = &h->net_re;
	res[4] = &h->netstat_re;
	res[5] = &h->vmstat_re;
	for (unsigned i = 0; i < h->n_re; i++)
		regfree(res[i]);
	sonde_host_statfs_release(h);
	sonde_host_buf_release(&h->buf);
	free(h->cpu_prev);
	free(h->mem);
	free(h);
}

void sonde_host_set_statfs(struct sonde_host *h, sonde_host_statfs_fn fn)
{
	h->statfs_fn = fn ? fn : host_statfs;
}

void sonde_host_collect(void *userdata)
{
	struct sonde_host *h = userdata;

	for (unsigned i = 0; i < HOST_COLL_N; i++) {
		const char *lv[1] = { sonde_host_collector_names[i] };
		unsigned parse_errors = 0;
		double t0;
		int r;

		if (!h->enabled[i])
			continue;
		t0 = sonde_node_scrape_now();
		r = collectors[i](h, &parse_errors);
		sonde_node_scrape_done(&h->scrape, lv[0], t0, r == 0 && parse_errors == 0);
		/* Touch the counter even at zero so it is visible before the first error. */
		sonde_counter_add(sonde_family_series(h->parse_errors, lv), parse_errors);
	}
}

/* ---- module glue ---- */

static void host_obj_free(void *obj)
{
	sonde_host_free(obj);
}

static int host_init(struct sonde_agent *agent, const void *section, void **ret_state)
{
	const struct sonde_host_cfg *cfg = section;
	struct sonde_host *obj;
	int err;

	if (!cfg->enabled) {
		*ret_state = NULL;
		return 0;
	}
	if ((err = sonde_host_new(agent->registry, cfg, &obj)) < 0) {
		return err;
	}
	return sonde_collector_module_new(agent->registry, obj, sonde_host_collect,
					  host_obj_free, ret_state);
}

const struct sonde_module_ops sonde_host_module = {
	.name = "host",
	.config = &host_section,
	.init = host_init,
	.start = sonde_collector_module_start,
	.stop = sonde_collector_module_stop,
	.free = sonde_collector_module_free,
};
