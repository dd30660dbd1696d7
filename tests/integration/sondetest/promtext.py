# SPDX-License-Identifier: MIT
"""A strict parser of the Prometheus text exposition format 0.0.4.

Strict on purpose: the agent's output is checked here, so anything a real
Prometheus would reject (or silently misread) is an error: bad names, bad
escapes, duplicate series, samples outside their TYPE's family, histogram
buckets that are not cumulative or whose +Inf bucket differs from _count.
"""

import math
import re

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ParseError(ValueError):
    pass


class Sample:
    __slots__ = ("name", "labels", "value", "timestamp")

    def __init__(self, name, labels, value, timestamp=None):
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp

    def __repr__(self):
        lab = ",".join('%s="%s"' % kv for kv in sorted(self.labels.items()))
        return "%s{%s} %r" % (self.name, lab, self.value)


def _parse_value(s, lineno):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    # Python's float() accepts things the format does not ("inf", "1_0").
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ParseError("line %d: bad value %r" % (lineno, s))
    return float(s)


def _parse_labels(line, i, lineno):
    """Parses '{a="b",...}' starting at line[i] == '{'; returns (dict, next i)."""
    labels = {}
    i += 1
    n = len(line)
    while True:
        if i < n and line[i] == "}":
            return labels, i + 1
        m = LABEL_RE.match(line, i)
        if not m:
            raise ParseError("line %d: bad label name at column %d" % (lineno, i + 1))
        lname = m.group(0)
        i = m.end()
        if line[i:i + 2] != '="':
            raise ParseError("line %d: expected '=\"' after label %s" % (lineno, lname))
        i += 2
        val = []
        while True:
            if i >= n:
                raise ParseError("line %d: unterminated label value" % lineno)
            c = line[i]
            if c == "\\":
                if i + 1 >= n:
                    raise ParseError("line %d: dangling backslash" % lineno)
                e = line[i + 1]
                if e == "n":
                    val.append("\n")
                elif e in ('"', "\\"):
                    val.append(e)
                else:
                    raise ParseError("line %d: bad escape \\%s" % (lineno, e))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ParseError("line %d: raw newline in label value" % lineno)
            else:
                val.append(c)
                i += 1
        if lname in labels:
            raise ParseError("line %d: duplicate label %s" % (lineno, lname))
        labels[lname] = "".join(val)
        if i < n and line[i] == ",":
            i += 1
            continue
        if i < n and line[i] == "}":
            return labels, i + 1
        raise ParseError("line %d: expected ',' or '}' at column %d" % (lineno, i + 1))


def _family_of(name, types):
    """The declared family a sample name belongs to, and its type."""
    if name in types:
        return name, types[name]
    for suf in ("_bucket", "_sum", "_count", "_created"):
        if name.endswith(suf):
            base = name[:-len(suf)]
            if base in types and types[base] in ("histogram", "summary"):
                return base, types[base]
    if name.endswith("_total") or name.endswith("_created"):
        base = name.rsplit("_", 1)[0]
        if types.get(base) == "counter":
            return base, "counter"
    return None, None


def parse(text, require_types=True):
    """Parses exposition text; returns (samples, types, helps).

    require_types: every sample must belong to a family with a # TYPE line
    (sonde always writes one; node_exporter too)."""
    if text and not text.endswith("\n"):
        raise ParseError("exposition does not end with a newline")
    samples = []
    types = {}
    helps = {}
    seen = set()
    seen_families = []  # order of first sample, to catch interleaving
    closed = set()
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME_RE.fullmatch(name):
                    raise ParseError("line %d: bad metric name %r" % (lineno, name))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "TYPE":
                    if name in types:
                        raise ParseError("line %d: second TYPE for %s" % (lineno, name))
                    if rest not in TYPES:
                        raise ParseError("line %d: bad type %r" % (lineno, rest))
                    if name in closed or name == current:
                        raise ParseError("line %d: TYPE after samples of %s" % (lineno, name))
                    types[name] = rest
                else:
                    if name in helps:
                        raise ParseError("line %d: second HELP for %s" % (lineno, name))
                    helps[name] = rest
            continue
        m = NAME_RE.match(line)
        if not m:
            raise ParseError("line %d: bad sample line %r" % (lineno, line))
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, lineno)
        if i >= len(line) or line[i] != " ":
            raise ParseError("line %d: expected a space before the value" % lineno)
        fields = line[i + 1:].split(" ")
        if len(fields) not in (1, 2) or fields[0] == "":
            raise ParseError("line %d: bad value/timestamp %r" % (lineno, line[i + 1:]))
        value = _parse_value(fields[0], lineno)
        ts = None
        if len(fields) == 2:
            if not re.fullmatch(r"-?\d+", fields[1]):
                raise ParseError("line %d: bad timestamp %r" % (lineno, fields[1]))
            ts = int(fields[1])
        fam, ftype = _family_of(name, types)
        if fam is None:
            if require_types:
                raise ParseError("line %d: sample %s has no # TYPE" % (lineno, name))
            fam = name
        if fam != current:
            if fam in closed:
                raise ParseError("line %d: samples of %s are not contiguous" % (lineno, fam))
            if current is not None:
                closed.add(current)
            current = fam
            seen_families.append(fam)
        if ftype == "counter" and not (value >= 0 or math.isnan(value)):
            raise ParseError("line %d: negative counter %s" % (lineno, name))
        if ftype == "histogram" and name == fam:
            raise ParseError("line %d: bare sample for histogram %s" % (lineno, fam))
        if name.endswith("_bucket") and ftype == "histogram":
            if "le" not in labels:
                raise ParseError("line %d: bucket without le" % lineno)
            _parse_value(labels["le"], lineno)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ParseError("line %d: duplicate series %s" % (lineno, line))
        seen.add(key)
        samples.append(Sample(name, labels, value, ts))
    _check_histograms(samples, types)
    return samples, types, helps


