#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Live check of the MySQL parser against MariaDB's SHOW GLOBAL STATUS.

Starts a throwaway MariaDB on a free port, sends traffic through a
recording proxy — the real `mariadb` command-line client (text protocol)
and a minimal stdlib client here (binary protocol: prepare / execute /
close, with and without CLIENT_DEPRECATE_EOF) — replays the recorded bytes
through the parser (proto_b_dump) and asserts that the transactions per
operation equal the Com_select / Com_insert / Com_update / Com_delete
deltas, and that Com_stmt_execute counts the binary executions that are
also in Com_select (MariaDB counts an executed prepared SELECT in both).
"""
import collections
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import liveproxy  # noqa: E402

N = 15
CAP_LONG_PASSWORD = 1
CAP_CONNECT_WITH_DB = 8
CAP_PROTOCOL_41 = 0x200
CAP_TRANSACTIONS = 0x2000
CAP_SECURE = 0x8000
CAP_MULTI_RESULTS = 0x20000
CAP_PLUGIN_AUTH = 0x80000
CAP_DEPRECATE_EOF = 0x1000000


class Client:
    """Just enough of the client protocol to drive the binary protocol."""

    def __init__(self, port, deprecate_eof):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.dep = deprecate_eof
        self.read()  # greeting
        caps = (CAP_LONG_PASSWORD | CAP_CONNECT_WITH_DB | CAP_PROTOCOL_41 | CAP_TRANSACTIONS |
                CAP_SECURE | CAP_MULTI_RESULTS | CAP_PLUGIN_AUTH |
                (CAP_DEPRECATE_EOF if deprecate_eof else 0))
        p = struct.pack("<IIB", caps, 1 << 24, 33) + b"\0" * 23
        p += b"root\0" + b"\0" + b"bench\0" + b"mysql_native_password\0"
        self.write(1, p)
        while True:
            seq, r = self.read()
            if r[0] == 0x00:
                break
            if r[0] == 0xff:
                raise RuntimeError("auth failed: %r" % r)
            self.write(seq + 1, b"")  # auth switch: empty password

    def read(self):
        h = self._recv(4)
        n = h[0] | h[1] << 8 | h[2] << 16
        return h[3], self._recv(n)

    def _recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise RuntimeError("server closed")
            b += c
        return b

    def write(self, seq, payload):
        self.s.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)

    def result(self):
        _, r = self.read()
        if r[0] in (0x00, 0xff):
            return r[0] == 0x00
        ncols = r[0]
        for _ in range(ncols):
            self.read()
        if not self.dep:
            self.read()
        while True:
            _, r = self.read()
            if r[0] == 0xff:
                return False
            if r[0] == 0xfe and len(r) < 0xffffff:
                return True

    def query(self, sql):
        self.write(0, b"\x03" + sql.encode())
        return self.result()

    def prepare(self, sql):
        self.write(0, b"\x16" + sql.encode())
        _, r = self.read()
        if r[0] != 0:
            raise RuntimeError("prepare failed: %r" % r)
        sid, ncols, nparams = struct.unpack("<IHH", r[1:9])
        for block in (nparams, ncols):
            for _ in range(block):
                self.read()
            if block and not self.dep:
                self.read()
        return sid, nparams

    def execute(self, sid, params):
        p = b"\x17" + struct.pack("<IBI", sid, 0, 1)
        if params:
            p += b"\0" * ((len(params) + 7) // 8) + b"\x01" + b"\x08\x00" * len(params)
            p += b"".join(struct.pack("<q", v) for v in params)
        self.write(0, p)
        return self.result()

    def close_stmt(self, sid):
        self.write(0, b"\x19" + struct.pack("<I", sid))

    def quit(self):
        self.write(0, b"\x01")
        self.s.close()


def main():
    dump = sys.argv[1]
    liveproxy.which_or_skip("mariadbd", "mariadb-install-db", "mariadb")
    user = []
    if os.geteuid() == 0:
        user = ["--user=mysql"]
    tmp = tempfile.mkdtemp(prefix="sonde-my-")
    os.chmod(tmp, 0o755)
    if user:
        shutil.chown(tmp, "mysql", "mysql")
    data, sock, log = tmp + "/data", tmp + "/sock", tmp + "/err.log"
    rec = tempfile.mkdtemp(prefix="sonde-myrec-")
    port = liveproxy.free_port()
    srv = None
    proxy = None

    def cli(sql, p=None):
        args = ["mariadb", "--no-defaults", "-u", "root", "--batch", "--skip-column-names"]
        if p:
            args += ["-h", "127.0.0.1", "-P", str(p), "--protocol=tcp"]
        else:
            args += ["-S", sock]
        return subprocess.run(args + ["-e", sql], check=True, capture_output=True, text=True,
                              timeout=60).stdout

    def status():
        out = cli("SHOW GLOBAL STATUS LIKE 'Com\\_%'")
        return {k: int(v) for k, v in (line.split("\t") for line in out.splitlines())}

    try:
        subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + data,
                        "--auth-root-authentication-method=normal", "--skip-test-db"] + user,
                       check=True, capture_output=True, timeout=120)
        srv = subprocess.Popen(["mariadbd", "--no-defaults", "--datadir=" + data,
                                "--port=%d" % port, "--bind-address=127.0.0.1",
                                "--socket=" + sock, "--log-error=" + log,
                                "--skip-grant-tables", "--innodb-buffer-pool-size=32M",
                                "--skip-log-bin"] + user,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not liveproxy.wait_port(port, 60):
            print("mariadbd did not start")
            print(open(log).read()[-3000:] if os.path.exists(log) else "")
            return 1
        cli("CREATE DATABASE bench; CREATE TABLE bench.t (id INT PRIMARY KEY, k INT)")
        # what two status snapshots cost on their own
        a = status()
        b = status()
        overhead = {k: b[k] - a[k] for k in b}
        before = status()

        proxy = liveproxy.Proxy(port, rec)
        script = ["INSERT INTO bench.t VALUES (%d, %d)" % (i, i) for i in range(N)]
        script += ["SELECT k FROM bench.t WHERE id = %d" % i for i in range(N)]
        script += ["UPDATE bench.t SET k = k + 1 WHERE id = %d" % i for i in range(5)]
        script += ["SELECT * FROM bench.missing", "DELETE FROM bench.t WHERE id = 0"]
        try:
            cli(";\n".join(script) + ";", proxy.port)
        except subprocess.CalledProcessError:
            pass  # the missing table ends the batch with an error: expected
        cli("SELECT COUNT(*) FROM bench.t; UPDATE bench.t SET k = 0 WHERE id = 1", proxy.port)
        for _ in range(2):  # results far larger than a 4 KiB capture
            cli("SELECT REPEAT('x', 500) FROM bench.seq_1_to_300", proxy.port)
        executes = 0
        for dep in (False, True):
            c = Client(proxy.port, dep)
            sel, _ = c.prepare("SELECT k FROM bench.t WHERE id = ?")
            ins, _ = c.prepare("INSERT INTO bench.t VALUES (?, ?)")
            base = 1000 if dep else 2000
            for i in range(N):
                c.execute(sel, [i])
                c.execute(ins, [base + i, i])
                executes += 2
            c.query("SELECT COUNT(*) FROM bench.t")
            c.query("DELETE FROM bench.t WHERE id >= %d" % base)
            c.close_stmt(sel)
            c.close_stmt(ins)
            c.quit()
        time.sleep(0.2)
        files = proxy.close()
        proxy = None
        after = status()

        delta = {k: after[k] - before[k] - overhead.get(k, 0) for k in after}
        truth = {op: delta["Com_" + op.lower()] for op in ("SELECT", "INSERT", "UPDATE", "DELETE")}
        print("connections:", len(files))
        print("SHOW GLOBAL STATUS deltas:", truth, "Com_stmt_execute:", delta["Com_stmt_execute"],
              "Com_stmt_prepare:", delta["Com_stmt_prepare"])
        ok = True
        if delta["Com_stmt_execute"] != executes:
            print("FAIL: Com_stmt_execute %d, sent %d" % (delta["Com_stmt_execute"], executes))
            ok = False
        # whole, and with every chunk cut to 4 KiB as a bounded capture would
        for cap in (0, 4096):
            txns, stats = liveproxy.replay(dump, "mysql", files, cap)
            seen = collections.Counter(op for op, _, _, _ in txns)
            print("capture limit %s: parser %s, errors %s, stats %s" % (
                cap or "none", dict(sorted(seen.items())), [t for t in txns if t[2]], stats))
            for op, n in truth.items():
                if seen[op] != n:
                    print("FAIL: %s: parser %d, server %d" % (op, seen[op], n))
                    ok = False
            if [t[2] for t in txns if t[2]] != ["42S02"]:
                print("FAIL: expected exactly one 42S02 error")
                ok = False
            if stats[0] or stats[2] or stats[3] or (cap == 0 and stats[1]):
                print("FAIL: unexpected parser counters")
                ok = False
            if cap and not stats[1]:
                print("FAIL: the 4 KiB capture should have cut the big results")
                ok = False
            if seen["SELECT"] < 2 * N:
                print("FAIL: traffic did not run as expected")
                ok = False
        return 0 if ok else 1
    finally:
        if proxy:
            proxy.close(2)
        if srv:
            srv.terminate()
            try:
                srv.wait(30)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(rec, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
