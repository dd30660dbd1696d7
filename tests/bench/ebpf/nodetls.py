#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What hooking the OpenSSL linked into Node.js costs (the official and
NodeSource builds; SSL_read/SSL_write at their entry, where Node's build
inlined the internal functions): the machine's node making N sequential
keep-alive HTTPS requests (https.get) to nginx, both ends traced.
Alternates, ROUNDS times: no agent; the agent with ebpf.tls false
(syscalls traced, the TLS opaque); the agent with TLS read (node hooked
by a first one-request run). Prints the median wall time and node's CPU
time of each and the added microseconds per request, plus the requests
counted at node's end.

    sudo SONDE_BIN=build/sonde tests/bench/ebpf/nodetls.py [N=5000] [ROUNDS=3]
"""

import os
import resource
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration"))

from sondetest import Agent, Nginx, ebpf, sslprogs  # noqa: E402

CLI = "http_client_request_duration_seconds_count"


def run(node, port, n):
    """(wall seconds, node's CPU seconds): the uprobes run in node's
    context, so its CPU shows their cost with less of the wall's noise."""
    r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    sslprogs.node_get(node, port, n)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic() - t, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    ebpf.require()
    node, why = sslprogs.node_with_openssl()
    if not node:
        raise SystemExit("nothing to measure: " + why)
    times = {"none": [], "syscalls": [], "tls": []}
    counted = []
    conf = ('location /ok { return 200 "ok\\n"; }\n'
            '    location /missing { return 404; }')
    with Nginx(server_conf=conf, tls=True) as ng:
        for _ in range(rounds):
            times["none"].append(run(node, ng.port, n))
            for kind, tls in (("syscalls", False), ("tls", True)):
                with Agent(ebpf.config(ports=[ng.port], tls=tls)) as agent:
                    ebpf.attached(agent)
                    run(node, ng.port, 1)  # hooked as it starts: the next run from its start
                    before = agent.settle(CLI, quiet=1.0).sum(CLI, service="node")
                    times[kind].append(run(node, ng.port, n))
                    if tls:
                        m = agent.settle(CLI, quiet=1.0)
                        counted.append(int(m.sum(CLI, service="node") - before))
    med = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    print("%d requests, %d rounds, medians:" % (n, rounds))
    for k, label in (("none", "no agent"), ("syscalls", "ebpf.tls false"),
                     ("tls", "node's OpenSSL hooked")):
        print("  %-22s %.3f s  (%.1f us per request; node's CPU %.1f us)"
              % (label, med[k], med[k] / n * 1e6, cpu[k] / n * 1e6))
    print("  added by the hooks: %.1f us per request (wall), %.1f us of node's CPU, "
          "over ebpf.tls false" % ((med["tls"] - med["syscalls"]) / n * 1e6,
                                   (cpu["tls"] - cpu["syscalls"]) / n * 1e6))
    print("  requests counted at node's end: %s (of %d each)" % (counted, n))


if __name__ == "__main__":
    main()
