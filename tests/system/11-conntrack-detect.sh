# The conntrack pipeline end to end: the real daemon in a server namespace,
# real TCP clients from many addresses in another, real conntrack with
# accounting.  A concurrency hog, a churn bot and a bandwidth hog are each
# judged (the hog while its connection is still open); 150 users behind an
# overridden NAT address are not; a SYN-only flood is counted half-open and
# judged never; the connection rows in SQLite match the connections made,
# byte for byte against the kernel's own counters; the server's own
# outgoing connections are never counted against it.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.60
ns_add_client_addrs "$CLI" 2001:db8:1::1 2001:db8:1::10

# Short conntrack timeouts in the server namespace (its own sysctls), so a
# closed flow is destroyed, and its row written, in seconds, not minutes.
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_close_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_last_ack=1 ||
    fail "conntrack timeouts in $SRV"

db="$T/xg.db"
cat > "$T/xg.conf" <<CONF
[global]
firewall = none
state_dir = $T/state
control_socket = $T/ctl.sock
[store]
path = $db
[conntrack]
poll = 1s
[service c2s]
max_concurrent = 10
max_new = 30/1h
karma = 20k/s burst 100k
net_max_concurrent = 1000
net_max_new = 100000/1h
[override nat]
networks = 198.51.100.50
max_concurrent = 200
max_new = 600/1h
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1,2001:db8::1 \
    -p 5222 --seconds 120
wait_for_line 'listening' "$T/serve.log"
# The kernel's view of every flow as it ends, to compare with the store
# (a buffer of 16 MiB: on a busy machine it loses nothing).
ns_spawn "$SRV" "$T/destroy.log" conntrack -E -b 16777216 -e DESTROY \
    -p tcp --dport 5222 -o id,extended
wait_until "$XG_WAIT" "conntrack -E does not listen" ct_listening "$NS_PID"
ns_xg_start "$T/xg.log" "$T/xg.conf"
xg=$NS_PID

status() {
	"$XG" status -s "$T/ctl.sock" --json
}
jq_num() {	# jq_num KEY.PATH: a number from status --json
	status | python3 -c "import json,sys; d=json.load(sys.stdin)
for k in '$1'.split('.'): d=d[k]
print(d)"
}

# 1. Concurrency: 15 connections held from one address (limit 10).
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -s 198.51.100.10 -d 192.0.2.1 \
    -p 5222 -n 15 --seconds 4
hold=$NS_PID
wait_for_line 'verdict: 198.51.100.10/32 concurrency: 11 live c2s connections (limit 10)' "$T/xg.log"

# 2. Churn: 40 connections made and dropped (limit 30 an hour), IPv6.
# One at a time (-c 1): churn, not concurrency.
ns_exec "$CLI" "$XGLOAD" churn -c 1 -s 2001:db8:1::7 -d 2001:db8::1 -p 5222 \
    -n 40 --send 10 >"$T/churn.log" 2>&1 || fail "churn: $(cat "$T/churn.log")"
wait_for_line 'verdict: 2001:db8:1::7/128 churn: 31 new c2s connections in 1h (limit 30)' "$T/xg.log"

# 3. Bandwidth: 1 MB at 200 kB/s, then the connection stays open; karma
# (20k/s, burst 100k) must judge it while it is still open.
ns_spawn "$CLI" "$T/bw.log" "$XGLOAD" bandwidth -s 198.51.100.30 \
    -d 192.0.2.1 -p 5222 --bytes 1000000 --rate 200000 --seconds 12
bw=$NS_PID
wait_for_line 'verdict: 198.51.100.30/32 karma: ' "$T/xg.log"
kill -0 "$bw" 2>/dev/null || fail "the bandwidth hog ended before it was judged"
[ "$(ns_ct_count "$SRV" -p tcp --src 198.51.100.30 --state ESTABLISHED)" -ge 1 ] ||
    fail "no live flow from the bandwidth hog when it was judged"

# 4. A NAT: 150 users on one overridden address, each connected: no verdict.
ns_exec "$CLI" "$XGLOAD" hold -s 198.51.100.50 -d 192.0.2.1 -p 5222 \
    -n 150 --seconds 3 >"$T/nat.log" 2>&1 || fail "nat: $(cat "$T/nat.log")"
expect_grep 'established=150' "$T/nat.log"

# 5. SYN-only flood from 60 addresses that never complete a handshake.
ns_drop_synack "$SRV"
before=$(jq_num conntrack.halfopen)
ns_exec "$CLI" "$XGLOAD" syn -s 198.51.100.1-198.51.100.60 -d 192.0.2.1 \
    -p 5222 -n 600 >"$T/syn.log" 2>&1 || fail "syn: $(cat "$T/syn.log")"
wait_until "$XG_WAIT" "not $((before + 600)) half-open flows" \
    out_ge $((before + 600)) jq_num conntrack.halfopen
ns_allow_synack "$SRV"

# 6. The server's own outgoing s2s connections (from its address to a
# remote port 5269) are not clients: 25 of them (s2s limit 20) are not
# counted, and the host is never judged.
ns_spawn "$CLI" "$T/remote.log" "$XGLOAD" serve -l 192.0.2.2 -p 5269 \
    --seconds 60
