# The nftables backend (fw_nft.c, driven by tests/tools/fwctl) against the
# real kernel in a namespace pair: a banned client can no longer connect to
# a watched port while its neighbour can, even though another table accepts
# the port before our chain runs; an unwatched port stays open unless
# all_ports; /24 and /64 bans cover their networks only; established
# sessions are cut by kill (the client sees a reset) and a neighbour's are
# not; a 2 s ban expires by itself; a second open keeps the elements and
# follows the new port list; an unban of a missing element succeeds; list
# reports what the kernel holds.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
FWCTL=${FWCTL:-$TOP/build/plain/tests/fwctl}
[ -x "$FWCTL" ] || skip "$FWCTL not built (make tools)"

ns_setup
ns_add_client_addrs "$CLI" 198.51.100.10 198.51.100.13
ns_add_client_addrs "$CLI" 203.0.113.5 203.0.113.5
ns_add_client_addrs "$CLI" 2001:db8:1::5 2001:db8:1::5
ns_add_client_addrs "$CLI" 2001:db8:2::5 2001:db8:2::5

cat >"$T/xg.conf" <<'EOF'
[global]
firewall = nftables
[service c2s]
ports = 5222
[service s2s]
ports = none
[service http]
ports = none
[ban]
nft_table = xgban
EOF
sed 's/^ports = 5222$/ports = 5222, 5223/' "$T/xg.conf" >"$T/xg2.conf"
printf '[ban]\nall_ports = yes\n' | cat "$T/xg.conf" - |
    sed '/^\[ban\]$/{x;s/^/x/;/^xx$/{x;d};x}' >"$T/xg-all.conf"
grep -q 'all_ports = yes' "$T/xg-all.conf" || fail "xg-all.conf"

# Every fwctl command opens the backend first, as the daemon does at
# start, with the configuration in $CONF.
CONF=$T/xg.conf
fwctl() {
	ns_exec "$SRV" "$FWCTL" -c "$CONF" "$@"
}

# can SRC DST PORT: 0 if SRC completes a connection to DST:PORT in 1 s.
can() {
	ns_exec "$CLI" "$XGLOAD" churn -s "$1" -d "$2" -p "$3" -n 1 \
	    --timeout 1 --seconds 3 >/dev/null 2>&1
}

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1,2001:db8::1 \
    -p 5222,5223,5999 --seconds 120
wait_for_line 'listening on 6 sockets' "$T/serve.log"

# Another table accepts the port, in a chain that runs before ours: in
# nftables an accept ends only its own base chain, so our drop still wins.
ns_exec "$SRV" nft -f - <<'EOF' || fail "accepting table"
table inet other {
	chain pre {
		type filter hook prerouting priority -300;
		tcp dport 5222 accept
	}
}
EOF

fwctl open || fail "open"
ns_exec "$SRV" nft list chain inet xgban filter >"$T/chain" || fail "no chain"
expect_grep 'hook prerouting priority mangle' "$T/chain"
expect_grep 'ip saddr @ban4 tcp dport 5222 drop' "$T/chain"
expect_grep 'ct state new' "$T/chain"

for a in 198.51.100.10 198.51.100.11 203.0.113.5; do
	can "$a" 192.0.2.1 5222 || fail "$a cannot connect before any ban"
done
can 2001:db8:1::5 2001:db8::1 5222 || fail "2001:db8:1::5 cannot connect"

# 1. An address: banned on the watched port only; its neighbour is not.
fwctl ban 198.51.100.10 600 || fail "ban 198.51.100.10"
can 198.51.100.10 192.0.2.1 5222 && fail "banned 198.51.100.10 connected"
can 198.51.100.11 192.0.2.1 5222 || fail "neighbour 198.51.100.11 blocked"
can 198.51.100.10 192.0.2.1 5999 || fail "unwatched port blocked"
ns_exec "$SRV" nft list set inet xgban ban4 >"$T/ban4"
expect_grep '198.51.100.10 timeout 10m' "$T/ban4"

# 2. Prefixes: a /24 and a /64 go to the interval sets and cover their
# networks, not the next one.
fwctl ban 203.0.113.0/24 600 || fail "ban /24"
fwctl ban 2001:db8:1::/64 600 || fail "ban /64"
can 203.0.113.5 192.0.2.1 5222 && fail "203.0.113.5 connected through its /24"
can 2001:db8:1::5 2001:db8::1 5222 && fail "2001:db8:1::5 connected through its /64"
can 2001:db8:2::5 2001:db8::1 5222 || fail "2001:db8:2::5 blocked by another /64"
ns_exec "$SRV" nft list set inet xgban net6 >"$T/net6"
expect_grep '2001:db8:1::/64 timeout 10m' "$T/net6"

# 3. list reports the kernel's elements with their time left.
fwctl list >"$T/list" || fail "list"
cat "$T/list"
expect_grep '^198.51.100.10/32 remaining=59[0-9] throttled=0$' "$T/list"
expect_grep '^203.0.113.0/24 remaining=59[0-9] throttled=0$' "$T/list"
expect_grep '^2001:db8:1::/64 remaining=59[0-9] throttled=0$' "$T/list"
[ "$(wc -l <"$T/list")" -eq 3 ] || fail "list has more than 3 elements"

