#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rotation torture: a writer appends numbered lines at >= 50,000 lines/s
while its file is rotated by rename+create, delete+recreate and
copytruncate, and the agent is restarted (SIGTERM, SIGKILL) in the middle.
The agent's debug_dump shows which lines it delivered: every number must be
there exactly once, except where the documented bounds allow otherwise
(copytruncate: only lines just before a truncate may be lost; SIGKILL: only
lines read since the last checkpoint may be read twice)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

RATE = 60000           # lines per second
COUNT = 150000         # lines per phase (2.5 s)
ROTATE_EVERY = 20000   # a rotation every 1/3 s
CHECKPOINT_S = 1.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Agent:
    def __init__(self, binary, config, logdir):
        self.binary, self.config, self.logdir = binary, config, logdir
        self.proc = None
        self.runs = 0

    def start(self):
        self.runs += 1
        log = open(os.path.join(self.logdir, "agent.%d.log" % self.runs), "w")
        self.proc = subprocess.Popen([self.binary, "--config", self.config],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def stop(self, sig=signal.SIGTERM):
        if not self.proc:
            return
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("agent did not stop within 20 s")
        self.proc = None
        with open(os.path.join(self.logdir, "agent.%d.log" % self.runs),
                  errors="replace") as f:
            log = f.read()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if bad in log:
                raise AssertionError("agent run %d: %s\n%s" % (
                    self.runs, bad, log[-4000:]))
        if sig == signal.SIGTERM and rc != 0:
            raise AssertionError("agent exited %d on SIGTERM:\n%s" % (
                rc, log[-4000:]))


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        return r.read().decode()


def metric(text, name, **labels):
    total = None
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if any('%s="%s"' % (k, v) not in line for k, v in labels.items()):
            continue
        total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total


def wait_metrics(port, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        try:
            return metrics(port)
        except OSError:
            time.sleep(0.05)
    raise AssertionError("no /metrics on port %d" % port)


def dump_counts(path, prefix):
    counts = {}
    if not os.path.exists(path):
        return counts
    pat = re.compile(r"^%s (\d+) " % prefix)
    with open(path, errors="replace") as f:
        for line in f:
            m = pat.match(line)
            if m:
                n = int(m.group(1))
                counts[n] = counts.get(n, 0) + 1
    return counts


def wait_delivered(dump, prefix, expect, timeout=20):
    """Waits until `expect` distinct numbers are seen or nothing changes."""
    end = time.time() + timeout
    last, stable = -1, 0
    while time.time() < end:
        c = dump_counts(dump, prefix)
        if len(c) >= expect:
            return c
        stable = stable + 1 if len(c) == last else 0
        if stable >= 15:   # 3 s without progress
            return c
        last = len(c)
        time.sleep(0.2)
    return dump_counts(dump, prefix)


def run_writer(writer, path, mode, prefix, count=COUNT):
    return subprocess.Popen([writer, path, mode, prefix, "0", str(count),
                             str(RATE), str(ROTATE_EVERY), "40"],
                            stdout=subprocess.PIPE, text=True)


def finish_writer(w):
    out, _ = w.communicate(timeout=60)
    assert w.returncode == 0, "writer failed"
    rot = [int(m.group(1)) for m in re.finditer(r"^rotate \S+ (\d+)$", out, re.M)]
    done = re.search(r"^done (\d+) ([\d.]+)$", out, re.M)
    rate = int(done.group(1)) / float(done.group(2))
    return rot, rate


def describe(missing):
    runs, start, prev = [], None, None
    for n in sorted(missing):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            runs.append((start, prev))
            start = prev = n
    if start is not None:
        runs.append((start, prev))
    return runs


def check_exact(name, counts, count):
    missing = [n for n in range(count) if n not in counts]
    dups = [n for n, c in counts.items() if c > 1]
    extra = [n for n in counts if n >= count]
    assert not extra, "%s: numbers never written: %s" % (name, extra[:5])
    assert not missing, "%s: %d lines lost, runs %s" % (
        name, len(missing), describe(missing)[:5])
    assert not dups, "%s: %d lines duplicated, runs %s" % (
        name, len(dups), describe(dups)[:5])
    print("%s: all %d lines exactly once" % (name, count))


def main():
    sonde = os.environ.get("SONDE_BIN")
    build = os.environ.get("SONDE_BUILD")
    if not sonde or not build:
        print("SKIP: SONDE_BIN/SONDE_BUILD not set")
        return 77
    writer = os.path.join(build, "probes", "logs", "sonde_logs_writer")
    if not os.access(writer, os.X_OK):
        print("SKIP: %s not built" % writer)
        return 77
    tmp = tempfile.mkdtemp(prefix="sonde-rot-")
    port = free_port()
    dump = os.path.join(tmp, "dump")
    phases = ["rename", "delete", "copytruncate", "kill"]
    for p in phases:
        os.mkdir(os.path.join(tmp, p))
    cfg = os.path.join(tmp, "sonde.yaml")
    with open(cfg, "w") as f:
        f.write('prometheus:\n  listen: "127.0.0.1:%d"\n' % port)
        f.write("logs:\n  state_dir: %s/state\n" % tmp)
        f.write("  checkpoint_interval: %dms\n" % int(CHECKPOINT_S * 1000))
        f.write("  poll_interval: 250ms\n  rotate_wait: 500ms\n")
        f.write("  debug_dump: %s\n  sources:\n" % dump)
        for p in phases:
            f.write("    - path: %s/%s/app.log\n      format: raw\n" % (tmp, p))
    agent = Agent(sonde, cfg, tmp)
    ok = False
    try:
        agent.start()
        wait_metrics(port)

        # 1. rename+create, agent restarted with SIGTERM while writing:
        #    files rotated while it was down are found by inode
        path = os.path.join(tmp, "rename", "app.log")
        w = run_writer(writer, path, "rename", "R")
        time.sleep(1.0)
        agent.stop(signal.SIGTERM)
        agent.start()
        rot, rate = finish_writer(w)
        assert rate >= 50000, "writer too slow: %.0f lines/s" % rate
        assert len(rot) >= 5, rot
        wait_metrics(port)
        check_exact("rename+create, SIGTERM restart",
                    wait_delivered(dump, "R", COUNT), COUNT)

        # 2. delete+recreate; restart while the writer is paused (a file
        #    deleted while the agent is down is gone: see ARCH)
        path = os.path.join(tmp, "delete", "app.log")
        w = run_writer(writer, path, "delete", "D")
        time.sleep(1.0)
        w.send_signal(signal.SIGSTOP)
        agent.stop(signal.SIGTERM)
        agent.start()
        wait_metrics(port)
        w.send_signal(signal.SIGCONT)
        rot, rate = finish_writer(w)
        assert len(rot) >= 5, rot
        check_exact("delete+recreate, SIGTERM restart",
                    wait_delivered(dump, "D", COUNT), COUNT)

        # 3. copytruncate: lines written after our last read and before
        #    the truncate are lost; nothing else, nothing twice
        path = os.path.join(tmp, "copytruncate", "app.log")
        w = run_writer(writer, path, "copytruncate", "C")
        rot, rate = finish_writer(w)
        counts = wait_delivered(dump, "C", COUNT)
        dups = [n for n, c in counts.items() if c > 1]
        assert not dups, "copytruncate: duplicated %s" % describe(dups)[:5]
        missing = [n for n in range(COUNT) if n not in counts]
        for a, b in describe(missing):
            assert b in rot, ("copytruncate: lost lines %d..%d do not end at "
                              "a truncate (%s)" % (a, b, rot))
        text = metrics(port)
        trunc = metric(text, "sonde_log_truncations_total", path=path)
        assert trunc == len(rot), "truncations metric %s, truncates %d" % (
            trunc, len(rot))
        print("copytruncate: %d truncates counted, %d lines lost (%d runs, "
              "each ending at a truncate), none twice" % (
                  len(rot), len(missing), len(describe(missing))))

        # 4. SIGKILL mid-stream: no loss; what was read after the last
        #    checkpoint is read again, one contiguous run
        path = os.path.join(tmp, "kill", "app.log")
        w = run_writer(writer, path, "rename", "K")
        time.sleep(1.6)
        agent.stop(signal.SIGKILL)
        agent.start()
        rot, rate = finish_writer(w)
        counts = wait_delivered(dump, "K", COUNT)
        missing = [n for n in range(COUNT) if n not in counts]
        assert not missing, "SIGKILL: %d lost, runs %s" % (
            len(missing), describe(missing)[:5])
        dups = [n for n, c in counts.items() if c > 1]
        bound = int(RATE * (CHECKPOINT_S + 0.5))
        assert len(dups) <= bound, "SIGKILL: %d duplicated > bound %d" % (
            len(dups), bound)
        assert all(c <= 2 for c in counts.values())
        text = wait_metrics(port)
        resumed = metric(text, "sonde_log_resumed_total", path=path)
        assert resumed and resumed >= 1, "resume not counted: %s" % resumed
        print("SIGKILL: none lost, %d read twice (bound %d), runs %s" % (
            len(dups), bound, describe(dups)[:3]))
        ok = True
    finally:
        agent.stop(signal.SIGTERM) if agent.proc else None
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept %s for inspection" % tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
