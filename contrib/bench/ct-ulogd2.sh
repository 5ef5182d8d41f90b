#!/bin/bash
# Flows made vs flows recorded under connection churn, by ulogd2 (stack
# NFCT -> SQLITE3, Debian's ulogd2 and ulogd2-sqlite3) and by xmppguard,
# side by side on the same load.
#
#   contrib/bench/ct-ulogd2.sh [-n CONNECTIONS] [-r RATE] [-j JOBS]
#       [-b ULOGD_NETLINK_BUFFER] [--veth] [--no-ulogd] [--keep]
#
#   -n  connections to make (default 50000)
#   -r  connections per second, 0 for as fast as xgload goes (default 0)
#   -j  xgload worker processes (default 2: one per core here)
#   -b  ulogd's netlink_socket_buffer_size in bytes (default: the kernel's;
#       with -b, netlink_socket_buffer_maxsize is 4 times it)
#   --veth      client in its own namespace across a veth pair, instead of
#               loopback inside the server's namespace (the default)
#   --no-ulogd  run the xmppguard side alone
#   --keep      keep the work directory (config, logs, databases)
#
# Everything runs inside two network namespaces this script makes and
# removes (tests/system/netns.sh): the host's conntrack table, firewall and
# sysctls are never touched, and ulogd runs with a private configuration
# (-c), never as the system service.  In the server namespace conntrack
# accounting, timestamps and events are on, and TIME_WAIT lasts 1 s, so
# DESTROY events, which both recorders log a flow at, come within the run
# (they still arrive in the garbage collector's bursts, which is what
# overruns a small netlink buffer).  ulogd logs DESTROY events only
# (hash_enable=0, event_mask=4): one row per flow, with its counters, into
# a WAL database that ulogd commits once per row.
#
# Output: one line per side, key=value:
#   load: made=... failed=... rate=... path=...
#   ulogd2: recorded=... lost=... lost_pct=... netlink_drops=... cpu_s=...
#   xmppguard: ...
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=50000 RATE=0 JOBS=2 UBUF='' VETH=0 ULOGD=1 KEEP=0
PORT=5222
SETTLE_MAX=180		# seconds to wait for the last DESTROY

usage() {
	sed -n '6,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in -n|-r|-j|-b) [ $# -ge 2 ] || usage ;; esac
	case $1 in
	-n) N=$2; shift ;;
	-r) RATE=$2; shift ;;
	-j) JOBS=$2; shift ;;
	-b) UBUF=$2; shift ;;
	--veth) VETH=1 ;;
	--no-ulogd) ULOGD=0 ;;
	--keep) KEEP=1 ;;
	*) usage ;;
	esac
	shift
done
case $N$RATE$JOBS${UBUF:-0} in *[!0-9]*) usage ;; esac

[ "$(id -u)" -eq 0 ] || fail "run as root (network namespaces, apt-get)"
T=$(mktemp -d /tmp/xg-bench.XXXXXX)

bench_done() {
	ns_cleanup
	if [ $KEEP -eq 1 ]; then
		echo "work directory: $T" >&2
	else
		rm -rf "$T"
	fi
}

# ulogd's plugin directory, from the package's file list.
ulogd_plugdir() {
	dpkg -L ulogd2 2>/dev/null | sed -n 's|/ulogd_inpflow_NFCT\.so$||p' |
	    head -n 1
}

