#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF sees the client side of HTTP: python http.client and curl calling a
local HTTP server show up in http_client_request_duration_seconds with
server_address 127.0.0.1 and the server's port, counted per method and
status exactly as the clients counted them. Duration (stated tolerance):
for requests the server holds 50 ms, the agent's mean is within
max(10%, 5 ms) of the mean the client measured around each request.
"""

import http.client
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, HarnessError, ebpf, free_port, port_open, stop_process, wait_until  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
FAM = "http_client_request_duration_seconds"

SERVER = r'''
import http.server, re, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, code, body=b"x\n"):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        m = re.search(r"ms=(\d+)", self.path)
        if m:
            time.sleep(int(m.group(1)) / 1000.0)
        # Held requests answer 202 so that they form their own series.
        self.reply(404 if self.path.startswith("/missing") else 202 if m else 200)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.reply(201, self.rfile.read(n))
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def main():
    port = free_port()
    srv = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], start_new_session=True)
    try:
        wait_until(lambda: port_open("127.0.0.1", port), timeout=15, what="http server", proc=srv)
        with Agent(ebpf.config(ports=[port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            plan = [("GET", "/ok", 200)] * 25 + [("GET", "/missing", 404)] * 5 + \
                   [("POST", "/items", 201)] * 10
            for method, path, want in plan:
                c.request(method, path, body=b"payload" if method == "POST" else None)
                r = c.getresponse()
                r.read()
                if r.status != want:  # the workload itself must be what we think
                    raise HarnessError("%s %s -> %d" % (method, path, r.status))
            spent = []
            for _ in range(20):
                t0 = time.monotonic()
                c.request("GET", "/sleep?ms=50")
                r = c.getresponse()
                r.read()
                assert r.status == 202
                spent.append(time.monotonic() - t0)
            c.close()
            for _ in range(5):
                subprocess.run(["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:%d/ok" % port],
                               check=True, timeout=30)
            want = {("GET", "200"): 25 + 5, ("GET", "202"): 20, ("GET", "404"): 5,
                    ("POST", "201"): 10}
            total = sum(want.values())
            base = before.sum(FAM + "_count")
            agent.wait_for(lambda m: m.sum(FAM + "_count") - base >= total, timeout=15,
                           what="%d client requests" % total)
            after = agent.settle(FAM + "_count", quiet=1.0)
            d = Delta(before, after)
            got = {}
            for s in after.select(FAM + "_count"):
                k = (s.labels.get("http_request_method"), s.labels.get("http_response_status_code"))
                v = int(d.sum(FAM + "_count", **s.labels))
                if v:
                    got[k] = got.get(k, 0) + v
            check.equal(got, want, "client requests per method and status")
            check.equal(d.by(FAM + "_count", "server_address"), {"127.0.0.1": total},
                        "server_address is 127.0.0.1 for every request")
            check.equal(d.by(FAM + "_count", "server_port"), {str(port): total},
                        "server_port is the server's port for every request")
            services = d.by(FAM + "_count", "service")
            check(len(services) >= 2, "python and curl clients are told apart by service",
                  str(services))
            held = d.histogram(FAM, http_response_status_code="202")
            check.equal(int(held.count), 20, "held requests counted")
            check.close(held.mean, sum(spent) / len(spent), 0.10, 0.005,
                        "held requests: agent mean vs client-measured mean (s)")
            check.equal(ebpf.lost_events(after), 0, "no ring-buffer events lost")
    finally:
        stop_process(srv)
    check.exit()


if __name__ == "__main__":
    main()
