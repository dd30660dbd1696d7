#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""MariaDB's slow query log (slow_query_log = 1, long_query_time = 0) ->
db_client_operation_duration_seconds per operation, exact.

500 statements of known operations (some over several lines) go through
one `mariadb` client session. Truths: the known mix, SHOW GLOBAL STATUS
Com_* deltas, and the slow log's own Query_time values. The server is
restarted once in the middle, so the slow log also carries the banner
MariaDB writes into it at every start."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, ebpf, MariaDB, mixed_statements, run, skip, which  # noqa: E402

MIX = {"SELECT": 250, "INSERT": 100, "UPDATE": 80, "DELETE": 40, "BEGIN": 15, "COMMIT": 15}
COM = {"SELECT": "Com_select", "INSERT": "Com_insert", "UPDATE": "Com_update",
       "DELETE": "Com_delete", "BEGIN": "Com_begin", "COMMIT": "Com_commit"}
DB_METRIC = "db_client_operation_duration_seconds"


def workload(first, last):
    """Statements first..last-1 of the fixed 500-statement plan."""
    return mixed_statements(MIX, table="`items`", name="it''s; %d")[first:last]


def client(db, stmts):
    run(["mariadb", "--no-defaults", "-uroot", "--socket=" + db.socket, "-D", "itest"],
        input="\n".join(stmts) + "\n", timeout=120)


def main():
    if not which("mariadbd") or not which("mariadb"):
        skip("MariaDB is not installed")
    checks = Checks()
    plan = workload(0, 10 ** 6)
    counts = {}
    for s in plan:
        op = s.split()[0].rstrip(";").upper()
        counts[op] = counts.get(op, 0) + 1
    checks.equal(counts, MIX, "workload holds the planned statements")

    db = MariaDB()
    slow = os.path.join(db.dir, "slow.log")
    db.options.update({"slow_query_log": "1", "long_query_time": "0",
                       "slow_query_log_file": slow})
    with db:
        db.sql("CREATE DATABASE itest")
        db.sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64));"
               "INSERT INTO items SELECT seq, CONCAT('n', seq) FROM seq_0_to_49", db="itest")
        cfg = ebpf.off({"logs": {"state_dir": db.dir, "poll_interval": "100ms",
                                 "flush_idle": "300ms",
                                 "sources": [{"path": slow, "format": "mysql_slow",
                                              "from_beginning": True}]}})
        with Agent(cfg) as agent:
            before = db.global_status()
            base = agent.settle(DB_METRIC + "_count", quiet=1.5, timeout=20)
            log_offset = os.path.getsize(slow)
            client(db, plan[:260])
            mid = db.global_status()
            # a restart writes the server banner into the middle of the log
            db.stop()
            db.start()
            client(db, plan[260:])
            agent.wait_for(lambda m: m.sum(DB_METRIC + "_count") - base.sum(DB_METRIC + "_count")
                           >= len(plan), timeout=30, what="%d statements" % len(plan))
            m = agent.settle(DB_METRIC + "_count", quiet=1.5, timeout=20)
            with open(slow, errors="replace") as f:
                f.seek(log_offset)
                log = f.read()
            after = db.global_status()

            def delta(**labels):
                return (m.sum(DB_METRIC + "_count", db_system_name="mysql", **labels) -
                        base.sum(DB_METRIC + "_count", db_system_name="mysql", **labels))

            # the restarted server's ready-check (SELECT 1) and our own
            # SHOW GLOBAL STATUS are in the log too
            extra_selects = len(re.findall(r"^SELECT 1;$", log, re.M))
            shows = len(re.findall(r"^SHOW GLOBAL STATUS;$", log, re.M))
            checks.equal(delta(), len(plan) + extra_selects + shows, "statements counted")
            checks.equal(delta(db_operation_name="SHOW"), shows, "SHOW statements")
            for op, n in sorted(MIX.items()):
                want = n + (extra_selects if op == "SELECT" else 0)
                checks.equal(delta(db_operation_name=op), want, "%s statements" % op)
            checks.equal(delta(db_query_summary="UPDATE items"), MIX["UPDATE"],
                         "multi-line UPDATE summarized with its table")
            checks.equal(delta(db_query_summary="SELECT items"), MIX["SELECT"],
                         "SELECT with a backquoted table summarized")
            checks.equal(m.sum("sonde_log_parse_errors_total"), 0, "no parse errors")
            checks("started with:" in log, "the slow log holds a restart banner")

            # Com_* counters restart with the server: before the restart
            # mid - before, after it everything since the start.
            for op, var in sorted(COM.items()):
                truth = mid.get(var, 0) - before.get(var, 0) + after.get(var, 0)
                checks.equal(delta(db_operation_name=op), truth,
                             "%s = SHOW GLOBAL STATUS %s delta" % (op, var))

            times = [float(x) for x in re.findall(r"^# Query_time: ([\d.]+)", log, re.M)]
            checks.equal(len(times), len(plan) + extra_selects + shows, "entries in the slow log")
            got = (m.sum(DB_METRIC + "_sum", db_system_name="mysql") -
                   base.sum(DB_METRIC + "_sum", db_system_name="mysql"))
            checks.close(got, sum(times), 0, 1e-6, "duration sum = the log's Query_time")
    checks.exit()


if __name__ == "__main__":
    main()
