#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""nginx access log with a custom log_format -> sonde's HTTP metrics.

A front nginx serves static files, a location that returns 404s and a
proxy_cache location in front of a second nginx. 1,000 requests with a
known mix go over keep-alive connections; the agent follows the access
log (format nginx, the log_format pasted in nginx.conf syntax). Checked
against two independent truths: the client's own counts and nginx's own
log lines (status, $upstream_cache_status, $request_time)."""

import http.client
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, ebpf, Nginx, skip, which  # noqa: E402

LOG_FORMAT = ('$remote_addr - $remote_user [$time_local] "$request" $status '
              '$body_bytes_sent "$http_referer" "$http_user_agent" '
              'rt=$request_time urt="$upstream_response_time" '
              'ucs=$upstream_cache_status host=$host')
# nginx's own line, read back for ground truth.
LINE_RE = re.compile(r'^\S+ - \S+ \[[^\]]+\] "(?P<req>[^"]*)" (?P<status>\d{3}) \d+ '
                     r'"[^"]*" "[^"]*" rt=(?P<rt>[\d.]+) urt="[^"]*" '
                     r'ucs=(?P<ucs>\S+) host=\S*$')

N_STATIC, N_HEAD, N_MISSING, N_CACHED, N_KEYS = 450, 50, 200, 300, 20


def send(host, port):
    """The request mix over 4 keep-alive connections; returns status counts."""
    conns = [http.client.HTTPConnection(host, port, timeout=10) for _ in range(4)]
    counts = {}
    plan = ([("GET", "/static/file%d.txt" % (i % 10)) for i in range(N_STATIC)] +
            [("HEAD", "/static/file%d.txt" % (i % 10)) for i in range(N_HEAD)] +
            [("GET", "/missing/%d" % (100000 + i)) for i in range(N_MISSING)] +
            [("GET", "/cached/k%d" % (i % N_KEYS)) for i in range(N_CACHED)])
    # Interleave deterministically so every connection sees every kind.
    plan = [plan[(i * 7919) % len(plan)] for i in range(len(plan))]
    assert len(plan) == 1000
    for i, (method, path) in enumerate(plan):
        c = conns[i % len(conns)]
        c.request(method, path, headers={"Host": "www.example.test",
                                         "User-Agent": "sonde-itest \"quoted\""})
        r = c.getresponse()
        r.read()
        counts[r.status] = counts.get(r.status, 0) + 1
    for c in conns:
        c.close()
    return counts


def main():
    if not which("nginx"):
        skip("nginx is not installed")
    checks = Checks()
    upstream = Nginx(server_conf='location / { return 200 "from upstream\\n"; }')
    front = Nginx(
        log_format=LOG_FORMAT,
        http_conf="proxy_cache_path @DIR@/cache keys_zone=sonde:1m;",
        server_conf="""
    root @DIR@/html;
    location /static/ { }
    location /missing/ { return 404; }
    location /cached/ {
      proxy_pass http://127.0.0.1:%d/;
      proxy_cache sonde;
      proxy_cache_valid 200 10m;
    }""" % upstream.port)
    html = os.path.join(front.dir, "html", "static")
    os.makedirs(html)
    for i in range(10):
        with open(os.path.join(html, "file%d.txt" % i), "w") as f:
            f.write("static file %d\n" % i * (i + 1))
    with upstream, front:
        cfg = ebpf.off({
            "logs": {
                "state_dir": front.dir,
                "poll_interval": "100ms",
                "sources": [{
                    "path": front.access_log_path,
                    "format": "nginx",
                    # exactly as written in nginx.conf: quoted pieces
                    "log_format": "'%s'\n  '%s';" % (LOG_FORMAT[:60], LOG_FORMAT[60:]),
                    "from_beginning": True,
                }],
            },
        })
        with Agent(cfg) as agent:
            client = send(front.host, front.port)
            checks.equal(sum(client.values()), 1000, "client sent 1000 requests")

            # nginx's own log, the ground truth
            with open(front.access_log_path) as f:
                lines = f.read().splitlines()
            truth_status, hits, lookups, rt_sum, missing = {}, 0, 0, 0.0, 0
            for line in lines:
                m = LINE_RE.match(line)
                if not m:
                    checks(False, "nginx log line matches the test's own regex", line)
                    continue
                s = int(m.group("status"))
                truth_status[s] = truth_status.get(s, 0) + 1
                rt_sum += float(m.group("rt"))
                if m.group("ucs") in ("HIT", "STALE", "UPDATING", "REVALIDATED"):
                    hits += 1
                if m.group("ucs") != "-":
                    lookups += 1
                if m.group("req").startswith("GET /missing/"):
                    missing += 1
            checks.equal(len(lines), 1000, "nginx logged 1000 lines")
            checks.equal(truth_status, client, "nginx's statuses match the client's")
            checks.equal(lookups, N_CACHED, "nginx logged a cache status per cached request")
            checks.equal(hits, N_CACHED - N_KEYS, "nginx logged HIT after each key's first MISS")

            name = "http_server_request_duration_seconds_count"
            m = agent.wait_for(lambda m: m.sum(name, service="nginx") >= 1000, timeout=30,
                               what="1000 requests counted from the log")
            m = agent.settle(name, service="nginx", quiet=1.0)
            checks.equal(m.sum(name, service="nginx"), 1000, "requests counted")
            for status, n in sorted(truth_status.items()):
                checks.equal(m.sum(name, service="nginx", http_response_status_code=str(status)),
                             n, "requests with status %d" % status)
            checks.equal(m.sum(name, service="nginx", http_request_method="HEAD"), N_HEAD,
                         "HEAD requests")
            checks.equal(m.sum(name, service="nginx", http_route="/missing/:id"), missing,
                         "404 paths folded into the route /missing/:id")
            checks.equal(m.sum("sonde_cache_lookups_total", cache_system="nginx"), lookups,
                         "cache lookups = nginx's cache status lines")
            checks.equal(m.sum("sonde_cache_hits_total", cache_system="nginx"), hits,
                         "cache hits = nginx's HIT lines")
            got_sum = m.sum("http_server_request_duration_seconds_sum", service="nginx")
            checks.close(got_sum, rt_sum, 0, 1e-6,
                         "latency sum = sum of $request_time in the log")
            checks.equal(m.sum("sonde_log_parse_errors_total"), 0, "no parse errors")
            checks.equal(m.sum("sonde_transactions_total", source="log", kind="http_server"),
                         1000, "log transactions")
    checks.exit()


if __name__ == "__main__":
    main()
