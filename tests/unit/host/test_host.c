// SPDX-License-Identifier: MIT
/* Host collectors against fixture /proc trees (tests/fixtures/host). */
#include <errno.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "host.h"
#include "snap.h"

struct fx {
	struct sonde_registry *reg;
	struct sonde_host *host;
	struct sonde_snapshot *snap;
};

static const char *fixtures(void)
{
	const char *e = getenv("SONDE_FIXTURES");

	return e && *e ? e : SONDE_FIXTURES;
}

static void default_cfg(struct sonde_host_cfg *cfg, const char *proc)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	snprintf(cfg->procfs, sizeof(cfg->procfs), "%s/host/%s", fixtures(), proc);
	snprintf(cfg->sysfs, sizeof(cfg->sysfs), "%s/host/sys", fixtures());
	strcpy(cfg->rootfs, "/");
	strcpy(cfg->mount_points_exclude,
	       "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)");
	strcpy(cfg->fs_types_exclude,
	       "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|"
	       "hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|"
	       "selinuxfs|squashfs|sysfs|tracefs)$");
	strcpy(cfg->diskstats_device_exclude,
	       "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme[0-9]+n[0-9]+p)[0-9]+$");
	strcpy(cfg->netdev_device_exclude, "^lo$");
	strcpy(cfg->netstat_fields,
	       "^(Ip_Forwarding|IpExt_(InOctets|OutOctets)|Ip6_(InOctets|OutOctets)|"
	       "Icmp6?_(InErrors|InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|"
	       "TCPTimeouts)|Tcp_(ActiveOpens|InErrs|InSegs|OutRsts|OutSegs|PassiveOpens|"
	       "RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|"
	       "SndbufErrors|InErrors)|UdpLite6?_InErrors)$");
	strcpy(cfg->vmstat_fields, "^(oom_kill|pgpg|pswp|pg.*fault).*");
}

/* statfs seam: fixed answers per path, -EIO for /broken. */
static int fake_statfs(const char *path, struct statfs *st)
{
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->f_bsize = 4096;
		st->f_blocks = 1000;
		st->f_bfree = 500;
		st->f_bavail = 400;
		st->f_files = 100;
		st->f_ffree = 50;
		return 0;
	}
	if (strcmp(path, "/srv/my data") == 0 || strcmp(path, "/boot") == 0 ||
	    strcmp(path, "/var/lib/docker/volumes") == 0 || strcmp(path, "/ok") == 0 ||
	    strncmp(path, "/host/", 6) == 0) {
		st->f_bsize = 512;
		st->f_blocks = 10;
		st->f_bfree = 3;
		st->f_bavail = 2;
		st->f_files = 7;
		st->f_ffree = 6;
		return 0;
	}
	return -EIO;
}

static void fx_open(struct fx *fx, const struct sonde_host_cfg *cfg)
{
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(sonde_registry_new(0, &fx->reg), 0);
	assert_int_equal(sonde_host_new(fx->reg, cfg, &fx->host), 0);
	sonde_host_set_statfs(fx->host, fake_statfs);
	assert_int_equal(sonde_registry_add_collector(fx->reg, sonde_host_collect, fx->host), 0);
}

static void fx_scrape(struct fx *fx)
{
	sonde_snapshot_free(fx->snap);
	fx->snap = NULL;
	assert_int_equal(sonde_registry_snapshot(fx->reg, &fx->snap), 0);
}

static void fx_close(struct fx *fx)
{
	sonde_snapshot_free(fx->snap);
	sonde_registry_remove_collector(fx->reg, sonde_host_collect, fx->host);
	sonde_host_free(fx->host);
	sonde_registry_free(fx->reg);
}

static double hz(void)
{
	return (double)sysconf(_SC_CLK_TCK);
}

