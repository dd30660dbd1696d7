#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing (test servers included), builds, and runs the
# whole suite through ctest:
#   1. build/       RelWithDebInfo: unit, fuzz-replay and integration tests,
#                   and the unit tests again under valgrind's memcheck
#   2. build-fuzz/  clang, ASan+UBSan and libFuzzer's coverage: the unit
#                   tests again, and every libFuzzer harness for a bounded
#                   time (SONDE_FUZZ_SECONDS, 10 s each)
# The integration tests labelled "guest" (Debian's kernels booted under
# emulation: minutes of counting, no timing asserted) run in the
# background from the build on, at a low CPU priority until the other
# integration tests are done; their output is printed at the end.
# SONDE_TEST_QUICK=1 skips 2.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test

export CTEST_OUTPUT_ON_FAILURE=1
status=0

scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
guest_log=build/guest-tests.log
guest=
# In its own process group (setsid), so that a stop takes qemu with it.
start_guest() {
	setsid nice -n "$1" ctest --test-dir build -L guest >"$guest_log" 2>&1 &
	guest=$!
}
trap '[ -z "$guest" ] || kill -- -$guest 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
# Niced while the tests that time things run, it takes the CPU they leave
# idle (they wait on servers much of the time); beside valgrind, ASan and
# libFuzzer it runs at the normal priority. Where a niced process may not
# be given its priority back, it starts after those tests instead.
if nice -n 1 sh -c 'renice -n 0 -p $$' >/dev/null 2>&1; then
	start_guest 10
fi
ctest --test-dir build -j2 -L 'unit|fuzz' || status=1
# One at a time (they share a lock), but test_ebpf_gotls beside them.
ctest --test-dir build -j2 -L integration -LE guest || status=1
if [ -n "$guest" ]; then
	renice -n 0 -g "$guest" >/dev/null 2>&1 || true # (done already: no group)
else
	start_guest 0
fi
ctest --test-dir build -j2 -L valgrind || status=1

if [ "${SONDE_TEST_QUICK:-0}" != 1 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	scripts/build.sh build-fuzz -DCMAKE_C_COMPILER=clang -DSONDE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ctest --test-dir build-fuzz -j2 -L 'unit|fuzz' || status=1
fi

echo "sonde: waiting for the guest-kernel tests (output: $guest_log)"
wait $guest || status=1
cat "$guest_log"

if [ $status -ne 0 ]; then
	echo "sonde: test suite FAILED" >&2
fi
exit $status
