#!/bin/sh
# SPDX-License-Identifier: MIT
# Overhead of the eBPF probe: server throughput with the agent attached vs
# without, agent CPU per observed request, events lost, agent RSS.
# Usage: SONDE_BIN=build/sonde tests/bench/ebpf/run.sh [--seconds 5] [--rounds 3] [--out FILE]
# Needs root (BPF), nginx, wrk, redis-server/redis-benchmark, PostgreSQL + pgbench;
# h2load (nghttp2-client) for --only nginx-h2.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${SONDE_BIN:-}" ]; then
	for b in "$here/../../../build/sonde" /work/build*/sonde; do
		if [ -x "$b" ]; then SONDE_BIN=$b; break; fi
	done
fi
export SONDE_BIN
exec python3 -B "$here/bench.py" "$@"
