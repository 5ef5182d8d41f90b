#!/bin/bash
# The cluster through a CrowdSec Local API (issue 15), with the real
# daemon and the real LAPI (Debian's crowdsec, LAPI only, started by
# tests/system/lapi.sh), all in network namespaces of tests/system/netns.sh:
#
#  start   N decisions (default 10000) added with one `cscli decisions
#          import`, then a node started: the time from its start (and
#          from its "ready") until all N are elements of its kernel set.
#  latency two nodes, A and B, in two namespaces joined to the LAPI's by
#          veth pairs, pull_interval = 1s: `xmppguard ban` on A to the
#          element in B's set, p50 and p99 over -n bans (default 100); the
#          same decision to the element of the stock
#          crowdsec-firewall-bouncer (nftables mode, its own table, run by
#          hand in a namespace of its own beside B's, never as a service)
#          with its default update_frequency (10s) and with 1s.
#  push    M bans (default 5000) made on a node with the LAPI stopped, so
#          they wait in its queue; the LAPI started: bans per second from
#          its return to the queue empty (batches of 100).
#
#   contrib/bench/cluster.sh [-N 10000] [-n 100] [-M 5000] [PARTS...]
#
# PARTS: start latency push (default all).  Root.  The stock bouncer is
# the Debian 12 package crowdsec-firewall-bouncer (0.0.25), installed by
# hand for this benchmark only (apt-get install
# crowdsec-firewall-bouncer; its service is masked here, never started);
# without it that part is skipped, saying so.
# Output: key=value lines.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=10000 NLAT=100 M=5000
while [ $# -gt 0 ]; do
	case $1 in
	-N)	N=$2; shift 2 ;;
	-n)	NLAT=$2; shift 2 ;;
	-M)	M=$2; shift 2 ;;
	*)	break ;;
	esac
done
PARTS=${*:-start latency push}
XG=${XG:-$TOP/xmppguard}
T=$(mktemp -d /tmp/xg-bench-cluster.XXXXXX)
chmod 755 "$T"
. "$TOP/tests/system/lapi.sh"

ns_require
lapi_require
ns_setup
trap 'ns_cleanup; rm -rf "$T"' EXIT
echo "cpus=$(nproc) load1=$(cut -d' ' -f1 /proc/loadavg)"

now_us() {
	xg_now
	echo "$XG_NOW"
}

# count NS TABLE: elements of the table's ban4 set.
count() {
	ip netns exec "$1" nft list set inet "$2" ban4 2>/dev/null |
	    grep -o '[0-9]*\.[0-9]*\.[0-9]*\.[0-9]* ' | wc -l
}

# node_conf NAME LAPI-URL TABLE: a node's configuration in $T/NAME.
node_conf() {
	mkdir -p "$T/$1"
	cat > "$T/$1/xg.conf" <<-CONF
	[global]
	state_dir = $T/$1/state
	control_socket = $T/$1/ctl.sock
	[service c2s]
	ports = 5222
	[ban]
	duration = 1h
	nft_table = $3
	[cluster]
	lapi_url = $2
	machine_id = xg-bench-$1
	password = xg-bench-$1-password-0123456789
	bouncer_key = xg-bench-$1-bouncer-key-0123456789
	pull_interval = 1s
	CONF
	chmod 600 "$T/$1/xg.conf"
	lapi_machine "xg-bench-$1" "xg-bench-$1-password-0123456789"
	lapi_bouncer "xg-bench-$1" "xg-bench-$1-bouncer-key-0123456789"
}

# ---- start: N decisions pulled and applied at start. ----
bench_start() {
	local t0 tr td n i
	echo "== start: $N decisions in the LAPI, then a node starts"
	lapi_config 127.0.0.1:8080
	node_conf s http://127.0.0.1:8080 xgbench
	{
		echo "duration,value"
		i=0
		while [ $i -lt "$N" ]; do
			echo "4h,100.$((64 + i / 62500)).$((i / 250 % 250)).$((i % 250 + 1))"
			i=$((i + 1))
		done
	} > "$T/decisions.csv"
	lapi_start "$SRV"
	t0=$(now_us)
	lapi_cscli decisions import -i "$T/decisions.csv" --reason bench \
	    >/dev/null || fail "cscli decisions import"
	echo "start_import_ms=$((($(now_us) - t0) / 1000))"
	t0=$(now_us)
	ns_spawn "$SRV" "$T/s.log" "$XG" run --foreground -c "$T/s/xg.conf"
	local pid=$NS_PID
	wait_for_line 'ready' "$T/s.log"
	tr=$(now_us)
	n=0
	while [ "$n" -lt "$N" ]; do
		[ $((($(now_us) - t0) / 1000000)) -lt 60 ] ||
		    { tail -5 "$T/s.log"; fail "only $n of $N elements after 60 s"; }
		n=$(count "$SRV" xgbench)
	done
	td=$(now_us)
	echo "start_decisions=$N"
	echo "start_to_all_in_kernel_ms=$(((td - t0) / 1000))"
	echo "ready_to_all_in_kernel_ms=$(((td - tr) / 1000))"
	grep -E 'cluster: (resync|login)|slow' "$T/s.log" | head -5
	ns_stop "$pid" 10
	lapi_stop
	rm -rf "$T/lapi" "$T/s"
}

for p in $PARTS; do
	case $p in
	start)	bench_start ;;
	*)	fail "unknown part $p" ;;
	esac
done
