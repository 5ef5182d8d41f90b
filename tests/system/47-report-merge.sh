# xmppguard report over several nodes' stores (issue 15, item 7), without
# a LAPI: two stores filled from two ejabberd logs by `replay --db` (node A
# and node B both see one password guesser, each one of its own), a ban
# in each; `report --db A --db B` merges them in every format, each row
# saying which node saw it; neither store is written (same bytes before
# and after), a user who may only read them reads them too; --ip gives
# the shared guesser's timeline node by node; one --db alone prints as it
# always did (no node column); a missing store and eleven stores are
# refused with a clear message.
. "$TOP/tests/system/lib.sh"

command -v python3 >/dev/null || { echo "no python3"; exit 77; }
command -v sqlite3 >/dev/null ||
    { echo "no sqlite3 (apt-get install sqlite3)"; exit 77; }
export TZ=UTC
: > "$T/empty.conf"
# Ten minutes ago: inside the report's period, whatever the hour now.
at=$(date -u -d '10 minutes ago' '+%Y-%m-%d %H:%M')

# N failed logins of ADDR in that minute, one a second.
guesses() {
	i=1
	while [ "$i" -le "$2" ]; do
		printf '%s:%02d.000000+00:00 [info] <0.334.0>@ejabberd_listener:accept/7:273 (<0.7%02d.0>) Accepted connection [::ffff:%s]:410%02d -> [::ffff:192.0.2.1]:5222\n' \
		    "$at" "$i" "$i" "$1" "$i"
		printf '%s:%02d.500000+00:00 [warning] <0.7%02d.0>@ejabberd_c2s:process_auth_result/3:280 (tcp|<0.7%02d.0>) Failed c2s PLAIN authentication for admin@example.org from ::ffff:%s: Invalid username or password\n' \
		    "$at" "$i" "$i" "$i" "$1"
		i=$((i + 1))
	done
}

SHARED=203.0.113.20 ONLY_A=203.0.113.30 ONLY_B=203.0.113.40
{ guesses $SHARED 6; guesses $ONLY_A 7; } > "$T/a.log"
{ guesses $SHARED 8; guesses $ONLY_B 9; } > "$T/b.log"
mkdir -p "$T/nodes"
A="$T/nodes/node-a.db" B="$T/nodes/node-b.db"
"$XG" replay -c "$T/empty.conf" --log ejabberd="$T/a.log" --db "$A" \
    >/dev/null 2>"$T/ra.err" || fail "replay a: $(cat "$T/ra.err")"
"$XG" replay -c "$T/empty.conf" --log ejabberd="$T/b.log" --db "$B" \
    >/dev/null 2>"$T/rb.err" || fail "replay b: $(cat "$T/rb.err")"
# A ban in each, as the daemon writes them (replay judges, never bans).
now=$(($(date +%s) * 1000000))
for n in "a $A $ONLY_A" "b $B $ONLY_B"; do
	set -- $n
	sqlite3 "$2" "INSERT INTO bans (addr, prefixlen, rule, reason, since,
	    expires, count, source) VALUES ('$3', 32, 'auth', 'banned on $1',
	    $now, $now + 3600000000, 1, 'rule')" || fail "ban in $2"
done
sqlite3 "$A" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
sqlite3 "$B" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
before=$(cat "$A" "$B" | sha256sum)

r() { "$XG" report -c "$T/empty.conf" --db "$A" --db "$B" "$@"; }

# JSON: the nodes, each row's node(s).
r --json > "$T/r.json" 2>"$T/r.err" || fail "report --json: $(cat "$T/r.err")"
python3 - "$T/r.json" <<'EOF' || fail "JSON: $(cat "$T/r.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["nodes"] == ["node-a.db", "node-b.db"], r["nodes"]
top = {a["address"]: a for a in r["top"]}
assert top["203.0.113.20"]["nodes"] == ["node-a.db", "node-b.db"], top
# 6 on a, and 6 of b's 8: replay bans at the sixth (max_fail 5) and, as
# the firewall would, keeps the banned address's later lines out.
assert top["203.0.113.20"]["auth_fail"] == 12, top["203.0.113.20"]
assert top["203.0.113.30"]["nodes"] == ["node-a.db"], top
assert top["203.0.113.40"]["nodes"] == ["node-b.db"], top
bans = {b["address"]: b["node"] for b in r["bans"]}
assert bans == {"203.0.113.30": "node-a.db", "203.0.113.40": "node-b.db"}, bans
assert r["totals"]["bans"] == 2 and r["totals"]["verdicts_all"] == 4, r["totals"]
assert r["services"][0]["nodes"] == ["node-a.db", "node-b.db"]
EOF

