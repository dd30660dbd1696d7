# SPDX-License-Identifier: MIT
"""Processes and cgroups for tests that move servers into cgroups of their
own (the ebpf.cgroups filter, the benchmark's --server-only)."""

import contextlib
import os
import subprocess


def v2_root():
    """The cgroup v2 hierarchy: /sys/fs/cgroup (unified) or its unified/
    (hybrid); None without one."""
    for d in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(d, "cgroup.controllers")):
            return d
    return None


def children(pid):
    """The pids pid forked, over all its threads ([] once it is gone)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def tree_pids(pid):
    """pid and every process below it."""
    return [pid] + [p for c in children(pid) for p in tree_pids(c)]


def move(pids, cgdir):
    """Moves each pid into the cgroup directory cgdir."""
    for p in pids:
        with open(os.path.join(cgdir, "cgroup.procs"), "w") as f:
            f.write(str(p))


@contextlib.contextmanager
def scratch(tag):
    """A cgroup of the test's own under the v2 root: yields (its path
    relative to the root, as ebpf.cgroups takes it; its directory), or
    (None, None) without cgroup v2. What is left in it goes back to the
    root before it is removed."""
    root = v2_root()
    if not root:
        yield None, None
        return
    cgdir = os.path.join(root, "sonde-test-%s-%d" % (tag, os.getpid()))
    os.mkdir(cgdir)
    try:
        yield os.path.relpath(cgdir, root), cgdir
    finally:
        with open(os.path.join(cgdir, "cgroup.procs")) as f:
            left = [int(p) for p in f.read().split()]
        for p in left:
            try:
                move([p], root)
            except ProcessLookupError:
                pass
        os.rmdir(cgdir)


def run_in(cgdir, cmd, **kw):
    """subprocess.run(cmd) with the process in cgdir from its start (it
    moves itself there, then execs); cgdir None: where the caller is."""
    if cgdir is None:
        return subprocess.run(cmd, **kw)
    return subprocess.run(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgdir] +
                          list(cmd), **kw)
