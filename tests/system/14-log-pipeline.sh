# The daemon follows a server log through a filter: a file present at
# start is read from its end; one failed login per connection however many
# SASL lines it writes; a partial line waits for its newline; an over-long
# binary line is counted and skipped; rename and copytruncate rotations
# lose nothing; a restart resumes where it stopped (nothing lost, nothing
# read twice); four failures from one address give an auth verdict.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) not installed"
command -v python3 >/dev/null || fail "python3 not installed"

state="$T/state"
logs="$T/logs"
mkdir -p "$logs"
xg_ej_filter "$T/f.conf"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
control_socket = $state/sock
firewall = none
[conntrack]
enabled = no
[auth]
max_fail = 3/10m
outage_addresses = 0
[log ej]
path = $logs/ej.log
filter = $T/f.conf
max_line = 1k
CONF

# fail PID IP [USER]: one failure line, as ejabberd 20.x+ writes it.
n=0
line() {
	n=$((n + 1))
	printf '%s [warning] <0.%s.0> Failed c2s PLAIN authentication for %s@example.org from %s: Invalid password\n' \
	    "$(date -u '+%Y-%m-%d %H:%M:%S.%3N')" "$1" "${3:-user$n}" "$2"
}
status_field() {	# status_field PYTHON-EXPR
	ip netns exec "$ns" "$XG" status -s "$state/sock" --json |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
# wait_events N: until the log source has reported N events.
wait_events() {
	wait_until "$XG_WAIT" "expected $1 log events" \
	    out_eq "$1" status_field 's["logs"][0]["events"]'
}
# wait_read: until the daemon has read every byte of the log written
# since this run started ($from: its size then).
wait_read() {
	wait_until "$XG_WAIT" "the daemon did not read the whole log" \
	    out_eq $(($(stat -c %s "$logs/ej.log") - from)) \
	    status_field 's["logs"][0]["bytes"]'
}
runs=0
start() {	# each run logs to a file of its own: $dlog
	runs=$((runs + 1))
	dlog="$T/daemon.$runs.log"
	xg_run "$ns" "$dlog" -c "$T/xg.conf"
	pid=$XG_PID
}

# Old history at start: read from the end, not judged.
for i in 1 2 3 4 5 6; do line "9$i" 198.51.100.99 old; done > "$logs/ej.log"
from=$(stat -c %s "$logs/ej.log")
start
expect_grep "log ej: following $logs/ej.log" "$dlog"

# Two connections from .10, the first trying three SASL mechanisms.
{ line 10 ::ffff:198.51.100.10 alice; line 10 ::ffff:198.51.100.10 alice
  line 10 ::ffff:198.51.100.10 alice; line 11 198.51.100.10 alice; } \
    >> "$logs/ej.log"
wait_events 2

# Garbage: a 3000-byte binary line (over max_line), invalid UTF-8, NULs.
{ head -c 3000 /dev/urandom | tr -d '\n'; echo
  printf 'bad \377\376 utf-8 authentication \000 nul\n'; } >> "$logs/ej.log"
# A partial line is held until its newline comes.
line 12 198.51.100.20 bob | head -c 40 >> "$logs/ej.log"
wait_read
[ "$(status_field 's["logs"][0]["events"]')" = 2 ] ||
    fail "a partial line was taken before its newline"
line 12 198.51.100.20 bob | tail -c +41 >> "$logs/ej.log"
wait_events 3
[ "$(status_field 's["logs"][0]["toolong"]')" = 1 ] ||
    fail "the over-long line was not counted"

# Rename rotation: the writer appends to the old file twice more, then
# the new file starts.  All three lines count, and the fourth failure of
# .10 breaks max_fail.
mv "$logs/ej.log" "$logs/ej.log.1"
{ line 13 198.51.100.10 alice; line 18 198.51.100.10 alice; } \
    >> "$logs/ej.log.1"
line 14 198.51.100.30 carol > "$logs/ej.log"
wait_events 6
wait_for_line "verdict: 198.51.100.10/32 auth: 4 failed logins in 10m (limit 3)" \
    "$dlog"

# copytruncate: the file is copied away and emptied in place.
cp "$logs/ej.log" "$logs/ej.log.2"
: > "$logs/ej.log"
wait_until "$XG_WAIT" "the truncation was not seen" \
    out_ge 1 status_field 's["logs"][0]["truncations"]'
line 15 198.51.100.40 dave >> "$logs/ej.log"
wait_events 7
[ "$(status_field 's["logs"][0]["rotations"] >= 1 and s["logs"][0]["truncations"] >= 1')" = True ] ||
    fail "rotation and truncation not both seen"

# Restart: lines written while the daemon is down are read once.
xg_stop "$pid"
{ line 16 198.51.100.50 erin; line 17 198.51.100.50 erin; } >> "$logs/ej.log"
start
expect_grep "from the saved position" "$dlog"
wait_events 2
xg_stop "$pid"

rows=$(sqlite3 "$state/xmppguard.db" \
    "SELECT count(*) FROM events WHERE source = 'log' AND kind = 'auth_fail'")
[ "$rows" = 9 ] || fail "9 auth_fail events expected in the store, found $rows"
old=$(sqlite3 "$state/xmppguard.db" \
    "SELECT count(*) FROM events WHERE addr = '198.51.100.99'")
[ "$old" = 0 ] || fail "history from before the first start was judged"
users=$(sqlite3 "$state/xmppguard.db" \
    "SELECT group_concat(user, ',') FROM (SELECT user FROM events WHERE source = 'log' ORDER BY id)")
[ "$users" = "alice,alice,bob,alice,alice,carol,dave,erin,erin" ] ||
    fail "wrong users or order in the store: $users"
exit 0
