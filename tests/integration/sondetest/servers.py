# SPDX-License-Identifier: MIT
"""Launchers of the real servers the tests observe, with their own ground
truth: each on 127.0.0.1 and a free port, in a temp dir, stopped after."""

import glob
import json
import os
import sys
import urllib.parse
import urllib.request

from .clients import MemcacheClient, RespClient
from .server import Server
from .util import HarnessError, free_port, port_open, run, which

NGINX_LOG_FORMAT = ("$msec\\t$status\\t$request_time\\t$request_method\\t$uri\\t"
                    "$upstream_cache_status\\t$upstream_response_time\\t$body_bytes_sent")


def self_signed_cert(directory):
    """(cert, key) paths of a certificate for CN=localhost made in
    directory, for servers under test that speak TLS."""
    key, crt = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", key, "-out", crt])
    return crt, key


_HELD_UPSTREAM = r'''
import http.server, re, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        m = re.search(r"ms=(\d+)", self.path)
        time.sleep(int(m.group(1) if m else sys.argv[2]) / 1000.0)
        missing = self.path.startswith("/missing")
        body = b"no\n" if missing else b"held\n"
        self.send_response(404 if missing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


class HeldUpstream(Server):
    """A plain HTTP/1.1 server (python's) answering every GET with 200
    (404 for /missing...) after holding it hold_ms, or N ms when the path
    says ms=N: the slow upstream a proxy's latency is checked against, and
    with hold_ms 0 a plain server and client pair to trace."""

    name = "upstream"

    def __init__(self, hold_ms, **kw):
        super().__init__(**kw)
        self.hold_ms = hold_ms

    def command(self):
        return [sys.executable, "-c", _HELD_UPSTREAM, str(self.port), str(self.hold_ms)]


class Nginx(Server):
    """nginx with one server block on self.port.

    server_conf goes inside that server block; extra_servers is a list of
    server-block bodies, each given its own port (self.extra_ports[i]);
    http_conf goes in the http block. In every snippet @DIR@, @PORT@ and
    @EXTRA_PORTn@ are replaced. The access log (tab separated, see
    NGINX_LOG_FORMAT) is self.access_log_path; access_log() parses it.
    tls=True serves self.port over TLS with a self-signed certificate made
    for the run (openssl req); http2=True serves HTTP/2 there too (ALPN h2
    over TLS, prior knowledge, h2c, without)."""

    name = "nginx"

    def __init__(self, server_conf="location / { return 200 \"ok\\n\"; }",
                 extra_servers=(), http_conf="", workers=1, log_format=None, tls=False,
                 http2=False, **kw):
        super().__init__(**kw)
        self.tls = tls
        self.http2 = http2
        self.server_conf = server_conf
        self.extra_servers = list(extra_servers)
        self.extra_ports = [free_port() for _ in self.extra_servers]
        self.http_conf = http_conf
        self.workers = workers
        self.log_format = log_format or NGINX_LOG_FORMAT
        self.access_log_path = os.path.join(self.dir, "access.log")
        self.error_log_path = os.path.join(self.dir, "error.log")
        self.conf_path = os.path.join(self.dir, "nginx.conf")

    def _subst(self, s):
        s = s.replace("@DIR@", self.dir).replace("@PORT@", str(self.port))
        for i, p in enumerate(self.extra_ports):
            s = s.replace("@EXTRA_PORT%d@" % i, str(p))
        return s

    def prepare(self):
        d = self.dir
        for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "tmp", t), exist_ok=True)
        params = (" ssl" if self.tls else "") + (" http2" if self.http2 else "")
        listen = "listen 127.0.0.1:%d%s;" % (self.port, params)
        if self.tls:
            crt, key = self_signed_cert(d)
            listen += "\n    ssl_certificate %s;\n    ssl_certificate_key %s;" % (crt, key)
        extra = "\n".join("  server {\n    listen 127.0.0.1:%d;\n    %s\n  }" % (p, self._subst(c))
                          for p, c in zip(self.extra_ports, self.extra_servers))
        conf = """user root;
worker_processes %(workers)d;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 1024; }
http {
  default_type text/plain;
  log_format sondetest '%(fmt)s';
  access_log %(d)s/access.log sondetest;
  client_body_temp_path %(d)s/tmp/body;
  proxy_temp_path %(d)s/tmp/proxy;
  fastcgi_temp_path %(d)s/tmp/fastcgi;
  uwsgi_temp_path %(d)s/tmp/uwsgi;
  scgi_temp_path %(d)s/tmp/scgi;
  keepalive_requests 100000;
  %(http)s
  server {
    %(listen)s
    server_name localhost;
    %(server)s
  }
%(extra)s
}
""" % {"workers": self.workers, "d": d, "fmt": self.log_format, "listen": listen,
       "http": self._subst(self.http_conf), "server": self._subst(self.server_conf),
       "extra": extra}
        with open(self.conf_path, "w") as f:
            f.write(conf)
        run(["nginx", "-t", "-p", d, "-c", self.conf_path, "-e", self.error_log_path])

    def command(self):
        return ["nginx", "-p", self.dir, "-c", self.conf_path, "-e", self.error_log_path,
                "-g", "daemon off;"]

    def ready(self):
        return port_open(self.host, self.port) and all(
            port_open(self.host, p) for p in self.extra_ports)

    def server_log(self):
        return self.error_log_path

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    def access_log(self):
        """Parsed access log lines (default format): dicts with msec, status,
        request_time, method, uri, cache, upstream_time, bytes."""
        out = []
        try:
            with open(self.access_log_path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            p = line.split("\t")
            if len(p) < 8:
                continue
            out.append({"msec": float(p[0]), "status": int(p[1]),
                        "request_time": float(p[2]), "method": p[3], "uri": p[4],
                        "cache": p[5], "upstream_time": p[6], "bytes": p[7]})
        return out


class Redis(Server):
    """redis-server on a free port (plus a unix socket for ground-truth
    queries, so they never show up in what the agent sees over TCP).
    tls=True also serves TLS on self.tls_port (a self-signed certificate
    made for the run; clients: redis-cli/redis-benchmark --tls --insecure)."""

    name = "redis"

    def __init__(self, extra_args=(), tls=False, **kw):
        super().__init__(**kw)
        self.extra_args = list(extra_args)
        self.unix = os.path.join(self.dir, "redis.sock")
        self.tls_port = free_port() if tls else None

    def prepare(self):
        if self.tls_port:
            crt, key = self_signed_cert(self.dir)
            self.extra_args += ["--tls-port", str(self.tls_port), "--tls-cert-file", crt,
                                "--tls-key-file", key, "--tls-ca-cert-file", crt,
                                "--tls-auth-clients", "no"]

    def command(self):
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--unixsocket", self.unix, "--unixsocketperm", "700",
                "--daemonize", "no", "--protected-mode", "no"] + self.extra_args

    def ready(self):
        if not os.path.exists(self.unix):
            return False
        with RespClient(unix=self.unix, timeout=2) as c:
            return c.call("PING") == "PONG"

    def client(self):
        """A TCP client (seen by the agent)."""
        return RespClient(self.host, self.port)

    def admin(self):
        """A unix-socket client (not seen by a TCP-only probe)."""
        return RespClient(unix=self.unix)

    def info(self, section="stats"):
        with self.admin() as c:
            text = c.call("INFO", section).decode()
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def info_stats(self):
        """INFO stats with keyspace_hits/misses as ints."""
        s = self.info("stats")
        for k in ("keyspace_hits", "keyspace_misses", "total_commands_processed"):
            s[k] = int(s[k])
        return s

    def command_stats(self):
        """{command: calls} from INFO commandstats."""
        out = {}
        for k, v in self.info("commandstats").items():
            if k.startswith("cmdstat_"):
                fields = dict(f.split("=", 1) for f in v.split(","))
                out[k[len("cmdstat_"):]] = int(fields["calls"])
        return out


class Memcached(Server):
    name = "memcached"

    def __init__(self, extra_args=(), **kw):
        super().__init__(**kw)
        self.extra_args = list(extra_args)

    def command(self):
        return ["memcached", "-p", str(self.port), "-U", "0", "-l", "127.0.0.1",
                "-u", "nobody", "-m", "64"] + self.extra_args

    def client(self):
        return MemcacheClient(self.host, self.port)

    def stats(self):
        """`stats` as a dict; the usual counters as ints."""
        with self.client() as c:
            s = c.stats()
        for k in ("get_hits", "get_misses", "cmd_get", "get_expired", "get_flushed",
                  "curr_connections", "total_connections"):
            if k in s:
                s[k] = int(s[k])
        return s


def _pg_bindir():
    c = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not c:
        raise HarnessError("no PostgreSQL server in /usr/lib/postgresql/*/bin")
    return c[-1]


class Postgres(Server):
    """A PostgreSQL cluster initialised in the temp dir as user postgres.

    options: extra `-c name=value` settings (dict); pg_stat_statements is
    preloaded and created in the postgres database by default. tls=True
    turns ssl on with a self-signed certificate made for the run (clients
    then choose with sslmode; psql's default, prefer, takes TLS).
    psql()/pg_stat_statements() use the unix socket in the temp dir, so
    ground-truth queries are not seen on TCP."""

    name = "postgres"
    user = "postgres"

    def __init__(self, options=None, stat_statements=True, tls=False, **kw):
        super().__init__(**kw)
        self.tls = tls
        self.bindir = _pg_bindir()
        self.data = os.path.join(self.dir, "data")
        self.options = {"listen_addresses": "127.0.0.1", "fsync": "off",
                        "synchronous_commit": "off", "full_page_writes": "off",
                        "shared_buffers": "32MB", "max_connections": "50",
                        "logging_collector": "off"}
        self.stat_statements = stat_statements
        if stat_statements:
            self.options["shared_preload_libraries"] = "pg_stat_statements"
            self.options["pg_stat_statements.track"] = "all"
        self.options.update(options or {})

    @property
    def dsn(self):
        return "host=%s port=%d user=postgres dbname=postgres" % (self.host, self.port)

    @property
    def url(self):
        return "postgresql://postgres@%s:%d/postgres" % (self.host, self.port)

    def prepare(self):
        if self.tls:
            crt, key = self_signed_cert(self.dir)
            os.chmod(key, 0o600)  # postgres refuses a key others can read
            self.options.update({"ssl": "on", "ssl_cert_file": crt, "ssl_key_file": key})
        self.chown(self.user)
        run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust",
             "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"],
            user=self.user, timeout=120)
        # The log file is opened by us (root) and handed over by fd.

    def command(self):
        cmd = [os.path.join(self.bindir, "postgres"),
               "-D", self.data, "-p", str(self.port), "-k", self.dir]
        for k, v in self.options.items():
            cmd += ["-c", "%s=%s" % (k, v)]
        return cmd

    def popen_kwargs(self):
        # Dropped in the child itself (not via runuser) so that postgres is
        # our direct child: stop() signals it and it dies with the test.
        return {"user": self.user, "group": self.user, "extra_groups": []}

    def ready(self):
        if not os.path.exists(os.path.join(self.dir, ".s.PGSQL.%d" % self.port)):
            return False
        return self.psql("SELECT 1", timeout=5).strip() == "1"

    def after_start(self):
        if self.stat_statements:
            self.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def psql(self, sql, db="postgres", timeout=60, tcp=False):
        """Runs sql with psql -At; returns stdout. tcp=True goes over
        127.0.0.1 (seen by the agent), else the unix socket."""
        host = self.host if tcp else self.dir
        return run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", host,
                    "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                   timeout=timeout)

    def reset_stats(self):
        self.psql("SELECT pg_stat_statements_reset()")

    def pg_stat_statements(self, db="postgres"):
        """[{query, calls, rows, total_ms, mean_ms}] from pg_stat_statements."""
        out = self.psql(
            "SELECT json_agg(json_build_object('query', query, 'calls', calls, "
            "'rows', rows, 'total_ms', total_exec_time, 'mean_ms', mean_exec_time, "
            "'dbname', (SELECT datname FROM pg_database d WHERE d.oid = s.dbid))) "
            "FROM pg_stat_statements s", db=db)
        return json.loads(out.strip() or "null") or []


class MariaDB(Server):
    """mariadbd with a fresh datadir; root without a password over TCP and
    over the unix socket in the temp dir (used for ground truth). tls=True
    gives it a self-signed certificate made for the run (MariaDB 10.11's
    client then takes TLS unless told --skip-ssl)."""

    name = "mariadb"

    def __init__(self, options=None, tls=False, **kw):
        super().__init__(**kw)
        self.tls = tls
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysql.sock")
        self.error_log_path = os.path.join(self.dir, "error.log")
        self.options = {"innodb_buffer_pool_size": "32M", "innodb_log_file_size": "16M",
                        "innodb_flush_log_at_trx_commit": "0", "skip-name-resolve": None,
                        "performance_schema": "OFF", "max_connections": "50"}
        self.options.update(options or {})

    def prepare(self):
        if self.tls:
            crt, key = self_signed_cert(self.dir)
            self.options.update({"ssl-cert": crt, "ssl-key": key})
        run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.data,
             "--user=root", "--auth-root-authentication-method=normal",
             "--skip-test-db"], timeout=120)

    def command(self):
        cmd = ["mariadbd", "--no-defaults", "--datadir=" + self.data,
               "--port=%d" % self.port, "--socket=" + self.socket,
               "--bind-address=127.0.0.1", "--user=root",
               "--pid-file=" + os.path.join(self.dir, "mariadb.pid"),
               "--log-error=" + self.error_log_path]
        for k, v in self.options.items():
            cmd.append("--%s" % k if v is None else "--%s=%s" % (k, v))
        return cmd

    def server_log(self):
        return self.error_log_path

    def ready(self):
        return os.path.exists(self.socket) and self.sql("SELECT 1", timeout=5).strip() == "1"

    def sql(self, sql, db=None, timeout=60, tcp=False):
        cmd = ["mariadb", "--no-defaults", "-N", "-B", "-uroot"]
        if tcp:
            cmd += ["-h", self.host, "-P", str(self.port), "--protocol=TCP"]
        else:
            cmd += ["--socket=" + self.socket]
        if db:
            cmd += ["-D", db]
        return run(cmd + ["-e", sql], timeout=timeout)

    def global_status(self):
        """SHOW GLOBAL STATUS as {name: int or str}."""
        out = {}
        for line in self.sql("SHOW GLOBAL STATUS").splitlines():
            k, _, v = line.partition("\t")
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
        return out


class NodeExporter(Server):
    name = "node-exporter"

    def __init__(self, extra_args=(), **kw):
        super().__init__(**kw)
        self.extra_args = list(extra_args)

    def command(self):
        return ["prometheus-node-exporter", "--web.listen-address=%s" % self.address] + self.extra_args

    @property
    def url(self):
        return "http://%s/metrics" % self.address

    def metrics_text(self):
        with urllib.request.urlopen(self.url, timeout=10) as r:
            return r.read().decode()

    def scrape(self):
        from .promtext import Metrics
        return Metrics(self.metrics_text())


class Prometheus(Server):
    """A real prometheus: scrape_targets are "host:port" strings (job
    "sonde"), rule_files are copied paths, extra_config is appended YAML."""

    name = "prometheus"

    def __init__(self, scrape_targets=(), rule_files=(), scrape_interval="1s",
                 extra_config="", extra_args=(), **kw):
        super().__init__(**kw)
        self.targets = list(scrape_targets)
        self.rule_files = list(rule_files)
        self.interval = scrape_interval
        self.extra_config = extra_config
        self.extra_args = list(extra_args)
        self.config_path = os.path.join(self.dir, "prometheus.yml")

    def prepare(self):
        lines = ["global:", "  scrape_interval: %s" % self.interval,
                 "  evaluation_interval: %s" % self.interval]
        if self.rule_files:
            lines.append("rule_files:")
            lines += ["  - %s" % json.dumps(p) for p in self.rule_files]
        lines += ["scrape_configs:", "  - job_name: sonde", "    static_configs:",
                  "      - targets: %s" % json.dumps(self.targets)]
        text = "\n".join(lines) + "\n" + self.extra_config
        with open(self.config_path, "w") as f:
            f.write(text)
        if which("promtool"):
            run(["promtool", "check", "config", self.config_path])

    def command(self):
        return ["prometheus", "--config.file=" + self.config_path,
                "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                "--web.listen-address=" + self.address] + self.extra_args

    def ready(self):
        with urllib.request.urlopen("http://%s/-/ready" % self.address, timeout=2) as r:
            return r.status == 200

    def api(self, path, **params):
        url = "http://%s/api/v1/%s?%s" % (self.address, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise HarnessError("prometheus %s: %s" % (path, body))
        return body["data"]

    def query(self, expr):
        """Instant query: [(labels dict, float value)]."""
        data = self.api("query", query=expr)
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def targets_health(self):
        return [(t["scrapeUrl"], t["health"], t.get("lastError", ""))
                for t in self.api("targets")["activeTargets"]]

    def alerts(self):
        return self.api("alerts")["alerts"]
