#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Docs that match the behaviour: every metric family a running agent
exports is documented in docs/METRICS.md, and docs/CONFIG.md carries the
defaults `sonde --print-default-config` prints."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, sonde_bin, temp_dir  # noqa: E402

SRC = os.environ.get("SONDE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
c = Checks()
metrics_md = open(os.path.join(SRC, "docs", "METRICS.md")).read()
documented = set(re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", metrics_md))

with temp_dir() as tmp:
    log = os.path.join(tmp, "access.log")
    with open(log, "w") as f:
        f.write('127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n')
    cfg = {"logs": {"state_dir": tmp, "sources": [
        {"path": log, "format": "combined", "from_beginning": True}]}}
    with Agent(cfg) as agent:
        agent.wait_for(lambda m: m.sum("http_server_request_duration_seconds_count") >= 1,
                       what="one log line counted")
        text = agent.metrics_text()
families = sorted(set(re.findall(r"^# TYPE (\S+) ", text, re.M)))
c(len(families) > 20, "the agent exports families (%d)" % len(families))
for fam in families:
    c(fam in documented, "docs/METRICS.md documents %s" % fam)

out = subprocess.run([sonde_bin(), "--print-default-config"], capture_output=True, text=True,
                     check=True).stdout
config_md = open(os.path.join(SRC, "docs", "CONFIG.md")).read()
c(out.strip() in config_md, "docs/CONFIG.md contains the current --print-default-config output")
c.exit()
