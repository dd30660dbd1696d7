#!/bin/sh
# SPDX-License-Identifier: MIT
# Log tailing benchmark: sonde vs mtail on the same generated nginx
# combined log, then sonde's CPU in follow mode.
#   tests/bench/logs/run.sh [BUILD_DIR] [SIZE_MIB]
# BUILD_DIR (default ./build) must hold sonde and
# probes/logs/sonde_logs_writer (cmake --build BUILD --target sonde
# sonde_logs_writer sonde_logs_parse_bench). SIZE_MIB defaults to 1024.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
size=${2:-1024}
exec python3 "$here/bench.py" "$build" "$size"
