# The scope of a ban, end to end with the real daemon, nftables and TCP: a
# ban in the proxy scope (as for a client judged through a BOSH or
# WebSocket proxy; here `xmppguard ban --scope proxy`) drops every port,
# the proxy's 443 and an unwatched 8080 included, and ends the address's
# live session to 443, while a ban of the services' scope lets its
# address reach 443 and 8080 and keeps its session; a later proxied
# ban of that address widens its ban (out of ban4, into proxy4) and never
# the other way; the scope survives a restart, and with [allow]
# proxy_ports = 443 a proxied ban drops 443 and the services' 5222 but
# not 8080; `bans --json` and the log say which ports.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.10 198.51.100.13

PROXIED=198.51.100.10 DIRECT=198.51.100.11 BYSTANDER=198.51.100.12
LATER=198.51.100.13
write_conf() {	# write_conf PROXY_PORTS
	cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[conntrack]
poll = 1s
[service c2s]
ports = 5222
[service s2s]
ports = none
[service http]
ports = none
[ban]
duration = 1h
nft_table = xgscope
[allow]
proxy_ports = $1
CONF
}

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 \
    -p 5222,443,8080 --seconds 120
wait_for_line 'listening on 3 sockets' "$T/serve.log"
start_xg() {
	ns_xg_start "$T/xg.$1.log" "$T/xg.conf"
	XGPID=$NS_PID
}
can() {	# can SOURCE PORT: 0 if one connection completes in 1 s
	ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p "$2" -n 1 -s "$1" \
	    --timeout 1 --seconds 3 > "$T/connect.out" 2>&1
	grep -q ' ok=1 ' "$T/connect.out"
}
set_has() {	# set_has SET ADDR: the address is in the kernel's set
	ns_exec "$SRV" nft list set inet xgscope "$1" 2>/dev/null |
	    grep -q "$2"
}
bans_json() {	# bans_json ADDR SCOPE PORTS: one ban so, in bans --json
	xgc bans --json > "$T/bans.json" || fail "bans --json"
	python3 - "$T/bans.json" "$@" <<'PY' ||
import json, sys
bans = [json.loads(l) for l in open(sys.argv[1])]
b = [x for x in bans if x["address"] == sys.argv[2] + "/32"]
assert len(b) == 1, bans
assert b[0]["scope"] == sys.argv[3] and b[0]["ports"] == sys.argv[4], b
PY
	    fail "bans --json for $1: $(cat "$T/bans.json")"
}

write_conf all
start_xg 1
for a in $PROXIED $DIRECT $BYSTANDER; do
	for p in 5222 443 8080; do
		can "$a" "$p" || fail "$a cannot reach $p before any ban"
	done
done

# 1. proxy_ports = all: a proxied ban drops every port and ends the live
# sessions to any of them (443 here); a services ban only the services',
# and leaves a session to 443 alone.
flows443() {	# flows443 ADDR: its established flows to port 443
	ns_ct_count "$SRV" -p tcp --src "$1" --dport 443 --state ESTABLISHED
}
for a in $PROXIED $DIRECT; do
	ns_spawn "$CLI" "$T/hold.$a.log" "$XGLOAD" hold -s "$a" -d 192.0.2.1 \
	    -p 443 -n 1 --seconds 60
	wait_for_line 'established=1' "$T/hold.$a.log"
	wait_until "$XG_WAIT" "no flow from $a to 443" out_ge 1 flows443 "$a"
done
xgc ban "$DIRECT" || fail "services ban refused"
xgc ban --scope proxy "$PROXIED" --reason "auth: through the proxy" ||
    fail "proxied ban refused"
wait_until "$XG_WAIT" "the proxied ban left $PROXIED's session to 443" \
    out_eq 0 flows443 "$PROXIED"
[ "$(flows443 "$DIRECT")" -ge 1 ] ||
    fail "the services ban ended $DIRECT's session to 443"
set_has proxy4 "$PROXIED" || fail "$PROXIED is not in proxy4"
set_has ban4 "$PROXIED" && fail "$PROXIED is in ban4 too"
set_has ban4 "$DIRECT" || fail "$DIRECT is not in ban4"
for p in 5222 443 8080; do
	can "$PROXIED" "$p" && fail "proxied $PROXIED reaches port $p"
done
can "$DIRECT" 5222 && fail "banned $DIRECT reaches 5222"
can "$DIRECT" 443 || fail "services-banned $DIRECT cannot reach 443"
can "$DIRECT" 8080 || fail "services-banned $DIRECT cannot reach 8080"
for p in 5222 443 8080; do
	can "$BYSTANDER" "$p" || fail "bystander cannot reach $p"
done
line="ban: $PROXIED/32 for 1h (ban 1, manual, through a proxy: ports all)"
expect_grep "$line" "$T/xg.1.log"
bans_json "$PROXIED" proxy all
bans_json "$DIRECT" services 5222
xgc bans | grep -q "^$PROXIED/32 .*, ports all: auth: through the proxy" ||
    fail "bans text: $(xgc bans)"

# 2. A later proxied ban of the services-banned address widens it; a
# services ban never narrows one.
xgc ban --scope proxy "$DIRECT" --for 10m ||
    fail "widening ban refused"
expect_grep "ban widened: $DIRECT/32" "$T/xg.1.log"
set_has proxy4 "$DIRECT" || fail "$DIRECT is not in proxy4 once widened"
set_has ban4 "$DIRECT" && fail "$DIRECT is still in ban4 once widened"
can "$DIRECT" 443 && fail "widened $DIRECT reaches 443"
bans_json "$DIRECT" proxy all
xgc ban "$PROXIED" --for 2h || fail "a longer services ban refused"
set_has proxy4 "$PROXIED" || fail "a services ban narrowed $PROXIED"
can "$PROXIED" 443 && fail "$PROXIED reaches 443 after a services ban"
bans_json "$PROXIED" proxy all

# 3. Restart with proxy_ports = 443: the scope comes back from the store,
# and a proxied ban drops 443 and the services' 5222, not 8080.
ns_stop "$XGPID"
write_conf 443
start_xg 2
expect_grep "2 bans in force restored" "$T/xg.2.log"
ns_exec "$SRV" nft list chain inet xgscope filter > "$T/chain"
expect_grep 'ip saddr @proxy4 tcp dport { 443, 5222 } drop' "$T/chain"
set_has proxy4 "$PROXIED" || fail "$PROXIED left proxy4 with the restart"
set_has proxy4 "$DIRECT" || fail "$DIRECT left proxy4 with the restart"
can "$PROXIED" 443 && fail "$PROXIED reaches 443 after the restart"
can "$PROXIED" 5222 && fail "$PROXIED reaches 5222 after the restart"
can "$PROXIED" 8080 || fail "$PROXIED cannot reach 8080 (not a proxy port)"
bans_json "$PROXIED" proxy 443,5222
xgc ban --scope proxy "$LATER" || fail "proxied ban refused"
can "$LATER" 443 && fail "proxied $LATER reaches 443"
can "$LATER" 8080 || fail "proxied $LATER cannot reach 8080"
can "$BYSTANDER" 443 || fail "bystander cannot reach 443"
ns_stop "$XGPID"
# No daemon: the commands that ask it exit 3 (LSB: not running).
xgc status > "$T/status.out" 2>&1
rc=$?
[ "$rc" = 3 ] || fail "status with no daemon exited $rc, not 3: $(cat "$T/status.out")"
exit 0
