#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF reads HTTP inside TLS through its libssl uprobes: nginx serving
HTTPS (a self-signed certificate made for the run) to curl --http1.1 -k and
to python's http.client over TLS, all three linking Debian's libssl.so.3.

- Server side: http_server_request_duration_seconds per status equals the
  clients' plan exactly (200 and 404 from nginx, 502 from an upstream on a
  closed port), on one keep-alive connection (python) and on a connection
  per request (curl).
- Client side: http_client_request_duration_seconds per method and status
  equals the same plan, with server_address 127.0.0.1 and nginx's port.
- Latency (stated tolerance): requests nginx proxies to a plain-HTTP
  upstream that holds them 50 ms; the agent's server-side mean is within
  max(10%, 5 ms) of the mean python measured around each request.
- Bytes: sonde_tcp_bytes_received_total counts the wire, not the
  plaintext: for one TLS connection, the bytes both ends read (agent, all
  services) equal what the kernel's own socket counters (ss -ti
  bytes_received) say both sockets received, exactly.
- sonde_ebpf_tls_connections_total counts every connection at both ends,
  with no opaque connection and no unpaired SSL call.
- All of the above with the syscalls hooked both ways (ebpf.syscall_hooks
  raw and tracepoints: the syscalls inside SSL calls name their socket),
  and with libssl hooked both ways (ebpf.tls_hooks internal, the default,
  and entry: SSL_read/SSL_write and their _ex forms, which python uses).
- With ebpf.tls false the same HTTPS traffic makes no HTTP transaction, and
  every connection is counted as TLS and opaque, none as unparsed.
- With ebpf.pids set (nginx's processes), the uprobes are attached to
  those processes only: their libssl code carries the breakpoints (bytes
  0xCC where the file has others), a bystander process that maps the same
  libssl carries none, where without a pid filter it carries them too;
  nginx's requests are still counted exactly.

SONDE_TLS_PHASES (space-separated, from raw/internal tracepoints/internal
raw/entry off pids; default all) runs some of the phases only:
test_ebpf_debian_kernel runs the kernel-facing ones under emulation.
"""

import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import (Agent, Checks, HarnessError, HeldUpstream, Nginx, ebpf, free_port,  # noqa: E402
                       https_connection)
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
SRV = "http_server_request_duration_seconds"
CLI = "http_client_request_duration_seconds"
HOLD_MS = 50


def get(conn, path, want):
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    if r.status != want:  # the workload itself must be what we think
        raise HarnessError("GET %s -> %d, want %d" % (path, r.status, want))


def curl(url, want):
    p = subprocess.run(["curl", "-sk", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", url],
                       capture_output=True, text=True, timeout=30)
    if p.stdout.strip() != str(want):
        raise HarnessError("curl %s -> %r, want %d" % (url, p.stdout, want))


def ss_received(cport):
    """bytes_received of both ends of the loopback connection whose client
    port is cport, from the kernel's socket counters."""
    out = subprocess.run(["ss", "-tinH", "state", "established",
                          "( sport = :%d or dport = :%d )" % (cport, cport)],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    got = [int(v) for v in re.findall(r"bytes_received:(\d+)", out)]
    if len(got) != 2:
        raise HarnessError("ss shows %d sockets for port %d:\n%s" % (len(got), cport, out))
    return sum(got)


def by_status(delta, fam):
    out = {}
    for k, v in delta.by(fam + "_count", "http_response_status_code").items():
        out[k] = int(v)
    return out


def traced(ng, hooks, tls_hooks):
    plan = {"200": 0, "404": 0, "502": 0}
    check.prefix = "%s/%s: " % (hooks, tls_hooks)
    with Agent(ebpf.config(ports=[ng.port], syscall_hooks=hooks, tls_hooks=tls_hooks)) as agent:
        ebpf.attached(agent)
        m = agent.scrape()
        hooked = [ln for ln in agent.log().splitlines() if "TLS:" in ln]
        check(m.value("sonde_ebpf_tls_libraries") >= 1 and
              any(("(entry)" in ln) == (tls_hooks == "entry") for ln in hooked),
              "libssl hooked the way asked", "; ".join(hooked))
        before = m

        # python: one keep-alive connection, a mix of statuses
        c = https_connection(ng.port)
        for path, want, n in (("/ok", 200, 20), ("/missing", 404, 5), ("/down", 502, 3)):
            for _ in range(n):
                get(c, path, want)
                plan[str(want)] += 1
        spent = []
        for _ in range(20):
            t0 = time.monotonic()
            get(c, "/held", 200)
            spent.append(time.monotonic() - t0)
            plan["200"] += 1
        c.close()

        # curl: a TLS connection per request
        for path, want, n in (("/ok", 200, 5), ("/missing", 404, 2)):
            for _ in range(n):
                curl(ng.url + path, want)
                plan[str(want)] += 1
        n_conns = 1 + 5 + 2
        total = sum(plan.values())
        agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total and
                       m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                       timeout=15, what="%d requests at both ends" % total)
        after = agent.settle(SRV + "_count", quiet=1.0)
        d = Delta(before, after)
        check.equal(by_status(d, SRV), plan, "server requests per status (nginx over TLS)")
        check.equal(by_status(d, CLI), plan, "client requests per status (python, curl over TLS)")
        check.equal(d.by(CLI + "_count", "server_port"), {str(ng.port): total},
                    "client requests carry nginx's port")
        check.equal(d.by(CLI + "_count", "server_address"), {"127.0.0.1": total},
                    "client requests carry 127.0.0.1")
        held = d.histogram(SRV, http_route="/held")
        check.equal(int(held.count), 20, "held requests counted at the server")
        check.close(held.mean, sum(spent) / len(spent), 0.10, 0.005,
                    "held requests: agent server mean vs python-measured mean (s)", timing=True)
        check.equal(int(d.sum("sonde_ebpf_tls_connections_total")), 2 * n_conns,
                    "TLS connections counted at both ends")
        check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 0,
                    "no TLS connection left unread")
        check.equal(int(d.sum("sonde_ebpf_tls_unpaired_total")), 0,
                    "every SSL call paired with its socket")
        check.equal(int(d.sum("sonde_ebpf_connections_unparsed_total")), 0,
                    "no TLS connection counted as unparsed")
        check.equal(ebpf.lost_events(after), 0, "no ring-buffer events lost")

        # the wire's bytes, not the plaintext: one connection against ss
        before = agent.scrape()
        c = https_connection(ng.port)
        for _ in range(10):
            get(c, "/ok", 200)
        want_recv = ss_received(c.sock.getsockname()[1])
        c.close()
        agent.wait_for(lambda m: m.sum("sonde_ebpf_tls_connections_total") -
                       before.sum("sonde_ebpf_tls_connections_total") >= 2 and
                       m.sum("sonde_ebpf_connections_active") == 0,
                       timeout=15, what="the connection closed at both ends")
        after = agent.settle("sonde_tcp_bytes_received_total", quiet=1.0)
        got = Delta(before, after).sum("sonde_tcp_bytes_received_total")
        check.equal(int(got), want_recv,
                    "bytes read at both ends (agent) vs the sockets' bytes_received (ss)")


