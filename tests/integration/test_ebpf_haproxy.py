#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF against HAProxy in front of nginx: one request seen three times.

HAProxy (Debian's haproxy, two threads) serves HTTP and HTTPS (ALPN h2 and
http/1.1, its own libssl), answers /limited itself (429), sends /slow to a
python upstream that holds each request N ms and everything else to nginx
(200, 404 /missing, 503 /boom). For each workload the agent's counts per
status must equal, exactly:
  - HAProxy as a server (`http_server_request_duration_seconds`,
    service haproxy): the client's own counts, which HAProxy's frontend
    counters (hrsp_2xx.. per class) confirm;
  - HAProxy as a client of its backends (`http_client_...`, service
    haproxy): the client's counts less the 429s HAProxy answered itself,
    which its backend counters confirm;
  - nginx as a server: nginx's access log.
Workloads: python http.client on one keep-alive connection (mix of all
four statuses), h2load --h1 (keep-alive HTTP/1.1), the same mix over TLS,
h2load over TLS with HTTP/2 (10 streams per connection; HAProxy turns
them into HTTP/1.1 to nginx), and one TLS connection per request (the
fd numbers HAProxy's threads close and accept race each other). Over TLS:
every call placed, no opaque connection, no record lost.
Latency: /slow requests held 15/35/60/85 ms; the agent's mean for HAProxy
as a server against the log's %Ta (request received to response sent),
as a client against its %Tr + %Td (request sent to the server's headers,
then its body: the python upstream writes them apart, and the body waits
for the delayed ACK), each within max(5 %, 2 ms) (HAProxy logs whole
milliseconds).
"""

import http.client
import os
import random
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import (Agent, Checks, HeldUpstream, Nginx, ebpf, https_connection,  # noqa: E402
                       skip, which)
from sondetest.ebpf import Delta  # noqa: E402
from sondetest.haproxy import HAProxy  # noqa: E402

ebpf.require()
if not which("haproxy"):
    skip("haproxy is not installed (scripts/deps.sh test installs it)")
check = Checks()
SERVER = "http_server_request_duration_seconds"
CLIENT = "http_client_request_duration_seconds"
MIX = ["/"] * 30 + ["/missing"] * 20 + ["/boom"] * 10 + ["/limited"] * 10
MIX_WANT = {200: 30, 404: 20, 503: 10, 429: 10}
DELAYS_MS = (15, 35, 60, 85)
SLOW_EACH = 10


def per_status(d, fam, service):
    return {int(k): int(v) for k, v in
            d.by(fam + "_count", "http_response_status_code", service=service).items()}


def tally(items, key):
    out = {}
    for it in items:
        out[key(it)] = out.get(key(it), 0) + 1
    return out


def connection(hx, tls):
    if not tls:
        return http.client.HTTPConnection(hx.host, hx.port, timeout=10)
    return https_connection(hx.tls_port, hx.host)


def mix(hx, tls, per_request=False):
    """The MIX in a shuffled order, on one keep-alive connection or on a
    new connection each; returns the statuses the client got."""
    plan = list(MIX)
    random.Random(7).shuffle(plan)
    got = {}
    c = None
    for p in plan:
        if c is None:
            c = connection(hx, tls)
        c.request("GET", p, headers={"Connection": "close"} if per_request else {})
        r = c.getresponse()
        r.read()
        got[r.status] = got.get(r.status, 0) + 1
        if per_request:
            c.close()
            c = None
    if c is not None:
        c.close()
    assert got == MIX_WANT, got
    return got


def h2load(url, n, *args):
    out = subprocess.run(["h2load", "-n", str(n)] + list(args) + [url], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    m = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    assert m and int(m.group(2)) == n, out
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    assert codes and int(codes.group(1)) == n, out
    return {200: n}


def ab(url, n):
    """ab without keep-alive: a connection per request."""
    out = subprocess.run(["ab", "-q", "-n", str(n), "-c", "4", url], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    done = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    assert done == n and failed == 0 and "Non-2xx" not in out, out
    return {200: n}


def slow(hx):
    c = connection(hx, False)
    for ms in DELAYS_MS * SLOW_EACH:
        c.request("GET", "/slow?ms=%d" % ms)
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
    c.close()
    return {200: len(DELAYS_MS) * SLOW_EACH}


def by_class(counts):
    out = {}
    for status, n in counts.items():
        key = "hrsp_%dxx" % (status // 100)
        out[key] = out.get(key, 0) + n
    return out


def counters(hx, proxy, role, before):
    """HAProxy's per-class response counters of proxy's FRONTEND or
    BACKEND since `before` (a stats() snapshot), the zero ones left out."""
    now = hx.stats()
    out = {}
    for px in ([proxy] if proxy else [p for p, r in now if r == role]):
        a, b = now.get((px, role), {}), before.get((px, role), {})
        for k in ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx"):
            if a.get(k, 0) - b.get(k, 0):
                out[k] = out.get(k, 0) + a[k] - b.get(k, 0)
    return out


def phase(name, agent, hx, ng, work, tls=False):
    """Runs work() (-> the client's statuses) and checks the three views."""
    hx0, ng0, st0 = len(hx.requests()), len(ng.access_log()), hx.stats()
    before = agent.scrape()
    want = work()
    forwarded = {k: v for k, v in want.items() if k != 429}
    total = sum(want.values())
    base = before.sum(SERVER + "_count", service="haproxy")
    agent.wait_for(lambda m: m.sum(SERVER + "_count", service="haproxy") - base >= total,
                   timeout=20, what="%s: %d requests" % (name, total))
    d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % name) if tls else \
        Delta(before, agent.settle(CLIENT + "_count", quiet=1.0))
    time.sleep(0.3)  # nginx logs after its response
    to_nginx = tally(ng.access_log()[ng0:], lambda r: r["status"])
    check.equal(counters(hx, "web", "FRONTEND", st0), by_class(want),
                "%s: (ground truth agrees) HAProxy's frontend counters = client's" % name)
    check.equal(counters(hx, None, "BACKEND", st0), by_class(forwarded),
                "%s: (ground truth agrees) HAProxy's backend counters = forwarded" % name)
    check.equal(per_status(d, SERVER, "haproxy"), want,
                "%s: HAProxy as a server, per status = client's" % name)
    check.equal(per_status(d, CLIENT, "haproxy"), forwarded,
                "%s: HAProxy as a client, per status = what it forwarded" % name)
    check.equal(per_status(d, SERVER, "nginx"), to_nginx,
                "%s: nginx as a server, per status = its access log" % name)
    if tls:
        ebpf.tls_clean(check, d, name)
    return d, hx.requests()[hx0:]


def latency(d, logged):
    check.equal(len(logged), len(DELAYS_MS) * SLOW_EACH,
                "latency: (ground truth) a log line per sequential request")
    active = [r["active_ms"] / 1000.0 for r in logged]
    # request sent to the server .. response's last byte: %Tr (to its
    # headers) + %Td (its data)
    server = [(r["server_ms"] + r["data_ms"]) / 1000.0 for r in logged]
    hs = d.histogram(SERVER, service="haproxy")
    hc = d.histogram(CLIENT, service="haproxy")
    check.equal(int(hs.count), len(logged), "latency: HAProxy server-side count = log lines")
    check.close(hs.mean, sum(active) / len(active), 0.05, 0.002,
                "latency: HAProxy server-side mean vs the log's %Ta mean")
    check.equal(int(hc.count), len(logged), "latency: HAProxy client-side count = log lines")
    check.close(hc.mean, sum(server) / len(server), 0.05, 0.002,
                "latency: HAProxy client-side mean vs the log's %Tr+%Td mean")


def main():
    ng_conf = """location / { return 200 "ok\\n"; }
    location /missing { return 404; }
    location /boom { return 503; }"""
    with Nginx(server_conf=ng_conf) as ng, HeldUpstream(0) as held, \
            HAProxy({"nginx": ng.address, "held": held.address}, routes=[("/slow", "held")],
                    returns=[("/limited", 429)]) as hx:
        cfg = ebpf.config(ports=[hx.port, hx.tls_port, ng.port, held.port])
        with Agent(cfg) as agent:
            ebpf.attached(agent)
            phase("HTTP/1.1 keep-alive mix", agent, hx, ng, lambda: mix(hx, False))
            phase("h2load --h1 -n 2000 -c 4", agent, hx, ng,
                  lambda: h2load("http://%s/" % hx.address, 2000, "--h1", "-c", "4"))
            phase("ab -n 3000 -c 4, a connection per request", agent, hx, ng,
                  lambda: ab("http://%s/" % hx.address, 3000))
            phase("TLS HTTP/1.1 keep-alive mix", agent, hx, ng, lambda: mix(hx, True), tls=True)
            phase("TLS HTTP/2 h2load -n 2000 -c 4 -m 10", agent, hx, ng,
                  lambda: h2load("https://127.0.0.1:%d/" % hx.tls_port, 2000, "-c", "4",
                                 "-m", "10"), tls=True)
            phase("TLS, a connection per request", agent, hx, ng,
                  lambda: mix(hx, True, per_request=True), tls=True)
            d, logged = phase("held 15-85 ms via /slow", agent, hx, ng, lambda: slow(hx))
            latency(d, logged)
            check.equal(ebpf.lost_events(agent.scrape()), 0, "no ring-buffer record lost")
    check.exit()


if __name__ == "__main__":
    main()
