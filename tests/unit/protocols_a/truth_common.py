# SPDX-License-Identifier: MIT
"""What the ground-truth scripts (truth.py, truth_http.py) share: skipping,
a free port, and a client socket that records its traffic for replay."""
import socket
import struct
import sys


def skip(why):
    print('SKIP: ' + why)
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Recorder:
    """A socket whose traffic is written as replay_tool records; reads
    raise EOFError once the server has closed the connection."""

    def __init__(self, port, out):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.s.settimeout(10)
        self.out = out
        self.buf = b''

    def send(self, data):
        self.out.write(struct.pack('<BI', 0, len(data)) + data)
        self.s.sendall(data)

    def more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError('connection closed')
        self.out.write(struct.pack('<BI', 1, len(d)) + d)
        self.buf += d

    def line(self):
        while b'\r\n' not in self.buf:
            self.more()
        ln, self.buf = self.buf.split(b'\r\n', 1)
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            self.more()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d
