# Kernel caps against spoofed SYNs: a flood of SYNs bearing a victim's
# source address, well past its max_new and max_concurrent, sent from a
# third namespace (the spoofer's), so that the server's SYN-ACKs go to the
# victim as they would on the Internet.
#  - A victim that answers them with a reset (no socket: a host with no
#    firewall): the caps judge a connection at the ACK that ends its
#    handshake (conntrack's ASSURED), which neither the spoofer nor the
#    victim's reset is, so the flood drains no churn bucket, counts no
#    refusal, bans no one, and the reset closes the half-open entries
#    (ct count counts them from the SYN on, until closed).  The victim
#    then connects up to its limits.
#  - A victim whose firewall drops them (ct state invalid): the half-open
#    entries stay, and fill its ct count.  The server sends each SYN-ACK
#    again a second later; that puts the victim in cap_half4 for 2m, and
#    the concurrency cap lets it through (counted as exempt): it connects
#    up to its limits, unbanned.  An address in cap_half4 that goes over
#    max_concurrent for real is banned by the daemon, as without caps.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.3
# The spoofer: its own link to the server; the server's replies still
# follow its default route, to the victims' namespace.
ns_add_spoofer

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
ns_xg_caps_start "$T/xg.log" "$T/xg.conf"
XGPID=$NS_PID
xgc() {
	"$XG" "$@" -s "$T/ctl.sock"
}
spoof() {	# 100 SYNs from $1, none completed
	ns_exec "$SPF" "$XGLOAD" syn --spoof -s "$1" -d 192.0.2.1 \
	    -p 5222 -n 100 > "$T/spoof.out" || fail "syn --spoof failed"
	expect_grep '^mode=syn started=100 sent=100 failed=0 ' "$T/spoof.out"
}
victim() {	# $1 connects up to its limits: 10 held, then 10 new
	ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
	    -n 10 -s "$1" --timeout 5 --seconds 60
	HOLD=$NS_PID
	wait_for_line 'established=10 failed=0' "$T/hold.log"
	ns_stop "$HOLD"
	expect_grep 'established=10 failed=0 timeouts=0 peer_closed=0 ' \
	    "$T/hold.log"
	sleep 1
	ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 10 \
	    -s "$1" --concurrency 1 --rate 50 --timeout 5 > "$T/churn.out"
	expect_grep 'ok=10 failed=0 ' "$T/churn.out"
}
halfopen() {	# $1's half-open connections
	ns_ct_count "$SRV" -p tcp -s "$1" --state SYN_RECV
}
banned() {	# 1 if bans --json lists $1
	xgc bans --json | grep -c "\"$1[/\"]"
}
no_refusal() {
	xg_status_field "$T/ctl.sock" caps.refused > "$T/refused" 2>&1 || true
	grep -q '[1-9]' "$T/refused" && fail "refusals counted: $(cat "$T/refused")"
	xgc bans --json > "$T/bans"
	grep -q '198\.51\.100\.[12]/' "$T/bans" &&
	    fail "a victim was banned: $(cat "$T/bans")"
	return 0
}

# 1. The victim resets the SYN-ACKs.
spoof 198.51.100.1
# Its resets closed every half-open entry the spoofed SYNs made.
wait_until "$XG_WAIT" "the spoofed SYNs' entries are still half-open" \
    out_eq 0 halfopen 198.51.100.1
victim 198.51.100.1
no_refusal
[ "$(xg_status_field "$T/ctl.sock" caps.exempt)" = 0 ] ||
    fail "exempt: $(xg_status_field "$T/ctl.sock" caps.exempt)"

# 2. The victim's firewall drops them: the half-open entries stay.
ns_exec "$CLI" nft -f - <<-EOF2 || fail "nft in $CLI"
table inet victim {
	chain in {
		type filter hook input priority 0;
		ct state invalid drop
	}
}
EOF2
spoof 198.51.100.2
spoof 198.51.100.3
# The SYN-ACKs sent again (after 1 s) put both in cap_half4.
wait_until "$XG_WAIT" "198.51.100.2 never in cap_half4" \
    out_has '198.51.100.2' ns_exec "$SRV" nft list set inet xgtest cap_half4
[ "$(ns_ct_count "$SRV" -s 198.51.100.2)" -ge 10 ] ||
    fail "the half-open entries are gone: $(ns_ct "$SRV" -L -s 198.51.100.2)"
victim 198.51.100.2
no_refusal
[ "$(xg_status_field "$T/ctl.sock" caps.exempt)" -ge 1 ] ||
    fail "no connection counted exempt"

# 3. An exempt address over max_concurrent for real: the daemon bans it.
ns_spawn "$CLI" "$T/hold3.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n 15 -s 198.51.100.3 --timeout 5 --seconds 60
wait_until "$XG_WAIT" "198.51.100.3 was not banned at the limit" \
    out_eq 1 banned 198.51.100.3
expect_grep 'ban: 198\.51\.100\.3/32 .*concurrency' "$T/xg.log"
no_refusal
kill -0 "$XGPID" || fail "the daemon died: $(tail "$T/xg.log")"
exit 0