def untraced_tls(ng):
    with Agent(ebpf.config(ports=[ng.port], tls=False)) as agent:
        ebpf.attached(agent)
        before = agent.scrape()
        check.equal(before.value("sonde_ebpf_tls_libraries"), 0.0,
                    "tls: false hooks no library")
        for _ in range(3):
            curl(ng.url + "/ok", 200)
        agent.wait_for(lambda m: m.sum("sonde_ebpf_tls_connections_opaque_total") -
                       before.sum("sonde_ebpf_tls_connections_opaque_total") >= 6,
                       timeout=15, what="6 opaque TLS connection ends")
        after = agent.settle("sonde_ebpf_tls_connections_total", quiet=1.0)
        d = Delta(before, after)
        check.equal(int(d.sum("sonde_ebpf_tls_connections_total")), 6,
                    "tls off: connections still recognised as TLS at both ends")
        check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 6,
                    "tls off: every TLS connection opaque")
        check.equal(int(d.sum(SRV + "_count") + d.sum(CLI + "_count")), 0,
                    "tls off: no HTTP transaction from ciphertext")
        check.equal(int(d.sum("sonde_ebpf_connections_unparsed_total")), 0,
                    "tls off: TLS connections are not counted as unparsed")


def libssl_breakpoints(pid):
    """Bytes of pid's mapped libssl code that differ from the file and are
    0xCC (int3): the uprobes' breakpoints in that process."""
    with open("/proc/%d/maps" % pid) as f:
        maps = [ln.split() for ln in f]
    n = 0
    for m in maps:
        if len(m) < 6 or "libssl.so" not in m[5] or "x" not in m[1]:
            continue
        start, end = (int(x, 16) for x in m[0].split("-"))
        off = int(m[2], 16)
        with open(m[5], "rb") as lib, open("/proc/%d/mem" % pid, "rb") as mem:
            lib.seek(off)
            want = lib.read(end - start)
            mem.seek(start)
            have = mem.read(end - start)
        n += sum(1 for a, b in zip(want, have) if a != b and b == 0xCC)
    return n


