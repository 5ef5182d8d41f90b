#!/bin/sh
# Installs what xmppguard needs to build and to run its tests, from Debian's
# packages.  Safe to run again: apt-get skips what is already there.
#   contrib/deps.sh          build + test dependencies
#   contrib/deps.sh --check  exit 0 if all of them are present
set -eu

BUILD_PKGS="build-essential pkg-config libnetfilter-conntrack-dev libpcre2-dev
	libsqlite3-dev libcurl4-openssl-dev libmnl-dev"
TEST_PKGS="libcmocka-dev clang sqlite3 iproute2 nftables conntrack procps
	python3 ipset iptables util-linux libclang-rt-14-dev chromium hyperfine
	groff man-db systemd"
# Real XMPP servers and clients for the end-to-end tests and make demo.
# Their system services must not start: the tests run them by hand in
# network namespaces (see below).
E2E_PKGS="prosody prosody-modules ejabberd python3-slixmpp openssl lua5.4"

if [ "${1:-}" = "--check" ]; then
	for c in clang sqlite3 ip nft conntrack python3 ipset iptables \
	    setpriv chromium hyperfine groff systemd-analyze prosody \
	    ejabberdctl openssl; do
		command -v "$c" >/dev/null 2>&1 || exit 1
	done
	[ -e /usr/lib/prosody/modules/mod_log_auth ] || exit 1
	/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || exit 1
	exec pkg-config --exists libnetfilter_conntrack libpcre2-8 sqlite3 \
	    libcurl libmnl cmocka
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root to install: $BUILD_PKGS $TEST_PKGS $E2E_PKGS" |
	    tr -s '\t\n' '  ' >&2
	echo >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A policy-rc.d that refuses every start keeps the servers' services from
# starting on a machine with an init system; one already there is left
# alone, and ours goes once the packages are in.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	policy=1
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $BUILD_PKGS $TEST_PKGS \
    $E2E_PKGS || { [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
