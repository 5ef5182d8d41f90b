#!/bin/bash
# The cost of the kernel caps to the connections a server accepts: the
# rate of new connections (each completes its handshake, is closed) that
# the server namespace takes from a client namespace, flat out, with the
# daemon running kernel_caps = yes against kernel_caps = no, runs
# interleaved (no, yes, no, yes...), the median of each.
#
#   contrib/bench/caps-rate.sh [-n CONNECTIONS] [-r RUNS] [-j JOBS]
#       [--level K]
#
#   -n  connections per run (default 50000)
#   -r  runs of each setting (default 5, at most 20)
#   -j  xgload workers (default 2)
#   --level K  put every client address in account level K (1-9) of c2s,
#       so that each connection goes down a level's chain (default 0:
#       none, the usual case of an address that has no logins)
#
# The caps have every part a production server has: concurrency and churn
# per address and per network, account levels up to 256 accounts (nine
# level sets per family), surge mode (a [log] section; never on), the limits
# high enough that nothing is refused, so that each connection meets every
# rule and no refusal takes a path of its own.  The daemon installs its
# table in both settings and is stopped before the run (its table stays):
# only the kernel's rules differ, and no daemon competes for the CPUs.
# The built-in s2s and http are capped too (their jumps are in the way).
# Connections come from 250 client addresses (198.51.100.0/24) over the
# veth pair to 192.0.2.1:5222.
#
# Output: one line per run, then
#   caps-rate: no=MEDIAN yes=MEDIAN cost=PERCENT cpu_us_no=MEDIAN
#       cpu_us_yes=MEDIAN cpu_cost=PERCENT runs=R n=N jobs=J level=K
# The rates are connections a second; cpu_us is the CPU time (user and
# system) of both ends, xgload's client and server, per connection: the
# server namespace's netfilter hooks run in the sender's context on a
# veth pair, so the caps' rules are in it, and unlike the rate it does not
# move with what else the machine runs (a loaded machine: trust it more).
# Everything happens inside namespaces this script makes and removes; it
# ends within RUNS x 2 x (the run's --seconds 120 + 20) seconds.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=50000 RUNS=5 JOBS=2 LEVEL=0
PORT=5222

usage() {
	sed -n '8,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in -n|-r|-j|--level) [ $# -ge 2 ] || usage ;; esac
	case $1 in
	-n) N=$2; shift ;;
	-r) RUNS=$2; shift ;;
	-j) JOBS=$2; shift ;;
	--level) LEVEL=$2; shift ;;
	*) usage ;;
	esac
	shift
done
case $N$RUNS$JOBS$LEVEL in *[!0-9]*) usage ;; esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 20 ] && [ "$LEVEL" -le 9 ] || usage

[ "$(id -u)" -eq 0 ] || fail "run as root (network namespaces)"
XG=${XG:-$TOP/xmppguard}
[ -x "$XG" ] || fail "no $XG (make)"
T=$(mktemp -d /tmp/xg-bench.XXXXXX)
trap 'ns_cleanup; rm -rf "$T"' EXIT
ns_require
xgload_build
ns_setup
trap 'ns_cleanup; rm -rf "$T"' EXIT
# TIME_WAIT at 1 s: the table holds a second's connections, not two
# minutes'.
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
    fail "conntrack sysctl in $SRV"
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.250
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p $PORT \
    --seconds 3600
SERVE=$NS_PID
wait_for_line 'listening' "$T/serve.log" 5
: >"$T/server.log"

# conf yes|no: the daemon's configuration.
conf() {
	cat >"$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = $PORT
kernel_caps = $1
max_concurrent = 100000
max_new = 1000000/1h
net_max_concurrent = 1000000
net_max_new = 10000000/1h
karma = off
account_allowance_concurrent = 2
account_allowance_new = 10
account_max = 256
net_account_max = 256
surge = yes
surge_min_rate = 10000000/1s
[service s2s]
kernel_caps = $1
[service http]
kernel_caps = $1
[ban]
nft_table = xgbench
cap_persist = 1000000/10m
[log ejabberd]
path = $T/server.log
filter = $TOP/filters/ejabberd.conf
CONF
}

# Each run starts from an empty table: the last run's entries (TIME_WAIT
# ones the collector has not reached yet, a few stragglers) go.
table_empty() {
	ns_exec "$SRV" conntrack -F >/dev/null 2>&1
	[ "$(ns_exec "$SRV" \
	    cat /proc/sys/net/netfilter/nf_conntrack_count)" -lt 100 ]
}

