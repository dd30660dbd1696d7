#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's command line and lifecycle as a user meets them: --help,
--version, --print-default-config, --check-config on good and bad files
(each bad one with file:line and a non-zero exit, and the daemon refusing
to start on it), SIGHUP reload (bad config kept out, good one applied),
SIGTERM clean exit."""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, free_port, http_get, port_open, sonde_bin  # noqa: E402

BIN = sonde_bin()
c = Checks()


def run(*args, stdin=None, timeout=20):
    return subprocess.run([BIN] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=timeout)


tmp = tempfile.mkdtemp(prefix="sonde-cli-")


def write(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


r = run("--help")
c(r.returncode == 0 and "--check-config" in r.stdout and "--print-default-config" in r.stdout,
        "--help lists the options")
r = run("--version")
c(r.returncode == 0 and r.stdout.startswith("sonde "), "--version prints 'sonde X'")
r = run("--bogus")
c(r.returncode == 2 and "Usage" in r.stderr, "an unknown option exits 2 with usage")

r = run("--print-default-config")
c(r.returncode == 0 and "prometheus:" in r.stdout and "listen:" in r.stdout,
        "--print-default-config prints the prometheus section")
p = write("default.yaml", r.stdout)
r = run("--check-config", p)
c(r.returncode == 0, "the printed default config passes --check-config (%s)" % r.stderr.strip())

shipped = os.path.join(os.environ.get("SONDE_SRC", "."), "packaging", "sonde.yaml")
r = run("--check-config", shipped)
c(r.returncode == 0, "packaging/sonde.yaml passes --check-config (%s)" % r.stderr.strip())

bad = {
    "broken.yaml": ("prometheus:\n  listen: [127.0.0.1\n", ":3:", "YAML syntax error"),
    "unknown.yaml": ("prometheus:\n  listen: 127.0.0.1:9\n  lisen: x\n", ":3:", "unknown key 'lisen'"),
    "section.yaml": ("prometeus:\n  listen: 127.0.0.1:9\n", ":1:", "unknown section 'prometeus'"),
    "type.yaml": ("agent:\n  max_series_per_family: lots\n", ":2:", "expected an integer"),
    "port.yaml": ("prometheus:\n  listen: 127.0.0.1:70000\n", ":2:", "port out of range"),
    "level.yaml": ("agent:\n  log_level: loud\n", ":2:", "is not one of"),
}
for name, (text, line, msg) in bad.items():
    p = write(name, text)
    r = run("--check-config", p)
    out = r.stderr + r.stdout
    c(r.returncode != 0 and (p + line) in out and msg in out,
            "--check-config %s: non-zero and '%s%s ... %s' (got %r)" % (name, p, line, msg,
                                                                     out.strip()))
    # The daemon itself never starts on it.
    port = free_port()
    r = run("--config", p)
    c(r.returncode != 0 and (p + line) in r.stderr and not port_open("127.0.0.1", port),
            "sonde --config %s refuses to start" % name)

r = run("--config", os.path.join(tmp, "missing.yaml"))
c(r.returncode != 0 and "cannot open" in r.stderr, "an explicit missing config is an error")

# Lifecycle: start, SIGHUP with a bad file (kept), SIGHUP with a good one
# (applied: the listen port moves), SIGTERM (exit 0).
with Agent({"agent": {"log_level": "info"}}) as a:
    c(http_get(a.url + "/healthz")[0] == 200, "serves /healthz")
    good = open(a.config_path).read()
    with open(a.config_path, "w") as f:
        f.write("prometheus:\n  listen: nope\n")
    os.kill(a.proc.pid, signal.SIGHUP)
    time.sleep(1.0)
    c(a.alive() and http_get(a.url + "/healthz")[0] == 200,
            "a bad config on SIGHUP is rejected and the agent keeps serving")
    new_port = free_port()
    with open(a.config_path, "w") as f:
        f.write(good.replace(str(a.port), str(new_port)))
    os.kill(a.proc.pid, signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and not port_open("127.0.0.1", new_port):
        time.sleep(0.1)
    c(port_open("127.0.0.1", new_port), "a good config on SIGHUP is applied (new port)")
    c(a.alive(), "still running after reload")
    log = open(a.log_path).read()
    c("new configuration rejected" in log and "listen" in log,
            "the rejected reload is logged with its reason")
    a.proc.send_signal(signal.SIGTERM)
    try:
        rc = a.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    c(rc == 0, "SIGTERM stops it with exit 0 (rc=%s)" % rc)

c.exit()
