#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF reads the TLS of Go programs: Go's crypto/tls is compiled into each
program (no libssl), so the agent finds the Go executables running and
puts uprobes in each: at the stack check of (*tls.Conn).Write and Read
and at Read's copy of decrypted plaintext. A Go HTTPS server and client
(sondetest/gopeer.go, built with Debian's go):

- HTTP/1.1, the server running before the agent: per status code (200,
  404, 503, 200 KiB answers), the agent's counts at both ends equal the
  client's own, over several keep-alive connections; server_address is
  127.0.0.1.
- HTTP/1.1 over a unix socket (the net.Conn a *net.UnixConn), server and
  client traced by their cgroup: both ends exact, the client's
  server_address its Host header.
- HTTP/2, the program started after the agent: hooked as it starts (the
  kernel's EXEC record), then the same exact counts at both ends, the
  frames walked in the kernel with none lost.
- The Go client against nginx over TLS (libssl at the server end): its
  first run, a program never seen, is hooked as it starts (its first
  milliseconds go by before the hooks are in: not counted here); the
  next run of the same program is hooked from its first instruction,
  and both ends are exact.
- A Go program linked without its symbol table (-ldflags=-s, as Debian
  and most container images ship Go programs) is hooked from its
  runtime's function table: both ends exact.
- gRPC-Go over TLS (Debian's golang-google-grpc-dev): calls per method
  and status at both ends equal the client's, 200 KiB answers included.
- Debian's own node_exporter (stripped, built by Debian's Go) serving
  HTTPS to curl (libssl): both ends exact.
- One whose function table cannot be found either (its section renamed)
  is counted as not hookable, keeps working, and its connections are
  counted as opaque TLS, not as requests.
- The newest Go Debian packages (Debian 13 and its backports, fetched,
  not installed: sondetest/gopeers.newer_go; 1.27 when written), the
  program built position-independent and linked with libc (cgo), as
  distributions build Go programs: HTTP/1.1 served before the agent,
  HTTP/2 started after it, and a build without its symbol table (its
  function table then in .data.rel.ro.gopclntab), all exact at both
  ends. Newer Go sets up a function's
  frame differently (from 1.21), hashes its types differently (from
  1.25), and 1.27 names no itabs in its symbol table and leaves its
  function table's textStart 0; until 2026-12-07 programs from any Go
  after 1.20 were left unhooked.
- Debian 13's own Go (1.24, fetched the same way), stripped as Debian's
  packages are: HTTP/1.1 exact at both ends (its type hashes are neither
  1.19-1.23's nor 1.25's; until 2026-12-07 such programs were refused).
- Every TLS call placed on its socket: no unpaired call, no opaque
  connection, no parse error or desync, no record lost.
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import (Agent, Checks, Nginx, NodeExporter, cgroups, ebpf, gopeers,  # noqa: E402
                       grpcpeers)
from sondetest.servers import self_signed_cert  # noqa: E402
from sondetest.util import free_port  # noqa: E402

ebpf.require()
check = Checks()
SRV = "http_server_request_duration_seconds"
CLI = "http_client_request_duration_seconds"
PROGRAMS = "sonde_ebpf_go_tls_programs"
UNSUPPORTED = "sonde_ebpf_go_tls_unsupported_total"
PLAN = [["/ok", 12], ["/missing", 3], ["/fail", 2], ["/big", 2]]


def both_ends(agent, before, want, what, port):
    total = sum(want.values())
    agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total
                   and m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                   timeout=20, what="%s: %d requests at both ends" % (what, total))
    d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % what)
    for fam, side in ((CLI, "client"), (SRV, "server")):
        got = {k: int(v) for k, v in d.by(fam + "_count", "http_response_status_code").items()
               if v}
        check.equal(got, want, "%s: %s requests per status = the client's" % (what, side))
    check.equal(d.by(CLI + "_count", "server_address"), {"127.0.0.1": float(total)},
                "%s: server_address 127.0.0.1" % what)
    check.equal(d.by(CLI + "_count", "server_port"), {str(port): float(total)},
                "%s: server_port %d" % (what, port))
    return d


