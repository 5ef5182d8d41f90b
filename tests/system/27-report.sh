# xmppguard report on a store the real daemon fills: real TCP clients in a
# namespace (a churn bot, a concurrency hog, one close to max_new, a benign
# client), failed logins in a followed server log (a password guesser whose
# user names are HTML), bans in nftables inside the namespace.  While the
# daemon runs and writes, `report --format json` names the three attackers
# first, the one near a limit in "near" and not the banned ones; the table
# is aligned; the CSV parses back (RFC 4180); --ip gives the bot's
# timeline, verdicts and bans; the HTML report, opened in headless
# Chromium, renders its three charts (their colours' pixels, top to bottom)
# in bins of a minute with the bans marked, a bar per connection in the
# bot's --ip timeline, and shows the hostile user names as text, never as
# markup.  A user who
# may only read the store reads it too, the daemon running or stopped.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3 runuser
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
    skip "no chromium (apt-get install chromium)"
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.10 198.51.100.14
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_close_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_last_ack=1 ||
    fail "conntrack timeouts in $SRV"

BOT=198.51.100.10 HOG=198.51.100.11 NEAR=198.51.100.12 BENIGN=198.51.100.13
GUESSER=198.51.100.14
db="$T/xg.db"
mkdir -p "$T/logs"
: > "$T/logs/ej.log"
xg_ej_filter "$T/f.conf"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[store]
path = $db
[conntrack]
poll = 1s
[service c2s]
ports = 5222
max_concurrent = 6
max_new = 12/1h
# banned at the limit (41-kernel-caps tests the kernel caps)
kernel_caps = no
[auth]
max_fail = 3/10m
outage_addresses = 0
[log ej]
path = $T/logs/ej.log
filter = $T/f.conf
[ban]
duration = 1h
nft_table = xgtest
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 180
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
xg=$NS_PID

# The attackers.
ns_exec "$CLI" "$XGLOAD" churn -c 1 -s "$BOT" -d 192.0.2.1 -p 5222 -n 20 \
    --timeout 1 --seconds 20 > "$T/bot.log" 2>&1
wait_for_line "ban: $BOT/32 .*churn" "$T/xg.log"
ns_spawn "$CLI" "$T/hog.log" "$XGLOAD" hold -s "$HOG" -d 192.0.2.1 -p 5222 \
    -n 8 --seconds 10
wait_for_line "ban: $HOG/32 .*concurrency" "$T/xg.log"
# The guesser is connected while it fails (a line naming an address that
# never connected is not judged).
ns_spawn "$CLI" "$T/guesser.log" "$XGLOAD" hold -s "$GUESSER" -d 192.0.2.1 \
    -p 5222 -n 1 --seconds 20
wait_for_line 'established=1' "$T/guesser.log"
wait_until "$XG_WAIT" "no live connection from $GUESSER" \
    out_ge 1 ns_ct_count "$SRV" -p tcp --src "$GUESSER" --state ESTABLISHED
for i in 1 2 3 4 5; do
	printf '%s [warning] <0.%s.0> Failed c2s PLAIN authentication for %s@example.org from %s: Invalid password\n' \
	    "$(date -u '+%Y-%m-%d %H:%M:%S.%3N')" "$i" \
	    "<script>alert($i)</script>" "$GUESSER"
done >> "$T/logs/ej.log"
wait_for_line "ban: $GUESSER/32 .*auth" "$T/xg.log"
# Close to max_new (9 of 12), and a benign client.
ns_exec "$CLI" "$XGLOAD" churn -c 1 -s "$NEAR" -d 192.0.2.1 -p 5222 -n 9 \
    > "$T/near.log" 2>&1 || fail "near: $(cat "$T/near.log")"
ns_exec "$CLI" "$XGLOAD" churn -c 1 -s "$BENIGN" -d 192.0.2.1 -p 5222 -n 2 \
    > "$T/benign.log" 2>&1 || fail "benign: $(cat "$T/benign.log")"

# The daemon writes its rollups once a minute: the report, read-only and
# beside the running daemon, waits for them (a try a second).
report() {
	"$XG" report -c "$T/xg.conf" --since 2h "$@"
}
rolled_up() {	# the report names $NEAR (or it failed: that ends the wait)
	report --format json > "$T/r.json" 2> "$T/r.err" ||
	    { report_failed=1; return 0; }
	python3 - "$T/r.json" "$NEAR" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if not any(a["address"] == sys.argv[2] for a in r["top"]):
    print(json.dumps(r)[:2000])
    sys.exit(1)
PY
}
report_failed=0
wait_until -i 1 120 "no rollups" rolled_up
[ $report_failed = 0 ] ||
    fail "report while the daemon runs: $(cat "$T/r.err")"
