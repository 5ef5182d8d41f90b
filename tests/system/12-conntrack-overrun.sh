# Netlink overrun: with a receive buffer far too small for the load, the
# kernel drops events (ENOBUFS).  The daemon must count the overrun, keep
# running, re-read the table (resync) and go on judging correctly: after
# the storm, no connection is left counted as live that the kernel has
# closed, so a concurrency hog is judged at exactly the 11th connection.
# An ops chat hears of the overrun.
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
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
xg=$NS_PID
wait_for_line 'ready' "$T/xg.log"

status_field() {	# status_field KEY.PATH
	"$XG" status -s "$T/ctl.sock" --json | python3 -c "import json,sys
d=json.load(sys.stdin)
for k in '$1'.split('.'): d=d[k]
print(d)"
}

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
"$XG" status -s "$T/ctl.sock"

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
ns_stop "$xg" || fail "daemon exit status $?"
exit 0
