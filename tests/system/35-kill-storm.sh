# A ban storm with kill_established: 200 addresses, each holding 3
# established sessions, cross max_new at once; every one of their sessions
# is cut (the client sees a reset, the server's sockets and the conntrack
# entries are gone) while `status` keeps answering within 0.5 s, and the
# sessions of unrelated addresses survive.  The cut goes by the flow
# table's tuples (kill_tuples counts them), not by scanning.
#
# XG_STORM_BG=N adds N idle connections from other addresses to a port
# no service watches (kernel tables as a busy server's: a scan per ban
# would read them all); XG_STORM_REPORT=FILE receives the figures.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
xgload_build
ns_setup
NBOT=200 PER=3 NOTHER=20 BG=${XG_STORM_BG:-0}
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.200
ns_add_client_addrs "$CLI" 203.0.113.1 203.0.113.20
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
max_new = 5/1h
# banned at the limit (41-kernel-caps tests the kernel caps)
kernel_caps = no
max_concurrent = 0
net_max_concurrent = 0
net_max_new = none
karma = off
[ban]
duration = 10m
nft_table = xgtest
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222,5280 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
# A busy server's tables, if asked: idle sessions to an unwatched port.
if [ "$BG" -gt 0 ]; then
	ns_spawn "$CLI" "$T/bg.log" "$XGLOAD" hold -d 192.0.2.1 -p 5280 \
	    -n "$BG" -s 203.0.113.1-203.0.113.20 --concurrency 100 \
	    --seconds 280
	wait_for_line "established=$BG failed=0" "$T/bg.log" 120
fi
# The bots' sessions (3 each: under max_new), the others' (never banned).
ns_spawn "$CLI" "$T/bots.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n $((NBOT * PER)) -s 198.51.100.1-198.51.100.200 --seconds 200
BOTS=$NS_PID
wait_for_line "established=$((NBOT * PER)) failed=0" "$T/bots.log" 60
ns_spawn "$CLI" "$T/others.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n $((NOTHER * PER)) -s 203.0.113.1-203.0.113.20 --seconds 200
OTHERS=$NS_PID
wait_for_line "established=$((NOTHER * PER)) failed=0" "$T/others.log" 60

bot_socks() {	# the bots' established sockets, server side
	ns_exec "$SRV" ss -Htn state established dst 198.51.100.0/24 |
	    wc -l
}
bot_client_socks() {
	ns_exec "$CLI" ss -Htn state established src 198.51.100.0/24 |
	    wc -l
}
bot_flows() {	# conntrack entries of the bots to the service port
	ns_ct "$SRV" -L -p tcp --dport 5222 2>/dev/null |
	    grep -c 'src=198\.51\.100\.'
}
other_socks() {
	ns_exec "$CLI" ss -Htn state established src 203.0.113.0/24 \
	    '( dport = :5222 )' | wc -l
}
banned() {
	xgc bans | grep -c '^198\.51\.100\.'
}
# The daemon follows every session before the storm.
wait_until "$XG_WAIT" "the sessions are not all in the kernel" \
    out_eq $((NBOT * PER)) bot_socks

# `status`, timed, over and over until told to stop (bounded: 3000
# calls, 120 s).
xg_status_poll_start 3000 120

# The storm: 3 more connections each, over max_new at once.
xg_now
t_storm=$XG_NOW
ns_spawn "$CLI" "$T/churn.out" "$XGLOAD" churn -d 192.0.2.1 -p 5222 \
    -n $((NBOT * PER)) -s 198.51.100.1-198.51.100.200 --timeout 2 \
    --seconds 20
wait_until -i 0.02 60 "not every bot was banned" out_eq $NBOT banned
xg_now
t_banned=$XG_NOW
wait_until -i 0.02 60 "the bots' sessions were not all cut (server)" \
    out_eq 0 bot_socks
wait_until -i 0.02 60 "the bots never heard of the cut" \
    out_eq 0 bot_client_socks
xg_now
t_cut=$XG_NOW
wait_until "$XG_WAIT" "conntrack still holds the bots' flows" \
    out_eq 0 bot_flows
xg_status_poll_stop
[ "$sfails" -eq 0 ] || fail "status failed $sfails times of $scalls"
[ "$scalls" -gt 0 ] || fail "status was never asked"

report="bans=$NBOT sessions=$((NBOT * PER)) bg=$BG"
report="$report banned_after_ms=$(((t_banned - t_storm) / 1000))"
report="$report cut_after_ms=$(((t_cut - t_storm) / 1000))"
report="$report cut_after_last_ban_ms=$(((t_cut - t_banned) / 1000))"
report="$report status_max_ms=$((smax / 1000)) status_calls=$scalls"
echo "$report"
[ -n "${XG_STORM_REPORT:-}" ] && echo "$report" >> "$XG_STORM_REPORT"
# The others' sessions stand, and they still connect.
out_eq $((NOTHER * PER)) other_socks > /dev/null ||
    fail "unrelated sessions were cut: $(other_socks) of $((NOTHER * PER))"
ns_stop "$BOTS"
expect_grep "peer_closed=$((NBOT * PER)) " "$T/bots.log"
# By their tuples, not by scans.
xgc status --json > "$T/status.json" || fail "status --json"
python3 - "$T/status.json" $((NBOT * PER)) <<'PY' || fail "kill counters: $(cat "$T/status.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
def find(o, k):
    if isinstance(o, dict):
        if k in o:
            return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None:
                return r
    return None
assert find(doc, "kill_tuples") >= int(sys.argv[2]), find(doc, "kill_tuples")
assert find(doc, "kill_queued") == 0, find(doc, "kill_queued")
PY

[ "$smax" -lt 500000 ] ||
    fail "status took $((smax / 1000)) ms during the storm ($report)"
exit 0
