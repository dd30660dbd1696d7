#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages sonde needs, only those missing. Idempotent.
#   scripts/deps.sh build   - to build and run the agent
#   scripts/deps.sh test    - plus the test servers and tools
set -eu

BUILD_PKGS="cmake make gcc pkg-config clang llvm libbpf-dev bpftool libelf-dev
  libyaml-dev libmicrohttpd-dev libsystemd-dev zlib1g-dev libpcap-dev
  libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler libcapstone-dev curl
  ca-certificates"
TEST_PKGS="libcmocka-dev libclang-rt-14-dev python3 procps iproute2 valgrind
  nginx redis-server redis-tools memcached postgresql postgresql-contrib
  mariadb-server mariadb-client prometheus prometheus-node-exporter mtail wrk
  apache2-utils openssl libssl-dev nghttp2-client python3-grpcio golang-go haproxy
  golang-google-grpc-dev qemu-system-x86 busybox-static cpio kmod"

want="$BUILD_PKGS"
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "sonde: missing Debian packages:$missing" >&2
	echo "sonde: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi

echo "sonde: installing:$missing"
# Test servers are started by the tests themselves, never as system
# services: keep package scripts from starting them.
added_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	added_policy=1
fi
trap '[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
