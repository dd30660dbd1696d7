#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The eBPF probe on the kernels Debian hosts run, not only on this
machine's: each release's kernel package (linux-image-amd64: 6.1 on Debian
12, 6.12 on Debian 13, 5.10 on Debian 11) is downloaded, booted under qemu
(sondetest/guestkernel.py) on this machine's files, and the eBPF
integration tests below run inside it with the sonde under test,
unchanged. Each must pass there as here: the kernel's verifier accepts
every program the agent loads, the syscall hooks attach, and the counts
equal the servers' own (nginx's log, the clients).

Why: the test machines run a newer kernel (6.18) whose verifier follows
more branch facts than 6.1's, and a kernel without Debian's patches. A probe
built and tested only there was refused whole by 6.1's verifier (13 of 26
programs: "R8 invalid mem access 'scalar'" on a path that cannot happen), so
eBPF was off on every Debian 12 host; and under the systemd unit's
capabilities its classic tracepoints could not attach there (Debian's
perf_event_paranoid 3 keeps perf_event_open from anyone without
CAP_SYS_ADMIN). 5.10 (Debian 11, and the 5.x kernels of other LTS
distributions) refused the whole object: it lacks bpf_loop, pointer
arguments to global functions, bpf_get_current_task_btf, and it counts
BPF maps against RLIMIT_MEMLOCK. No test on this machine could see any of
it.

