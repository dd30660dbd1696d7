#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF + RESP parser + pipeline against Redis's own counters.

With the client alone traced (redis-benchmark in a cgroup of its own,
ebpf.cgroups), its end of the loopback connections reports the commands,
as exactly: the server's end, which would, is not traced.

Ground truth: INFO stats keyspace_hits / keyspace_misses and INFO
commandstats, read over the unix socket (invisible to the TCP probe).
The agent's sonde_cache_lookups_total / sonde_cache_hits_total for
cache_system="redis" must move by exactly the same amounts, phase by phase:
redis-benchmark without and with pipelining (-P 16), a scripted mix of
GET/MGET/HGET hits and misses, many commands in one write, and RESP3.
Then over TLS (Redis's tls-port; redis-benchmark and redis-cli with
--tls, read from their libssl and the server's): the same exact counts,
every connection's plaintext read.

The workload avoids the cases where Redis's keyspace counters and a reply-
based count legitimately differ (HGET of a missing field in an existing
hash is a keyspace hit with a nil reply; MGET of a non-string key likewise).
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, Redis, ebpf  # noqa: E402
from sondetest.cgroups import run_in, scratch  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
SYS = {"cache_system": "redis"}
N = 2000


def phase(name, r, agent, work):
    return ebpf.redis_phase(check, name, r, agent, work)


def benchmark(r, pipeline, tls=False, cgdir=None):
    cmd = ["redis-benchmark", "-h", r.host, "-p", str(r.tls_port if tls else r.port),
           "-t", "get,set", "-n", str(N), "-c", "4", "-q"] + (["--tls", "--insecure"] if tls else [])
    if pipeline > 1:
        cmd += ["-P", str(pipeline)]
    # The keys must exist for GET to hit: SET runs first in -t get,set.
    if cgdir:
        run_in(cgdir, cmd, check=True, capture_output=True, timeout=60)
    else:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def scripted(r):
    with r.client() as c:
        c.call("SET", "s:1", "a")
        c.call("SET", "s:2", "b")
        c.call("HSET", "h:1", "f", "v")
        assert c.call("GET", "s:1") == b"a"        # hit
        assert c.call("GET", "nope:1") is None     # miss
        assert c.call("MGET", "s:1", "nope:2", "s:2", "nope:3") == [b"a", None, b"b", None]
        assert c.call("HGET", "h:1", "f") == b"v"  # hit
        assert c.call("HGET", "nope:h", "f") is None  # miss (no such key)
        c.call("MGET", "nope:4")                   # one miss


def pipelined(r):
    cmds = []
    for i in range(50):
        cmds.append(("GET", "s:1" if i % 3 else "nope:%d" % i))
        cmds.append(("MGET", "s:1", "s:2", "nope:x"))
    with r.client() as c:
        replies = c.pipeline(cmds, one_write=True)
        assert len(replies) == 100


def resp3(r):
    with r.client() as c:
        hello = c.call("HELLO", "3")
        assert hello["proto"] == 3
        assert c.call("GET", "s:1") == b"a"
        assert c.call("GET", "nope:r3") is None      # RESP3 null '_'
        assert c.call("MGET", "nope:a", "s:2") == [None, b"b"]
        assert c.call("HGET", "h:1", "f") == b"v"
        assert c.call("HGET", "nope:h3", "f") is None
        c.pipeline([("GET", "s:2"), ("GET", "nope:p")] * 10)


def errors_phase(r, agent):
    """Error replies carry their error prefix; the truth is INFO errorstats.
    (Kept apart from the hit counts: Redis counts GET on a hash as a
    keyspace hit before it answers WRONGTYPE.)"""
    def errorstats():
        return {k[len("errorstat_"):]: int(v.split("=", 1)[1])
                for k, v in r.info("errorstats").items() if k.startswith("errorstat_")}
    e0 = errorstats()
    before = agent.scrape()
    with r.client() as c:
        c.call("HSET", "e:h", "f", "v")
        for _ in range(4):
            try:
                c.call("GET", "e:h")
            except Exception:  # noqa: BLE001 - the error reply is the point
                pass
    e1 = errorstats()
    want = {k: v - e0.get(k, 0) for k, v in e1.items() if v - e0.get(k, 0)}
    base = before.sum("sonde_cache_operations_total", error_type="WRONGTYPE", **SYS)
    agent.wait_for(lambda m: m.sum("sonde_cache_operations_total", error_type="WRONGTYPE", **SYS)
                   - base >= 4, timeout=15, what="4 WRONGTYPE replies")
    after = agent.settle("sonde_cache_operations_total", quiet=1.0, **SYS)
    got = Delta(before, after).by("sonde_cache_operations_total", "error_type",
                                  error_type=lambda v: bool(v), **SYS)
    check.equal({k: int(v) for k, v in got.items()}, want,
                "error replies per error_type = INFO errorstats")


def cli_tls(r, commands):
    p = subprocess.run(["redis-cli", "--tls", "--insecure", "-h", r.host, "-p", str(r.tls_port)],
                       input="\n".join(commands) + "\n", capture_output=True, text=True,
                       timeout=60, check=True)
    return p.stdout.splitlines()


def scripted_tls(r):
    out = cli_tls(r, ["SET t:1 a", "HSET t:h f v", "GET t:1", "GET nope:t1",
                      "MGET t:1 nope:t2 t:1", "HGET t:h f", "HGET nope:th f"])
    assert out == ["OK", "1", "a", "", "a", "", "a", "v", ""], out


def tls_phases():
    with Redis(tls=True) as r, Agent(ebpf.config(ports=[r.tls_port])) as agent:
        ebpf.attached(agent)
        before = agent.scrape()
        phase("TLS: redis-benchmark --tls", r, agent, lambda: benchmark(r, 1, tls=True))
        phase("TLS: redis-benchmark --tls -P 16", r, agent, lambda: benchmark(r, 16, tls=True))
        phase("TLS: redis-cli --tls GET/MGET/HGET", r, agent, lambda: scripted_tls(r))
        d = ebpf.delta_when_closed(agent, before, "TLS connections closed")
        conns = d.sum("sonde_ebpf_tls_connections_total")
        check(conns >= 2 * (2 * 4 + 1) and conns % 2 == 0,
              "TLS: every connection seen speaking TLS at both ends", "%d ends" % conns)
        check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 0,
                    "TLS: every connection's plaintext read")
        check.equal(ebpf.lost_events(agent.scrape()), 0, "TLS: no ring-buffer events lost")


