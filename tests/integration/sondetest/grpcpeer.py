# SPDX-License-Identifier: MIT
"""A gRPC server and client for the tests, run by Debian's own python3
(which has python3-grpcio), not by the interpreter running the test.

    /usr/bin/python3 grpcpeer.py serve [CERT KEY]        prints its port, serves until killed
    /usr/bin/python3 grpcpeer.py call PORT PLAN [CERT]   PLAN: JSON [[method, payload, times(, deadline s)], ...]

With CERT (and KEY), over TLS (for the name localhost), else h2c. gRPC's
C core runs OpenSSL over memory BIOs: no syscall inside an SSL call.

The service `sonde.test.Shop` (raw bytes, no protobuf) answers:
  Get      payload "missing" NOT_FOUND, "fail" INTERNAL, "big" 200 KiB,
           anything else echoed: OK
  Slow     the payload echoed after 50 ms: OK
  List     three messages (server streaming): OK
  anything else: UNIMPLEMENTED (the library's own answer)
The client makes every call of the plan in order on one channel (one
HTTP/2 connection), each with its deadline (10 s unless the plan gives
one), and prints JSON: {"method status": count} and the seconds each
Slow call that succeeded took, measured around the call.
"""

import json
import sys
import time
from concurrent import futures

import grpc

SERVICE = "sonde.test.Shop"


def get(request, context):
    if request == b"missing":
        context.abort(grpc.StatusCode.NOT_FOUND, "no such item")
    if request == b"fail":
        context.abort(grpc.StatusCode.INTERNAL, "store failed")
    if request == b"big":
        return b"x" * (200 * 1024)
    return request


def slow(request, context):
    time.sleep(0.05)
    return request


def list_items(request, context):
    for i in range(3):
        yield b"item %d" % i


def serve(cert=None, key=None):
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Get": grpc.unary_unary_rpc_method_handler(get),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "List": grpc.unary_stream_rpc_method_handler(list_items),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    if cert:
        creds = grpc.ssl_server_credentials([(open(key, "rb").read(), open(cert, "rb").read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


def channel(port, cert):
    target = "127.0.0.1:%d" % port
    if not cert:
        return grpc.insecure_channel(target)
    creds = grpc.ssl_channel_credentials(root_certificates=open(cert, "rb").read())
    return grpc.secure_channel(target, creds,
                               options=(("grpc.ssl_target_name_override", "localhost"),))


def call(port, plan, cert=None):
    counts, slept = {}, []
    with channel(port, cert) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        for method, payload, times, *deadline in plan:
            path = "/%s/%s" % (SERVICE, method)
            stub = ch.unary_stream(path) if method == "List" else ch.unary_unary(path)
            for _ in range(times):
                t0 = time.monotonic()
                try:
                    r = stub(payload.encode(), timeout=deadline[0] if deadline else 10)
                    if method == "List":
                        r = list(r)
                    code = "OK"
                except grpc.RpcError as e:
                    code = e.code().name
                if method == "Slow" and code == "OK":
                    slept.append(time.monotonic() - t0)
                key = "%s %s" % (method, code)
                counts[key] = counts.get(key, 0) + 1
    print(json.dumps({"counts": counts, "slept": slept}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(*sys.argv[2:4])
    else:
        call(int(sys.argv[2]), json.loads(sys.argv[3]), *sys.argv[4:5])
