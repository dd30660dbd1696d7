#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Prometheus exporter as a scraper sees it: sonde --config on a free
port; /metrics in text 0.0.4 checked by `promtool check metrics` (no parse
error; no lint finding except those node_exporter's own output gets for
the node_* names sonde mirrors on purpose), in
OpenMetrics 1.0 by content negotiation checked by a strict parser (promtool
2.42 only reads the text format: that is checked, not assumed), gzip, the
landing page, /healthz, 404, 405, HEAD, the self metrics' exact counts, and
the bind error when the port is taken."""

import gzip
import http.client
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sondetest import Agent, NodeExporter, skip, which  # noqa: E402

CT_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CT_OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
ACCEPT_OM = "application/openmetrics-text;version=1.0.0"


class OMError(Exception):
    pass


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
NUM = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)"
SAMPLE = re.compile(r"^(%s)(\{.*\})? (%s)(?: (%s))?$" % (NAME, NUM, NUM))
LABEL = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"' % LNAME)
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "unknown": ("",),
}


def parse_float(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    return float(s)


def parse_labels(text, where):
    if not text:
        return ()
    body = text[1:-1]
    out, pos = [], 0
    while pos < len(body):
        m = LABEL.match(body, pos)
        if not m:
            raise OMError("%s: bad label set %r" % (where, text))
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(body):
            if body[pos] != ",":
                raise OMError("%s: expected ',' in %r" % (where, text))
            pos += 1
            if pos == len(body):
                raise OMError("%s: trailing comma in %r" % (where, text))
    names = [k for k, _ in out]
    if len(set(names)) != len(names):
        raise OMError("%s: duplicate label in %r" % (where, text))
    return tuple(out)


def parse_openmetrics(data):
    """Strict OpenMetrics 1.0 text parser for what sonde emits (no
    exemplars, no timestamps expected). Returns {family: (type, unit,
    [(sample name, labels tuple, value)])}."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise OMError("not UTF-8: %s" % e)
    if not text.endswith("# EOF\n"):
        raise OMError("does not end with '# EOF\\n'")
    lines = text[:-len("# EOF\n")].split("\n")
    if lines[-1] != "":
        raise OMError("last line before EOF not terminated")
    lines = lines[:-1]
    fams, cur, seen_samples = {}, None, False
    for n, line in enumerate(lines, 1):
        where = "line %d" % n
        if line == "# EOF":
            raise OMError("%s: # EOF before the end" % where)
        if line.startswith("#"):
            m = re.match(r"^# (TYPE|HELP|UNIT) (%s)(?: (.*))?$" % NAME, line)
            if not m:
                raise OMError("%s: bad comment %r" % (where, line))
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if cur is None or cur != name:
                if name in fams:
                    raise OMError("%s: family %s not contiguous" % (where, name))
                fams[name] = {"type": "unknown", "unit": None, "help": None, "meta": set(),
                              "samples": []}
                cur, seen_samples = name, False
            f = fams[name]
            if seen_samples:
                raise OMError("%s: metadata after samples for %s" % (where, name))
            if kind in f["meta"]:
                raise OMError("%s: repeated %s for %s" % (where, kind, name))
            f["meta"].add(kind)
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "gaugehistogram",
                                "summary", "info", "stateset", "unknown"):
                    raise OMError("%s: bad type %r" % (where, rest))
                f["type"] = rest
            elif kind == "UNIT":
                if not name.endswith("_" + rest):
                    raise OMError("%s: family %s does not end with unit %s" % (where, name, rest))
                f["unit"] = rest
            else:
                if not re.fullmatch(r'(?:[^\\\n]|\\[\\"n])*', rest):
                    raise OMError("%s: bad escape in HELP" % where)
                f["help"] = rest
            continue
        m = SAMPLE.match(line)
        if not m:
            raise OMError("%s: bad sample %r" % (where, line))
        sname, labels, value = m.group(1), parse_labels(m.group(2), where), m.group(3)
        if m.group(4) is not None:
            raise OMError("%s: unexpected timestamp" % where)
        if cur is None or not any(sname == cur + s for s in SUFFIXES.get(fams[cur]["type"], ("",))):
            raise OMError("%s: sample %s outside its family (%s)" % (where, sname, cur))
        seen_samples = True
        fams[cur]["samples"].append((sname[len(cur):], labels, parse_float(value), value))
    for name, f in fams.items():
        check_family(name, f)
    return fams


