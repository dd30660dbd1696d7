#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing (test servers included), builds, and runs the
# whole suite through ctest:
#   1. build/       RelWithDebInfo: unit, fuzz-replay and integration tests,
#                   and the unit tests again under valgrind's memcheck
#   2. build-asan/  ASan+UBSan: unit and fuzz-replay tests
#   3. build-fuzz/  clang libFuzzer: every harness for a bounded time
# The integration tests labelled "guest" (Debian's kernels booted under
# emulation: minutes of counting, no timing) run in the background from
# the valgrind phase on, beside phases that time nothing either; their
# output is printed at the end. SONDE_TEST_QUICK=1 skips 2 and 3.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test

export CTEST_OUTPUT_ON_FAILURE=1
status=0

scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build -j2 -L 'unit|fuzz' || status=1
ctest --test-dir build -L integration -LE guest || status=1
guest_log=build/guest-tests.log
# its own process group (setsid), so that a stop takes qemu with it
setsid ctest --test-dir build -L guest >"$guest_log" 2>&1 &
guest=$!
trap 'kill -- -$guest 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
ctest --test-dir build -j2 -L valgrind || status=1

if [ "${SONDE_TEST_QUICK:-0}" != 1 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Asan
	ctest --test-dir build-asan -j2 -L 'unit|fuzz' || status=1

	scripts/build.sh build-fuzz -DCMAKE_C_COMPILER=clang -DSONDE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ctest --test-dir build-fuzz -j2 -L fuzz || status=1
fi

echo "sonde: waiting for the guest-kernel tests (output: $guest_log)"
wait $guest || status=1
cat "$guest_log"

if [ $status -ne 0 ]; then
	echo "sonde: test suite FAILED" >&2
fi
exit $status
