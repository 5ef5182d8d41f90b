#!/bin/bash
# Memory under a spoofed SYN flood: N SYNs from N distinct forged IPv6
# addresses (documentation range, never configured anywhere) at the real
# daemon on its built-in defaults, inside namespaces this script makes and
# removes.  The daemon's memory must stay bounded by its configured
# capacities, whatever N is, and the flood must produce no verdict.
#
#   contrib/bench/synflood-rss.sh [-n SYNS]      (default 1000000)
#
# XG names the daemon's binary (default: ./xmppguard of the tree).
# Output: one line, key=value.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=1000000
[ "${1:-}" = "-n" ] && N=$2
case $N in ''|*[!0-9]*) echo "usage: $0 [-n SYNS]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || fail "run as root (network namespaces)"
XG=${XG:-$TOP/xmppguard}
T=$(mktemp -d /tmp/xg-bench.XXXXXX)
trap 'ns_cleanup; rm -rf "$T"' EXIT
ns_require
xgload_build
ns_setup
trap 'ns_cleanup; rm -rf "$T"' EXIT

cat >"$T/xg.conf" <<CONF
[global]
state_dir = $T/xg
control_socket = $T/xg.sock
CONF
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 2001:db8::1 -p 5222 \
    --seconds 3600
wait_for_line 'listening' "$T/serve.log" 5
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
xg=$NS_PID
wait_for_line 'ready' "$T/xg.log" 10
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$xg/status")

# 2001:db8:5::/64 holds the forged sources: N of them, one SYN each.
last=$(printf '2001:db8:5::%x:%x' $(((N - 1) >> 16)) $(((N - 1) & 0xffff)))
start=$(date +%s%N)
ns_exec "$CLI" "$XGLOAD" syn --spoof -s "2001:db8:5::1-$last" \
    -d 2001:db8::1 -p 5222 -n "$N" --seconds 600 >"$T/syn.out" 2>&1
secs=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 2
"$XG" status -s "$T/xg.sock" --json >"$T/status.json"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$xg/status")
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$xg/status")
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$xg/stat")
python3 - "$T/status.json" "$N" "$secs" "$rss0" "$rss" "$hwm" "$cpu" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n, ms, rss0, rss, hwm, cpu = sys.argv[2:]
ct, tr = s["conntrack"], s["track"]
print("synflood: syns=%s ms=%s messages=%d flows=%d flows_evicted=%d "
      "halfopen=%d tracked=%d track_capacity=%d track_evictions=%d "
      "verdicts=%d rss_start_kb=%s rss_kb=%s peak_rss_kb=%s cpu_s=%s "
      "overruns=%d" % (n, ms, ct["messages"], ct["flows"],
      ct["flows_evicted"], ct["halfopen"], tr["entries"], tr["capacity"],
      tr["evictions"], s["verdicts"], rss0, rss, hwm, cpu, ct["overruns"]))
PY
ns_stop "$xg" 10 >/dev/null
exit 0
