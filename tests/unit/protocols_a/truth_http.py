#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Ground truth for the HTTP/1 parser: nginx's own access log.

Starts nginx (master_process off, temp dir, free port), sends a seeded
random workload over keep-alive connections (pipelined batches, writes cut
at random points, HEAD, 204, 304, 404, gzip-chunked responses, POST bodies
with Content-Length and chunked, Expect: 100-continue, HTTP/1.0), records
every byte, replays the recording through the parser (proto_a_replay) and
compares each transaction's method, status, path, request bytes and
response bytes with nginx's $request_method $status $request_uri
$request_length $bytes_sent, in order.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from truth_common import Recorder, free_port, skip

REPLAY = sys.argv[1] if len(sys.argv) > 1 else None


CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    log_format t '$request_method $status $request_length $bytes_sent $request_uri';
    access_log {tmp}/access.log t;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        default_type text/plain;
        gzip on;
        gzip_min_length 1;
        gzip_types text/plain;
        location = /204 {{ return 204; }}
        location = /echo {{ return 200 "ok\\n"; }}
        location /s/ {{ }}
        location /up/ {{ dav_methods PUT; client_max_body_size 1m; }}
    }}
}}
"""


class Conn(Recorder):
    """A Recorder that reads HTTP/1 responses."""

    def response(self, head):
        """Reads one final response; returns its status."""
        while True:
            status = int(self.line().split()[1])
            hdrs = {}
            while True:
                ln = self.line()
                if not ln:
                    break
                k, v = ln.split(b':', 1)
                hdrs[k.strip().lower()] = v.strip()
            if 100 <= status < 200:
                continue
            if head or status in (204, 304):
                return status
            if hdrs.get(b'transfer-encoding', b'').lower() == b'chunked':
                while True:
                    size = int(self.line().split(b';')[0], 16)
                    if size == 0:
                        while self.line():
                            pass
                        return status
                    self.exact(size + 2)
            self.exact(int(hdrs.get(b'content-length', b'0')))
            return status


def workload(rng, port, out, mtime):
    files = ['/s/a.txt', '/s/b.txt', '/s/big.txt', '/s/missing', '/204', '/echo']
    sent = 0
    for _ in range(6):
        c = Conn(port, out)
        for _ in range(60):
            batch = []
            for _ in range(rng.randint(1, 5)):
                k = rng.randrange(9)
                path = rng.choice(files)
                hdr = 'Host: localhost:%d\r\n' % port
                if rng.random() < 0.5:
                    hdr += 'Accept-Encoding: gzip\r\n'
                if rng.random() < 0.2:
                    hdr += 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n'
                if k == 0:
                    batch.append(('HEAD', 'HEAD %s HTTP/1.1\r\n%s\r\n' % (path, hdr)))
                elif k == 1:
                    batch.append(('GET', 'GET /s/a.txt HTTP/1.1\r\n%sIf-Modified-Since: %s\r\n\r\n' % (hdr, mtime)))
                elif k == 2:
                    body = 'x' * rng.randrange(0, 3000)
                    batch.append(('PUT', 'PUT /up/f%d HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s' % (rng.randrange(5), hdr, len(body), body)))
                elif k == 3:
                    parts = ''.join('%x;ext=1\r\n%s\r\n' % (n, 'y' * n) for n in (rng.randint(1, 40) for _ in range(rng.randint(1, 4))))
                    batch.append(('PUT', 'PUT /up/c%d?q=1 HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n%s0\r\nX-T: 1\r\n\r\n' % (rng.randrange(5), hdr, parts)))
                else:
                    batch.append(('GET', 'GET %s HTTP/1.1\r\n%s\r\n' % (path, hdr)))
            data = ''.join(r for _, r in batch).encode()
            while data:
                n = rng.randint(1, len(data)) if rng.random() < 0.3 else len(data)
                c.send(data[:n])
                data = data[n:]
            for method, _ in batch:
                c.response(method == 'HEAD')
            sent += len(batch)
            if rng.random() < 0.15:
                # Expect: 100-continue, body sent after the interim response.
                body = b'z' * rng.randrange(1, 2000)
                c.send(b'PUT /up/e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n' % len(body))
                ln = c.line()
                assert ln.startswith(b'HTTP/1.1 100'), ln
                assert c.line() == b''
                c.send(body)
                c.response(False)
                sent += 1
        c.s.close()
    # HTTP/1.0: nginx closes after the response.
    c = Conn(port, out)
    c.send(b'GET /s/b.txt HTTP/1.0\r\n\r\n')
    try:
        while True:
            c.more()
    except EOFError:
        pass
    c.s.close()
    return sent + 1


def main():
    if not REPLAY or not os.access(REPLAY, os.X_OK):
        skip('replay tool not given')
    nginx = shutil.which('nginx') or ('/usr/sbin/nginx' if os.path.exists('/usr/sbin/nginx') else None)
    if not nginx:
        skip('nginx not installed')
    tmp = tempfile.mkdtemp(prefix='sonde-http-truth-')
    proc = None
    try:
        os.makedirs(os.path.join(tmp, 'www', 's'))
        os.makedirs(os.path.join(tmp, 'www', 'up'))
        for name, size in (('a.txt', 100), ('b.txt', 5000), ('big.txt', 200000)):
            with open(os.path.join(tmp, 'www', 's', name), 'w') as f:
                f.write(''.join(chr(97 + i % 26) for i in range(size)))
        mtime = time.strftime('%a, %d %b %Y %H:%M:%S GMT',
                              time.gmtime(os.path.getmtime(os.path.join(tmp, 'www', 's', 'a.txt'))))
        port = free_port()
        with open(os.path.join(tmp, 'nginx.conf'), 'w') as f:
            f.write(CONF.format(tmp=tmp, port=port))
        proc = subprocess.Popen([nginx, '-p', tmp, '-c', os.path.join(tmp, 'nginx.conf'), '-e', os.path.join(tmp, 'error.log')],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > end:
                    print(open(os.path.join(tmp, 'error.log')).read())
                    raise RuntimeError('nginx did not start')
                time.sleep(0.05)
        rec = os.path.join(tmp, 'http.rec')
        with open(rec, 'wb') as out:
            sent = workload(random.Random(7), port, out, mtime)
        time.sleep(0.2)
        logged = [ln.split() for ln in open(os.path.join(tmp, 'access.log'))]
        ok = len(logged) == sent
        print('%s requests: sent %d, nginx logged %d' % ('ok  ' if ok else 'FAIL', sent, len(logged)))
        for seed in (0, 5, 77777):
            env = dict(os.environ, PROTO_A_VERBOSE='1')
            res = subprocess.run([REPLAY, 'http1', rec, str(seed)], capture_output=True,
                                 text=True, timeout=60, env=env)
            if res.returncode != 0:
                print('FAIL replay: ' + res.stderr)
                ok = False
                continue
            txns = [ln.split()[1:] for ln in res.stdout.splitlines() if ln.startswith('txn ')]
            summary = res.stdout.splitlines()[-1]
            want = [[m, s, rl, bs, uri] for m, s, rl, bs, uri in logged]
            if txns != want:
                ok = False
                print('FAIL seed %d: %d transactions vs %d log lines' % (seed, len(txns), len(want)))
                for i, (a, b) in enumerate(zip(txns, want)):
                    if a != b:
                        print('  first difference at %d: parser %s, nginx %s' % (i, a, b))
                        break
            else:
                print('ok   seed %d: %d transactions equal nginx log (method status request_length bytes_sent uri)' % (seed, len(txns)))
            if 'parse_errors 0 desyncs 0 dropped 0' not in summary:
                ok = False
                print('FAIL seed %d: %s' % (seed, summary))
        sys.exit(0 if ok else 1)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
