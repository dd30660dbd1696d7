#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF + memcached parser + pipeline against memcached's own counters.

Ground truth: `stats` get_hits / get_misses. The agent's
sonde_cache_lookups_total / sonde_cache_hits_total for
cache_system="memcached" must move by exactly as much, for: single-key
get, multi-key get and gets, meta mg (with and without a value, EN miss),
many commands in one write, and pipelines deeper than 64 (200 gets; 300
quiet mg whose misses memcached does not answer).
"""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, Memcached, ebpf  # noqa: E402

ebpf.require()
check = Checks()
SYS = {"cache_system": "memcached"}


def phase(name, mc, agent, work):
    def truth():
        s = mc.stats()
        return s["get_hits"], s["get_misses"]

    d = ebpf.cache_phase(check, name, agent, "memcached", truth, work, "get_hits", "get_misses")
    print("   %s: operations %s" % (name, d.by("sonde_cache_operations_total", "cache_operation", **SYS)))
    return d


def seed(mc):
    with mc.client() as c:
        for i in range(10):
            c.set("k%d" % i, "v%d" % i)


def single(mc):
    with mc.client() as c:
        for i in range(20):
            got = c.get("k%d" % i)  # k0..k9 hit, k10..k19 miss
            assert (("k%d" % i) in got) == (i < 10)


def multi(mc):
    with mc.client() as c:
        assert len(c.get("k1", "k2", "x1", "k3", "x2")) == 3
        c.send_raw(b"gets k4 x3 k5\r\n")
        assert len(c.read_get()) == 2
        assert len(c.get(*["k%d" % i for i in range(10)] + ["y%d" % i for i in range(30)])) == 10


def meta(mc):
    with mc.client() as c:
        assert c.mg("k1", "v")[0] == "VA"
        assert c.mg("k2")[0] == "HD"          # hit without the value
        assert c.mg("x9", "v")[0] == "EN"
        assert c.mg("x10")[0] == "EN"
        assert c.mg("k3", "v", "t", "f")[0] == "VA"
        c.send_raw(b"mn\r\n")
        assert c.line() == b"MN"


def one_write(mc):
    with mc.client() as c:
        data = b"".join(b"get k%d\r\n" % (i % 15) for i in range(30))
        data += b"get k1 k2 zz\r\nmg k3 v\r\nmg zz v\r\n"
        c.send_raw(data)
        hits = 0
        for _ in range(31):
            hits += len(c.read_get())
        codes = [c.read_meta()[0] for _ in range(2)]
        assert codes == ["VA", "EN"], codes
        assert hits == 20 + 2, hits


def deep_pipeline(mc):
    """Past the parser's old 64-entry queue: 200 gets in one write, then 300
    quiet meta gets (misses unanswered) closed by mn."""
    with mc.client() as c:
        c.send_raw(b"".join(b"get k%d\r\n" % (i % 20) for i in range(200)))
        hits = sum(len(c.read_get()) for _ in range(200))
        assert hits == 100, hits
        c.send_raw(b"".join(b"mg k%d v q\r\n" % (i % 20) for i in range(300)) + b"mn\r\n")
        codes = []
        while True:
            code = c.read_meta()[0]
            if code == "MN":
                break
            codes.append(code)
        assert codes == ["VA"] * 150, codes[:5]


def main():
    with Memcached() as mc:
        seed(mc)
        with Agent(ebpf.config(ports=[mc.port])) as agent:
            ebpf.attached(agent)
            phase("get one key", mc, agent, lambda: single(mc))
            phase("multi-key get/gets", mc, agent, lambda: multi(mc))
            phase("meta mg (VA/HD/EN)", mc, agent, lambda: meta(mc))
            phase("33 commands in one write", mc, agent, lambda: one_write(mc))
            d = phase("200 gets, then 300 quiet mg, in one write each", mc, agent,
                      lambda: deep_pipeline(mc))
            check.equal(d.sum("sonde_ebpf_parser_dropped_total", protocol="memcached"), 0,
                        "deep pipelines: nothing dropped by the parser")
            check.equal(ebpf.lost_events(agent.scrape()), 0, "no ring-buffer events lost")
    check.exit()


if __name__ == "__main__":
    main()
