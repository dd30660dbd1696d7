# SPDX-License-Identifier: MIT
"""Processes and cgroups for tests that move servers into cgroups of their
own (the ebpf.cgroups filter, the benchmark's --server-only)."""

import os


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
