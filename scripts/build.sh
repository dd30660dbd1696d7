#!/bin/sh
# SPDX-License-Identifier: MIT
# Configures and builds sonde into DIR (default: build/) with extra cmake args.
#   scripts/build.sh [DIR] [cmake args...]
set -eu
cd "$(dirname "$0")/.."
dir="${1:-build}"
[ $# -gt 0 ] && shift
ebpf=ON
if [ ! -r /sys/kernel/btf/vmlinux ] || ! command -v bpftool >/dev/null || ! command -v clang >/dev/null; then
	echo "sonde: no BTF, bpftool or clang: building without eBPF probes" >&2
	ebpf=OFF
fi
cmake -S . -B "$dir" -DSONDE_WITH_EBPF="$ebpf" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
