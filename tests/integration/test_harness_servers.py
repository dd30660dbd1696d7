#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Proves the shared harness works: the strict exposition parser accepts
valid text and rejects broken text, and every server launcher starts its
server on a free port and reads back its own ground truth, which must move
by exactly what this test did."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import (Agent, MariaDB, Memcached, Nginx, NodeExporter, ParseError,  # noqa: E402
                       Postgres, Prometheus, Redis, http_get, parse, which)

FAILED = []
PASSED = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what), flush=True)
    (PASSED if cond else FAILED).append(what)


def test_parser():
    good = ('# HELP a_total A counter.\n# TYPE a_total counter\n'
            'a_total{x="1",y="q\\"uote\\\\ back\\nnl"} 3\n'
            '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\n'
            'h_sum 0.5\nh_count 2\n# TYPE g gauge\ng NaN\ng{a="b"} -1.5e3 1700000000000\n')
    samples, types, _ = parse(good)
    check(len(samples) == 7 and types["h"] == "histogram", "parser accepts valid text")
    check(samples[0].labels["y"] == 'q"uote\\ back\nnl', "parser unescapes label values")
    bad = {
        "missing newline": "# TYPE a gauge\na 1",
        "no TYPE": "a 1\n",
        "bad escape": '# TYPE a gauge\na{x="\\t"} 1\n',
        "duplicate series": "# TYPE a gauge\na 1\na 2\n",
        "bad value": "# TYPE a gauge\na one\n",
        "negative counter": "# TYPE a_total counter\na_total -1\n",
        "count != +Inf": ('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'),
        "not cumulative": ('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\n'
                           'h_sum 1\nh_count 2\n'),
        "interleaved": "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 2\n",
        "bad label name": '# TYPE a gauge\na{1x="y"} 1\n',
        "unterminated": '# TYPE a gauge\na{x="y} 1\n',
        "double TYPE": "# TYPE a gauge\n# TYPE a counter\n",
    }
    for what, text in bad.items():
        try:
            parse(text)
            check(False, "parser rejects %s" % what)
        except ParseError:
            check(True, "parser rejects %s" % what)


def test_nginx():
    with Nginx(server_conf='location / { return 200 "hi\\n"; }\n'
                           '    location /up { proxy_pass http://127.0.0.1:@EXTRA_PORT0@/; }',
               extra_servers=['location / { return 404; }']) as ng:
        codes = [http_get(ng.url + p)[0] for p in ("/", "/", "/up", "/missing")]
        check(codes == [200, 200, 404, 200], "nginx answers (got %s)" % codes)
        time.sleep(0.2)
        log = [r for r in ng.access_log() if r["uri"] != "/"]  # upstream server lines too
        statuses = sorted(r["status"] for r in ng.access_log())
        # 4 front requests + 1 upstream request, all logged with a request time.
        check(statuses == [200, 200, 200, 404, 404], "nginx access log has every request (%s)" % statuses)
        check(all(r["request_time"] >= 0 for r in log), "nginx logs $request_time")


def test_redis():
    with Redis() as r:
        before = r.info_stats()
        with r.client() as c:
            c.call("SET", "k", "v")
            c.call("GET", "k")
            c.call("GET", "nope")
            c.pipeline([("GET", "k"), ("MGET", "k", "x", "y")])
            check(c.call("HELLO", "3")["proto"] == 3, "redis speaks RESP3 after HELLO 3")
            check(c.call("GET", "nope") is None, "RESP3 null reads as None")
        after = r.info_stats()
        hits = after["keyspace_hits"] - before["keyspace_hits"]
        misses = after["keyspace_misses"] - before["keyspace_misses"]
        check((hits, misses) == (3, 4), "redis keyspace hits/misses move exactly (%d, %d)" % (hits, misses))


