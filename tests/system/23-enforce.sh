# Enforcement end to end, with the real daemon, nftables and TCP: a churn
# bot is banned (its element in the kernel set, its live session cut) and
# can no longer connect while a neighbour can; its ban expires in the
# kernel and it connects again; an allowlisted address over every limit is
# never banned; a manual ban survives a restart without being announced
# again, and the kernel then holds exactly the store's bans; unban
# through the socket lets the address back; the control socket lets a
# control group member look but not change, and refuses anyone else.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.10 198.51.100.13

BOT=198.51.100.10 NEIGHBOUR=198.51.100.11 FRIEND=198.51.100.12
OTHER=198.51.100.13
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
control_group = nogroup
control_mode = 0660
[conntrack]
poll = 1s
[service c2s]
ports = 5222
max_new = 10/1h
[ban]
duration = 4s
nft_table = xgtest
[allow]
networks = $FRIEND
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 120
wait_for_line 'listening' "$T/serve.log"
start_xg() {
	ns_xg_start "$T/xg.$1.log" "$T/xg.conf"
	XGPID=$NS_PID
}
connect() {	# connect SOURCE: 0 if one connection completes in 2 s
	ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 1 -s "$1" \
	    --timeout 2 --seconds 3 > "$T/connect.out" 2>&1
	grep -q ' ok=1 ' "$T/connect.out"
}
in_set() {	# in_set ADDR: the address is in the kernel's ban4 set
	ns_exec "$SRV" nft list set inet xgtest ban4 2>/dev/null |
	    grep -q "$1"
}
ban_set() {	# the kernel's ban4 set
	ns_exec "$SRV" nft list set inet xgtest ban4
}

start_xg 1
[ "$(stat -c '%a %G' "$T/ctl.sock")" = "660 nogroup" ] ||
    fail "control socket: $(stat -c '%a %G' "$T/ctl.sock")"
# The bot holds a session (up before it churns), then churns past max_new.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 -n 1 \
    -s "$BOT" --seconds 60
hold=$NS_PID
wait_for_line 'established=1 failed=0' "$T/hold.log"
# The ban lands before the 12th connection: --timeout 1, so the churn is
# back well within the 4 s ban.
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 12 -s "$BOT" \
    --timeout 1 --seconds 10 > "$T/churn.out" 2>&1
wait_until "$XG_WAIT" "$BOT is not in the ban set" out_has "$BOT" ban_set
# While the ban (4 s) is in force: the bot cannot connect.
connect "$BOT" && fail "the banned bot still connects"
wait_for_line "ban: $BOT/32 for 4s (ban 1, churn)" "$T/xg.1.log"
xgc bans --json > "$T/bans.json"
python3 - "$T/bans.json" "$BOT" <<'PY' || fail "bans --json: $(cat "$T/bans.json")"
import json, sys
bans = [json.loads(l) for l in open(sys.argv[1])]
b = [x for x in bans if x["address"] == sys.argv[2] + "/32"]
assert len(b) == 1, bans
b = b[0]
assert b["rule"] == "churn" and b["count"] == 1 and b["source"] == "rule", b
assert b["reason"].startswith("churn: "), b
assert b["expires"] > b["since"], b
PY
connect "$NEIGHBOUR" || fail "the neighbour cannot connect: $(cat "$T/connect.out")"
# Its held session was cut, not left to time out: the server's socket is
# gone and the client got a reset.  (The cut follows the element into the
# set: wait for it.)
ns_wait_cut "$BOT"
ns_stop "$hold"
expect_grep 'peer_closed=1 .*ECONNRESET' "$T/hold.log"

# The kernel drops the element by itself (its 4 s are up); the bot comes
# back.
wait_until "$XG_WAIT" "the ban did not expire in the kernel" \
    out_lacks "$BOT" ban_set
connect "$BOT" || fail "the bot cannot connect after its ban expired"
wait_for_line "unban: $BOT/32 (churn ban 1 expired)" "$T/xg.1.log"

# An allowlisted address over every limit: recorded, never banned.
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 15 -s "$FRIEND" \
    --seconds 10 > /dev/null 2>&1
