#!/bin/sh
# Installs what xmppguard needs from Debian's packages, by purpose, so that
# a production host gets only what it runs:
#   contrib/deps.sh --build     the compiler and the libraries' -dev
#                               packages: what `make` needs
#   contrib/deps.sh --runtime   what the daemon uses on a host: nftables,
#                               conntrack(8) to look at what it sees
#   contrib/deps.sh --package   what `make deb` needs beyond --build:
#                               dpkg-dev, debhelper, lintian, fakeroot
#   contrib/deps.sh --test      everything the tests and `make demo` use:
#                               the above, test tools, a browser, and real
#                               XMPP servers (see below)
#   contrib/deps.sh             the same as --test
#   contrib/deps.sh --check PURPOSE...
#                               exit 0 if all of it is installed; else
#                               name what is missing and how to install it
# Purposes combine: --build --runtime is what `make run` asks for.  Safe to
# run again: apt-get skips what is already there.
#
# The XMPP servers (Prosody, ejabberd) are there for the end-to-end tests,
# which run them by hand in network namespaces.  Their system services
# never start while the packages go in (a policy-rc.d refuses), and a
# server that was not installed before is left disabled and masked, so it
# never starts at boot to fight the host's own server for port 5222.  A
# server the host already had is left exactly as it was.
#
# crowdsec (its Local API, for the cluster tests, which start their own)
# is treated the same way, and installed offline: its postinst registers
# with CrowdSec's central API unless /etc/crowdsec/online_api_credentials.yaml
# exists and is not empty (README.Debian), so one is written first if
# there is none.  Only --test asks for it: never `make run`, `make
# install` nor the package.
set -eu

BUILD_PKGS="build-essential pkg-config libnetfilter-conntrack-dev
	libpcre2-dev libsqlite3-dev libcurl4-openssl-dev libmnl-dev
	libnftnl-dev libsystemd-dev libjansson-dev libstrophe-dev"
RUNTIME_PKGS="nftables conntrack"
PACKAGE_PKGS="dpkg-dev debhelper lintian fakeroot"
TEST_PKGS="libcmocka-dev clang sqlite3 iproute2 procps python3 ipset
	iptables util-linux libclang-rt-14-dev chromium hyperfine groff
	systemd-journal-remote man-db systemd strace"
E2E_PKGS="prosody prosody-modules ejabberd python3-slixmpp openssl lua5.4
	crowdsec curl"
# Packages whose system service must not start: name:unit.
SERVERS="prosody:prosody.service ejabberd:ejabberd.service
	crowdsec:crowdsec.service"

usage() {
	echo "usage: deps.sh [--check] [--build] [--runtime] [--package] [--test]" >&2
	exit 2
}

check=0 want=
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=1 ;;
	--build) want="$want $BUILD_PKGS" ;;
	--runtime) want="$want $RUNTIME_PKGS" ;;
	--package) want="$want $BUILD_PKGS $PACKAGE_PKGS" ;;
	--test) want="$want $BUILD_PKGS $RUNTIME_PKGS $PACKAGE_PKGS $TEST_PKGS
	    $E2E_PKGS" ;;
	*) usage ;;
	esac
	shift
done
[ -n "$want" ] || want="$BUILD_PKGS $RUNTIME_PKGS $PACKAGE_PKGS $TEST_PKGS
    $E2E_PKGS"
# One word per package, each once, in the order given (unquoted on
# purpose: the lists hold tabs and newlines).
# shellcheck disable=SC2086
want=$(echo $want | tr ' ' '\n' | awk '!seen[$0]++' | tr '\n' ' ')

installed() {	# installed PKG: 0 if dpkg has it installed
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = \
	    "install ok installed" ]
}

missing=
if command -v dpkg-query >/dev/null 2>&1; then
	for p in $want; do
		installed "$p" || missing="$missing $p"
	done
else
	# Not Debian: only the build can be checked, by its libraries.
	command -v pkg-config >/dev/null 2>&1 || missing=" pkg-config"
	for pc in libnetfilter_conntrack libpcre2-8 sqlite3 libcurl libmnl \
	    libnftnl libsystemd jansson libstrophe; do
		pkg-config --exists "$pc" 2>/dev/null || missing="$missing $pc"
	done
fi

if [ "$check" = 1 ]; then
	[ -z "$missing" ] && exit 0
	echo "xmppguard: missing packages:$missing" >&2
	echo "xmppguard: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root to install:$missing" >&2
	exit 1
fi

# The servers this run is about to install, not there before.
new_servers=
for s in $SERVERS; do
	case " $missing " in
	*" ${s%%:*} "*) new_servers="$new_servers ${s#*:}" ;;
	esac
done

export DEBIAN_FRONTEND=noninteractive
# crowdsec offline: no registration with the central API (see above).
case " $missing " in
*" crowdsec "*)
	if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
		mkdir -p /etc/crowdsec
		printf 'url: http://127.0.0.1:1/\nlogin: offline\npassword: offline\n' \
		    > /etc/crowdsec/online_api_credentials.yaml
	fi ;;
esac
apt-get update -qq
# A policy-rc.d that refuses every start keeps services from starting on a
# machine with an init system; one already there is left alone, and ours
# goes once the packages are in.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	policy=1
fi
# crowdsec is the one package a test can do without (the cluster tests
# then skip, saying so): if it is what fails, the rest still goes in.
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $missing; then
	rest=$(echo " $missing " | sed 's/ crowdsec / /')
	if [ "$rest" = " $missing " ] ||
	    ! apt-get install -y -qq --no-install-recommends $rest; then
		[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
		exit 1
	fi
	echo "deps.sh: crowdsec did not install; the cluster tests will" \
	    "skip" >&2
fi
[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
# New servers: disabled and masked (--root works without a running
# systemd, in a container or a chroot too).
for u in $new_servers; do
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --root=/ --quiet disable "$u" 2>/dev/null || true
		systemctl --root=/ --quiet mask "$u" 2>/dev/null ||
		    ln -sf /dev/null "/etc/systemd/system/$u"
	else
		mkdir -p /etc/systemd/system
		ln -sf /dev/null "/etc/systemd/system/$u"
	fi
	echo "deps.sh: $u installed for the tests: disabled and masked" \
	    "(systemctl unmask $u to use it)" >&2
done