static void test_cpu_and_stat(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_cpu_seconds_total", "0", "user", NULL),
		    1393280 / hz(), 1e-9);
	assert_near(snap_value(fx.snap, "node_cpu_seconds_total", "1", "steal", NULL), 11 / hz(),
		    1e-9);
	assert_near(snap_value(fx.snap, "node_cpu_seconds_total", "1", "irq", NULL), 7 / hz(),
		    1e-9);
	assert_near(snap_value(fx.snap, "node_cpu_seconds_total", "0", "idle", NULL),
		    13343292 / hz(), 1e-6);
	assert_near(snap_value(fx.snap, "node_cpu_guest_seconds_total", "1", "user", NULL),
		    151695 / hz(), 1e-9);
	assert_near(snap_value(fx.snap, "node_cpu_guest_seconds_total", "1", "nice", NULL),
		    5 / hz(), 1e-9);
	/* Per CPU only: 2 CPUs x 8 modes, no aggregate "cpu" line. */
	assert_int_equal(snap_count(fx.snap, "node_cpu_seconds_total"), 16);

	assert_near(snap_value(fx.snap, "node_boot_time_seconds", NULL), 1418183276, 0);
	assert_near(snap_value(fx.snap, "node_context_switches_total", NULL), 38014093, 0);
	assert_near(snap_value(fx.snap, "node_intr_total", NULL), 8885917, 0);
	assert_near(snap_value(fx.snap, "node_forks_total", NULL), 26442, 0);
	assert_near(snap_value(fx.snap, "node_procs_running", NULL), 3, 0);
	assert_near(snap_value(fx.snap, "node_procs_blocked", NULL), 1, 0);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "cpu", NULL), 1, 0);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "stat", NULL), 1, 0);
	assert_false(isnan(snap_value(fx.snap, "node_scrape_collector_duration_seconds", "cpu",
				      NULL)));
	fx_close(&fx);
}

static void test_meminfo(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_memory_MemTotal_bytes", NULL), 15666184.0 * 1024, 0);
	assert_near(snap_value(fx.snap, "node_memory_Active_anon_bytes", NULL), 267256.0 * 1024,
		    0);
	assert_near(snap_value(fx.snap, "node_memory_Inactive_file_bytes", NULL),
		    6264216.0 * 1024, 0);
	assert_near(snap_value(fx.snap, "node_memory_HugePages_Total", NULL), 0, 0);
	assert_near(snap_value(fx.snap, "node_memory_Hugepagesize_bytes", NULL), 2048.0 * 1024, 0);
	assert_near(snap_value(fx.snap, "node_memory_DirectMap4k_bytes", NULL), 185032.0 * 1024, 0);
	assert_non_null(snap_family(fx.snap, "node_memory_SwapCached_bytes"));
	/* A second scrape reuses the families registered by the first. */
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_memory_MemFree_bytes", NULL), 440324.0 * 1024, 0);
	assert_int_equal(fx.host->n_mem, 16);
	fx_close(&fx);
}

static void test_meminfo_names(void **state)
{
	char out[64];

	assert_int_equal(sonde_host_meminfo_name("Active(anon)", 12, true, out, sizeof(out)), 0);
	assert_string_equal(out, "node_memory_Active_anon_bytes");
	assert_int_equal(sonde_host_meminfo_name("HugePages_Total", 15, false, out, sizeof(out)), 0);
	assert_string_equal(out, "node_memory_HugePages_Total");
	assert_int_equal(sonde_host_meminfo_name("Odd-Key.x", 9, true, out, sizeof(out)), 0);
	assert_string_equal(out, "node_memory_Odd_Key_x_bytes");
	assert_int_equal(sonde_host_meminfo_name("MemTotal", 8, true, out, 20),
			 -ENAMETOOLONG);
	assert_int_equal(sonde_host_meminfo_name("", 0, true, out, sizeof(out)), -EINVAL);
}

