#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF overhead benchmark (see run.sh). Each workload runs `rounds` times
without and with the agent, alternating so drift hits both sides alike; the
server is pinned to CPU 0 and the load generator to CPU 1 (taskset), the
agent is left to the scheduler (as it would be in production). Reports
median ratios side by side, against the goals."""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration"))

from sondetest import Agent, Nginx, Postgres, Redis, ebpf  # noqa: E402
from sondetest.cgroups import children, move, tree_pids, v2_root  # noqa: E402
from sondetest.util import proc_status_kb  # noqa: E402

SERVER_CPU = "0"
LOAD_CPU = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def pin(pid, cpu):
    subprocess.run(["taskset", "-a", "-p", "-c", cpu, str(pid)], check=True,
                   capture_output=True)


def pin_tree(pid, cpu):
    """Pins a process and its children (nginx master+workers, postgres backends
    are forked later and inherit the mask)."""
    pin(pid, cpu)
    for child in children(pid):
        pin_tree(child, cpu)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def loadgen(cmd):
    return subprocess.run(["taskset", "-c", LOAD_CPU] + cmd, check=True, capture_output=True,
                          text=True, timeout=600).stdout


def wrk_rps(url, seconds, close=False):
    # close: "Connection: close" on every request, so wrk opens a new
    # connection for each (nginx closes after answering)
    out = loadgen(["wrk", "-t1", "-c8", "-d%ds" % seconds] +
                  (["-H", "Connection: close"] if close else []) + [url])
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def h2load_rps(url, seconds):
    # h2load's own duration mode: 8 connections, 4 streams in flight each
    out = loadgen(["h2load", "-c", "8", "-m", "4", "-D", str(seconds), url])
    return float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))


def redis_rps(r, seconds):
    # -n sized from a quick probe so that a round lasts about `seconds`.
    out = loadgen(["redis-benchmark", "-h", r.host, "-p", str(r.port), "-t", "get",
                   "-n", str(30000 * seconds), "-c", "8", "-q", "--csv"])
    return float(re.findall(r'"GET","([\d.]+)"', out)[0])


def pgbench_tps(pg, seconds):
    out = loadgen(["pgbench", "-h", pg.host, "-p", str(pg.port), "-U", "postgres", "-n", "-S",
                   "-c", "4", "-j", "1", "-T", str(seconds), "postgres"])
    return float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))


class Result:
    def __init__(self, name, goal):
        self.name = name
        self.goal = goal
        self.base = []
        self.agent = []
        self.agent_cpu = 0.0
        self.observed = 0.0
        self.lost = 0.0
        self.rss_kb = 0
        self.bpf_ns = 0.0
        self.bpf_runs = 0.0

    @property
    def ratio(self):
        return statistics.median(self.agent) / statistics.median(self.base)


def bpf_progs():
    """id -> (run_time_ns, run_cnt) of every loaded BPF program."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in json.loads(out)}


class BpfStats:
    """--bpf-stats: kernel.bpf_stats_enabled on for the measured window, and
    the time the kernel spent in the programs loaded since `before` (the
    agent's). Timing each run costs two clock reads: read the result as an
    upper bound, for comparing probe variants rather than as the cost."""

    KNOB = "/proc/sys/kernel/bpf_stats_enabled"

    def __init__(self, wanted, before):
        self.wanted, self.before, self.ns, self.runs = wanted, before, 0, 0

    def __enter__(self):
        if self.wanted:
            with open(self.KNOB) as f:
                self.old = f.read().strip()
            with open(self.KNOB, "w") as f:
                f.write("1")
            self.p0 = bpf_progs()
        return self

    def __exit__(self, *exc):
        if not self.wanted:
            return
        p1 = bpf_progs()
        with open(self.KNOB, "w") as f:
            f.write(self.old)
        for k, (t, c) in p1.items():
            if k not in self.before and k in self.p0:
                self.ns += t - self.p0[k][0]
                self.runs += c - self.p0[k][1]


class ServerCgroup:
    """--server-only: the server's processes (and what they fork later, as
    PostgreSQL backends) moved into a cgroup of their own, which the agent
    is told to trace (ebpf.cgroups); None when not asked for."""

    def __init__(self, pid, wanted):
        self.pid, self.wanted, self.dir = pid, wanted, None

    def __enter__(self):
        if not self.wanted:
            return None
        root = v2_root()
        if not root:
            raise SystemExit("--server-only needs a cgroup v2 hierarchy")
        self.root = root
        self.dir = os.path.join(root, "sonde-bench-%d" % os.getpid())
        os.mkdir(self.dir)
        self._move(self.dir)
        return os.path.relpath(self.dir, root)

    def _move(self, cgdir):
        move(tree_pids(self.pid), cgdir)

    def __exit__(self, *exc):
        if self.dir:
            self._move(self.root)
            os.rmdir(self.dir)


