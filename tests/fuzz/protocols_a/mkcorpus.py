#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Regenerates the seed corpus from the unit-test fixtures: each fixture
# conversation encoded in the harness's control-byte script.
import os, re, sys
here = os.path.dirname(os.path.abspath(__file__))
fx = os.path.join(here, '..', '..', 'fixtures', 'protocols')

def unescape(s):
    out = bytearray(); i = 0
    while i < len(s):
        c = s[i]; i += 1
        if c != '\\' or i >= len(s):
            out += c.encode('latin-1'); continue
        c = s[i]; i += 1
        if c in 'rnt0\\':
            out += {'r': b'\r', 'n': b'\n', 't': b'\t', '0': b'\0', '\\': b'\\'}[c]
        elif c == 'x':
            out.append(int(s[i:i + 2], 16)); i += 2
        elif c == '[':
            j = s.index(']', i); n = int(s[i:j]); out += s[j + 1].encode('latin-1') * n; i = j + 2
        else:
            out += c.encode('latin-1')
    return bytes(out)

for proto in ('http1', 'redis', 'memcached'):
    for name in sorted(os.listdir(os.path.join(fx, proto))):
        if not name.endswith('.txt'):
            continue
        out = bytearray()
        for line in open(os.path.join(fx, proto, name), encoding='latin-1'):
            line = line.rstrip('\n')
            if not line or line[0] not in '<>':
                continue
            attrs, text = line[1:].split('|', 1)
            data = unescape(text)
            gap = 0
            for a in attrs.split():
                if a.startswith('+'):
                    gap = min(255, int(a[1:]) // 37)
            flow = 0 if line[0] == '>' else 1
            while data:
                piece, data = data[:64], data[64:]
                c = flow | ((len(piece) - 1) << 1)
                if gap and not data:
                    out += bytes([c | 0x80, gap])
                else:
                    out += bytes([c])
                out += piece
        with open(os.path.join(here, 'corpus', proto, name[:-4]), 'wb') as f:
            f.write(out)

# Synthetic memcached seeds past the pending queue (512): too long to keep
# as fixtures, replayed by the harness as they are.
def encode(convo):
    out = bytearray()
    for flow, data in convo:
        while data:
            piece, data = data[:64], data[64:]
            out += bytes([flow | ((len(piece) - 1) << 1)]) + piece
    return bytes(out)

gets = b''.join(b'get k%d\r\n' % i for i in range(600))
ends = b''.join(b'VALUE k%d 0 1\r\nx\r\nEND\r\n' % i if i % 3 else b'END\r\n'
                for i in range(600))
quiet = b''.join(b'mg k%d v q k\r\n' % i for i in range(1000)) + b'mn\r\n'
hits = b''.join(b'VA 1 kk%d\r\nx\r\n' % i for i in range(1000) if i % 3) + b'MN\r\n'
for name, convo in (('deep_pipeline', [(0, gets), (1, ends), (0, b'get a\r\n'), (1, b'END\r\n')]),
                    ('quiet_overflow', [(0, quiet), (1, hits), (0, b'mg a v\r\n'), (1, b'EN\r\n')])):
    with open(os.path.join(here, 'corpus', 'memcached', name), 'wb') as f:
        f.write(encode(convo))
