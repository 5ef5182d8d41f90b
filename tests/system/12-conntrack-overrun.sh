# Netlink overrun: with a receive buffer far too small for the load, the
# kernel drops events (ENOBUFS).  The daemon must count the overrun, keep
# running, re-read the table (resync) and go on judging correctly: after
# the storm, no connection is left counted as live that the kernel has
# closed, so a concurrency hog is judged at exactly the 11th connection.
# An ops chat hears of the overrun.  What was lost is counted exactly: the
# messages dropped that status shows are the kernel's Drops for the
# daemon's socket in /proc/net/netlink (read in the daemon's namespace),
# not the overruns, each of which stands for many; status shows the loop's
# longest iteration.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.60
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
    fail "conntrack timeouts in $SRV"

# An ops chat hears of the overrun (a Slack-compatible hook, by Python).
chatd "$SRV" ops ok
cat > "$T/xg.conf" <<CONF
[global]
firewall = none
state_dir = $T/state
control_socket = $T/ctl.sock
[alert ops]
type = slack
url = http://127.0.0.1:$PORT/hooks/ops
events = overrun
[conntrack]
rcvbuf = 64k
rcvbuf_max = 64k
[service c2s]
max_concurrent = 10
max_new = 100000/1h
net_max_concurrent = 0
net_max_new = none
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 120
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
xg=$NS_PID

status_field() {	# status_field KEY.PATH
	"$XG" status -s "$T/ctl.sock" --json | python3 -c "import json,sys
d=json.load(sys.stdin)
for k in '$1'.split('.'): d=d[k]
print(d)"
}

# kernel_drops: the Drops column of /proc/net/netlink for the daemon's
# netfilter sockets (protocol 12: the event socket and the dump socket,
# which never drops: a dump waits for room), found by their inodes among
# the daemon's fds, in its own network namespace.
kernel_drops() {
	local inodes
	inodes=$(ls -l "/proc/$xg/fd" 2>/dev/null |
	    sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
	awk -v inodes="$inodes" 'BEGIN { n = split(inodes, a, " ")
		for (i = 1; i <= n; i++) mine[a[i]] = 1 }
	    NR > 1 && $2 == 12 && ($10 in mine) { d += $9; k++ }
	    END { if (k == 0) exit 1; print d + 0 }' "/proc/$xg/net/netlink"
}
[ "$(kernel_drops)" = 0 ] || fail "drops before the storm: $(kernel_drops)"
expect_grep '^loop  *longest iteration [0-9.]* ms ([0-9.]* ms in the last minute), [0-9]* over 100 ms$' \
    <("$XG" status -s "$T/ctl.sock")

# The storm: 6000 connections from 60 addresses, 256 in flight.
ns_exec "$CLI" "$XGLOAD" churn -s 198.51.100.1-198.51.100.60 -d 192.0.2.1 \
    -p 5222 -n 6000 --send 10 --seconds 60 >"$T/churn.log" 2>&1 ||
    fail "churn: $(cat "$T/churn.log")"
cat "$T/churn.log"
overruns=$(status_field conntrack.overruns)
echo "overruns: $overruns"
[ "$overruns" -ge 1 ] || fail "no overrun with a 64k buffer: the test is not testing"
expect_grep 'ct: netlink overrun' "$T/xg.log"
kill -0 "$xg" || fail "the daemon died in the storm"
# The chat hears of it, once (at most one message a minute), as a warning
# with the count.
chatd_wait ops 1 '"conntrack netlink overrun: events were lost" in t'

# A resync follows every overrun (it may take a moment after the storm).
wait_until "$XG_WAIT" "no resync after $overruns overruns" \
    out_ge 1 status_field conntrack.resyncs
"$XG" status -s "$T/ctl.sock" | tee "$T/status.txt"

# The drops: the kernel's own count, many per overrun, and what status
# says, the same (the storm is over: nothing drops between the reads).
kdrops=$(kernel_drops) || fail "no netfilter socket of the daemon in /proc/$xg/net/netlink"
drops=$(status_field conntrack.dropped)
echo "kernel drops: $kdrops, status: $drops dropped, $overruns overruns"
[ "$drops" -gt 0 ] || fail "no drop counted with $overruns overruns"
[ "$drops" = "$kdrops" ] ||
    fail "status says $drops dropped, the kernel $kdrops"
[ "$drops" -ge "$overruns" ] || fail "fewer drops ($drops) than overruns"
expect_grep "^conntrack  *on, [0-9]* messages, $drops dropped by the kernel ([0-9]* overruns, [0-9]* resyncs), " "$T/status.txt"
expect_grep '^loop  *longest iteration [0-9.]* ms ([0-9.]* ms in the last minute), [0-9]* over 100 ms$' "$T/status.txt"
[ "$(status_field conntrack.dropped_ownaddr)" = 0 ] ||
    fail "address notifications dropped"

# After the storm the table settles: no flow is established, and once the
# closed ones are destroyed (now, rather than when the kernel's garbage
# collector comes by) the daemon holds no flow at all, none left counted
# that the kernel has closed.  Then a hog from a fresh address is judged
# at exactly 11 live connections (a count inflated by lost close events
# would fire earlier, a deflated one later).
wait_until "$XG_WAIT" "storm flows still established" \
    out_eq 0 ns_ct_count "$SRV" -p tcp --dport 5222 --state ESTABLISHED
ns_ct "$SRV" -D -p tcp --dport 5222 >/dev/null 2>&1
wait_until "$XG_WAIT" "the daemon still holds flows of the storm" \
    out_eq 0 status_field conntrack.flows
# The chat heard of the overrun once (at most one message a minute): the
# daemon has settled and sent what it had to send.
wait_until "$XG_WAIT" "alerts still pending" \
    out_eq 0 status_field alerts.pending
[ "$(chatd_count ops)" = 1 ] ||
    fail "the chat heard $(chatd_count ops) messages: $(cat "$T/ops.log")"
ns_add_client_addrs "$CLI" 203.0.113.9 203.0.113.9
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -s 203.0.113.9 -d 192.0.2.1 \
    -p 5222 -n 12 --seconds 5
wait_for_line 'verdict: 203.0.113.9/32 concurrency: 11 live c2s connections (limit 10)' "$T/xg.log"
# The deletion above is a storm of its own (thousands of DESTROY events
# into the 64k buffer) and may overflow it again: the report is compared
# with the count as it stands now, the kernel's and the daemon's still
# the same.
kdrops=$(kernel_drops) || fail "no netfilter socket of the daemon"
drops=$(status_field conntrack.dropped)
[ "$drops" = "$kdrops" ] ||
    fail "status says $drops dropped, the kernel $kdrops (after the deletion)"
ns_stop "$xg" || fail "daemon exit status $?"
# The report says the same loss, written at exit (and each minute).
"$XG" report -c "$T/xg.conf" > "$T/report.txt" || fail "report"
expect_grep "^ *[0-9.]*[kMG]*  *conntrack messages the kernel dropped (socket full)  *source=events" "$T/report.txt"
"$XG" report -c "$T/xg.conf" --format csv --section losses > "$T/losses.csv" ||
    fail "report --section losses"
expect_grep "^conntrack_dropped,source=events,$drops" "$T/losses.csv"
rov=$(sed -n 's/^conntrack_overruns,,\([0-9]*\)\r*$/\1/p' "$T/losses.csv")
[ -n "$rov" ] && [ "$rov" -ge "$overruns" ] ||
    fail "the report says ${rov:-no} overruns, status said $overruns"
exit 0