kill -0 "$xg" 2>/dev/null || fail "the daemon died"
# A user who may only read the files (the store, its -wal and -shm) reads
# it too, while the daemon writes.
chmod 711 "$T"
chmod 644 "$db" "$db-wal" "$db-shm" "$T/xg.conf"
runuser -u nobody -- "$XG" report -c "$T/xg.conf" --since 2h --format csv \
    > "$T/nobody.csv" 2> "$T/nobody.err" ||
    fail "report as nobody, daemon running: $(cat "$T/nobody.err")"
expect_grep "^$NEAR," "$T/nobody.csv"
grep -i 'locked\|busy' "$T/xg.log" && fail "the report got in the daemon's way"

# JSON: the attackers first.
python3 - "$T/r.json" "$BOT" "$HOG" "$GUESSER" "$NEAR" "$BENIGN" <<'PY' ||
import json, sys
r = json.load(open(sys.argv[1]))
bot, hog, guesser, near, benign = sys.argv[2:]
top = [a["address"] for a in r["top"]]
assert set(top[:3]) == {bot, hog, guesser}, top
assert top.index(near) < top.index(benign), top
by = {a["address"]: a for a in r["top"]}
for a in (bot, hog, guesser):
    assert by[a]["bans"] >= 1 and by[a]["verdicts"] >= 1, by[a]
    assert by[a]["score"] >= 200, by[a]
assert by[bot]["conns"] >= 13 and by[bot]["limit"]["name"] == "max_new", by[bot]
assert by[hog]["peak_live"] >= 7, by[hog]
assert by[hog]["limit"]["name"] == "max_concurrent", by[hog]
assert by[guesser]["auth_fail"] == 5 and by[guesser]["conns"] <= 1, by[guesser]
assert by[near]["conns"] == 9 and by[near]["bans"] == 0, by[near]
assert by[benign]["score"] < 70, by[benign]
nearl = [a["address"] for a in r["near"]]
assert nearl == [near], nearl
n = r["near"][0]["limit"]
assert (n["name"], n["observed"], n["limit"]) == ("max_new", 9, 12), n
assert r["totals"]["bans"] >= 3 and len(r["bans"]) >= 3, r["bans"]
assert {b["address"] for b in r["bans"]} >= {bot, hog, guesser}
c2s = [s for s in r["services"] if s["service"] == "c2s"][0]
assert c2s["addresses"] >= 5 and c2s["auth_fail"] == 5, c2s
assert sum(h["conns"] for h in r["hours"]) == r["totals"]["conns"]
assert sum(h["bans"] for h in r["hours"]) == r["totals"]["bans"]
PY
    fail "report --format json: $(cat "$T/r.json")"

# Table: the score column right-aligned on every row of the top list.
report > "$T/r.txt" || fail "report (table)"
python3 - "$T/r.txt" "$BOT" <<'PY' || { cat "$T/r.txt"; fail "table"; }
import sys
lines = open(sys.argv[1]).read().split("\n")
i = [n for n, l in enumerate(lines) if l.startswith("Top 20 addresses")][0]
hdr = lines[i + 1]
end = hdr.index(" score ") + len(" score")
rows = []
for l in lines[i + 2:]:
    if not l.startswith("  "):
        break
    rows.append(l)
assert len(rows) >= 5, rows
for l in rows:
    assert l[end - 1].isdigit() and l[end] == " ", (l, end)
assert sys.argv[2] in "".join(rows[:3])
PY

# CSV: parses back, one row per address of the JSON's top list.
report --format csv > "$T/r.csv" || fail "report --format csv"
report --format csv --section bans > "$T/bans.csv" || fail "csv bans"
python3 - "$T/r.csv" "$T/bans.csv" "$T/r.json" <<'PY' || fail "csv"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
top = json.load(open(sys.argv[3]))["top"]
assert rows[0][:3] == ["address", "score", "conns"], rows[0]
assert [r[0] for r in rows[1:]] == [a["address"] for a in top], rows
bans = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(bans) >= 3 and all(b["reason"] for b in bans), bans
assert open(sys.argv[1], "rb").read().count(b"\r\n") == len(rows)
PY