def served_before_agent(exe, cert, key, what, conns):
    """A Go HTTP/1.1 server running before the agent starts: hooked at
    start, the plan on `conns` connections exact at both ends."""
    with gopeers.Server(exe, cert, key, "h1") as port:
        with Agent(ebpf.config(ports=[port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            check(before.sum(PROGRAMS) >= 1, "%s: the running Go program hooked" % what)
            want = gopeers.get(exe, "https://127.0.0.1:%d" % port, PLAN, "h1", conns=conns)
            check.equal(want, {"200": 14 * conns, "404": 3 * conns, "503": 2 * conns},
                        "%s: the plan's statuses" % what)
            d = both_ends(agent, before, want, what, port)
            ebpf.tls_clean(check, d, what)


def unix_phase(exe, cert, key, tmp):
    what = "Go HTTP/1.1 over a unix socket"
    sock = os.path.join(tmp, "gopeer.sock")
    with cgroups.scratch("gotls-unix") as (rel, cgdir):
        if not rel:
            print("SKIP: %s: no cgroup v2 hierarchy to trace it by" % what)
            return
        server = gopeers.Server(exe, cert, key, "h1", sock)
        with server:
            cgroups.move([server.proc.pid], cgdir)
            with Agent(ebpf.config(cgroups=[rel])) as agent:
                ebpf.attached(agent)
                before = agent.scrape()
                want = gopeers.get(exe, "unix:" + sock, PLAN, "h1", conns=2, cgdir=cgdir)
                check.equal(want, {"200": 28, "404": 6, "503": 4},
                            "%s: the plan's statuses" % what)
                total = sum(want.values())
                agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count")
                               >= total and m.sum(SRV + "_count") -
                               before.sum(SRV + "_count") >= total,
                               timeout=20, what="%s: %d requests at both ends" % (what, total))
                d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % what)
                for fam, side in ((CLI, "client"), (SRV, "server")):
                    got = {k: int(v) for k, v in
                           d.by(fam + "_count", "http_response_status_code").items() if v}
                    check.equal(got, want, "%s: %s requests per status = the client's"
                                % (what, side))
                # the Host header first, as for every HTTP client
                check.equal(d.by(CLI + "_count", "server_address"),
                            {"localhost": float(total)}, "%s: server_address the Host" % what)
                ebpf.tls_clean(check, d, what)


def h2_started_after(exe2, cert, key, what):
    port = free_port()
    with Agent(ebpf.config(ports=[port])) as agent:
        ebpf.attached(agent)
        first = agent.scrape().sum(PROGRAMS)
        with gopeers.Server(exe2, cert, key, "h2", port):
            agent.wait_for(lambda m: m.sum(PROGRAMS) > first, timeout=5,
                           what="%s: the new Go program hooked as it started" % what)
            before = agent.scrape()
            want = gopeers.get(exe2, "https://127.0.0.1:%d" % port, PLAN, "h2", conns=2)
            check.equal(want, {"200": 28, "404": 6, "503": 4}, "%s: the plan's statuses" % what)
            d = both_ends(agent, before, want, what, port)
        check(d.sum("sonde_ebpf_http2_records_walked_total") > 0,
              "%s: records frame-walked in the kernel" % what)
        check.equal(int(d.sum("sonde_ebpf_http2_walks_lost_total")), 0,
                    "%s: no walk lost" % what)
        ebpf.tls_clean(check, d, what)


def nginx_phase(exe):
    what = "Go client, nginx server"
    conf = ('location /ok { return 200 "ok\\n"; }\n'
            '    location /missing { return 404; }')
    with Nginx(server_conf=conf, tls=True) as ng:
        with Agent(ebpf.config(ports=[ng.port])) as agent:
            ebpf.attached(agent)
            first = agent.scrape().sum(PROGRAMS)
            gopeers.get(exe, "https://127.0.0.1:%d" % ng.port, [["/ok", 1]], "h1")
            agent.wait_for(lambda m: m.sum(PROGRAMS) > first, timeout=5,
                           what="%s: the client hooked as its first run started" % what)
            ebpf.delta_when_closed(agent, agent.scrape(), "%s: first run closed" % what)
            before = agent.scrape()
            want = gopeers.get(exe, "https://127.0.0.1:%d" % ng.port,
                               [["/ok", 10], ["/missing", 4]], "h1", conns=2)
            check.equal(want, {"200": 20, "404": 8}, "%s: the plan's statuses" % what)
            d = both_ends(agent, before, want, what, ng.port)
            ebpf.tls_clean(check, d, what)


def stripped_phase(exe, tmp, cert, key):
    served_before_agent(exe, cert, key, "Go program without a symbol table", 2)
    hidden_phase(exe, tmp, cert, key)


def grpc_phase(exe, cert, key):
    what = "gRPC-Go over TLS"
    plan = [["Get", "a", 20], ["Get", "missing", 4], ["Get", "fail", 3], ["Get", "big", 3],
            ["Nope", "", 2]]
    with gopeers.Server(exe, cert, key, "h2") as port:
        with Agent(ebpf.config(ports=[port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            want = gopeers.call_grpc(exe, port, plan)
            check.equal(want, {"Get OK": 23, "Get NOT_FOUND": 4, "Get INTERNAL": 3,
                               "Nope UNIMPLEMENTED": 2}, "%s: the plan's statuses" % what)
            d = grpcpeers.both_ends(check, agent, before, want, what)
            ebpf.tls_clean(check, d, what)


def debian_phase(tmp, cert, key):
    what = "Debian's node_exporter over HTTPS"
    webcfg = os.path.join(tmp, "web.yml")
    with open(webcfg, "w") as f:
        f.write("tls_server_config:\n  cert_file: %s\n  key_file: %s\n" % (cert, key))
    with NodeExporter(extra_args=["--web.config.file=" + webcfg]) as ne:
        with Agent(ebpf.config(ports=[ne.port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            check(before.sum(PROGRAMS) >= 1, "%s: the running Go program hooked" % what)
            base = "https://127.0.0.1:%d" % ne.port
            # one curl, one keep-alive connection, several requests
            p = subprocess.run(["curl", "-k", "-s", "-w", "%{http_code}\n"] +
                               ["-o", "/dev/null", base + "/metrics"] * 4 +
                               ["-o", "/dev/null", base + "/"] * 2,
                               capture_output=True, text=True, timeout=60)
            codes = p.stdout.split()
            want = {c: codes.count(c) for c in set(codes)}
            check.equal(want, {"200": 6}, "%s: curl's statuses" % what)
            d = both_ends(agent, before, want, what, ne.port)
            ebpf.tls_clean(check, d, what)


def hidden_phase(stripped, tmp, cert, key):
    what = "Go program with neither symbols nor a findable function table"
    exe = gopeers.hide_function_table(stripped, os.path.join(tmp, "gopeer-hidden"))
    with gopeers.Server(exe, cert, key, "h1") as port:
        with Agent(ebpf.config(ports=[port])) as agent:
            ebpf.attached(agent)
            agent.wait_for(lambda m: m.sum(UNSUPPORTED) >= 1, timeout=10,
                           what="%s: counted as not hookable" % what)
            before = agent.scrape()
            want = gopeers.get(exe, "https://127.0.0.1:%d" % port, [["/ok", 5]], "h1")
            check.equal(want, {"200": 5}, "%s: keeps working" % what)
            d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % what)
            check.equal(int(d.sum(SRV + "_count") + d.sum(CLI + "_count")), 0,
                        "%s: no request taken from its ciphertext" % what)
            check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 2,
                        "%s: its connection's two ends counted as opaque TLS" % what)


def newer_go_phase(built, cert, key):
    """The newest Go Debian packages: its compiler sets up frames another
    way (push rbp; mov rbp, rsp) than 1.19's, its types hash another way,
    and most Go programs hosts run come from a recent Go."""
    version, exe, stripped = built
    served_before_agent(exe, cert, key, "Go %s PIE with cgo, HTTP/1.1" % version, 2)
    h2_started_after(exe, cert, key,
                     "Go %s PIE with cgo, HTTP/2, started after the agent" % version)
    served_before_agent(stripped, cert, key,
                        "Go %s PIE with cgo, without a symbol table" % version, 1)


def debian13_go_phase(built, cert, key):
    """Debian 13's own Go (1.24), stripped as Debian's packages are: its
    type hashes are neither 1.19-1.23's nor 1.25's."""
    version, stripped = built
    served_before_agent(stripped, cert, key,
                        "Go %s (Debian 13's) without a symbol table" % version, 2)


def main():
    with tempfile.TemporaryDirectory(prefix="sondetest-gotls-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # the newer Go builds beside the Debian 12 phases, which mostly wait
        # on servers (when scripts/test.sh has not built them all ahead)
        newer = pool.submit(gopeers.newer_builds)
        exe, stripped, grpc = gopeers.debian12_builds()
        cert, key = self_signed_cert(tmp)
        served_before_agent(exe, cert, key, "Go HTTP/1.1", 3)
        unix_phase(exe, cert, key, tmp)
        h2_started_after(exe, cert, key, "Go HTTP/2, started after the agent")
        nginx_phase(exe)
        stripped_phase(stripped, tmp, cert, key)
        grpc_phase(grpc, cert, key)
        debian_phase(tmp, cert, key)
        newest, debian13 = newer.result()
        newer_go_phase(newest, cert, key)
        debian13_go_phase(debian13, cert, key)
    check.exit()


if __name__ == "__main__":
    main()
