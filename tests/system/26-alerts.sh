# Alerts to ops chats, end to end: the real daemon (firewall none, no
# conntrack) in a network namespace of its own, with a Python HTTP server
# on that namespace's loopback playing a Slack-compatible webhook and a
# Matrix homeserver, recording every request.  Checked: the start message,
# bans announced one by one below the digest threshold (Slack: POST, text;
# Matrix: PUT to the room with the bearer token, m.notice with HTML), the
# stop message delivered before the daemon exits; after a restart the
# restored ban is not announced again; a storm of 1,000 bans through the
# control socket gives a handful of messages, one a digest that says 1000;
# a chat that never answers and one that refuses connections delay no ban
# (each `xmppguard ban` measured) and their failures are counted in
# `status --json`; secrets appear in no log and no status.
. "$TOP/tests/system/lib.sh"
need_root
command -v python3 >/dev/null 2>&1 || { echo "skipped: no python3"; exit 77; }
ns_private ns

start_xg() {	# start_xg RUN: the daemon in the foreground, in $ns
	xg_run "$ns" "$T/xg.$1.log" -c "$T/xg.conf"
	XGPID=$XG_PID
}
stop_xg() {
	xg_stop "$XGPID"
}

chatd "$ns" chat ok
CHAT=$PORT
SLACK_PATH=/services/T0001/B0001/SLACKSECRETPATH
TOKEN=syt_MATRIXSECRETTOKEN
write_conf() {	# write_conf SLACK_PORT MATRIX_PORT TIMEOUT
	cat >"$T/xg.conf" <<CONF
[global]
state_dir      = $T/state
control_socket = $T/ctl.sock
firewall       = none
[conntrack]
enabled        = no
[alert chat]
type           = slack
url            = http://127.0.0.1:$1$SLACK_PATH
username       = xmppguard
digest         = 10m
digest_after   = 3
timeout        = $3
retries        = 1
backoff        = 200ms
[alert mx]
type           = matrix
url            = http://127.0.0.1:$2/
room           = !ops:example.org
token          = $TOKEN
events         = all
digest         = 10m
digest_after   = 3
timeout        = $3
retries        = 1
backoff        = 200ms
CONF
}
write_conf "$CHAT" "$CHAT" 5s
"$XG" check-config -c "$T/xg.conf" >"$T/check.out" 2>&1 ||
    fail "check-config: $(cat "$T/check.out")"

# -- Run 1: start, two bans one by one, an unban, stop. --
start_xg 1
chatd_wait chat 2 '"started (version" in t'
xgc ban 192.0.2.10 --for 10m --reason "seen in the abuse feed" >/dev/null ||
    fail "ban refused"
xgc ban 192.0.2.11 --for 1h >/dev/null || fail "ban refused"
xgc unban 192.0.2.11 >/dev/null || fail "unban refused"
chatd_wait chat 2 '"banned 192.0.2.10/32 for 10m (seen in the abuse feed), expires " in t'
chatd_wait chat 2 '"banned 192.0.2.11/32 for 1h (manual: banned by an operator)" in t'
chatd_wait chat 1 '"192.0.2.11/32 unbanned by an operator" in t'
python3 - "$T/chat.log" "$SLACK_PATH" "$TOKEN" <<'EOF' || fail "payloads: $(cat "$T/chat.log")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
slack = [r for r in recs if r["method"] == "POST"]
mx = [r for r in recs if r["method"] == "PUT"]
# Slack: POST to the hook's path, JSON, text and username; no unban.
assert len(slack) == 3, slack
for r in slack:
    assert r["path"] == sys.argv[2] and r["type"] == "application/json", r
    assert r["body"]["username"] == "xmppguard", r
    assert r["body"]["text"].startswith("xmppguard@"), r
assert not any("unbanned" in r["body"]["text"] for r in slack)
# Matrix: PUT to the room with a fresh transaction id, bearer token.
assert len(mx) == 4, mx
paths = set()
for r in mx:
    p = r["path"]
    assert p.startswith("/_matrix/client/v3/rooms/%21ops%3Aexample.org/"
                        "send/m.room.message/"), p
    paths.add(p)
    assert r["auth"] == "Bearer " + sys.argv[3], r
    b = r["body"]
    assert b["msgtype"] == "m.notice" and b["format"] == \
        "org.matrix.custom.html" and b["formatted_body"], b
assert len(paths) == 4, paths
EOF
stop_xg
# The stop message went out before the daemon was gone.
[ "$(chatd_count chat '"stopping after" in t')" -eq 2 ] ||
    fail "no stop message: $(cat "$T/chat.log")"

