#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""eBPF + the HTTP/2 parser on gRPC: a python grpcio server and client
(gRPC's C core, which moves every byte with sendmsg/recvmsg) on loopback,
both ends traced.

- Every call the clients made is counted once at each end, in
  rpc_server_call_duration_seconds and rpc_client_call_duration_seconds,
  per rpc_method and rpc_response_status_code exactly as the clients saw
  them: OK from the trailers, NOT_FOUND and INTERNAL from the handler's
  abort, UNIMPLEMENTED from a trailers-only answer, a server-streaming
  call once, 200 KiB answers (frame-walked in the kernel), and calls
  whose 20 ms deadline runs out before the server's 50 ms answer
  (DEADLINE_EXCEEDED: the client resets the stream, or the server ends
  it with that status).
- error_type follows the side: on the server only its own faults
  (INTERNAL, UNIMPLEMENTED, DEADLINE_EXCEEDED), on the client every
  status but OK.
- The client's server_address/server_port are the server's; none of the
  calls is counted as an HTTP request.
- Latency (stated tolerance): for calls the server holds 50 ms, the
  client-side mean is within max(10%, 5 ms) of the mean the client
  measured around each call.
- No parse error, desync, lost walk or lost record.
"""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import Agent, Checks, ebpf, grpcpeers  # noqa: E402
from sondetest.ebpf import Delta  # noqa: E402

ebpf.require()
check = Checks()
SRV = "rpc_server_call_duration_seconds"
CLI = "rpc_client_call_duration_seconds"
PLAN = [["Get", "a", 20], ["Get", "missing", 6], ["Get", "fail", 4], ["Get", "big", 5],
        ["Slow", "z", 10], ["List", "", 3], ["Nope", "", 2], ["Slow", "late", 3, 0.02]]
SERVER_FAULTS = {"INTERNAL", "UNIMPLEMENTED", "DEADLINE_EXCEEDED"}


def main():
    grpcpeers.require()
    with grpcpeers.Server() as port:
        with Agent(ebpf.config(ports=[port])) as agent:
            ebpf.attached(agent)
            before = agent.scrape()
            # two client processes: two connections, two prefaces
            want, slept = grpcpeers.call(port, PLAN, times=2)
            # the workload itself must be what we think
            check.equal(want, {"Get OK": 50, "Get NOT_FOUND": 12, "Get INTERNAL": 8,
                               "Slow OK": 20, "List OK": 6, "Nope UNIMPLEMENTED": 4,
                               "Slow DEADLINE_EXCEEDED": 6},
                        "clients: the statuses the plan asks for")
            total = sum(want.values())
            agent.wait_for(lambda m: m.sum(CLI + "_count") - before.sum(CLI + "_count") >= total
                           and m.sum(SRV + "_count") - before.sum(SRV + "_count") >= total,
                           timeout=20, what="%d calls at both ends" % total)
            d = Delta(before, agent.settle(SRV + "_count", quiet=1.0))
            got_srv, err_srv = grpcpeers.per_call(d, SRV)
            got_cli, err_cli = grpcpeers.per_call(d, CLI)
            check.equal(got_srv, want, "server: calls per method and status = the clients'")
            check.equal(got_cli, want, "client: calls per method and status = the clients'")
            check.equal(err_srv, {c: (c if c in SERVER_FAULTS else "") for c in err_srv},
                        "server: error_type only for the server's own faults")
            check.equal(err_cli, {c: ("" if c == "OK" else c) for c in err_cli},
                        "client: error_type for every status but OK")
            check.equal(d.by(SRV + "_count", "rpc_system_name"), {"grpc": total},
                        "rpc_system_name is grpc")
            check.equal(d.by(CLI + "_count", "server_address"), {"127.0.0.1": total},
                        "client: server_address is the server's")
            check.equal(d.by(CLI + "_count", "server_port"), {str(port): total},
                        "client: server_port is the server's")
            check.equal(int(d.sum("http_server_request_duration_seconds_count") +
                            d.sum("http_client_request_duration_seconds_count")), 0,
                        "no gRPC call counted as an HTTP request")
            held = d.histogram(CLI, rpc_method="sonde.test.Shop/Slow",
                               rpc_response_status_code="OK")
            check.equal(int(held.count), len(slept), "held calls counted")
            check.close(held.mean, sum(slept) / len(slept), 0.10, 0.005,
                        "held calls: agent client-side mean vs client-measured mean (s)")
            check.equal(int(d.sum("sonde_ebpf_parse_errors_total", protocol="http2") +
                            d.sum("sonde_ebpf_parser_desyncs_total", protocol="http2")), 0,
                        "no HTTP/2 parse error or desync")
            check(d.sum("sonde_ebpf_http2_records_walked_total") > 0,
                  "records were frame-walked in the kernel")
            check.equal(int(d.sum("sonde_ebpf_http2_walks_lost_total")), 0, "no walk lost")
            check.equal(int(d.sum("sonde_ebpf_connections_unparsed_total")), 0,
                        "no connection unparsed")
            check.equal(ebpf.lost_events(d.after), 0, "no ring-buffer records lost")
    check.exit()


if __name__ == "__main__":
    main()
