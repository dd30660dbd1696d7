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
  (db_system_name mysql, server_address the socket's path) equals the
  change in Com_select.
- PostgreSQL over its socket, pgbench -S (extended protocol, -M prepared),
  traced by cgroup (the postmaster's tree moved into one): each backend
  inherits its socket from the postmaster, so its role comes from the
  first request it reads; the SELECTs on pgbench_accounts equal
  pg_stat_statements' calls, their server_address the socket's path.
- Their bytes are not TCP's: sonde_tcp_bytes_received_total does not move.
- With ebpf.unix_sockets false the same traffic is not seen.
- With no filter, both ends of each socket are traced: the clients' ends
  are set aside as on loopback TCP (the server's end reports the
  commands), so nothing is counted twice. The kernel gives each end's and
  its peer's socket inode for addresses, so the agent pairs the ends.
- With the client alone traced (redis-benchmark -s in a cgroup of its
  own), its end reports the commands, exactly.

The server processes alone are traced (ebpf.pids) but in the last phase,
so the ground-truth queries, which go through the same sockets, are seen
too; they are neither lookups nor SELECTs.
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, MariaDB, Postgres, Redis, ebpf  # noqa: E402
from sondetest.cgroups import move, run_in, scratch, tree_pids, v2_root  # noqa: E402
from sondetest.clients import RespClient  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
SYS = ebpf.REDIS
N = 1000
DB = "db_client_operation_duration_seconds"


def socket_name(path):
    """A socket path as the agent names it: its first 63 bytes."""
    return path[:63]


def redis_benchmark(r, cgdir=None):
    cmd = ["redis-benchmark", "-s", r.unix, "-t", "set,get", "-n", str(N), "-c", "4", "-q"]
    if cgdir:
        run_in(cgdir, cmd, check=True, capture_output=True, timeout=60)
    else:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def redis_work(r):
    redis_benchmark(r)
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
        if not unix:
            before = agent.scrape()
            redis_work(r)
            d = Delta(before, agent.settle("sonde_cache_operations_total", quiet=1.0, **SYS))
            check.equal(int(d.sum("sonde_cache_operations_total", **SYS)), 0,
                        "%s: nothing seen" % what)
            return
        d = ebpf.redis_phase(check, what, r, agent, lambda: redis_work(r))
        if not both_ends:  # else this test's own scrapes are TCP traffic too
            check.equal(int(d.sum("sonde_tcp_bytes_received_total")), 0,
                        "%s: no byte counted as TCP" % what)
        check.equal(int(d.sum("sonde_ebpf_parser_desyncs_total", protocol="redis")), 0,
                    "%s: no desync" % what)
        if both_ends:
            check(d.sum("sonde_ebpf_loopback_clients_skipped_total") >= 5,
                  "%s: the clients' ends set aside" % what,
                  str(d.sum("sonde_ebpf_loopback_clients_skipped_total")))


def redis_client_alone(r):
    what = "redis over its socket, the client alone traced"
    with scratch("unix-client") as (rel, cgdir):
        if not rel:
            print("SKIP: %s: no cgroup v2 hierarchy to trace the client by" % what)
            return
        with Agent(ebpf.config(cgroups=[rel])) as agent:
            ebpf.attached(agent)
            d = ebpf.redis_phase(check, what, r, agent, lambda: redis_benchmark(r, cgdir))
            check(d.sum("sonde_ebpf_loopback_clients_reported_total") >= 4,
                  "%s: the clients' ends report" % what,
                  str(d.sum("sonde_ebpf_loopback_clients_reported_total")))


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
                    {socket_name(m.socket): float(selects)},
                    "%s: server_address is the socket's path" % what)
        check.equal(int(d.sum("sonde_tcp_bytes_received_total")), 0,
                    "%s: no byte counted as TCP" % what)


def move_tree(pid, cgdir):
    """pid and its descendants into cgdir, but those gone meanwhile."""
    for p in tree_pids(pid):
        try:
            move([p], cgdir)
        except ProcessLookupError:
            pass


def postgres_phase(pg):
    what = "postgresql over its socket"
    root = v2_root()
    if not root:
        print("SKIP: %s: no cgroup v2 hierarchy to trace the backends by" % what)
        return
    base = ["-h", pg.dir, "-p", str(pg.port), "-U", "postgres"]
    subprocess.run(["pgbench", "-i", "-s", "1", "-q"] + base + ["postgres"], check=True,
                   capture_output=True, timeout=120)
    cg = os.path.join(root, "sonde-test-unix-%d" % os.getpid())
    os.mkdir(cg)
    try:
        move_tree(pg.proc.pid, cg)
        with Agent(ebpf.config(cgroups=[os.path.relpath(cg, root)])) as agent:
            ebpf.attached(agent)
            pg.reset_stats()
            before = agent.scrape()
            subprocess.run(["pgbench"] + base + ["-n", "-c", "2", "-j", "1", "-S", "-M",
                                                 "prepared", "-t", "300", "postgres"],
                           check=True, capture_output=True, timeout=90)
            calls = sum(s["calls"] for s in pg.pg_stat_statements()
                        if "pgbench_accounts" in s["query"] and s["dbname"] == "postgres")
            agent.wait_for(lambda m: m.sum(DB + "_count", db_system_name="postgresql") -
                           before.sum(DB + "_count", db_system_name="postgresql") >= calls,
                           timeout=15, what="%d SELECTs" % calls)
            d = Delta(before, agent.settle(DB + "_count", quiet=1.0))
            summaries = d.by(DB + "_count", "db_query_summary", db_system_name="postgresql",
                             db_operation_name="SELECT")
            got = sum(v for k, v in summaries.items() if "pgbench_accounts" in k)
            check(calls >= 600, "%s: pgbench ran" % what, str(calls))
            check.equal(int(got), calls,
                        "%s: SELECTs on pgbench_accounts = pg_stat_statements calls (%s)"
                        % (what, summaries))
            path = os.path.join(pg.dir, ".s.PGSQL.%d" % pg.port)
            check.equal(set(d.by(DB + "_count", "server_address", db_system_name="postgresql")),
                        {socket_name(path)}, "%s: server_address is the socket's path" % what)
            check.equal(int(d.sum("sonde_ebpf_parser_desyncs_total", protocol="postgresql")),
                        0, "%s: no desync" % what)
    finally:
        move_tree(pg.proc.pid, root)
        os.rmdir(cg)


def main():
    with Postgres() as pg:
        postgres_phase(pg)
    with Redis() as r:
        redis_phase(r, True)
        redis_phase(r, False)
        redis_phase(r, True, both_ends=True)
        redis_client_alone(r)
    with MariaDB() as m:
        mariadb_phase(m)
    check.exit()


if __name__ == "__main__":
    main()
