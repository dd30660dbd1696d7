#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs the agent in the foreground on
# the default configuration: metrics on http://127.0.0.1:9745/metrics.
# Extra arguments go to sonde (e.g. --config FILE). Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ $# -eq 0 ]; then
	set -- --config packaging/sonde.yaml
fi
echo "sonde: metrics on http://127.0.0.1:9745/metrics (Ctrl-C to stop)"
exec build/sonde "$@"
