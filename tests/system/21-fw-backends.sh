# The ipset, iptables and command firewall backends against the real
# tools, driven by tests/tools/fwctl (the configured backend without the
# daemon) in namespaces of our own: a banned client can no longer open
# TCP connections to the banned port while a neighbour still can and the
# unbanned port stays open; prefixes ban the whole network; unban lets the
# client back; ipset elements expire in the kernel; a second open changes
# nothing and all_ports swaps the rule in place; kill ends a live session;
# iptables rules carry their expiry and a re-ban replaces the old rule; the
# command backend gives each placeholder exactly one argument (with a
# hostile reason when fwctl can pass one) and rejects a template with a
# bad placeholder.  Nothing is done outside the namespaces: the host's
# ipsets are compared before and after.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
ns_require
for tool in ipset iptables ip6tables iptables-restore ip6tables-restore; do
	command -v $tool >/dev/null 2>&1 || skip "no $tool"
done
FWCTL=${FWCTL:-$TOP/build/plain/tests/fwctl}
[ -x "$FWCTL" ] || skip "$FWCTL not built (make tools)"
xgload_build

host_sets=$(ipset list -n 2>/dev/null | sort | tr '\n' ' ')

# conf NAME FIREWALL [all_ports]: $T/NAME.conf, the c2s port 5222 only.
conf() {
	cat >"$T/$1.conf" <<-EOF
	[global]
	firewall = $2
	[service c2s]
	ports = 5222
	[service s2s]
	ports = none
	[service http]
	ports = none
	[ban]
	all_ports = ${3:-no}
	EOF
}
conf ipset ipset
conf ipset-all ipset yes
conf iptables iptables

# fw NS CONF ARGS...: fwctl in a namespace; fails the test if it fails.
fw() {
	local ns=$1 c=$2
	shift 2
	ns_exec "$ns" "$FWCTL" -c "$T/$c.conf" "$@" >>"$T/fwctl.log" 2>&1 ||
	    { tail -n 5 "$T/fwctl.log"; fail "fwctl $c $*"; }
}

# can SRC DST PORT: 0 if SRC completes a handshake with DST:PORT.
can() {
	ns_exec "$CLI" "$XGLOAD" churn -s "$1" -d "$2" -p "$3" -n 1 \
	    --timeout 1 --seconds 5 >/dev/null 2>&1
}
expect_open() {
	can "$1" "$2" "$3" || fail "$1 cannot reach $2 port $3 ($4)"
}
expect_shut() {
	can "$1" "$2" "$3" && fail "$1 still reaches $2 port $3 ($4)"
	return 0
}

# A pair of namespaces with a server on 5222 and 5269, two clients a
# family (a bot and its neighbour).
start_pair() {
	ns_setup
	ns_add_client_addrs "$CLI" 198.51.100.7 198.51.100.8
	ns_add_client_addrs "$CLI" 2001:db8:1::7 2001:db8:1::8
	ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve \
	    -l 192.0.2.1,2001:db8::1 -p 5222,5269 --seconds 120
	wait_for_line 'listening on 4 sockets' "$T/serve.log"
	for s in 198.51.100.7 198.51.100.8; do
		expect_open $s 192.0.2.1 5222 "before any ban"
	done
	for s in 2001:db8:1::7 2001:db8:1::8; do
		expect_open $s 2001:db8::1 5222 "before any ban"
	done
}

# listed NS CONF PREFIX MIN MAX: fwctl list shows PREFIX with MIN..MAX s
# left ("PREFIX remaining=SECONDS throttled=0").
listed() {
	ns_exec "$1" "$FWCTL" -c "$T/$2.conf" list >"$T/list" 2>&1 ||
	    { cat "$T/list"; fail "fwctl $2 list"; }
	awk -v p="$3" -v lo="$4" -v hi="$5" '
	    $1 == p { sub("remaining=", "", $2) }
	    $1 == p && $2 >= lo && $2 <= hi { ok = 1 }
	    END { exit !ok }' "$T/list" ||
	    { cat "$T/list"; fail "$3 not listed with $4-$5 s"; }
}

# rules NS PROG CHAIN PATTERN: how many rules of CHAIN match PATTERN.
rules() {
	ns_exec "$1" "$2" -S "$3" | grep -c -e "$4"
}

