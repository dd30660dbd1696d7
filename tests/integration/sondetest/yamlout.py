# SPDX-License-Identifier: MIT
"""Dicts/lists/scalars to block YAML (stdlib only, enough for configs)."""

import json
import re

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*\Z")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _RESERVED:
        return s
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(s)


def dump(obj, indent=0):
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:" % (pad, scalar(k)))
                out.append(dump(v, indent + 1))
            elif isinstance(v, dict):
                out.append("%s%s: {}" % (pad, scalar(k)))
            elif isinstance(v, list):
                out.append("%s%s: []" % (pad, scalar(k)))
            else:
                out.append("%s%s: %s" % (pad, scalar(k), scalar(v)))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                inner = dump(v, indent + 1).split("\n")
                first = inner[0].lstrip()
                out.append("%s- %s" % (pad, first))
                out.extend(inner[1:])
            elif isinstance(v, list) and v:
                out.append("%s-" % pad)
                out.append(dump(v, indent + 1))
            else:
                out.append("%s- %s" % (pad, scalar(v)))
    else:
        out.append(pad + scalar(obj))
    return "\n".join(out)
