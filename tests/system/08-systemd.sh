# systemd and journald.  The unit as built passes `systemd-analyze verify`
# without a word.  The notify protocol against a fake NOTIFY_SOCKET (a
# datagram socket this test reads): READY=1 with a status line, WATCHDOG=1
# again and again at half of WATCHDOG_USEC, RELOADING=1 then READY=1 around
# `xmppguard reload` (and around a reload that fails), STOPPING=1 on
# SIGTERM and nothing after it.  With stderr the journal's stream
# (JOURNAL_STREAM naming its device and inode) each line starts with its
# syslog priority.  A configuration that does not load: exit 78.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns

# --- the unit ---------------------------------------------------------
# Built as make does, with @SBINDIR@ the tree (where $XG is: verify wants
# an executable there), and the manual page it names findable through
# MANPATH (verify runs man for Documentation=).
sbindir=$(cd "$(dirname "$XG")" && pwd)
subst() {
	sed -e "s|@SBINDIR@|$sbindir|g" -e "s|@DATADIR@|$TOP|g" \
	    -e "s|@SYSCONFDIR@|/etc|g" -e "s|@DOCDIR@|$TOP|g" \
	    -e "s|@VERSION@|test|g" "$1"
}
mkdir -p "$T/unit" "$T/man/man8"
subst "$TOP/contrib/xmppguard.service.in" >"$T/unit/xmppguard.service"
subst "$TOP/contrib/xmppguard.8.in" >"$T/man/man8/xmppguard.8"
if command -v systemd-analyze >/dev/null 2>&1; then
	(cd "$T/unit" && MANPATH="$T/man" SYSTEMD_LOG_LEVEL=notice \
	    systemd-analyze verify ./xmppguard.service) >"$T/verify" 2>&1 ||
	    { cat "$T/verify"; fail "systemd-analyze verify failed"; }
	[ -s "$T/verify" ] && { cat "$T/verify"; fail "systemd-analyze" \
	    "verify printed warnings"; }
	echo "systemd-analyze verify: clean"
else
	echo "no systemd-analyze: the unit is not verified"
fi
u="$T/unit/xmppguard.service"
expect_grep '^Type=notify$' "$u"
expect_grep '^NotifyAccess=main$' "$u"
expect_grep '^WatchdogSec=' "$u"
expect_grep '^RestartPreventExitStatus=78$' "$u"
expect_grep '^PartOf=nftables.service$' "$u"
expect_grep '^After=.*nftables.service' "$u"
expect_grep '^SyslogIdentifier=xmppguard$' "$u"
# PartOf alone: nftables.service is never pulled in nor required.
grep -E '^(Requires|Wants|BindsTo|Requisite)=.*nftables' "$u" &&
    fail "the unit must not require nftables.service"

# --- exit status 78 -----------------------------------------------------
state="$T/state"
printf '[global]\nstate_dir = %s\n[service c2s]\nmax_concurrent = oops\n' \
    "$state" >"$T/bad.conf"
for fg in --foreground ""; do
	ip netns exec "$ns" "$XG" run $fg -c "$T/bad.conf" 2>"$T/bad.log"
	rc=$?
	[ $rc -eq 78 ] || fail "run $fg on a bad file: exit $rc, not 78"
	expect_grep "$T/bad.conf:4: .*max_concurrent" "$T/bad.log"
done
# A filter that does not exist is the configuration's too.
printf '[global]\nstate_dir = %s\n[log x]\nfilter = nosuch\npath = %s\n' \
    "$state" "$T/x.log" >"$T/nofilter.conf"
ip netns exec "$ns" "$XG" run --foreground -c "$T/nofilter.conf" \
    2>"$T/nofilter.log"
rc=$?
[ $rc -eq 78 ] || { cat "$T/nofilter.log"; fail "run with a missing" \
    "filter: exit $rc, not 78"; }
expect_grep 'nosuch' "$T/nofilter.log"
# Anything else at start-up (a store that is not one) stays 1: restarted.
mkdir -p "$T/corrupt"
head -c 8192 /dev/urandom >"$T/corrupt/xmppguard.db"
ip netns exec "$ns" "$XG" run --foreground --state-dir "$T/corrupt" \
    2>"$T/corrupt.log"
rc=$?
[ $rc -eq 1 ] || fail "run on a corrupt store: exit $rc, not 1"
[ -d "$state" ] && fail "a refused configuration created $state"