static void test_loadavg_filefd_pressure(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_load1", NULL), 0.21, 1e-12);
	assert_near(snap_value(fx.snap, "node_load5", NULL), 0.37, 1e-12);
	assert_near(snap_value(fx.snap, "node_load15", NULL), 0.39, 1e-12);
	assert_near(snap_value(fx.snap, "node_filefd_allocated", NULL), 1024, 0);
	assert_near(snap_value(fx.snap, "node_filefd_maximum", NULL), 1631329, 0);
	assert_near(snap_value(fx.snap, "node_pressure_cpu_waiting_seconds_total", NULL), 17.209604,
		    1e-9);
	assert_near(snap_value(fx.snap, "node_pressure_memory_waiting_seconds_total", NULL),
		    1.234567, 1e-9);
	assert_near(snap_value(fx.snap, "node_pressure_memory_stalled_seconds_total", NULL),
		    0.234567, 1e-9);
	assert_near(snap_value(fx.snap, "node_pressure_io_waiting_seconds_total", NULL), 4.880857,
		    1e-9);
	assert_near(snap_value(fx.snap, "node_pressure_io_stalled_seconds_total", NULL), 4.493468,
		    1e-9);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "pressure", NULL), 1, 0);
	assert_true(snap_value(fx.snap, "node_time_seconds", NULL) > 1.7e9);
	assert_int_equal(snap_count(fx.snap, "node_time_zone_offset_seconds"), 1);
	/* sysfs fixture: clocksource0 offers tsc, hpet, acpi_pm and uses tsc. */
	assert_int_equal(snap_count(fx.snap, "node_time_clocksource_available_info"), 3);
	assert_near(snap_value(fx.snap, "node_time_clocksource_available_info", "hpet", "0", NULL),
		    1, 0);
	assert_near(snap_value(fx.snap, "node_time_clocksource_current_info", "tsc", "0", NULL), 1,
		    0);
	assert_int_equal(snap_count(fx.snap, "node_time_clocksource_current_info"), 1);
	assert_near(snap_count(fx.snap, "node_uname_info"), 1, 0);
	fx_close(&fx);
}

static void test_diskstats(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_disk_read_bytes_total", "sda", NULL),
		    1003346126.0 * 512, 0);
	assert_near(snap_value(fx.snap, "node_disk_reads_completed_total", "sda", NULL), 25354637,
		    0);
	assert_near(snap_value(fx.snap, "node_disk_read_time_seconds_total", "sda", NULL),
		    18492.372, 1e-9);
	assert_near(snap_value(fx.snap, "node_disk_io_now", "sda", NULL), 2, 0);
	assert_near(snap_value(fx.snap, "node_disk_io_time_weighted_seconds_total", "sda", NULL),
		    82621.804, 1e-9);
	/* 11-column device: no discard or flush series. */
	assert_absent(snap_value(fx.snap, "node_disk_discards_completed_total", "sda", NULL));
	assert_near(snap_value(fx.snap, "node_disk_discarded_sectors_total", "vda", NULL), 367272,
		    0);
	assert_near(snap_value(fx.snap, "node_disk_flush_requests_total", "nvme0n1", NULL), 7, 0);
	assert_near(snap_value(fx.snap, "node_disk_flush_requests_time_seconds_total", "nvme0n1",
			       NULL),
		    0.009, 1e-12);
	assert_near(snap_value(fx.snap, "node_disk_written_bytes_total", "vda", NULL),
		    1898408.0 * 512, 0);
	/* node_exporter's default exclude: partitions and loop devices. */
	assert_absent(snap_value(fx.snap, "node_disk_reads_completed_total", "vda1", NULL));
	assert_absent(snap_value(fx.snap, "node_disk_reads_completed_total", "loop0", NULL));
	assert_absent(snap_value(fx.snap, "node_disk_reads_completed_total", "nvme0n1p1", NULL));
	assert_near(snap_value(fx.snap, "node_disk_reads_completed_total", "zram0", NULL), 0, 0);
	assert_int_equal(snap_count(fx.snap, "node_disk_reads_completed_total"), 4);
	fx_close(&fx);
}

static void test_netdev(void **state)
{
	static const char *const names[HOST_NET_FIELDS] = {
		"receive_bytes",   "receive_packets",	 "receive_errs",     "receive_drop",
		"receive_fifo",	   "receive_frame",	 "receive_compressed", "receive_multicast",
		"transmit_bytes",  "transmit_packets",	 "transmit_errs",    "transmit_drop",
		"transmit_fifo",   "transmit_colls",	 "transmit_carrier", "transmit_compressed",
	};
	const double eth0[HOST_NET_FIELDS] = { 58598328, 2206, 1, 2,  3,  4,  5,  6,
					       129502,	 1811, 7, 8, 9, 10, 11, 12 };
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	for (int i = 0; i < HOST_NET_FIELDS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "node_network_%s_total", names[i]);
		assert_near(snap_value(fx.snap, name, "eth0", NULL), eth0[i], 0);
	}
	/* "docker0:1000" has no blank after the colon. */
	assert_near(snap_value(fx.snap, "node_network_receive_bytes_total", "docker0", NULL), 1000,
		    0);
	assert_near(snap_value(fx.snap, "node_network_transmit_packets_total", "docker0", NULL), 20,
		    0);
	assert_absent(snap_value(fx.snap, "node_network_receive_bytes_total", "lo", NULL));
	fx_close(&fx);
}

