# Restarts remember: 4 failed logins before kill -9 and 4 after, against
# max_fail = 5/10m, give an auth verdict; 4 older than the window and 4
# after give none.  The start says how many windows it rebuilt from how
# many rows, and reads a store of many recent rows within bounds.
# Conntrack is off (the point is the windows, not corroboration).
#
# XG_REBUILD_ROWS=N (default 20000) sets the size of that store;
# XG_REBUILD_REPORT=FILE keeps the start's "rebuilt windows" line there,
# for timing a large store:
#	XG_REBUILD_ROWS=1000000 XG_REBUILD_REPORT=/tmp/rebuild.txt \
#	    sh tests/system/run.sh tests/system/36-restart-windows.sh
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) not installed"

state="$T/state"
db="$state/xmppguard.db"
logs="$T/logs"
mkdir -p "$logs"
: > "$logs/ej.log"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
control_socket = $state/sock
firewall = none
[conntrack]
enabled = no
[auth]
max_fail = 5/10m
outage_addresses = 0
[log ej]
path = $logs/ej.log
filter = ejabberd
CONF

# line IP [AGO]: one failure line as ejabberd writes it, on a connection
# of its own, written AGO ago (a date(1) offset such as "15 min"; default
# now).
n=0
line() {
	n=$((n + 1))
	printf '%s [warning] <0.77.0>@ejabberd_c2s:process_auth_failure:1000 (tls|<0.%s.0>) Failed c2s PLAIN authentication for u%s@example.org from %s: Invalid password\n' \
	    "$(date -u -d "now - ${2:-0 min}" '+%Y-%m-%d %H:%M:%S.%3N')" \
	    "$n" "$n" "$1"
}
rows() {
	sqlite3 "$db" "SELECT count(*) FROM events WHERE kind = 'auth_fail'"
}
runs=0
start() {
	runs=$((runs + 1))
	dlog="$T/daemon.$runs.log"
	xg_run "$ns" "$dlog" --dry-run -c "$T/xg.conf"
	pid=$XG_PID
}
crash() {
	kill -KILL "$pid"
	wait_pid_gone "$pid" || fail "daemon survived kill -9"
	wait "$pid" 2>/dev/null
}

start
expect_grep "rebuilt windows of 0 addresses from 0 events in" "$dlog"
# .10: 4 failures now; .20: 4 failures 15 minutes ago.
{ for i in 1 2 3 4; do line 198.51.100.10; done
  for i in 1 2 3 4; do line 198.51.100.20 "15 min"; done; } \
    >> "$logs/ej.log"
# Committed, as a kill -9 leaves them.
wait_until "$XG_WAIT" "the 8 failures did not reach the store" \
    out_eq 8 rows
crash

start
expect_grep "rebuilt windows of 1 addresses from 4 events in" "$dlog"
{ for i in 1 2 3 4; do line 198.51.100.10; done
  for i in 1 2 3 4; do line 198.51.100.20; done; } >> "$logs/ej.log"
wait_until "$XG_WAIT" "the 8 new failures did not reach the store" \
    out_eq 16 rows
wait_for_line \
    "verdict: 198.51.100.10/32 auth: 6 failed logins in 10m (limit 5)" \
    "$dlog"
v=$(sqlite3 "$db" "SELECT count(*) FROM verdicts WHERE addr = '198.51.100.10' AND rule = 'auth'")
[ "$v" = 1 ] || fail "198.51.100.10: $v auth verdicts, expected 1"
v=$(sqlite3 "$db" "SELECT count(*) FROM verdicts WHERE addr = '198.51.100.20'")
[ "$v" = 0 ] || fail "198.51.100.20 was judged on failures older than the window"
grep -q "verdict: 198.51.100.20/32" "$dlog" &&
    fail "198.51.100.20 was judged on failures older than the window"

# Again: the verdict stands (no second one for the same failures), and a
# store with many recent rows is read within its bounds.
crash
big=${XG_REBUILD_ROWS:-20000}
now=$(($(date +%s) * 1000000))
sqlite3 "$db" "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < $big - 1)
INSERT INTO events (time, addr, kind, source, origin, user)
SELECT $now - 540000000 + i * (540000000 / $big), '10.0.' || (i % 4000 / 250) || '.' || (i % 250 + 1),
    'auth_fail', 'log', 'ejabberd', 'u' FROM k"
start
expect_grep "rebuilt windows of 4002 addresses from $((big + 12)) events in" \
    "$dlog"
[ -n "${XG_REBUILD_REPORT:-}" ] && grep "rebuilt windows" "$dlog" \
    > "$XG_REBUILD_REPORT"
line 198.51.100.10 >> "$logs/ej.log"
wait_until "$XG_WAIT" "the last failure did not reach the store" \
    out_eq $((big + 17)) rows
v=$(sqlite3 "$db" "SELECT count(*) FROM verdicts WHERE addr = '198.51.100.10'")
[ "$v" = 1 ] || fail "198.51.100.10: $v verdicts after a restart, expected 1"
xg_stop "$pid"
exit 0