# --ip: the bot's hours, its verdict and its ban.
report --ip "$BOT" --format json > "$T/ip.json" || fail "report --ip"
python3 - "$T/ip.json" "$T/r.json" "$BOT" <<'PY' || fail "--ip: $(cat "$T/ip.json")"
import json, sys
ip = json.load(open(sys.argv[1]))
top = {a["address"]: a for a in json.load(open(sys.argv[2]))["top"]}
assert ip["address"] == sys.argv[3]
assert sum(t["conns"] for t in ip["timeline"]) == top[sys.argv[3]]["conns"]
assert [v["rule"] for v in ip["verdicts"]] == ["churn"], ip["verdicts"]
assert [b["rule"] for b in ip["bans"]] == ["churn"], ip["bans"]
PY
report --ip "$BOT" > "$T/ip.txt" || fail "report --ip (table)"
expect_grep "^Hour by hour" "$T/ip.txt"
expect_grep "churn: " "$T/ip.txt"

# HTML in headless Chromium: the charts render, top to bottom.
report --format html -o "$T/r.html" || fail "report --format html"
report --format html --ip "$GUESSER" -o "$T/ip.html" || fail "html --ip"
report --format html --ip "$BOT" -o "$T/bot.html" || fail "html --ip bot"
grep -q '<script' "$T/r.html" "$T/ip.html" && fail "a script tag in the HTML"
# The charts span the hours that hold data, per minute here (at most 200
# bins); the bans are marked; the bot's timeline has a bar per connection.
bins=$(sed -n 's/.*<svg id="chart-conns" class="time" data-bins="\([0-9]*\)".*/\1/p' \
    "$T/r.html")
[ -n "$bins" ] && [ "$bins" -ge 1 ] && [ "$bins" -le 200 ] ||
    fail "chart-conns: $bins bins"
expect_grep '<h2>New connections per minute</h2>' "$T/r.html"
expect_grep '<line class="ban"' "$T/r.html"
[ "$(grep -c '<rect class="conn"' "$T/bot.html")" -ge 1 ] ||
    fail "no connection bar in the bot's timeline"
expect_grep '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/ip.html"
chrome() {	# chrome ARGS...: headless, no profile left behind
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --hide-scrollbars --user-data-dir="$T/chrome" "$@" 2>>"$T/chrome.log"
}
chrome --window-size=1200,1600 --screenshot="$T/r.png" "file://$T/r.html" \
    > /dev/null || fail "chromium: $(tail -5 "$T/chrome.log")"
chrome --dump-dom "file://$T/ip.html" > "$T/ip.dom" ||
    fail "chromium --dump-dom: $(tail -5 "$T/chrome.log")"
python3 - "$T/r.png" <<'PY' || fail "the charts did not render"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
ys = {(0x1f, 0x77, 0xb4): [], (0xd6, 0x27, 0x28): [], (0xff, 0x7f, 0x0e): []}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[x] = (line[x] + pr) & 255
    for x in range(0, stride, bpp):
        k = tuple(line[x:x + 3])
        if k in ys:
            ys[k].append(y)
    prev = line
conns, bans, top = (sorted(v) for v in ys.values())
for name, v in (("connections", conns), ("bans", bans), ("top", top)):
    assert len(v) >= 50, (name, len(v))
med = lambda v: v[len(v) // 2]
assert med(conns) < med(bans) < med(top), (med(conns), med(bans), med(top))
print("pixels: connections %d, bans %d, top %d" % (len(conns), len(bans), len(top)))
PY
expect_grep '<svg id="chart-conns"' "$T/ip.dom"
grep -q '<script' "$T/ip.dom" && fail "Chromium found a script element"
expect_grep '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/ip.dom"

# A missing store and a file that is no database: clear errors.
"$XG" report -c "$T/xg.conf" --db "$T/nosuch.db" 2> "$T/e1" && fail "missing store accepted"
expect_grep "$T/nosuch.db" "$T/e1"
echo "not a database" > "$T/bad.db"
"$XG" report -c "$T/xg.conf" --db "$T/bad.db" 2> "$T/e2" && fail "a text file accepted"
expect_grep "not an SQLite database" "$T/e2"

ns_stop "$xg" || fail "the daemon did not stop cleanly"
# Stopped, the daemon leaves no -wal or -shm: a reader who cannot create
# them reads the file as immutable.
[ -e "$db-wal" ] && fail "the daemon left $db-wal"
chmod 644 "$db"
runuser -u nobody -- "$XG" report -c "$T/xg.conf" --since 2h --format csv \
    > "$T/nobody2.csv" 2> "$T/nobody2.err" ||
    fail "report as nobody, daemon stopped: $(cat "$T/nobody2.err")"
expect_grep "^$NEAR," "$T/nobody2.csv"
[ -e "$db-shm" ] && fail "the reader created $db-shm"
exit 0
