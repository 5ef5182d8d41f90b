# The daemon reads the journal and docker's json-file logs through the
# same filters as files.  Journal: real journal files written by
# systemd-journal-remote into a directory (journal_dir), Prosody's failed
# logins as MESSAGEs of prosody.service; history before the first start
# is not judged, entries appended to the file or in a second file are
# read, another unit's are not, a line without a time takes the entry's;
# after a restart the entries written while the daemon was down are read
# and none twice (the cursor in the store).  Docker: a json-file log with
# a malformed record (counted, skipped), a line cut into two records, a
# rename rotation; events counted exactly.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns
jremote=/lib/systemd/systemd-journal-remote
[ -x "$jremote" ] || { echo "SKIP: systemd-journal-remote not installed"; exit 77; }
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) not installed"
command -v python3 >/dev/null || fail "python3 not installed"

state="$T/state"
jdir="$T/journal"
cdir="$T/containers/abc"
mkdir -p "$jdir" "$cdir"
# A filter whose lines carry no time (as a program logging to the journal
# without a date): the event takes the entry's __REALTIME_TIMESTAMP.
cat > "$T/nodate.conf" <<'FILTER'
[filter]
name      = nodate
time      = none

[pattern fail]
kind     = auth_fail
literal  = nodate failure
regex    = ^nodate failure for (?<user>\S+) from (?<ip>\S+)$
FILTER
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
control_socket = $state/sock
firewall = none
dry_run = yes
[conntrack]
enabled = no
[auth]
corroborate = 0
outage_addresses = 0
[log prosody]
journal = prosody
filter = prosody
journal_dir = $jdir
[log nodate]
journal = prosody
journal_match = SYSLOG_IDENTIFIER=nodate
filter = $T/nodate.conf
journal_dir = $jdir
[log docker]
path = $cdir/abc-json.log
format = docker-json
filter = prosody
CONF
"$XG" check-config -c "$T/xg.conf" >/dev/null || fail "check-config refused"

