#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scrape benchmark: sonde's exporter serving 10k registry series vs
# prometheus-node-exporter on the same host, same client, same run.
# Builds nothing: give it a build dir where sonde_bench_scrape exists
# (cmake --build BUILD --target sonde_bench_scrape).
#   usage: run.sh BUILD_DIR [SCRAPES=200] [SERIES=10000]
set -euo pipefail

BUILD=${1:?usage: run.sh BUILD_DIR [SCRAPES] [SERIES]}
N=${2:-200}
SERIES=${3:-10000}
BENCH=$(find "$BUILD" -name sonde_bench_scrape -type f -perm -u+x 2>/dev/null | head -n1)
if [ -z "$BENCH" ]; then
	echo "sonde_bench_scrape not found under $BUILD (cmake --build $BUILD --target sonde_bench_scrape)" >&2
	exit 2
fi
NE=$(command -v prometheus-node-exporter || command -v node_exporter || true)

tmp=$(mktemp -d)
SPID= NPID=
cleanup() {
	exec 3>&- 2>/dev/null || true
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sonde side: serves until its stdin (a fifo we hold open) closes
mkfifo "$tmp/in"
"$BENCH" serve --series "$SERIES" <"$tmp/in" >"$tmp/serve.out" 2>&1 &
SPID=$!
exec 3>"$tmp/in"
for _ in $(seq 100); do grep -q '^port ' "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
SPORT=$(awk '/^port /{print $2}' "$tmp/serve.out")
[ -n "$SPORT" ] || { cat "$tmp/serve.out" >&2; exit 1; }

if [ -n "$NE" ]; then
	NPORT=$(free_port)
	"$NE" --web.listen-address="127.0.0.1:$NPORT" >"$tmp/ne.log" 2>&1 &
	NPID=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$NPORT/metrics" >/dev/null 2>&1 && break
		sleep 0.1
	done
fi

echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $N scrapes per row"
echo "# in-process render of $SERIES registry series (snapshot + format):"
"$BENCH" render --series "$SERIES" --iters 100 | tr ' ' '\n' | sed 's/^/#   /'

row() { # name pid port flags...
	local name=$1 pid=$2 port=$3
	shift 3
	local out
	out=$("$BENCH" scrape --port "$port" --pid "$pid" --n "$N" "$@")
	# shellcheck disable=SC2086
	printf '%-28s %s\n' "$name" "$out"
}

{
	row "sonde text" "$SPID" "$SPORT"
	row "sonde text+gzip" "$SPID" "$SPORT" --gzip
	row "sonde openmetrics+gzip" "$SPID" "$SPORT" --gzip --om
	if [ -n "$NE" ]; then
		row "node_exporter text" "$NPID" "$NPORT"
		row "node_exporter text+gzip" "$NPID" "$NPORT" --gzip
	fi
} >"$tmp/rows"

awk '
function kv(s, k,   a, i, n) { n = split(s, a, " "); for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2); return "" }
{
	name = substr($0, 1, 28); sub(/ +$/, "", name); rest = substr($0, 29)
	s = kv(rest, "samples"); b = kv(rest, "body_bytes"); p50 = kv(rest, "p50_ms"); p99 = kv(rest, "p99_ms")
	c = kv(rest, "cpu_ms_per_scrape"); u = kv(rest, "cpu_us_per_sample")
	names[NR] = name; S[NR] = s; B[NR] = b; P50[NR] = p50; P99[NR] = p99; C[NR] = c; U[NR] = u
}
END {
	printf "%-26s %9s %10s %9s %9s %12s %12s\n", "target", "samples", "body_B", "p50_ms", "p99_ms", "cpu_ms/scr", "cpu_us/samp"
	for (i = 1; i <= NR; i++)
		printf "%-26s %9s %10s %9s %9s %12s %12s\n", names[i], S[i], B[i], P50[i], P99[i], C[i], U[i]
	for (i = 1; i <= NR; i++) { if (names[i] == "sonde text") st = U[i]; if (names[i] == "sonde text+gzip") sg = U[i]
		if (names[i] == "node_exporter text") nt = U[i]; if (names[i] == "node_exporter text+gzip") ng = U[i] }
	if (nt != "" && st > 0) printf "CPU per sample, node_exporter / sonde: text %.1fx", nt / st
	if (ng != "" && sg > 0) printf ", gzip %.1fx", ng / sg
	if (nt != "") printf "\n"
}' "$tmp/rows"
