#!/bin/bash
# Memory under a spoofed SYN flood: N SYNs from N distinct forged IPv6
# addresses (documentation range, never configured anywhere) at the real
# daemon on its built-in defaults, inside namespaces this script makes and
# removes.  The daemon's memory must stay bounded by its configured
# capacities, whatever N is, and the flood must produce no verdict.
#
#   contrib/bench/synflood-rss.sh [-n SYNS] [-c CAPACITY] [-k yes|no]
#
#   -n  SYNs (default 1000000)
#   -c  [track] capacity (default: the built-in 65536), which also sizes
#       the kernel caps' sets
#   -k  kernel_caps of c2s (default yes, the built-in): a run with no
#       caps is the baseline of the slab memory the sets take
#
# XG names the daemon's binary (default: ./xmppguard of the tree).
# Output: two lines, key=value: the daemon's (synflood:), then the kernel
# caps' sets (synflood-sets:): each set that holds elements after the
# flood as NAME=ELEMENTS/SIZE (its declared size), the kernel's slab
# memory before and after (Slab in /proc/meminfo: the whole machine's,
# so other work on it shows too) and the server namespace's conntrack
# entries.  The forged sources fill the caps' concurrency sets (ct count
# at the SYN) and the unanswered-handshake sets (the server sends its
# SYN-ACK again) up to their size and no further.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=1000000 CAP= KCAPS=yes
usage() {
	echo "usage: $0 [-n SYNS] [-c CAPACITY] [-k yes|no]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	-n) N=$2 ;;
	-c) CAP=$2 ;;
	-k) KCAPS=$2 ;;
	*) usage ;;
	esac
	shift 2
done
case $N${CAP:-0} in ''|*[!0-9]*) usage ;; esac
case $KCAPS in yes|no) ;; *) usage ;; esac
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
[ -n "$CAP" ] && printf '[track]\ncapacity = %s\n' "$CAP" >>"$T/xg.conf"
printf '[service c2s]\nkernel_caps = %s\n' "$KCAPS" >>"$T/xg.conf"
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 2001:db8::1 -p 5222 \
    --seconds 3600
wait_for_line 'listening' "$T/serve.log" 5
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
xg=$NS_PID
wait_for_line 'ready' "$T/xg.log" 10
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$xg/status")
slab0=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)

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
# The server's SYN-ACKs are sent again at 1 s and 3 s: the sets of the
# unanswered are full by then.
sleep 3
slab=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
ns_exec "$SRV" nft -j list table inet xmppguard >"$T/table.json" ||
    fail "nft list table"
python3 - "$T/table.json" "$slab0" "$slab" "$KCAPS" \
    "$(ns_exec "$SRV" cat /proc/sys/net/netfilter/nf_conntrack_count)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out, over = [], 0
for o in d["nftables"]:
    s = o.get("set")
    if not s or not s.get("elem"):
        continue
    n, size = len(s["elem"]), s.get("size", 0)
    out.append("%s=%d/%s" % (s["name"], n, size or "-"))
    over += size and n > size
print("synflood-sets: kernel_caps=%s %s over_size=%d slab_start_kb=%s "
      "slab_kb=%s slab_growth_kb=%d conntrack=%s" % (sys.argv[4],
      " ".join(out), over, sys.argv[2], sys.argv[3],
      int(sys.argv[3]) - int(sys.argv[2]), sys.argv[5]))
PY
ns_stop "$xg" 10 >/dev/null
exit 0
