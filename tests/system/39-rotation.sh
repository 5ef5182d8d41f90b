# Rotation without gaps (issue 19): a writer at up to 20,000 lines/s
# rotates the log 20 times by rename as logrotate does (older generations
# shifted, the new file created at once), writing on to the old file for a
# moment after each rename before it reopens the name, as a server does;
# twice the daemon is stopped across two rotations (a stalled loop).  Every
# line is read exactly once: the daemon's line count equals the lines
# written, and its events equal what test-filter finds in all the
# generations.  Then copytruncate with the race forced (the daemon stopped
# while lines are written, copied, written again, truncated): the bytes it
# had not read are reported lost, exactly those the copy shows.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns
command -v python3 >/dev/null || fail "python3 not installed"

state="$T/state"
logs="$T/logs"
mkdir -p "$logs"
LINES=${XG_ROT_LINES:-200000}
RATE=${XG_ROT_RATE:-20000}
ROTATIONS=20
xg_ej_filter "$T/f.conf"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
control_socket = $state/sock
firewall = none
dry_run = yes
[conntrack]
enabled = no
[auth]
max_fail = 1000000/10m
corroborate = 0
outage_addresses = 0
[log ej]
path = $logs/ej.log
filter = $T/f.conf
CONF

field() {	# field NAME: logs[0].NAME from status --json
	ip netns exec "$ns" "$XG" status -s "$state/sock" --json |
	    python3 -c "import json,sys; print(json.load(sys.stdin)['logs'][0]['$1'])"
}

: > "$logs/ej.log"
dlog="$T/daemon.log"
ip netns exec "$ns" "$XG" run --foreground -c "$T/xg.conf" 2>"$dlog" &
pid=$!
# A stopped daemon would not hear the cleanup's TERM.
trap 'kill -CONT $pid 2>/dev/null; ns_private_cleanup' EXIT
wait_for_line "ready" "$dlog"

# The writer: LINES lines at RATE lines/s, each a failed login with its
# own connection and a sequence number in the user name; a rename
# rotation every LINES / (ROTATIONS + 1) lines; the daemon stopped (as a
# stalled loop) before rotations 5 and 13 and let go after 7 and 15.
cat > "$T/writer.py" <<'PY'
import os, signal, sys, time
path, total, rate, rotations, pid = sys.argv[1], int(sys.argv[2]), \
    int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
every = total // (rotations + 1)
stop_at, cont_at = {5, 13}, {7, 15}
n = 0
def line():
    global n
    n += 1
    return ('%s [warning] <0.%d.0> Failed c2s PLAIN authentication for '
        'u%d@example.org from 198.51.100.%d: Invalid password\n' % (
        time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime()) + '.000', n, n,
        n % 5 + 1)).encode()
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
start, rot, written = time.monotonic(), 0, 0
while written < total:
    batch = min(100, total - written)
    if rot < rotations and written + batch > (rot + 1) * every:
        batch = (rot + 1) * every - written
    os.write(fd, b''.join(line() for _ in range(batch)))
    written += batch
    if rot < rotations and written == (rot + 1) * every:
        rot += 1
        if rot in stop_at:
            os.kill(pid, signal.SIGSTOP)
        for g in range(rot, 0, -1):	# logrotate: .N -> .N+1, oldest first
            if os.path.exists('%s.%d' % (path, g)):
                os.rename('%s.%d' % (path, g), '%s.%d' % (path, g + 1))
        os.rename(path, path + '.1')
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))   # create
        # The server writes on to its old file until it reopens.
        late = min(50, total - written)
        for k in range(late):
            os.write(fd, line())
            if k == late // 2:
                time.sleep(0.02)
        written += late
        os.close(fd)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        if rot in cont_at:
            os.kill(pid, signal.SIGCONT)
    ahead = written / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
os.close(fd)
print(written, '%.1f' % (time.monotonic() - start))
PY
set -- $(timeout 120 python3 "$T/writer.py" "$logs/ej.log" "$LINES" "$RATE" \
    "$ROTATIONS" "$pid") || fail "the writer failed"
kill -CONT "$pid"
[ "${1:-0}" = "$LINES" ] || fail "the writer wrote ${1:-0} lines"
echo "wrote $1 lines in $2 s, $ROTATIONS rotations"
# A generous deadline: on a loaded machine a daemon that was stopped
# across rotations may need a while to walk the generations (each one
# left by a writer that did not close it waits out its 2 s grace).
poll_until -i 0.5 120 out_eq "$LINES" field lines
got=$(field lines)
echo "daemon read $got lines of $LINES (lost $((LINES - got)))"
[ "$got" = "$LINES" ] || fail "the daemon read $got lines of $LINES"
[ "$(field rotations)" = "$ROTATIONS" ] ||
    fail "$(field rotations) rotations followed, $ROTATIONS made"
all=""
for g in $(seq $((ROTATIONS + 1)) -1 1); do
	[ -f "$logs/ej.log.$g" ] && all="$all $logs/ej.log.$g"
done
cat $all "$logs/ej.log" > "$T/all.log"
want=$("$XG" test-filter "$T/f.conf" "$T/all.log" --json |
    python3 -c "import json,sys; print(json.load(sys.stdin)['events'])")
[ "$want" = "$LINES" ] || fail "test-filter found $want events in $LINES lines"
wait_until "$XG_WAIT" "events differ from test-filter's $want" \
    out_eq "$want" field events
[ "$(field lost_truncated)$(field lost_compressed)" = 00 ] ||
    fail "bytes reported lost in rename rotations"

# copytruncate with the race forced.  Kept up with first.
lines=$(field lines)
python3 - "$logs/ej.log" <<'PY'
import sys
with open(sys.argv[1], 'a') as f:
    for i in range(10):
        f.write('2026-12-07 10:00:00.000 [warning] <1.%d.0> Failed c2s '
            'PLAIN authentication for ct%d@example.org from 198.51.100.9: '
            'Invalid password\n' % (i, i))
PY
wait_until "$XG_WAIT" "the daemon did not read the lines before the copy" \
    out_eq $((lines + 10)) field lines
kill -STOP "$pid"
unread=$(stat -c %s "$logs/ej.log")
printf 'unread line %d, copied but not read\n' 1 2 3 >> "$logs/ej.log"
unread=$(($(stat -c %s "$logs/ej.log") - unread))
cp "$logs/ej.log" "$logs/ej.log-20261207"
printf 'written between the copy and the truncation\n' >> "$logs/ej.log"
: > "$logs/ej.log"
printf 'after\n' >> "$logs/ej.log"
kill -CONT "$pid"
wait_until "$XG_WAIT" "the truncation was not seen" \
    out_eq 1 field truncations
wait_until "$XG_WAIT" "the line after the truncation was not read" \
    out_eq $((lines + 11)) field lines
[ "$(field lost_truncated)" = "$unread" ] ||
    fail "$(field lost_truncated) bytes reported lost, $unread known lost"
expect_grep "truncated in place (copytruncate) before $unread bytes were read: lost" \
    "$dlog"
kill -TERM "$pid"
wait_pid_gone "$pid" || fail "daemon ignored SIGTERM"
exit 0
