#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF on unix-domain stream sockets (ebpf.unix_sockets, default on): a
cache and a database reached through their local sockets, as PHP's
"localhost" reaches MySQL, and Rails or Django PostgreSQL.

- Redis over its unixsocket, redis-benchmark -s (GET/SET, no pipelining)
  and a scripted GET/MGET mix: the agent's lookups and hits equal the
  change in INFO keyspace_hits/keyspace_misses, and its GET/SET counts the
  change in INFO commandstats.
- MariaDB over its socket, the mariadb client: the agent's SELECT count
  (db_system_name mysql, server_address "unix") equals the change in
  Com_select.
- Their bytes are not TCP's: sonde_tcp_bytes_received_total does not move.
- With ebpf.unix_sockets false the same traffic is not seen.
- With no filter, both ends of each socket are traced: the clients' ends
  are set aside as on loopback TCP (the server's end reports the
  commands), so nothing is counted twice.

The server processes alone are traced (ebpf.pids) but in the last phase,
so the ground-truth queries, which go through the same sockets, are seen
too; they are neither lookups nor SELECTs.
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, MariaDB, Redis, ebpf  # noqa: E402
from sondetest.clients import RespClient  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
SYS = {"cache_system": "redis"}
N = 1000
DB = "db_client_operation_duration_seconds"


def redis_work(r):
    subprocess.run(["redis-benchmark", "-s", r.unix, "-t", "set,get", "-n", str(N),
                    "-c", "4", "-q"], check=True, capture_output=True, timeout=60)
    with RespClient(unix=r.unix) as c:
        c.call("SET", "u:1", "a")
        assert c.call("GET", "u:1") == b"a"
        assert c.call("GET", "nope:u") is None
        assert c.call("MGET", "u:1", "nope:v", "u:1") == [b"a", None, b"a"]


def redis_phase(r, unix, both_ends=False):
    what = "redis over its socket" + ("" if unix else ", unix_sockets off") + \
        (", both ends traced" if both_ends else "")
    section = {} if both_ends else {"pids": [str(r.proc.pid)]}
    with Agent(ebpf.config(unix_sockets=unix, **section)) as agent:
        ebpf.attached(agent)
        s0, c0 = r.info_stats(), r.command_stats()
        before = agent.scrape()
        redis_work(r)
        s1, c1 = r.info_stats(), r.command_stats()
        hits = s1["keyspace_hits"] - s0["keyspace_hits"]
        lookups = hits + s1["keyspace_misses"] - s0["keyspace_misses"]
        if unix:
            agent.wait_for(lambda m: m.sum("sonde_cache_lookups_total", **SYS) -
                           before.sum("sonde_cache_lookups_total", **SYS) >= lookups,
                           timeout=15, what="%d lookups" % lookups)
        d = Delta(before, agent.settle("sonde_cache_lookups_total", quiet=1.0, **SYS))
        if not unix:
            check.equal(int(d.sum("sonde_cache_operations_total", **SYS)), 0,
                        "%s: nothing seen" % what)
            return
        check.equal(int(d.sum("sonde_cache_lookups_total", **SYS)), lookups,
                    "%s: lookups = keyspace_hits+misses" % what)
        check.equal(int(d.sum("sonde_cache_hits_total", **SYS)), hits,
                    "%s: hits = keyspace_hits" % what)
        ops = {k.lower(): int(v) for k, v in
               d.by("sonde_cache_operations_total", "cache_operation", **SYS).items()}
        for cmd in ("get", "set", "mget"):
            check.equal(ops.get(cmd, 0), c1.get(cmd, 0) - c0.get(cmd, 0),
                        "%s: %s commands = commandstats calls" % (what, cmd.upper()))
        if not both_ends:  # else this test's own scrapes are TCP traffic too
            check.equal(int(d.sum("sonde_tcp_bytes_received_total")), 0,
                        "%s: no byte counted as TCP" % what)
        check.equal(int(d.sum("sonde_ebpf_parser_desyncs_total", protocol="redis")), 0,
                    "%s: no desync" % what)
        if both_ends:
            check(d.sum("sonde_ebpf_loopback_clients_skipped_total") >= 5,
                  "%s: the clients' ends set aside" % what,
                  str(d.sum("sonde_ebpf_loopback_clients_skipped_total")))


def mariadb_phase(m):
    what = "mariadb over its socket"
    pid = int(subprocess.run(["pgrep", "-o", "-f", "mariadbd.*" + m.socket],
                             capture_output=True, text=True).stdout.split()[0])
    with Agent(ebpf.config(pids=[str(pid)])) as agent:
        ebpf.attached(agent)
        g0 = m.global_status()
        before = agent.scrape()
        m.sql("; ".join("SELECT %d" % i for i in range(40)) + "; SELECT COUNT(*) FROM mysql.user")
        g1 = m.global_status()
        selects = g1["Com_select"] - g0["Com_select"]
        agent.wait_for(lambda x: x.sum(DB + "_count", db_operation_name="SELECT") -
                       before.sum(DB + "_count", db_operation_name="SELECT") >= selects,
                       timeout=15, what="%d SELECTs" % selects)
        d = Delta(before, agent.settle(DB + "_count", quiet=1.0))
        check(selects >= 41, "%s: the server counted the SELECTs" % what, str(selects))
        check.equal(int(d.sum(DB + "_count", db_operation_name="SELECT", db_system_name="mysql")),
                    selects, "%s: SELECT count = Com_select" % what)
        check.equal(d.by(DB + "_count", "server_address", db_operation_name="SELECT"),
                    {"unix": float(selects)}, "%s: server_address unix" % what)
        check.equal(int(d.sum("sonde_tcp_bytes_received_total")), 0,
                    "%s: no byte counted as TCP" % what)


def main():
    with Redis() as r:
        redis_phase(r, True)
        redis_phase(r, False)
        redis_phase(r, True, both_ends=True)
    with MariaDB() as m:
        mariadb_phase(m)
    check.exit()


if __name__ == "__main__":
    main()
