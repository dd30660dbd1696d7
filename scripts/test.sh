#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing (test servers included), builds, and runs the
# whole suite through ctest:
#   1. build/       RelWithDebInfo: unit, fuzz-replay and integration tests,
#                   and the unit tests again under valgrind's memcheck
#   2. build-fuzz/  clang, ASan+UBSan and libFuzzer's coverage: the unit
#                   tests again, and every libFuzzer harness for a bounded
#                   time (SONDE_FUZZ_SECONDS, 10 s each)
# In the background from the first build on, each in a session of its own:
#   - the integration tests labelled "guest" (Debian's kernels booted under
#     emulation: minutes of counting, no timing asserted), at the normal
#     priority; their output is printed at the end;
#   - at the lowest priority, taking the CPU the tests leave idle (they wait
#     on servers much of the time): the Go programs test_ebpf_gotls runs
#     (built ahead into build/test-cache/gopeers; the test, last of the
#     integration tests, waits for any still building), and the build of 2
#     (its output in build/fuzz-build.log).
# SONDE_TEST_QUICK=1 skips 2.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test

export CTEST_OUTPUT_ON_FAILURE=1
status=0
quick=${SONDE_TEST_QUICK:-0}

scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo

guest_log=build/guest-tests.log
fuzz_log=build/fuzz-build.log
guest=
gobuild=
fuzzbuild=
stop_background() {
	for g in $guest $gobuild $fuzzbuild; do
		kill -- "-$g" 2>/dev/null || true
	done
}
trap stop_background EXIT
trap 'exit 130' INT TERM
setsid ctest --test-dir build -L guest >"$guest_log" 2>&1 &
guest=$!
# (scripts/lowprio.sh: at the lowest priority, in a session of its own)
setsid env -C tests/integration SONDE_BIN="$PWD/build/sonde" ../../scripts/lowprio.sh \
	python3 -B -m sondetest.gopeers >build/go-builds.log 2>&1 &
gobuild=$!
if [ "$quick" != 1 ]; then
	setsid scripts/lowprio.sh scripts/build.sh build-fuzz -DCMAKE_C_COMPILER=clang -DSONDE_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$fuzz_log" 2>&1 &
	fuzzbuild=$!
fi

ctest --test-dir build -j2 -L 'unit|fuzz' || status=1
ctest --test-dir build -L integration -LE guest || status=1
# what is left of the build ahead (its tests have run), and the fuzz build
# back to the normal priority
kill -- "-$gobuild" 2>/dev/null || true
gobuild=
if [ -n "$fuzzbuild" ]; then
	echo 0 >"/proc/$fuzzbuild/autogroup" 2>/dev/null || true
	renice -n 0 -g "$fuzzbuild" >/dev/null 2>&1 || true
fi
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
