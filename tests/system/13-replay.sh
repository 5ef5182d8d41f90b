# Replay.  From files alone (no root needed):
#  - an ejabberd log alone is judged, with a warning that nothing
#    corroborates it; over-long and binary lines are counted; a filter
#    given by path judges as by name; bad --log arguments are refused;
#  - a capture and a log merged in time order (tests/fixtures/forgery):
#    the verdicts come out in time order across the two sources;
#  - --json: one object per verdict, its address with its prefix length;
#  - the forgery hour: the guessers judged, no verdict for any address
#    that never connected (see the end of this part);
# then, in network namespaces (root): a conntrack event log captured from
# the real kernel during a churn bot and a concurrency hog gives the
# verdicts the daemon gives live (kernel_caps = no: bans at the limits;
# with the caps, those verdicts are refused in the kernel, not banned);
# --json prints one valid object per verdict; --db fills a store;
# hostile lines are counted, not fatal.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

F=$TOP/tests/fixtures/forgery
# The logs are written in UTC; the ejabberd filter reads local time.
export TZ=UTC
: > "$T/empty.conf"

# Logs alone: six connections of 203.0.113.20, one wrong password each,
# among a good login, a binary line and one longer than max_line.
{
	echo "2026-11-29 09:00:00.100000+00:00 [info] <0.334.0>@ejabberd_listener:accept/7:273 (<0.700.0>) Accepted connection [::ffff:198.51.100.10]:40000 -> [::ffff:192.0.2.1]:5222"
	echo "2026-11-29 09:00:00.150000+00:00 [info] <0.700.0>@ejabberd_c2s:process_auth_result/3:272 (tls|<0.700.0>) Accepted c2s SCRAM-SHA-1-PLUS authentication for alice@example.org by mnesia backend from ::ffff:198.51.100.10"
	printf '\177ELF\0\0\0 Failed c2s\n'
	head -c 20000 /dev/zero | tr '\0' 'x'
	echo
	for i in 1 2 3 4 5 6; do
		echo "2026-11-29 09:01:0$i.000000+00:00 [info] <0.334.0>@ejabberd_listener:accept/7:273 (<0.71$i.0>) Accepted connection [::ffff:203.0.113.20]:4100$i -> [::ffff:192.0.2.1]:5222"
		echo "2026-11-29 09:01:0$i.500000+00:00 [warning] <0.71$i.0>@ejabberd_c2s:process_auth_result/3:280 (tcp|<0.71$i.0>) Failed c2s PLAIN authentication for admin@example.org from ::ffff:203.0.113.20: Invalid username or password"
	done
} > "$T/a.log"
"$XG" replay -c "$T/empty.conf" --log ejabberd="$T/a.log" >"$T/a.out" \
    2>"$T/a.err" || fail "replay --log: $(cat "$T/a.err")"
cat "$T/a.out" "$T/a.err"
[ "$(cat "$T/a.out")" = "2026-11-29T09:01:06.500000Z 203.0.113.20/32 auth: 6 failed logins in 10m (limit 5); ban 203.0.113.20/32 for 10m (ban 1) until 2026-11-29T09:11:06.500000Z" ] ||
    fail "logs alone: $(cat "$T/a.out")"
expect_grep 'warning: replay: no --conntrack: log lines are judged without corroboration' "$T/a.err"
expect_grep "^replay: log ejabberd=$T/a.log: 16 lines, 14 events, 0 untimed, 1 too long, 1 binary, 0 match errors, 0 forged; 7 connections, 1 verdicts" "$T/a.err"
expect_grep '^replay: 1 bans (0 escalated, 0 extended), 0 connections refused, 0 log events refused, ' "$T/a.err"
# The same from standard input, and with the filter given by its path.
"$XG" replay -c "$T/empty.conf" --log ejabberd=- <"$T/a.log" 2>/dev/null |
    cmp -s - "$T/a.out" || fail "replay --log ejabberd=- differs"
"$XG" replay -c "$T/empty.conf" --log "$TOP/filters/ejabberd.conf=$T/a.log" \
    2>"$T/p.err" | cmp -s - "$T/a.out" ||
    fail "a filter by path judges otherwise: $(cat "$T/p.err")"
