# Kernel caps per network, and the spoofing defence, over IPv6 ([track]
# prefix6 = 64).
#  1. Spoofed SYNs bearing a victim's IPv6 address, from a third namespace
#     (the server's SYN-ACKs go to the victim, which resets them): no
#     refusal, no ban, and the victim connects up to its limits.
#  2. The network exemption: spoofed SYNs from one address of a /64 whose
#     firewall drops the SYN-ACKs fill the network's concurrency count
#     with half-open entries; the SYN-ACKs the server sends again put the
#     /64 in cap_halfnet6_64, so another address of that /64 passes the
#     network's cap (counted exempt: nflog's letter X), unbanned.
#  3. A /64 spread: 12 addresses of one /64, one held connection each,
#     against net_max_concurrent = 10: 10 established, 2 refused by the
#     network's cap, none by an address's own (max_concurrent = 4); 25
#     addresses of another /64, one new connection each, against
#     net_max_new = 20/1h: 20 through.  A neighbour outside both /64s
#     connects.  No ban.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
xgload_build
ns_setup
# Victims (1, 2), the spread's /64s (3), the neighbour.
ns_add_client_addrs "$CLI" 2001:db8:d::1 2001:db8:d::1
ns_add_client_addrs "$CLI" 2001:db8:e::1 2001:db8:e::2
ns_add_client_addrs "$CLI" 2001:db8:a::10 2001:db8:a::1b
ns_add_client_addrs "$CLI" 2001:db8:b::10 2001:db8:b::28
ns_add_client_addrs "$CLI" 2001:db8:c::1 2001:db8:c::1
# The spoofer: its own link to the server; the server's replies follow
# its default route, to the victims' namespace.
ns_add_spoofer

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[track]
prefix6 = 64
[service c2s]
ports = 5222
max_concurrent = 4
max_new = 5/1h
net_max_concurrent = 10
net_max_new = 20/1h
karma = off
[ban]
duration = 10m
nft_table = xgtest
cap_persist = 100/10m
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 2001:db8::1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_caps_start "$T/xg.log" "$T/xg.conf"
XGPID=$NS_PID
xgc() {
	"$XG" "$@" -s "$T/ctl.sock"
}
ns_exec "$SRV" nft list chain inet xgtest cap_c2s > "$T/chain" ||
    fail "no cap_c2s chain: $(cat "$T/xg.log")"
expect_grep 'ip6 saddr & ffff:ffff:ffff:ffff:: ct count over 10' "$T/chain"
expect_grep 'ip6 saddr & ffff:ffff:ffff:ffff:: limit rate over 20/hour burst 20 ' \
    "$T/chain"

refused() {	# the daemon's count of refusals by cap $1 (none: 0)
	"$XG" status --json -s "$T/ctl.sock" | python3 -c "
import json, sys
print(json.load(sys.stdin)['caps'].get('refused', {}).get(sys.argv[1], 0))" "$1"
}
exempt() {
	xg_status_field "$T/ctl.sock" caps.exempt
}
bans_in() {	# bans --json entries whose address starts with $1
	xgc bans --json | python3 -c "
import json, sys
bans = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(1 for b in bans if b['address'].startswith(sys.argv[1])))" "$1"
}
no_refusal() {
	local k
	for k in concurrency churn net_concurrency net_churn; do
		[ "$(refused $k)" = 0 ] ||
		    fail "$1: $(refused $k) refused by the $k cap"
	done
}
spoof() {	# 100 SYNs from $1, none completed
	ns_exec "$SPF" "$XGLOAD" syn --spoof -s "$1" -d 2001:db8::1 \
	    -p 5222 -n 100 > "$T/spoof.out" || fail "syn --spoof failed"
	expect_grep '^mode=syn started=100 sent=100 failed=0 ' "$T/spoof.out"
}
est_from() {	# established connections from $1 (a prefix), server side
	ns_exec "$SRV" ss -Htn state established src "[2001:db8::1]:5222" \
	    dst "$1" | wc -l
}

# 1. The victim resets the SYN-ACKs: its half-open entries close, and it
# connects up to its limits (4 held, then 1 new: 5 in the hour).
spoof 2001:db8:d::1
wait_until "$XG_WAIT" "the spoofed entries of 2001:db8:d::1 stay" \
    out_eq 0 ns_ct_count "$SRV" -f ipv6 -p tcp --state SYN_RECV -s 2001:db8:d::1
ns_spawn "$CLI" "$T/hold1.log" "$XGLOAD" hold -d 2001:db8::1 -p 5222 \
    -n 4 -s 2001:db8:d::1 --timeout 5 --seconds 60
HOLD1=$NS_PID
wait_for_line 'established=4 failed=0' "$T/hold1.log"
ns_stop "$HOLD1"
expect_grep 'established=4 failed=0 timeouts=0 peer_closed=0 ' "$T/hold1.log"
ns_exec "$CLI" "$XGLOAD" churn -d 2001:db8::1 -p 5222 -n 1 \
    -s 2001:db8:d::1 --timeout 5 > "$T/churn1.out" ||
    fail "the victim's fifth connection: $(cat "$T/churn1.out")"
