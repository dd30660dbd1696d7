#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF reads TLS in programs with OpenSSL linked into them, which no
shared libssl carries: the official and NodeSource Node.js builds,
anything built against libssl.a. The agent finds them as it finds Go
programs (each running executable looked into once: at its start, as a
traced process starts one, and every 10 s) and hooks the OpenSSL inside:
its internal read/write functions, or SSL_read/SSL_write at their entry
where the build inlined those (Node.js's).

- sslclient.c built against Debian's libssl.a exporting OpenSSL's symbols
  (-rdynamic, as Node.js does), started before the agent and waiting: the
  agent's first look hooks it; then 30 requests (200 and 404) on one
  keep-alive connection to nginx over TLS. Per status, the agent's
  client side (service = the program) and nginx's side equal the
  client's own counts; no TLS call unplaced, no opaque connection.
- The same built without exporting (OpenSSL's symbols only in its symbol
  table): its first run is hooked as it starts (EXEC record), its next
  run is exact.
- With ebpf.tls_hooks: entry (SSL_read/SSL_write at their entry): exact.
- A libssl file that is not the system's: a copy loaded through
  LD_LIBRARY_PATH by a python client (as one bundled with a package),
  and a copy bind-mounted over the system's path in a mount namespace of
  the client's own (as a container's): the client's first connection is
  opaque and makes the agent look at the files it maps; its second
  connection, on the hooked copy, is exact at both ends.
- With ebpf.tls_programs false: not hooked, its connection counted as
  opaque at the client's end, nginx's end still exact.
- The machine's node, when OpenSSL is linked into it (NodeSource's v20
  here): a first run hooks it, the next run's https.get calls are exact;
  and node serving HTTPS (hooked as it starts) to python's http.client on
  one keep-alive connection: exact at both ends. Elsewhere (Debian's node
  uses the shared libssl) those phases say SKIP.