# 4. kill: live sessions of a banned address end at once (the client gets
# a reset), its conntrack entries are gone; a neighbour's stay.
ns_spawn "$CLI" "$T/hold-bad.log" "$XGLOAD" hold -s 198.51.100.12 \
    -d 192.0.2.1 -p 5222 -n 3 --seconds 6
hbad=$NS_PID
ns_spawn "$CLI" "$T/hold-good.log" "$XGLOAD" hold -s 198.51.100.13 \
    -d 192.0.2.1 -p 5222 -n 3 --seconds 6
hgood=$NS_PID
wait_for_line 'established=3 failed=0' "$T/hold-bad.log"
wait_for_line 'established=3 failed=0' "$T/hold-good.log"
[ "$(ns_ct_count "$SRV" -s 198.51.100.12 -p tcp --dport 5222)" -eq 3 ] ||
    fail "no 3 conntrack entries for 198.51.100.12"
fwctl ban 198.51.100.12 600 || fail "ban 198.51.100.12"
fwctl kill 198.51.100.12 >"$T/kill" || fail "kill"
cat "$T/kill"
expect_grep '^killed=3$' "$T/kill"
[ "$(ns_ct_count "$SRV" -s 198.51.100.12 -p tcp --dport 5222)" -eq 0 ] ||
    fail "conntrack entries of 198.51.100.12 left after kill"
fwctl kill 198.51.100.99 >"$T/kill0" || fail "kill of nothing failed"
expect_grep '^killed=0$' "$T/kill0"
wait "$hbad"
wait "$hgood"
cat "$T/hold-bad.log" "$T/hold-good.log"
expect_grep 'established=3 failed=0 timeouts=0 peer_closed=3 open_at_end=0 ' \
    "$T/hold-bad.log"
expect_grep 'established=3 failed=0 timeouts=0 peer_closed=0 open_at_end=3 ' \
    "$T/hold-good.log"

# 5. An unban of an element that is not there succeeds; one that is there
# lifts the ban.
fwctl unban 198.51.100.99 || fail "unban of a missing address failed"
fwctl unban 2001:db8:7::/64 || fail "unban of a missing prefix failed"
fwctl unban 203.0.113.0/24 || fail "unban /24"
can 203.0.113.5 192.0.2.1 5222 || fail "203.0.113.5 still blocked after unban"

# 6. A 2 s ban expires by itself, in the kernel.
fwctl ban 198.51.100.11 2 || fail "2 s ban"
can 198.51.100.11 192.0.2.1 5222 && fail "198.51.100.11 connected while banned"
wait_until "$XG_WAIT" "2 s ban still listed" \
    out_lacks '^198.51.100.11/' fwctl list
can 198.51.100.11 192.0.2.1 5222 || fail "198.51.100.11 blocked after expiry"

# 7. Re-banning replaces the timeout (escalation), both ways.
fwctl ban 198.51.100.10 7200 || fail "re-ban"
ns_exec "$SRV" nft list set inet xgban ban4 >"$T/ban4b"
expect_grep '198.51.100.10 timeout 2h' "$T/ban4b"

# 8. A second open (a restart, with another port list) keeps the elements
# and follows the ports.
CONF=$T/xg2.conf
fwctl open || fail "second open"
ns_exec "$SRV" nft list chain inet xgban filter >"$T/chain2"
expect_grep 'ip saddr @ban4 tcp dport { 5222, 5223 } drop' "$T/chain2"
fwctl list >"$T/list3" || fail "list"
expect_grep '^198.51.100.10/32 remaining=7[0-9]* ' "$T/list3"
expect_grep '^2001:db8:1::/64 ' "$T/list3"
can 198.51.100.10 192.0.2.1 5223 && fail "5223 open to a banned address"
can 198.51.100.10 192.0.2.1 5999 || fail "5999 blocked without all_ports"

# 9. all_ports: every port of a banned address is dropped.
CONF=$T/xg-all.conf
fwctl open || fail "open all_ports"
can 198.51.100.10 192.0.2.1 5999 && fail "5999 open with all_ports"
can 198.51.100.13 192.0.2.1 5999 || fail "neighbour blocked with all_ports"

# 10. A throttled address passes its byte meter; the rule is in place.
fwctl throttle 198.51.100.13 60 || fail "throttle"
ns_exec "$SRV" nft list set inet xgban thr4 >"$T/thr4"
expect_grep '198.51.100.13 timeout 1m' "$T/thr4"
fwctl list >"$T/list4"
expect_grep '^198.51.100.13/32 remaining=[0-9]* throttled=1$' "$T/list4"
fwctl unban 198.51.100.13 || fail "unban a throttle"
fwctl list >"$T/list5"
grep -q '^198.51.100.13/' "$T/list5" && fail "throttle not lifted"

# The namespace's table only: the host has no table of ours.
nft list table inet xgban >/dev/null 2>&1 && fail "table inet xgban on the host"
echo "ok"
