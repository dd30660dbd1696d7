#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Live check of the PostgreSQL parser against pg_stat_statements.

Starts a throwaway PostgreSQL 15 with pg_stat_statements on a free port,
runs pgbench through a recording proxy in every query mode (default
tpcb-like script and -S), replays the recorded bytes through the parser
(proto_b_dump) and asserts that the transactions per operation equal
pg_stat_statements' calls per statement's first keyword.
"""
import collections
import errno
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import liveproxy  # noqa: E402

PGBIN = "/usr/lib/postgresql/15/bin"
TXNS = 12
CLIENTS = 2


def check_tls(port, data, rec, dump, psql, run):
    """A real SSLRequest answered 'S': the parser must give up (-EPROTO)."""
    if not shutil.which("openssl"):
        print("note: openssl missing, TLS give-up not checked")
        return True
    run(["openssl", "req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=localhost",
         "-keyout", data + "/server.key", "-out", data + "/server.crt"])
    psql("ALTER SYSTEM SET ssl = on")
    psql("SELECT pg_reload_conf()")
    recdir = os.path.join(rec, "tls")
    os.mkdir(recdir)
    proxy = liveproxy.Proxy(port, recdir)
    try:
        run(["psql", "-X", "-At", "-c", "SELECT 1",
             "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=require" % proxy.port])
    finally:
        files = proxy.close()
    txns, stats = liveproxy.replay(dump, "postgres", files)
    print("TLS: %d connections, %d txns, stats %s" % (len(files), len(txns), stats))
    if txns or stats[3] != -errno.EPROTO or len(files) != 1:
        print("FAIL: expected the parser to give up with -EPROTO and no txn")
        return False
    return True


def check_capture_limit(port, rec, dump, psql, run):
    """Big results, an error and COPY, replayed whole and with every chunk
    cut to 4 KiB as a bounded capture would: counts must not change."""
    psql("SELECT pg_stat_statements_reset()")
    recdir = os.path.join(rec, "caplimit")
    os.mkdir(recdir)
    proxy = liveproxy.Proxy(port, recdir)
    try:
        for _ in range(3):
            psql("SELECT repeat('x', 500) FROM generate_series(1, 300)", proxy.port)
        run(["pgbench", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "postgres",
             "-n", "-c", "1", "-t", str(TXNS), "-M", "extended", "postgres"])
        psql("COPY (SELECT aid, filler FROM pgbench_accounts LIMIT 2000) TO STDOUT", proxy.port)
        try:
            psql("SELECT * FROM no_such_table", proxy.port)
        except subprocess.CalledProcessError:
            pass
    finally:
        files = proxy.close()
    truth = collections.Counter()
    for line in psql("SELECT calls, query FROM pg_stat_statements "
                     "WHERE query NOT LIKE '%pg_stat_statements%'").splitlines():
        calls, query = line.split("|", 1)
        truth[query.split()[0].rstrip(";").upper()] += int(calls)
    ok = True
    for cap in (0, 4096):
        txns, stats = liveproxy.replay(dump, "postgres", files, cap)
        seen = collections.Counter(op for op, _, err, _ in txns if not err)
        errors = [err for _, _, err, _ in txns if err]
        print("capture limit %s: parser %s, errors %s, stats %s" % (
            cap or "none", dict(sorted(seen.items())), errors, stats))
        if seen != truth:
            print("FAIL: counts differ from pg_stat_statements %s" % dict(sorted(truth.items())))
            ok = False
        if errors != ["42P01"]:
            print("FAIL: expected the one 42P01 error")
            ok = False
        if stats[0] or stats[2] or stats[3] or (cap == 0 and stats[1]):
            print("FAIL: unexpected parser counters")
            ok = False
        if cap and not stats[1]:
            print("FAIL: the 4 KiB capture should have cut the big results")
            ok = False
    return ok


def check_mode(mode, dump, files, psql):
    truth = collections.Counter()
    for line in psql("SELECT calls, query FROM pg_stat_statements "
                     "WHERE query NOT LIKE '%pg_stat_statements%'").splitlines():
        calls, query = line.split("|", 1)
        truth[query.split()[0].rstrip(";").upper()] += int(calls)
    txns, stats = liveproxy.replay(dump, "postgres", files)
    seen = collections.Counter(op for op, _, err, _ in txns if not err)
    expect = collections.Counter(truth)
    if mode == "prepared":
        # PostgreSQL 15's pg_stat_statements zeroes the queryId of a
        # utility statement in a cached plan: BEGIN/END run through a
        # protocol-level prepared statement are counted on their first
        # execution per connection only. Every execution is on the wire.
        for op in ("BEGIN", "END"):
            if truth[op] == CLIENTS:
                expect[op] = CLIENTS * TXNS
    print("-M %s: %d connections" % (mode, len(files)))
    print("  pg_stat_statements:", dict(sorted(truth.items())))
    print("  sonde parser:      ", dict(sorted(seen.items())))
    print("  parser stats (parse_errors desyncs dropped rc):", stats)
    ok = True
    if seen != expect:
        print("FAIL: counts differ")
        ok = False
    errors = [t for t in txns if t[2]]
    if errors:
        print("FAIL: unexpected errors:", errors[:5])
        ok = False
    if stats != [0, 0, 0, 0]:
        print("FAIL: parser counters not zero")
        ok = False
    if any(d <= 0 for _, _, _, d in txns):
        print("FAIL: a transaction without duration")
        ok = False
    # -S runs one SELECT per transaction, tpcb-like one more
    if seen["SELECT"] < 2 * CLIENTS * TXNS or seen["UPDATE"] != 3 * CLIENTS * TXNS:
        print("FAIL: pgbench did not run as expected")
        ok = False
    targets = set(t for op, t, _, _ in txns if op == "UPDATE")
    if targets != {"UPDATE pgbench_accounts", "UPDATE pgbench_tellers",
                   "UPDATE pgbench_branches"}:
        print("FAIL: unexpected UPDATE targets", targets)
        ok = False
    return ok


def main():
    dump = sys.argv[1]
    liveproxy.which_or_skip(PGBIN + "/initdb", PGBIN + "/pg_ctl", "pgbench", "psql")
    if not os.path.exists("/usr/share/postgresql/15/extension/pg_stat_statements.control"):
        liveproxy.skip("pg_stat_statements (postgresql-contrib) not installed")
    as_user = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            liveproxy.skip("running as root and no postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]

    tmp = tempfile.mkdtemp(prefix="sonde-pg-")
    os.chmod(tmp, 0o755)
    if as_user:
        shutil.chown(tmp, "postgres", "postgres")
    data, sock, log = tmp + "/data", tmp, tmp + "/pg.log"
    rec = tempfile.mkdtemp(prefix="sonde-pgrec-")
    port = liveproxy.free_port()
    started = False
    proxy = None

    def run(cmd, **kw):
        return subprocess.run(as_user + cmd, check=True, capture_output=True, text=True,
                              timeout=120, **kw)

    def psql(sql, p=None):  # noqa: E306
        return run(["psql", "-h", "127.0.0.1", "-p", str(p or port), "-U", "postgres",
                    "-X", "-At", "-F", "|", "-c", sql, "postgres"]).stdout

    try:
        run([PGBIN + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c autovacuum=off "
                "-c shared_preload_libraries=pg_stat_statements "
                "-c pg_stat_statements.track_utility=on" % (port, sock))
        run([PGBIN + "/pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start"])
        started = True
        psql("CREATE EXTENSION pg_stat_statements")
        run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-i", "-s", "1",
             "-q", "postgres"])
        psql("SELECT pg_stat_statements_reset()")

        ok = True
        for mode in ("simple", "extended", "prepared"):
            psql("SELECT pg_stat_statements_reset()")
            recdir = os.path.join(rec, mode)
            os.mkdir(recdir)
            proxy = liveproxy.Proxy(port, recdir)
            for extra in ([], ["-S"]):
                run(["pgbench", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "postgres",
                     "-n", "-c", str(CLIENTS), "-t", str(TXNS), "-M", mode] + extra +
                    ["postgres"])
            files = proxy.close()
            proxy = None
            ok = check_mode(mode, dump, files, psql) and ok
        ok = check_capture_limit(port, rec, dump, psql, run) and ok
        ok = check_tls(port, data, rec, dump, psql, run) and ok
        return 0 if ok else 1
    except subprocess.CalledProcessError as e:
        print("command failed:", e.cmd, e.stdout, e.stderr)
        if os.path.exists(log):
            print(open(log).read()[-3000:])
        return 1
    finally:
        if proxy:
            proxy.close(2)
        if started:
            subprocess.run(as_user + [PGBIN + "/pg_ctl", "-D", data, "-m", "immediate", "-w",
                                      "stop"], capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(rec, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
