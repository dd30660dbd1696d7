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


def meminfo_pattern(fam):
    """node_memory_<Field>[_bytes] is documented as a pattern: the field set
    is the kernel's. Accept a family outside the listed set only when it
    names a field this kernel's /proc/meminfo really has."""
    if not fam.startswith("node_memory_") or "`node_memory_<Field>_bytes`" not in metrics_md:
        return False
    with open("/proc/meminfo") as f:
        fields = {line.split(":")[0].replace("(", "_").replace(")", "") for line in f}
    field = fam[len("node_memory_"):]
    return field in fields or (field.endswith("_bytes") and field[:-6] in fields)


for fam in families:
    c(fam in documented or meminfo_pattern(fam), "docs/METRICS.md documents %s" % fam)

out = subprocess.run([sonde_bin(), "--print-default-config"], capture_output=True, text=True,
                     check=True).stdout
config_md = open(os.path.join(SRC, "docs", "CONFIG.md")).read()
c(out.strip() in config_md, "docs/CONFIG.md contains the current --print-default-config output")
c.exit()
