#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Per-service metrics from a real cgroup made for the test.

Like systemd, the test creates system.slice/<unit> in every cgroup
hierarchy the host has (v2 root, or hybrid unified/ plus the v1 cpuacct,
memory, pids, blkio and name=systemd controllers), moves a CPU-burning
process into all of them, and checks sonde against ground truth it did not
compute: the process's own utime+stime from /proc/<pid>/stat for CPU, the
number of processes moved in, and the kernel's memory counter read
directly. Everything created is removed again."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, skip  # noqa: E402

CG = "/sys/fs/cgroup"
V1_CONTROLLERS = ("cpuacct", "cpu,cpuacct", "memory", "pids", "blkio", "systemd")


def hierarchies():
    """(kind, path) of every writable hierarchy, as systemd would use them."""
    if os.path.exists(os.path.join(CG, "cgroup.controllers")):
        return [("v2", CG)]
    out = []
    if os.path.exists(os.path.join(CG, "unified", "cgroup.controllers")):
        out.append(("v2", os.path.join(CG, "unified")))
    seen = set()
    for c in V1_CONTROLLERS:
        p = os.path.join(CG, c)
        if os.path.isdir(p) and os.path.realpath(p) not in seen:
            seen.add(os.path.realpath(p))
            out.append((c, p))
    return out


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / hz


def main():
    if os.geteuid() != 0:
        skip("needs root to create cgroups")
    hs = hierarchies()
    if not hs:
        skip("no cgroup hierarchy under %s" % CG)
    unit = "sonde-itest-%d.service" % os.getpid()
    made = []  # directories we created, removed deepest first
    busy = []
    check = Checks()
    try:
        for kind, root in hs:
            for d in (os.path.join(root, "system.slice"), os.path.join(root, "system.slice", unit)):
                if not os.path.isdir(d):
                    try:
                        os.mkdir(d)
                    except OSError as e:
                        skip("cannot create cgroup %s: %s" % (d, e))
                    made.append(d)
        # Two busy processes. Each waits until it has been moved, then writes
        # 8 MiB (cgroup v1 charges pages to the cgroup that touches them first,
        # and does not move old charges with the task) and spins.
        child = ("import sys\nsys.stdin.readline()\nb = b'x' * (8 << 20)\n"
                 "while True:\n    pass\n")
        for _ in range(2):
            busy.append(subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE))
        time.sleep(0.2)
        for kind, root in hs:
            for p in busy:
                try:
                    with open(os.path.join(root, "system.slice", unit, "cgroup.procs"), "w") as f:
                        f.write(str(p.pid))
                except OSError as e:
                    skip("cannot move a process into %s (%s): %s" % (kind, root, e))
        for p in busy:
            p.stdin.write(b"go\n")
            p.stdin.flush()
        time.sleep(0.3)
        t_move = sum(proc_cpu_seconds(p.pid) for p in busy)
        cfg = {"services": {"units": ["sonde-itest-*.service"]}, "host": {"enabled": False}}
        with Agent(cfg) as agent:
            def procs_cpu():
                return sum(proc_cpu_seconds(p.pid) for p in busy)

            # Bracket each scrape with the processes' own CPU: the cgroup was
            # read somewhere in between (the scrape itself competes with the
            # spinning processes for the 2 CPUs, so it can take a while).
            b1 = procs_cpu()
            m1 = agent.scrape()
            a1 = procs_cpu()
            time.sleep(2.0)
            b2 = procs_cpu()
            m2 = agent.scrape()
            a2 = procs_cpu()
            layout = m2.label_values("sonde_services_cgroup_layout", "layout")
            print("cgroup layout: %s; hierarchies: %s" % (layout, [k for k, _ in hs]))
            check.equal(m2.value("sonde_services_units"), 1.0, "exactly our unit is exported")
            check.equal(m2.value("sonde_service_processes", service=unit), 2.0,
                        "sonde_service_processes counts the 2 processes moved in")

            def cpu(m):
                return (m.value("sonde_service_cpu_seconds_total", service=unit, mode="user") +
                        m.value("sonde_service_cpu_seconds_total", service=unit, mode="system"))

            c1, c2 = cpu(m1), cpu(m2)
            # /proc/<pid>/stat counts in 10 ms ticks per process: 2 x 2 ticks of slack.
            slack = 0.04
            check(b2 - a1 - slack <= c2 - c1 <= a2 - b1 + slack,
                  "service CPU growth within the processes' own growth around the scrapes",
                  "%.3f in [%.3f, %.3f]" % (c2 - c1, b2 - a1 - slack, a2 - b1 + slack))
            # The machine is shared: only require clear growth, the match is checked above.
            check(c2 - c1 > 0.2, "CPU seconds grew while two processes spun for 2 s",
                  "%.3f s" % (c2 - c1))
            # The cgroup saw only what ran after the move: between the two totals.
            check(b2 - t_move - slack <= c2 <= a2 + slack,
                  "service CPU total between the processes' CPU since the move and their total",
                  "%.3f in [%.3f, %.3f]" % (c2, b2 - t_move - slack, a2 + slack))

            mem = m2.value("sonde_service_memory_bytes", service=unit, default=None)
            truth = None
            for kind, root in hs:
                for fname in ("memory.current", "memory.usage_in_bytes"):
                    p = os.path.join(root, "system.slice", unit, fname)
                    if truth is None and os.path.exists(p):
                        with open(p) as f:
                            truth = int(f.read())
            if truth is None:
                check(mem is None, "no memory controller: no memory series")
            else:
                check(mem is not None and mem >= 16 << 20,
                      "sonde_service_memory_bytes holds the 2 x 8 MiB written", repr(mem))
                check.close(mem or 0, truth, 0.25, 1 << 20,
                            "sonde_service_memory_bytes matches the cgroup's own counter")
            check.equal(m2.value("sonde_services_units_dropped_total"), 0.0, "nothing dropped")
            if "v2" in [k for k, _ in hs]:
                check(m2.has("sonde_service_pressure_cpu_waiting_seconds_total", service=unit),
                      "cgroup v2 pressure exported for the unit")
            check.equal(m2.value("node_scrape_collector_success", collector="services"), 1.0,
                        "services collector succeeded")
    finally:
        for p in busy:
            p.kill()
            p.wait()
        # Emptied cgroups can be removed once the kernel has reaped the tasks.
        for d in reversed(made):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.05)
    check.exit()


if __name__ == "__main__":
    main()
