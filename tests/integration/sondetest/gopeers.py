# SPDX-License-Identifier: MIT
"""gopeer.go and gogrpcpeer.go built with Debian's go (golang-go, and
gRPC-Go from golang-google-grpc-dev, installed for them by scripts/deps.sh
test) into a temporary directory, run as HTTPS or gRPC servers and
clients, for the agent's hooks on Go's own crypto/tls."""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess

from . import debarchive
from .cgroups import run_in
from .agent import test_cache
from .util import HarnessError, locked, run, run_background, stop_process

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gopeer.go")
GRPC_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gogrpcpeer.go")
# where Debian's golang-*-dev packages put their sources
DEBIAN_GOPATH = "/usr/share/gocode"


def build(name="gopeer", ldflags="", pie=False, src=SRC, go=None):
    """Path of gopeer built static, or with pie a position-independent
    executable linked with libc (cgo); `go`: another toolchain's go
    command (newer_go) instead of Debian's. Fails (not skips) when there
    is no go: the test packages were not installed.

    Kept in test_cache("gopeers") under a key of what goes into it (the
    go command's file, the source, the flags), with the Go build caches:
    scripts/test.sh builds them ahead (`python3 -m sondetest.gopeers`, in
    the background at the lowest priority), and a build of the same key
    in progress there is waited for, not done twice. Debian's gRPC-Go
    sources (DEBIAN_GOPATH) are not in the key: delete the folder after
    upgrading them."""
    if not go:
        go = shutil.which("go")
        if not go:
            raise HarnessError("no go command (scripts/deps.sh test installs golang-go)")
    go = os.path.realpath(go)
    st = os.stat(go)
    with open(src, "rb") as f:
        key = hashlib.sha256(repr((go, st.st_size, st.st_mtime_ns, ldflags, pie)).encode() +
                             f.read()).hexdigest()[:16]
    cache = test_cache("gopeers")
    out = os.path.join(cache, key, name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with locked(out + ".lock"):
        if os.access(out, os.X_OK):
            return out
        goroot = os.path.dirname(os.path.dirname(go))
        env = dict(os.environ, GOROOT=goroot,
                   GOCACHE=os.path.join(cache, "gocache-%s-%s" % (
                       os.path.basename(goroot), hashlib.sha256(goroot.encode()).hexdigest()[:8])),
                   GOPATH=os.path.join(cache, "gopath") + ":" + DEBIAN_GOPATH,
                   GO111MODULE="off", GOTOOLCHAIN="local",
                   GOFLAGS="", CGO_ENABLED="1" if pie else "0", HOME=cache)
        cmd = ([go, "build", "-o", out + ".new"] + (["-ldflags", ldflags] if ldflags else []) +
               (["-buildmode=pie"] if pie else []) + [src])
        # at the lowest priority: a compile is CPU-bound, and the tests that
        # run meanwhile (scripts/test.sh's build ahead) count and time things
        p = run_background(cmd, timeout=900, env=env)
        if p.returncode:
            raise HarnessError("go build failed: %s" % p.stderr[-2000:])
        os.rename(out + ".new", out)
    return out


def debian12_builds():
    """(gopeer, gopeer stripped, gogrpcpeer) built with Debian 12's Go."""
    return build(), build("gopeer-stripped", ldflags="-s -w"), build("gogrpcpeer", src=GRPC_SRC)


def newer_builds():
    """((version, gopeer, gopeer stripped) with the newest Go Debian
    packages, both position-independent and linked with libc (cgo), as
    distributions build Go programs; (version, gopeer stripped) with
    Debian 13's own Go), each Go fetched (newer_go)."""
    go, version = newer_go(test_cache("go"))
    newest = (version, build("gopeer-go" + version, pie=True, go=go),
              build("gopeer-go%s-stripped" % version, ldflags="-s -w", pie=True, go=go))
    go, version = newer_go(test_cache("go-debian13"), DEBIAN13_GO_DISTS)
    return newest, (version, build("gopeer-go%s-stripped" % version, ldflags="-s -w", go=go))


# Debian 13 and its backports: the newest Go Debian packages (1.27 on
# 2026-12-07; Debian 12's backports stop at 1.23). Its go command is
# linked statically, so it runs on Debian 12 as well.
NEWER_GO_DISTS = ("trixie", "trixie-backports")
# Debian 13's own Go (1.24 for its lifetime): what its golang-go builds
DEBIAN13_GO_DISTS = ("trixie",)


def newer_go(cache, dists=NEWER_GO_DISTS):
    """(the go command, its version) of the newest Go in the Debian suites
    `dists` (golang-1.N-go and its -src, unpacked under `cache`, kept
    across runs, not installed): Debian 12's own Go is 1.19, and most Go
    programs hosts run are built with a newer one. One version per
    `cache`: an older one found there is removed."""
    cache = os.path.abspath(cache)
    os.makedirs(cache, exist_ok=True)
    with locked(os.path.join(cache, ".lock")):  # test.sh's build ahead may be at it
        return _newer_go(cache, dists)


def _newer_go(cache, dists):
    apt = debarchive.apt_options(cache, list(dists))
    found = []
    for pkg in debarchive.packages(r"^golang-1\.[0-9]+-go$", apt):
        m = re.match(r"golang-1\.(\d+)-go$", pkg)
        if m:
            found.append((int(m.group(1)), pkg))
    if not found:
        raise HarnessError("%s: no golang-1.N-go package" % " ".join(dists))
    minor, pkg = max(found)
    version = "1.%d" % minor
    root = os.path.join(cache, "go-" + version)
    go = os.path.join(root, "usr", "lib", "go-" + version, "bin", "go")
    if not os.path.exists(os.path.join(root, "complete")):
        shutil.rmtree(root, ignore_errors=True)
        for p in (pkg, "golang-%s-src" % version):  # the standard library's sources
            run(["dpkg-deb", "-x", debarchive.download(p, cache, apt), root], timeout=600)
        if not os.access(go, os.X_OK):
            raise HarnessError("%s unpacked with no %s" % (pkg, go))
        open(os.path.join(root, "complete"), "w").close()
    for entry in os.listdir(cache):  # what an older newest Go left
        if entry.startswith("go-") and entry != "go-" + version:
            shutil.rmtree(os.path.join(cache, entry), ignore_errors=True)
        elif entry.endswith(".deb") and "-%s-" % version not in entry:
            os.unlink(os.path.join(cache, entry))
    return go, version


def hide_function_table(exe, out):
    """A copy of exe whose function table's section is renamed
    (".gopclntab" -> ".xopclntab" in the section names): the program runs
    as before (the runtime finds its table by pointer, not by section),
    but it can no longer be found in the file."""
    data = bytearray(open(exe, "rb").read())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    strtab = shoff + shstrndx * shentsize
    off, size = struct.unpack_from("<QQ", data, strtab + 0x18)
    at = data.find(b"gopclntab\0", off, off + size)
    if at < 0:
        raise HarnessError("%s: no gopclntab section name" % exe)
    data[at:at + 1] = b"x"
    with open(out, "wb") as f:
        f.write(data)
    os.chmod(out, 0o755)
    return out


class Server:
    """`with Server(exe, cert, key, "h1"|"h2"[, port]) as port:` gopeer
    serving HTTPS on a loopback port (free if not given), stopped after."""

    def __init__(self, exe, cert, key, proto, port=0):
        self.cmd = [exe, "serve", cert, key, proto, str(port)]
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            stop_process(self.proc)
            raise HarnessError("Go HTTPS server did not start: %r" % line)
        return int(line)  # 0 on a unix socket

    def __exit__(self, *exc):
        stop_process(self.proc)


def _client(cmd, what, cgdir=None):
    """The JSON a client run prints (in the cgroup directory cgdir if given)."""
    p = run_in(cgdir, cmd, capture_output=True, text=True, timeout=120)
    if p.returncode:
        raise HarnessError("%s failed: %s" % (what, p.stderr[-2000:]))
    return json.loads(p.stdout)


def call_grpc(exe, port, plan):
    """{"method STATUS": count} of gogrpcpeer's calls, the plan on one
    connection."""
    return _client([exe, "call", str(port), json.dumps(plan)], "Go gRPC client")["counts"]


def get(exe, base, plan, proto, conns=1, cgdir=None):
    """{status: count} of gopeer's requests: the plan on conns connections
    (base "unix:PATH": over that socket), in the cgroup directory cgdir if
    given."""
    return _client([exe, "get", base, json.dumps(plan), proto, str(conns)],
                   "Go HTTPS client", cgdir)


if __name__ == "__main__":
    # scripts/test.sh: every build test_ebpf_gotls uses, ahead of it
    debian12_builds()
    newer_builds()