# ----- ipset -----
start_pair
fw "$SRV" ipset open
fw "$SRV" ipset open
for p in iptables:xmppguard4 ip6tables:xmppguard6; do
	prog=${p%%:*} set=${p#*:}
	for chain in INPUT FORWARD; do
		[ "$(rules "$SRV" $prog $chain "match-set $set src")" = 1 ] ||
		    fail "$prog $chain: want one rule for $set after two opens"
		ns_exec "$SRV" $prog -S $chain | sed -n 2p |
		    grep -q "match-set $set src .*--dports 5222 -j DROP" ||
		    fail "$prog $chain: the $set rule is not first"
	done
	ns_exec "$SRV" ipset list -n | grep -qx $set || fail "no set $set"
done

# A session of the bot's is live when the ban comes; kill ends it.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -s 198.51.100.7 -d 192.0.2.1 \
    -p 5222 -n 1 --seconds 60
wait_for_line 'established=1' "$T/hold.log"
live() {
	ns_ct_count "$SRV" -p tcp -s 198.51.100.7 --dport 5222 \
	    --state ESTABLISHED
}
# The server's conntrack sees the client's last ACK a moment after the
# client is connected.
wait_until "$XG_WAIT" "the bot's session is not in conntrack" out_eq 1 live
fw "$SRV" ipset ban 198.51.100.7 60
fw "$SRV" ipset ban 2001:db8:1::7 60
ns_exec "$SRV" "$FWCTL" -c "$T/ipset.conf" kill 198.51.100.7 >"$T/kill" \
    2>&1 || { cat "$T/kill"; fail "fwctl kill"; }
expect_grep '^killed=[1-9]' "$T/kill"
[ "$(live)" = 0 ] || fail "the bot's session outlived the kill"
expect_shut 198.51.100.7 192.0.2.1 5222 "ipset ban"
expect_open 198.51.100.8 192.0.2.1 5222 "neighbour of an ipset ban"
expect_open 198.51.100.7 192.0.2.1 5269 "port not banned"
expect_shut 2001:db8:1::7 2001:db8::1 5222 "ipset ban"
expect_open 2001:db8:1::8 2001:db8::1 5222 "neighbour of an ipset ban"
listed "$SRV" ipset 198.51.100.7/32 45 60
listed "$SRV" ipset 2001:db8:1::7/128 45 60

fw "$SRV" ipset unban 198.51.100.7
fw "$SRV" ipset unban 198.51.100.7	# not there: fine
expect_open 198.51.100.7 192.0.2.1 5222 "after an ipset unban"
expect_shut 2001:db8:1::7 2001:db8::1 5222 "the other ban stays"

# A prefix bans its neighbours; a short ban runs out in the kernel.
fw "$SRV" ipset ban 198.51.100.0/24 60
expect_shut 198.51.100.8 192.0.2.1 5222 "ipset prefix ban"
fw "$SRV" ipset unban 198.51.100.0/24
fw "$SRV" ipset ban 198.51.100.8 2
expect_shut 198.51.100.8 192.0.2.1 5222 "2 s ipset ban"
wait_until "$XG_WAIT" "the 2 s ipset element did not expire" \
    out_lacks '^198.51.100.8/' ns_exec "$SRV" "$FWCTL" -c "$T/ipset.conf" list
expect_open 198.51.100.8 192.0.2.1 5222 "an expired ipset element"

# Every port: the rule is swapped for one without the port match.
fw "$SRV" ipset-all open
[ "$(rules "$SRV" iptables INPUT 'match-set xmppguard4 src')" = 1 ] ||
    fail "all_ports: want one xmppguard4 rule in INPUT"
rules "$SRV" iptables INPUT 'dports' >/dev/null &&
    fail "all_ports: a port match is left"
expect_shut 2001:db8:1::7 2001:db8::1 5269 "ipset ban on every port"
ns_cleanup

# ----- iptables -----
start_pair
fw "$SRV" iptables open
fw "$SRV" iptables open
for prog in iptables ip6tables; do
	for chain in INPUT FORWARD; do
		[ "$(rules "$SRV" $prog $chain '-j XMPPGUARD')" = 1 ] ||
		    fail "$prog $chain: want one jump after two opens"
	done
done
fw "$SRV" iptables ban 198.51.100.7 60
fw "$SRV" iptables ban 2001:db8:1::7 60
expect_shut 198.51.100.7 192.0.2.1 5222 "iptables ban"
expect_open 198.51.100.8 192.0.2.1 5222 "neighbour of an iptables ban"
expect_open 198.51.100.7 192.0.2.1 5269 "port not banned"
expect_shut 2001:db8:1::7 2001:db8::1 5222 "ip6tables ban"
expect_open 2001:db8:1::8 2001:db8::1 5222 "neighbour of an ip6tables ban"
ns_exec "$SRV" ip6tables -S XMPPGUARD |
    grep -q 'xmppguard until=[0-9]* rule=manual' ||
    fail "no expiry comment in ip6tables"

# A longer ban replaces the rule; list reads the expiry back.
fw "$SRV" iptables ban 198.51.100.7 600
[ "$(rules "$SRV" iptables XMPPGUARD '198.51.100.7/32')" = 1 ] ||
    fail "a re-ban left two rules"
listed "$SRV" iptables 198.51.100.7/32 585 601
listed "$SRV" iptables 2001:db8:1::7/128 45 61
expect_shut 198.51.100.7 192.0.2.1 5222 "iptables re-ban"

fw "$SRV" iptables unban 198.51.100.7
fw "$SRV" iptables unban 2001:db8:1::7
fw "$SRV" iptables unban 203.0.113.9		# never banned: fine
expect_open 198.51.100.7 192.0.2.1 5222 "after an iptables unban"
expect_open 2001:db8:1::7 2001:db8::1 5222 "after an ip6tables unban"
[ "$(rules "$SRV" iptables XMPPGUARD '-A XMPPGUARD')" = 0 ] ||
    fail "rules left in XMPPGUARD after the unbans"
fw "$SRV" iptables ban 198.51.100.0/24 60
expect_shut 198.51.100.8 192.0.2.1 5222 "iptables prefix ban"
ns_cleanup

# ----- command -----
cat >"$T/rec.sh" <<'EOF'
#!/bin/sh
out=$1
shift
for a in "$@"; do printf '%s\0' "$a"; done >>"$out"
printf 'END\0' >>"$out"
EOF
chmod 700 "$T/rec.sh"
cat >"$T/command.conf" <<EOF
[global]
firewall = command
[ban]
ban_command = $T/rec.sh $T/rec ban {ip} {prefix} {duration} {rule} {reason}
unban_command = $T/rec.sh $T/rec unban {prefix} {duration}
EOF
# A reason with everything a shell would act on, if fwctl can pass one.
reason=fwctl
ropt=
if "$FWCTL" 2>&1 | grep -q -e '-r REASON'; then
	reason='x; touch '"$T"'/pwned $(touch '"$T"'/pwned) `id` "q" '"'"'s'"'"' *'
	ropt=-r
else
	echo "note: fwctl has no -r REASON; the reason is its fixed one"
fi
"$FWCTL" -c "$T/command.conf" ${ropt:+"$ropt" "$reason"} \
    ban 2001:db8:1::/48 90 >>"$T/fwctl.log" 2>&1 || fail "command ban"
"$FWCTL" -c "$T/command.conf" unban 192.0.2.9 >>"$T/fwctl.log" 2>&1 ||
    fail "command unban"
tr '\0' '\n' <"$T/rec" >"$T/rec.txt"
cat >"$T/want.txt" <<EOF
ban
2001:db8:1::
2001:db8:1::/48
90
manual
$reason
END
unban
192.0.2.9/32
0
END
EOF
cmp -s "$T/rec.txt" "$T/want.txt" ||
    { diff "$T/want.txt" "$T/rec.txt"; fail "command argv"; }
[ -e "$T/pwned" ] && fail "the reason ran as a command"
cat >"$T/bad.conf" <<EOF
[global]
firewall = command
[ban]
ban_command = $T/rec.sh $T/rec --ip={ip}
EOF
"$FWCTL" -c "$T/bad.conf" open 2>"$T/err" &&
    fail "a placeholder inside an argument was accepted"
expect_grep 'bad placeholder "--ip={ip}"' "$T/err"

[ "$(ipset list -n 2>/dev/null | sort | tr '\n' ' ')" = "$host_sets" ] ||
    fail "the host's ipsets changed"
exit 0
