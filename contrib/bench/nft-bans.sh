#!/bin/bash
# Bans into the kernel with the nftables backend (fw_nft.c, driven by
# tests/tools/fwctl), inside a network namespace this script makes and
# removes, against one `nft add element` process per ban (what fail2ban's
# nftables action does):
#
#   1. N bans (distinct IPv6 addresses of 2001:db8:b::/48, the ban6 hash
#      set; IPv4 documentation space is too small) applied through the
#      backend, BATCH to a fw_apply() call, then all N in one call; and
#      P of them with one nft process each, extrapolated to N;
#   2. restore at start: the N elements listed (netlink) and applied again,
#      and the same N put back the daemon's way (fw_replace(): the table,
#      sets, chain and rules checked through netlink and nft run only if
#      they differ from the configuration's, then the sets flushed and
#      filled in one transaction, nothing listed) with their time left
#      (what the reconcile at start does);
#   3. the backend's part of the ban latency: L single-ban batches, each
#      timed from the fw_apply() call to its return, when the backend has
#      had the kernel's answer and the element is in the set (all L are checked
#      present at the end).  The daemon adds the time from the handshake
#      to its fw_apply() call: see the hook below;
#   4. NET prefixes (/64) into the interval set, in batches of BATCH.
#
#   contrib/bench/nft-bans.sh [-n N] [-b BATCH] [-p PERPROC] [-l L] [-N NET]
#       (defaults 100000, 1000, 2000, 1000, 10000)
#
# Output: key=value lines, then a markdown table.
#
# Hook for the end-to-end latency (handshake to element in the kernel set):
# run the daemon in the server namespace of tests/system/netns.sh with a
# churn rule of max_new = 1/1h, let one client address complete a
# handshake (xgload churn -n 2), and time from the SYN-ACK leaving
# (`nft add rule ... tcp flags syn,ack meta nftrace set 1` or a `log`
# rule, or xgload's own connect time) to the element appearing, by
# `nft monitor elements` in the namespace: it prints each element as the
# kernel commits it, with no polling.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"

N=100000 BATCH=1000 PERPROC=2000 L=1000 NET=10000
while getopts n:b:p:l:N: o; do
	case $o in
	n) N=$OPTARG ;;
	b) BATCH=$OPTARG ;;
	p) PERPROC=$OPTARG ;;
	l) L=$OPTARG ;;
	N) NET=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-b BATCH] [-p PERPROC] [-l L] [-N NET]" >&2
	   exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || fail "run as root (network namespaces)"
FWCTL=${FWCTL:-$TOP/build/plain/tests/fwctl}
[ -x "$FWCTL" ] || fail "$FWCTL not built (make tools)"
T=$(mktemp -d /tmp/xg-bench.XXXXXX)
trap 'ns_private_cleanup; rm -rf "$T"' EXIT
ns_private NS
trap 'ns_private_cleanup; rm -rf "$T"' EXIT

cat >"$T/xg.conf" <<'EOF'
[global]
firewall = nftables
[ban]
nft_table = xgbench
EOF
fwctl() {
	ip netns exec "$NS" "$FWCTL" -c "$T/xg.conf" "$@"
}
flush() {
	ip netns exec "$NS" nft flush set inet xgbench "$1" || fail "flush $1"
}
count() {
	ip netns exec "$NS" nft list set inet xgbench "$1" |
	    grep -o 'expires' | wc -l
}
now_ns() { date +%s%N; }

awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
	printf "2001:db8:b::%x:%x\n", int(i / 65536), i % 65536 }' >"$T/addrs"
awk -v n="$NET" 'BEGIN { for (i = 1; i <= n; i++)
	printf "2001:db8:%x:%x::/64\n", 0xc000 + int(i / 65536), i % 65536 }' \
    >"$T/nets"
head -n "$PERPROC" "$T/addrs" >"$T/addrs.few"

fwctl open || fail "open"
nftv=$(nft --version | awk '{ print $2 }')
echo "nft_version=$nftv kernel=$(uname -r)"

