# SPDX-License-Identifier: MIT
"""What the ground-truth scripts (truth.py, truth_http.py) share: skipping,
a free port (both from sondetest), and a client socket that records its
traffic for replay."""
import os
import socket
import struct
import sys

# skip and free_port are the integration harness's own
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "integration"))
from sondetest import free_port, skip  # noqa: E402,F401


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