def run_workload(res, ports, measure, seconds, rounds, counter, cgroup=None, bpf_stats=False,
                 tls=True, pids=None, prime=None):
    """counter(metrics) -> transactions the agent observed for this workload.
    cgroup: trace only the processes of this cgroup (the server), not the
    load generator; pids: the same by ebpf.pids (which also attaches the
    libssl uprobes to those processes only). tls: ebpf.tls (the libssl
    hooks). prime(): run once per agent, before its measurement."""
    section = {"cgroups": [cgroup]} if cgroup else {}
    if pids:
        section["pids"] = [str(p) for p in pids]
    section["tls"] = tls
    for i in range(rounds):
        res.base.append(measure(seconds))
        before = bpf_progs() if bpf_stats else {}
        with Agent(ebpf.config(ports=ports, **section)) as agent:
            if prime:
                prime()
            time.sleep(0.5)
            m0 = agent.scrape()
            c0 = cpu_seconds(agent.proc.pid)
            with BpfStats(bpf_stats, before) as st:
                res.agent.append(measure(seconds))
            c1 = cpu_seconds(agent.proc.pid)
            m1 = agent.settle("sonde_ebpf_events_total", quiet=0.5, timeout=10)
            res.bpf_ns += st.ns
            res.bpf_runs += st.runs
            res.agent_cpu += c1 - c0
            res.observed += counter(m1) - counter(m0)
            res.lost += ebpf.lost_events(m1) - ebpf.lost_events(m0)
            res.rss_kb = max(res.rss_kb, proc_status_kb(agent.proc.pid, "VmHWM") or 0)
        print("  %s round %d: without %.0f/s, with %.0f/s" % (res.name, i + 1, res.base[-1],
                                                          res.agent[-1]), file=sys.stderr)


class BioPrimer:
    """--bio-seen: a TLS nginx and an asyncio client (Debian's python3, SSL
    over memory BIOs) that calls it once: the agent's kernel side then
    looks up its memory-BIO threads on every traced syscall."""

    CLIENT = ("import asyncio, ssl, sys\n"
              "async def main(port):\n"
              "    ctx = ssl.create_default_context()\n"
              "    ctx.check_hostname = False\n"
              "    ctx.verify_mode = ssl.CERT_NONE\n"
              "    r, w = await asyncio.open_connection('127.0.0.1', port, ssl=ctx)\n"
              "    w.write(b'GET / HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n')\n"
              "    await w.drain()\n"
              "    await r.readline()\n"
              "    w.close()\n"
              "asyncio.run(main(int(sys.argv[1])))\n")

    def __init__(self, wanted):
        self.wanted, self.tls, self.ports, self.prime = wanted, None, [], None

    def __enter__(self):
        if self.wanted:
            self.tls = Nginx(server_conf='location / { return 200 "ok\\n"; }', tls=True)
            self.tls.__enter__()
            self.ports = [self.tls.port]
            self.prime = lambda: subprocess.run(
                ["/usr/bin/python3", "-c", self.CLIENT, str(self.tls.port)], check=True,
                capture_output=True, timeout=60)
        return self

    def __exit__(self, *exc):
        if self.tls:
            self.tls.__exit__(*exc)


def http_count(m):
    return m.sum("http_server_request_duration_seconds_count")


def cache_count(m):
    return m.sum("sonde_cache_operations_total", cache_system="redis")