wait_for_line "verdict: $FRIEND/32 churn: .*(allowlisted: not enforced)" \
    "$T/xg.1.log"
# The verdict is judged; a ban from it would be in the set by the time
# the daemon answers a later command (it flushes before it reads again).
xgc bans > "$T/bans.txt" || fail "bans"
grep -q "^$FRIEND/" "$T/bans.txt" && fail "the allowlisted address was banned"
in_set "$FRIEND" && fail "the allowlisted address was banned"
connect "$FRIEND" || fail "the allowlisted address cannot connect"
xgc ban "$FRIEND" > "$T/ban.out" 2>&1 && fail "a manual ban of an allowlisted address was taken"
expect_grep "never banned" "$T/ban.out"
# A reason without --for: [ban] duration.
xgc ban 198.51.100.77 --reason "no duration given" ||
    fail "a manual ban with a reason and no --for was refused"
xgc bans | grep -q "^198.51.100.77/32 .*no duration given" ||
    fail "the manual ban with a reason is not listed"
xgc unban 198.51.100.77 || fail "unban refused"

# A manual ban outlives a restart (and a kill -9), and is not announced
# again.
xgc ban "$OTHER" --for 1h --reason "seen in the abuse feed" ||
    fail "manual ban refused"
in_set "$OTHER" || fail "the manual ban is not in the kernel"
ns_stop "$XGPID"
in_set "$OTHER" || fail "the ban left the kernel with the daemon"
# While it is down, an element the store does not know appears (a ban
# made while the store could not be written, say): adopted, not removed.
ns_exec "$SRV" nft add element inet xgtest ban4 '{ 198.51.100.99 timeout 1h }'
start_xg 2
in_set 198.51.100.99 || fail "the restart removed an element the store does not know"
expect_grep "198.51.100.99/32 adopted from the firewall" "$T/xg.2.log"
xgc unban 198.51.100.99 || fail "the adopted ban cannot be lifted"
grep -q "ban: $OTHER" "$T/xg.2.log" && fail "the restart announced the ban again"
expect_grep "1 ban in force restored" "$T/xg.2.log"
xgc bans | grep -q "^$OTHER/32 .*manual" || fail "bans lost the manual ban"
connect "$OTHER" && fail "$OTHER connects though banned"
# kill -9 right after a ban loses nothing either.
xgc ban 198.51.100.88 --for 1h || fail "manual ban refused"
kill -KILL "$XGPID"
wait_pid_gone "$XGPID" || fail "kill -9 did not end the daemon"
start_xg 3
in_set 198.51.100.88 || fail "a ban was lost to kill -9"
xgc bans | grep -q "^198.51.100.88/32 " || fail "bans lost a ban to kill -9"
xgc unban 198.51.100.88 || fail "unban refused"
xgc unban "$OTHER" || fail "unban refused"
in_set "$OTHER" && fail "unban left the element in the kernel"
connect "$OTHER" || fail "$OTHER cannot connect after unban"

# Peers: a member of control_group (nogroup) may look, not change; any
# other user is refused by the daemon (it checks the caller's credentials,
# whatever the socket file's mode).
if command -v setpriv >/dev/null 2>&1; then
	chmod 755 "$T"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$XG" bans -s "$T/ctl.sock" > "$T/member.out" 2>&1 ||
	    fail "a control group member cannot ask: $(cat "$T/member.out")"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$XG" ban 192.0.2.77 -s "$T/ctl.sock" > "$T/member.out" 2>&1 &&
	    fail "a control group member could ban"
	expect_grep "only root and the daemon's own user may" "$T/member.out"
	chmod 666 "$T/ctl.sock"
	setpriv --reuid=54321 --regid=54321 --clear-groups \
	    "$XG" bans -s "$T/ctl.sock" > "$T/nobody.out" 2>&1 &&
	    fail "the control socket answered a stranger"
	grep -q "no answer (only root" "$T/nobody.out" ||
	    fail "not refused by the daemon: $(cat "$T/nobody.out")"
	xgc bans > /dev/null || fail "root is refused after the others tried"
fi
ns_stop "$XGPID"
exit 0
