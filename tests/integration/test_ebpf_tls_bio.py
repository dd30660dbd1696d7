#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF reads TLS that runs over memory BIOs: programs that hand OpenSSL
their ciphertext themselves (Python's asyncio, Node.js, gRPC's C core), so
that no syscall happens inside an SSL call. The kernel places such an SSL
object on the socket its thread sends through right after an SSL_write,
or received from right before an SSL_read; what it read or wrote before
that is held by the agent until the socket is named.

- An asyncio HTTPS client (Debian's python3, linking libssl.so.3) against
  nginx over TLS: keep-alive connections and a connection per request,
  200s and 404s. The agent's client-side count per status equals the
  client's own, as does the server side (nginx: ordinary socket BIOs);
  server_address is 127.0.0.1. With the syscalls hooked both ways.
- gRPC over TLS (python grpcio server and clients, gRPC's C core at both
  ends): calls per method and status at both ends equal the clients'
  counts, 200 KiB answers included: the HTTP/2 preface is in plaintext
  held before its socket was known, so the kernel follows the frames of
  what it holds and walks the connection's records from there (without
  that, an SSL call carrying frame headers past the 16 KiB capture
  desynced the server end under load). With the client traced alone
  (in a cgroup of its own), its records are frame-walked too: its
  preface is always in held plaintext. Held plaintext copied short (a
  16-byte capture) cannot be followed: the lost place is counted.
- Every SSL call placed: no unpaired call, no opaque connection, no
  parse error or desync.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, HarnessError, Nginx, cgroups, ebpf, grpcpeers  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402
from sondetest.servers import self_signed_cert  # noqa: E402

ebpf.require()
check = Checks()
SRV = "http_server_request_duration_seconds"
CLI = "http_client_request_duration_seconds"
RPC_SRV = "rpc_server_call_duration_seconds"
RPC_CLI = "rpc_client_call_duration_seconds"

# asyncio streams over TLS: SSLProtocol drives an ssl.SSLObject, OpenSSL
# over memory BIOs. Plan: [[path, connections, requests per connection]].
ASYNC_CLIENT = r'''
import asyncio, json, ssl, sys

async def one_conn(port, path, n, counts):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    for _ in range(n):
        w.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
        await w.drain()
        status = (await r.readline()).split()[1].decode()
        length = 0
        while True:
            line = await r.readline()
            if line in (b"\r\n", b""):
                break
            k, v = line.decode().split(":", 1)
            if k.lower() == "content-length":
                length = int(v)
        await r.readexactly(length)
        counts[status] = counts.get(status, 0) + 1
    w.close()
    await w.wait_closed()

async def main(port, plan):
    counts = {}
    for path, conns, n in plan:
        for _ in range(conns):
            await one_conn(port, path, n, counts)
    print(json.dumps(counts))

asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
'''
ASYNC_PLAN = [["/ok", 2, 15], ["/missing", 1, 5], ["/ok", 6, 1]]
GRPC_PLAN = [["Get", "a", 20], ["Get", "missing", 4], ["Get", "big", 3], ["List", "", 2],
             ["Nope", "", 2]]


def asyncio_phase(ng, hooks):
    what = "asyncio client, %s hooks" % hooks
    with Agent(ebpf.config(ports=[ng.port], syscall_hooks=hooks)) as agent:
        ebpf.attached(agent)
        before = agent.scrape()
        # Debian's python3: its ssl module links the system libssl
        p = subprocess.run([grpcpeers.PY, "-c", ASYNC_CLIENT, str(ng.port),
                            json.dumps(ASYNC_PLAN)], capture_output=True, text=True, timeout=120)
        if p.returncode:
            raise HarnessError("asyncio client failed: %s" % p.stderr[-2000:])
        want = json.loads(p.stdout)
        total = sum(want.values())
        check.equal(want, {"200": 36, "404": 5}, "%s: the plan's statuses" % what)
        agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total
                       and m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                       timeout=20, what="%d requests at both ends" % total)
        d = ebpf.delta_when_closed(agent, before, "%s: connections closed" % what)
        for fam, side in ((CLI, "client"), (SRV, "server")):
            got = {k: int(v) for k, v in
                   d.by(fam + "_count", "http_response_status_code").items()}
            check.equal(got, want, "%s: %s requests per status = the client's" % (what, side))
        check.equal(d.by(CLI + "_count", "server_address"), {"127.0.0.1": float(total)},
                    "%s: server_address 127.0.0.1" % what)
        ebpf.tls_clean(check, d, what)


def grpc_phase(certdir):
    what = "gRPC over TLS"
    cert, key = self_signed_cert(certdir)
    with grpcpeers.Server(cert, key) as port:
        with Agent(ebpf.config(ports=[port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            # two client processes: two TLS connections
            want, _ = grpcpeers.call(port, GRPC_PLAN, cert, times=2)
            d = grpcpeers.both_ends(check, agent, before, want, what)
            ebpf.tls_clean(check, d, what)
        grpc_client_alone(port, cert)


def grpc_client_alone(port, cert):
    """The client traced alone: its preface is in plaintext held before its
    socket was known (the first write of a memory-BIO object), so only the
    kernel's following the frames over what it held lets its records be
    frame-walked at all."""
    what = "gRPC over TLS, the client alone"
    with cgroups.scratch("grpc-tls-client") as (rel, cgdir):
        if not rel:
            print("SKIP: %s: no cgroup v2 hierarchy to trace the client by" % what)
            return
        with Agent(ebpf.config(ports=[port], cgroups=[rel])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            want, _ = grpcpeers.call(port, GRPC_PLAN, cert, cgdir=cgdir)
            total = sum(want.values())
            agent.wait_for(lambda m: m.sum(RPC_CLI + "_count") - before.sum(RPC_CLI + "_count")
                           >= total, timeout=20, what="%d client calls" % total)
            d = Delta(before, agent.settle(RPC_CLI + "_count", quiet=1.0))
            check.equal(grpcpeers.per_call(d, RPC_CLI)[0], want,
                        "%s: calls per method and status = the client's" % what)
            check(d.sum("sonde_ebpf_http2_records_walked_total") > 0,
                  "%s: its records frame-walked in the kernel" % what)
            check.equal(int(d.sum("sonde_ebpf_http2_walks_lost_total")), 0,
                        "%s: no walk lost" % what)
            ebpf.tls_clean(check, d, what)
        # held plaintext copied short (16 bytes of the first write, the
        # preface and more): the kernel cannot follow its frames, and says so
        what = "gRPC over TLS, the client alone, 16-byte capture"
        with Agent(ebpf.config(ports=[port], cgroups=[rel], capture_bytes_pipelined=16)) \
                as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            grpcpeers.call(port, GRPC_PLAN, cert, cgdir=cgdir)
            d = Delta(before, agent.settle("sonde_ebpf_http2_walks_lost_total", quiet=1.0))
            check(d.sum("sonde_ebpf_http2_walks_lost_total") >= 1,
                  "%s: the walk's lost place is counted" % what,
                  "%d lost" % d.sum("sonde_ebpf_http2_walks_lost_total"))


def main():
    grpcpeers.require()
    conf = ('location /ok { return 200 "ok\\n"; }\n'
            '    location /missing { return 404; }')
    with Nginx(server_conf=conf, tls=True) as ng:
        for hooks in ("raw", "tracepoints") if ebpf.kernel_at_least(5, 15) else ("raw",):
            asyncio_phase(ng, hooks)
    with tempfile.TemporaryDirectory(prefix="sondetest-grpc-tls-") as d:
        grpc_phase(d)
    check.exit()


if __name__ == "__main__":
    main()
