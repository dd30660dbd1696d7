#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus: HTTP/2 conversations after the client preface
# (fuzz_http2.c feeds it), in the harness's control-byte script: a control
# byte (bit 0 the flow, bits 1-6 the chunk length - 1), then the chunk.
import os
here = os.path.dirname(os.path.abspath(__file__))
REQ, RESP = 0, 1


def frame(t, flags, stream, payload):
    n = len(payload)
    return bytes([n >> 16, (n >> 8) & 255, n & 255, t, flags]) + stream.to_bytes(4, 'big') + payload


def lit(name, value, first=0x00):
    return bytes([first, len(name)]) + name + bytes([len(value)]) + value


def script(chunks):
    out = bytearray()
    for flow, data in chunks:
        for i in range(0, len(data), 64):
            part = data[i:i + 64]
            out.append(((len(part) - 1) << 1) | flow)
            out += part
    return bytes(out)


def get(stream, path, idx=False):
    block = b'\x82' + lit(b':path', path, 0x40 if idx else 0) + lit(b':authority', b'h:8443')
    return frame(1, 0x5, stream, block)


settings = frame(4, 0, 0, b'\x00\x01\x00\x00\x10\x00')
seeds = {
    'one': [(REQ, settings + get(1, b'/a')), (RESP, settings + frame(1, 4, 1, b'\x88')
                                               + frame(0, 1, 1, b'hello'))],
    'multiplexed': [(REQ, get(1, b'/1') + get(3, b'/3', True) + frame(1, 5, 5, b'\x82\xbe')),
                    (RESP, frame(1, 5, 3, lit(b':status', b'404', 0x40)) + frame(1, 5, 1, b'\xbe')
                     + frame(1, 4, 5, b'\x88') + frame(0, 1, 5, b'x' * 40))],
    'continuation': [(REQ, frame(1, 0x28, 1, b'\x02\x80\x00\x00\x01\x10\x83' + b'\x00\x00')
                      + frame(9, 4, 1, lit(b':path', b'/up'))),
                     (RESP, frame(1, 4, 1, lit(b':status', b'103')) + frame(1, 4, 1, b'\x88')
                      + frame(0, 0, 1, b'data') + frame(1, 5, 1, lit(b'grpc-status', b'0')))],
    'reset_push': [(REQ, get(1, b'/r') + frame(3, 0, 1, b'\x00\x00\x00\x08') + get(3, b'/p')),
                   (RESP, frame(5, 4, 3, b'\x00\x00\x00\x02' + b'\x82' + lit(b':path', b'/pushed'))
                    + frame(1, 5, 3, b'\x88'))],
}
os.makedirs(os.path.join(here, 'corpus'), exist_ok=True)
for name, chunks in seeds.items():
    with open(os.path.join(here, 'corpus', name), 'wb') as f:
        f.write(script(chunks))
