#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF + HTTP/1 parser + pipeline against nginx, its clients and its log.

Counts must match exactly, per status code:
  - python http.client on one keep-alive connection: an exact mix of 200,
    404 (no such file) and 502 (proxy_pass to a closed port);
  - a raw socket writing 10 requests in one write (pipelining);
  - ab -k (keep-alive): ab's own "Complete requests";
  - wrk for 2 s: nginx's access log (wrk does not count requests still in
    flight when it stops; nginx logs every one it answered);
  - a static file sent by sendfile() (nginx's `sendfile on`), on a
    keep-alive connection left open: every response, the last one
    included, is counted from its body's sendfile calls, and the bytes
    sent count the bodies.
Latency: requests proxied to an upstream that sleeps 15/35/60/85 ms (the
middle of OTel buckets 0.01-0.025, 0.025-0.05, 0.05-0.075, 0.075-0.1 s),
compared with nginx's $request_time for the same requests.
The agent's peak RSS (VmHWM) at the end stays under the issue's 30 MB.
Tolerance (stated here and in docs/parts/itest-ARCH.md): per-bucket
cumulative counts within 2% of the requests; p50/p90/p99 from the agent's
buckets in the same bucket as the log's exact quantile, or in the one next
to it when the logged value is within 1 ms of their bound ($request_time
has 1 ms resolution); mean within 2 ms + 5% of the log's mean.
"""

import http.client
import math
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, HeldUpstream, Nginx, ebpf, free_port  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402
from sondetest.promtext import Histogram  # noqa: E402

ebpf.require()
check = Checks()
FAM = "http_server_request_duration_seconds"
DELAYS_MS = (15, 35, 60, 85)
SLOW_N = 120


def statuses(delta):
    return {k: int(v) for k, v in delta.by(FAM + "_count", "http_response_status_code").items()}


def phase(name, agent, ng, work, want=None):
    """Runs work(); want: {status: count} from the client, or None to take
    the access log's lines written during the phase."""
    log0 = len(ng.access_log())
    before = agent.scrape()
    client = work()
    time.sleep(0.3)  # nginx writes its log line after the response
    lines = ng.access_log()[log0:]
    from_log = {}
    for r in lines:
        from_log[str(r["status"])] = from_log.get(str(r["status"]), 0) + 1
    bounds = None
    if isinstance(client, tuple):  # (lo, hi): the client counts only completed requests
        bounds, client = client, None
    if want is None:
        want = client if client is not None else from_log
    total = sum(want.values())
    base = before.sum(FAM + "_count")
    agent.wait_for(lambda m: m.sum(FAM + "_count") - base >= total, timeout=15,
                   what="%s: %d requests" % (name, total))
    after = agent.settle(FAM + "_count", quiet=1.0)
    d = Delta(before, after)
    check.equal(statuses(d), {str(k): v for k, v in want.items()},
                "%s: agent requests per status = client's" % name)
    if bounds:
        n = sum(from_log.values())
        check(bounds[0] <= n <= bounds[1], "%s: access log count within the client's bounds" % name,
              "log %d, client %d..%d" % (n, bounds[0], bounds[1]))
    else:
        check.equal(from_log, {str(k): v for k, v in want.items()},
                    "%s: (ground truth agrees) access log per status = client's" % name)
    return d, lines


def exact_mix(ng):
    c = http.client.HTTPConnection(ng.host, ng.port, timeout=10)
    plan = ["/index.html"] * 30 + ["/missing"] * 20 + ["/bad/"] * 10
    random.Random(1).shuffle(plan)
    got = {}
    for p in plan:
        c.request("GET", p)
        r = c.getresponse()
        r.read()
        got[r.status] = got.get(r.status, 0) + 1
    c.close()
    assert got == {200: 30, 404: 20, 502: 10}, got
    return got


def pipelined(ng):
    reqs = b"".join(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n" for _ in range(9))
    reqs += b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    with socket.create_connection((ng.host, ng.port), timeout=10) as s:
        s.sendall(reqs)  # ten requests, one write
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    codes = re.findall(rb"^HTTP/1\.1 (\d{3}) ", data, re.M)
    got = {}
    for c in codes:
        got[int(c)] = got.get(int(c), 0) + 1
    assert got == {200: 9, 404: 1}, got
    return got


def ab(ng):
    out = subprocess.run(["ab", "-q", "-k", "-n", "2000", "-c", "4",
                          "%s/index.html" % ng.url], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    done = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    assert failed == 0 and non2xx is None, out
    return {200: done}


def wrk(ng):
    out = subprocess.run(["wrk", "-t1", "-c4", "-d2s", "%s/index.html" % ng.url],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    n = int(re.search(r"(\d+) requests in", out).group(1))
    # wrk stops with up to one request in flight per connection, which nginx
    # answers and logs: the access log is the truth, wrk bounds it.
    return (n, n + 4)


STATIC_N = 40
STATIC_SIZE = 200 * 1024
STATIC_OPEN = []  # the keep-alive connection, closed after its phase


def static_sendfile(ng):
    c = http.client.HTTPConnection(ng.host, ng.port, timeout=10)
    for _ in range(STATIC_N):
        c.request("GET", "/static/big.bin")
        r = c.getresponse()
        assert r.status == 200 and len(r.read()) == STATIC_SIZE
    STATIC_OPEN.append(c)  # no close: nothing but the body ends the last response
    return {200: STATIC_N}


def slow(ng):
    rnd = random.Random(2)
    plan = [rnd.choice(DELAYS_MS) for _ in range(SLOW_N)]
    done = []

    def worker(items):
        c = http.client.HTTPConnection(ng.host, ng.port, timeout=10)
        for ms in items:
            c.request("GET", "/slow?ms=%d" % ms)
            r = c.getresponse()
            r.read()
            done.append(r.status)
        c.close()
    ts = [threading.Thread(target=worker, args=(plan[i::4],)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert done.count(200) == SLOW_N
    return {200: SLOW_N}


def exact_quantile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def latency(d, lines):
    h = d.histogram(FAM, http_route=lambda r: r is not None and "slow" in r)
    if not h.count:  # the route may be folded differently: take every series
        h = d.histogram(FAM)
    times = [r["request_time"] for r in lines]
    check.equal(int(h.count), len(times), "latency: agent histogram count = logged requests")
    n = len(times)
    bounds = [b for b, _ in h.buckets if b != float("inf")]
    worst = 0
    for b, agent_c in h.buckets:
        if b == float("inf"):
            continue
        log_c = sum(1 for t in times if t <= b)
        worst = max(worst, abs(agent_c - log_c))
    check.timing(worst <= 0.02 * n, "latency: per-bucket cumulative counts within 2%% of %d requests" % n,
          "worst bucket differs by %d" % worst)
    log_h = Histogram([(b, sum(1 for t in times if t <= b)) for b in bounds] + [(float("inf"), n)],
                      n, sum(times))
    for q in (0.5, 0.9, 0.99):
        exact = exact_quantile(times, q)
        est = h.quantile(q)
        # $request_time is the difference of two millisecond clocks: the
        # time taken is within 1 ms of it either way, so a logged value that
        # close to a bucket bound allows the bucket on its other side too
        lo = log_h.bucket_of(max(0.0, exact - 0.000999))[0]
        hi = log_h.bucket_of(exact + 0.000999)[1]
        check.timing(lo - 1e-9 <= est <= hi + 1e-9,
                     "latency: agent p%d in the bucket of the log's p%d" % (q * 100, q * 100),
                     "agent %.4f s, log %.4f s, bucket (%g, %g]" % (est, exact, lo, hi))
    check.close(h.mean, sum(times) / n, 0.05, 0.002, "latency: agent mean vs $request_time mean",
                timing=True)


def main():
    closed = free_port()
    with HeldUpstream(0) as upstream:
        conf = """root @DIR@/www;
    location /bad/ { proxy_pass http://127.0.0.1:%d/; proxy_connect_timeout 2s; }
    location /slow { proxy_pass http://127.0.0.1:%d; }
    location /static/ { sendfile on; }""" % (closed, upstream.port)
        with Nginx(server_conf=conf) as ng:
            os.makedirs(os.path.join(ng.dir, "www"), exist_ok=True)
            with open(os.path.join(ng.dir, "www", "index.html"), "w") as f:
                f.write("hello\n")
            os.makedirs(os.path.join(ng.dir, "www", "static"), exist_ok=True)
            with open(os.path.join(ng.dir, "www", "static", "big.bin"), "wb") as f:
                f.write(os.urandom(STATIC_SIZE))
            with Agent(ebpf.config(ports=[ng.port])) as agent:
                ebpf.attached(agent)
                phase("http.client 200/404/502 mix (keep-alive)", agent, ng, lambda: exact_mix(ng))
                phase("10 pipelined requests in one write", agent, ng, lambda: pipelined(ng))
                phase("ab -k -n 2000 -c 4", agent, ng, lambda: ab(ng))
                phase("wrk -c4 -d2s", agent, ng, lambda: wrk(ng))
                d, _ = phase("static file by sendfile (keep-alive, left open)", agent, ng,
                             lambda: static_sendfile(ng))
                sent = d.sum("sonde_tcp_bytes_sent_total")
                check(sent >= STATIC_N * STATIC_SIZE,
                      "sendfile: bytes sent count the bodies",
                      "%d bytes, %d bodies of %d" % (sent, STATIC_N, STATIC_SIZE))
                STATIC_OPEN.pop().close()
                d, lines = phase("proxied 15-85 ms requests", agent, ng, lambda: slow(ng))
                latency(d, lines)
                check.equal(ebpf.lost_events(agent.scrape()), 0, "no ring-buffer events lost")
                # issue #4's bound under load (18-19 MB on 2026-12-07): a
                # library or a start-up heap that grows it shows here
                peak = agent.peak_rss()
                check(peak < 30 << 20, "the agent's peak RSS under load < 30 MB",
                      "VmHWM %.1f MB" % (peak / 1048576))
    check.exit()


if __name__ == "__main__":
    main()
