# The webhook backend (fw_webhook.c over http.c, through tests/tools/hookctl)
# against a real HTTP server on 127.0.0.1 (python3 http.server, on a port
# the kernel picks, recording every POST): a ban and an unban arrive as
# JSON with the URL from a configuration file; a dead webhook (connection
# refused, or a server that never answers) does not block the loop and its
# failures are counted within a bounded time; a 500 is retried, then
# counted as failed; 1,000 POSTs go through in batches bounded in flight
# and waiting, and a flood beyond the bounds is dropped and counted.
# No root needed: everything is on loopback.
. "$TOP/tests/system/lib.sh"
if ! command -v python3 >/dev/null 2>&1; then
	echo "skipped: needs python3"
	exit 77
fi

HOOKCTL=${HOOKCTL:-$TOP/build/plain/tests/hookctl}
if [ ! -x "$HOOKCTL" ] || [ "$HOOKCTL" -ot "$TOP/tests/tools/hookctl.c" ] ||
    [ "$HOOKCTL" -ot "$TOP/src/fw_webhook.c" ] ||
    [ "$HOOKCTL" -ot "$TOP/src/http.c" ]; then
	make -C "$TOP" --no-print-directory build/plain/tests/hookctl \
	    >"$T/make.out" 2>&1 ||
	    { cat "$T/make.out"; fail "cannot build hookctl"; }
fi