# run yes|no: one run; its rate in $R.  (Not in a command substitution:
# the daemon it starts must stay known to ns_cleanup.)
run() {
	local xg out
	conf "$1"
	# Not the last run's log: its "ready" would be seen at once.
	rm -f "$T/xg.log"
	ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
	xg=$NS_PID
	wait_for_line 'ready' "$T/xg.log" 20
	if [ "$1" = yes ]; then
		ns_exec "$SRV" nft list table inet xgbench >"$T/table" 2>&1 ||
		    fail "no table: $(cat "$T/xg.log")"
		grep -q 'chain cap_c2s ' "$T/table" ||
		    fail "no caps: $(cat "$T/xg.log")"
		grep -q 'saddr @cap_c2s_l4_9 goto' "$T/table" ||
		    fail "no account levels: $(cat "$T/table")"
		if [ "$LEVEL" -gt 0 ]; then
			"$XGLOAD" addrs -s 198.51.100.1-198.51.100.250 |
			    tr '\n' ',' | sed 's/,$//' >"$T/elems"
			ns_exec "$SRV" nft add element inet xgbench \
			    "cap_c2s_l4_$LEVEL" "{ $(cat "$T/elems") }" ||
			    fail "level $LEVEL elements"
			# And in the set of every level's, where there is one.
			if grep -q 'set cap_c2s_l4 ' "$T/table"; then
				ns_exec "$SRV" nft add element inet xgbench \
				    cap_c2s_l4 "{ $(cat "$T/elems") }" ||
				    fail "level elements"
			fi
		fi
	else
		ns_exec "$SRV" nft list table inet xgbench 2>/dev/null |
		    grep -q "chain caps " &&
		    fail "caps installed with kernel_caps = no"
	fi
	# The daemon leaves its table behind: the kernel's rules alone are
	# measured, with no daemon's CPU in the way.
	ns_stop "$xg" 10 >/dev/null
	if [ "$1" = yes ]; then
		ns_exec "$SRV" nft list chain inet xgbench cap_c2s >/dev/null ||
		    fail "the caps went with the daemon"
	fi
	table_empty || fail "the conntrack table is not empty"
	s0=$(ticks "$SERVE")
	out=$(/usr/bin/time -f "%U %S" -o "$T/time" \
	    ip netns exec "$CLI" "$XGLOAD" churn \
	    -s 198.51.100.1-198.51.100.250 -d 192.0.2.1 -p $PORT \
	    -n "$N" -j "$JOBS" --seconds 120)
	s1=$(ticks "$SERVE")
	case $out in
	*" failed=0 "*) ;;
	*) fail "refusals or failures: $out" ;;
	esac
	ns_exec "$SRV" nft delete table inet xgbench 2>/dev/null
	R=$(echo "$out" | sed -n 's/.* rate=\([0-9.]*\).*/\1/p')
	# Both ends' CPU (the veth's receive path runs in the sender's
	# context, netfilter's hooks included), per connection.
	C=$(awk -v n="$N" -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" \
	    '{ printf "%.1f", ($1 + $2 + s / hz) * 1e6 / n }' "$T/time")
	rm -rf "$T/state"
}

# ticks PID: the process's user and system CPU so far, in clock ticks.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

median() {
	tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 }
	    END { if (NR % 2) print v[(NR + 1) / 2];
	        else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

no= yes= cno= cyes=
for i in $(seq 1 "$RUNS"); do
	run no
	no="$no $R" cno="$cno $C"
	echo "run=$i kernel_caps=no rate=$R cpu_us=$C"
	run yes
	yes="$yes $R" cyes="$cyes $C"
	echo "run=$i kernel_caps=yes rate=$R cpu_us=$C"
done
mno=$(echo "$no" | median)
myes=$(echo "$yes" | median)
cno=$(echo "$cno" | median)
cyes=$(echo "$cyes" | median)
# How much slower the caps are (rate), how much more CPU they take.
cost=$(awk -v a="$mno" -v b="$myes" \
    'BEGIN { printf "%.1f", (a - b) * 100 / a }')
cpu=$(awk -v a="$cno" -v b="$cyes" \
    'BEGIN { printf "%.1f", (b - a) * 100 / a }')
echo "caps-rate: no=$mno yes=$myes cost=$cost% cpu_us_no=$cno" \
    "cpu_us_yes=$cyes cpu_cost=$cpu% runs=$RUNS n=$N jobs=$JOBS level=$LEVEL"