def nginx_pids(ng):
    with open(os.path.join(ng.dir, "nginx.pid")) as f:
        master = int(f.read())
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [master] + [int(x) for x in out.split()]


def pid_filtered(ng):
    """ebpf.pids: the uprobes trap in the listed processes only."""
    bystander = subprocess.Popen([sys.executable, "-c",
                                  "import ssl, sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            with open("/proc/%d/maps" % bystander.pid) as f:
                if "libssl.so" in f.read():
                    break
            time.sleep(0.05)
        pids = nginx_pids(ng)
        worker = pids[-1]
        if libssl_breakpoints(bystander.pid):
            # another tracer (a sonde started by scripts/run.sh?) hooks libssl
            print("SKIP: ebpf.pids uprobe checks: libssl already carries "
                  "breakpoints from another tracer on this host")
            return
        with Agent(ebpf.config(ports=[ng.port])) as agent:
            ebpf.attached(agent)
            check(libssl_breakpoints(bystander.pid) >= 2,
                  "no pid filter: a bystander's libssl carries the breakpoints",
                  str(libssl_breakpoints(bystander.pid)))
        with Agent(ebpf.config(ports=[ng.port], pids=[str(p) for p in pids])) as agent:
            ebpf.attached(agent)
            check(libssl_breakpoints(worker) >= 2,
                  "ebpf.pids: nginx's worker carries the breakpoints",
                  str(libssl_breakpoints(worker)))
            check.equal(libssl_breakpoints(bystander.pid), 0,
                        "ebpf.pids: the bystander's libssl carries none")
            before = agent.scrape()
            for _ in range(4):
                curl(ng.url + "/ok", 200)
            curl(ng.url + "/missing", 404)
            agent.wait_for(lambda m: m.sum(SRV + "_count") - before.sum(SRV + "_count") >= 5,
                           timeout=15, what="5 server requests")
            d = Delta(before, agent.settle(SRV + "_count", quiet=1.0))
            check.equal(by_status(d, SRV), {"200": 4, "404": 1},
                        "ebpf.pids: nginx's requests per status")
            check.equal(int(d.sum(CLI + "_count")), 0,
                        "ebpf.pids: curl, not listed, not traced")
        check.equal(libssl_breakpoints(worker), 0,
                    "the agent stopped: no breakpoint left in nginx")
    finally:
        bystander.stdin.close()
        bystander.wait(timeout=10)


def main():
    closed_port = free_port()
    with HeldUpstream(HOLD_MS) as up:
        conf = ('location /ok { return 200 "ok\\n"; }\n'
                '    location /missing { return 404; }\n'
                '    location /held { proxy_pass http://127.0.0.1:%d; }\n'
                '    location /down { proxy_pass http://127.0.0.1:%d; }' % (up.port, closed_port))
        with Nginx(server_conf=conf, tls=True) as ng:
            for hooks, tls_hooks in (("raw", "internal"), ("tracepoints", "internal"),
                                     ("raw", "entry")):
                if not wanted(hooks + "/" + tls_hooks):
                    continue
                if hooks == "tracepoints" and not ebpf.kernel_at_least(5, 15):
                    print("note: no per-syscall tracepoints before 5.15 "
                          "(test_ebpf_smoke checks the agent says so)")
                    continue
                traced(ng, hooks, tls_hooks)
            check.prefix = ""
            if wanted("off"):
                untraced_tls(ng)
            if wanted("pids"):
                pid_filtered(ng)
    check.exit()


PHASES = ("raw/internal", "tracepoints/internal", "raw/entry", "off", "pids")


def wanted(phase):
    """Whether SONDE_TLS_PHASES (default: all) asks for `phase`."""
    asked = os.environ.get("SONDE_TLS_PHASES", "").split() or PHASES
    unknown = set(asked) - set(PHASES)
    if unknown:
        raise HarnessError("SONDE_TLS_PHASES: unknown %s (known: %s)"
                           % (" ".join(sorted(unknown)), " ".join(PHASES)))
    if phase not in asked:
        print("note: phase %s left out (SONDE_TLS_PHASES)" % phase)
        return False
    return True


if __name__ == "__main__":
    main()
