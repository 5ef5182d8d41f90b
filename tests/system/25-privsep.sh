# Privilege separation ([global] user): the daemon drops to nobody with no
# capability left, a helper keeps CAP_NET_ADMIN alone (bounding set too),
# and everything still works through it: a churn bot is banned in the
# kernel and its live session cut, conntrack dumps (karma's poll) run,
# reload reaches the helper, and the helper ends with the daemon.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
getent passwd nobody >/dev/null || skip "no user nobody"
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.30 198.51.100.31
BOT=198.51.100.30 NEIGHBOUR=198.51.100.31

# nobody must read the configuration (reload) and reach its state.
chmod 755 "$T"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/state/ctl.sock
user = nobody
[conntrack]
poll = 1s
[service c2s]
ports = 5222
max_new = 5/1h
[ban]
duration = 1h
nft_table = xgpriv
CONF
chmod 644 "$T/xg.conf"
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 60
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
xg=$NS_PID
expect_grep "privileges: running as nobody" "$T/xg.log"

# The daemon: nobody, no capability.  The helper: root, NET_ADMIN only.
[ -r "/proc/$xg/status" ] || fail "no /proc/$xg"
grep -q "^Uid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534" \
    "/proc/$xg/status" || fail "the daemon is not nobody: $(grep ^Uid "/proc/$xg/status")"
grep -q "^CapEff:[[:space:]]*0000000000000000$" "/proc/$xg/status" ||
    fail "the daemon kept capabilities: $(grep ^Cap "/proc/$xg/status")"
helper=$(pgrep -P "$xg" -x xmppguard | head -n 1)
[ -n "$helper" ] || fail "no helper process"
grep -q "^Uid:[[:space:]]*0[[:space:]]" "/proc/$helper/status" ||
    fail "the helper is not root"
grep -q "^CapEff:[[:space:]]*0000000000001000$" "/proc/$helper/status" ||
    fail "the helper has more than CAP_NET_ADMIN: $(grep ^Cap "/proc/$helper/status")"
grep -q "^CapBnd:[[:space:]]*0000000000001000$" "/proc/$helper/status" ||
    fail "the helper's bounding set is wider: $(grep ^CapBnd "/proc/$helper/status")"

# Enforcement through the helper: banned in the kernel, session cut.  The
# bot's session is up before it churns.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 -n 1 \
    -s "$BOT" --seconds 60
hold=$NS_PID
wait_for_line 'established=1 failed=0' "$T/hold.log"
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 8 -s "$BOT" \
    --seconds 10 > /dev/null 2>&1
wait_for_line "ban: $BOT/32 for 1h (ban 1, churn)" "$T/xg.log"
wait_until "$XG_WAIT" "the ban is not in the kernel" \
    out_has "$BOT" ns_exec "$SRV" nft list set inet xgpriv ban4
# The cut comes after the element is in the set (the daemon adds the
# element, then asks the helper to end the sessions): wait for it.  The
# server's socket goes, then the client's, on the reset.
ns_wait_cut "$BOT"
ns_stop "$hold"
expect_grep 'peer_closed=1 .*ECONNRESET' "$T/hold.log"
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 1 -s "$NEIGHBOUR" \
    --timeout 2 --seconds 3 | grep -q ' ok=1 ' ||
    fail "the neighbour cannot connect"

# Conntrack dumps from the unprivileged daemon (karma's poll, each 1 s).
status_field() {	# status_field KEY.PATH: a value from status --json
	xg_status_field "$T/state/ctl.sock" "$1"
}
wait_until "$XG_WAIT" "no conntrack dumps" out_ge 2 status_field conntrack.dumps
[ "$(status_field firewall.failures)" = 0 ] ||
    fail "firewall failures: $(status_field firewall.failures)"
grep -q "conntrack table dump" "$T/xg.log" && fail "a dump failed"

# Reload reaches the helper; a broken file changes nothing.
"$XG" reload -s "$T/state/ctl.sock" || fail "reload refused"
echo "firewall = bogus" >> "$T/xg.conf"
"$XG" reload -s "$T/state/ctl.sock" > "$T/reload.out" 2>&1 &&
    fail "a broken reload was taken"
sed -i '$d' "$T/xg.conf"
"$XG" unban "$BOT" -s "$T/state/ctl.sock" || fail "unban refused"
ns_exec "$SRV" nft list set inet xgpriv ban4 | grep -q "$BOT" &&
    fail "unban did not reach the kernel"

ns_stop "$xg"
kill -0 "$helper" 2>/dev/null && fail "the helper outlived the daemon"

# Without its helper the daemon cannot enforce: it stops (the service
# manager starts it again) rather than carry on blind.
ns_xg_start "$T/xg2.log" "$T/xg.conf"
xg=$NS_PID
helper=$(pgrep -P "$xg" -x xmppguard | head -n 1)
kill -KILL "$helper"
"$XG" ban 192.0.2.99 -s "$T/state/ctl.sock" > /dev/null 2>&1
wait_pid_gone "$xg" || fail "the daemon went on without its helper"
expect_grep "the privileged helper (pid $helper) is gone" "$T/xg2.log"
exit 0
