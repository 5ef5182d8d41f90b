#!/bin/bash
# `make demo`: xmppguard against a real Prosody, in a sandbox, in one
# command, as root on Debian 12.
#
# It installs what it needs (contrib/deps.sh, then prosody, prosody-modules
# and python3-slixmpp with a policy-rc.d that keeps the package's service
# from starting), builds, and then works only inside what it creates: two
# network namespaces joined by a veth pair (server 192.0.2.1, clients on
# documentation addresses), and, for the server side, a private mount
# namespace with empty tmpfs over /var/log, /var/lib, /run (and
# /etc/xmppguard if the host has one), so that xmppguard really runs on its
# built-in defaults (no configuration file; it follows
# /var/log/prosody/prosody.log, keeps its store in /var/lib/xmppguard and
# its socket in /run/xmppguard) without touching the host's.  Prosody runs
# by hand from a config in the demo's temporary directory, logging to
# /var/log/prosody/prosody.log inside that mount namespace.  Two real users
# chat while a churn bot and a password guesser attack: the kernel caps
# refuse the bot's connection over the limit, the guesser is banned; the
# ban is shown in the kernel's set, then `xmppguard status`, `bans` and
# `report`.
#
# Everything it started is stopped by PID and everything it created is
# removed when it ends, also on Ctrl-C: the host's services, firewall and
# files (outside its temporary directory) are left as they were.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
XG="$TOP/xmppguard"
PY=/usr/bin/python3
CLIENT="$TOP/tests/e2e/xmpp.py"
SERVER_PKGS="prosody prosody-modules python3-slixmpp openssl lua5.4"
ALICE=198.51.100.10 BOB=198.51.100.11
GUESSER=203.0.113.20 CHURNER=203.0.113.30
STEP=0
HOLDER='' PROSODY='' XGPID='' CHAT='' POLICY='' T=''

BOLD='' PLAIN=''
if [ -t 1 ]; then
	BOLD=$(printf '\033[1m') PLAIN=$(printf '\033[0m')
fi

step() {
	STEP=$((STEP + 1))
	printf '\n%s%d. %s%s\n' "$BOLD" "$STEP" "$*" "$PLAIN"
}

show() {	# indented output
	sed 's/^/     /'
}

die() {
	echo "demo: $*" >&2
	exit 1
}

stop_pid() {	# stop_pid PID: SIGTERM, SIGKILL after 5 s
	local i
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	trap - EXIT INT TERM
	[ -n "$POLICY" ] && rm -f /usr/sbin/policy-rc.d
	if [ -n "$T" ]; then
		step "Cleaning up"
		stop_pid "$CHAT"
		if [ -n "$XGPID" ] && kill -0 "$XGPID" 2>/dev/null; then
			stop_pid "$XGPID"
			grep -E 'stopping|stopped' "$T/xmppguard.log" | show
		fi
		stop_pid "$PROSODY"
		stop_pid "$HOLDER"
		# Anything else in our namespaces was started by us too.
		for ns in $XG_NS_LIST; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$p" 2>/dev/null
			done
		done
		ns_cleanup
		echo "     namespaces deleted, processes stopped," \
		    "$T removed"
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "run me as root (sudo make demo)"
grep -qs 'ID=debian' /etc/os-release ||
    echo "demo: this is not Debian; going on, but it was made for Debian 12"

step "Installing what the demo needs (apt-get, once)"
sh "$TOP/contrib/deps.sh" --check 2>/dev/null || sh "$TOP/contrib/deps.sh" ||
    die "contrib/deps.sh failed"
missing=
for p in $SERVER_PKGS; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null |
	    grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "     installing:$missing"
	# Installing prosody would start the system's prosody service: a
	# policy-rc.d of our own refuses every service start during the
	# install (only if there is none already).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY=1
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing > /dev/null || die "apt-get failed"
	[ -n "$POLICY" ] && rm -f /usr/sbin/policy-rc.d
	POLICY=
	case $missing in
	*" prosody "*|*" prosody")
		# Nor should it start at the next boot.
		if [ -d /run/systemd/system ]; then
			systemctl disable --quiet prosody 2>/dev/null
			echo "     prosody's system service was installed but" \
			    "not started, and is disabled"
		fi
		;;
	esac
