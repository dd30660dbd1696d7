# SPDX-License-Identifier: MIT
"""The gRPC server and clients of grpcpeer.py, run by Debian's python3
(python3-grpcio is installed for it by scripts/deps.sh, whatever python3
runs the test), and what the tests read back from the agent."""

import json
import os
import subprocess

from .cgroups import run_in
from .ebpf import Delta
from .util import HarnessError, stop_process

PY = "/usr/bin/python3"
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grpcpeer.py")


def require():
    """Fails (not skips) when Debian's python3 has no grpc: the test
    packages were not installed."""
    p = subprocess.run([PY, "-c", "import grpc, ssl"], capture_output=True, text=True,
                       timeout=30)
    if p.returncode:
        raise HarnessError("%s cannot import grpc (scripts/deps.sh test installs "
                           "python3-grpcio): %s" % (PY, p.stderr.strip()[-300:]))


class Server:
    """`with Server(cert, key) as port:` a grpcpeer server (TLS with a
    certificate, else h2c) on a free loopback port, stopped after."""

    def __init__(self, cert=None, key=None):
        self.args = [cert, key] if cert else []
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([PY, PEER, "serve"] + self.args, stdout=subprocess.PIPE,
                                     text=True, start_new_session=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            stop_process(self.proc)
            raise HarnessError("gRPC server did not start: %r" % line)
        return int(line)

    def __exit__(self, *exc):
        stop_process(self.proc)


def call(port, plan, cert=None, times=1, cgdir=None):
    """Runs the plan in `times` client processes (a connection each; in
    the cgroup directory cgdir if given): ({"method STATUS": count}
    summed, [seconds of each Slow call])."""
    counts, slept = {}, []
    for _ in range(times):
        cmd = [PY, PEER, "call", str(port), json.dumps(plan)] + ([cert] if cert else [])
        p = run_in(cgdir, cmd, capture_output=True, text=True, timeout=120)
        if p.returncode:
            raise HarnessError("gRPC client failed: %s" % p.stderr[-2000:])
        out = json.loads(p.stdout)
        for k, v in out["counts"].items():
            counts[k] = counts.get(k, 0) + v
        slept += out["slept"]
    return counts, slept


def per_call(d, fam):
    """{"method STATUS": count} of an rpc family's delta, and
    {status: error_type} as its series carry them."""
    got, errors = {}, {}
    for s in d.after.select(fam + "_count"):
        n = int(d.sum(fam + "_count", **s.labels))
        if not n:
            continue
        key = "%s %s" % (s.labels["rpc_method"].rsplit("/", 1)[-1],
                         s.labels["rpc_response_status_code"])
        got[key] = got.get(key, 0) + n
        errors[s.labels["rpc_response_status_code"]] = s.labels["error_type"]
    return got, errors


SRV = "rpc_server_call_duration_seconds"
CLI = "rpc_client_call_duration_seconds"


def both_ends(check, agent, before, want, what):
    """Waits for the calls of want ({"method STATUS": count}) at both ends,
    checks each end's calls per method and status equal want and no frame
    walk lost; returns the Delta from before."""
    total = sum(want.values())
    agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total and
                   m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                   timeout=20, what="%s: %d calls at both ends" % (what, total))
    d = Delta(before, agent.settle(SRV + "_count", quiet=1.0))
    for fam, side in ((CLI, "client"), (SRV, "server")):
        check.equal(per_call(d, fam)[0], want,
                    "%s: %s calls per method and status = the clients'" % (what, side))
    check.equal(int(d.sum("sonde_ebpf_http2_walks_lost_total")), 0, "%s: no walk lost" % what)
    return d
