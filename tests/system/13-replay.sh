# Replay: a conntrack event log captured from the real kernel during a
# churn bot and a concurrency hog gives, through `xmppguard replay`, the
# verdicts the daemon gives live; --json prints one valid object per
# verdict; --db fills a store; hostile lines are counted, not fatal.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.20
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
    fail "conntrack timeouts in $SRV"

cat > "$T/xg.conf" <<CONF
[service c2s]
max_concurrent = 10
max_new = 30/1h
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 60
wait_for_line 'listening' "$T/serve.log"
# The capture must be whole: a buffer of 16 MiB, so that a busy machine
# that does not let conntrack -E read at once costs it no event.  (What
# it says about itself goes to stderr, not into the capture; ns_cleanup
# stops it.)
ip netns exec "$SRV" conntrack -E -b 16777216 -o timestamp,extended,id \
    >"$T/ct.log" 2>"$T/ct.err" &
ct=$!
XG_NS_PIDS="$XG_NS_PIDS $ct"
wait_until "$XG_WAIT" "conntrack -E does not listen" ct_listening "$ct"
ns_exec "$CLI" "$XGLOAD" churn -c 1 -s 198.51.100.3 -d 192.0.2.1 -p 5222 \
    -n 40 --send 10 >/dev/null 2>&1 || fail "churn"
ns_exec "$CLI" "$XGLOAD" hold -s 198.51.100.4 -d 192.0.2.1 -p 5222 \
    -n 12 --seconds 1 >/dev/null 2>&1 || fail "hold"
# Once every flow is closed, have the kernel destroy them now rather than
# when its garbage collector comes by (up to a minute on an idle table):
# the DESTROY events, with their final counters, end the capture.
wait_until "$XG_WAIT" "flows still established" \
    out_eq 0 ns_ct_count "$SRV" -p tcp --dport 5222 --state ESTABLISHED
ns_ct "$SRV" -D -p tcp --dport 5222 >/dev/null 2>&1
# The capture is whole once every flow it saw begin it has seen end.
ended() {	# NEW and DESTROY lines of 5222 flows, and whether they pair up
	local new end
	new=$(grep -c '\[NEW\] .* dport=5222 ' "$T/ct.log")
	end=$(grep -c '\[DESTROY\] .* dport=5222 ' "$T/ct.log")
	echo "new=$new destroy=$end"
	[ "$new" -ge 52 ] && [ "$end" -eq "$new" ]
}
wait_until "$XG_WAIT" "the capture lacks DESTROY events" ended
ns_stop "$ct"
grep -c tcp "$T/ct.log"

"$XG" replay -c "$T/xg.conf" --conntrack "$T/ct.log" >"$T/out" 2>"$T/err" ||
    fail "replay: $(cat "$T/err")"
cat "$T/out" "$T/err"
expect_grep '198.51.100.3/32 churn: 31 new c2s connections in 1h (limit 30)' "$T/out"
expect_grep '198.51.100.4/32 concurrency: 11 live c2s connections (limit 10)' "$T/out"
[ "$(wc -l < "$T/out")" -eq 2 ] || fail "expected 2 verdicts"
expect_grep 'replay: .* 0 malformed' "$T/err"

"$XG" replay -c "$T/xg.conf" --json --conntrack "$T/ct.log" >"$T/json" 2>/dev/null ||
    fail "replay --json"
python3 - "$T/json" <<'PY' || fail "bad JSON: $(cat "$T/json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2, rows
by = {r["address"]: r for r in rows}
c = by["198.51.100.3/32"]
assert c["rule"] == "churn" and c["service"] == "c2s", c
assert c["observed"] == 31 and c["limit"] == 30 and c["window"] == 3600, c
assert c["allowlisted"] is False
assert c["time"].endswith("Z")
h = by["198.51.100.4/32"]
assert h["rule"] == "concurrency" and h["observed"] == 11, h
PY

# The same run twice gives the same output: time comes from the file.
"$XG" replay -c "$T/xg.conf" --json --conntrack "$T/ct.log" 2>/dev/null |
    cmp -s - "$T/json" || fail "two replays differ"

# --db: the store is filled as by the daemon.
"$XG" replay -c "$T/xg.conf" --db "$T/r.db" --conntrack "$T/ct.log" \
    >/dev/null 2>&1 || fail "replay --db"
[ "$(sqlite3 "$T/r.db" 'SELECT count(*) FROM verdicts')" -eq 2 ] ||
    fail "verdicts not stored"
[ "$(sqlite3 "$T/r.db" "SELECT count(*) FROM conns WHERE addr = '198.51.100.3'")" -eq 40 ] ||
    fail "conns for the churn bot: $(sqlite3 "$T/r.db" "SELECT count(*) FROM conns WHERE addr = '198.51.100.3'")"

# Hostile input: binary, huge and truncated lines among the real ones.
{
	head -n 20 "$T/ct.log"
	head -c 3000 /dev/urandom
	echo
	head -c 100000 /dev/zero | tr '\0' 'x'
	echo
	echo '[1.0] [NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst='
	tail -n +21 "$T/ct.log"
} > "$T/hostile.log"
"$XG" replay -c "$T/xg.conf" --conntrack "$T/hostile.log" >"$T/out2" 2>"$T/err2" ||
    fail "replay failed on hostile input: $(cat "$T/err2")"
cat "$T/err2"
expect_grep '1 too long' "$T/err2"
grep -q ' [1-9][0-9]* malformed' "$T/err2" || fail "malformed lines not counted"
[ "$(wc -l < "$T/out2")" -eq 2 ] || fail "hostile lines changed the verdicts"

# A file that is not there: a clear error.
"$XG" replay --conntrack "$T/nope" 2>"$T/err3" && fail "missing file accepted"
expect_grep "$T/nope" "$T/err3"
exit 0