static void test_filesystem(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/vda", "ext4", "/", NULL),
		    4096.0 * 1000, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_free_bytes", "/dev/vda", "ext4", "/", NULL),
		    4096.0 * 500, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_avail_bytes", "/dev/vda", "ext4", "/",
			       NULL),
		    4096.0 * 400, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_files", "/dev/vda", "ext4", "/", NULL), 100,
		    0);
	assert_near(snap_value(fx.snap, "node_filesystem_files_free", "/dev/vda", "ext4", "/", NULL),
		    50, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_readonly", "/dev/vda", "ext4", "/", NULL),
		    0, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_device_error", "/dev/vda", "ext4", "/",
			       NULL),
		    0, 0);
	/* Octal escapes in the mount table are decoded. */
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/sdb1", "xfs",
			       "/srv/my data", NULL),
		    5120, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_readonly", "/dev/sdc1", "vfat", "/boot",
			       NULL),
		    1, 0);
	/* statfs failure: device_error only. */
	assert_near(snap_value(fx.snap, "node_filesystem_device_error", "/dev/sdd1", "ext4",
			       "/broken", NULL),
		    1, 0);
	assert_absent(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/sdd1", "ext4",
				 "/broken", NULL));
	/* Excluded by mount point (/run, /mnt, /dev, /proc, docker) or type (cgroup2, overlay). */
	assert_int_equal(snap_count(fx.snap, "node_filesystem_size_bytes"), 3);
	assert_int_equal(snap_count(fx.snap, "node_filesystem_device_error"), 4);
	fx_close(&fx);
}

static void test_netstat_vmstat(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_netstat_Tcp_RetransSegs", NULL), 123, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Tcp_CurrEstab", NULL), 11, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Tcp_OutRsts", NULL), 56, 0);
	assert_near(snap_value(fx.snap, "node_netstat_TcpExt_ListenDrops", NULL), 6, 0);
	assert_near(snap_value(fx.snap, "node_netstat_TcpExt_TCPSynRetrans", NULL), 8, 0);
	assert_near(snap_value(fx.snap, "node_netstat_IpExt_InOctets", NULL), 1728594798, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Ip_Forwarding", NULL), 2, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Icmp_InErrors", NULL), 1, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Udp_NoPorts", NULL), 2, 0);
	assert_near(snap_value(fx.snap, "node_netstat_UdpLite_InErrors", NULL), 7, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Ip6_InOctets", NULL), 20160, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Icmp6_OutMsgs", NULL), 12, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Udp6_InErrors", NULL), 2, 0);
	assert_near(snap_value(fx.snap, "node_netstat_UdpLite6_InErrors", NULL), 3, 0);
	/* Fields outside the selection are not exported. */
	assert_null(snap_family(fx.snap, "node_netstat_Tcp_MaxConn"));
	assert_null(snap_family(fx.snap, "node_netstat_TcpExt_TCPHPHits"));
	assert_null(snap_family(fx.snap, "node_netstat_Ip6_InReceives"));
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "netstat", NULL), 1, 0);
	assert_near(snap_value(fx.snap, "node_vmstat_pgfault", NULL), 4815162, 0);
	assert_near(snap_value(fx.snap, "node_vmstat_pgmajfault", NULL), 342, 0);
	assert_near(snap_value(fx.snap, "node_vmstat_pgpgout", NULL), 947832, 0);
	assert_near(snap_value(fx.snap, "node_vmstat_oom_kill", NULL), 2, 0);
	assert_null(snap_family(fx.snap, "node_vmstat_pgfree"));
	assert_null(snap_family(fx.snap, "node_vmstat_nr_free_pages"));
	assert_int_equal(fx.host->n_vmstat, 7);
	assert_near(snap_value(fx.snap, "node_sockstat_sockets_used", NULL), 209, 0);
	assert_near(snap_value(fx.snap, "node_sockstat_TCP_tw", NULL), 133, 0);
	assert_near(snap_value(fx.snap, "node_sockstat_TCP_mem", NULL), 265, 0);
	assert_near(snap_value(fx.snap, "node_sockstat_TCP_mem_bytes", NULL),
		    265.0 * (double)sysconf(_SC_PAGESIZE), 0);
	assert_near(snap_value(fx.snap, "node_sockstat_UDP_mem_bytes", NULL),
		    2.0 * (double)sysconf(_SC_PAGESIZE), 0);
	assert_near(snap_value(fx.snap, "node_sockstat_TCP6_inuse", NULL), 2, 0);
	assert_near(snap_value(fx.snap, "node_sockstat_FRAG6_memory", NULL), 0, 0);
	assert_null(snap_family(fx.snap, "node_sockstat_FRAG_memory_bytes"));
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "sockstat", NULL), 1, 0);
	assert_near(snap_value(fx.snap, "node_entropy_available_bits", NULL), 3712, 0);
	assert_near(snap_value(fx.snap, "node_entropy_pool_size_bits", NULL), 4096, 0);
	assert_near(snap_value(fx.snap, "node_nf_conntrack_entries", NULL), 17, 0);
	assert_near(snap_value(fx.snap, "node_nf_conntrack_entries_limit", NULL), 262144, 0);
	fx_close(&fx);

	default_cfg(&cfg, "proc-bad");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_netstat_Tcp_ActiveOpens", NULL), 5, 0);
	assert_near(snap_value(fx.snap, "node_netstat_Tcp_CurrEstab", NULL), 7, 0);
	assert_near(snap_value(fx.snap, "node_vmstat_pgpgin", NULL), 10, 0);
	/* snmp: x, the short Udp pair, the mismatched Icmp/Ip pair; netstat missing; vmstat 3. */
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "netstat", NULL), 4, 0);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "vmstat", NULL), 3, 0);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "netstat", NULL), 0, 0);
	/* sockstat: "used" without value, "x", no colon; sockstat6 missing is fine. */
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "sockstat", NULL), 3, 0);
	assert_near(snap_value(fx.snap, "node_sockstat_UDP_inuse", NULL), 3, 0);
	/* entropy_avail garbage, poolsize missing; conntrack absent: no series, no error. */
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "entropy", NULL), 1, 0);
	assert_absent(snap_value(fx.snap, "node_entropy_available_bits", NULL));
	assert_int_equal(snap_count(fx.snap, "node_nf_conntrack_entries"), 0);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "conntrack", NULL), 1, 0);
	fx_close(&fx);
}

