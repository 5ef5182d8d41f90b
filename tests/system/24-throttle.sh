# karma = throttle: a bandwidth hog is not banned but slowed to
# throttle_rate by nftables, while its connection stays up; the throttle
# shows in `bans --json` and in the kernel's throttle set.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.20 198.51.100.20
HOG=198.51.100.20

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[conntrack]
poll = 500ms
[service c2s]
ports = 5222
karma = 20k/s burst 100k
[ban]
karma = throttle
throttle_rate = 8k
duration = 1m
nft_table = xgtest
CONF
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 60
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"

# 4 MB at up to 1 MB/s for 12 s: unthrottled it would be done in 4 s.
ns_spawn "$CLI" "$T/hog.log" "$XGLOAD" bandwidth -d 192.0.2.1 -p 5222 \
    --bytes 4m --rate 1m/s -s "$HOG" --seconds 12
hog=$NS_PID
wait_for_line "ban: $HOG/32 for 1m (throttle 1, karma)" "$T/xg.log"
# The line is logged as the throttle is decided; the set follows.
wait_until "$XG_WAIT" "the hog is not in the throttle set" \
    out_has "$HOG" ns_exec "$SRV" nft list set inet xgtest thr4
"$XG" bans --json -s "$T/ctl.sock" | python3 -c '
import json, sys
b = [json.loads(l) for l in sys.stdin]
assert len(b) == 1 and b[0]["throttled"] and b[0]["rule"] == "karma", b
' || fail "bans --json does not show the throttle"
# Not banned: the connection is alive, just slow.
ns_exec "$SRV" nft list set inet xgtest ban4 | grep -q "$HOG" &&
    fail "the hog was banned, not throttled"
wait_pid_gone "$hog" || fail "the hog did not end"
cat "$T/hog.log"
bytes=$(sed -n 's/.* bytes_out=\([0-9]*\).*/\1/p' "$T/hog.log")
[ -n "$bytes" ] || fail "no byte count from xgload"
# Unthrottled it sends all 4 MB; throttled at 8k/s it cannot.
[ "$bytes" -lt 3000000 ] ||
    fail "the throttle did not slow the hog: $bytes bytes sent"
exit 0
