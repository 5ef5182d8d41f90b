# The kill's scan fallback, end to end: what the flow table cannot name
# is found by one filtered dump of each table (fw_kill.c).  Two phases,
# a daemon each, 50 addresses banned by hand, each holding 2 sessions to
# the service port 5222 and 1 to 5299, a port no service has:
#  - [conntrack] enabled = no (no flow table): the sessions to 5222 are
#    cut, those to 5299 stand (a services ban does not drop it);
#  - [ban] all_ports = yes (a scope wider than the services'): every
#    session is cut, and conntrack holds none of their flows.
# Both times the sessions of unrelated addresses stand, and the listener
# does too: a new client still connects after the kills (a scan must
# never destroy a listening socket).
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
NBOT=50 NOTHER=10
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.150
ns_add_client_addrs "$CLI" 203.0.113.1 203.0.113.20
ulimit -n 16384 2>/dev/null

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222,5299 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"

# socks NS FILTER...: established TCP sockets in NS matching FILTER.
socks() {
	local ns=$1
	shift
	ns_exec "$ns" ss -Htn state established "$@" | wc -l
}
listeners() {
	ns_exec "$SRV" ss -Hltn '( sport = :5222 )' | wc -l
}
# The bots' sessions: server side, to each port; client side.
bots_5222() {
	socks "$SRV" '( sport = :5222 )' dst 198.51.100.0/24
}
bots_5299() {
	socks "$SRV" '( sport = :5299 )' dst 198.51.100.0/24
}
bots_client() {
	socks "$CLI" src 198.51.100.0/24
}

# phase NAME FIRST CONF-LINES: bots 198.51.100.FIRST.. (+NBOT-1), each
# banned by hand under a daemon with CONF-LINES added.
phase() {
	local name=$1 first=$2 extra=$3 last bots5222 bots5299 others xg
	local net="198.51.100.$first-198.51.100.$((first + NBOT - 1))"
	local cut5299

	last=$((first + NBOT - 1))
	mkdir -p "$T/$name"
	cat > "$T/$name/xg.conf" <<CONF
[global]
state_dir = $T/$name/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
max_new = 1000/1h
max_concurrent = 0
net_max_concurrent = 0
net_max_new = none
karma = off
$extra
CONF
	ns_xg_start "$T/$name/xg.log" "$T/$name/xg.conf"
	xg=$NS_PID

	ns_spawn "$CLI" "$T/$name/bots5222.log" "$XGLOAD" hold -d 192.0.2.1 \
	    -p 5222 -n $((NBOT * 2)) -s "$net" --seconds 120
	bots5222=$NS_PID
	ns_spawn "$CLI" "$T/$name/bots5299.log" "$XGLOAD" hold -d 192.0.2.1 \
	    -p 5299 -n $NBOT -s "$net" --seconds 120
	bots5299=$NS_PID
	ns_spawn "$CLI" "$T/$name/others.log" "$XGLOAD" hold -d 192.0.2.1 \
	    -p 5222 -n $((NOTHER * 2)) -s 203.0.113.1-203.0.113.10 \
	    --seconds 120
	others=$NS_PID
	wait_for_line "established=$((NBOT * 2)) failed=0" \
	    "$T/$name/bots5222.log" 60
	wait_for_line "established=$NBOT failed=0" "$T/$name/bots5299.log" 60
	wait_for_line "established=$((NOTHER * 2)) failed=0" \
	    "$T/$name/others.log" 60
	wait_until "$XG_WAIT" "$name: the bots' sessions are not up" \
	    out_eq $((NBOT * 2)) bots_5222
	wait_until "$XG_WAIT" "$name: the bots' sessions to 5299 are not up" \
	    out_eq $NBOT bots_5299

	i=$first
	while [ $i -le $last ]; do
		xgc ban "198.51.100.$i" --reason "$name" > /dev/null ||
		    fail "$name: ban of 198.51.100.$i refused"
		i=$((i + 1))
	done
	wait_until -i 0.05 30 "$name: the bots' sessions to 5222 were not cut" \
	    out_eq 0 bots_5222
	if [ "$name" = allports ]; then
		cut5299=0
	else
		cut5299=$NBOT
	fi
	poll_until -i 0.05 30 out_eq $cut5299 bots_5299 ||
	    fail "$name: the bots' sessions to 5299: $(bots_5299)," \
	    "$cut5299 wanted; $(tail -5 "$T/$name/xg.log")"
	wait_until -i 0.05 30 "$name: the bots never heard of the cut" \
	    out_eq $cut5299 bots_client
	if [ "$name" = allports ]; then
		bot_flows() {
			ns_ct "$SRV" -L -p tcp 2>/dev/null |
			    grep -c "src=198\.51\.100\.\($(seq -s '\|' \
			    "$first" "$last")\) " || true
		}
		wait_until "$XG_WAIT" "$name: conntrack still holds the bots' flows" \
		    out_eq 0 bot_flows
	fi
	# Once no kill is left to do (none queued, no scan pending), a stray
	# one would have landed: the others stand.
	wait_until "$XG_WAIT" "$name: kills still queued" \
	    out_eq 0 xg_status_field "$T/ctl.sock" firewall.kill_queued
	[ "$(socks "$CLI" src 203.0.113.0/24)" -eq $((NOTHER * 2)) ] ||
	    fail "$name: unrelated sessions were cut:" \
	    "$(socks "$CLI" src 203.0.113.0/24) of $((NOTHER * 2))"
	# The listener stands, and takes a new client.
	[ "$(listeners)" -eq 1 ] || fail "$name: the listener is gone"
	ns_spawn "$CLI" "$T/$name/new.log" "$XGLOAD" hold -d 192.0.2.1 \
	    -p 5222 -n 2 -s 203.0.113.11-203.0.113.12 --seconds 10
	wait_for_line "established=2 failed=0" "$T/$name/new.log" 10
	ns_stop "$NS_PID"

	ns_stop "$bots5222"
	expect_grep "peer_closed=$((NBOT * 2)) " "$T/$name/bots5222.log"
	ns_stop "$bots5299"
	ns_stop "$others"
	expect_grep "peer_closed=0 " "$T/$name/others.log"
	xgc status > "$T/$name/status.txt" || fail "$name: status"
	ns_stop "$xg" 10 || fail "$name: the daemon exited $?"
	echo "$name: $NBOT bans, $((NBOT * 3)) bot sessions," \
	    "$((NBOT * 2 + NBOT - cut5299)) cut; $((NOTHER * 2)) others stand"
}

phase noct 1 "[conntrack]
enabled = no
[ban]
duration = 10m
nft_table = xgtest"
phase allports 101 "[ban]
duration = 10m
nft_table = xgtest
all_ports = yes"
exit 0