else
	echo "     all there: $SERVER_PKGS"
fi

step "Building xmppguard"
make -C "$TOP" --no-print-directory xmppguard build/xgload \
    > /tmp/xmppguard-demo-build.$$ 2>&1 ||
    { tail -n 30 /tmp/xmppguard-demo-build.$$; rm -f /tmp/xmppguard-demo-build.$$;
    die "the build failed"; }
rm -f /tmp/xmppguard-demo-build.$$
"$XG" version | show

step "Creating a sandbox: two network namespaces, a private mount namespace"
T=$(mktemp -d /tmp/xmppguard-demo.XXXXXX)
chmod 755 "$T"
# The helpers of the system tests: fail, wait_for_line, ns_setup...
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/e2e/servers.sh"
export XGLOAD="$TOP/build/xgload"	# netns.sh: ns_add_client_addrs
ns_setup
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM
ns_add_client_addrs "$CLI" "$ALICE" "$BOB"
ns_add_client_addrs "$CLI" "$GUESSER" "$GUESSER"
ns_add_client_addrs "$CLI" "$CHURNER" "$CHURNER"
# A process that holds the server side's mount namespace: empty tmpfs over
# the directories of the built-in defaults, seen by nothing else.
ip netns exec "$SRV" unshare --mount --propagation private bash -c '
	for d in /var/log /var/lib /run; do
		mount -t tmpfs -o mode=0755 xmppguard-demo "$d" || exit 1
	done
	if [ -d /etc/xmppguard ]; then
		mount -t tmpfs -o mode=0755 xmppguard-demo /etc/xmppguard ||
		    exit 1
	fi
	mkdir -p /var/log/prosody
	echo ready
	exec sleep 3600' > "$T/holder.out" 2>&1 &
HOLDER=$!
wait_for_line ready "$T/holder.out" 10
# $SANDBOX CMD: CMD inside the server's namespaces (nsenter execs CMD: for
# `$SANDBOX CMD &` $! is CMD's own PID; not a function, which would fork).
SANDBOX="nsenter -t $HOLDER -m -n"
echo "     server namespace $SRV: 192.0.2.1 (the XMPP server, xmppguard)"
echo "     client namespace $CLI: real users $ALICE, $BOB;" \
    "attackers $CHURNER (churn), $GUESSER (passwords)"
echo "     /var/log, /var/lib and /run are empty tmpfs in the server's" \
    "mount namespace"

step "Starting Prosody (Debian's, with mod_log_auth) on 192.0.2.1:5222"
P="$T/prosody"
e2e_prosody_conf "$P" /var/log/prosody/prosody.log 192.0.2.1 ||
    die "cannot write Prosody's config"
for u in alice bob; do
	e2e_prosody_register "$P" "$u" "$u-pw" || die "cannot register $u"
done
# shellcheck disable=SC2046
$SANDBOX $(e2e_prosody_cmd "$P") > "$T/prosody.out" 2>&1 &
PROSODY=$!
e2e_wait_port "$SRV" 192.0.2.1 5222 30 ||
    { cat "$T/prosody.out"; die "Prosody did not start"; }
echo "     config $P/prosody.cfg.lua, accounts alice and bob," \
    "log /var/log/prosody/prosody.log"

step "Starting xmppguard on its built-in defaults (no configuration file)"
$SANDBOX "$XG" check-config 2>&1 | sed -n '/^\[log /,/^$/p' | show
$SANDBOX "$XG" run --foreground > "$T/xmppguard.log" 2>&1 &
XGPID=$!
wait_for_line ready "$T/xmppguard.log" 20
grep -E 'ready|follow|warning' "$T/xmppguard.log" | show

