#!/bin/sh
# SPDX-License-Identifier: MIT
# The shipped alert and recording rules load and behave as their promtool
# unit tests say (thresholds, labels, annotation text).
set -eu
src="${SONDE_SRC:-$(dirname "$0")/../..}"
command -v promtool >/dev/null || { echo "SKIP: promtool not installed (package prometheus)"; exit 77; }
promtool check rules "$src/alerts/sonde-rules.yml"
promtool test rules "$src/alerts/tests/sonde-rules.test.yml"
