# The tailer in a log directory that the server's user owns (issue 13):
# at a rotation that user plants a link to a secret file at the log's
# name: refused, counted, never read; then a file of another user's:
# refused too; then a proper file: followed.  The store keeps a keyed
# hash of each file's first bytes, never the bytes, and a restart still
# resumes at the saved position.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) not installed"
command -v python3 >/dev/null || fail "python3 not installed"

state="$T/state"
logs="$T/logs"
mkdir -p "$logs"
chown nobody:nogroup "$logs"	# the server's user
xg_ej_filter "$T/f.conf"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
control_socket = $state/sock
firewall = none
[conntrack]
enabled = no
[auth]
max_fail = 100/10m
outage_addresses = 0
[log ej]
path = $logs/ej.log
filter = $T/f.conf
CONF

n=0
line() {	# line PID IP USER
	n=$((n + 1))
	printf '%s [warning] <0.%s.0> Failed c2s PLAIN authentication for %s@example.org from %s: Invalid password\n' \
	    "$(date -u '+%Y-%m-%d %H:%M:%S.%3N')" "$1" "$3" "$2"
}
status_field() {	# status_field PYTHON-EXPR
	ip netns exec "$ns" "$XG" status -s "$state/sock" --json |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
wait_field() {		# wait_field FIELD N
	wait_until "$XG_WAIT" "expected logs[0].$1 = $2" \
	    out_eq "$2" status_field "s['logs'][0]['$1']"
}
runs=0
start() {
	runs=$((runs + 1))
	dlog="$T/daemon.$runs.log"
	xg_run "$ns" "$dlog" -c "$T/xg.conf"
	pid=$XG_PID
}
stop() {
	xg_stop "$pid"
}

# A secret the server's user cannot read, in the failure lines' shape so
# that reading it would show as events from 203.0.113.66.
line 1 203.0.113.66 secret > "$T/secret"
chmod 600 "$T/secret"

# The server's own log (its user owns it, as it owns the directory).
: > "$logs/ej.log"
chown nobody:nogroup "$logs/ej.log"
start
line 10 198.51.100.10 alice >> "$logs/ej.log"
wait_field events 1

# Rotation, and a link planted at the name: refused, not read.
mv "$logs/ej.log" "$logs/ej.log.1"
ln -s "$T/secret" "$logs/ej.log"
wait_field refused 1
wait_for_line "ej.log: a symbolic link (to $T/secret): refused" "$dlog"
line 11 203.0.113.66 secret >> "$T/secret"
[ "$(status_field "s['logs'][0]['events']")" = 1 ] ||
    fail "the planted link was read"

# Someone else's file at the name (neither root nor the directory's owner).
# (Made aside and renamed in: a file of root's would be read.)
line 12 203.0.113.67 mallory > "$logs/other"
chown daemon "$logs/other"
mv "$logs/other" "$logs/ej.log"
wait_field refused 2

# The proper file: followed from its start.
rm "$logs/ej.log"
line 13 198.51.100.20 bob > "$logs/ej.log.new"
chown nobody:nogroup "$logs/ej.log.new"
mv "$logs/ej.log.new" "$logs/ej.log"
wait_field events 2
line 14 198.51.100.20 bob >> "$logs/ej.log"
wait_field events 3
# Each refused file counted once, however often it was looked at again.
[ "$(status_field "s['logs'][0]['refused']")" = 2 ] ||
    fail "refused files counted more than once"
stop

# The store: the position holds a hash of the file's start, not its bytes.
pos=$(sqlite3 "$state/xmppguard.db" "SELECT pos FROM log_positions")
echo "$pos" | grep -Eq '^dev=[0-9]+ ino=[0-9]+ offset=[0-9]+ headlen=64 hash=[0-9a-f]{16}$' ||
    fail "log_positions.pos is not dev, ino, offset, headlen, hash: $pos"
hex=$(head -c 64 "$logs/ej.log" | od -An -tx1 | tr -d ' \n')
for f in "$state"/xmppguard.db*; do
	grep -qF "${hex:0:32}" "$f" && fail "$f holds the log's first bytes"
done
[ "$(sqlite3 "$state/xmppguard.db" \
    "SELECT count(*) FROM events WHERE addr IN ('203.0.113.66', '203.0.113.67')")" = 0 ] ||
    fail "a refused file's lines reached the store"

# Restart: what was written while down is read once, from the position.
{ line 15 198.51.100.30 carol; line 16 198.51.100.30 carol; } >> "$logs/ej.log"
start
expect_grep "from the saved position" "$dlog"
wait_field events 2
line 17 198.51.100.30 carol >> "$logs/ej.log"
wait_field events 3
stop
users=$(sqlite3 "$state/xmppguard.db" \
    "SELECT group_concat(user, ',') FROM (SELECT user FROM events WHERE source = 'log' ORDER BY id)")
[ "$users" = "alice,bob,bob,carol,carol,carol" ] ||
    fail "wrong users or order in the store: $users"
exit 0