SONDE_KERNEL_SUITES (space-separated Debian codenames) replaces the list of
releases, SONDE_KERNEL_TESTS (space-separated file names) the list of inner
tests (for each release), SONDE_KERNEL_TIMEOUT (seconds) the time they get
per release; the kernel packages are kept in SONDE_KERNEL_CACHE (default
test-cache/ next to the sonde binary) between runs.
"""

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sondetest import (Checks, HarnessError, ebpf, skip, sonde_bin, temp_dir,  # noqa: E402
                       test_cache)
from sondetest import guestkernel  # noqa: E402

ebpf.require()
why = guestkernel.missing()
if why:
    skip("cannot boot Debian's kernel: " + why)

# Each release's kernel, with the tests run in it.
# Debian 12 (6.1): the kernel's side of every hook the agent has: the
# tp_btf raw tracepoint and the per-syscall tracepoints, each loaded and
# counting (smoke, tls), the privilege check (smoke), the agent with the
# systemd unit's capabilities only, under Debian's perf_event_paranoid 3
# (unit_caps), libssl's uprobes and uretprobes with read/write under them
# (tls: the phases SONDE_TLS_PHASES names below). The parsers above them are
# the same code on every kernel: their tests run natively only. About 4
# minutes here; the other eBPF tests were
# run in it by hand (docs/parts/ebpf-ARCH.md, "Kernels"; test_ebpf_nginx
# was in this list until 2026-12-07, taken out for CI time).
# Debian 13 (6.12), the current stable release: both hook kinds and the
# unit's capabilities (smoke, unit_caps). About 2 minutes; tls was run in it
# by hand. Its package compresses its modules (.ko.xz) and puts them under
# /usr (guestkernel handles both).
# Debian 11 (5.10), the oldest kernel the probe supports: the raw
# tracepoint counting and the per-syscall ones refused with the reason
# (smoke), the unit's LimitMEMLOCK (unit_caps). About 2 minutes; nginx and
# tls were run in it by hand.
KERNELS = {
    "bookworm": ("test_ebpf_smoke.py", "test_ebpf_unit_caps.py", "test_ebpf_tls.py"),
    "trixie": ("test_ebpf_smoke.py", "test_ebpf_unit_caps.py"),
    "bullseye": ("test_ebpf_smoke.py", "test_ebpf_unit_caps.py"),
}
# Time for them under software emulation, with room.
GUEST_TIMEOUT = int(os.environ.get("SONDE_KERNEL_TIMEOUT", "1500"))

here = os.path.dirname(os.path.abspath(__file__))
suites = os.environ.get("SONDE_KERNEL_SUITES", " ".join(KERNELS)).split()
cache = os.environ.get("SONDE_KERNEL_CACHE") or test_cache("kernel")
check = Checks()

# The inner tests' environment: this one's, with the sonde under test copied
# to the result folder (the guest sees it there, whatever happens to the
# build meanwhile) and timing checks not asserted (sondetest.util.Checks).
env = {
    "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    "HOME": os.environ.get("HOME", "/root"),
    "LANG": "C.UTF-8",
    "SONDE_BIN": "/guest-share/sonde",
    "SONDE_TEST_EMULATED": "1",
    # the phases whose kernel side differs: libssl's uprobes under the raw
    # tracepoint, and attached to listed processes only; the others differ
    # in the agent only (CI time: 256 -> ~150 s in the guest)
    "SONDE_TLS_PHASES": os.environ.get("SONDE_TLS_PHASES", "raw/internal pids"),
}
for k in ("SONDE_SRC", "SONDE_BUILD"):
    if k in os.environ:
        env[k] = os.environ[k]


def keep_console(release, console):
    """The console of a guest that never finished (a panic, a hang): its
    end for the FAIL line, the whole of it kept in the build folder."""
    path = os.path.join(os.environ.get("SONDE_BUILD") or os.getcwd(),
                        "guest-console-%s.log" % release)
    try:
        with open(path, "w") as f:
            f.write(console)
        kept = "whole console (%d bytes) in %s" % (len(console), path)
    except OSError as e:
        kept = "the console could not be kept in %s: %s" % (path, e)
    return "%s; its end:\n%s" % (kept, console[-12000:])


def guest(suite, tests):
    """Boots `suite`'s kernel and checks that each of `tests` passes in it."""
    try:
        release, vmlinuz, modules = guestkernel.fetch(os.path.join(cache, suite), suite)
    except HarnessError as e:
        check(False, "Debian %s's kernel package fetched" % suite, str(e))
        return
    print("kernel under test: %s (Debian %s: %s), this machine: %s"
          % (release, suite, vmlinuz, os.uname().release), flush=True)
    lines = ["cd %s" % here]
    lines += ["export %s='%s'" % (k, v.replace("'", "")) for k, v in sorted(env.items())]
    for t in tests:
        lines.append("s=$(date +%%s); python3 %s/%s > /guest-share/%s.log 2>&1; "
                     "echo $? > /guest-share/%s.rc; echo $(($(date +%%s) - s)) > /guest-share/%s.s"
                     % (here, t, t, t, t))
    script = "\n".join(lines) + "\n"
    with temp_dir("sonde-kernel-") as work:
        share = os.path.join(work, "share")
        os.makedirs(share)
        shutil.copy(sonde_bin(), os.path.join(share, "sonde"))
        initrd = guestkernel.initramfs(modules, work)
        rc, uname, console = guestkernel.boot(release, vmlinuz, modules, initrd, share, script,
                                              GUEST_TIMEOUT)
        check(rc is not None, "%s: the guest ran the tests and powered off" % release,
              "" if rc is not None else keep_console(release, console))
        check.equal(uname, release, "the tests ran on the package's kernel (uname -r in the "
                    "guest)")
        for t in tests:
            out = guestkernel.result(share, t + ".log") or ""
            trc = guestkernel.status(share, t + ".rc")
            print("----- %s on %s (%s s in the guest) -----\n%s----- end of %s -----"
                  % (t, release, guestkernel.status(share, t + ".s"), out, t), flush=True)
            m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
            check(trc == 0 and m is not None and int(m.group(1)) > 0 and m.group(2) == "0",
                  "%s passes on %s" % (t, release),
                  "exit %s, %s" % (trc, m.group(0) if m else "no summary line"))


for suite in suites:
    if suite not in KERNELS and "SONDE_KERNEL_TESTS" not in os.environ:
        check(False, "Debian %s is a release this test knows (%s), or SONDE_KERNEL_TESTS "
              "names the tests" % (suite, " ".join(KERNELS)))
        continue
    guest(suite, os.environ.get("SONDE_KERNEL_TESTS", " ".join(KERNELS.get(suite, ()))).split())

check.exit()