# CSV: a node column last, parsed back.
r --format csv --section top > "$T/top.csv" || fail "report csv top"
r --format csv --section bans > "$T/bans.csv" || fail "report csv bans"
python3 - "$T/top.csv" "$T/bans.csv" <<'EOF' || fail "CSV: $(cat "$T/top.csv" "$T/bans.csv")"
import csv, sys
top = list(csv.DictReader(open(sys.argv[1], newline="")))
assert {t["address"]: t["node"] for t in top} == {
    "203.0.113.20": "node-a.db,node-b.db", "203.0.113.30": "node-a.db",
    "203.0.113.40": "node-b.db"}, top
bans = list(csv.DictReader(open(sys.argv[2], newline="")))
assert {b["address"]: b["node"] for b in bans} == {
    "203.0.113.30": "node-a.db", "203.0.113.40": "node-b.db"}, bans
EOF

# Table and HTML: the column, the nodes named once at the top.
r > "$T/r.txt" || fail "report table"
cat "$T/r.txt"
expect_grep '^  2 nodes: node-a.db,node-b.db$' "$T/r.txt"
expect_grep 'closest-limit *node$' "$T/r.txt"
expect_grep '^  203\.0\.113\.20 .* node-a\.db,node-b\.db$' "$T/r.txt"
expect_grep 'banned on b *node-b\.db$' "$T/r.txt"
r --format html -o "$T/r.html" || fail "report html"
expect_grep '<th>node</th>' "$T/r.html"
expect_grep '<td>node-a.db,node-b.db</td></tr>' "$T/r.html"

# --ip: the shared guesser's hour on each node.
r --ip $SHARED --format csv --section timeline > "$T/ip.csv" ||
    fail "report --ip"
python3 - "$T/ip.csv" <<'EOF' || fail "--ip: $(cat "$T/ip.csv")"
import csv, sys
tl = list(csv.DictReader(open(sys.argv[1], newline="")))
assert sorted((t["node"], t["auth_fail"]) for t in tl) == [
    ("node-a.db", "6"), ("node-b.db", "6")], tl
EOF

# One store: as before, no node anywhere.
"$XG" report -c "$T/empty.conf" --db "$A" --json > "$T/one.json" ||
    fail "report one store"
! grep -q '"node' "$T/one.json" || fail "one store has nodes: $(cat "$T/one.json")"
"$XG" report -c "$T/empty.conf" --db "$A" > "$T/one.txt"
! grep -q 'node' "$T/one.txt" || fail "one store has a node column"

# A reader who may not write reads them too; nothing was written.
if command -v runuser >/dev/null; then
	chmod 0755 "$T" "$T/nodes"
	chmod 0644 "$A" "$B" "$A"-* "$B"-* 2>/dev/null
	runuser -u nobody -- "$XG" report -c "$T/empty.conf" --db "$A" \
	    --db "$B" --json > "$T/nobody.json" 2>"$T/nobody.err" ||
	    fail "report as nobody: $(cat "$T/nobody.err")"
	grep -q '"node":"node-b.db"' "$T/nobody.json" ||
	    fail "as nobody: $(cat "$T/nobody.json")"
fi
[ "$(cat "$A" "$B" | sha256sum)" = "$before" ] || fail "a store was written"

# Refused: a missing store, eleven stores.
r --db "$T/nodes/none.db" > /dev/null 2>"$T/miss.err" &&
    fail "a missing store accepted"
expect_grep 'none.db' "$T/miss.err"
set --
for i in 1 2 3 4 5 6 7 8 9 10 11; do set -- "$@" --db "$A"; done
"$XG" report -c "$T/empty.conf" "$@" > /dev/null 2>"$T/many.err" &&
    fail "eleven stores accepted"
expect_grep 'at most 10 stores' "$T/many.err"
exit 0