"""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, Nginx, ebpf, free_port  # noqa: E402
from sondetest import sslprogs  # noqa: E402
from sondetest.servers import self_signed_cert  # noqa: E402

ebpf.require()
check = Checks()
SRV = "http_server_request_duration_seconds"
CLI = "http_client_request_duration_seconds"
PROGRAMS = "sonde_ebpf_tls_programs"
N = 30
WANT = {"200": 20, "404": 10}


def both_ends(agent, before, want, what, service):
    """The client's counts per status at the agent's client side (the
    program's service) and at nginx's, once the connection is closed."""
    total = sum(want.values())
    agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total
                   and m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                   timeout=20, what="%s: %d requests at both ends" % (what, total))
    d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % what)
    got = {k: int(v) for k, v in
           d.by(CLI + "_count", "http_response_status_code", service=service).items()}
    check.equal(got, want, "%s: client side (service %s) per status = the client's"
                % (what, service))
    got = {k: int(v) for k, v in d.by(SRV + "_count", "http_response_status_code").items()}
    check.equal(got, want, "%s: nginx's side per status = the client's" % what)
    ebpf.tls_clean(check, d, what)
    return d


def hooked(agent, first, what):
    agent.wait_for(lambda m: m.sum(PROGRAMS) > first, timeout=10,
                   what="%s: hooked as it started" % what)


def before_agent(ng, exe):
    what = "OpenSSL exported, running before the agent"
    proc = sslprogs.start_waiting(exe, ng.port, N)
    try:
        with Agent(ebpf.config(ports=[ng.port])) as agent:
            ebpf.attached(agent)
            check("of pid %d's own" % proc.pid in agent.log(),
                  "%s: hooked by the agent's first look" % what)
            before = agent.scrape()
            want = sslprogs.finish(proc)
            check.equal(want, WANT, "%s: the plan's statuses" % what)
            both_ends(agent, before, want, what, os.path.basename(exe))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def started_after(ng, run, service, what, **section):
    """run(n) (-> the client's counts) once, its program hooked as it
    starts, then again with the plan: exact. Returns the agent's log."""
    with Agent(ebpf.config(ports=[ng.port], **section)) as agent:
        ebpf.attached(agent)
        first = agent.scrape().sum(PROGRAMS)
        run(1)
        hooked(agent, first, what)
        ebpf.delta_when_closed(agent, agent.scrape(), "%s: first run closed" % what)
        before = agent.scrape()
        want = run(N)
        check.equal(want, WANT, "%s: the plan's statuses" % what)
        both_ends(agent, before, want, what, service)
        check.equal(int(agent.scrape().sum("sonde_ebpf_tls_programs_unhooked_total")), 0,
                    "%s: nothing found left unhooked" % what)
        return agent.log()


def client(ng, exe):
    """started_after's first three arguments for an sslclient build."""
    return ng, lambda n: sslprogs.get(exe, ng.port, n), os.path.basename(exe)[:15]


def system_libssl():
    return next(p for p in ("/usr/lib/x86_64-linux-gnu/libssl.so.3",
                            "/lib/x86_64-linux-gnu/libssl.so.3") if os.path.exists(p))


def own_libssl(ng, what, **popen):
    """A python client whose libssl is not the system's file (two_conns
    with popen's env or prefix): its first connection makes the agent hook
    that file, its second is exact at both ends."""
    with Agent(ebpf.config(ports=[ng.port])) as agent:
        ebpf.attached(agent)
        first = agent.scrape().sum(PROGRAMS)
        p = sslprogs.two_conns(ng.port, N, **popen)
        try:
            agent.wait_for(lambda m: m.sum(PROGRAMS) > first, timeout=10,
                           what="%s: the file hooked after the first connection" % what)
            ebpf.delta_when_closed(agent, agent.scrape(), "%s: first connection closed" % what)
            before = agent.scrape()
            out, _ = p.communicate("go\n", timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        want = sslprogs.counts(out)
        check.equal(want, WANT, "%s: the plan's statuses" % what)
        check("of pid %d's own" % p.pid in agent.log() or "not the system's" in agent.log(),
              "%s: the agent says it hooked the file" % what)
        total = sum(want.values())
        agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total,
                       timeout=20, what="%s: %d requests" % (what, total))
        d = ebpf.delta_when_closed(agent, before, "%s: connection closed" % what)
        for fam, side in ((CLI, "client side"), (SRV, "nginx's side")):
            got = {k: int(v) for k, v in d.by(fam + "_count", "http_response_status_code").items()}
            check.equal(got, want, "%s: %s per status = the client's" % (what, side))
        ebpf.tls_clean(check, d, what)


def own_libssl_phases(ng, tmp):
    libdir = os.path.join(tmp, "own-lib")
    os.makedirs(libdir)
    copy = os.path.join(libdir, "libssl.so.3")
    shutil.copy(system_libssl(), copy)
    own_libssl(ng, "a libssl copy through LD_LIBRARY_PATH",
               env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    # a container's own: the system's path names another file in its mount
    # namespace (reached by the agent through /proc/PID/root)
    own_libssl(ng, "another libssl at the system's path, in a mount namespace",
               prefix=["unshare", "-m", "--propagation", "private", "sh", "-c",
                       'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", copy,
                       system_libssl()])


def switched_off(ng, exe):
    what = "ebpf.tls_programs false"
    with Agent(ebpf.config(ports=[ng.port], tls_programs=False)) as agent:
        ebpf.attached(agent)
        before = agent.scrape()
        want = sslprogs.get(exe, ng.port, N)
        agent.wait_for(lambda m: m.sum(SRV + "_count") - before.sum(SRV + "_count") >= N,
                       timeout=20, what="%s: nginx's %d requests" % (what, N))
        d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % what)
        check.equal(int(agent.scrape().sum(PROGRAMS)), 0, "%s: no program hooked" % what)
        got = {k: int(v) for k, v in d.by(SRV + "_count", "http_response_status_code").items()}
        check.equal(got, want, "%s: nginx's side per status = the client's" % what)
        check.equal(int(d.sum(CLI + "_count")), 0, "%s: nothing at the client's side" % what)
        check.equal(int(d.sum("sonde_ebpf_tls_connections_opaque_total")), 1,
                    "%s: the client's end counted as opaque" % what)


def node_phase(ng):
    what = "Node.js with OpenSSL linked in"
    node, why = sslprogs.node_with_openssl()
    if not node:
        print("SKIP: %s: %s" % (what, why))
        return
    log = started_after(ng, lambda n: sslprogs.node_get(node, ng.port, n), "node", what)
    hooks = [ln for ln in log.splitlines() if "hooked in an OpenSSL of pid" in ln]
    print("node hooked: %s" % (hooks[-1] if hooks else "?"))
    node_server_phase(node)


def node_server_phase(node):
    what = "Node.js HTTPS server"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sondetest-nodesrv-") as tmp, \
            Agent(ebpf.config(ports=[port])) as agent:
        ebpf.attached(agent)
        cert, key = self_signed_cert(tmp)
        first = agent.scrape().sum(PROGRAMS)
        srv = sslprogs.node_server(node, port, cert, key)
        try:
            hooked(agent, first, what)
            before = agent.scrape()
            want = sslprogs.python_mix(port, N)
            check.equal(want, WANT, "%s: the plan's statuses" % what)
            total = sum(want.values())
            agent.wait_for(lambda m: m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                           timeout=20, what="%s: %d requests" % (what, total))
            d = ebpf.delta_when_closed(agent, before, "%s: connection closed" % what)
            got = {k: int(v) for k, v in
                   d.by(SRV + "_count", "http_response_status_code", service="node").items()}
            check.equal(got, want, "%s: server side (service node) per status = the client's"
                        % what)
            got = {k: int(v) for k, v in d.by(CLI + "_count", "http_response_status_code").items()}
            check.equal(got, want, "%s: client side (this test's libssl) per status = its own"
                        % what)
            ebpf.tls_clean(check, d, what)
        finally:
            srv.kill()
            srv.wait()


def main():
    conf = ('location /ok { return 200 "ok\\n"; }\n'
            '    location /missing { return 404; }')
    with tempfile.TemporaryDirectory(prefix="sondetest-sslprogs-") as tmp, \
            Nginx(server_conf=conf, tls=True) as ng:
        exported = sslprogs.build(tmp, "sslclient-exp", exported=True)
        symtab = sslprogs.build(tmp, "sslclient-sym", exported=False)
        before_agent(ng, exported)
        started_after(*client(ng, symtab),
                      "OpenSSL in the symbol table only, started after the agent")
        log = started_after(*client(ng, exported), "OpenSSL exported, ebpf.tls_hooks entry",
                            tls_hooks="entry")
        check("SSL_read/SSL_write (entry) hooked in an OpenSSL of pid" in log,
              "ebpf.tls_hooks entry: the program hooked at SSL_read/SSL_write's entry")
        own_libssl_phases(ng, tmp)
        switched_off(ng, exported)
        node_phase(ng)
    check.exit()


if __name__ == "__main__":
    main()
