# SPDX-License-Identifier: MIT
"""Runs the sonde daemon under test: config in a temp dir, free port,
readiness via /healthz, strict scrapes, bounded stop."""

import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from . import promtext, yamlout
from .util import (DEFAULT_TIMEOUT, HarnessError, die_with_parent, free_port, proc_status_kb,
                   stop_process, tail, wait_until)


def sonde_bin():
    b = os.environ.get("SONDE_BIN")
    if not b:
        build = os.environ.get("SONDE_BUILD")
        if build:
            b = os.path.join(build, "sonde")
    if not b or not os.access(b, os.X_OK):
        raise HarnessError("SONDE_BIN is not set or not executable (%r)" % b)
    return b


def test_cache(name):
    """test-cache/`name` next to the sonde binary: what tests download once
    and keep between runs (Debian's kernels, a newer Go)."""
    return os.path.join(os.path.dirname(os.path.abspath(sonde_bin())), "test-cache", name)


def http_get(url, timeout=5.0):
    """(status, body text) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Agent:
    """sonde --config FILE, as a context manager.

    config: a dict (dumped as YAML) or YAML text. The prometheus listen
    address is always set to 127.0.0.1:<free port> unless the text already
    names one. The agent's stderr goes to a file that is printed when the
    agent fails to start or when the test fails inside the with-block."""

    def __init__(self, config=None, args=(), env=None, timeout=DEFAULT_TIMEOUT,
                 workdir=None, bin=None):
        self.bin = bin or sonde_bin()
        self.args = list(args)
        self.env = env
        self.timeout = timeout
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="sonde-agent-")
        self.port = free_port()
        self.host = "127.0.0.1"
        self.config_path = os.path.join(self.dir, "sonde.yaml")
        self.log_path = os.path.join(self.dir, "sonde.stderr")
        self.proc = None
        self.returncode = None
        self.config_text = self._render(config)
        with open(self.config_path, "w") as f:
            f.write(self.config_text)

    def _render(self, config):
        listen = "127.0.0.1:%d" % self.port
        if config is None:
            config = {}
        if isinstance(config, dict):
            cfg = copy.deepcopy(config)
            prom = cfg.setdefault("prometheus", {})
            if "listen" in prom:
                self._take_listen(prom["listen"])
            else:
                prom["listen"] = listen
            return yamlout.dump(cfg) + "\n"
        text = str(config)
        m = re.search(r"^\s*listen:\s*\"?([0-9.]+):(\d+)\"?", text, re.M)
        if re.search(r"^prometheus:", text, re.M):
            if not m:
                raise HarnessError("config text has a prometheus section without listen")
            self._take_listen("%s:%s" % (m.group(1), m.group(2)))
            return text
        if not text.endswith("\n") and text:
            text += "\n"
        return text + 'prometheus:\n  listen: "%s"\n' % listen

    def _take_listen(self, s):
        host, port = str(s).rsplit(":", 1)
        self.host, self.port = host, int(port)

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        cmd = [self.bin, "--config", self.config_path] + self.args
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        # ASan builds: report leaks and errors on exit, into the stderr file.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True, preexec_fn=die_with_parent)
        try:
            wait_until(lambda: http_get(self.url + "/healthz", timeout=2)[0] == 200,
                       timeout=self.timeout, what="sonde /healthz on %s" % self.url,
                       proc=self.proc, log=self.log_path)
        except Exception:
            # __exit__ does not run when __enter__ fails: report and clean here.
            self.stop()
            print("sonde config:\n%s" % self.config_text, file=sys.stderr)
            self.cleanup()
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def peak_rss(self):
        """The running agent's peak resident memory (VmHWM), in bytes."""
        kb = proc_status_kb(self.proc.pid, "VmHWM")
        if kb is None:
            raise HarnessError("no VmHWM in /proc/%d/status" % self.proc.pid)
        return kb * 1024

    def metrics_text(self, path="/metrics"):
        status, body = http_get(self.url + path, timeout=10)
        if status != 200:
            raise HarnessError("GET %s -> %d\n%s" % (path, status, body[:2000]))
        return body

    def scrape(self, path="/metrics"):
        """A strictly parsed scrape (promtext.Metrics)."""
        if not self.alive():
            raise HarnessError("sonde is not running (exit %s)\n%s" % (
                self.proc.poll() if self.proc else None, tail(self.log_path)))
        return promtext.Metrics(self.metrics_text(path))

    def value(self, name, default=0.0, **labels):
        return self.scrape().value(name, default=default, **labels)

    def sum(self, name, **labels):
        return self.scrape().sum(name, **labels)

    def wait_for(self, pred, timeout=15.0, what="metrics condition"):
        """Scrapes until pred(metrics) is truthy; returns the last Metrics.

        Transactions reach the registry asynchronously (ring buffer, pairing),
        so tests wait for the expected total and then check it stays put."""
        box = {}

        def check():
            m = self.scrape()
            box["m"] = m
            return pred(m)
        try:
            wait_until(check, timeout=timeout, interval=0.2, what=what,
                       proc=self.proc, log=self.log_path)
        except HarnessError:
            if "m" not in box:
                raise
        return box.get("m")

    def settle(self, name, timeout=15.0, quiet=1.0, **labels):
        """Waits until sum(name, labels) stops changing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = None
        since = time.monotonic()
        while True:
            m = self.scrape()
            v = m.sum(name, **labels)
            now = time.monotonic()
            if v != last:
                last, since = v, now
            elif now - since >= quiet:
                return m
            if now >= deadline:
                return m
            time.sleep(0.2)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if self.proc is None:
            return None
        self.returncode = stop_process(self.proc, timeout=timeout)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return self.returncode

    def reload(self, config=None):
        """SIGHUP; with config (as for the constructor, on the same
        /metrics address), the file is rewritten with it first."""
        if config is not None:
            self.config_text = self._render(config)
            with open(self.config_path, "w") as f:
                f.write(self.config_text)
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        if self._own_dir and os.environ.get("SONDE_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        rc = self.stop()
        if et is not None or (rc not in (0, None)):
            print("sonde config:\n%s" % self.config_text, file=sys.stderr)
            print(tail(self.log_path, 200), file=sys.stderr)
        self.cleanup()
        if et is None and rc not in (0, None):
            raise HarnessError("sonde exited %s on SIGTERM" % rc)
        return False
