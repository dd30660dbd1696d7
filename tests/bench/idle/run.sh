#!/bin/bash
# SPDX-License-Identifier: MIT
# Idle footprint: sonde (default config, free port) and prometheus-node-exporter
# side by side for DURATION seconds, both scraped every SCRAPE_INTERVAL seconds
# like Prometheus would. Samples RSS (VmRSS, /proc/<pid>/status) every second
# and CPU (utime+stime, /proc/<pid>/stat) over the run; prints a table.
#
#   SONDE_BIN=build/sonde tests/bench/idle/run.sh            # 60 s
#   DURATION=20 SCRAPE_INTERVAL=5 tests/bench/idle/run.sh
#
# Use a release build (not the Asan one) for numbers worth comparing.
# Goal: sonde RSS < 15 MB and CPU < 0.5% of one core.
set -euo pipefail

DURATION=${DURATION:-60}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-15}
SONDE_BIN=${SONDE_BIN:-${SONDE_BUILD:-build}/sonde}
NE_BIN=${NE_BIN:-prometheus-node-exporter}

[ -x "$SONDE_BIN" ] || { echo "SONDE_BIN=$SONDE_BIN is not executable" >&2; exit 2; }
command -v "$NE_BIN" >/dev/null || { echo "SKIP: $NE_BIN not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

dir=$(mktemp -d /tmp/sonde-bench-idle.XXXXXX)
sonde_pid= ne_pid=
cleanup() {
	for p in $sonde_pid $ne_pid; do
		kill "$p" 2>/dev/null || true
	done
	for p in $sonde_pid $ne_pid; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

sport=$(free_port)
nport=$(free_port)
# Default configuration except the listen port.
printf 'prometheus:\n  listen: "127.0.0.1:%s"\n' "$sport" >"$dir/sonde.yaml"
"$SONDE_BIN" --config "$dir/sonde.yaml" >"$dir/sonde.log" 2>&1 &
sonde_pid=$!
"$NE_BIN" --web.listen-address="127.0.0.1:$nport" >"$dir/ne.log" 2>&1 &
ne_pid=$!

for _ in $(seq 100); do
	if curl -sf "http://127.0.0.1:$sport/metrics" >/dev/null &&
		curl -sf "http://127.0.0.1:$nport/metrics" >/dev/null; then
		break
	fi
	sleep 0.1
done
kill -0 "$sonde_pid" || { echo "sonde exited:" >&2; cat "$dir/sonde.log" >&2; exit 1; }

hz=$(getconf CLK_TCK)
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# BPF maps mmapped by the agent (ring buffers) are kernel memory that shows
# up in RSS; reported apart so the agent's own footprint stays visible.
bpf_kb() { awk '/^[0-9a-f]+-/ { m = ($6 == "anon_inode:bpf-map") } m && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps"; }

s_t0=$(ticks "$sonde_pid")
n_t0=$(ticks "$ne_pid")
start=$(date +%s.%N)
s_sum=0 n_sum=0 s_max=0 n_max=0 samples=0 scrapes=0 s_bpf=0
for ((i = 0; i < DURATION; i++)); do
	if ((i % SCRAPE_INTERVAL == 0)); then
		curl -sf "http://127.0.0.1:$sport/metrics" >"$dir/sonde.txt"
		curl -sf "http://127.0.0.1:$nport/metrics" >"$dir/ne.txt"
		scrapes=$((scrapes + 1))
	fi
	s=$(rss_kb "$sonde_pid")
	n=$(rss_kb "$ne_pid")
	s_sum=$((s_sum + s)) n_sum=$((n_sum + n)) samples=$((samples + 1))
	((s > s_max)) && s_max=$s
	((n > n_max)) && n_max=$n
	b=$(bpf_kb "$sonde_pid")
	((b > s_bpf)) && s_bpf=$b
	sleep 1
done
end=$(date +%s.%N)
s_t1=$(ticks "$sonde_pid")
n_t1=$(ticks "$ne_pid")
s_series=$(grep -vc '^#' "$dir/sonde.txt" || true)
n_series=$(grep -vc '^#' "$dir/ne.txt" || true)

awk -v hz="$hz" -v t0="$start" -v t1="$end" -v samples="$samples" -v scrapes="$scrapes" \
	-v s_sum="$s_sum" -v s_max="$s_max" -v s_cpu=$((s_t1 - s_t0)) -v s_series="$s_series" -v s_bpf="$s_bpf" \
	-v n_sum="$n_sum" -v n_max="$n_max" -v n_cpu=$((n_t1 - n_t0)) -v n_series="$n_series" 'BEGIN {
	el = t1 - t0
	printf "idle run: %.0f s, %d scrapes each, RSS sampled %d times\n", el, scrapes, samples
	printf "%-16s %12s %12s %14s %10s\n", "process", "RSS avg MB", "RSS max MB", "CPU % of core", "series"
	printf "%-16s %12.1f %12.1f %14.3f %10d\n", "sonde", s_sum / samples / 1024, s_max / 1024, s_cpu / hz / el * 100, s_series
	printf "%-16s %12.1f %12.1f %14.3f %10d\n", "node_exporter", n_sum / samples / 1024, n_max / 1024, n_cpu / hz / el * 100, n_series
	printf "sonde RSS max without mmapped BPF maps (%.1f MB of ring buffers): %.1f MB\n", s_bpf / 1024, (s_max - s_bpf) / 1024
	goal = (s_max / 1024 < 15 && s_cpu / hz / el * 100 < 0.5) ? "met" : "NOT met"
	printf "goal (sonde RSS < 15 MB, CPU < 0.5%% of a core): %s\n", goal
}'