# 1. Batches through the backend.
fwctl load "$T/addrs" 600 "$BATCH" >"$T/batch.out" || fail "load batches"
[ "$(count ban6)" -eq "$N" ] || fail "not $N elements after batches"
b_s=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' "$T/batch.out")
b_us=$(sed 's/.*us_per_ban=\([0-9.]*\).*/\1/' "$T/batch.out")
echo "batched: $(cat "$T/batch.out")"

# 2. Restore (with N elements in the set).
fwctl restore >"$T/restore.out" || fail "restore"
echo "restore: $(cat "$T/restore.out")"
r_list=$(sed 's/.*list_seconds=\([0-9.]*\).*/\1/' "$T/restore.out")
r_apply=$(sed 's/.*apply_seconds=\([0-9.]*\).*/\1/' "$T/restore.out")
r_total=$(sed 's/.*total_seconds=\([0-9.]*\).*/\1/' "$T/restore.out")
r_replace=$(sed 's/.*replace_seconds=\([0-9.]*\).*/\1/' "$T/restore.out")
[ "$(count ban6)" -eq "$N" ] || fail "not $N elements after restore"

flush ban6
fwctl load "$T/addrs" 600 0 >"$T/one.out" || fail "load in one batch"
o_s=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' "$T/one.out")
o_us=$(sed 's/.*us_per_ban=\([0-9.]*\).*/\1/' "$T/one.out")
echo "one_batch: $(cat "$T/one.out")"

# 1b. One nft process per ban, as fail2ban does.
flush ban6
start=$(now_ns)
ip netns exec "$NS" bash -c 'while read -r a; do
	nft add element inet xgbench ban6 "{ $a timeout 600s }" || exit 1
done' <"$T/addrs.few" || fail "nft per ban"
p_ns=$(( $(now_ns) - start ))
[ "$(count ban6)" -eq "$PERPROC" ] || fail "not $PERPROC elements per process"
p_us=$(awk -v t="$p_ns" -v n="$PERPROC" 'BEGIN { printf "%.1f", t / 1000 / n }')
p_ext=$(awk -v u="$p_us" -v n="$N" 'BEGIN { printf "%.1f", u * n / 1e6 }')
echo "per_process: bans=$PERPROC seconds=$(awk -v t="$p_ns" 'BEGIN { printf "%.3f", t / 1e9 }') us_per_ban=$p_us extrapolated_${N}_seconds=$p_ext"

# 3. Latency of one single-ban batch.
flush ban6
fwctl latency "$L" >"$T/lat.out" || fail "latency"
echo "latency: $(cat "$T/lat.out")"
l50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' "$T/lat.out")
l99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' "$T/lat.out")
lmax=$(sed 's/.*max_us=\([0-9]*\).*/\1/' "$T/lat.out")

# 4. Prefixes into the interval set.
fwctl load "$T/nets" 600 "$BATCH" >"$T/net.out" || fail "load prefixes"
[ "$(count net6)" -eq "$NET" ] || fail "not $NET prefixes"
n_s=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' "$T/net.out")
n_us=$(sed 's/.*us_per_ban=\([0-9.]*\).*/\1/' "$T/net.out")
echo "prefixes: $(cat "$T/net.out")"

cat <<EOF

| what (nft $nftv, Linux $(uname -r)) | count | total | per ban |
| --- | ---: | ---: | ---: |
| backend, batches of $BATCH (netlink) | $N | ${b_s} s | ${b_us} us |
| backend, one batch | $N | ${o_s} s | ${o_us} us |
| one \`nft add element\` per ban (fail2ban) | $PERPROC | $(awk -v t="$p_ns" 'BEGIN { printf "%.2f", t / 1e9 }') s (${p_ext} s for $N, extrapolated) | ${p_us} us |
| restore: list (netlink) + apply again | $N | ${r_total} s (list ${r_list}, apply ${r_apply}) | |
| restore as the daemon does it: the sets replaced in one transaction | $N | ${r_replace} s | |
| backend, /64 prefixes into the interval set, batches of $BATCH | $NET | ${n_s} s | ${n_us} us |
| one-ban batch, fw_apply() to element in the kernel: p50 / p99 / max | $L | | ${l50} / ${l99} / ${lmax} us |
EOF
