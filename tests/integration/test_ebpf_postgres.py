#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF + PostgreSQL parser + pipeline against pg_stat_statements.

Per phase, the agent's db_client_operation_duration_seconds count per
db_operation_name (db_system_name="postgresql", error_type "") must equal
pg_stat_statements calls summed by the statement's first keyword, for
SELECT/INSERT/UPDATE/DELETE exactly (other keywords are printed). Phases:
psql (simple protocol, one statement per message), pgbench -S with
-M simple, extended and prepared, and pgbench's TPC-B script -M prepared;
then 5 failing statements must carry error_type 42P01. Then the same
counts over TLS (a second server with ssl on, clients with sslmode
require: SSLRequest, then the handshake, then the protocol inside TLS,
read from libpq's and the backend's libssl): psql and pgbench -S -M
prepared, every connection's plaintext read at both ends (none opaque).
Ground-truth queries go over the unix socket and are excluded by text.

Durations (stated tolerance): the agent times a query on the wire, from
the client's message to ReadyForQuery, which includes parse, plan and
loopback time that pg_stat_statements' exec time does not. For
`SELECT pg_sleep(0.02)` the agent's mean must be within max(10%, 2 ms) of
pg_stat_statements' mean; for pgbench phases it must lie between 0.9x the
exec mean and the exec mean + 1 ms.
"""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, Postgres, ebpf  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
FAM = "db_client_operation_duration_seconds"
SYS = {"db_system_name": "postgresql"}
STRICT = ("SELECT", "INSERT", "UPDATE", "DELETE")


def truth(pg):
    """{KEYWORD: (calls, total_ms)} since the last reset."""
    out = {}
    for s in pg.pg_stat_statements():
        q = s["query"].strip()
        if "pg_stat_statements" in q or s["dbname"] != "postgres":
            continue
        kw = q.split(None, 1)[0].upper().rstrip(";") if q else "?"
        c, t = out.get(kw, (0, 0.0))
        out[kw] = (c + s["calls"], t + s["total_ms"])
    return out


def phase(name, pg, agent, work, mean_check=None):
    pg.reset_stats()
    before = agent.scrape()
    work()
    gt = truth(pg)
    total = sum(c for c, _ in gt.values())
    base = before.sum(FAM + "_count", **SYS)
    agent.wait_for(lambda m: m.sum(FAM + "_count", **SYS) - base >= total, timeout=15,
                   what="%s: %d statements" % (name, total))
    after = agent.settle(FAM + "_count", quiet=1.0, **SYS)
    d = Delta(before, after)
    ops = {k.upper(): int(v) for k, v in
           d.by(FAM + "_count", "db_operation_name", error_type=None, **SYS).items()}
    errs = d.sum(FAM + "_count", error_type=lambda v: bool(v), **SYS)
    print("   %s: pg_stat_statements %s; agent %s, %d with an error_type"
          % (name, {k: c for k, (c, _) in gt.items()}, ops, errs))
    for kw in STRICT:
        want = gt.get(kw, (0, 0))[0]
        if want or ops.get(kw):
            check.equal(ops.get(kw, 0), want, "%s: %s count = pg_stat_statements calls" % (name, kw))
    check.equal(errs, 0, "%s: no statement reported with an error" % name)
    addrs = d.by(FAM + "_count", "server_address", **SYS)
    check(set(addrs) <= {"127.0.0.1"}, "%s: server_address is the server's" % name, str(addrs))
    if mean_check:
        kw = "SELECT"
        calls, total_ms = gt.get(kw, (0, 0.0))
        h = d.histogram(FAM, db_operation_name=lambda v: (v or "").upper() == kw, **SYS)
        if calls and h.count:
            mean_check(name, h.mean * 1000.0, total_ms / calls)
        else:
            check(False, "%s: SELECT durations present on both sides" % name)
    return d


def sleep_mean(name, agent_ms, exec_ms):
    check.close(agent_ms, exec_ms, 0.10, 2.0, "%s: agent mean ms vs pg_stat_statements mean ms" % name,
                timing=True)


def bench_mean(name, agent_ms, exec_ms):
    check.timing(0.9 * exec_ms <= agent_ms <= exec_ms + 1.0,
                 "%s: agent mean within [0.9x, +1 ms] of exec mean" % name,
                 "agent %.3f ms, exec %.3f ms" % (agent_ms, exec_ms))


def client_env(sslmode):
    return dict(os.environ, PGSSLMODE=sslmode)


def psql_script(pg, sql, sslmode="prefer"):
    path = os.path.join(pg.dir, "script.sql")
    with open(path, "w") as f:
        f.write(sql)
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.host, "-p", str(pg.port),
                    "-U", "postgres", "-f", path], check=True, capture_output=True, timeout=60,
                   env=client_env(sslmode))


def pgbench(pg, *args, sslmode="prefer"):
    subprocess.run(["pgbench", "-h", pg.host, "-p", str(pg.port), "-U", "postgres", "-n",
                    "-c", "2", "-j", "1"] + list(args) + ["postgres"],
                   check=True, capture_output=True, timeout=90, env=client_env(sslmode))


def errors_phase(pg, agent):
    """Failing statements are not in pg_stat_statements: the truth is what
    we sent and the SQLSTATE PostgreSQL documents for it (42P01)."""
    before = agent.scrape()
    path = os.path.join(pg.dir, "errors.sql")
    with open(path, "w") as f:
        f.write("SELECT * FROM no_such_table;\n" * 5)
    p = subprocess.run(["psql", "-X", "-q", "-h", pg.host, "-p", str(pg.port), "-U", "postgres",
                        "-f", path], capture_output=True, text=True, timeout=60)
    assert p.stderr.count("does not exist") == 5, p.stderr
    base = before.sum(FAM + "_count", error_type="42P01", **SYS)
    agent.wait_for(lambda m: m.sum(FAM + "_count", error_type="42P01", **SYS) - base >= 5,
                   timeout=15, what="5 failed statements")
    after = agent.settle(FAM + "_count", quiet=1.0, **SYS)
    d = Delta(before, after)
    check.equal(d.by(FAM + "_count", "error_type", **SYS), {"42P01": 5},
                "failing statements: 5 with error_type 42P01 (undefined_table)")


def tls_phases(mixed):
    with Postgres(tls=True, options={"log_connections": "on"}) as pg:
        pg.psql("CREATE TABLE items(id int primary key, v text)")
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", "-h", pg.dir, "-p", str(pg.port),
                        "-U", "postgres", "postgres"], check=True, capture_output=True, timeout=120)
        with Agent(ebpf.config(ports=[pg.port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            log0 = os.path.getsize(pg.log_path)
            phase("TLS: psql mix", pg, agent,
                  lambda: psql_script(pg, "\n".join(mixed) + "\n", sslmode="require"))
            phase("TLS: pgbench -S -M prepared", pg, agent,
                  lambda: pgbench(pg, "-S", "-M", "prepared", "-t", "300", sslmode="require"),
                  bench_mean)
            d = ebpf.delta_when_closed(agent, before, "TLS connections closed")
            # the server's own word (log_connections) on each TCP connection's TLS
            with open(pg.log_path, "rb") as f:
                f.seek(log0)
                lines = f.read().decode(errors="replace").splitlines()
            tcp = {m.group(1) for m in (re.search(r"\[(\d+)\].*connection received: host=127\.0\.0\.1", ln)
                                        for ln in lines) if m}
            authorized = [ln for ln in lines if "connection authorized" in ln and
                          re.search(r"\[(\d+)\]", ln) and
                          re.search(r"\[(\d+)\]", ln).group(1) in tcp]
            ssl = sum(1 for ln in authorized if "SSL enabled" in ln)
            check(ssl >= 3 and ssl == len(authorized),
                  "TLS: every TCP connection of the phase used TLS (server log)",
                  "%d of %d" % (ssl, len(authorized)))
            check.equal(int(d.sum("sonde_ebpf_tls_connections_total")), 2 * ssl,
                        "TLS: each TLS connection seen speaking TLS at both ends")
            check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 0,
                        "TLS: every connection's plaintext read")
            check.equal(ebpf.lost_events(agent.scrape()), 0, "TLS: no ring-buffer events lost")


def main():
    with Postgres() as pg:
        pg.psql("CREATE TABLE items(id int primary key, v text)")
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", "-h", pg.dir, "-p", str(pg.port),
                        "-U", "postgres", "postgres"], check=True, capture_output=True, timeout=120)
        with Agent(ebpf.config(ports=[pg.port])) as agent:
            ebpf.attached(agent)
            mixed = []
            for i in range(10):
                mixed.append("INSERT INTO items VALUES (%d, 'v%d');" % (i, i))
            for i in range(30):
                mixed.append("SELECT v FROM items WHERE id = %d;" % (i % 12))
            for i in range(5):
                mixed.append("UPDATE items SET v = 'u' WHERE id = %d;" % i)
            for i in range(5):
                mixed.append("DELETE FROM items WHERE id = %d;" % i)
            phase("psql mix", pg, agent, lambda: psql_script(pg, "\n".join(mixed) + "\n"))
            phase("psql pg_sleep(0.02) x25", pg, agent,
                  lambda: psql_script(pg, "SELECT pg_sleep(0.02);\n" * 25), sleep_mean)
            for mode in ("simple", "extended", "prepared"):
                phase("pgbench -S -M %s" % mode, pg, agent,
                      lambda: pgbench(pg, "-S", "-M", mode, "-t", "500"), bench_mean)
            phase("pgbench TPC-B -M prepared", pg, agent,
                  lambda: pgbench(pg, "-M", "prepared", "-t", "200"))
            errors_phase(pg, agent)
            check.equal(ebpf.lost_events(agent.scrape()), 0, "no ring-buffer events lost")
    tls_phases(mixed)
    check.exit()


if __name__ == "__main__":
    main()