/* A rootfs prefix: labels drop it, statfs gets it. */
static void test_filesystem_rootfs(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc-rootfs");
	strcpy(cfg.rootfs, "/host");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/sdb1", "xfs", "/srv",
			       NULL),
		    5120, 0);
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/vda", "ext4", "/", NULL),
		    5120, 0);
	fx_close(&fx);
}

static void test_malformed(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;
	double errs;

	default_cfg(&cfg, "proc-bad");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	/* What parsed is exported; the rest is counted and marks the collector failed. */
	assert_near(snap_value(fx.snap, "node_cpu_seconds_total", "0", "user", NULL), 100 / hz(),
		    1e-9);
	assert_int_equal(snap_count(fx.snap, "node_cpu_seconds_total"), 8);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "cpu", NULL), 0, 0);
	errs = snap_value(fx.snap, "sonde_host_parse_errors_total", "cpu", NULL);
	assert_near(errs, 4, 0); /* cpuX, cpu1 (x), cpu2 (short), cpu999... */
	assert_near(snap_value(fx.snap, "node_boot_time_seconds", NULL), 1418183276, 0);
	assert_absent(snap_value(fx.snap, "node_context_switches_total", NULL));
	assert_near(snap_value(fx.snap, "node_memory_MemTotal_bytes", NULL), 102400, 0);
	assert_near(snap_value(fx.snap, "node_memory_HugePages_Total", NULL), 7, 0);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "meminfo", NULL), 4, 0);
	assert_absent(snap_value(fx.snap, "node_load1", NULL));
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "loadavg", NULL), 0, 0);
	assert_near(snap_value(fx.snap, "node_disk_reads_completed_total", "sdc", NULL), 1, 0);
	assert_int_equal(snap_count(fx.snap, "node_disk_reads_completed_total"), 1);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "diskstats", NULL), 3, 0);
	assert_near(snap_value(fx.snap, "node_network_receive_bytes_total", "ok0", NULL), 1, 0);
	assert_int_equal(snap_count(fx.snap, "node_network_receive_bytes_total"), 1);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "netdev", NULL), 3, 0);
	/* pressure: cpu garbage, memory garbage, io missing (not an error). */
	assert_int_equal(snap_count(fx.snap, "node_pressure_cpu_waiting_seconds_total"), 0);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "pressure", NULL), 2, 0);
	/* missing file: collector fails, nothing exported, no crash */
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "filefd", NULL), 0, 0);
	assert_absent(snap_value(fx.snap, "node_filefd_allocated", NULL));
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/vdb", "ext4", "/ok",
			       NULL),
		    5120, 0);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "filesystem", NULL), 2, 0);
	/* Counters accumulate across scrapes. */
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", "cpu", NULL), 8, 0);
	fx_close(&fx);
}

