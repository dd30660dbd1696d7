# SPDX-License-Identifier: MIT
"""Small helpers every integration test needs: ports, temp dirs, waiting."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# Every startup and every wait is bounded: the CI machine has 2 cores
# shared by the whole suite, so generous but finite.
DEFAULT_TIMEOUT = 30.0

SKIP = 77


class HarnessError(RuntimeError):
    """A server or the agent did not behave; the message carries its log."""


def skip(reason):
    """Ends the test as skipped (ctest maps exit 77 to 'skipped')."""
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIP)


def free_port(host="127.0.0.1"):
    """A TCP port that is free now (bound once and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=DEFAULT_TIMEOUT, interval=0.1, what="condition",
               proc=None, log=None):
    """Polls pred() until it returns something truthy; returns that value.

    Fails early when proc (a Popen) exits, and puts the tail of log (a path)
    into the error so the failure explains itself."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - the condition may raise while starting
            last_exc = e
        if proc is not None and proc.poll() is not None:
            raise HarnessError("%s: process exited with %s before %s\n%s" % (
                proc.args[0] if isinstance(proc.args, list) else proc.args,
                proc.returncode, what, tail(log)))
        if time.monotonic() >= deadline:
            raise HarnessError("timed out after %.0fs waiting for %s (last error: %r)\n%s"
                               % (timeout, what, last_exc, tail(log)))
        time.sleep(interval)


def tail(path, n=80):
    """The last n lines of a log file, framed, or '' when there is none."""
    if not path or not os.path.exists(path):
        return ""
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return ""
    return "---- %s (last %d lines) ----\n%s---- end ----" % (
        path, min(n, len(lines)), "".join(lines[-n:]))


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def temp_dir(prefix="sondetest-", keep=None):
    """A temp directory removed afterwards (kept when SONDE_KEEP_TMP=1)."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        if keep is None:
            keep = os.environ.get("SONDE_KEEP_TMP") == "1"
        if keep:
            print("kept temp dir %s" % d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


def proc_status_kb(pid, key):
    """A kB figure of /proc/PID/status (VmRSS, VmHWM), or None."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def stop_process(proc, timeout=10.0, sig_first=None):
    """SIGTERM (or sig_first), wait, then SIGKILL the process group."""
    import signal
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc is not None else None
    sig = sig_first if sig_first is not None else signal.SIGTERM
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    return proc.wait(timeout=timeout)


def run(cmd, timeout=60, check=True, input=None, env=None, user=None, cwd=None):
    """Runs a command, returns stdout (text); raises with stderr on failure."""
    if user is not None:
        cmd = ["runuser", "-u", user, "--"] + list(cmd)
    p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=cwd)
    if check and p.returncode != 0:
        raise HarnessError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(cmd), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p.stdout


@contextlib.contextmanager
def locked(path):
    """Holds an exclusive lock on the file `path` (flock; created if
    missing): one process at a time, across processes, in the block."""
    import fcntl
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# scripts/lowprio.sh: a command at the lowest priority in its own session
LOWPRIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                       os.pardir, "scripts", "lowprio.sh")


def run_background(cmd, timeout, env=None):
    """A CPU-bound command (a compile) at the lowest priority
    (scripts/lowprio.sh), in a session of its own so that the whole
    process group is killed at the timeout; returns the completed process
    (stdout and stderr text)."""
    import signal
    p = subprocess.Popen([os.path.normpath(LOWPRIO)] + list(cmd), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL,
                         start_new_session=True, preexec_fn=die_with_parent)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise HarnessError("%s: not done after %d s" % (" ".join(cmd), timeout))
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def https_connection(port, host="127.0.0.1"):
    """An http.client HTTPS connection that takes the self-signed
    certificates the test servers make for their run."""
    import http.client
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(host, port, timeout=10, context=ctx)


def which(name, extra_dirs=()):
    p = shutil.which(name)
    if p:
        return p
    for d in extra_dirs:
        c = os.path.join(d, name)
        if os.access(c, os.X_OK):
            return c
    return None


class Checks:
    """Collects named assertions so one run reports every mismatch, then
    ends with an 'N passed, N failed' line and the exit status. `prefix`
    goes before each name (a phase run several ways)."""

    # Timing comparisons (a latency against a server's own) hold on a real
    # CPU. Under software emulation (SONDE_TEST_EMULATED=1: the run inside
    # Debian's kernel under qemu, test_ebpf_debian_kernel) time stretches
    # unevenly, so there they are printed and not asserted; the same tests
    # assert them natively in the same suite.
    EMULATED = os.environ.get("SONDE_TEST_EMULATED") == "1"

    def __init__(self):
        self.passed = 0
        self.failed = []
        self.prefix = ""
        self.unasserted = 0

    def _say(self, tag, what, detail):
        print("%s: %s%s" % (tag, what, (" (%s)" % detail) if detail else ""), flush=True)

    def __call__(self, cond, what, detail=""):
        what = self.prefix + what
        self._say("ok" if cond else "FAIL", what, detail)
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
        return cond

    def equal(self, got, want, what):
        return self(got == want, what, "got %r, want %r" % (got, want))

    def close(self, got, want, rel, absolute, what, timing=False):
        ok = abs(got - want) <= max(rel * abs(want), absolute)
        return (self.timing if timing else self)(
            ok, what, "got %.6g, want %.6g, tolerance max(%g%%, %g)" % (got, want, rel * 100, absolute))

    def timing(self, cond, what, detail=""):
        """A check of elapsed time: asserted unless the CPU is emulated."""
        if not self.EMULATED:
            return self(cond, what, detail)
        self.unasserted += 1
        self._say("not asserted (emulated CPU)", self.prefix + what, detail)
        return True

    def exit(self):
        if self.unasserted:
            print("%d timing checks not asserted (emulated CPU)" % self.unasserted, flush=True)
        print("%d passed, %d failed" % (self.passed, len(self.failed)), flush=True)
        sys.exit(1 if self.failed else 0)


def _load_prctl():
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved once here: the child side of fork must not import or load anything.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn: servers run in their own session (so that stop can kill
    the whole group), which also shields them from a test runner that kills
    the test; PR_SET_PDEATHSIG makes them die with the test instead of
    leaking."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, 9)
