#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ebpf.cgroups traces only the processes of the configured cgroup v2
subtrees: three nginx servers, one in a cgroup below the configured path
before the agent starts, one in a sibling cgroup that is not configured,
and one moved into a cgroup created below the configured path after the
agent started (picked up by the periodic rescan). The requests each
received are counted exactly for the first and the third, and not at all
for the second; sonde_ebpf_cgroups says how many cgroups the filter holds.
"""

import http.client
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, Nginx, ebpf, skip, wait_until  # noqa: E402
from sondetest.cgroups import move, tree_pids, v2_root  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

FAM = "http_server_request_duration_seconds_count"


def requests(port, path, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(n):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
    c.close()


def main():
    ebpf.require()
    root = v2_root()
    if not root:
        skip("no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
    base = os.path.join(root, "sonde-test-%d" % os.getpid())
    dirs = {k: os.path.join(base, k) for k in ("a", "a/inner", "b", "a/late")}
    check = Checks()
    os.mkdir(base)
    try:
        for k in ("a", "a/inner", "b"):
            os.mkdir(dirs[k])
        conf = 'location / { return 200 "ok\\n"; }'
        with Nginx(server_conf=conf) as na, Nginx(server_conf=conf) as nb, \
                Nginx(server_conf=conf) as nc:
            moved = []
            try:
                move(tree_pids(na.proc.pid), dirs["a/inner"])
                move(tree_pids(nb.proc.pid), dirs["b"])
                moved = [na, nb]
                cfg = ebpf.config(ports=[na.port, nb.port, nc.port],
                                  cgroups=[os.path.relpath(dirs["a"], root)])
                with Agent(cfg) as agent:
                    ebpf.attached(agent)
                    check(agent.scrape().value("sonde_ebpf_cgroups") == 2,
                          "the filter holds a and a/inner at start")
                    os.mkdir(dirs["a/late"])
                    move(tree_pids(nc.proc.pid), dirs["a/late"])
                    moved.append(nc)
                    wait_until(lambda: agent.scrape().value("sonde_ebpf_cgroups") == 3,
                               timeout=15, what="a/late picked up by the rescan",
                               proc=agent.proc)
                    before = agent.scrape()
                    requests(na.port, "/a", 40)
                    requests(nb.port, "/b", 30)
                    requests(nc.port, "/c", 20)
                    time.sleep(0.5)
                    after = agent.settle(FAM, quiet=0.5, timeout=10)
                    d = Delta(before, after)
                    check(d.sum(FAM, http_route="/a") == 40,
                          "40 requests to the server in a/inner counted (%g)"
                          % d.sum(FAM, http_route="/a"))
                    check(d.sum(FAM, http_route="/c") == 20,
                          "20 requests to the server moved into a/late counted (%g)"
                          % d.sum(FAM, http_route="/c"))
                    check(d.sum(FAM, http_route="/b") == 0,
                          "the server in the unconfigured sibling b is not traced (%g)"
                          % d.sum(FAM, http_route="/b"))
                    check(after.value("sonde_ebpf_cgroups_untraced") == 0,
                          "no cgroup left out of the filter")
            finally:
                # back to the root cgroup, so that the test's cgroups can go
                for n in moved:
                    move(tree_pids(n.proc.pid), root)
    finally:
        for k in ("a/late", "a/inner", "b", "a"):
            if os.path.isdir(dirs[k]):
                os.rmdir(dirs[k])
        os.rmdir(base)
    # a path that is not there yet is not an error: it is looked for again
    with Agent(ebpf.config(cgroups=["sonde-test-absent/x"])) as agent:
        ebpf.attached(agent)
        check(agent.scrape().value("sonde_ebpf_cgroups") == 0, "an absent path: 0 cgroups")
        check("do not exist yet" in agent.log(), "an absent path is logged")
    check.exit()


if __name__ == "__main__":
    main()
