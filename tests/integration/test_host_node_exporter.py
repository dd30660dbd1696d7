#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sonde's host metrics against prometheus-node-exporter on the same host.

Both are scraped at the same moment (two threads, released together) and
compared family by family: the same series must exist (same names, types
and label sets for the collectors sonde mirrors), static values must be
equal (MemTotal, filesystem sizes, boot time, file-max), moving ones close
(CPU seconds per cpu/mode, network bytes, load), and counters monotonic
across two sonde scrapes."""

import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, NodeExporter, skip, which  # noqa: E402

# Families of node_exporter's collectors that sonde implements; their series
# sets must match exactly.
MIRRORED_PREFIXES = (
    "node_cpu_seconds_total", "node_cpu_guest_seconds_total", "node_memory_",
    "node_load", "node_filesystem_", "node_disk_", "node_network_receive_",
    "node_network_transmit_", "node_pressure_", "node_filefd_", "node_boot_time_seconds",
    "node_context_switches_total", "node_intr_total", "node_forks_total", "node_procs_",
    "node_time_", "node_uname_info", "node_netstat_", "node_vmstat_", "node_sockstat_",
    "node_entropy_", "node_nf_conntrack_entries",
)
# node_exporter families with those prefixes that come from collectors sonde
# does not mirror (netclass, udev, netlink-only counters).
NOT_MIRRORED = {
    "node_disk_info",  # udev properties
    "node_network_receive_nohandler_total",  # netlink only, not in /proc/net/dev
    "node_network_transmit_queue_length",
}


def mirrored(name):
    return name.startswith(MIRRORED_PREFIXES) and name not in NOT_MIRRORED


def scrape_together(agent, ne):
    """Both scrapes released by one barrier, so they read /proc within ms."""
    out = {}
    barrier = threading.Barrier(2)

    def run(key, fn):
        barrier.wait()
        out[key] = fn()

    threads = [threading.Thread(target=run, args=("sonde", agent.scrape)),
               threading.Thread(target=run, args=("ne", ne.scrape))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out["sonde"], out["ne"]


def series(m, name):
    return {tuple(sorted(s.labels.items())): s.value for s in m.select(name)}


def mount_extra(base):
    """Two small tmpfs mounts (one read-only, both with a blank in the path,
    which the mount table escapes as \\040), so filesystems are compared on
    more than "/". Returns the mount points made; [] without the privilege."""
    made = []
    for name, opts in (("sonde fs rw", "size=8m"), ("sonde fs ro", "size=4m,ro")):
        mp = os.path.join(base, name)
        os.makedirs(mp, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "sondetest", mp],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            break
        made.append(mp)
    return made


def main():
    if not which("prometheus-node-exporter"):
        skip("prometheus-node-exporter is not installed")
    check = Checks()
    base = tempfile.mkdtemp(prefix="sonde-host-fs-")
    mounts = mount_extra(base) if os.geteuid() == 0 else []
    try:
        run_checks(check, mounts)
    finally:
        for mp in reversed(mounts):
            subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in ("sonde fs rw", "sonde fs ro"):
            try:
                os.rmdir(os.path.join(base, name))
            except OSError:
                pass
        os.rmdir(base)
    check.exit()


def run_checks(check, mounts):
    with NodeExporter() as ne, Agent({"services": {"enabled": False}}) as agent:
        # Let node_exporter's first-scrape work (and ours) settle.
        agent.scrape()
        ne.scrape()
        s, n = scrape_together(agent, ne)

        # ---- the same families, types and series exist ----
        ne_fams = {f for f in n.families() if mirrored(f)}
        s_fams = {f for f in s.families() if mirrored(f)}
        check.equal(sorted(ne_fams - s_fams), [], "no node_exporter family is missing")
        check.equal(sorted(s_fams - ne_fams), [], "no family node_exporter lacks")
        for f in sorted(ne_fams & s_fams):
            # node_exporter's netstat/vmstat are "untyped", which sonde's registry
            # does not have: they are gauges there.
            untyped_ok = n.types[f] == "untyped" and s.types[f] == "gauge"
            if n.types[f] != s.types[f] and not untyped_ok:
                check(False, "type of %s" % f, "sonde %s, node_exporter %s" % (s.types[f], n.types[f]))
            if f in ("node_uname_info",):
                continue
            ns, ss = series(n, f), series(s, f)
            if set(ns) != set(ss):
                check(False, "series of %s" % f,
                      "only node_exporter: %s; only sonde: %s" % (sorted(set(ns) - set(ss))[:5],
                                                                  sorted(set(ss) - set(ns))[:5]))
        check(True, "types and series sets compared for %d families" % len(ne_fams & s_fams))

        # ---- CPU: per cpu/mode within 2% or 0.5 s ----
        ns, ss = series(n, "node_cpu_seconds_total"), series(s, "node_cpu_seconds_total")
        check(len(ns) >= 8, "node_exporter reports CPU modes", "%d series" % len(ns))
        bad = []
        for k, want in ns.items():
            got = ss.get(k)
            if got is None or abs(got - want) > max(0.02 * want, 0.5):
                bad.append((dict(k), got, want))
        check.equal(bad, [], "node_cpu_seconds_total per cpu/mode within max(2%, 0.5s)")

        # ---- memory ----
        check.equal(s.value("node_memory_MemTotal_bytes"), n.value("node_memory_MemTotal_bytes"),
                    "node_memory_MemTotal_bytes exact")
        for f in ("node_memory_SwapTotal_bytes", "node_memory_Hugepagesize_bytes",
                  "node_memory_HugePages_Total", "node_memory_VmallocTotal_bytes"):
            if n.has(f):
                check.equal(s.value(f), n.value(f), "%s exact" % f)
        check.close(s.value("node_memory_MemAvailable_bytes"),
                    n.value("node_memory_MemAvailable_bytes"), 0.05, 64 << 20,
                    "node_memory_MemAvailable_bytes close")

        # ---- filesystems: every mount point both report, exact size ----
        nf, sf = series(n, "node_filesystem_size_bytes"), series(s, "node_filesystem_size_bytes")
        check(len(nf) >= 1, "node_exporter reports filesystems", "%d" % len(nf))
        for k in sorted(set(nf) & set(sf)):
            check.equal(sf[k], nf[k], "node_filesystem_size_bytes %s" % dict(k)["mountpoint"])
        if mounts:
            seen = {dict(k)["mountpoint"] for k in sf}
            check.equal(sorted(m for m in mounts if m not in seen), [],
                        "test tmpfs mounts (blank in path) reported by sonde")
            ro = series(s, "node_filesystem_readonly")
            check.equal([v for k, v in ro.items() if dict(k)["mountpoint"] == mounts[-1]], [1.0],
                        "read-only tmpfs has node_filesystem_readonly 1")
        else:
            print("note: not root or mount failed: only the existing mounts are compared")
        for f in ("node_filesystem_files", "node_filesystem_readonly",
                  "node_filesystem_device_error"):
            check.equal(series(s, f), series(n, f), "%s exact" % f)

        # ---- network: close, and monotonic across our two scrapes ----
        nn = series(n, "node_network_receive_bytes_total")
        sn = series(s, "node_network_receive_bytes_total")
        check(len(nn) >= 1, "node_exporter reports network devices", "%d" % len(nn))
        for k, want in sorted(nn.items()):
            got = sn.get(k)
            check(got is not None and abs(got - want) <= max(0.01 * want, 256 << 10),
                  "node_network_receive_bytes_total %s close" % dict(k)["device"],
                  "got %r, want %r" % (got, want))
        time.sleep(1.0)
        s2 = agent.scrape()
        back = []
        for f in [x for x in s_fams if s.types[x] == "counter"]:
            a, b = series(s, f), series(s2, f)
            back += [(f, dict(k)) for k in a if k in b and b[k] < a[k]]
        check.equal(back, [], "no counter went backwards between two sonde scrapes")

        # ---- disks, load, stat, filefd ----
        nd = series(n, "node_disk_reads_completed_total")
        sd = series(s, "node_disk_reads_completed_total")
        for k, want in sorted(nd.items()):
            got = sd.get(k)
            check(got is not None and abs(got - want) <= max(0.01 * want, 50),
                  "node_disk_reads_completed_total %s close" % dict(k)["device"],
                  "got %r, want %r" % (got, want))
        check.close(s.value("node_load1"), n.value("node_load1"), 0.1, 0.3, "node_load1 close")
        check.equal(s.value("node_boot_time_seconds"), n.value("node_boot_time_seconds"),
                    "node_boot_time_seconds exact")
        check.equal(s.value("node_filefd_maximum"), n.value("node_filefd_maximum"),
                    "node_filefd_maximum exact")
        check.close(s.value("node_time_seconds"), n.value("node_time_seconds"), 0, 2.0,
                    "node_time_seconds close")
        check.close(s.value("node_forks_total"), n.value("node_forks_total"), 0.01, 50,
                    "node_forks_total close")
        if n.has("node_pressure_cpu_waiting_seconds_total"):
            check.close(s.value("node_pressure_cpu_waiting_seconds_total"),
                        n.value("node_pressure_cpu_waiting_seconds_total"), 0.02, 1.0,
                        "node_pressure_cpu_waiting_seconds_total close")
        check.equal(s.value("node_netstat_Ip_Forwarding"), n.value("node_netstat_Ip_Forwarding"),
                    "node_netstat_Ip_Forwarding exact")
        check.close(s.value("node_netstat_Tcp_RetransSegs"), n.value("node_netstat_Tcp_RetransSegs"),
                    0.01, 20, "node_netstat_Tcp_RetransSegs close")
        check.equal(s.value("node_sockstat_TCP_mem_bytes"), s.value("node_sockstat_TCP_mem") *
                    os.sysconf("SC_PAGESIZE"), "node_sockstat_TCP_mem_bytes = pages x page size")
        for f in ("node_entropy_pool_size_bits", "node_nf_conntrack_entries_limit"):
            if n.has(f):
                check.equal(s.value(f), n.value(f), "%s exact" % f)
        check.close(s.value("node_vmstat_pgfault"), n.value("node_vmstat_pgfault"), 0.02, 50000,
                    "node_vmstat_pgfault close")
        check.equal(series(s, "node_uname_info"), series(n, "node_uname_info"),
                    "node_uname_info labels equal")

        # ---- collector health and self metrics ----
        failed = [dict(k)["collector"] for k, v in series(s, "node_scrape_collector_success").items()
                  if v != 1]
        check.equal(failed, [], "every sonde host collector succeeded")
        rss = s.value("process_resident_memory_bytes")
        check(rss > 0, "process_resident_memory_bytes present", "%d" % rss)
        check(s.value("process_start_time_seconds") >= s.value("node_boot_time_seconds"),
              "process_start_time_seconds after boot")
        check.equal(s.value("process_open_fds") > 0, True, "process_open_fds positive")
        check.equal(len(s.select("sonde_build_info")), 1, "sonde_build_info present")


if __name__ == "__main__":
    main()
