#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The agent as packaging/sonde.service runs it: another user than root,
with only the unit's AmbientCapabilities and its LimitMEMLOCK (read from
the unit file, so the test follows the unit; kernels before 5.11 count
BPF maps against RLIMIT_MEMLOCK). Plain HTTP to nginx is counted exactly at both
ends. TLS is read only where the kernel lets those capabilities attach
uprobes: either libssl is hooked and HTTPS is counted exactly at both
ends, or the agent says in its WARNING which capabilities the uprobes
need, and the HTTPS connections are counted as opaque TLS, not as
requests. The test says which of the two this kernel gave (current
kernels give the second: since a security fix in the stable kernels they
create uprobes only for CAP_SYS_ADMIN; the build VMs' 6.18, Debian 12's
6.1 and Debian 11's 5.10 do).
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, Nginx, ebpf  # noqa: E402
from sondetest.agent import sonde_bin  # noqa: E402
from sondetest.util import HarnessError, which  # noqa: E402

ebpf.require()
check = Checks()
SRV = "http_server_request_duration_seconds"
CLI = "http_client_request_duration_seconds"
UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging",
                    "sonde.service")


def unit_caps():
    """The unit's AmbientCapabilities as setpriv wants them: +bpf,+perfmon..."""
    with open(UNIT) as f:
        m = re.search(r"^AmbientCapabilities=(.*)$", f.read(), re.M)
    if not m:
        raise HarnessError("%s has no AmbientCapabilities" % UNIT)
    return ",".join("+" + c.lower()[len("cap_"):] for c in m.group(1).split())


def unit_memlock():
    """The unit's LimitMEMLOCK as prlimit wants it: unlimited, or bytes."""
    with open(UNIT) as f:
        m = re.search(r"^LimitMEMLOCK=(\S+)$", f.read(), re.M)
    if not m:
        raise HarnessError("%s has no LimitMEMLOCK" % UNIT)
    return "unlimited" if m.group(1) == "infinity" else m.group(1)


def curl(urls):
    """Status codes of the urls fetched by one curl (one connection each host)."""
    p = subprocess.run(["curl", "-k", "-s", "-w", "%{http_code}\n"] +
                       [a for u in urls for a in ("-o", "/dev/null", u)],
                       capture_output=True, text=True, timeout=60)
    codes = p.stdout.split()
    return {c: codes.count(c) for c in set(codes)}


def main():
    setpriv, prlimit = which("setpriv"), which("prlimit")
    if not setpriv or not prlimit:
        raise HarnessError("setpriv and prlimit (util-linux) are needed to run the agent as "
                           "the unit does")
    caps, memlock = unit_caps(), unit_memlock()
    work = tempfile.mkdtemp(prefix="sonde-unit-caps-")
    os.chmod(work, 0o755)
    state = os.path.join(work, "state")
    os.mkdir(state)
    os.chown(state, 65534, 65534)  # nobody
    # a copy: the build tree may sit below a directory the user cannot enter
    binary = os.path.join(work, "sonde")
    shutil.copy2(sonde_bin(), binary)
    wrapper = os.path.join(work, "sonde-as-unit")
    with open(wrapper, "w") as f:
        # systemd sets the unit's limits as root, then drops to its user
        limit = [prlimit, "--memlock=" + memlock]
        if subprocess.run(limit + ["true"], capture_output=True).returncode != 0:
            # root without CAP_SYS_RESOURCE (as on the build VMs): the
            # current limit, which kernels from 5.11 on do not apply to BPF
            print("note: cannot raise RLIMIT_MEMLOCK to the unit's %s here (no "
                  "CAP_SYS_RESOURCE): the agent runs with the current limit" % memlock)
            limit = []
        f.write('#!/bin/sh\nexec %s %s --reuid=65534 --regid=65534 --clear-groups '
                '--inh-caps=%s --ambient-caps=%s -- %s "$@"\n'
                % (" ".join(limit), setpriv, caps, caps, binary))
    os.chmod(wrapper, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        run(wrapper, work, state, caps)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check.exit()


def run(wrapper, work, state, caps):
    plain_conf = 'location / { return 200 "ok\\n"; }'
    with Nginx(server_conf=plain_conf) as ng, Nginx(server_conf=plain_conf, tls=True) as ngs:
        cfg = ebpf.config(ports=[ng.port, ngs.port], extra={"logs": {"state_dir": state}})
        with Agent(cfg, bin=wrapper, workdir=work) as agent:
            ebpf.attached(agent)
            m0 = agent.scrape()
            check.equal(m0.value("sonde_ebpf_up"), 1.0, "eBPF up with the unit's capabilities (%s)"
                        % caps)
            want = curl(["http://127.0.0.1:%d/a" % ng.port] * 10)
            check.equal(want, {"200": 10}, "plain: curl's statuses")
            agent.wait_for(lambda m: m.sum(SRV + "_count") - m0.sum(SRV + "_count") >= 10 and
                           m.sum(CLI + "_count") - m0.sum(CLI + "_count") >= 10,
                           timeout=15, what="10 plain requests at both ends")
            d = ebpf.delta_when_closed(agent, m0, "plain connections closed")
            for fam, side in ((SRV, "server"), (CLI, "client")):
                check.equal(int(d.sum(fam + "_count")), 10, "plain HTTP: %s requests" % side)

            hooked = m0.value("sonde_ebpf_tls_libraries", default=0)
            m1 = agent.scrape()
            want = curl(["https://127.0.0.1:%d/b" % ngs.port] * 5)
            check.equal(want, {"200": 5}, "HTTPS: curl's statuses")
            if hooked:
                print("note: this kernel lets the unit's capabilities attach uprobes")
                agent.wait_for(lambda m: m.sum(SRV + "_count") - m1.sum(SRV + "_count") >= 5,
                               timeout=15, what="5 HTTPS requests")
                d = ebpf.delta_when_closed(agent, m1, "HTTPS connections closed")
                for fam, side in ((SRV, "server"), (CLI, "client")):
                    check.equal(int(d.sum(fam + "_count")), 5, "HTTPS: %s requests" % side)
            else:
                print("note: this kernel refuses uprobes to the unit's capabilities")
                warn = [l for l in agent.log().splitlines()
                        if "TLS: not hooked" in l and "CAP_SYS_ADMIN" in l]
                check(len(warn) >= 1, "the WARNING names the capabilities uprobes need")
                d = ebpf.delta_when_closed(agent, m1, "HTTPS connections closed")
                check.equal(int(d.sum(SRV + "_count") + d.sum(CLI + "_count")), 0,
                            "HTTPS: no request taken from ciphertext")
                check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 2,
                            "HTTPS: the connection's two ends counted as opaque TLS")
            check(agent.alive(), "agent still running")


if __name__ == "__main__":
    main()