# Refused: no FILE, no such filter, no such log, two standard inputs.
"$XG" replay --log ejabberd 2>"$T/e1" && fail "--log without FILE accepted"
expect_grep 'expected FILTER=FILE' "$T/e1"
"$XG" replay -c "$T/empty.conf" --log nosuch="$T/a.log" 2>"$T/e2" &&
    fail "an unknown filter accepted"
expect_grep 'filter nosuch: no nosuch.conf' "$T/e2"
"$XG" replay -c "$T/empty.conf" --log ejabberd="$T/nope" 2>"$T/e3" &&
    fail "a missing log accepted"
expect_grep "$T/nope" "$T/e3"
"$XG" replay -c "$T/empty.conf" --conntrack - --log ejabberd=- </dev/null \
    2>"$T/e4" && fail "two standard inputs accepted"
expect_grep 'only one file can be standard input' "$T/e4"

# Merged in time order: with lower limits, the churner's connections
# (conntrack, at 10:50) are judged after the guesser's failed logins (the
# log, from 10:07); read one file after the other, the churn verdict
# would come first.  The guesser's first verdict is at its sixth
# connection's attempt, each of which its handshake corroborates.  Bans
# of a second (4s, 16s... escalated) keep every offender's verdicts in
# the output: the network's ban of 10m would keep the churner out.  The
# churner is banned at the limit: no kernel caps.
cat > "$T/merge.conf" <<CONF
[service c2s]
max_new = 10/1h
kernel_caps = no
[auth]
net_max_fail = 6/10m
[ban]
duration = 1s
CONF
"$XG" replay -c "$T/merge.conf" --conntrack "$F/conntrack.txt" \
    --log ejabberd="$F/ejabberd.log" >"$T/m.out" 2>"$T/m.err" ||
    fail "replay merged: $(cat "$T/m.err")"
cat "$T/m.out" "$T/m.err"
cut -d' ' -f1 "$T/m.out" | sort -c || fail "verdicts out of time order"
head -n 1 "$T/m.out" | grep -qx '2026-11-29T10:07:15.016188Z 203.0.113.50/32 auth: 6 failed logins in 10m (limit 5); ban 203.0.113.50/32 for 1s (ban 1) until 2026-11-29T10:07:16.016188Z' ||
    fail "the guesser's first verdict: $(head -n 1 "$T/m.out")"
tail -n 1 "$T/m.out" | grep -qx '2026-11-29T10:50:15.000085Z 203.0.113.77/32 churn: 11 new c2s connections in 1h (limit 10); ban 203.0.113.77/32 for 1s (ban 1) until 2026-11-29T10:50:16.000085Z' ||
    fail "the churner's verdict is not last: $(tail -n 1 "$T/m.out")"
expect_grep '^replay: 371 lines, 371 conntrack events, 0 other, 0 malformed, 0 too long; log ejabberd=.*: 231 lines, ' "$T/m.err"

# --json: the same verdicts, one object each; address with its prefix
# length (a host /32, a network /24), rule, reason, time.
"$XG" replay -c "$T/merge.conf" --json --conntrack "$F/conntrack.txt" \
    --log ejabberd="$F/ejabberd.log" >"$T/m.json" 2>/dev/null ||
    fail "replay merged --json"
[ "$(wc -l < "$T/m.json")" -eq "$(wc -l < "$T/m.out")" ] ||
    fail "--json gives another number of verdicts"
python3 - "$T/m.json" <<'PY' || fail "bad JSON: $(cat "$T/m.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    assert r["time"].endswith("Z") and r["reason"] and r["rule"], r
    addr, plen = r["address"].split("/")
    assert int(plen) in (24, 32), r
g = [r for r in rows if r["address"] == "203.0.113.50/32"][0]
assert g["rule"] == "auth" and g["time"] == "2026-11-29T10:07:15.016188Z", g
assert g["observed"] == 6 and g["limit"] == 5 and g["window"] == 600, g
assert g["reason"] == "auth: 6 failed logins in 10m (limit 5)", g
n = [r for r in rows if r["address"] == "203.0.113.0/24"][0]
assert n["rule"] == "auth" and n["limit"] == 6, n
c = [r for r in rows if r["address"] == "203.0.113.77/32"][0]
assert c["rule"] == "churn" and c["service"] == "c2s", c
# Each verdict with the ban it made: the guesser's second escalated.
b = [r["ban"] for r in rows if r["address"] == "203.0.113.50/32"]
assert [x["step"] for x in b] == [1, 2] and b[1]["duration"] == 4, b
assert b[0]["address"] == "203.0.113.50/32" and b[0]["scope"] == "services"
assert b[0]["until"] == "2026-11-29T10:07:16.016188Z", b
PY