def _check_histograms(samples, types):
    groups = {}
    for s in samples:
        fam, ftype = _family_of(s.name, types)
        if ftype != "histogram":
            continue
        rest = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        g = groups.setdefault((fam, rest), {"buckets": [], "count": None, "sum": None})
        if s.name == fam + "_bucket":
            g["buckets"].append((_parse_value(s.labels["le"], 0), s.value))
        elif s.name == fam + "_count":
            g["count"] = s.value
        elif s.name == fam + "_sum":
            g["sum"] = s.value
    for (fam, rest), g in groups.items():
        b = sorted(g["buckets"])
        if not b or b[-1][0] != math.inf:
            raise ParseError("histogram %s%s has no +Inf bucket" % (fam, dict(rest)))
        for (_, c1), (_, c2) in zip(b, b[1:]):
            if c2 < c1:
                raise ParseError("histogram %s%s buckets not cumulative" % (fam, dict(rest)))
        if g["count"] is None or g["sum"] is None:
            raise ParseError("histogram %s%s lacks _count or _sum" % (fam, dict(rest)))
        if g["count"] != b[-1][1]:
            raise ParseError("histogram %s%s: _count %s != +Inf bucket %s" % (
                fam, dict(rest), g["count"], b[-1][1]))


def _match(labels, want):
    for k, v in want.items():
        if v is None:
            if k in labels and labels[k] != "":
                return False
        elif callable(v):
            if not v(labels.get(k)):
                return False
        elif labels.get(k) != str(v):
            return False
    return True


class Histogram:
    """One histogram aggregated over the series that matched."""

    def __init__(self, buckets, count, total):
        self.buckets = buckets  # sorted [(upper bound, cumulative count)]
        self.count = count
        self.sum = total

    @property
    def mean(self):
        return self.sum / self.count if self.count else math.nan

    def quantile(self, q):
        """Like PromQL histogram_quantile: linear within the bucket."""
        if not self.count:
            return math.nan
        rank = q * self.count
        prev_b, prev_c = 0.0, 0.0
        for b, c in self.buckets:
            if c >= rank:
                if b == math.inf:
                    return prev_b
                if c == prev_c:
                    return b
                return prev_b + (b - prev_b) * (rank - prev_c) / (c - prev_c)
            prev_b, prev_c = b, c
        return prev_b

    def bucket_of(self, x):
        """The (lower, upper] bucket bounds x falls into."""
        lo = 0.0
        for b, _ in self.buckets:
            if x <= b:
                return lo, b
            lo = b
        return lo, math.inf

    def minus(self, other):
        """This histogram less an earlier one (same bounds): a run's share."""
        if other is None or not other.buckets:
            return self
        ob = dict(other.buckets)
        return Histogram([(b, c - ob.get(b, 0.0)) for b, c in self.buckets],
                         self.count - other.count, self.sum - other.sum)


class Metrics:
    """A parsed scrape. Label filters: exact string, None (absent or empty),
    or a predicate taking the value."""

    def __init__(self, text, require_types=True):
        self.text = text
        self.samples, self.types, self.helps = parse(text, require_types)

    def select(self, name, **labels):
        return [s for s in self.samples if s.name == name and _match(s.labels, labels)]

    def has(self, name, **labels):
        return bool(self.select(name, **labels))

    def value(self, name, default=KeyError, **labels):
        """The value of the one series that matches; KeyError (or default)
        when none, ValueError when several do."""
        got = self.select(name, **labels)
        if not got:
            if default is KeyError:
                raise KeyError("no sample %s%s" % (name, labels))
            return default
        if len(got) > 1:
            raise ValueError("%d samples match %s%s: %s" % (len(got), name, labels, got[:5]))
        return got[0].value

    def sum(self, name, **labels):
        return sum(s.value for s in self.select(name, **labels))

    def label_values(self, name, label, **labels):
        return sorted({s.labels.get(label, "") for s in self.select(name, **labels)})

    def histogram(self, name, **labels):
        """Sum of the matching histogram series (base name, no suffix)."""
        per_le = {}
        for s in self.select(name + "_bucket", **labels):
            le = _parse_value(s.labels["le"], 0)
            per_le[le] = per_le.get(le, 0.0) + s.value
        return Histogram(sorted(per_le.items()), self.sum(name + "_count", **labels),
                         self.sum(name + "_sum", **labels))

    def families(self):
        return dict(self.types)
