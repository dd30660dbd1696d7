#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF + MySQL/MariaDB parser + pipeline against SHOW GLOBAL STATUS.

Text protocol (the mariadb client, and COM_QUERY from a raw client): the
agent's db_client_operation_duration_seconds count per db_operation_name
(db_system_name="mysql") equals the change in Com_select, Com_insert,
Com_update, Com_delete. Binary protocol (COM_STMT_PREPARE/EXECUTE written
by sondetest.mysqlwire): the statements the agent reports, other than
prepare/close, equal the change in Com_stmt_execute, and per operation they
equal Com_select/Com_insert (MariaDB counts an executed prepared SELECT in
both Com_stmt_execute and Com_select). SQL-level PREPARE/EXECUTE is text
protocol (COM_QUERY) and is covered by the first phase. Then the text
phase against a second server with TLS (the mariadb client with --ssl:
SSLRequest, handshake, then the handshake response and the commands read
from the client's and mariadbd's libssl): the same counts, and the TLS
connection seen at both ends with its plaintext. Ground-truth queries go
over the unix socket, out of the TCP probe's sight.
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, HarnessError, MariaDB, MysqlClient, ebpf  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
FAM = "db_client_operation_duration_seconds"
SYS = {"db_system_name": "mysql"}
COMS = {"SELECT": "Com_select", "INSERT": "Com_insert", "UPDATE": "Com_update",
        "DELETE": "Com_delete"}
NOT_EXECUTE = ("PREPARE", "CLOSE", "QUIT", "PING", "RESET")


def phase(name, db, agent, work, binary=False, coms=COMS):
    g0 = db.global_status()
    before = agent.scrape()
    work()
    g1 = db.global_status()
    gt = {op: g1[c] - g0[c] for op, c in coms.items()}
    executes = g1["Com_stmt_execute"] - g0["Com_stmt_execute"]
    total = sum(gt.values())
    base = before.sum(FAM + "_count", **SYS)
    agent.wait_for(lambda m: m.sum(FAM + "_count", **SYS) - base >= total, timeout=15,
                   what="%s: %d statements" % (name, total))
    after = agent.settle(FAM + "_count", quiet=1.0, **SYS)
    d = Delta(before, after)
    ops = {k.upper(): int(v) for k, v in d.by(FAM + "_count", "db_operation_name", **SYS).items()}
    print("   %s: status %s, Com_stmt_execute %d; agent %s" % (name, gt, executes, ops))
    for op, want in gt.items():
        if want or ops.get(op):
            check.equal(ops.get(op, 0), want, "%s: %s count = %s" % (name, op, coms[op]))
    if binary:
        got = sum(v for k, v in ops.items() if not any(w in k for w in NOT_EXECUTE))
        check.equal(got, executes, "%s: executed statements = Com_stmt_execute" % name)
    errs = d.sum(FAM + "_count", error_type=lambda v: bool(v), **SYS)
    check.equal(errs, 0, "%s: no statement reported with an error" % name)


def cli(db, sql, tls=False):
    out = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-h", db.host, "-P", str(db.port),
                          "--protocol=TCP", "-D", "d", "--ssl" if tls else "--skip-ssl",
                          "-e", sql + (" SHOW SESSION STATUS LIKE 'Ssl_version';" if tls else "")],
                         check=True, capture_output=True, timeout=60, text=True).stdout
    if tls and "TLS" not in out:  # the workload itself must be what we think
        raise HarnessError("the mariadb client did not use TLS: %r" % out[-200:])


def text_phase(db, tls=False):
    stmts = ["INSERT INTO t VALUES (%d, 'v%d')" % (i, i) for i in range(20)]
    stmts += ["SELECT v FROM t WHERE id = %d" % (i % 25) for i in range(40)]
    stmts += ["UPDATE t SET v = 'u' WHERE id = %d" % i for i in range(5)]
    stmts += ["DELETE FROM t WHERE id = %d" % i for i in range(15, 20)]
    cli(db, ";\n".join(stmts[:30]) + ";", tls)
    with MysqlClient(db.host, db.port, db="d") as c:
        for s in stmts[30:]:
            c.query(s)


def sql_prepare_phase(db):
    # SQL-level prepared statements are COM_QUERY text; MariaDB counts an
    # EXECUTE of a SELECT in Com_execute_sql and in Com_select, which no
    # wire observer can know, so this phase compares the statement kinds.
    with MysqlClient(db.host, db.port, db="d") as c:
        c.query("PREPARE p FROM 'SELECT v FROM t WHERE id = ?'")
        c.query("SET @a = 3")
        for _ in range(7):
            c.query("EXECUTE p USING @a")
        c.query("DEALLOCATE PREPARE p")


def binary_phase(db):
    with MysqlClient(db.host, db.port, db="d") as c:
        ins = c.prepare("INSERT INTO t VALUES (?, ?)")
        sel = c.prepare("SELECT v FROM t WHERE id = ?")
        for i in range(100, 130):
            c.execute(ins, i, "b%d" % i)
        hits = sum(len(c.execute(sel, i)) for i in range(95, 135))
        assert hits == 30, hits
        c.close_stmt(ins)
        c.close_stmt(sel)


def main():
    with MariaDB() as db:
        db.sql("CREATE DATABASE d; CREATE TABLE d.t(id int primary key, v varchar(20))")
        with Agent(ebpf.config(ports=[db.port])) as agent:
            ebpf.attached(agent)
            phase("text protocol (mariadb CLI + COM_QUERY)", db, agent, lambda: text_phase(db))
            phase("SQL PREPARE/EXECUTE", db, agent, lambda: sql_prepare_phase(db),
                  coms={"PREPARE": "Com_prepare_sql", "EXECUTE": "Com_execute_sql"})
            phase("binary prepared statements", db, agent, lambda: binary_phase(db), binary=True)
            check.equal(ebpf.lost_events(agent.scrape()), 0, "no ring-buffer events lost")
    tls_phase()
    check.exit()


def tls_phase():
    with MariaDB(tls=True) as db:
        db.sql("CREATE DATABASE d; CREATE TABLE d.t(id int primary key, v varchar(20))")
        with Agent(ebpf.config(ports=[db.port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            # the SHOW SESSION STATUS the TLS check adds is not a Com_* counted here
            phase("TLS: text protocol (mariadb --ssl + COM_QUERY)", db, agent,
                  lambda: text_phase(db, tls=True))
            d = ebpf.delta_when_closed(agent, before)
            check.equal(int(d.sum("sonde_ebpf_tls_connections_total")), 2,
                        "TLS: the client's connection seen speaking TLS at both ends")
            check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 0,
                        "TLS: its plaintext read")
            check.equal(int(d.sum("sonde_ebpf_tls_unpaired_total")), 0,
                        "TLS: every SSL call on TCP paired (the unix-socket ones are not counted)")
            check.equal(ebpf.lost_events(agent.scrape()), 0, "TLS: no ring-buffer events lost")


if __name__ == "__main__":
    main()