# --- the notify protocol ----------------------------------------------
# The fake manager: each datagram one line of $T/notify.log ("|" for its
# newlines), bounded to 5 minutes; fake_manager SOCKET LOG starts one in
# the namespace (and so ended with it), its pid in $npid.
cat >"$T/notifyd.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
# "@name": an abstract socket (of the network namespace), as sd_notify has
s.bind("\0" + sys.argv[1][1:] if sys.argv[1][0] == "@" else sys.argv[1])
s.settimeout(0.5)
end = time.monotonic() + 300
with open(sys.argv[2], "a", buffering=1) as f:
    while time.monotonic() < end:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        f.write(d.decode("utf-8", "replace").replace("\n", "|") + "\n")
PY
fake_manager() {
	: >"$2"
	ip netns exec "$ns" python3 "$T/notifyd.py" "$1" "$2" &
	npid=$!
}
fake_manager "$T/notify" "$T/notify.log"
poll_until "$XG_WAIT" test -S "$T/notify" || fail "fake manager did not start"

cat >"$T/xg.conf" <<CONF
[global]
state_dir = $state
CONF
# stderr: a file that JOURNAL_STREAM names, as systemd's stream would be.
: >"$T/log"
js=$(stat -c '%d:%i' "$T/log")
# WATCHDOG_PID must be the daemon's own: the shell's, which execs it.
ip netns exec "$ns" env NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=400000 \
    JOURNAL_STREAM="$js" sh -c 'export WATCHDOG_PID=$$; exec "$0" run \
    --foreground -c "$1" -s "$2"' "$XG" "$T/xg.conf" "$T/sock" \
    2>>"$T/log" &
pid=$!

# nth_line PATTERN: the line number of the first datagram matching.
nth_line() {
	grep -n -e "$1" "$T/notify.log" | head -n 1 | cut -d: -f1
}
wait_for_line '^READY=1' "$T/notify.log"
expect_grep '^READY=1|STATUS=defending: [0-9]* services\?, [0-9]* logs\?, 0 bans, [0-9]* tracked$' \
    "$T/notify.log"
# Keep-alives every 200 ms: three within a few seconds, after READY=1.
wait_until "$XG_WAIT" "three WATCHDOG=1" out_ge 3 grep -c '^WATCHDOG=1$' \
    "$T/notify.log"
expect_grep 'watchdog: a keep-alive every 200 ms' "$T/log"

# A reload that works: RELOADING=1 (when it began), then READY=1.
n=$(wc -l <"$T/notify.log")
"$XG" reload -s "$T/sock" >"$T/reload.out" 2>&1 ||
    fail "reload refused: $(cat "$T/reload.out")"
wait_until "$XG_WAIT" "READY=1 after the reload" out_ge 1 sh -c \
    "tail -n +$((n + 1)) '$T/notify.log' | grep -c '^READY=1'"
tail -n +$((n + 1)) "$T/notify.log" | grep -v '^WATCHDOG=1$' >"$T/reload1"
head -n 1 "$T/reload1" | grep -q '^RELOADING=1|MONOTONIC_USEC=[0-9]*|' ||
    { cat "$T/reload1"; fail "reload did not begin with RELOADING=1"; }
sed -n 2p "$T/reload1" | grep -q '^READY=1|STATUS=defending' ||
    { cat "$T/reload1"; fail "reload did not end with READY=1"; }

# A reload that fails (SIGHUP, a broken file): framed the same, and its
# warning reaches the journal as a warning.
printf '[service c2s]\nmax_concurrent = oops\n' >>"$T/xg.conf"
n=$(wc -l <"$T/notify.log")
kill -HUP "$pid"
wait_until "$XG_WAIT" "READY=1 after the failed reload" out_ge 1 sh -c \
    "tail -n +$((n + 1)) '$T/notify.log' | grep -c '^READY=1'"
tail -n +$((n + 1)) "$T/notify.log" | grep -v '^WATCHDOG=1$' >"$T/reload2"
head -n 1 "$T/reload2" | grep -q '^RELOADING=1' ||
    { cat "$T/reload2"; fail "failed reload without RELOADING=1"; }
wait_for_line '^<4>warning: reload: ' "$T/log"

