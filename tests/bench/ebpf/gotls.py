#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the Go crypto/tls hooks cost: a Go HTTPS server and a Go client
(tests/integration/sondetest/gopeer.go, built with Debian's go) making N
sequential keep-alive requests, both ends traced. Alternates, ROUNDS
times: no agent; the agent with ebpf.go_tls false (syscalls traced, the
TLS opaque); the agent with the Go hooks. Prints the median wall time of
each and the added microseconds per request, plus the requests counted.

    sudo SONDE_BIN=build/sonde tests/bench/ebpf/gotls.py [N=20000] [ROUNDS=3] [h1|h2]
"""

import os
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration"))

from sondetest import Agent, ebpf, gopeers  # noqa: E402
from sondetest.servers import self_signed_cert  # noqa: E402

CLI = "http_client_request_duration_seconds_count"


def run(exe, port, n, proto):
    t = time.monotonic()
    got = gopeers.get(exe, "https://127.0.0.1:%d" % port, [["/ok", n]], proto)
    if got != {"200": n}:
        raise SystemExit("client got %r" % got)
    return time.monotonic() - t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    proto = sys.argv[3] if len(sys.argv) > 3 else "h1"
    ebpf.require()
    times = {"none": [], "syscalls": [], "go": []}
    counted = []
    with tempfile.TemporaryDirectory(prefix="sonde-bench-gotls-") as tmp:
        exe = gopeers.build()
        cert, key = self_signed_cert(tmp)
        with gopeers.Server(exe, cert, key, proto) as port:
            for _ in range(rounds):
                times["none"].append(run(exe, port, n, proto))
                for kind, go in (("syscalls", False), ("go", True)):
                    with Agent(ebpf.config(ports=[port], go_tls=go)) as agent:
                        ebpf.attached(agent)
                        before = agent.scrape().sum(CLI)
                        times[kind].append(run(exe, port, n, proto))
                        if go:
                            m = agent.settle(CLI, quiet=1.0)
                            counted.append(int(m.sum(CLI) - before))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("%d %s requests, %d rounds, medians:" % (n, proto, rounds))
    print("  no agent            %.3f s  (%.1f us per request)" % (med["none"],
                                                                  med["none"] / n * 1e6))
    for k, label in (("syscalls", "agent, go_tls false"), ("go", "agent, Go hooks")):
        print("  %-19s %.3f s  (+%.1f us per request)" % (
            label, med[k], (med[k] - med["none"]) / n * 1e6))
    print("  client requests counted with the Go hooks: %s (of %d each)" % (counted, n))


if __name__ == "__main__":
    main()