/* Series that vanish from the source (unplugged disk, removed mount) vanish from the output. */
static void test_sweep(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "node_disk_reads_completed_total"), 4);
	snprintf(fx.host->cfg.procfs, sizeof(fx.host->cfg.procfs), "%s/host/proc-bad", fixtures());
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "node_disk_reads_completed_total"), 1);
	assert_absent(snap_value(fx.snap, "node_disk_reads_completed_total", "sda", NULL));
	snprintf(fx.host->cfg.procfs, sizeof(fx.host->cfg.procfs), "%s/host/nonexistent",
		 fixtures());
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "node_disk_reads_completed_total"), 0);
	assert_int_equal(snap_count(fx.snap, "node_cpu_seconds_total"), 0);
	assert_near(snap_value(fx.snap, "node_scrape_collector_success", "diskstats", NULL), 0, 0);
	fx_close(&fx);
}

/* Counters never step back even when the kernel's idle does. */
static void test_cpu_monotonic(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;
	double first;

	default_cfg(&cfg, "proc");
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	first = snap_value(fx.snap, "node_cpu_seconds_total", "0", "idle", NULL);
	/* proc-bad's cpu0 idle (400 ticks) is far below proc's. */
	snprintf(fx.host->cfg.procfs, sizeof(fx.host->cfg.procfs), "%s/host/proc-bad", fixtures());
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "node_cpu_seconds_total", "0", "idle", NULL), first, 0);
	fx_close(&fx);
}

static void test_disable_and_bad_config(void **state)
{
	struct sonde_host_cfg cfg;
	struct sonde_registry *reg;
	struct sonde_host *h = NULL;
	struct fx fx;

	default_cfg(&cfg, "proc");
	strcpy(cfg.disable[0], "filesystem");
	strcpy(cfg.disable[1], "cpu");
	cfg.n_disable = 2;
	fx_open(&fx, &cfg);
	fx_scrape(&fx);
	assert_int_equal(snap_count(fx.snap, "node_filesystem_size_bytes"), 0);
	assert_int_equal(snap_count(fx.snap, "node_cpu_seconds_total"), 0);
	assert_absent(snap_value(fx.snap, "node_scrape_collector_success", "cpu", NULL));
	assert_near(snap_value(fx.snap, "node_load1", NULL), 0.21, 1e-12);
	fx_close(&fx);

	assert_int_equal(sonde_registry_new(0, &reg), 0);
	default_cfg(&cfg, "proc");
	strcpy(cfg.disable[0], "nosuch");
	cfg.n_disable = 1;
	assert_int_equal(sonde_host_new(reg, &cfg, &h), -EINVAL);
	assert_null(h);
	default_cfg(&cfg, "proc");
	strcpy(cfg.diskstats_device_exclude, "([unclosed");
	assert_int_equal(sonde_host_new(reg, &cfg, &h), -EINVAL);
	sonde_registry_free(reg);
	sonde_host_free(NULL);
}

/*
 * A hung statfs (network filesystem) must not hold the scrape: the first
 * call on "/srv/my data" hangs 3 s, far past the 100 ms deadline, and the
 * scrape must be back while it still hangs (no wall-clock threshold: the
 * suite's machines are shared and valgrind is slow).
 */
static atomic_int slow_calls, slow_returned;

static int slow_statfs(const char *path, struct statfs *st)
{
	if (strcmp(path, "/srv/my data") == 0 && atomic_fetch_add(&slow_calls, 1) == 0) {
		usleep(3000 * 1000);
		atomic_fetch_add(&slow_returned, 1);
	}
	return fake_statfs(path, st);
}