# The forgery hour, as the issue's "must show" runs it (defaults).  The
# fixture is what its generator writes.
mkdir "$T/gen"
python3 "$F/make.py" "$T/gen" || fail "make.py"
cmp "$T/gen/conntrack.txt" "$F/conntrack.txt" &&
    cmp "$T/gen/ejabberd.log" "$F/ejabberd.log" ||
    fail "tests/fixtures/forgery is not what make.py writes"
"$XG" replay -c "$T/empty.conf" --conntrack "$F/conntrack.txt" \
    --log ejabberd="$F/ejabberd.log" --json >"$T/f.json" 2>"$T/f.err" ||
    fail "replay forgery: $(cat "$T/f.err")"
cat "$T/f.json" "$T/f.err"
# The guesser, judged at its sixth attempt.
grep -q '"time":"2026-11-29T10:07:15.016188Z","address":"203.0.113.50/32","rule":"auth"' "$T/f.json" ||
    fail "the guesser was not judged"
# From here on the assertions need two merges into main: corroboration
# (the lead's pipeline.c/track.c) for every one, per-attempt counting
# (the ejabberd filter) for the stream guesser.
#  - [corroboration] No verdict for a prefix that holds no address that
#    completed a handshake in the capture: not 198.51.100.99, nor
#    192.0.2.0/24, whatever the log says.
python3 - "$T/f.json" "$F/conntrack.txt" <<'PY' || fail "a verdict for an address that never connected"
import ipaddress, json, re, sys
seen = set()
for line in open(sys.argv[2]):
    if "[ASSURED]" in line:
        seen.add(ipaddress.ip_address(re.search(r"src=(\S+)", line)[1]))
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    net = ipaddress.ip_network(r["address"])
    assert any(a in net for a in seen), r
    assert "198.51.100.99" not in r["address"], r
    assert not r["address"].startswith("192.0.2."), r
PY
#  - [corroboration] The lines naming them were counted.
grep -q ' [1-9][0-9]* uncorroborated$' "$T/f.err" ||
    fail "no line counted as uncorroborated"
#  - [per-attempt counting] The stream guesser, eight attempts on one
#    connection, is judged at its sixth.
grep -q '"time":"2026-11-29T10:40:17.301398Z","address":"203.0.113.51/32","rule":"auth"' "$T/f.json" ||
    fail "the stream guesser was not judged"
#  - [both] Nobody else: the guessers, and at most the forger (whose own
#    failures are real).
verdicts=$(grep -o '"address":"[^"]*"' "$T/f.json" | sort -u |
    grep -v -e '"203.0.113.66/32"' | tr '\n' ' ')
[ "$verdicts" = '"address":"203.0.113.50/32" "address":"203.0.113.51/32" ' ] ||
    fail "verdicts other than the guessers': $verdicts"

# The live capture.
ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.20
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
    fail "conntrack timeouts in $SRV"

