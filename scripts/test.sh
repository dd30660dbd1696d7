#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing (test servers included), builds, and runs the
# whole suite through ctest:
#   1. build/       RelWithDebInfo: unit, fuzz-replay and integration tests,
#                   and the unit tests again under valgrind's memcheck
#   2. build-fuzz/  clang, ASan+UBSan and libFuzzer's coverage: the unit
#                   tests again, and every libFuzzer harness for a bounded
#                   time (SONDE_FUZZ_SECONDS, 10 s each)
# Two jobs run in the background from the first build on, at a low
# priority while the tests that count and time things run, taking the CPU
# those leave idle (they wait on servers much of the time):
#   - the integration tests labelled "guest" (Debian's kernels booted under
#     emulation: minutes of counting, no timing asserted), back to the
#     normal priority beside valgrind, ASan and libFuzzer; their output is
#     printed at the end;
#   - the build of 2 (its output in build/fuzz-build.log).
# SONDE_TEST_QUICK=1 skips 2.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test

export CTEST_OUTPUT_ON_FAILURE=1
status=0
quick=${SONDE_TEST_QUICK:-0}

scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo

# `lowprio NICE command...`: the command in a session of its own (so that
# a stop takes its whole group) whose autogroup has that nice value. The
# kernel's scheduler weighs sessions (autogroups) against each other by
# the autogroup's own nice, not its tasks': a plain `nice` does not yield
# to the tests, which run their servers and agents in sessions of their own.
lowprio() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null || true; exec nice -n "$0" "$@"' "$@"
}
# `normalprio PID`: PID's session (and process group) back to nice 0.
normalprio() {
	echo 0 >"/proc/$1/autogroup" 2>/dev/null || true
	renice -n 0 -g "$1" >/dev/null 2>&1 || true
}
guest_log=build/guest-tests.log
fuzz_log=build/fuzz-build.log
guest=
fuzzbuild=
stop_background() {
	for g in $guest $fuzzbuild; do
		kill -- "-$g" 2>/dev/null || true
	done
}
trap stop_background EXIT
trap 'exit 130' INT TERM
# Where a lowered priority may not be given back, the guest tests start
# after the integration tests instead.
if nice -n 1 sh -c 'renice -n 0 -p $$' >/dev/null 2>&1; then
	lowprio 10 ctest --test-dir build -L guest >"$guest_log" 2>&1 &
	guest=$!
fi
if [ "$quick" != 1 ]; then
	lowprio 19 scripts/build.sh build-fuzz -DCMAKE_C_COMPILER=clang -DSONDE_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$fuzz_log" 2>&1 &
	fuzzbuild=$!
fi

ctest --test-dir build -j2 -L 'unit|fuzz' || status=1
# One at a time (they share a lock), but test_ebpf_gotls beside them.
ctest --test-dir build -j2 -L integration -LE guest || status=1
if [ -n "$guest" ]; then
	normalprio "$guest"
else
	setsid ctest --test-dir build -L guest >"$guest_log" 2>&1 &
	guest=$!
fi
[ -z "$fuzzbuild" ] || normalprio "$fuzzbuild"
ctest --test-dir build -j2 -L valgrind || status=1

if [ -n "$fuzzbuild" ]; then
	if wait "$fuzzbuild"; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		ctest --test-dir build-fuzz -j2 -L 'unit|fuzz' || status=1
	else
		cat "$fuzz_log"
		echo "sonde: the sanitizer/libFuzzer build (build-fuzz) failed" >&2
		status=1
	fi
	fuzzbuild=
fi

echo "sonde: waiting for the guest-kernel tests (output: $guest_log)"
wait $guest || status=1
cat "$guest_log"

if [ $status -ne 0 ]; then
	echo "sonde: test suite FAILED" >&2
fi
exit $status
