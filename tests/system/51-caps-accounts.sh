# Account-aware kernel caps: the accounts that log in from an address
# raise its cap in the kernel, through the privileged helper ([global]
# user), and the raise lapses with the window.
#  - max_concurrent = 10, account_allowance_concurrent = 2: 11 held
#    connections from the NAT's address give 10 established, 1 refused.
#  - two accounts log in from it (ejabberd's lines): it is put in the
#    level set of 2 accounts, whose chain caps it at 10 + 2 x 2 = 14; 16
#    held give 14 established and 2 refused, the 14 still up seconds
#    later; no ban.
#  - a 20 s window later (max_new = 1000/20s) with no login, the element
#    has lapsed in the kernel: 11 held give 10 and 1 refused again.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
getent passwd nobody >/dev/null || skip "no user nobody"
xgload_build
ns_setup
NAT=198.51.100.10
ns_add_client_addrs "$CLI" $NAT $NAT

logs="$T/logs"
mkdir -p "$logs"
: > "$logs/ejabberd.log"
# nobody must read the configuration (reload) and reach its state.
chmod 755 "$T" "$logs"
chmod 644 "$logs/ejabberd.log"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/state/ctl.sock
user = nobody
[service c2s]
ports = 5222
max_concurrent = 10
max_new = 1000/20s
net_max_concurrent = 0
net_max_new = none
karma = off
account_allowance_concurrent = 2
account_allowance_new = 0
account_max = 4
net_account_max = 4
[ban]
duration = 10m
nft_table = xgacct
cap_persist = 30/10m
[log ejabberd]
path = $logs/ejabberd.log
filter = $TOP/filters/ejabberd.conf
CONF
chmod 644 "$T/xg.conf"

# login USER IP: the line ejabberd 20.x+ writes for a successful login.
n=0
login() {
	n=$((n + 1))
	printf '%s [info] <0.%s.0>@ejabberd_c2s:process_auth_result/3:272 (tls|<0.%s.0>) Accepted c2s SCRAM-SHA-1 authentication for %s@example.org by mnesia backend from ::ffff:%s\n' \
	    "$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00:00')" $((500 + n)) \
	    $((500 + n)) "$1" "$2" >> "$logs/ejabberd.log"
}
est_from() {	# established connections from $1, server side
	ns_exec "$SRV" ss -Htn state established src 192.0.2.1:5222 \
	    dst "$1" | wc -l
}
at_least() {	# at_least N COMMAND...: COMMAND prints N or more
	local n=$1 v
	shift
	v=$("$@")
	echo "$v"
	[ "${v:-0}" -ge "$n" ]
}
refused() {	# the kernel caps' refusals the daemon has read, all caps
	"$XG" status --json -s "$T/state/ctl.sock" | python3 -c "
import json, sys
r = json.load(sys.stdin)['caps']['refused']
print(sum(r.values()) if isinstance(r, dict) else r)"
}
banned_json() {	# 1 if bans --json lists $1
	"$XG" bans --json -s "$T/state/ctl.sock" | python3 -c "
import json, sys
bans = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(1 for b in bans if b['address'].split('/')[0] == sys.argv[1]))" "$1"
}
level_set() {	# the elements of the level set of $1 accounts
	ns_exec "$SRV" nft list set inet xgacct "cap_c2s_l4_$1"
}
# hold N LOG: N held connections from the NAT (PID in $HOLD).
hold() {
	ns_spawn "$CLI" "$2" "$XGLOAD" hold -d 192.0.2.1 -p 5222 -n "$1" \
	    -s $NAT --timeout 5 --seconds 120
	HOLD=$NS_PID
}
unhold() {	# ends hold $HOLD; waits until nothing is established
	kill "$HOLD" 2>/dev/null
	wait "$HOLD" 2>/dev/null
	wait_until "$XG_WAIT" "the held connections did not close" \
	    out_eq 0 est_from $NAT
}

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
expect_grep "privileges: running as nobody" "$T/xg.log"
if grep -q 'kernel caps: unavailable' "$T/xg.log"; then
	skip "this kernel or nft lacks what the caps need: $(grep 'kernel caps' "$T/xg.log")"
fi
ns_exec "$SRV" nft list chain inet xgacct cap_c2s > "$T/chain" ||
    fail "no cap_c2s chain: $(cat "$T/xg.log")"
# One lookup in the set of every level's, then levels of 1, 2 and 4
# accounts (account_max 4), highest first.
expect_grep 'ip saddr @cap_c2s_l4 goto cap_c2s_a4$' "$T/chain"
ns_exec "$SRV" nft list chain inet xgacct cap_c2s_a4 > "$T/levels" ||
    fail "no cap_c2s_a4 chain"
expect_grep 'ip saddr @cap_c2s_l4_3 goto cap_c2s_a4_3' "$T/levels"
expect_grep 'ip saddr @cap_c2s_l4_1 goto cap_c2s_a4_1' "$T/levels"
grep -q 'cap_c2s_l4_4' "$T/levels" &&
    fail "a level beyond account_max: $(cat "$T/levels")"
ns_exec "$SRV" nft list chain inet xgacct cap_c2s_a4_2 > "$T/a2" ||
    fail "no chain for level 2"
expect_grep 'ct count over 14' "$T/a2"

# 1. Before any login: 10 established, 1 refused.
hold 11 "$T/hold1.log"
wait_for_line 'established=10 failed=1' "$T/hold1.log"

# 2. Two accounts log in (the held connections corroborate the lines):
# the address goes to level 2, 14 connections.
login alice $NAT
login bob $NAT
wait_until "$XG_WAIT" "the NAT is not in the level set of 2 accounts" \
    out_has "$NAT" level_set 2
out_has "$NAT" ns_exec "$SRV" nft list set inet xgacct cap_c2s_l4 \
    >/dev/null || fail "the NAT is not in the set of every level's"
unhold
before=$(refused)
hold 16 "$T/hold2.log"
wait_for_line 'established=14 failed=2' "$T/hold2.log"
wait_until "$XG_WAIT" "not 14 established from the NAT" \
    out_eq 14 est_from $NAT
# The daemon has read the two refusals (what could make it act on them).
wait_until "$XG_WAIT" "the daemon did not read the 2 refusals" \
    at_least $((before + 2)) refused
out_eq 14 est_from $NAT > /dev/null ||
    fail "$(est_from $NAT) established from the NAT afterwards, not 14"
out_eq 0 banned_json $NAT > /dev/null ||
    fail "the NAT was banned: $("$XG" bans -s "$T/state/ctl.sock")"
# The refused connections were live for an instant (conntrack saw their
# handshakes end): the tracker's verdicts over the limits are covered by
# the caps, recorded, never enforced.
! grep "verdict: $NAT" "$T/xg.log" | grep -qv 'refused in the kernel: not banned' ||
    fail "the NAT was judged: $(grep "verdict: $NAT" "$T/xg.log")"
unhold

# 3. The window lapses with no login: back to the base cap.
wait_until 40 "the NAT's level did not lapse" out_lacks "$NAT" level_set 2
hold 11 "$T/hold3.log"
wait_for_line 'established=10 failed=1' "$T/hold3.log"
out_eq 0 banned_json $NAT > /dev/null ||
    fail "the NAT was banned: $("$XG" bans -s "$T/state/ctl.sock")"
unhold
exit 0
