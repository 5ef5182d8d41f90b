# The host's own addresses, live, and store and kernel never disagreeing,
# with the real daemon and nftables in a namespace: (a) an address added
# to an interface after start cannot be banned (`ban` exits non-zero and
# says why, nothing reaches the set), nor a prefix holding one; (b) a ban
# in force on an address that then becomes one of the host's leaves the
# kernel set and `bans` at once, its store row ended with the reason;
# (c) a ban on an address that a reload's new [allow] covers leaves the
# kernel and `bans`, its row ended with the reason, and the log says so;
# (d) a churn bot whose /64 holds the host's own address is banned alone
# (its /128), the reason saying why, never its /64.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need 'sqlite3(1)'
xgload_build
ns_setup

LATE=203.0.113.7 LATE6=2001:db8:77::7 BANNED=203.0.113.8 FRIEND=198.51.100.40
write_conf() {	# write_conf [ALLOW]
	cat > "$T/xg.conf" <<-CONF
	[global]
	state_dir = $T/state
	control_socket = $T/ctl.sock
	[conntrack]
	poll = 1s
	[service c2s]
	ports = 5222
	max_new = 5/1h
	# banned at the limit (41-kernel-caps tests the kernel caps)
	kernel_caps = no
	[ban]
	duration = 1h
	nft_table = xgtest
	CONF
	[ -z "${1:-}" ] || printf '[allow]\nnetworks = %s\n' "$1" >> "$T/xg.conf"
}
sets() {	# every element of the daemon's sets
	ns_exec "$SRV" nft list table inet xgtest
}
row() {	# row ADDR: lifted-or-not|reason of the address's latest ban
	sqlite3 "$T/state/xmppguard.db" "SELECT lifted IS NOT NULL, reason \
	    FROM bans WHERE addr = '$1' ORDER BY id DESC LIMIT 1"
}

write_conf
ns_xg_start "$T/xg.log" "$T/xg.conf"

# (a) Added after start: refused, with the reason, nothing in the kernel.
ip -n "$SRV" addr add "$LATE/32" dev s0 || fail "ip addr add $LATE"
ip -n "$SRV" addr add "$LATE6/128" dev s0 nodad || fail "ip addr add $LATE6"
xgc ban "$LATE" > "$T/ban.out" 2>&1 && fail "a ban of $LATE (now ours) was taken"
expect_grep "$LATE/32 is never banned: one of this host's own addresses" \
    "$T/ban.out"
xgc ban 2001:db8:77::/64 > "$T/ban.out" 2>&1 &&
    fail "a ban of a /64 holding $LATE6 was taken"
expect_grep "never banned: one of this host's own addresses" "$T/ban.out"
xgc bans > "$T/bans.txt" || fail "bans"
grep -q -e "$LATE" -e 2001:db8:77 "$T/bans.txt" &&
    fail "bans lists a refused ban: $(cat "$T/bans.txt")"
sets | grep -q -e "$LATE" -e 2001:db8:77 &&
    fail "a refused ban is in the kernel: $(sets)"
[ -z "$(sqlite3 "$T/state/xmppguard.db" \
    "SELECT id FROM bans WHERE addr = '$LATE' AND lifted IS NULL")" ] ||
    fail "a refused ban is stored as in force"

# (b) Banned, then one of ours: out of the kernel and of bans at once.
xgc ban "$BANNED" --reason "test ban" || fail "ban $BANNED"
sets | grep -q "$BANNED" || fail "$BANNED is not in the kernel: $(sets)"
xgc bans | grep -q "^$BANNED/32" || fail "bans does not list $BANNED"
ip -n "$SRV" addr add "$BANNED/32" dev s0 || fail "ip addr add $BANNED"
wait_until "$XG_WAIT" "$BANNED is still in the kernel set" \
    out_lacks "$BANNED" sets
wait_until "$XG_WAIT" "bans still lists $BANNED" out_lacks "$BANNED" xgc bans
wait_for_line "unban: $BANNED/32 (manual ban 1, lifted: $BANNED is now one of this host's addresses)" \
    "$T/xg.log"
wait_until "$XG_WAIT" "the store row of $BANNED was not ended" \
    out_has "^1|test ban; lifted: $BANNED is now one of this host's addresses$" \
    row "$BANNED"
# Gone from the interface again: an ordinary address, banned as any.
ip -n "$SRV" addr del "$BANNED/32" dev s0 || fail "ip addr del $BANNED"
wait_until "$XG_WAIT" "$BANNED, no longer ours, cannot be banned" \
    xgc ban "$BANNED"
sets | grep -q "$BANNED" || fail "$BANNED is not in the kernel: $(sets)"

# (c) Banned, then allowlisted by a reload: out of the kernel, of bans,
# and ended in the store with the reason.
xgc ban "$FRIEND" || fail "ban $FRIEND"
sets | grep -q "$FRIEND" || fail "$FRIEND is not in the kernel: $(sets)"
write_conf "198.51.100.32/28"
xgc reload > "$T/reload.out" 2>&1 || fail "reload: $(cat "$T/reload.out")"
wait_until "$XG_WAIT" "$FRIEND is still in the kernel set after the reload" \
    out_lacks "$FRIEND" sets
xgc bans > "$T/bans.txt" || fail "bans"
grep -q "^$FRIEND/" "$T/bans.txt" &&
    fail "bans still lists $FRIEND: $(cat "$T/bans.txt")"
wait_for_line "unban: $FRIEND/32 (manual ban 1, lifted: never banned now: allowlisted, a proxy, or loopback)" \
    "$T/xg.log"
expect_grep "reload: 1 ban lifted: never banned under the new configuration" \
    "$T/xg.log"
wait_until "$XG_WAIT" "the store row of $FRIEND was not ended" \
    out_has "^1|manual: banned by an operator; lifted: never banned now: allowlisted" \
    row "$FRIEND"
# The other ban stays, in the kernel and in bans.
sets | grep -q "$BANNED" || fail "$BANNED left the kernel with the reload"
xgc bans | grep -q "^$BANNED/32" || fail "$BANNED left bans with the reload"

# (d) The client 2001:db8::2 shares the server's /64 (2001:db8::1): its
# churn verdict is widened to the /64, which holds an own address, so the
# client alone is banned.
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 2001:db8::1 -p 5222 \
    --seconds 60
wait_for_line 'listening' "$T/serve.log"
ns_exec "$CLI" "$XGLOAD" churn -c 1 -s 2001:db8::2 -d 2001:db8::1 -p 5222 \
    -n 8 --timeout 1 --seconds 20 > "$T/churn.log" 2>&1
wait_for_line "ban: 2001:db8::2/128 .*churn: .*; this address only, its /64 is never banned: one of this host's own addresses" \
    "$T/xg.log"
wait_until "$XG_WAIT" "2001:db8::2 is not in the kernel set" \
    out_has "2001:db8::2" sets
sets | grep -q "2001:db8::/64" && fail "the host's own /64 was banned: $(sets)"
exit 0