def db_count(m):
    return m.sum("db_client_operation_duration_seconds_count", db_system_name="postgresql")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", help="also write the markdown table here")
    ap.add_argument("--only", help="comma list of nginx,nginx-close,nginx-tls,nginx-h2,redis,"
                                   "postgres (default: nginx,redis,postgres)")
    ap.add_argument("--server-only", action="store_true",
                    help="trace the server's processes only (moved into a cgroup of "
                         "their own, ebpf.cgroups), as when the clients are on other hosts")
    ap.add_argument("--bpf-stats", action="store_true",
                    help="also report the kernel's time in the BPF programs per observed "
                         "transaction (kernel.bpf_stats_enabled during the runs with the agent)")
    ap.add_argument("--server-pids", action="store_true",
                    help="nginx workloads: trace nginx's processes only, by ebpf.pids (the "
                         "libssl uprobes then trap in them only, not in the load generator)")
    ap.add_argument("--bio-seen", action="store_true",
                    help="nginx workloads: before each measurement, an asyncio TLS client (SSL "
                         "over memory BIOs) calls a second, TLS nginx in the agent's ports "
                         "filter, so that the memory-BIO path's per-syscall lookup is on")
    ap.add_argument("--no-tls", action="store_true",
                    help="run the agent with ebpf.tls false: what the libssl hooks' presence "
                         "costs traffic that is not TLS")
    a = ap.parse_args()
    ebpf.require()
    if os.cpu_count() < 2:
        print("SKIP: needs 2 CPUs to pin server and load generator apart")
        return 77
    only = set((a.only or "nginx,redis,postgres").split(","))
    load0 = os.getloadavg()[0]
    results = []

    def nginx(name, goal, loadgen_rps, **nginx_opts):
        """One nginx `return 200` workload: pinned, traced, measured."""
        res = Result(name + (", bio_seen" if a.bio_seen else ""), goal)
        with Nginx(server_conf='location / { return 200 "ok\\n"; }', **nginx_opts) as ng, \
                BioPrimer(a.bio_seen) as bio:
            pin_tree(ng.proc.pid, SERVER_CPU)
            pids = tree_pids(ng.proc.pid) if a.server_pids else None
            with ServerCgroup(ng.proc.pid, a.server_only) as cg:
                run_workload(res, [ng.port] + bio.ports, lambda s: loadgen_rps(ng.url + "/", s),
                             a.seconds, a.rounds, http_count, cg, a.bpf_stats, not a.no_tls, pids,
                             bio.prime)
        results.append(res)

    if "nginx" in only:
        nginx("nginx + wrk -c8 (req/s)", 0.97, wrk_rps)
    if "nginx-close" in only:
        # A new connection per request: accept, connect and close, the
        # connection table and the state tracepoints on every request.
        # The issue sets no goal for it.
        nginx("nginx + wrk -c8, a connection per request (req/s)", None,
              lambda url, s: wrk_rps(url, s, close=True))
    if "nginx-tls" in only:
        # HTTPS keep-alive, both ends linking libssl: the uprobes' cost on
        # top of the syscall hooks'. The issue sets no goal for it.
        nginx("nginx HTTPS + wrk -c8 (req/s)", None, wrk_rps, tls=True)
    if "nginx-h2" in only:
        # HTTP/2 over TLS (ALPN h2), h2load with streams multiplexed: the
        # HPACK parser and the libssl uprobes together. No goal is set.
        nginx("nginx HTTP/2 over TLS + h2load -c8 -m4 (req/s)", None, h2load_rps, tls=True,
              http2=True)
    if "redis" in only:
        res = Result("redis-benchmark GET -c8, no pipelining (req/s)", 0.95)
        with Redis() as r:
            pin_tree(r.proc.pid, SERVER_CPU)
            with r.client() as c:
                c.call("SET", "key:__rand_int__", "x")
            with ServerCgroup(r.proc.pid, a.server_only) as cg:
                run_workload(res, [r.port], lambda s: redis_rps(r, s), a.seconds, a.rounds,
                             cache_count, cg, a.bpf_stats, not a.no_tls)
        results.append(res)
    if "postgres" in only:
        res = Result("pgbench -S -c4 (tps)", 0.97)
        with Postgres(stat_statements=False) as pg:
            subprocess.run(["pgbench", "-i", "-q", "-s", "1", "-h", pg.dir, "-p", str(pg.port),
                            "-U", "postgres", "postgres"], check=True, capture_output=True,
                           timeout=300)
            pin_tree(pg.proc.pid, SERVER_CPU)
            with ServerCgroup(pg.proc.pid, a.server_only) as cg:
                run_workload(res, [pg.port], lambda s: pgbench_tps(pg, s), a.seconds, a.rounds,
                             db_count, cg, a.bpf_stats, not a.no_tls)
        results.append(res)
    lines = ["| workload | without agent | with agent | ratio | goal | agent CPU per observed txn | observed txns | events lost | agent peak RSS |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        per = r.agent_cpu / r.observed * 1e6 if r.observed else float("nan")
        goal = "—" if r.goal is None else ">= %.2f %s" % (
            r.goal, "met" if r.ratio >= r.goal else "MISSED")
        lines.append("| %s | %.0f | %.0f | %.3f | %s | %.2f µs | %d | %d | %.1f MB |" % (
            r.name, statistics.median(r.base), statistics.median(r.agent), r.ratio, goal,
            per, r.observed, r.lost, r.rss_kb / 1024))
    if a.bpf_stats:
        lines += ["", "| workload | BPF ns per observed txn (upper bound) | BPF program runs per txn |",
                  "| --- | --- | --- |"]
        for r in results:
            if r.observed:
                lines.append("| %s | %.0f | %.1f |" % (r.name, r.bpf_ns / r.observed,
                                                      r.bpf_runs / r.observed))
    table = "\n".join(lines)
    print(table)
    # The 1-minute load average says how much else ran on the machine.
    print("\n(%d rounds of %d s each side, medians; server on CPU %s, load on CPU %s; "
          "traced: %s; load average %.1f before, %.1f after; %s)" % (
              a.rounds, a.seconds, SERVER_CPU, LOAD_CPU,
              ("the server's cgroup only" if a.server_only else
               "the server's pids only" if a.server_pids else "both ends") +
              (", ebpf.tls false" if a.no_tls else ""),
              load0, os.getloadavg()[0],
              time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