expect_grep 'ok=1 failed=0 ' "$T/churn1.out"
no_refusal "the IPv6 victim"
[ "$(bans_in 2001:db8:d:)" = 0 ] || fail "the victim was banned: $(xgc bans)"
[ "$(exempt)" = 0 ] || fail "exempt: $(exempt)"

# 2. 2001:db8:e::1's firewall drops the SYN-ACKs: 100 half-open entries
# in its /64, over net_max_concurrent.  Once the server has sent them
# again, the /64 is exempt from the network's cap: 2001:db8:e::2 (no
# half-open entry of its own) holds 3, where the /64's count would have
# refused them.
ns_exec "$CLI" nft -f - <<-EOF2 || fail "nft in $CLI"
table inet victim {
	chain in {
		type filter hook input priority 0;
		ip6 daddr 2001:db8:e::1 ct state invalid drop
	}
}
EOF2
spoof 2001:db8:e::1
wait_until "$XG_WAIT" "2001:db8:e::/64 never in cap_halfnet6_64" \
    out_has '2001:db8:e::' ns_exec "$SRV" nft list set inet xgtest \
    cap_halfnet6_64
[ "$(ns_ct_count "$SRV" -f ipv6 -s 2001:db8:e::1)" -gt 10 ] ||
    fail "the half-open entries are gone:" \
    "$(ns_ct "$SRV" -L -f ipv6 -s 2001:db8:e::1)"
ns_spawn "$CLI" "$T/hold2.log" "$XGLOAD" hold -d 2001:db8::1 -p 5222 \
    -n 3 -s 2001:db8:e::2 --timeout 5 --seconds 60
HOLD2=$NS_PID
wait_for_line 'established=3 failed=0' "$T/hold2.log"
wait_until "$XG_WAIT" "no connection of 2001:db8:e::2 counted exempt" \
    out_ge 1 exempt
no_refusal "the exempt network"
ns_stop "$HOLD2"
expect_grep 'established=3 failed=0 timeouts=0 peer_closed=0 ' "$T/hold2.log"
[ "$(bans_in 2001:db8:e:)" = 0 ] ||
    fail "the exempt network was banned: $(xgc bans)"

# 3a. The /64 spread, held: 12 addresses, one connection each.
ns_spawn "$CLI" "$T/hold3.log" "$XGLOAD" hold -d 2001:db8::1 -p 5222 \
    -n 12 -s 2001:db8:a::10-2001:db8:a::1b --timeout 5 --seconds 120
HOLD3=$NS_PID
wait_for_line 'established=10 failed=2' "$T/hold3.log"
wait_until "$XG_WAIT" "the daemon did not read the 2 network refusals" \
    out_eq 2 refused net_concurrency
wait_until "$XG_WAIT" "not 10 established from 2001:db8:a::/64" \
    out_eq 10 est_from 2001:db8:a::/64
[ "$(refused concurrency)" = 0 ] ||
    fail "an address's own cap refused: $(refused concurrency)"
# A neighbour outside the /64 connects.
ns_exec "$CLI" "$XGLOAD" churn -d 2001:db8::1 -p 5222 -n 1 \
    -s 2001:db8:c::1 --timeout 5 > "$T/neighbour.out" ||
    fail "the neighbour could not connect: $(cat "$T/neighbour.out")"
expect_grep 'ok=1 ' "$T/neighbour.out"

# 3b. The /64 spread, new: 25 addresses, one connection each, one at a
# time (the network's concurrency stays low): 20 through.
ns_exec "$CLI" "$XGLOAD" churn -d 2001:db8::1 -p 5222 -n 25 \
    -s 2001:db8:b::10-2001:db8:b::28 --concurrency 1 --rate 50 \
    --timeout 5 > "$T/churn3.out"
expect_grep 'ok=20 failed=5 ' "$T/churn3.out"
wait_until "$XG_WAIT" "the daemon did not read the 5 network churn refusals" \
    out_eq 5 refused net_churn
[ "$(refused churn)" = 0 ] ||
    fail "an address's own churn cap refused: $(refused churn)"

# Seconds later: the 10 are alive, no ban in either /64.
out_eq 10 est_from 2001:db8:a::/64 > /dev/null ||
    fail "$(est_from 2001:db8:a::/64) established from 2001:db8:a::/64, not 10"
[ "$(bans_in 2001:db8:a:)" = 0 ] || fail "the spread was banned: $(xgc bans)"
[ "$(bans_in 2001:db8:b:)" = 0 ] || fail "the spread was banned: $(xgc bans)"
ns_stop "$HOLD3"
expect_grep 'established=10 failed=2 timeouts=0 peer_closed=0 open_at_end=10 ' \
    "$T/hold3.log"
kill -0 "$XGPID" || fail "the daemon died: $(tail "$T/xg.log")"
exit 0