# The server: MODE ok (200), fail (500) or hang (never answers); each POST
# is appended to LOG as "CONTENT-TYPE BODY"; the port it got goes to PORTFILE.
cat >"$T/hookd.py" <<'EOF'
import http.server, os, sys, threading, time
mode, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with lock, open(log, "ab") as f:
            f.write(self.headers.get("Content-Type", "-").encode() + b" " +
                    body + b"\n")
        if mode == "hang":
            time.sleep(20)
            return
        self.send_response(500 if mode == "fail" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
s = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
EOF

SERVERS=""
cleanup() {
	for p in $SERVERS; do
		kill "$p" 2>/dev/null
	done
}
trap cleanup EXIT

# server NAME MODE: starts one; sets $URL, its log is $T/NAME.log.
server() {
	: >"$T/$1.log"
	python3 "$T/hookd.py" "$2" "$T/$1.port" "$T/$1.log" 2>"$T/$1.err" &
	SERVERS="$SERVERS $!"
	poll_until "$XG_WAIT" test -s "$T/$1.port" ||
	    { cat "$T/$1.err"; fail "server $1 did not start"; }
	URL="http://127.0.0.1:$(cat "$T/$1.port")/xmppguard"
}

# hookctl NAME ARGS...: runs it (60 s at most), stdout to $T/NAME.json,
# stderr to $T/NAME.err, wall time in ms to $MS, exit status to $RC.
hookctl() {
	name=$1
	shift
	t0=$(date +%s%N)
	timeout 60 "$HOOKCTL" "$@" >"$T/$name.json" 2>"$T/$name.err"
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	echo "$name ($MS ms, exit $RC): $(cat "$T/$name.json")"
	[ $RC -le 2 ] || { cat "$T/$name.err"; fail "hookctl $name: exit $RC"; }
	[ -s "$T/$name.json" ] ||
	    { cat "$T/$name.err"; fail "hookctl $name: no stats"; }
}

# check NAME PYTHON-EXPRESSION: asserts on the stats (j) of a run.
check() {
	python3 - "$T/$1.json" "$2" <<'EOF' || fail "$1: $2"
import json, sys
j = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    print("false:", sys.argv[2], "in", j)
    sys.exit(1)
EOF
}

# -- A ban and an unban, the URL from a configuration file. --
server good ok
printf '[global]\nfirewall = webhook\n\n[ban]\nwebhook = %s\n' "$URL" \
    >"$T/xmppguard.conf"
hookctl pair -c "$T/xmppguard.conf" -n 2 -k pair -d 600 \
    -R 'churn: 40 connections in 1m' -w 10000
[ $RC -eq 0 ] || { cat "$T/pair.err"; fail "pair: exit $RC"; }
check pair 'j["sent"] == 2 and j["failed"] == 0 and j["attempts"] == 2'
python3 - "$T/good.log" <<'EOF' || fail "no ban and unban at the server"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
got = {}
for l in lines:
    ctype, body = l.split(" ", 1)
    assert ctype == "application/json", ctype
    j = json.loads(body)
    got[j["action"]] = j
ban, unban = got["ban"], got["unban"]
assert ban["address"] == "192.0.2.0/32", ban
assert ban["rule"] == "churn" and ban["duration"] == 600, ban
assert ban["reason"] == "churn: 40 connections in 1m", ban
assert ban["time"].endswith("Z") and ban["time"][:2] == "20", ban
assert unban["address"] == "192.0.2.0/32" and "duration" not in unban, unban
print("received:", lines)
EOF

# -- Connection refused: a port bound and released again. --
DEAD=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hookctl refused -u "http://127.0.0.1:$DEAD/x" -n 5 -r 2 -b 100 -t 1000 \
    -w 10000
[ $RC -eq 1 ] || fail "refused: exit $RC, want 1"
check refused 'j["sent"] == 0 and j["failed"] == 5 and j["attempts"] == 15'
check refused 'j["retries"] == 10 and j["fw_failures"] == 5'
check refused 'not j["timed_out"]'
# Two backoffs (100 + 200 ms), then it is over: well under a second more.
[ $MS -lt 3000 ] || fail "refused: took $MS ms"
expect_grep "failed after 3 tries: .*onnect" "$T/refused.err"
# Five failures in one burst, one warning (the rest held back).
[ "$(grep -c 'failed after' "$T/refused.err")" -eq 1 ] ||
    fail "refused: failures not rate-limited"

# -- A server that accepts and never answers: each attempt times out, the
# loop keeps running (a 10 ms ticker never waits 100 ms), and hookctl is
# done in about 2 x 500 ms + 100 ms. --
server hang hang
hookctl hang -u "$URL" -n 3 -r 1 -b 100 -t 500 -w 10000
[ $RC -eq 1 ] || fail "hang: exit $RC, want 1"
check hang 'j["failed"] == 3 and j["sent"] == 0 and j["attempts"] == 6'
check hang 'j["tick_gap_max_ms"] < 100 and not j["timed_out"]'
check hang '1000 <= j["elapsed_ms"] < 3000'
[ $MS -lt 4000 ] || fail "hang: took $MS ms"
expect_grep "failed after 2 tries: .*timed out" "$T/hang.err"
n=$(wc -l <"$T/hang.log")
[ "$n" -eq 6 ] || fail "hang: $n POSTs, want 6"

# -- The deadline: with a long timeout and the server hanging, hookctl
# gives up at -w and says so, without waiting for the POSTs. --
hookctl deadline -u "$URL" -n 2 -r 0 -t 30000 -w 700
[ $RC -eq 1 ] || fail "deadline: exit $RC, want 1"
check deadline 'j["timed_out"] and j["left"] == 2 and j["failed"] == 0'
[ $MS -lt 3000 ] || fail "deadline: took $MS ms"

# -- 500: retried, then failed. --
server fail fail
hookctl fail -u "$URL" -n 2 -r 3 -b 50 -t 2000 -w 10000
[ $RC -eq 1 ] || fail "fail: exit $RC, want 1"
check fail 'j["failed"] == 2 and j["attempts"] == 8 and j["retries"] == 6'
n=$(wc -l <"$T/fail.log")
[ "$n" -eq 8 ] || fail "fail: $n POSTs, want 8"
expect_grep "failed after 4 tries: HTTP 500" "$T/fail.err"

# -- Load: 1,000 POSTs fed in batches of 50 as room frees up, at most 16
# in flight and 200 waiting. --
: >"$T/good.log"
hookctl load -u "$(sed -n 's/^webhook = //p' "$T/xmppguard.conf")" \
    -n 1000 -B 50 -i 16 -q 200 -w 50000
[ $RC -eq 0 ] || { cat "$T/load.err"; fail "load: exit $RC"; }
check load 'j["sent"] == 1000 and j["failed"] == 0 and j["dropped"] == 0'
check load 'j["inflight_max"] <= 16 and j["pending_max"] <= 200'
check load 'j["busy_max"] <= 216 and j["tick_gap_max_ms"] < 200'
python3 - "$T/good.log" <<'EOF' || fail "load: not 1000 distinct bans"
import json, sys
addrs = {json.loads(l.split(" ", 1)[1])["address"] for l in open(sys.argv[1])}
assert len(addrs) == 1000, len(addrs)
EOF

# -- A flood beyond the bounds: what does not fit is dropped and counted
# at once, memory stays bounded, what fits is sent. --
hookctl flood -u "$(sed -n 's/^webhook = //p' "$T/xmppguard.conf")" \
    -n 1000 -F -i 4 -q 46 -w 20000
[ $RC -eq 1 ] || fail "flood: exit $RC, want 1"
check flood 'j["sent"] == 50 and j["dropped"] == 950 and j["refused"] == 950'
check flood 'j["inflight_max"] == 4 and j["pending_max"] == 46'
echo "PASS webhook"