def check_family(name, f):
    keys = set()
    for suffix, labels, v, raw in f["samples"]:
        key = (suffix, labels)
        if key in keys:
            raise OMError("%s: duplicate sample %s%s" % (name, suffix, labels))
        keys.add(key)
    if f["type"] == "counter":
        for suffix, labels, v, raw in f["samples"]:
            if suffix == "_total" and (math.isnan(v) or v < 0):
                raise OMError("%s: counter total %s" % (name, raw))
        totals = {l for s, l, _, _ in f["samples"] if s == "_total"}
        for s, l, _, _ in f["samples"]:
            if s == "_created" and l not in totals:
                raise OMError("%s: _created without _total %s" % (name, l))
    if f["type"] == "histogram":
        series = {}
        for suffix, labels, v, raw in f["samples"]:
            base = tuple(kv for kv in labels if kv[0] != "le")
            s = series.setdefault(base, {"buckets": [], "sum": None, "count": None})
            if suffix == "_bucket":
                le = dict(labels).get("le")
                if le is None:
                    raise OMError("%s: bucket without le" % name)
                if v != int(v) or v < 0:
                    raise OMError("%s: bucket count %s" % (name, raw))
                s["buckets"].append((parse_float(le), v))
            elif suffix == "_sum":
                s["sum"] = v
            elif suffix == "_count":
                if v != int(v) or v < 0:
                    raise OMError("%s: count %s" % (name, raw))
                s["count"] = v
        for base, s in series.items():
            les = [b for b, _ in s["buckets"]]
            if not les or les[-1] != math.inf:
                raise OMError("%s%s: no +Inf bucket" % (name, base))
            if les != sorted(les) or len(set(les)) != len(les):
                raise OMError("%s%s: le not ascending" % (name, base))
            counts = [c for _, c in s["buckets"]]
            if counts != sorted(counts):
                raise OMError("%s%s: buckets not cumulative" % (name, base))
            if s["count"] is not None and s["count"] != counts[-1]:
                raise OMError("%s%s: _count != +Inf bucket" % (name, base))


def self_test_parser(src):
    """The parser must accept our golden file and reject broken variants;
    otherwise it proves nothing."""
    with open(os.path.join(src, "tests/fixtures/prometheus/registry.openmetrics.txt"), "rb") as f:
        good = f.read()
    parse_openmetrics(good)
    bad = {
        "no EOF": good.replace(b"# EOF\n", b""),
        "text after EOF": good + b"x 1\n",
        "bad escape": good.replace(b'\\"quotes\\"', b'\\q'),
        "raw quote in label": good.replace(b'C:\\\\dir', b'C:"dir', 1),
        "non-cumulative": good.replace(b'le="0.1"} 3', b'le="0.1"} 0'),
        "count mismatch": good.replace(
            b'_count{http_route="/api/users/:id"} 5', b'_count{http_route="/api/users/:id"} 6'),
        "unit mismatch": good.replace(b"# UNIT room_temperature_celsius celsius",
                                      b"# UNIT room_temperature_celsius kelvin"),
        "_total in family name": good.replace(b"# TYPE http_requests counter",
                                              b"# TYPE http_requests_total counter"),
        "bad utf-8": good.replace(b"caf\xc3\xa9", b"caf\xff"),
    }
    for what, data in bad.items():
        if data == good:
            raise AssertionError("parser self-test %r did not mutate the fixture" % what)
        try:
            parse_openmetrics(data)
        except OMError:
            continue
        raise AssertionError("strict OpenMetrics parser accepted: %s" % what)


