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
