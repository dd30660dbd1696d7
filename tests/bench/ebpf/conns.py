#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Agent RSS per traced connection: N keep-alive HTTP connections to nginx,
each after one request, held open while the agent tracks both ends of each
(2N connection-table entries). Prints the agent's RSS before and after.

    sudo SONDE_BIN=build/sonde tests/bench/ebpf/conns.py [N=3000]
"""

import os
import resource
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration"))

from sondetest import Agent, Nginx, ebpf  # noqa: E402
from sondetest.util import proc_status_kb  # noqa: E402


def rss_mb(pid):
    return (proc_status_kb(pid, "VmRSS") or 0) / 1024


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    ebpf.require()
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
    # four workers of 1024 connections each
    with Nginx(http_conf="keepalive_timeout 300s;", workers=4) as ng:
        with Agent(ebpf.config(ports=[ng.port])) as agent:
            ebpf.attached(agent)
            before = rss_mb(agent.proc.pid)
            socks = []
            for i in range(n):
                s = socket.create_connection(("127.0.0.1", ng.port))
                s.sendall(b"GET /c%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                socks.append(s)
            for s in socks:
                s.recv(4096)
            time.sleep(1.5)
            m = agent.scrape()
            after = rss_mb(agent.proc.pid)
            print("| %d | %d | %d | %.1f MB | %.1f MB | %.2f KB |" % (
                n, m.value("sonde_ebpf_connections_active"),
                m.sum("http_server_request_duration_seconds_count"), before, after,
                (after - before) * 1024 / max(1, m.value("sonde_ebpf_connections_active"))))
            for s in socks:
                s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