step "Two real users log in and chat every second (they go on all along)"
ip netns exec "$CLI" timeout 600 "$PY" "$CLIENT" chat --server 192.0.2.1 \
    --a "$ALICE:alice:alice-pw" --b "$BOB:bob:bob-pw" --seconds 500 \
    --stop-file "$T/chat.stop" --ready-file "$T/chat.ready" \
    > "$T/chat.log" 2>&1 &
CHAT=$!
i=0
while [ ! -e "$T/chat.ready" ] && [ $i -lt 300 ]; do
	kill -0 "$CHAT" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
[ -e "$T/chat.ready" ] || { cat "$T/chat.log"; die "the users could not log in"; }
sed 's/^[0-9:]* //' "$T/chat.log" | show

# The kernel caps (on by default) refuse the connection over the limit
# with a reset, and nothing else: the client stops at its first refusal.
# An address that kept hammering would be banned (300 refusals in 10m).
step "Attack 1: $CHURNER opens XMPP streams over and over" \
    "(the limit: 120 an hour; the kernel refuses the one over it)"
ip netns exec "$CLI" timeout 300 "$PY" "$CLIENT" churn --server 192.0.2.1 \
    --src "$CHURNER" --count 300 --timeout 3 2>&1 | sed 's/^[0-9:]* //' |
    show
i=0
until $SANDBOX "$XG" status 2>/dev/null | grep -q "top: $CHURNER c2s"; do
	[ $i -lt 200 ] || die "the refusal of $CHURNER was not counted in 20 s"
	sleep 0.1
	i=$((i + 1))
done
echo "     the refusal, as xmppguard read it from the kernel (nflog):"
$SANDBOX "$XG" status 2>&1 | grep "^refused" | show

step "Attack 2: $GUESSER guesses alice's password" \
    "(the limit: 5 failed logins in 10 minutes)"
ip netns exec "$CLI" timeout 300 "$PY" "$CLIENT" guess --server 192.0.2.1 \
    --src "$GUESSER" --user alice --attempts 8 --timeout 5 2>&1 |
    sed 's/^[0-9:]* //' | grep -v results= | show
wait_for_line "ban: $GUESSER/" "$T/xmppguard.log" 20
echo "     what Prosody logged (mod_log_auth), read by xmppguard:"
$SANDBOX grep -m 2 "Failed authentication attempt.*$GUESSER" \
    /var/log/prosody/prosody.log | show
grep -E "(verdict|ban): $GUESSER/" "$T/xmppguard.log" |
    sed 's/^xmppguard: //' | show

step "The bans in the kernel: nft list set inet xmppguard ban4"
ip netns exec "$SRV" nft list set inet xmppguard ban4 | show
for a in "$CHURNER" "$GUESSER"; do
	ip netns exec "$CLI" "$PY" "$CLIENT" probe --server 192.0.2.1 \
	    --src "$a" --timeout 3 2>&1 | sed 's/^[0-9:]* //' | show
done

step "xmppguard status"
$SANDBOX "$XG" status 2>&1 | show

step "xmppguard bans"
$SANDBOX "$XG" bans 2>&1 | show

step "The real users, meanwhile"
touch "$T/chat.stop"
wait "$CHAT"
rc=$?
CHAT=
grep -E 'rounds=|disconnected' "$T/chat.log" | sed 's/^[0-9:]* //' | show
if [ $rc -eq 0 ]; then
	echo "     every message arrived and neither session was cut"
else
	echo "     the chat went wrong (status $rc): see above"
fi

# The daemon sums connections per address and hour in memory and writes
# them to the store once a minute and when it stops: stopping it now puts
# this short demo's traffic into the report.  The bans stay in the kernel.
step "Stopping xmppguard (it writes its hourly summaries as it stops)"
stop_pid "$XGPID"
XGPID=
grep -E 'stopping|stopped' "$T/xmppguard.log" | show

step "xmppguard report --since 1h (read-only, from the store)"
$SANDBOX "$XG" report --since 1h 2>&1 | show
