# SPDX-License-Identifier: MIT
"""sslclient.c built with OpenSSL linked into it (Debian's libssl.a and
libcrypto.a, from libssl-dev), exported like the official Node.js builds
do (-rdynamic) or only in its symbol table, and Node.js when the machine's
is such a build: programs whose TLS no shared libssl carries."""

import os
import re
import shutil
import subprocess
import sys

from .util import HarnessError, https_connection

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sslclient.c")


def build(directory, name, exported):
    """Path of sslclient built into directory as name; fails (not skips)
    without libssl.a: the test packages were not installed."""
    out = os.path.join(directory, name)
    cmd = ["cc", "-O2", "-D_GNU_SOURCE", "-o", out, SRC] + (["-rdynamic"] if exported else []) + \
        ["-Wl,-Bstatic", "-lssl", "-lcrypto", "-Wl,-Bdynamic", "-ldl", "-lpthread"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode:
        raise HarnessError("building %s failed (scripts/deps.sh test installs libssl-dev): %s"
                           % (name, p.stderr[-2000:]))
    return out


def counts(out):
    m = re.match(r"200 (\d+) 404 (\d+)", out.strip())
    if not m:
        raise HarnessError("sslclient said %r" % out)
    return {k: int(v) for k, v in (("200", m.group(1)), ("404", m.group(2))) if int(v)}


def get(exe, port, n):
    """Runs exe against 127.0.0.1:port for n requests; its status counts."""
    p = subprocess.run([exe, str(port), str(n)], capture_output=True, text=True, timeout=60)
    if p.returncode:
        raise HarnessError("%s exited %d: %s" % (exe, p.returncode, p.stderr[-1000:]))
    return counts(p.stdout)


def start_waiting(exe, port, n):
    """exe started and waiting for a line on its stdin before it connects."""
    return subprocess.Popen([exe, str(port), str(n), "wait"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def finish(proc):
    out, _ = proc.communicate("go\n", timeout=60)
    if proc.returncode:
        raise HarnessError("sslclient exited %d" % proc.returncode)
    return counts(out)


def node_with_openssl():
    """The node command when OpenSSL is linked into it (official and
    NodeSource builds), else None with the reason."""
    node = shutil.which("node")
    if not node:
        return None, "no node command"
    node = os.path.realpath(node)
    p = subprocess.run(["nm", "-D", "--defined-only", node], capture_output=True, text=True)
    if not re.search(r" T SSL_read$", p.stdout, re.M):
        return None, "%s does not have OpenSSL linked in (Debian's uses the shared libssl)" % node
    return node, None


NODE_CLIENT = r"""
const https = require('https');
const [port, n] = process.argv.slice(1).map(Number);  // node -e: no script path
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const codes = {};
function one(i) {
  return new Promise((res, rej) => {
    https.get({ host: '127.0.0.1', port, path: i % 3 == 2 ? '/missing' : '/ok', agent,
                rejectUnauthorized: false }, r => {
      r.resume();
      r.on('end', () => { codes[r.statusCode] = (codes[r.statusCode] || 0) + 1; res(); });
    }).on('error', rej);
  });
}
(async () => {
  for (let i = 0; i < n; i++) await one(i);
  agent.destroy();
  console.log('200 ' + (codes[200] || 0) + ' 404 ' + (codes[404] || 0));
})();
"""


def node_get(node, port, n):
    p = subprocess.run([node, "-e", NODE_CLIENT, str(port), str(n)], capture_output=True,
                       text=True, timeout=60)
    if p.returncode:
        raise HarnessError("node exited %d: %s" % (p.returncode, p.stderr[-1000:]))
    got = counts(p.stdout)
    if sum(got.values()) != n:
        raise HarnessError("node answered %r of %d requests" % (got, n))
    return got


NODE_SERVER = r"""
const https = require('https'), fs = require('fs');
const [port, cert, key] = process.argv.slice(1);  // node -e: no script path
https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  const missing = req.url.startsWith('/missing');
  res.writeHead(missing ? 404 : 200, { 'Content-Type': 'text/plain' });
  res.end(missing ? 'no\n' : 'ok\n');
}).listen(Number(port), '127.0.0.1', () => console.log('listening'));
"""


def node_server(node, port, cert, key):
    """node serving HTTPS on 127.0.0.1:port (200 ok, 404 for /missing),
    returned once it listens; the caller stops it."""
    p = subprocess.Popen([node, "-e", NODE_SERVER, str(port), cert, key],
                         stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "listening":
        p.kill()
        p.wait()
        raise HarnessError("node's HTTPS server did not start")
    return p


def python_mix(port, n):
    """n requests (every third for /missing) from this process's ssl
    module (libssl) on one keep-alive HTTPS connection to 127.0.0.1:port;
    the statuses it got."""
    c = https_connection(port)
    got = {}
    for i in range(n):
        c.request("GET", "/missing" if i % 3 == 2 else "/ok")
        r = c.getresponse()
        r.read()
        got[str(r.status)] = got.get(str(r.status), 0) + 1
    c.close()
    return got


# A python process with one connection of 1 request, then, after a line on
# its stdin, one of n: argv = harness dir, port, n.
TWO_CONNS = r"""
import sys
sys.path.insert(0, sys.argv[1])
from sondetest.sslprogs import python_mix
python_mix(int(sys.argv[2]), 1)
sys.stdin.readline()
g = python_mix(int(sys.argv[2]), int(sys.argv[3]))
print("200 %d 404 %d" % (g.get("200", 0), g.get("404", 0)))
"""


def two_conns(port, n, env=None, prefix=()):
    """python running TWO_CONNS (under the command prefix, with env)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.Popen(list(prefix) + [sys.executable, "-c", TWO_CONNS, here, str(port),
                                            str(n)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