# Installs ulogd2 and ulogd2-sqlite3 when missing.  A policy-rc.d that
# refuses (exit 101) keeps the package from starting the system service
# during the install; it is put there only if there is none, and removed
# right after.
ulogd_install() {
	local dir guard=0
	dir=$(ulogd_plugdir)
	if command -v ulogd >/dev/null 2>&1 && [ -n "$dir" ] &&
	    [ -e "$dir/ulogd_output_SQLITE3.so" ]; then
		return 0
	fi
	echo "installing ulogd2 ulogd2-sqlite3" >&2
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		guard=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends ulogd2 ulogd2-sqlite3 \
	    >"$T/apt.log" 2>&1 || { apt-get update -qq >>"$T/apt.log" 2>&1 &&
	    apt-get install -y -qq --no-install-recommends ulogd2 \
	    ulogd2-sqlite3 >>"$T/apt.log" 2>&1; }
	local rc=$?
	[ $guard -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || { cat "$T/apt.log" >&2; fail "apt-get install ulogd2"; }
	command -v sqlite3 >/dev/null 2>&1 ||
	    apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null ||
	    fail "apt-get install sqlite3"
}

# netlink_drops NS PID: the events the kernel could not queue to PID's
# netlink sockets (the Drops column of NS's /proc/net/netlink, matched by
# socket inode).  A recorder's own log may not say: ulogd is silent once
# its buffer has reached netlink_socket_buffer_maxsize.
netlink_drops() {
	local inodes
	inodes=$(ls -l "/proc/$2/fd" 2>/dev/null |
	    sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
	ns_exec "$1" cat /proc/net/netlink | awk -v inodes=" $inodes" '
	    NR > 1 && index(inodes, " " $10 " ") { d += $9 }
	    END { print d + 0 }'
}

# CPU seconds (user + system) a process of ours has used so far.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
	    "/proc/$1/stat" 2>/dev/null || echo "?"
}

ulogd_start() {
	local dir buf=
	dir=$(ulogd_plugdir)
	# The columns name the keys ulogd fills in (dots become underscores).
	sqlite3 "$T/ulogd.db" >/dev/null <<-EOF || fail "ulogd database"
	PRAGMA journal_mode = WAL;
	CREATE TABLE ulog_ct (
		flow_start_sec INTEGER, flow_start_usec INTEGER,
		flow_end_sec INTEGER, flow_end_usec INTEGER,
		orig_ip_saddr INTEGER, orig_ip_daddr INTEGER,
		orig_l4_sport INTEGER, orig_l4_dport INTEGER,
		orig_ip_protocol INTEGER,
		orig_raw_pktlen INTEGER, orig_raw_pktcount INTEGER,
		reply_raw_pktlen INTEGER, reply_raw_pktcount INTEGER,
		ct_event INTEGER
	);
	EOF
	[ -n "$UBUF" ] && buf="netlink_socket_buffer_size=$UBUF
netlink_socket_buffer_maxsize=$((UBUF * 4))"
	cat >"$T/ulogd.conf" <<-EOF
	[global]
	logfile="$T/ulogd.log"
	loglevel=3
	plugin="$dir/ulogd_inpflow_NFCT.so"
	plugin="$dir/ulogd_output_SQLITE3.so"
	stack=ct1:NFCT,sqlite3_ct:SQLITE3

	[ct1]
	hash_enable=0
	event_mask=4
	accept_proto_filter=tcp
	$buf

	[sqlite3_ct]
	table="ulog_ct"
	db="$T/ulogd.db"
	EOF
	ns_spawn "$SRV" "$T/ulogd.out" ulogd -c "$T/ulogd.conf"
	ULOGD_PID=$NS_PID
	wait_for_line 'entering main loop' "$T/ulogd.log" 10
}

ulogd_rows() {
	sqlite3 "$T/ulogd.db" \
	    "SELECT count(*) FROM ulog_ct WHERE orig_l4_dport = $PORT;" \
	    2>/dev/null || echo 0
}

ulogd_report() {
	local rows last=-1 i=0 cpu drops warnings lost
	# ulogd writes one row per commit: wait until the count stops moving.
	while :; do
		rows=$(ulogd_rows)
		[ "$rows" = "$last" ] && break
		last=$rows
		i=$((i + 1))
		[ $i -lt 120 ] || break
		sleep 2
	done
	cpu=$(cpu_seconds "$ULOGD_PID")
	drops=$(netlink_drops "$SRV" "$ULOGD_PID")
	ns_stop "$ULOGD_PID" 10
	rows=$(ulogd_rows)
	warnings=$(grep -c 'losing events' "$T/ulogd.log")
	lost=$((MADE - rows))
	echo "ulogd2: recorded=$rows lost=$lost" \
	    "lost_pct=$(awk -v l=$lost -v m=$MADE 'BEGIN { printf "%.1f", m ? 100 * l / m : 0 }')" \
	    "netlink_drops=$drops warnings=$warnings cpu_s=$cpu" \
	    "buffer=${UBUF:-default}"
}

# ---------------------------------------------------------------------------
# The xmppguard side: the daemon on its defaults (64M netlink buffer), port
# $PORT as its c2s service, its store in $T.  Recorded = rows in conns for
# the port once every DESTROY has been read; it also reports the kernel's
# netlink drops for its socket, its overruns, CPU per conntrack message and
# peak resident memory.
bench_xmppguard_start() {
	cat >"$T/xmppguard.conf" <<-CONF
	[global]
	state_dir = $T/xg
	control_socket = $T/xg.sock
	[service c2s]
	ports = $PORT
	[conntrack]
	rcvbuf = ${XG_RCVBUF:-64M}
	poll = ${XG_POLL:-5s}
	CONF
	ns_spawn "$SRV" "$T/xmppguard.log" "$TOP/xmppguard" run --foreground \
	    -c "$T/xmppguard.conf"
	XG_PID=$NS_PID
	wait_for_line 'ready' "$T/xmppguard.log" 10
}

# status_field KEY.PATH: one figure of `xmppguard status --json`.
xg_status_field() {
	"$TOP/xmppguard" status -s "$T/xg.sock" --json | python3 -c "import json, sys
d = json.load(sys.stdin)
for k in '$1'.split('.'): d = d[k]
print(d)"
}

bench_xmppguard_report() {
	local rows cpu drops lost msgs overruns rss
	# The last DESTROYs are read within a moment of the table emptying.
	sleep 2
	msgs=$(xg_status_field conntrack.messages)
	overruns=$(xg_status_field conntrack.overruns)
	cpu=$(cpu_seconds "$XG_PID")
	drops=$(netlink_drops "$SRV" "$XG_PID")
	rss=$(awk '/VmHWM/ { print $2 }' "/proc/$XG_PID/status")
	ns_stop "$XG_PID" 10 || echo "xmppguard exited $?" >&2
	rows=$(sqlite3 "$T/xg/xmppguard.db" \
	    "SELECT count(*) FROM conns WHERE port = $PORT;")
	lost=$((MADE - rows))
	echo "xmppguard: recorded=$rows lost=$lost" \
	    "lost_pct=$(awk -v l=$lost -v m=$MADE 'BEGIN { printf "%.1f", m ? 100 * l / m : 0 }')" \
	    "netlink_drops=$drops overruns=$overruns cpu_s=$cpu" \
	    "us_per_msg=$(awk -v c="$cpu" -v m="$msgs" 'BEGIN { printf "%.2f", m ? c * 1e6 / m : 0 }')" \
	    "messages=$msgs peak_rss_kb=$rss"
}
# ---------------------------------------------------------------------------

trap bench_done EXIT
trap 'exit 130' INT TERM
[ $ULOGD -eq 1 ] && ulogd_install
ns_require
xgload_build

ns_setup
trap bench_done EXIT		# ns_setup set its own
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_events=1 \
    net.netfilter.nf_conntrack_timestamp=1 \
    net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
    fail "conntrack sysctls in $SRV"

if [ $VETH -eq 1 ]; then
	ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.250
	LNS=$CLI SADDR=192.0.2.1 SRCS=198.51.100.1-198.51.100.250 PATHNAME=veth
else
	# All of 127/8 is local on lo: many sources, no set-up.
	LNS=$SRV SADDR=127.0.0.1 SRCS=127.0.1.1-127.0.1.250 PATHNAME=loopback
fi

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l "$SADDR" -p $PORT \
    --seconds 3600
SERVE_PID=$NS_PID
wait_for_line 'listening' "$T/serve.log" 5
[ $ULOGD -eq 1 ] && ulogd_start
bench_xmppguard_start

# Upper bound on the run: at least 1000 connections a second.
secs=$((N / 1000 + 10))
[ "$RATE" -gt 0 ] && secs=$((N / RATE + 10))
ns_exec "$LNS" "$XGLOAD" churn -s "$SRCS" -d "$SADDR" -p $PORT -n "$N" \
    -r "$RATE" -j "$JOBS" --seconds "$secs" >"$T/load.out"
MADE=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' "$T/load.out")
failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' "$T/load.out")
achieved=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' "$T/load.out")
[ -n "$MADE" ] || { cat "$T/load.out"; fail "no result from xgload"; }
echo "load: made=$MADE failed=$failed rate=$achieved asked=$RATE" \
    "jobs=$JOBS path=$PATHNAME"

# Every flow's DESTROY has been sent once the table is empty.
i=0
while [ "$(ns_exec "$SRV" cat /proc/sys/net/netfilter/nf_conntrack_count)" -gt 0 ]; do
	i=$((i + 1))
	[ $i -le $SETTLE_MAX ] || { echo "table not empty after $SETTLE_MAX s" >&2; break; }
	sleep 1
done
ns_stop "$SERVE_PID" >/dev/null

[ $ULOGD -eq 1 ] && ulogd_report
bench_xmppguard_report
exit 0