# SIGTERM: STOPPING=1, then silence (no keep-alive after it), exit 0.
kill -TERM "$pid"
wait_pid_gone "$pid" || { kill -KILL "$pid"; fail "ignored SIGTERM"; }
wait "$pid"
rc=$?
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
wait_for_line '^STOPPING=1' "$T/notify.log"
s=$(nth_line '^STOPPING=1')
[ "$(wc -l <"$T/notify.log")" -eq "$s" ] ||
    { cat "$T/notify.log"; fail "datagrams after STOPPING=1"; }
# In order: READY=1, keep-alives, RELOADING=1, STOPPING=1.
r=$(nth_line '^READY=1') w=$(nth_line '^WATCHDOG=1') l=$(nth_line '^RELOADING=1')
[ "$r" -lt "$w" ] && [ "$w" -lt "$l" ] && [ "$l" -lt "$s" ] ||
    { cat "$T/notify.log"; fail "datagrams out of order"; }
echo "datagrams: $(wc -l <"$T/notify.log"), of which" \
    "$(grep -c '^WATCHDOG=1$' "$T/notify.log") keep-alives"

# The journal's priorities: every line carries one, none the terminal's
# "xmppguard: " (the unit's SyslogIdentifier names us).
expect_grep '^<6>ready: ' "$T/log"
expect_grep '^<6>Terminated received, stopping' "$T/log"
grep -v '^<[3467]>' "$T/log" && fail "a line without its priority"

# --- dry run; stderr not the journal ----------------------------------
# JOURNAL_STREAM naming another file (a shell redirected stderr): the
# terminal's lines.  No WATCHDOG_USEC: no keep-alive.
sed -i '$d' "$T/xg.conf"
sed -i '$d' "$T/xg.conf"
: >"$T/notify.log"
ip netns exec "$ns" env NOTIFY_SOCKET="$T/notify" JOURNAL_STREAM="$js" \
    "$XG" run --foreground --dry-run -c "$T/xg.conf" -s "$T/sock" \
    2>"$T/log2" &
pid=$!
wait_for_line '^READY=1|STATUS=dry run: .* would-be bans' "$T/notify.log"
expect_grep '^xmppguard: ready: ' "$T/log2"
kill -TERM "$pid"
wait_pid_gone "$pid" || { kill -KILL "$pid"; fail "ignored SIGTERM"; }
wait_for_line '^STOPPING=1' "$T/notify.log"
grep -q '^WATCHDOG=1' "$T/notify.log" && fail "keep-alive without" \
    "WATCHDOG_USEC"
grep '^<[0-9]>' "$T/log2" && fail "priorities on a stream not the journal's"

kill "$npid" 2>/dev/null
wait "$npid" 2>/dev/null

# --- after the drop to [global] user ----------------------------------
# The keep-alives go on once the daemon is nobody (systemd's own socket is
# open to all; here an abstract one, which has no permissions).
if getent passwd nobody >/dev/null; then
	chmod 755 "$T"
	printf '[global]\nstate_dir = %s\nuser = nobody\n' "$T/state2" \
	    >"$T/priv.conf"
	chmod 644 "$T/priv.conf"
	fake_manager "@xg-notify-$$" "$T/notify2.log"
	poll_until "$XG_WAIT" ip netns exec "$ns" grep -q "@xg-notify-$$\$" \
	    /proc/net/unix || fail "fake manager did not start"
	ip netns exec "$ns" env NOTIFY_SOCKET="@xg-notify-$$" \
	    WATCHDOG_USEC=400000 sh -c 'export WATCHDOG_PID=$$; exec "$0" \
	    run --foreground -c "$1" -s "$2"' "$XG" "$T/priv.conf" \
	    "$T/state2/ctl.sock" 2>"$T/log3" &
	pid=$!
	wait_for_line '^READY=1' "$T/notify2.log"
	expect_grep 'privileges: running as nobody' "$T/log3"
	wait_until "$XG_WAIT" "three WATCHDOG=1 as nobody" out_ge 3 \
	    grep -c '^WATCHDOG=1$' "$T/notify2.log"
	kill -TERM "$pid"
	wait_pid_gone "$pid" || { kill -KILL "$pid"; fail "ignored SIGTERM"; }
	wait_for_line '^STOPPING=1' "$T/notify2.log"
	kill "$npid" 2>/dev/null
	wait "$npid" 2>/dev/null
else
	echo "no user nobody: not tried after a privilege drop"
fi
exit 0
