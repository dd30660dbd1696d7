#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Ground truth for the cache parsers.

Starts a real redis-server and memcached on 127.0.0.1 (free ports, temp
dirs), drives a seeded random workload (pipelined batches, RESP2 and RESP3,
MULTI/EXEC, meta commands with quiet flags), records every byte sent and
received, replays the recording through the parsers (proto_a_replay, whole
chunks and split at random points) and compares their cache counts with the
servers' own counters: Redis keyspace_hits/keyspace_misses, memcached
get_hits/get_misses. Counts must match exactly.
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


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError('server exited with %d' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('server did not listen on %d' % port)


def resp_value(r):
    ln = r.line()
    t, rest = ln[:1], ln[1:]
    if t in b'+-:,#(_':
        return ln
    if t in b'$!=':
        n = int(rest)
        if n >= 0:
            r.exact(n + 2)
        return ln
    if t in b'*%~>|':
        n = int(rest)
        if t in b'%|':
            n *= 2
        for _ in range(max(n, 0)):
            resp_value(r)
        if t == b'|':
            return resp_value(r)
        return ln
    raise RuntimeError('bad reply %r' % ln)


def resp_cmd(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out


def redis_stats(ctl):
    ctl.sendall(resp_cmd('INFO', 'stats'))
    data = b''
    while True:
        data += ctl.recv(65536)
        if data.startswith(b'$'):
            n = int(data[1:data.index(b'\r\n')])
            if len(data) >= data.index(b'\r\n') + 2 + n + 2:
                break
    txt = data.decode()
    hits = int(txt.split('keyspace_hits:')[1].split('\r')[0])
    misses = int(txt.split('keyspace_misses:')[1].split('\r')[0])
    return hits, misses


def redis_workload(rng, r, resp3):
    """Returns the number of commands sent (= transactions expected)."""
    sent = 0
    if resp3:
        r.send(resp_cmd('HELLO', '3'))
        resp_value(r)
        sent += 1

    def key(prefix, n=10):
        return '%s%d' % (prefix, rng.randrange(n))

    # Reads whose reply shows the key's existence unambiguously on this
    # data set (every set holds x, every zset m, every hash f0-f2, every
    # list a): the rule table's families beyond GET/MGET.
    extra = [
        lambda: resp_cmd('SISMEMBER', key('st'), 'x'),
        lambda: resp_cmd('HEXISTS', key('h'), 'f0'),
        lambda: resp_cmd('ZRANK', key('z'), 'm'),
        lambda: resp_cmd('LINDEX', key('l'), 0),
        lambda: resp_cmd('LPOS', key('l'), 'a'),
        lambda: resp_cmd('ZCOUNT', key('z'), 0, 10),
        lambda: resp_cmd('ZRANGE', key('z'), 0, -1),
        lambda: resp_cmd('SRANDMEMBER', key('st')),
        lambda: resp_cmd('SRANDMEMBER', key('st'), 2),
        lambda: resp_cmd('HRANDFIELD', key('h')),
        lambda: resp_cmd('TOUCH', key('s'), key('h')),
        lambda: resp_cmd('GETRANGE', key('s'), 0, 1),
        lambda: resp_cmd('GETEX', key('s')),
        lambda: resp_cmd('DUMP', key('s')),
        lambda: resp_cmd('OBJECT', 'ENCODING', key('s')),
        lambda: resp_cmd('SORT', key('l'), 'ALPHA'),
        lambda: resp_cmd('HKEYS', key('h')),
        lambda: resp_cmd('ZMSCORE', key('z'), 'm'),
        lambda: resp_cmd('SMISMEMBER', key('st'), 'x'),
        lambda: resp_cmd('EXPIRETIME', key('s')),
        lambda: resp_cmd('LLEN', key('l')),
        lambda: resp_cmd('SCARD', key('st')),
        lambda: resp_cmd('HLEN', key('h')),
        lambda: resp_cmd('ZCARD', key('z')),
        lambda: resp_cmd('PTTL', key('s')),
        lambda: resp_cmd('GETSET', key('s'), 'g'),
    ]

    def one():
        c = rng.randrange(30)
        if c >= 20:
            return [rng.choice(extra)()]
        if c == 0:
            return [resp_cmd('GET', key('s'))]
        if c == 1:
            return [resp_cmd('MGET', *[key('s') for _ in range(rng.randint(1, 6))])]
        if c == 2:
            return [resp_cmd('EXISTS', *[key(rng.choice('shlz')) for _ in range(rng.randint(1, 3))])]
        if c == 3:
            return [resp_cmd('TYPE', key(rng.choice('shl')))]
        if c == 4:
            return [resp_cmd('HGET', key('h'), 'f%d' % rng.randrange(3))]
        if c == 5:
            return [resp_cmd('HMGET', key('h'), 'f0', 'f1')]
        if c == 6:
            return [resp_cmd('HGETALL', key('h'))]
        if c == 7:
            return [resp_cmd('LRANGE', key('l'), 0, -1)]
        if c == 8:
            return [resp_cmd('SMEMBERS', key('st'))]
        if c == 9:
            return [resp_cmd('ZSCORE', key('z'), 'm')]
        if c == 10:
            return [resp_cmd('TTL', key('s'))]
        if c == 11:
            return [resp_cmd('SET', key('s'), 'v%d' % rng.randrange(100))]
        if c == 12:
            return [resp_cmd('DEL', key('s'))]
        if c == 13:
            return [resp_cmd('GET', key('h'))]  # WRONGTYPE: a hit for Redis
        if c == 14:
            return [resp_cmd('STRLEN', key('s'))]
        if c == 15:
            return [resp_cmd('INCR', 'cnt')]
        if c == 16:
            return [b'GET %s\r\n' % key('s').encode()]  # inline
        if c == 17:
            return [resp_cmd('MULTI'), resp_cmd('GET', key('s')),
                    resp_cmd('MGET', key('s'), key('s')), resp_cmd('SET', key('s'), 'x'),
                    resp_cmd('EXEC')]
        if c == 18:
            return [resp_cmd('SET', key('s'), 'y', 'GET')]
        return [resp_cmd('GETDEL', key('s'))]

    for _ in range(150):
        cmds = []
        for _ in range(rng.randint(1, 8)):
            cmds += one()
        data = b''.join(cmds)
        # Writes split where the client's buffer would split them.
        while data:
            n = rng.randint(1, len(data)) if rng.random() < 0.2 else len(data)
            r.send(data[:n])
            data = data[n:]
        for _ in cmds:
            resp_value(r)
        sent += len(cmds)
    return sent


def run_replay(proto, path, seed=0):
    out = subprocess.run([REPLAY, proto, path, str(seed)], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError('replay failed: ' + out.stderr)
    f = out.stdout.split()
    return {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}


def check(name, got, want):
    if got != want:
        print('FAIL %s: parser %s, server %s' % (name, got, want))
        return False
    print('ok   %s: %s' % (name, got))
    return True


def test_redis(tmp):
    exe = shutil.which('redis-server')
    if not exe:
        return None
    port = free_port()
    proc = subprocess.Popen([exe, '--port', str(port), '--bind', '127.0.0.1',
                             '--save', '', '--appendonly', 'no', '--dir', tmp,
                             '--daemonize', 'no'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = True
    try:
        wait_port(port, proc)
        ctl = socket.create_connection(('127.0.0.1', port))
        setup = [resp_cmd('FLUSHALL')]
        for i in range(0, 10, 2):
            setup += [resp_cmd('SET', 's%d' % i, 'val'), resp_cmd('HSET', 'h%d' % i, 'f0', 'a', 'f1', 'b', 'f2', 'c'),
                      resp_cmd('RPUSH', 'l%d' % i, 'a'), resp_cmd('SADD', 'st%d' % i, 'x'),
                      resp_cmd('ZADD', 'z%d' % i, '1', 'm')]
        ctl.sendall(b''.join(setup))
        got = b''
        while got.count(b'\r\n') < len(setup):
            got += ctl.recv(65536)
        h0, m0 = redis_stats(ctl)
        rng = random.Random(20261122)
        paths = []
        sent = 0
        for resp3 in (False, True):
            path = os.path.join(tmp, 'redis%d.rec' % resp3)
            with open(path, 'wb') as out:
                r = Recorder(port, out)
                sent += redis_workload(rng, r, resp3)
                r.s.close()
            paths.append(path)
        h1, m1 = redis_stats(ctl)
        ctl.close()
        for seed in (0, 7, 12345):
            tot = {'txns': 0, 'lookups': 0, 'hits': 0, 'parse_errors': 0, 'desyncs': 0, 'dropped': 0}
            for p in paths:
                res = run_replay('redis', p, seed)
                for k in tot:
                    tot[k] += res[k]
            tag = 'redis seed %d' % seed
            ok &= check(tag + ' hits', tot['hits'], h1 - h0)
            ok &= check(tag + ' lookups', tot['lookups'], (h1 - h0) + (m1 - m0))
            ok &= check(tag + ' txns', tot['txns'], sent)
            ok &= check(tag + ' errors', (tot['parse_errors'], tot['desyncs'], tot['dropped']), (0, 0, 0))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return ok


def mc_stats(ctl):
    ctl.sendall(b'stats\r\n')
    data = b''
    while not data.endswith(b'END\r\n'):
        data += ctl.recv(65536)
    d = {}
    for ln in data.decode().split('\r\n'):
        if ln.startswith('STAT '):
            _, k, v = ln.split(' ', 2)
            d[k] = v
    return int(d['get_hits']), int(d['get_misses'])


def mc_workload(rng, r):
    sent = 0

    def key():
        return 'k%d' % rng.randrange(20)

    def batch(cmds):
        """Sends the commands and an mn (in random pieces), reads to its MN."""
        cmds.append('mn\r\n')
        data = ''.join(cmds).encode()
        while data:
            n = rng.randint(1, len(data)) if rng.random() < 0.2 else len(data)
            r.send(data[:n])
            data = data[n:]
        while not (r.buf.endswith(b'MN\r\n') and (len(r.buf) == 4 or r.buf[-6:-4] == b'\r\n')):
            r.more()
        r.buf = b''
        return len(cmds)

    for _ in range(200):
        cmds = []
        for _ in range(rng.randint(1, 8)):
            c = rng.randrange(12)
            if c == 0:
                cmds.append('get %s\r\n' % ' '.join(key() for _ in range(rng.randint(1, 6))))
            elif c == 1:
                cmds.append('gets %s %s\r\n' % (key(), key()))
            elif c == 2:
                cmds.append('gat 0 %s %s\r\n' % (key(), key()))
            elif c == 3:
                cmds.append('mg %s v\r\n' % key())
            elif c == 4:
                cmds.append('mg %s\r\n' % key())
            elif c == 5:
                cmds.append('mg %s T0 v\r\n' % key())
            elif c == 6:
                cmds.append('mg %s v q k\r\n' % key())
            elif c == 7:
                v = 'x' * rng.randrange(1, 50)
                cmds.append('set %s 0 0 %d\r\n%s\r\n' % (key(), len(v), v))
            elif c == 8:
                cmds.append('delete %s\r\n' % key())
            elif c == 9:
                v = 'y' * rng.randrange(1, 20)
                cmds.append('ms %s %d q\r\n%s\r\n' % (key(), len(v), v))
            elif c == 10:
                cmds.append('md %s q\r\n' % key())
            else:
                cmds.append('touch %s 0\r\n' % key())
        sent += batch(cmds)

    # Deep pipelines, every request pending at once (the parser queues 512):
    # single gets, quiet meta gets with and without k, a mixed bulk.
    mixed = ['get %s\r\n', 'mg %s v q k\r\n', 'mg %s v\r\n', 'mg %s T0 q k\r\n', 'md %s q\r\n']
    for cmds in (['get %s\r\n' % key() for _ in range(300)],
                 ['mg %s v q\r\n' % key() for _ in range(500)],
                 ['mg %s v q k\r\n' % key() for _ in range(500)],
                 [rng.choice(mixed) % key() for _ in range(480)]):
        sent += batch(cmds)
    return sent


def test_memcached(tmp):
    exe = shutil.which('memcached')
    if not exe:
        return None
    port = free_port()
    args = [exe, '-p', str(port), '-l', '127.0.0.1', '-U', '0']
    if os.geteuid() == 0:
        args += ['-u', 'nobody']
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = True
    try:
        wait_port(port, proc)
        ctl = socket.create_connection(('127.0.0.1', port))
        for i in range(0, 20, 2):
            ctl.sendall(b'set k%d 0 0 3\r\nabc\r\n' % i)
            assert ctl.recv(100) == b'STORED\r\n'
        h0, m0 = mc_stats(ctl)
        path = os.path.join(tmp, 'mc.rec')
        with open(path, 'wb') as out:
            r = Recorder(port, out)
            sent = mc_workload(random.Random(42), r)
            r.s.close()
        h1, m1 = mc_stats(ctl)
        ctl.close()
        for seed in (0, 3, 99991):
            res = run_replay('memcached', path, seed)
            tag = 'memcached seed %d' % seed
            ok &= check(tag + ' hits', res['hits'], h1 - h0)
            ok &= check(tag + ' lookups', res['lookups'], (h1 - h0) + (m1 - m0))
            ok &= check(tag + ' txns', res['txns'], sent)
            ok &= check(tag + ' errors', (res['parse_errors'], res['desyncs'], res['dropped']), (0, 0, 0))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return ok


def main():
    if not REPLAY or not os.access(REPLAY, os.X_OK):
        skip('replay tool not given')
    tmp = tempfile.mkdtemp(prefix='sonde-truth-')
    try:
        results = [test_redis(tmp), test_memcached(tmp)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if all(r is None for r in results):
        skip('neither redis-server nor memcached installed')
    if any(r is False for r in results):
        sys.exit(1)
    if any(r is None for r in results):
        print('note: one server missing, its check did not run')


if __name__ == '__main__':
    main()
