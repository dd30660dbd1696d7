# SPDX-License-Identifier: MIT
"""Raw socket clients: tests control exactly which bytes go on the wire
(pipelining, several requests in one write), and ground-truth queries do
not depend on client libraries."""

import socket

from .util import HarnessError


class RespError(Exception):
    pass


class _LineSocket:
    """A connected socket read in CRLF-terminated lines and counted
    payloads (each followed by CRLF); `server` names it in errors."""

    server = "the server"

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise HarnessError("%s closed the connection" % self.server)
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data


class RespClient(_LineSocket):
    """Redis RESP2/RESP3 over TCP or a unix socket."""

    server = "redis"

    def __init__(self, host="127.0.0.1", port=6379, unix=None, timeout=10.0):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def read_reply(self):
        line = self.line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        if t == b"%" or t == b"|":
            n = int(rest)
            d = {}
            for _ in range(n):
                k = self.read_reply()
                d[k if not isinstance(k, bytes) else k.decode()] = self.read_reply()
            if t == b"|":  # attribute: the real reply follows
                return self.read_reply()
            return d
        if t == b"_":
            return None
        if t == b"#":
            return rest == b"t"
        if t == b",":
            return float(rest)
        if t == b"(":
            return int(rest)
        if t in (b"=", b"!"):
            return self.exact(int(rest))
        raise HarnessError("unknown RESP type %r" % line[:20])

    def call(self, *args):
        self.send_raw(self.encode(*args))
        r = self.read_reply()
        if isinstance(r, RespError):
            raise r
        return r

    def pipeline(self, commands, one_write=True):
        """Sends every command (in one write by default), reads every reply."""
        data = b"".join(self.encode(*c) for c in commands)
        if one_write:
            self.send_raw(data)
        else:
            for c in commands:
                self.send_raw(self.encode(*c))
        return [self.read_reply() for _ in commands]


class MemcacheClient(_LineSocket):
    """Memcached text and meta protocol over TCP."""

    server = "memcached"

    def __init__(self, host="127.0.0.1", port=11211, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def set(self, key, value, flags=0, exptime=0):
        if isinstance(value, str):
            value = value.encode()
        self.send_raw(b"set %s %d %d %d\r\n%s\r\n" % (key.encode(), flags, exptime,
                                                     len(value), value))
        r = self.line()
        if r != b"STORED":
            raise HarnessError("memcached set: %r" % r)

    def read_get(self):
        """Reads one get/gets reply up to END: {key: value}."""
        out = {}
        while True:
            line = self.line()
            if line == b"END":
                return out
            parts = line.split()
            if parts[0] != b"VALUE":
                raise HarnessError("memcached get: %r" % line)
            out[parts[1].decode()] = self.exact(int(parts[3]))

    def get(self, *keys):
        self.send_raw(b"get %s\r\n" % b" ".join(k.encode() for k in keys))
        return self.read_get()

    def read_meta(self):
        """One meta reply: (code, flags, value or None)."""
        parts = self.line().split()
        code = parts[0].decode()
        if code == "VA":
            n = int(parts[1])
            return code, [p.decode() for p in parts[2:]], self.exact(n)
        return code, [p.decode() for p in parts[1:]], None

    def mg(self, key, *flags):
        self.send_raw(("mg %s%s\r\n" % (key, "".join(" " + f for f in flags))).encode())
        return self.read_meta()

    def stats(self):
        self.send_raw(b"stats\r\n")
        out = {}
        while True:
            line = self.line().decode()
            if line == "END":
                return out
            _, k, v = line.split(" ", 2)
            out[k] = v
