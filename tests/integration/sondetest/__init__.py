# SPDX-License-Identifier: MIT
"""sondetest: the shared harness of sonde's integration tests (stdlib only).

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sondetest import Agent, Redis, skip

See docs/parts/itest-ARCH.md for the conventions.
"""

import sys

# Tests run from the source tree: keep __pycache__ out of it (the package's
# own __init__ is cached before this line runs; tests set the flag first).
sys.dont_write_bytecode = True

from .agent import Agent, http_get, sonde_bin, test_cache
from .clients import MemcacheClient, RespClient, RespError
from .mysqlwire import MysqlClient, MysqlError
from .promtext import Histogram, Metrics, ParseError, parse
from .server import Server
from .sqlmix import mixed_statements
from .servers import (HeldUpstream, MariaDB, Memcached, Nginx, NodeExporter, Postgres,
                      Prometheus, Redis)
from .util import (DEFAULT_TIMEOUT, SKIP, Checks, HarnessError, free_port, https_connection,
                   port_open, run, skip, stop_process, tail, temp_dir, wait_until, which)
from . import cgroups, ebpf, grpcpeers

__all__ = [
    "Agent", "http_get", "sonde_bin", "test_cache", "MysqlClient", "MysqlError", "MemcacheClient", "RespClient", "RespError",
    "Histogram", "Metrics", "ParseError", "parse", "Server", "HeldUpstream", "MariaDB", "Memcached",
    "mixed_statements", "Nginx", "NodeExporter", "Postgres", "Prometheus", "Redis", "DEFAULT_TIMEOUT",
    "SKIP", "Checks", "HarnessError", "free_port", "https_connection", "port_open", "run", "skip", "stop_process",
    "tail", "temp_dir", "wait_until", "which", "cgroups", "ebpf", "grpcpeers",
]