# entry FILE UNIT MESSAGE [REALTIME_US [FIELD=VALUE]]: one journal entry
# appended to $jdir/FILE (journal export format on stdin).
seq=0
entry() {
	seq=$((seq + 1))
	xg_now
	{ printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n' \
	    "${4:-$XG_NOW}" "$seq"
	  printf '_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=h\n'
	  printf '_SYSTEMD_UNIT=%s\n' "$2"
	  [ -z "${5:-}" ] || printf '%s\n' "$5"
	  printf 'MESSAGE=%s\n\n' "$3"; } |
	    "$jremote" --output="$jdir/$1" --split-mode=none - 2>/dev/null ||
	    fail "systemd-journal-remote failed"
}
# fail_line KEY IP: a mod_log_auth line as Prosody 0.12 writes it
# (tests/filters/prosody/info.log), dated now.
fail_line() {
	printf '%s %s\tinfo\tFailed authentication attempt (not-authorized) for user alice@example.org from IP: %s' \
	    "$(date '+%b %d %H:%M:%S')" "$1" "$2"
}
pfail() {	# pfail FILE KEY IP
	entry "$1" prosody.service "$(fail_line "$2" "$3")"
}
status_field() {	# status_field PYTHON-EXPR (logs by name in L)
	ip netns exec "$ns" "$XG" status -s "$state/sock" --json |
	    python3 -c "import json,sys; s=json.load(sys.stdin); L={l['name']: l for l in s['logs']}; print($1)"
}
wait_events() {	# wait_events LOG N
	wait_until "$XG_WAIT" "expected $2 events from log $1" \
	    out_eq "$2" status_field "L['$1']['events']"
}
wait_lines() {	# wait_lines LOG N
	wait_until "$XG_WAIT" "expected $2 lines read from log $1" \
	    out_eq "$2" status_field "L['$1']['lines']"
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
db() {
	sqlite3 "$state/xmppguard.db" "$1"
}
# dj LOG [TIME]: one docker json-file record.
dj() {
	python3 -c 'import json,sys; print(json.dumps({"log": sys.argv[1], "stream": "stdout", "time": sys.argv[2]}))' \
	    "$1" "${2:-$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)}"
}

# History, in the journal and the container's log: not judged.
for k in 1 2 3; do pfail x.journal c2s00old$k 198.51.100.99; done
dj "$(fail_line c2s00old 198.51.100.99)
" > "$cdir/abc-json.log"

start
expect_grep "log prosody: following the journal of prosody.service" "$dlog"
expect_grep "log docker: following $cdir/abc-json.log (docker-json)" "$dlog"

# New entries: three failures on three sessions; another unit's line is
# not read; a line without a time written two minutes ago.
pfail x.journal c2s0001 198.51.100.10
pfail x.journal c2s0002 198.51.100.10
entry x.journal ejabberd.service "$(fail_line c2s0009 198.51.100.77)"
xg_now
past=$((XG_NOW - 120000000))
entry x.journal prosody.service "nodate failure for bob from 198.51.100.30" \
    "$past" SYSLOG_IDENTIFIER=nodate
pfail x.journal c2s0003 198.51.100.10
wait_events prosody 3
wait_events nodate 1
# A second journal file in the directory (journald's rotation) is read.
pfail y.journal c2s0004 198.51.100.11
wait_events prosody 4
[ "$(status_field "L['prosody']['journal']")" = prosody.service ] ||
    fail "status does not name the unit"
ip netns exec "$ns" "$XG" status -s "$state/sock" > "$T/status.txt"
expect_grep "log prosody .*journal prosody.service" "$T/status.txt"

# Docker: two lines, a malformed record, one line in two records, then a
# rename rotation with a last line in the old file.
{ dj "$(fail_line c2s0d01 198.51.100.20)
"; echo '{"log": 42}'; echo 'not json at all'
  dj "$(fail_line c2s0d02 198.51.100.20 | head -c 30)"
  dj "$(fail_line c2s0d02 198.51.100.20 | tail -c +31)
"; } >> "$cdir/abc-json.log"
wait_events docker 2
wait_until "$XG_WAIT" "malformed records not counted" \
    out_eq 2 status_field "L['docker']['malformed']"
mv "$cdir/abc-json.log" "$cdir/abc-json.log.1"
dj "$(fail_line c2s0d03 198.51.100.20)
" >> "$cdir/abc-json.log.1"
dj "$(fail_line c2s0d04 198.51.100.21)
" > "$cdir/abc-json.log"
wait_events docker 4
wait_until "$XG_WAIT" "the rotation was not seen" \
    out_ge 1 status_field "L['docker']['rotations']"

# test-filter reads a container's log as the daemon does: the rotated
# file holds the history line, three failures and two malformed records.
"$XG" test-filter prosody "$cdir/abc-json.log.1" --format docker-json \
    --json > "$T/tf.json" || fail "test-filter --format docker-json failed"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(not (s["events"] == 4 and s["malformed"] == 2))' \
    "$T/tf.json" || fail "test-filter: $(cat "$T/tf.json")"

# Restart: entries written while the daemon is down are read, once.
stop
pfail x.journal c2s0005 198.51.100.12
pfail y.journal c2s0006 198.51.100.12
dj "$(fail_line c2s0d05 198.51.100.22)
" >> "$cdir/abc-json.log"
start
expect_grep "log prosody: .*from the saved cursor" "$dlog"
expect_grep "log nodate: .*from the saved cursor" "$dlog"
wait_events prosody 2
wait_events docker 1
pfail x.journal c2s0007 198.51.100.13
wait_events prosody 3
# The nodate entry, read before the restart, is not read again.
[ "$(status_field "L['nodate']['events']")" = 0 ] ||
    fail "the nodate entry was read twice"
stop

rows=$(db "SELECT count(*) FROM events WHERE origin = 'prosody' AND kind = 'auth_fail'")
[ "$rows" = 7 ] || fail "7 journal auth_fail events expected, found $rows"
rows=$(db "SELECT count(*) FROM events WHERE origin = 'docker' AND kind = 'auth_fail'")
[ "$rows" = 5 ] || fail "5 docker auth_fail events expected, found $rows"
old=$(db "SELECT count(*) FROM events WHERE addr IN ('198.51.100.99', '198.51.100.77')")
[ "$old" = 0 ] || fail "history or another unit's entry was judged"
t=$(db "SELECT time FROM events WHERE origin = 'nodate'")
[ "$t" = "$past" ] || fail "the line without a time has $t, not the entry's $past"
[ "$(db "SELECT count(*) FROM journal_cursors")" = 2 ] ||
    fail "two journal cursors expected in the store"
exit 0
