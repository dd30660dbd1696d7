# SPDX-License-Identifier: MIT
"""HAProxy (Debian's haproxy) as the front of a web stack: HTTP on
self.port, HTTPS with ALPN h2/http/1.1 on self.tls_port, routes to
backends given by the test, and its own word on what it answered: its
counters (`show stat` on the stats socket, exact) and a log line per
request (status and times; HAProxy drops a line when another thread holds
the log, so the lines are exact only for sequential requests)."""

import csv
import io
import os
import socket

from .server import Server
from .servers import self_signed_cert
from .util import free_port, port_open, run

# %ST status, %Ta active time (ms, request received to response sent),
# %Tr the server's response time (ms, -1 without a server), %b backend,
# %Td the data transmission time (ms, headers to last byte), %s server
# (<NOSRV> when HAProxy answered itself), %HM method, %HU URI
LOG_FORMAT = "sondelog %ST %Ta %Tr %Td %b %s %HM %HU"


class HAProxy(Server):
    """backends: {name: "host:port"}; routes: [(path prefix, backend)],
    the first backend the default; returns: [(path prefix, status)],
    answered by HAProxy itself (`http-request return`). Threads: HAProxy's
    default (one per CPU)."""

    name = "haproxy"

    def __init__(self, backends, routes=(), returns=(), **kw):
        super().__init__(**kw)
        self.tls_port = free_port()
        self.backends = dict(backends)
        self.routes = list(routes)
        self.returns = list(returns)
        self.conf_path = os.path.join(self.dir, "haproxy.cfg")
        self.stats_path = os.path.join(self.dir, "stats.sock")

    def prepare(self):
        crt, key = self_signed_cert(self.dir)
        pem = os.path.join(self.dir, "both.pem")
        with open(pem, "w") as out:
            for p in (crt, key):
                with open(p) as f:
                    out.write(f.read())
        rules = "".join("  http-request return status %d if { path_beg %s }\n" % (st, pre)
                        for pre, st in self.returns)
        rules += "".join("  use_backend %s if { path_beg %s }\n" % (be, pre)
                         for pre, be in self.routes)
        # idle connections to a server are kept for reuse, and half of them
        # closed every pool-purge-delay (5 s by default): a test waiting for
        # every traced connection to end waits a few 200 ms instead
        backends = "".join("backend %s\n  server s1 %s pool-purge-delay 200ms\n" % (n, a)
                           for n, a in self.backends.items())
        conf = """global
  stats socket %(stats)s mode 600 level admin
  log stdout format raw local0
defaults
  mode http
  log global
  log-format "%(fmt)s"
  option http-keep-alive
  option dontlognull
  option http-ignore-probes
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend web
  bind 127.0.0.1:%(port)d
  bind 127.0.0.1:%(tls)d ssl crt %(pem)s alpn h2,http/1.1
%(rules)s  default_backend %(default)s
%(backends)s""" % {"stats": self.stats_path, "fmt": LOG_FORMAT, "port": self.port,
                   "tls": self.tls_port, "pem": pem, "rules": rules,
                   "default": next(iter(self.backends)), "backends": backends}
        with open(self.conf_path, "w") as f:
            f.write(conf)
        run(["haproxy", "-c", "-q", "-f", self.conf_path])

    def command(self):
        return ["haproxy", "-db", "-f", self.conf_path]

    def ready(self):
        return port_open(self.host, self.port) and port_open(self.host, self.tls_port)

    def command_socket(self, cmd):
        """HAProxy's answer to one stats-socket command."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(self.stats_path)
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out.decode(errors="replace")
                out += chunk

    def stats(self):
        """`show stat`: {(proxy, "FRONTEND"|"BACKEND"|server): {field: int}}
        for the numeric fields (req_tot, stot, hrsp_2xx, ...)."""
        text = self.command_socket("show stat").lstrip("# ")
        out = {}
        for row in csv.DictReader(io.StringIO(text)):
            out[(row["pxname"], row["svname"])] = {
                k: int(v) for k, v in row.items() if k and v and v.isdigit()}
        return out

    def requests(self):
        """Every request HAProxy logged, in order: dicts with status,
        active_ms, server_ms (None without a server), data_ms, backend,
        server, method, uri."""
        out = []
        with open(self.log_path, errors="replace") as f:
            for line in f:
                p = line.split()
                if len(p) != 9 or p[0] != "sondelog":
                    continue
                out.append({"status": int(p[1]), "active_ms": int(p[2]),
                            "server_ms": int(p[3]) if int(p[3]) >= 0 else None,
                            "data_ms": int(p[4]), "backend": p[5], "server": p[6],
                            "method": p[7], "uri": p[8]})
        return out