/* Waits (10 s at most) for the hung call to return, and its worker to end. */
static void wait_hang_over(void)
{
	for (int i = 0; i < 1000 && !atomic_load(&slow_returned); i++)
		usleep(10 * 1000);
	assert_int_equal(atomic_load(&slow_returned), 1);
	usleep(300 * 1000);
}

static void test_statfs_deadline(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	atomic_store(&slow_calls, 0);
	atomic_store(&slow_returned, 0);
	default_cfg(&cfg, "proc");
	cfg.statfs_timeout_ms = 100;
	fx_open(&fx, &cfg);
	sonde_host_set_statfs(fx.host, slow_statfs);
	fx_scrape(&fx);
	assert_int_equal(atomic_load(&slow_calls), 1);
	assert_int_equal(atomic_load(&slow_returned), 0); /* back while it hangs */
	assert_near(snap_value(fx.snap, "node_filesystem_device_error", "/dev/sdb1", "xfs",
			       "/srv/my data", NULL),
		    1, 0);
	assert_absent(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/sdb1", "xfs",
				 "/srv/my data", NULL));
	/* The other mounts are unaffected. */
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/vda", "ext4", "/", NULL),
		    4096.0 * 1000, 0);
	assert_near(snap_value(fx.snap, "sonde_host_stuck_mounts", NULL), 1, 0);
	/* Still hung: not asked again. */
	fx_scrape(&fx);
	assert_int_equal(atomic_load(&slow_calls), 1);
	assert_near(snap_value(fx.snap, "node_filesystem_device_error", "/dev/sdb1", "xfs",
			       "/srv/my data", NULL),
		    1, 0);
	/* Once the call returned, the mount is asked again and answers. */
	wait_hang_over();
	for (int i = 0; i < 200 && atomic_load(&slow_calls) < 2; i++) {
		fx_scrape(&fx); /* its worker may not have said it is done yet */
		if (atomic_load(&slow_calls) < 2)
			usleep(50 * 1000);
	}
	assert_int_equal(atomic_load(&slow_calls), 2);
	assert_near(snap_value(fx.snap, "node_filesystem_size_bytes", "/dev/sdb1", "xfs",
			       "/srv/my data", NULL),
		    5120, 0);
	assert_near(snap_value(fx.snap, "sonde_host_stuck_mounts", NULL), 0, 0);
	fx_close(&fx);

	/* Freed while a call hangs: the worker cleans up after itself. */
	atomic_store(&slow_calls, 0);
	atomic_store(&slow_returned, 0);
	fx_open(&fx, &cfg);
	sonde_host_set_statfs(fx.host, slow_statfs);
	fx_scrape(&fx);
	assert_near(snap_value(fx.snap, "sonde_host_stuck_mounts", NULL), 1, 0);
	fx_close(&fx);
	wait_hang_over();
}

/* The real /proc of this machine parses without errors. */
static void test_live(void **state)
{
	struct sonde_host_cfg cfg;
	struct fx fx;

	default_cfg(&cfg, "proc");
	strcpy(cfg.procfs, "/proc");
	fx_open(&fx, &cfg);
	sonde_host_set_statfs(fx.host, NULL);
	fx_scrape(&fx);
	for (unsigned i = 0; i < HOST_COLL_N; i++) {
		const char *n = sonde_host_collector_names[i];

		assert_near(snap_value(fx.snap, "sonde_host_parse_errors_total", n, NULL), 0, 0);
		if (i != HOST_COLL_PRESSURE)
			assert_near(snap_value(fx.snap, "node_scrape_collector_success", n, NULL), 1,
				    0);
	}
	assert_true(snap_value(fx.snap, "node_memory_MemTotal_bytes", NULL) > 0);
	assert_true(snap_count(fx.snap, "node_cpu_seconds_total") >=
		    8 * (size_t)sysconf(_SC_NPROCESSORS_ONLN));
	fx_close(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_and_stat),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_meminfo_names),
		cmocka_unit_test(test_loadavg_filefd_pressure),
		cmocka_unit_test(test_diskstats),
		cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_filesystem),
		cmocka_unit_test(test_filesystem_rootfs),
		cmocka_unit_test(test_netstat_vmstat),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_cpu_monotonic),
		cmocka_unit_test(test_disable_and_bad_config),
		cmocka_unit_test(test_statfs_deadline),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
