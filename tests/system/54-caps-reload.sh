# Kernel caps turned on and off by a reload: the refusals' reader (nflog)
# follows them.
#  - at start every service has kernel_caps = no: no cap chain, nflog
#    group 5222 unbound;
#  - a reload turns c2s's caps on: the chain is installed, the group is
#    bound ("refusals read from nflog group 5222"), and an address
#    hammering the churn cap (max_new = 5/1h, cap_persist = 3/10m) is
#    banned: "refused 4 times by the c2s churn cap in 10m";
#  - a reload turns them off again: the chain goes, the group is
#    unbound, the daemon is still up.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.3 198.51.100.3

conf() {
	cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
kernel_caps = $1
max_concurrent = 10
max_new = 5/1h
net_max_concurrent = 0
net_max_new = none
karma = off
[service s2s]
kernel_caps = no
[service http]
kernel_caps = no
[ban]
duration = 10m
nft_table = xgtest
cap_persist = 3/10m
cap_log_group = 5222
CONF
}
conf no

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
XGPID=$NS_PID
wait_for_line 'ready' "$T/xg.log"
grep -q 'kernel caps: unavailable' "$T/xg.log" &&
    skip "this kernel or nft lacks what the caps need: $(grep 'kernel caps' "$T/xg.log")"
xgc() {
	"$XG" "$@" -s "$T/ctl.sock"
}
bound() {	# 1 if nflog group 5222 has a listener in the server's namespace
	ns_exec "$SRV" awk '$1 == 5222 { n++ } END { print n + 0 }' \
	    /proc/net/netfilter/nfnetlink_log
}
banned_json() {	# 1 if bans --json lists $1
	xgc bans --json | python3 -c "
import json, sys
bans = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(1 for b in bans if b['address'].split('/')[0] == sys.argv[1]))" "$1"
}

# 1. Off at start.
grep -q 'refusals read from nflog' "$T/xg.log" &&
    fail "a reader with every cap off: $(cat "$T/xg.log")"
ns_exec "$SRV" nft list chain inet xgtest cap_c2s >/dev/null 2>&1 &&
    fail "a cap chain with kernel_caps = no"
out_eq 0 bound >/dev/null || fail "nflog group 5222 bound with the caps off"

# 2. On by a reload: installed, read, and hammering bans.
conf yes
xgc reload > "$T/reload1.out" 2>&1 || fail "reload: $(cat "$T/reload1.out")"
wait_for_line 'kernel caps: refusals read from nflog group 5222' "$T/xg.log"
wait_until "$XG_WAIT" "the reload did not install the caps" \
    out_has 'limit rate over 5/hour' ns_exec "$SRV" nft list chain \
    inet xgtest cap_c2s
out_eq 1 bound >/dev/null || fail "nflog group 5222 not bound after the reload"
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 12 \
    -s 198.51.100.3 --concurrency 1 --rate 50 --timeout 2 > "$T/churn.out"
expect_grep 'ok=5 ' "$T/churn.out"
wait_until "$XG_WAIT" "198.51.100.3 was not banned for hammering" \
    out_eq 1 banned_json 198.51.100.3
expect_grep 'ban.*198\.51\.100\.3.*refused 4 times by the c2s churn cap in 10m' \
    "$T/xg.log"
[ "$(xg_status_field "$T/ctl.sock" caps.refused.churn)" -ge 4 ] ||
    fail "the status counts no refusals: $(xgc status)"

# 3. Off again: the chain goes, the reader is closed.
conf no
xgc reload > "$T/reload2.out" 2>&1 || fail "reload: $(cat "$T/reload2.out")"
wait_for_line 'kernel caps: refusals no longer read from nflog group 5222' \
    "$T/xg.log"
wait_until "$XG_WAIT" "the caps' chain is still there" \
    out_empty sh -c "ip netns exec $SRV nft list chain inet xgtest cap_c2s 2>/dev/null"
out_eq 0 bound >/dev/null || fail "nflog group 5222 still bound"
kill -0 "$XGPID" || fail "the daemon died: $(tail "$T/xg.log")"
exit 0
