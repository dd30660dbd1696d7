#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real writer's rotation: nginx's access log renamed every 0.3 s, then
nginx told to reopen it (SIGUSR1), so nginx keeps writing into the renamed
file for a moment, while a client sends requests. Every request must be
counted once: sonde_log_lines_total and the HTTP histogram's count equal
the requests sent and the lines nginx wrote (all rotated files summed)."""
import glob
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

DURATION = 3.0   # seconds of requests, one connection


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        return r.read().decode()


def total(text, name, **labels):
    v = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all('%s="%s"' % kv in line for kv in labels.items()):
                v += float(line.rsplit(" ", 1)[1])
    return v


def main():
    sonde = os.environ.get("SONDE_BIN")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not sonde:
        print("SKIP: SONDE_BIN not set")
        return 77
    if not os.access(nginx, os.X_OK):
        print("SKIP: nginx not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="sonde-ngxrot-")
    log = os.path.join(tmp, "access.log")
    nport, mport = free_port(), free_port()
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write("""user root;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 64; }
http {
  access_log %(d)s/access.log combined;
  client_body_temp_path %(d)s/body;
  proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi;
  scgi_temp_path %(d)s/scgi;
  server {
    listen 127.0.0.1:%(p)d;
    location / { return 200 "ok\\n"; }
  }
}
""" % {"d": tmp, "p": nport})
    cfg = os.path.join(tmp, "sonde.yaml")
    with open(cfg, "w") as f:
        f.write('prometheus:\n  listen: "127.0.0.1:%d"\n' % mport)
        f.write("logs:\n  state_dir: %s/state\n  rotate_wait: 3s\n" % tmp)
        f.write("  poll_interval: 200ms\n  sources:\n")
        f.write("    - path: %s\n      format: combined\n      service: web\n" % log)
    ngx = agent = None
    ok = False
    try:
        ngx = subprocess.Popen([nginx, "-p", tmp, "-c", "nginx.conf",
                                "-g", "daemon off;"],
                               stderr=open(os.path.join(tmp, "nginx.out"), "w"))
        for _ in range(100):
            if os.path.exists(log) and os.path.exists(tmp + "/nginx.pid"):
                break
            time.sleep(0.05)
        agent = subprocess.Popen([sonde, "--config", cfg],
                                 stderr=open(os.path.join(tmp, "agent.log"), "w"))
        for _ in range(200):
            try:
                scrape(mport)
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)  # the tailer has opened access.log (at its end)

        conn = http.client.HTTPConnection("127.0.0.1", nport, timeout=5)
        rotations, last = 0, time.time()
        end = last + DURATION
        sent = 0
        while time.time() < end:
            conn.request("GET", "/r/%d" % sent)
            sent += 1
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            if time.time() - last > 0.3:
                rotations += 1
                os.rename(log, "%s.%d" % (log, rotations))
                # nginx goes on writing to the renamed file until it
                # has reopened its logs
                os.kill(ngx.pid, signal.SIGUSR1)
                last = time.time()
        conn.close()
        assert rotations >= 3, "only %d rotations" % rotations
        written = 0
        for p in glob.glob(log + "*"):
            with open(p, "rb") as f:
                written += f.read().count(b"\n")
        assert written == sent, "nginx logged %d of %d" % (written, sent)
        deadline = time.time() + 20
        while time.time() < deadline:
            text = scrape(mport)
            if total(text, "sonde_log_lines_total") >= sent:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # nothing more should come
        text = scrape(mport)
        lines = total(text, "sonde_log_lines_total", path=log)
        reqs = total(text, "http_server_request_duration_seconds_count",
                     service="web")
        rot = total(text, "sonde_log_rotations_total", path=log, kind="rename")
        errors = total(text, "sonde_log_parse_errors_total", path=log)
        assert lines == sent, "lines %d, requests %d" % (lines, sent)
        assert reqs == sent, "HTTP count %d, requests %d" % (reqs, sent)
        assert errors == 0, "parse errors %d" % errors
        assert rot == rotations, "rotations %d, done %d" % (rot, rotations)
        print("nginx: %d requests, %d rename+USR1 rotations: %d lines, %d "
              "HTTP transactions, %d rotations seen" % (
                  sent, rotations, lines, reqs, rot))
        ok = True
    finally:
        for p in (agent, ngx):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM if p is agent else signal.SIGQUIT)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if agent:
            with open(os.path.join(tmp, "agent.log"), errors="replace") as f:
                alog = f.read()
            for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                if bad in alog:
                    print(alog[-4000:])
                    ok = False
            if agent.returncode != 0:
                print("agent exited %s:\n%s" % (agent.returncode, alog[-4000:]))
                ok = False
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept %s" % tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