def test_memcached():
    with Memcached() as m:
        before = m.stats()
        with m.client() as c:
            c.set("a", "1")
            got = c.get("a", "b", "c")
            code, _, _ = c.mg("a", "v")
            code2, _, _ = c.mg("zz", "v")
        after = m.stats()
        check(got == {"a": b"1"} and code == "VA" and code2 == "EN", "memcached get/mg replies")
        hits = after["get_hits"] - before["get_hits"]
        misses = after["get_misses"] - before["get_misses"]
        check((hits, misses) == (2, 3), "memcached get_hits/misses move exactly (%d, %d)" % (hits, misses))


def test_postgres():
    with Postgres() as pg:
        pg.reset_stats()
        pg.psql("CREATE TABLE t(id int); INSERT INTO t VALUES (1),(2)", tcp=True)
        for _ in range(3):
            pg.psql("SELECT count(*) FROM t", tcp=True)
        st = pg.pg_stat_statements()
        sel = [s for s in st if s["query"].startswith("SELECT count(*) FROM t")]
        check(len(sel) == 1 and sel[0]["calls"] == 3, "pg_stat_statements counts calls (%s)" % sel)
        check(bool(sel) and sel[0]["mean_ms"] > 0, "pg_stat_statements has mean time")


def test_mariadb():
    with MariaDB() as db:
        before = db.global_status()
        db.sql("CREATE DATABASE d; CREATE TABLE d.t(id int); INSERT INTO d.t VALUES (1)", tcp=True)
        db.sql("SELECT * FROM d.t; SELECT 1", tcp=True)
        after = db.global_status()
        sel = after["Com_select"] - before["Com_select"]
        ins = after["Com_insert"] - before["Com_insert"]
        check((sel, ins) == (2, 1), "mariadb Com_select/Com_insert move exactly (%d, %d)" % (sel, ins))


def test_node_exporter_and_prometheus():
    with NodeExporter() as ne:
        m = ne.scrape()  # also proves the strict parser reads a real exporter
        check(m.sum("node_cpu_seconds_total") > 0, "node_exporter parsed strictly, has node_cpu_seconds_total")
        with Prometheus(scrape_targets=[ne.address]) as prom:
            deadline = time.time() + 30
            v = []
            while time.time() < deadline:
                v = prom.query('up{job="sonde"}')
                if v and v[0][1] == 1.0:
                    break
                time.sleep(0.5)
            check(bool(v) and v[0][1] == 1.0, "prometheus scrapes a target (%s)" % v)


def test_agent():
    """Agent(): free port, config written, /healthz waited for, a scrape that
    the strict parser accepts, and a clean exit on SIGTERM."""
    a = Agent()
    check("127.0.0.1:%d" % a.port in a.config_text, "Agent config names the free port")
    with a:
        m = a.scrape()
        check(len(m.samples) > 0, "agent exposition parsed strictly (%d samples)" % len(m.samples))
        check(http_get(a.url + "/healthz")[0] == 200, "agent /healthz answers 200")
    check(a.returncode == 0, "agent exits 0 on SIGTERM (got %s)" % a.returncode)


def main():
    test_parser()
    if os.environ.get("SONDE_BIN"):
        try:
            test_agent()
        except Exception as e:  # noqa: BLE001
            check(False, "test_agent raised %s: %s" % (type(e).__name__, e))
    tests = [test_nginx, test_redis, test_memcached, test_postgres, test_mariadb,
             test_node_exporter_and_prometheus]
    needs = {test_nginx: "nginx", test_redis: "redis-server", test_memcached: "memcached",
             test_postgres: "psql", test_mariadb: "mariadbd",
             test_node_exporter_and_prometheus: "prometheus"}
    for t in tests:
        if not which(needs[t]):
            # Every server is a declared dependency of the suite: missing is a failure.
            check(False, "%s installed" % needs[t])
            continue
        t0 = time.monotonic()
        try:
            t()
        except Exception as e:  # noqa: BLE001 - report every launcher, not just the first
            check(False, "%s raised %s: %s" % (t.__name__, type(e).__name__, e))
        print("   %s took %.1fs" % (t.__name__, time.monotonic() - t0), flush=True)
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