# -- Run 2: the restored ban is not announced; a storm of 1,000 bans. --
: >"$T/chat.log"
start_xg 2
chatd_wait chat 2 '"1 ban in force restored" in t'
t0=$(date +%s%N)
i=0 max=0
while [ $i -lt 1000 ]; do
	a=$(date +%s%N)
	xgc ban "2001:db8:1::$(printf %x $i)" --for 1h >/dev/null ||
	    fail "ban $i refused"
	ms=$((($(date +%s%N) - a) / 1000000))
	[ $ms -gt $max ] && max=$ms
	i=$((i + 1))
	[ $((($(date +%s%N) - t0) / 1000000000)) -lt 240 ] ||
	    fail "1,000 bans take more than 4 minutes"
done
storm_ms=$((($(date +%s%N) - t0) / 1000000))
echo "1000 bans through the control socket in $storm_ms ms, slowest $max ms"
# The first three are announced one by one, on each chat; the rest wait
# for the digest, which the stop sends.
chatd_wait chat 6 '" banned 2001:db8:1::" in t'
stop_xg
echo "run 2, Slack: $(chatd_count chat 'r["method"] == "POST"') messages"
python3 - "$T/chat.log" <<'EOF' || fail "storm: $(cut -c1-300 "$T/chat.log")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
for method in ("POST", "PUT"):
    texts = [r["body"].get("text") or r["body"].get("body")
             for r in recs if r["method"] == method]
    # start, 3 bans one by one, the digest, stop: a handful.
    assert len(texts) <= 8, (method, len(texts), texts)
    assert "1 ban in force restored" in texts[0], texts[0]
    assert not any("192.0.2.10" in t for t in texts), texts
    single = [t for t in texts if " banned 2001:db8:1::" in t]
    assert len(single) == 3, single
    digest = [t for t in texts if "not announced one by one" in t]
    assert len(digest) == 1, texts
    assert ": 1000 bans in " in digest[0] and \
        "997 not announced one by one" in digest[0] and \
        "by rule: manual 1000" in digest[0] and \
        "top addresses:\n  2001:db8:1::" in digest[0] and \
        " x1 (manual: banned by an operator)" in digest[0], digest[0]
    assert "stopping after" in texts[-1], texts[-1]
    print(method, len(texts), "messages; digest:", digest[0].split("\n")[0])
EOF

# -- Run 3: a chat that never answers, one that refuses: bans go on. --
chatd "$ns" slow hang
SLOW=$PORT
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# (inside the namespace nothing listens on it at all)
[ "$DEAD" != "$SLOW" ] && [ "$DEAD" != "$CHAT" ] || fail "port clash, run again"
write_conf "$SLOW" "$DEAD" 1s
start_xg 3
i=0 max=0 total=0
while [ $i -lt 50 ]; do
	a=$(date +%s%N)
	xgc ban "198.51.100.$((i + 1))" --for 10m >/dev/null ||
	    fail "ban $i refused"
	ms=$((($(date +%s%N) - a) / 1000000))
	[ $ms -gt $max ] && max=$ms
	total=$((total + ms))
	i=$((i + 1))
done
echo "dead and silent chats: 50 bans, slowest $max ms, mean $((total / 50)) ms"
[ $max -lt 1000 ] || fail "a ban took $max ms with the chats down"
# Failures counted (start, 3 bans: each sink gives up within 1 + 0.2 + 1 s).
failures_counted() {
	xgc status --json >"$T/status.json" || return 1
	python3 - "$T/status.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))["alerts"]
s = {x["name"]: x for x in a["sinks"]}
print("failed: chat", s["chat"]["failed"], "mx", s["mx"]["failed"])
sys.exit(0 if s["chat"]["failed"] >= 2 and s["mx"]["failed"] >= 2 else 1)
EOF
}
wait_until "$XG_WAIT" "failures not counted" failures_counted
python3 - "$T/status.json" "$SLOW" <<'EOF' || fail "status: $(cat "$T/status.json")"
import json, sys
a = json.load(open(sys.argv[1]))["alerts"]
s = {x["name"]: x for x in a["sinks"]}
assert s["chat"]["url"] == "http://127.0.0.1:%s/..." % sys.argv[2], s
assert "timed out" in s["chat"]["last_error"], s
assert s["mx"]["last_error"], s
assert a["failed"] >= 4 and a["sent"] == 0, a
print("status: failed", a["failed"], "dropped", a["dropped"], "pending",
      a["pending"])
EOF
xgc status >"$T/status.txt"
expect_grep '^alert chat  *slack, http://127.0.0.1:.* failed' "$T/status.txt"
stop_xg
expect_grep "alert chat: a message to http://127.0.0.1:$SLOW/... was not delivered after 2 tries" "$T/xg.3.log"

# Secrets: in no log, no status.
for f in "$T"/xg.*.log "$T/status.json" "$T/status.txt"; do
	grep -q -e SLACKSECRETPATH -e MATRIXSECRETTOKEN "$f" &&
	    fail "a secret in $f"
done
echo "ok"
