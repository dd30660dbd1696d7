# SPDX-License-Identifier: MIT
"""Packages of another Debian suite than this machine's (another release,
or this one's backports), downloaded with apt but not installed: apt reads
package lists of its own, kept under a cache folder, for the suites asked,
from the mirrors this machine's sources name, signed by Debian's archive
keys. Used for Debian's other kernels (guestkernel) and for a newer Go
(gopeers)."""

import os
import re

from .util import HarnessError, run

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def host_suite():
    """This machine's Debian release (its codename: bookworm)."""
    try:
        with open("/etc/os-release") as f:
            m = re.search(r"^VERSION_CODENAME=\"?(\w+)", f.read(), re.M)
    except OSError:
        m = None
    if not m:
        raise HarnessError("/etc/os-release names no VERSION_CODENAME")
    return m.group(1)


def apt_options(cache, dists):
    """Options that make apt see the suites `dists` (main only; names like
    bookworm-backports or bullseye-security: those ending -security from
    this machine's security mirror, the others from its main one) instead
    of this machine's sources, with package lists of their own under
    `cache`/apt, updated now. None are needed for this machine's own suite
    (dists == [host_suite()]): []."""
    host = host_suite()
    if list(dists) == [host]:
        return []
    if not os.path.exists(KEYRING):
        raise HarnessError("%s not found (debian-archive-keyring)" % KEYRING)
    out = run(["apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE)"], timeout=60)
    repos = dict(reversed(line.split()) for line in out.splitlines() if len(line.split()) == 2)
    if host not in repos or host + "-security" not in repos:
        raise HarnessError("apt's sources name no %s and %s-security archive: %r"
                           % (host, host, repos))
    base = os.path.join(os.path.abspath(cache), "apt")  # apt reads relative paths from /
    for d in ("lists/partial", "cache", "parts"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    sources = os.path.join(base, "sources.list")
    with open(sources, "w") as f:
        for dist in dists:
            uri = repos[host + "-security"] if dist.endswith("-security") else repos[host]
            f.write("deb [signed-by=%s] %s %s main\n" % (KEYRING, uri, dist))
    opts = []
    for key, value in (("Dir::Etc::SourceList", sources), ("Dir::Etc::SourceParts", "parts"),
                       ("Dir::State::Lists", "lists"), ("Dir::Cache", "cache")):
        opts += ["-o", "%s=%s" % (key, os.path.join(base, value))]
    try:
        run(["apt-get", "-q", "update"] + opts, timeout=600)
    except HarnessError as e:
        raise HarnessError("apt-get update for %s: %s" % (" ".join(dists), e))
    return opts


def packages(pattern, apt_opts):
    """Names of the packages matching the regular expression `pattern`
    (apt-cache search --names-only)."""
    out = run(["apt-cache", "search", "--names-only", pattern] + apt_opts, timeout=60)
    return [line.split(" - ")[0].strip() for line in out.splitlines() if " - " in line]


def download(pkg, where, apt_opts):
    """The .deb of `pkg` (its candidate version) in `where`, fetched once."""
    out = run(["apt-cache", "policy", pkg] + apt_opts, timeout=60)
    m = re.search(r"Candidate:\s*(\S+)", out)
    if not m or m.group(1) == "(none)":
        raise HarnessError("apt knows no candidate for %s: %s" % (pkg, out.strip()))
    prefix = "%s_%s_" % (pkg, m.group(1).replace(":", "%3a"))

    def have():
        return sorted(f for f in os.listdir(where) if f.startswith(prefix) and f.endswith(".deb"))
    if not have():
        # apt-get download works in the current directory
        try:
            run(["apt-get", "download", "-q", pkg] + apt_opts, timeout=600, cwd=where)
        except HarnessError as e:
            raise HarnessError("%s (stale package lists? apt-get update)" % e)
    if not have():
        left = [f for f in os.listdir(where) if f.startswith(pkg + "_")]
        raise HarnessError("apt-get download %s left %s, no %s*.deb" % (pkg, left, prefix))
    return os.path.join(where, have()[0])
