#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shipped Grafana dashboard and Prometheus rules against live data: a
real Prometheus scrapes a real sonde (host metrics, plus an access log it
tails), loads alerts/sonde-rules.yml, and then every dashboard query must
evaluate without error, the core panels must return data, and every rule
must evaluate healthy."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Checks, Prometheus, ebpf, temp_dir, which  # noqa: E402

SRC = os.environ.get("SONDE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
if not which("prometheus"):
    print("SKIP: prometheus not installed (package prometheus)")
    sys.exit(77)

c = Checks()
dash = json.load(open(os.path.join(SRC, "dashboards", "sonde-overview.json")))
targets = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
c(len(targets) >= 15, "the dashboard has its panels (%d queries)" % len(targets))

# Panels that must show data with host metrics and one access log.
MUST_HAVE_DATA = {"Requests per second", "Response time p50 / p95 / p99 / p99.9",
                  "Requests by status", "CPU busy", "Memory available", "Disk space used",
                  "Agent CPU and memory"}

with temp_dir() as tmp:
    log = os.path.join(tmp, "access.log")
    with open(log, "w") as f:
        for i in range(200):
            f.write('127.0.0.1 - - [22/Nov/2026:10:00:%02d +0000] "GET /api/items/%d HTTP/1.1" %d 512 "-" "curl/7.88"\n'
                    % (i % 60, i, 200 if i % 10 else 500))
    # The data comes from the log alone: with the eBPF probe on, this
    # test's own queries to Prometheus's API made a second service.
    cfg = ebpf.off({"logs": {"state_dir": tmp, "sources": [
        {"path": log, "format": "combined", "service": "web", "from_beginning": True}]}})
    stop = threading.Event()

    def writer():
        # Live traffic while Prometheus scrapes: 20 lines/s, 10% of them 500.
        i = 200
        while not stop.is_set():
            with open(log, "a") as f:
                for _ in range(10):
                    f.write('127.0.0.1 - - [22/Nov/2026:10:01:00 +0000] "GET /api/items/%d HTTP/1.1" %d 512 "-" "curl/7.88"\n'
                            % (i, 200 if i % 10 else 500))
                    i += 1
            stop.wait(0.5)

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    with Agent(cfg) as agent:
        agent.wait_for(lambda m: m.sum("http_server_request_duration_seconds_count") >= 200,
                       what="200 log lines counted")
        rules = os.path.join(SRC, "alerts", "sonde-rules.yml")
        with Prometheus(scrape_targets=["%s:%d" % (agent.host, agent.port)],
                        rule_files=[rules]) as prom:
            deadline = time.time() + 60
            # rate() needs two samples in the window after the log was read.
            while time.time() < deadline:
                if prom.query('count(rate(http_server_request_duration_seconds_count[1m]) > 0)'):
                    break
                time.sleep(1)
            for title, expr in targets:
                q = (expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
                     .replace("$service", ".*"))
                try:
                    res = prom.query(q)
                    ok = True
                except Exception as e:  # noqa: BLE001 - reported as a failed check
                    res, ok = [], False
                    print("  %s: %s" % (title, e))
                c(ok, "dashboard query evaluates: %s" % title)
                if title in MUST_HAVE_DATA:
                    c(len(res) > 0, "dashboard panel has live data: %s" % title, q)
            groups = prom.api("rules")["groups"]
            for g in groups:
                for r in g["rules"]:
                    c(r.get("health") in ("ok", "unknown") and not r.get("lastError"),
                      "rule evaluates: %s" % r.get("name"), r.get("lastError", ""))
            c(sum(len(g["rules"]) for g in groups) >= 16, "all rules loaded")
            # The recording group runs every 30s.
            deadline = time.time() + 70
            ratio = []
            while time.time() < deadline and not ratio:
                ratio = prom.query("service:http_server_error_ratio:rate5m")
                time.sleep(2)
            c(len(ratio) == 1 and abs(ratio[0][1] - 0.1) < 0.03 if ratio else False,
              "recording rule: error ratio of the log is about 10%", ratio)
    stop.set()
    th.join()
c.exit()
