# SPDX-License-Identifier: MIT
"""What the eBPF tests share: can BPF attach here, the agent config that
turns the probe on for the servers under test, and before/after deltas of
the agent's transaction metrics."""

import os
import re
import subprocess

from .agent import sonde_bin
from .util import skip

# Kept in one place: the probe's config section as probes/ebpf/module.c
# defines it.
SECTION = "ebpf"


def missing_capability():
    """A plain reason why syscall-tracepoint BPF cannot work here, or None."""
    if os.geteuid() != 0:
        return "not root (the eBPF probes need CAP_BPF and CAP_PERFMON)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "no kernel BTF at /sys/kernel/btf/vmlinux (CO-RE probes cannot load)"
    for base in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.isdir(os.path.join(base, "events", "syscalls")):
            return None
    if not os.path.isdir("/sys/kernel/tracing/events"):
        return "tracefs is not mounted (no /sys/kernel/tracing/events)"
    return "no syscalls tracepoints in tracefs"


def daemon_has_ebpf():
    """True when the daemon under test was built with the ebpf module."""
    p = subprocess.run([sonde_bin(), "--print-default-config"], capture_output=True,
                       text=True, timeout=30)
    return any(line.startswith(SECTION + ":") for line in p.stdout.splitlines())


def kernel_at_least(major, minor):
    """Whether the running kernel is major.minor or later (uname -r)."""
    m = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (major, minor)


def off(cfg):
    """`cfg` with the eBPF probe disabled when this sonde has it: for tests
    of another source of the same operations (a server's own log)."""
    if daemon_has_ebpf():
        cfg[SECTION] = {"enabled": False}
    return cfg


def require():
    """Skips the test (exit 77) when eBPF truly cannot attach here."""
    why = missing_capability()
    if why:
        skip("eBPF unavailable: " + why)
    if not daemon_has_ebpf():
        skip("this sonde was built without the ebpf module (SONDE_WITH_EBPF=OFF "
             "or clang/bpftool/libbpf missing at build time)")


def config(ports=(), extra=None, **section):
    """An agent config with the eBPF probe on, restricted to `ports` (the
    servers under test) so that other tests running on the same host do not
    change the counts."""
    sec = {"enabled": True}
    if ports:
        sec["ports"] = [str(int(p)) for p in ports]
    sec.update(section)
    cfg = {SECTION: sec}
    if extra:
        cfg.update(extra)
    return cfg


def tls_clean(check, d, what):
    """TLS fully read over a Delta: every TLS call placed on its socket,
    no opaque connection, no parse error or desync, no record lost."""
    check.equal(int(d.sum("sonde_ebpf_tls_unpaired_total")), 0,
                "%s: every TLS call placed on its socket" % what)
    check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 0,
                "%s: no opaque TLS connection" % what)
    check.equal(int(d.sum("sonde_ebpf_parse_errors_total") +
                    d.sum("sonde_ebpf_parser_desyncs_total")), 0,
                "%s: no parse error or desync" % what)
    check.equal(lost_events(d.after), 0, "%s: no ring-buffer record lost" % what)


def lost_events(metrics):
    """Ring-buffer records the probe reports as lost (0 when not exported)."""
    return metrics.sum("sonde_ebpf_events_lost_total")


class Delta:
    """The difference of counter/histogram sums between two scrapes."""

    def __init__(self, before, after):
        self.before = before
        self.after = after

    def sum(self, name, **labels):
        return self.after.sum(name, **labels) - self.before.sum(name, **labels)

    def histogram(self, name, **labels):
        return self.after.histogram(name, **labels).minus(self.before.histogram(name, **labels))

    def by(self, name, label, **labels):
        """{label value: delta} for the series of name that matched."""
        out = {}
        for v in self.after.label_values(name, label, **labels):
            lab = dict(labels)
            lab[label] = v
            d = self.sum(name, **lab)
            if d:
                out[v] = d
        return out


def delta_when_closed(agent, before, what="connections closed"):
    """The Delta from `before` once every traced connection has ended (the
    connection table is empty) and the TLS counters have settled: what
    counts at a connection's end (opaque TLS, bytes held) is in."""
    agent.wait_for(lambda m: m.sum("sonde_ebpf_connections_active") == 0, timeout=15, what=what)
    return Delta(before, agent.settle("sonde_ebpf_tls_connections_total", quiet=1.0))


def attached(agent, timeout=10.0):
    """Fails fast, with the agent's own words, when the probe did not attach
    although this host can run BPF (a failure, not a skip)."""
    from .util import HarnessError, wait_until
    try:
        wait_until(lambda: agent.scrape().value("sonde_ebpf_up", default=0) == 1,
                   timeout=timeout, what="sonde_ebpf_up == 1", proc=agent.proc)
    except HarnessError:
        raise HarnessError("the eBPF probe did not attach on a host that supports it:\n%s"
                           % agent.log()[-3000:])
    return agent


REDIS = {"cache_system": "redis"}


def cache_phase(check, name, agent, system, truth, work, hits_name, misses_name):
    """Runs work() and checks the agent's cache lookups and hits for
    cache_system `system` against the server's own counters: truth() ->
    (hits, misses), read before and after. Returns the Delta of the
    agent's metrics over the phase."""
    sel = {"cache_system": system}
    h0, m0 = truth()
    before = agent.scrape()
    work()
    h1, m1 = truth()
    hits, lookups = h1 - h0, (h1 - h0) + (m1 - m0)
    base = before.sum("sonde_cache_lookups_total", **sel)
    agent.wait_for(lambda m: m.sum("sonde_cache_lookups_total", **sel) - base >= lookups,
                   timeout=15, what="%s: %d lookups" % (name, lookups))
    after = agent.settle("sonde_cache_lookups_total", quiet=1.0, **sel)
    d = Delta(before, after)
    per_service = d.by("sonde_cache_lookups_total", "service", **sel)
    dropped = d.sum("sonde_ebpf_parser_dropped_total", protocol=system)
    check.equal(d.sum("sonde_cache_lookups_total", **sel), lookups,
                "%s: lookups = %s+%s (per service %s, parser dropped %d commands)"
                % (name, hits_name, misses_name, per_service, dropped))
    check.equal(d.sum("sonde_cache_hits_total", **sel), hits,
                "%s: hits = %s" % (name, hits_name))
    return d


def redis_phase(check, name, r, agent, work):
    """Runs work() against Redis r; checks the agent's cache lookups and
    hits against INFO keyspace_hits/keyspace_misses, and its GET, SET,
    MGET, HGET and HSET counts against INFO commandstats. Returns the
    Delta of the agent's metrics over the phase."""
    calls = []  # INFO commandstats before and after

    def truth():
        s = r.info_stats()
        calls.append(r.command_stats())
        return s["keyspace_hits"], s["keyspace_misses"]

    d = cache_phase(check, name, agent, "redis", truth, work, "keyspace_hits",
                    "keyspace_misses")
    c0, c1 = calls
    ops = {k.lower(): v for k, v in d.by("sonde_cache_operations_total", "cache_operation",
                                         **REDIS).items()}
    for cmd in ("get", "set", "mget", "hget", "hset"):
        n = c1.get(cmd, 0) - c0.get(cmd, 0)
        if n or ops.get(cmd):
            check.equal(ops.get(cmd, 0), n,
                        "%s: %s commands = commandstats calls" % (name, cmd.upper()))
    return d
