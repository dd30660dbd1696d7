#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PostgreSQL's own log (log_min_duration_statement = 0, stderr to a file)
-> db_client_operation_duration_seconds per operation, exact.

500 statements of known operations (single-line and multi-line, the
latter continued by tab lines in the log) go through one psql session in
a database of their own, plus 5 failing statements. Truths: the known mix,
pg_stat_statements calls in that database, and the log's own ERROR and
duration lines."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, ebpf, mixed_statements, Postgres, run, skip, which  # noqa: E402

MIX = {"SELECT": 250, "INSERT": 100, "UPDATE": 80, "DELETE": 40, "BEGIN": 15, "COMMIT": 15}
N_ERRORS = 5
DB_METRIC = "db_client_operation_duration_seconds"


def workload():
    """SQL text with exactly the MIX of statements, none failing."""
    return "\n".join(mixed_statements(MIX)) + "\n"


def count_ops(sql):
    counts = {}
    for stmt in sql.split(";"):
        w = stmt.split()
        if w:
            counts[w[0].upper()] = counts.get(w[0].upper(), 0) + 1
    return counts


def main():
    if not which("psql") or not os.path.isdir("/usr/lib/postgresql"):
        skip("PostgreSQL is not installed")
    checks = Checks()
    pg = Postgres(options={"log_min_duration_statement": "0",
                           "log_line_prefix": "%m [%p] %q%u@%d ",
                           "lc_messages": "C"})
    with pg:
        pg.psql("CREATE DATABASE itest")
        pg.psql("CREATE TABLE items (id int primary key, name text);"
                "INSERT INTO items SELECT g, 'n' || g FROM generate_series(0, 49) g",
                db="itest")
        cfg = ebpf.off({"logs": {"state_dir": pg.dir, "poll_interval": "100ms",
                                 "flush_idle": "300ms",
                                 "sources": [{"path": pg.log_path, "format": "postgres",
                                              "from_beginning": True}]}})
        with Agent(cfg) as agent:
            base = agent.settle(DB_METRIC + "_count", quiet=1.5, timeout=20)
            sql = workload()
            want = count_ops(sql)
            checks.equal(want, MIX, "workload holds the planned statements")
            log_offset = os.path.getsize(pg.log_path)
            run(["psql", "-X", "-q", "-h", pg.dir, "-p", str(pg.port), "-U", "postgres",
                 "-d", "itest", "-f", "-"], input=sql, timeout=120)
            # failing statements: psql goes on after errors without ON_ERROR_STOP
            bad = "".join("SELECT * FROM no_such_table_%d;\n" % i for i in range(N_ERRORS))
            run(["psql", "-X", "-q", "-h", pg.dir, "-p", str(pg.port), "-U", "postgres",
                 "-d", "itest", "-f", "-"], input=bad, timeout=60, check=False)
            total = sum(want.values()) + N_ERRORS
            agent.wait_for(lambda m: m.sum(DB_METRIC + "_count") - base.sum(DB_METRIC + "_count")
                           >= total, timeout=30, what="%d statements from the log" % total)
            m = agent.settle(DB_METRIC + "_count", quiet=1.5, timeout=20)
            # the log now, before ground-truth queries add their own lines
            with open(pg.log_path, errors="replace") as f:
                f.seek(log_offset)
                log = f.read()

            def delta(**labels):
                return (m.sum(DB_METRIC + "_count", db_system_name="postgresql", **labels) -
                        base.sum(DB_METRIC + "_count", db_system_name="postgresql", **labels))

            checks.equal(delta(), total, "statements counted")
            for op, n in sorted(want.items()):
                checks.equal(delta(db_operation_name=op, error_type=""), n,
                             "%s statements" % op)
            checks.equal(delta(error_type="ERROR"), N_ERRORS, "failed statements")
            checks.equal(delta(db_query_summary="UPDATE items"), want["UPDATE"],
                         "multi-line UPDATE summarized with its table")
            checks.equal(m.sum("sonde_log_parse_errors_total"), 0, "no parse errors")

            # pg_stat_statements: calls per operation in the test database
            calls = {}
            for row in pg.pg_stat_statements():
                if row.get("dbname") != "itest":
                    continue
                w = row["query"].split()
                op = w[0].upper() if w else ""
                calls[op] = calls.get(op, 0) + row["calls"]
            for op in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                setup = 1 if op == "INSERT" else 0  # the INSERT ... generate_series
                checks.equal(delta(db_operation_name=op, error_type=""),
                             calls.get(op, 0) - setup, "%s = pg_stat_statements calls" % op)

            # the log's own ERROR lines and durations
            checks.equal(len(re.findall(r"\] postgres@itest ERROR:  ", log)), N_ERRORS,
                         "ERROR lines in the log")
            durs = [float(x) for x in re.findall(
                r" LOG:  duration: ([\d.]+) ms  (?:statement|execute [^:]*): ", log)]
            got = (m.sum(DB_METRIC + "_sum", db_system_name="postgresql") -
                   base.sum(DB_METRIC + "_sum", db_system_name="postgresql"))
            checks.equal(len(durs), sum(MIX.values()), "duration lines in the log")
            checks.close(got, sum(durs) / 1000.0, 0, 1e-6,
                         "duration sum = the log's durations")
    checks.exit()


if __name__ == "__main__":
    main()