# Banned at the limits, as the daemon without kernel caps (the caps'
# part follows the --db one).
cat > "$T/xg.conf" <<CONF
[service c2s]
max_concurrent = 10
max_new = 30/1h
kernel_caps = no
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 240
wait_for_line 'listening' "$T/serve.log"
# The capture is whole once every flow it saw begin it has seen end.
ended() {	# NEW and DESTROY lines of 5222 flows, and whether they pair up
	local new end
	new=$(grep -c '\[NEW\] .* dport=5222 ' "$T/ct.log")
	end=$(grep -c '\[DESTROY\] .* dport=5222 ' "$T/ct.log")
	echo "new=$new destroy=$end"
	[ "$new" -ge 52 ] && [ "$end" -eq "$new" ]
}
# One capture: conntrack -E with a buffer of 16 MiB, so that a busy
# machine that does not let it read at once costs it no event (what it
# says about itself goes to stderr, not into the capture); then the
# traffic, and once every flow is closed the kernel destroys them now
# rather than when its garbage collector comes by (up to a minute on an
# idle table): the DESTROY events, with their final counters, end it.
capture() {
	ip netns exec "$SRV" conntrack -E -b 16777216 \
	    -o timestamp,extended,id >"$T/ct.log" 2>"$T/ct.err" &
	ct=$!
	XG_NS_PIDS="$XG_NS_PIDS $ct"
	wait_until "$XG_WAIT" "conntrack -E does not listen" \
	    ct_listening "$ct"
	ns_exec "$CLI" "$XGLOAD" churn -c 1 -s 198.51.100.3 -d 192.0.2.1 \
	    -p 5222 -n 40 --send 10 >/dev/null 2>&1 || fail "churn"
	ns_exec "$CLI" "$XGLOAD" hold -s 198.51.100.4 -d 192.0.2.1 \
	    -p 5222 -n 12 --seconds 1 >/dev/null 2>&1 || fail "hold"
	wait_until "$XG_WAIT" "flows still established" \
	    out_eq 0 ns_ct_count "$SRV" -p tcp --dport 5222 --state ESTABLISHED
	ns_ct "$SRV" -D -p tcp --dport 5222 >/dev/null 2>&1
	poll_until "$XG_WAIT" ended
	rc=$?
	ns_stop "$ct"
	return $rc
}
# conntrack(8) itself has lost NEW events on a loaded CI machine (41 of
# 52, every DESTROY there): that is the capturing tool, not what this
# test checks, so an incomplete capture is taken again, at most twice,
# and says what it lacked.
for try in 1 2 3; do
	capture && break
	echo "capture $try incomplete: $(ended); conntrack -E said:" \
	    "$(cat "$T/ct.err")"
	[ "$try" -lt 3 ] || fail "three captures lacked events"
done
grep -c tcp "$T/ct.log"

"$XG" replay -c "$T/xg.conf" --conntrack "$T/ct.log" >"$T/out" 2>"$T/err" ||
    fail "replay: $(cat "$T/err")"
cat "$T/out" "$T/err"
expect_grep '198.51.100.3/32 churn: 31 new c2s connections in 1h (limit 30)' "$T/out"
expect_grep '198.51.100.4/32 concurrency: 11 live c2s connections (limit 10)' "$T/out"
[ "$(wc -l < "$T/out")" -eq 2 ] || fail "expected 2 verdicts"
expect_grep 'replay: .* 0 malformed' "$T/err"
expect_grep '^replay: 2 bans (0 escalated, 0 extended), 10 connections refused, ' "$T/err"

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
# The churn bot's 31 connections up to its verdict; its ban kept out the
# other 9, as the kernel would have.
[ "$(sqlite3 "$T/r.db" "SELECT count(*) FROM conns WHERE addr = '198.51.100.3'")" -eq 31 ] ||
    fail "conns for the churn bot: $(sqlite3 "$T/r.db" "SELECT count(*) FROM conns WHERE addr = '198.51.100.3'")"

# With the kernel caps (the default), as the daemon: the two verdicts are
# refused in the kernel, not bans; the churn bot's 10 connections past
# its bucket and the hog's 2 past its count refused; nobody refused
# cap_persist (300/10m) times, so no ban.
grep -v kernel_caps "$T/xg.conf" > "$T/caps.conf"
"$XG" replay -c "$T/caps.conf" --conntrack "$T/ct.log" >"$T/out4" \
    2>"$T/err4" || fail "replay with caps: $(cat "$T/err4")"
cat "$T/out4" "$T/err4"
expect_grep '198.51.100.3/32 churn: 31 new c2s connections in 1h (limit 30) (refused in the kernel: not banned)$' "$T/out4"
expect_grep '198.51.100.4/32 concurrency: 11 live c2s connections (limit 10) (refused in the kernel: not banned)$' "$T/out4"
[ "$(wc -l < "$T/out4")" -eq 2 ] || fail "caps: expected 2 verdicts"
expect_grep '^replay: 12 connections refused by the kernel caps (2 concurrency, 10 churn, 0 network concurrency, 0 network churn), .*; 2 verdicts at a cap not banned, 0 bans for hammering a cap$' "$T/err4"
expect_grep '^replay: 0 bans (0 escalated, 0 extended), 0 connections refused, ' "$T/err4"

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