def client_alone_phase(r):
    with scratch("redis-client") as (rel, cgdir):
        if not rel:
            print("SKIP: client end alone: no cgroup v2 hierarchy to trace the client by")
            return
        with Agent(ebpf.config(ports=[r.port], cgroups=[rel])) as agent:
            ebpf.attached(agent)
            d = phase("client end alone: redis-benchmark", r, agent,
                      lambda: benchmark(r, 1, cgdir=cgdir))
            check(d.sum("sonde_ebpf_loopback_clients_reported_total") >= 4,
                  "client end alone: the clients' ends report",
                  str(d.sum("sonde_ebpf_loopback_clients_reported_total")))
            check.equal(int(d.sum("sonde_ebpf_loopback_clients_skipped_total")), 0,
                        "client end alone: no client end set aside")


def main():
    with Redis() as r:
        client_alone_phase(r)
    with Redis() as r, Agent(ebpf.config(ports=[r.port])) as agent:
        ebpf.attached(agent)
        phase("redis-benchmark", r, agent, lambda: benchmark(r, 1))
        phase("redis-benchmark -P 16", r, agent, lambda: benchmark(r, 16))
        phase("scripted GET/MGET/HGET", r, agent, lambda: scripted(r))
        phase("50+50 commands in one write", r, agent, lambda: pipelined(r))
        phase("RESP3", r, agent, lambda: resp3(r))
        errors_phase(r, agent)
        m = agent.scrape()
        check(m.sum("sonde_ebpf_loopback_clients_skipped_total") >= 4,
              "both ends traced: the clients' ends set aside",
              str(m.sum("sonde_ebpf_loopback_clients_skipped_total")))
        check.equal(ebpf.lost_events(m), 0, "no ring-buffer events lost")
    tls_phases()
    check.exit()


if __name__ == "__main__":
    main()
