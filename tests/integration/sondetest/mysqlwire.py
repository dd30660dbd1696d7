# SPDX-License-Identifier: MIT
"""A minimal MySQL/MariaDB wire client: text queries (COM_QUERY) and binary
prepared statements (COM_STMT_PREPARE / COM_STMT_EXECUTE / COM_STMT_CLOSE),
so tests drive the binary protocol without a client library. Passwordless
mysql_native_password only (what the MariaDB launcher sets up)."""

import socket
import struct

from .util import HarnessError

CLIENT_LONG_PASSWORD = 1
CLIENT_LONG_FLAG = 4
CLIENT_CONNECT_WITH_DB = 8
CLIENT_PROTOCOL_41 = 512
CLIENT_TRANSACTIONS = 8192
CLIENT_SECURE_CONNECTION = 32768
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PLUGIN_AUTH = 1 << 19

COM_QUIT = 0x01
COM_QUERY = 0x03
COM_PING = 0x0e
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_CLOSE = 0x19

TYPE_LONGLONG = 0x08
TYPE_VAR_STRING = 0xfd


class MysqlError(Exception):
    def __init__(self, code, state, msg):
        super().__init__("%d (%s): %s" % (code, state, msg))
        self.code = code
        self.state = state


def _lenenc_int(b, i):
    c = b[i]
    if c < 0xfb:
        return c, i + 1
    if c == 0xfc:
        return struct.unpack_from("<H", b, i + 1)[0], i + 3
    if c == 0xfd:
        return int.from_bytes(b[i + 1:i + 4], "little"), i + 4
    if c == 0xfe:
        return struct.unpack_from("<Q", b, i + 1)[0], i + 9
    return None, i + 1  # 0xfb: NULL


def _lenenc_bytes(data):
    n = len(data)
    if n < 0xfb:
        return bytes([n]) + data
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n) + data
    return b"\xfd" + n.to_bytes(3, "little") + data


class MysqlClient:
    def __init__(self, host="127.0.0.1", port=3306, user="root", db=None, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.seq = 0
        self._handshake(user, db)

    # ---- framing ----
    def _recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise HarnessError("mysql server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_packet(self):
        hdr = self._recv_exact(4)
        n = int.from_bytes(hdr[:3], "little")
        self.seq = (hdr[3] + 1) & 0xff
        return self._recv_exact(n)

    def write_packet(self, payload):
        self.sock.sendall(len(payload).to_bytes(3, "little") + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xff

    def command(self, cmd, payload=b""):
        self.seq = 0
        self.write_packet(bytes([cmd]) + payload)

    @staticmethod
    def _raise_err(p):
        code = struct.unpack_from("<H", p, 1)[0]
        state, msg = "", p[3:]
        if p[3:4] == b"#":
            state, msg = p[4:9].decode(), p[9:]
        raise MysqlError(code, state, msg.decode("utf-8", "replace"))

    # ---- connection ----
    def _handshake(self, user, db):
        p = self.read_packet()
        if p[0] == 0xff:
            self._raise_err(p)
        i = p.index(b"\0", 1) + 1  # server version
        i += 4  # thread id
        i += 8 + 1  # auth data part 1, filler
        caps = struct.unpack_from("<H", p, i)[0]
        i += 2 + 1 + 2
        caps |= struct.unpack_from("<H", p, i)[0] << 16
        flags = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 |
                 CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS |
                 CLIENT_PLUGIN_AUTH)
        if db:
            flags |= CLIENT_CONNECT_WITH_DB
        flags &= caps | CLIENT_CONNECT_WITH_DB
        resp = struct.pack("<IIB", flags, 1 << 24, 33) + b"\0" * 23
        resp += user.encode() + b"\0" + b"\0"  # empty auth response
        if db:
            resp += db.encode() + b"\0"
        resp += b"mysql_native_password\0"
        self.write_packet(resp)
        while True:
            p = self.read_packet()
            if p[0] == 0x00:
                return
            if p[0] == 0xff:
                self._raise_err(p)
            if p[0] == 0xfe:  # auth switch: a passwordless answer is empty
                self.write_packet(b"")
                continue
            raise HarnessError("unexpected auth packet %r" % p[:20])

    def close(self):
        try:
            self.command(COM_QUIT)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # ---- results ----
    def _read_columns(self, n):
        for _ in range(n):
            self.read_packet()
        p = self.read_packet()
        if p[0] != 0xfe:
            raise HarnessError("expected EOF after column definitions")

    def _read_result(self, binary, ncols_hint=None):
        p = self.read_packet()
        if p[0] == 0x00:
            return []
        if p[0] == 0xff:
            self._raise_err(p)
        ncols, _ = _lenenc_int(p, 0)
        self._read_columns(ncols)
        rows = []
        while True:
            p = self.read_packet()
            if p[0] == 0xfe and len(p) < 9:
                break
            if p[0] == 0xff:
                self._raise_err(p)
            rows.append(self._binary_row(p, ncols) if binary else self._text_row(p, ncols))
        return rows

    @staticmethod
    def _text_row(p, ncols):
        row, i = [], 0
        for _ in range(ncols):
            if p[i] == 0xfb:
                row.append(None)
                i += 1
                continue
            n, i = _lenenc_int(p, i)
            row.append(p[i:i + n].decode("utf-8", "replace"))
            i += n
        return row

    @staticmethod
    def _binary_row(p, ncols):
        # Values are not decoded: tests only count rows.
        return p

    def query(self, sql):
        """COM_QUERY; returns rows (lists of str/None), [] for OK."""
        self.command(COM_QUERY, sql.encode())
        return self._read_result(binary=False)

    def prepare(self, sql):
        """COM_STMT_PREPARE; returns (statement id, number of params)."""
        self.command(COM_STMT_PREPARE, sql.encode())
        p = self.read_packet()
        if p[0] == 0xff:
            self._raise_err(p)
        stmt_id, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        if nparams:
            self._read_columns(nparams)
        if ncols:
            self._read_columns(ncols)
        return stmt_id, nparams

    def execute(self, stmt, *params):
        """COM_STMT_EXECUTE with int/str/None parameters; returns rows."""
        stmt_id, nparams = stmt
        if len(params) != nparams:
            raise HarnessError("statement takes %d parameters" % nparams)
        payload = struct.pack("<IBI", stmt_id, 0, 1)
        if nparams:
            nulls = bytearray((nparams + 7) // 8)
            types, values = b"", b""
            for i, v in enumerate(params):
                if v is None:
                    nulls[i // 8] |= 1 << (i % 8)
                    types += struct.pack("<BB", TYPE_VAR_STRING, 0)
                elif isinstance(v, int):
                    types += struct.pack("<BB", TYPE_LONGLONG, 0)
                    values += struct.pack("<q", v)
                else:
                    types += struct.pack("<BB", TYPE_VAR_STRING, 0)
                    values += _lenenc_bytes(str(v).encode())
            payload += bytes(nulls) + b"\x01" + types + values
        self.command(COM_STMT_EXECUTE, payload)
        return self._read_result(binary=True)

    def close_stmt(self, stmt):
        self.command(COM_STMT_CLOSE, struct.pack("<I", stmt[0]))  # no reply

    def ping(self):
        self.command(COM_PING)
        p = self.read_packet()
        if p[0] != 0x00:
            raise HarnessError("ping: %r" % p[:20])
