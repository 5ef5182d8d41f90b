# Kernel caps against spoofed SYNs: a flood of SYNs bearing a victim's
# source address, well past its max_new and max_concurrent, neither
# drains its churn bucket nor counts a refusal for it nor bans it: the
# caps judge a connection at the end of its handshake, which a spoofer
# never completes.  The victim then connects up to its limits.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.1

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
max_concurrent = 10
max_new = 20/1h
net_max_concurrent = 0
net_max_new = none
karma = off
[ban]
duration = 10m
nft_table = xgtest
cap_persist = 30/10m
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
XGPID=$NS_PID
wait_for_line 'ready' "$T/xg.log"
if grep -q 'kernel caps: unavailable' "$T/xg.log"; then
	skip "this kernel or nft lacks what the caps need: $(grep 'kernel caps' "$T/xg.log")"
fi
xgc() {
	"$XG" "$@" -s "$T/ctl.sock"
}

# 100 SYNs from the victim's address, none completed.
ns_exec "$CLI" "$XGLOAD" syn --spoof -s 198.51.100.1 -d 192.0.2.1 \
    -p 5222 -n 100 > "$T/spoof.out" || fail "syn --spoof failed"
expect_grep '^mode=syn started=100 sent=100 failed=0 ' "$T/spoof.out"
sleep 2

# The victim: 10 held (max_concurrent), then 10 more new ones (20 in all,
# max_new): every one through.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n 10 -s 198.51.100.1 --timeout 5 --seconds 60
HOLD=$NS_PID
wait_for_line 'established=10 failed=0' "$T/hold.log"
ns_stop "$HOLD"
expect_grep 'established=10 failed=0 timeouts=0 peer_closed=0 ' "$T/hold.log"
sleep 1
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 10 \
    -s 198.51.100.1 --concurrency 1 --rate 50 --timeout 5 > "$T/churn.out"
expect_grep 'ok=10 failed=0 ' "$T/churn.out"

# No refusal counted, no ban.
st=$(xgc status)
echo "$st" | grep -q '^caps .* 0 banned for hammering' ||
    fail "caps status: $(echo "$st" | grep '^caps')"
xg_status_field "$T/ctl.sock" caps.refused > "$T/refused" 2>&1 || true
grep -q '[1-9]' "$T/refused" && fail "refusals counted: $(cat "$T/refused")"
xgc bans --json > "$T/bans"
grep -q '198\.51\.100\.1' "$T/bans" && fail "the victim was banned: $(cat "$T/bans")"
kill -0 "$XGPID" || fail "the daemon died: $(tail "$T/xg.log")"
exit 0
