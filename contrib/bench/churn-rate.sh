#!/bin/bash
# How fast this machine makes and closes TCP connections, and whether a
# plain `conntrack -E` keeps up with the events they cause.
#
#   contrib/bench/churn-rate.sh [-n CONNECTIONS] [-j "JOBS..."] [-r "RATES..."]
#       [--events] [-b CONNTRACK_BUFFER]
#
#   -n  connections per run (default 100000)
#   -j  list of xgload worker counts to try (default "1 2 3")
#   --events  instead of the top speed, run at each rate of -r (default
#       "1000 2000 5000 0"; 0 is flat out) with `conntrack -E -e NEW,DESTROY`
#       listening, and count what it saw against what was made
#   -b  conntrack's netlink buffer for --events (default: the kernel's)
#
# Top speed: one line per path (veth between two namespaces, loopback
# inside one) and worker count:
#   path=veth jobs=2 made=... rate=...
# Events: one line per path and rate:
#   path=loopback rate=... made=... new=... destroy=... enobufs=...
#       netlink_drops=...
# As in ct-ulogd2.sh, everything happens inside namespaces this script makes
# and removes, with TIME_WAIT at 1 s in the server's, so DESTROY events come
# within the run (in the garbage collector's bursts).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=100000 JOBS="1 2 3" RATES="1000 2000 5000 0" EVENTS=0 CBUF=
PORT=5222

usage() {
	sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in -n|-j|-r|-b) [ $# -ge 2 ] || usage ;; esac
	case $1 in
	-n) N=$2; shift ;;
	-j) JOBS=$2; shift ;;
	-r) RATES=$2; shift ;;
	-b) CBUF=$2; shift ;;
	--events) EVENTS=1 ;;
	*) usage ;;
	esac
	shift
done
case $N$(echo $JOBS $RATES | tr -d ' ')${CBUF:-0} in *[!0-9]*) usage ;; esac

[ "$(id -u)" -eq 0 ] || fail "run as root (network namespaces)"
T=$(mktemp -d /tmp/xg-bench.XXXXXX)
trap 'ns_cleanup; rm -rf "$T"' EXIT
ns_require
xgload_build
ns_setup
trap 'ns_cleanup; rm -rf "$T"' EXIT
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_events=1 \
    net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
    fail "conntrack sysctls in $SRV"
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.250
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1,127.0.0.1 \
    -p $PORT --seconds 3600
wait_for_line 'listening' "$T/serve.log" 5

# churn PATH JOBS RATE: one run; prints xgload's line.
churn() {
	local ns=$CLI dst=192.0.2.1 srcs=198.51.100.1-198.51.100.250
	if [ "$1" = loopback ]; then
		ns=$SRV dst=127.0.0.1 srcs=127.0.1.1-127.0.1.250
	fi
	ns_exec "$ns" "$XGLOAD" churn -s $srcs -d $dst -p $PORT -n "$N" \
	    -j "$2" -r "$3" --seconds 600
}

# Waits until the server's table is empty: every DESTROY has been sent.
table_drain() {
	local i=0
	while [ "$(ns_exec "$SRV" cat /proc/sys/net/netfilter/nf_conntrack_count)" -gt 0 ]; do
		i=$((i + 1))
		[ $i -le 180 ] || return 1
		sleep 1
	done
}

field() {
	sed -n "s/.* $1=\([0-9.]*\).*/\1/p"
}

if [ $EVENTS -eq 0 ]; then
	for path in veth loopback; do
		for j in $JOBS; do
			table_drain
			out=$(churn $path "$j" 0)
			echo "path=$path jobs=$j made=$(echo "$out" | field ok)" \
			    "rate=$(echo "$out" | field rate)" \
			    "failed=$(echo "$out" | field failed)"
		done
	done
	exit 0
fi

for path in veth loopback; do
	for rate in $RATES; do
		table_drain
		ns_spawn "$SRV" "$T/events" conntrack -E -p tcp -e NEW,DESTROY \
		    ${CBUF:+-b "$CBUF"}
		ct=$NS_PID
		sleep 0.5
		out=$(churn $path 2 "$rate")
		table_drain
		sleep 2
		# The Drops column of the listener's netlink socket.
		inodes=$(ls -l "/proc/$ct/fd" | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' |
		    tr '\n' ' ')
		drops=$(ns_exec "$SRV" cat /proc/net/netlink |
		    awk -v i=" $inodes" 'NR > 1 && index(i, " " $10 " ") { d += $9 }
		    END { print d + 0 }')
		ns_stop "$ct"
		echo "path=$path rate=$(echo "$out" | field rate) asked=$rate" \
		    "made=$(echo "$out" | field ok)" \
		    "new=$(grep -c 'NEW.*dport='$PORT "$T/events")" \
		    "destroy=$(grep -c 'DESTROY.*dport='$PORT "$T/events")" \
		    "enobufs=$(grep -c ENOBUFS "$T/events")" \
		    "netlink_drops=$drops buffer=${CBUF:-default}"
	done
done