wait_for_line 'listening' "$T/remote.log"
local0=$(jq_num conntrack.local)
ns_exec "$SRV" "$XGLOAD" hold -s 192.0.2.1 -d 192.0.2.2 -p 5269 -n 25 \
    --seconds 2 >"$T/s2s.log" 2>&1 || fail "s2s: $(cat "$T/s2s.log")"
wait_until "$XG_WAIT" "not $((local0 + 25)) own flows" \
    out_ge $((local0 + 25)) jq_num conntrack.local

# Let every completed flow end and be destroyed (timeouts are 1 s; the
# half-open ones stay until their own timeout, which is fine: they get no
# row), then wait for the daemon and conntrack -E to have read the last
# events.
wait_pid_gone "$hold" || fail "the concurrency hog did not end"
wait_pid_gone "$bw" || fail "the bandwidth client did not end"
wait_until "$XG_WAIT" "flows still established" \
    out_eq 0 ns_ct_count "$SRV" -p tcp --dport 5222 --state ESTABLISHED
# Closed flows are destroyed by the kernel's garbage collector, which on
# an idle table may take a minute: destroy them now (the same DESTROY
# events, with the same final counters).
ns_ct "$SRV" -D -p tcp --dport 5222 --status ASSURED >/dev/null 2>&1
# Every connection that completed a handshake (the clients say how many)
# has ended: in the daemon's count and in conntrack -E's output.
made=$(cat "$T/hold.log" "$T/churn.log" "$T/bw.log" "$T/nat.log" |
    sed -n 's/^mode=.* \(established\|ok\)=\([0-9]*\) .*/\2/p' |
    awk '{ n += $1 } END { print n + 0 }')
echo "completed connections: $made"
assured() {
	grep -c '\[DESTROY\].*ASSURED' "$T/destroy.log"
}
wait_until "$XG_WAIT" "conntrack -E did not see $made flows end" \
    out_ge "$made" assured
wait_until "$XG_WAIT" "the daemon did not see $made connections end" \
    out_ge "$made" jq_num connections
grep 'verdict:' "$T/xg.log" > "$T/verdicts"
grep -q '198.51.100.50' "$T/verdicts" && fail "the NAT was judged: $(cat "$T/verdicts")"
grep -q '192.0.2.1/' "$T/verdicts" && fail "the host was judged: $(cat "$T/verdicts")"
for i in $(seq 1 60); do
	[ "$i" = 10 ] || [ "$i" = 30 ] || [ "$i" = 50 ] || {
		grep -q "198.51.100.$i/" "$T/verdicts" &&
		    fail "a SYN-only source was judged: $(cat "$T/verdicts")"
	}
done
n=$(wc -l < "$T/verdicts")
[ "$n" -eq 3 ] || fail "expected exactly 3 verdicts, got: $(cat "$T/verdicts")"

ns_stop "$xg" || fail "daemon exit status $?"

# Verdicts are in the store too.
[ "$(sqlite3 "$db" "SELECT count(*) FROM verdicts")" -eq 3 ] ||
    fail "verdicts in store: $(sqlite3 "$db" 'SELECT * FROM verdicts')"
[ "$(sqlite3 "$db" "SELECT rule FROM verdicts WHERE addr='2001:db8:1::7'")" = churn ] ||
    fail "churn verdict not stored"

# Connection rows: one per connection that completed a handshake and has
# ended, with the kernel's byte counters.  Compare flow by flow with what
# conntrack -E reported at DESTROY.
sqlite3 -separator ' ' "$db" "SELECT flow, bytes_in, bytes_out, pkts_in, pkts_out FROM conns ORDER BY flow" > "$T/rows"
awk '/\[DESTROY\]/ && /ASSURED|bytes=/ {
	id = ""; n = 0
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^id=/) id = substr($i, 4)
		if ($i ~ /^packets=/) p[n] = substr($i, 9)
		if ($i ~ /^bytes=/) { b[n] = substr($i, 7); n++ }
	}
	if ($0 ~ /ASSURED/) print id, b[0], b[1], p[0], p[1]
}' "$T/destroy.log" | sort -n > "$T/kernel"
nk=$(wc -l < "$T/kernel")
nr=$(wc -l < "$T/rows")
echo "kernel destroyed $nk completed flows; store has $nr rows"
[ "$nk" -ge 200 ] || fail "only $nk completed flows seen by the kernel"
# Every kernel flow has its row with the same counters.
join "$T/kernel" "$T/rows" > "$T/joined"
[ "$(wc -l < "$T/joined")" -eq "$nk" ] || {
	join -v1 "$T/kernel" "$T/rows" | head; fail "flows without a row"; }
awk '$2 != $6 || $3 != $7 || $4 != $8 || $5 != $9 { print; bad++ } END { exit bad > 0 }' \
    "$T/joined" || fail "byte counters differ from the kernel's"
# ... and no row without a kernel flow (half-open flows have none).
[ "$nr" -eq "$nk" ] || fail "$nr rows for $nk flows"
# The rollups add up to the rows.
[ "$(sqlite3 "$db" "SELECT sum(conns) FROM rollups WHERE addr = '198.51.100.50'")" -eq 150 ] ||
    fail "rollups for the NAT: $(sqlite3 "$db" "SELECT * FROM rollups WHERE addr = '198.51.100.50'")"
exit 0
