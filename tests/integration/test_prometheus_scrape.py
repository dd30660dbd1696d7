#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real Prometheus scrapes sonde. Prometheus 2.x asks for OpenMetrics
first, so this runs our OpenMetrics output through Prometheus' own parser
(a strict one we did not write): the target must be up with no scrape
error, Prometheus must have been served OpenMetrics (our own counter says
so, read back through PromQL), it must ingest as many samples as our
OpenMetrics scrape holds, and histograms must read back consistently."""

import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, Prometheus, skip, which  # noqa: E402

ACCEPT_OM = "application/openmetrics-text;version=1.0.0"


def om_sample_count(agent):
    c = http.client.HTTPConnection(agent.host, agent.port, timeout=10)
    try:
        c.request("GET", "/metrics", headers={"Accept": ACCEPT_OM})
        body = c.getresponse().read().decode("utf-8")
    finally:
        c.close()
    return sum(1 for line in body.split("\n") if line and not line.startswith("#"))


def wait(pred, what, timeout=40.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def main():
    if not which("prometheus"):
        skip("prometheus not installed")
    with Agent() as agent, Prometheus(scrape_targets=["127.0.0.1:%d" % agent.port]) as prom:
        def healthy():
            t = prom.targets_health()
            return t if t and t[0][1] == "up" else None
        targets = wait(healthy, "target up")
        assert targets[0][2] == "", "scrape error: %s" % targets[0][2]

        # Prometheus negotiated OpenMetrics: our counter of OM scrapes, via PromQL
        res = wait(lambda: [v for _, v in prom.query(
            'sonde_scrapes_total{job="sonde",format="openmetrics"}') if v >= 2],
            "OpenMetrics scrapes counted")
        assert res[0] >= 2, res
        text = prom.query('sonde_scrapes_total{job="sonde",format="text"}')
        assert text and text[0][1] == 0, "Prometheus was served text: %r" % text

        # every sample we expose is ingested: compare with Prometheus' own count
        def counts_match():
            ours = om_sample_count(agent)
            theirs = prom.query('scrape_samples_scraped{job="sonde"}')
            return (ours, theirs[0][1]) if theirs and theirs[0][1] == ours else None
        ours, theirs = wait(counts_match, "scrape_samples_scraped == our sample count", 20)
        print("samples per scrape: ours %d, prometheus %d" % (ours, theirs))

        # histogram reads back whole: +Inf bucket == _count, and le as floats
        inf = prom.query('sonde_scrape_duration_seconds_bucket{job="sonde",le="+Inf"}')
        cnt = prom.query('sonde_scrape_duration_seconds_count{job="sonde"}')
        assert inf and cnt and inf[0][1] == cnt[0][1] and cnt[0][1] >= 2, (inf, cnt)
        one = prom.query('sonde_scrape_duration_seconds_bucket{job="sonde",le="1.0"}')
        assert one, "le=\"1.0\" bucket not found"
        # scrape errors seen by Prometheus' scrape loop: none
        bad = prom.query('up{job="sonde"} == 0')
        assert not bad, bad
    print("ok")


if __name__ == "__main__":
    main()
