#!/bin/bash
# The daemon at rest: the real daemon on its built-in defaults (as `make
# run` starts it, with only its state directory and control socket moved
# to a temporary directory), in a network namespace of its own with no
# traffic, watched for a quiet minute.  Wake-ups are the voluntary context
# switches of all its threads (each is one return from a sleep); memory is
# VmRSS and VmHWM once it says it is ready, and again at the end.
#
#   contrib/bench/idle.sh [-s SECONDS]      (default 60, at most 3600)
#
# XG names the binary (default: ./xmppguard of the tree), to compare two.
# Output: key=value lines.  The daemon is stopped by its PID.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"

SECS=60
[ "${1:-}" = "-s" ] && SECS=${2:-}
case $SECS in ''|*[!0-9]*) echo "usage: $0 [-s SECONDS]" >&2; exit 2 ;; esac
[ "$SECS" -ge 1 ] && [ "$SECS" -le 3600 ] ||
    { echo "usage: $0 [-s SECONDS] (1 to 3600)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || fail "run as root (network namespace)"
XG=${XG:-$TOP/xmppguard}
[ -x "$XG" ] || fail "$XG: build first: make"
T=$(mktemp -d /tmp/xg-bench.XXXXXX)
XG_NAMESPACES=
xg=
idle_cleanup() {
	if [ -n "$xg" ] && kill -0 "$xg" 2>/dev/null; then
		kill -TERM "$xg"
		wait_pid_gone "$xg" 10 || kill -KILL "$xg"
	fi
	ns_private_cleanup
	rm -rf "$T"
}
# The defaults watch conntrack and turn its accounting on: not the host's.
ns_private ns
trap idle_cleanup EXIT

cat >"$T/xg.conf" <<CONF
[global]
state_dir = $T/xg
control_socket = $T/xg.sock
CONF
ip netns exec "$ns" "$XG" run --foreground -c "$T/xg.conf" \
    2>"$T/xg.log" &
xg=$!
wait_for_line 'ready' "$T/xg.log" 30

# kB of one /proc/PID/status field.
idle_kb() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$xg/status"
}

# Voluntary context switches of every thread, now.
idle_switches() {
	local f n=0 v
	for f in /proc/"$xg"/task/*/status; do
		v=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' \
		    "$f" 2>/dev/null)
		n=$((n + ${v:-0}))
	done
	echo "$n"
}

rss0=$(idle_kb VmRSS)
hwm0=$(idle_kb VmHWM)
# Start-up is not idleness: let its first timers (a retention pass, the
# first flushes) run before the quiet minute starts.
sleep 2
threads=$(ls "/proc/$xg/task" | wc -l)
sw0=$(idle_switches)
xg_now
t0=$XG_NOW
sleep "$SECS"
kill -0 "$xg" 2>/dev/null || fail "the daemon died (see $T/xg.log)"
sw1=$(idle_switches)
xg_now
t1=$XG_NOW
rss1=$(idle_kb VmRSS)
hwm1=$(idle_kb VmHWM)
wakes=$((sw1 - sw0))
us=$((t1 - t0))
echo "idle_seconds=$((us / 1000000))"
echo "idle_threads=$threads"
echo "idle_wakeups=$wakes"
awk -v w="$wakes" -v us="$us" \
    'BEGIN { printf "idle_wakeups_per_s=%.3f\n", w / (us / 1e6) }'
echo "rss_start_kb=$rss0"
echo "hwm_start_kb=$hwm0"
echo "rss_end_kb=$rss1"
echo "hwm_end_kb=$hwm1"
exit 0
