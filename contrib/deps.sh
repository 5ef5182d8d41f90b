#!/bin/sh
# Installs what xmppguard needs to build and to run its tests, from Debian's
# packages.  Safe to run again: apt-get skips what is already there.
#   contrib/deps.sh          build + test dependencies
#   contrib/deps.sh --check  exit 0 if all build dependencies are present
set -eu

BUILD_PKGS="build-essential pkg-config libnetfilter-conntrack-dev libpcre2-dev
	libsqlite3-dev libcurl4-openssl-dev libinih-dev"
TEST_PKGS="libcmocka-dev clang sqlite3 iproute2 nftables conntrack procps
	python3 ipset iptables util-linux libclang-rt-14-dev"

if [ "${1:-}" = "--check" ]; then
	for c in clang sqlite3 ip nft conntrack python3 ipset iptables \
	    setpriv; do
		command -v "$c" >/dev/null 2>&1 || exit 1
	done
	exec pkg-config --exists libnetfilter_conntrack libpcre2-8 sqlite3 \
	    libcurl inih cmocka
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root to install: $BUILD_PKGS $TEST_PKGS" | tr -s '\t\n' '  ' >&2
	echo >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $BUILD_PKGS $TEST_PKGS
