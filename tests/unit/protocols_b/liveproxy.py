# SPDX-License-Identifier: MIT
"""A recording TCP proxy for the live parser tests (python3 stdlib only).

Every connection through it is written, when it closes, as a conversation
in the fixture format (see gen_fixtures.py): one line per recv() with the
monotonic time in ns. A chunk is recorded before it is forwarded, so a
response is always recorded after the request that caused it.
"""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

SKIP = 77


def skip(reason):
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


class Proxy:
    def __init__(self, upstream_port, outdir):
        self.upstream = upstream_port
        self.outdir = outdir
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.threads = []
        self.files = []
        self.n = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._conn, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _conn(self, client):
        with self.lock:
            self.n += 1
            path = os.path.join(self.outdir, "conn%03d.txt" % self.n)
        rec = []
        rlock = threading.Lock()
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return

        def pump(src, dst, d):
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                with rlock:
                    rec.append((d, time.monotonic_ns(), data))
                try:
                    dst.sendall(data)
                except OSError:
                    return

        t1 = threading.Thread(target=pump, args=(client, server, ">"), daemon=True)
        t2 = threading.Thread(target=pump, args=(server, client, "<"), daemon=True)
        t1.start()
        t2.start()
        t1.join()
        t2.join()
        client.close()
        server.close()
        with open(path, "w") as f:
            f.write("# recorded by liveproxy.py\n")
            for d, ts, data in rec:
                f.write("%s %d - %s\n" % (d, ts, data.hex()))
        with self.lock:
            self.files.append(path)

    def close(self, timeout=20.0):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return sorted(self.files)


def replay(dump, proto, files, cap=0):
    """Runs proto_b_dump; returns (list of (op, target, error, dur), stats).

    cap: keep only the first cap bytes of every chunk (0: all)."""
    args = [dump] + (["--cap", str(cap)] if cap else []) + [proto]
    out = subprocess.run(args + files, check=True, capture_output=True,
                         text=True).stdout
    txns, stats = [], [0, 0, 0, 0]
    for line in out.splitlines():
        if line.startswith("txn "):
            op, target, error, dur = line[4:].split("|")
            txns.append((op, target, error, int(dur)))
        elif line.startswith("stats "):
            v = [int(x) for x in line.split()[1:]]
            stats = [a + b if i < 3 else (a or b) for i, (a, b) in enumerate(zip(stats, v))]
    return txns, stats


def which_or_skip(*names):
    for n in names:
        if not (shutil.which(n) or os.path.exists(n)):
            skip("%s not installed" % n)