def request(agent, method, path, headers=None, body=None):
    c = http.client.HTTPConnection(agent.host, agent.port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def promtool_check(data):
    p = subprocess.run(["promtool", "check", "metrics"], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def node_exporter_lint():
    """promtool's findings on the real node_exporter: sonde keeps its
    names (node_memory_MemAvailable_bytes...) on purpose, so those very
    findings, and only those, are tolerated in sonde's output."""
    with NodeExporter() as ne:
        rc, out = promtool_check(ne.metrics_text().encode())
    if rc not in (0, 3):
        raise AssertionError("promtool cannot parse node_exporter's output:\n" + out)
    return set(out.splitlines())


def check_promtool(data, allowed):
    """promtool check metrics: no parse error, and no lint finding beyond
    the ones node_exporter itself gets for the same names."""
    rc, out = promtool_check(data)
    extra = [l for l in out.splitlines() if l not in allowed]
    assert rc in (0, 3) and not extra, "promtool check metrics (rc %d):\n%s" % (rc, "\n".join(extra))
    return len(out.splitlines())


def text_value(body, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), body, re.M)
    if not m:
        raise AssertionError("no sample %s%s in the scrape" % (name, labels))
    return float(m.group(1))


def main():
    if not which("promtool"):
        skip("promtool not installed")
    src = os.environ.get("SONDE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
    self_test_parser(src)

    allowed = node_exporter_lint() if which("prometheus-node-exporter") else set()

    with Agent({"prometheus": {"max_connections": 16}}) as agent:
        # text 0.0.4 by default, lint-clean for promtool
        status, h, body = request(agent, "GET", "/metrics")
        assert status == 200, status
        assert h["content-type"] == CT_TEXT, h["content-type"]
        assert "content-encoding" not in h
        assert h.get("vary") == "Accept-Encoding", h
        tolerated = check_promtool(body, allowed)
        if tolerated:
            print("promtool: %d lint findings, each also reported for node_exporter's own "
                  "output (node_exporter-compatible names)" % tolerated)
        text = body.decode("utf-8")
        assert "# EOF" not in text

        # self metrics count exactly: a scrape sees the scrapes before it
        n0 = text_value(text, "sonde_scrapes_total", '{format="text"}')
        for _ in range(4):
            request(agent, "GET", "/metrics")
        _, _, body = request(agent, "GET", "/metrics")
        text = body.decode("utf-8")
        assert text_value(text, "sonde_scrapes_total", '{format="text"}') == n0 + 5, text
        assert text_value(text, "sonde_scrape_duration_seconds_count") >= n0 + 5
        assert text_value(text, "sonde_http_connections_rejected_total") == 0

        # OpenMetrics by negotiation
        status, h, om = request(agent, "GET", "/metrics", {"Accept": ACCEPT_OM})
        assert status == 200, status
        assert h["content-type"] == CT_OM, h["content-type"]
        assert om.endswith(b"\n# EOF\n"), om[-200:]
        assert re.search(rb"^\w+_created(\{[^}]*\})? \d", om, re.M), "no _created sample"
        fams = parse_openmetrics(om)
        assert fams["sonde_scrapes"]["type"] == "counter"
        assert fams["sonde_scrape_duration_seconds"]["unit"] == "seconds"
        # promtool 2.42's `check metrics` reads OpenMetrics with the text
        # parser: OpenMetrics family names (no _total) then look unhelped
        # to its linter. Use it when it is clean, report it when not.
        rc, out = promtool_check(om)
        if rc == 0 and out == "":
            print("promtool check metrics accepts the OpenMetrics output too")
        else:
            print("note: promtool check metrics on OpenMetrics: rc %d, %d lines "
                  "(text-format linter); OpenMetrics validated by the strict parser"
                  % (rc, len(out.splitlines())))
        # the same families either way (counters without _total in
        # OpenMetrics). The default agent traces the host's TCP traffic, the
        # scrapes' own included, so a family may first appear between two
        # scrapes: the OpenMetrics set lies between the text sets of the
        # scrapes before and after it.
        text_fams = set(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        om_fams = {(n + "_total" if f["type"] == "counter" else n, f["type"])
                   for n, f in fams.items()}
        _, _, after = request(agent, "GET", "/metrics")
        after_fams = set(re.findall(r"^# TYPE (\S+) (\S+)$", after.decode("utf-8"), re.M))
        assert text_fams <= om_fams, text_fams - om_fams
        assert om_fams <= after_fams, om_fams - after_fams
        # what Prometheus 2.x sends also selects OpenMetrics; q=0 does not
        _, h, _ = request(agent, "GET", "/metrics", {
            "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
        assert h["content-type"] == CT_OM, h["content-type"]
        _, h, _ = request(agent, "GET", "/metrics",
                          {"Accept": "application/openmetrics-text;q=0, text/plain"})
        assert h["content-type"] == CT_TEXT, h["content-type"]

        # gzip
        status, h, gz = request(agent, "GET", "/metrics", {"Accept-Encoding": "gzip"})
        assert status == 200 and h.get("content-encoding") == "gzip", h
        assert h.get("vary") == "Accept-Encoding", h
        assert int(h["content-length"]) == len(gz)
        plain = gzip.decompress(gz)
        check_promtool(plain, allowed)
        assert len(gz) * 3 < len(plain), (len(gz), len(plain))
        _, h, gz = request(agent, "GET", "/metrics",
                           {"Accept-Encoding": "gzip", "Accept": ACCEPT_OM})
        assert h["content-type"] == CT_OM and h.get("content-encoding") == "gzip"
        parse_openmetrics(gzip.decompress(gz))

        # the other routes
        status, h, body = request(agent, "GET", "/")
        assert status == 200 and h["content-type"].startswith("text/html"), (status, h)
        assert b'href="/metrics"' in body and b'href="/healthz"' in body, body
        status, _, body = request(agent, "GET", "/healthz")
        assert (status, body.strip()) == (200, b"ok"), (status, body)
        status, _, _ = request(agent, "GET", "/does-not-exist")
        assert status == 404, status
        status, h, _ = request(agent, "POST", "/metrics", body=b"x=1")
        assert status == 405 and h.get("allow") == "GET, HEAD", (status, h)
        status, _, _ = request(agent, "PUT", "/healthz", body=b"")
        assert status == 405, status
        status, h, body = request(agent, "HEAD", "/metrics")
        assert status == 200 and body == b"" and int(h["content-length"]) > 0, (status, h)
        _, _, body = request(agent, "GET", "/metrics")
        text = body.decode("utf-8")
        assert text_value(text, "sonde_http_requests_total", '{handler="other",code="404"}') == 1
        assert text_value(text, "sonde_http_requests_total", '{handler="other",code="405"}') == 2
        assert text_value(text, "sonde_http_requests_total", '{handler="/healthz",code="200"}') >= 1

        # a second agent on the same port fails clearly and exits
        p = subprocess.run([agent.bin, "--config", agent.config_path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        want = "cannot listen on 127.0.0.1:%d: Address already in use" % agent.port
        assert p.returncode != 0, "second agent exited 0:\n" + err
        assert want in err and "[exporter:prometheus]" in err, err
        assert agent.alive(), "the first agent died"
    print("ok")


if __name__ == "__main__":
    main()
