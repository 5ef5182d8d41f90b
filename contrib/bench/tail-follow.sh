#!/bin/bash
# Following a log that grows: the xmppguard daemon and fail2ban-server on
# the same file, the same lines, appended as fast as cat writes them.
#
#   contrib/bench/tail-follow.sh [-n LINES]      XG=./xmppguard by default
#
# For each tool, in a temporary directory: an empty log is followed; the
# daemon is started and waited for; LINES lines of ejabberd 20.x+ log
# (gen-ejabberd-log.py, about 5% failed logins) are appended with one cat;
# the clock runs until the tool reports having read every line (xmppguard:
# `status --json`, lines of the log; fail2ban: `fail2ban-client status`,
# "Total failed" equal to the failure lines, since it reports no line
# count).  xmppguard runs its whole ejabberd filter and writes the store
# (every event but the connection lines, which conntrack records better);
# fail2ban-server runs one failregex, its polling backend (Debian's
# fail2ban has no pyinotify unless python3-pyinotify is installed; the
# poll is once a second, which costs it at most a second here) and no
# action.  Needs python3, and fail2ban (else Debian's package is unpacked
# into the temporary directory: contrib/bench/fail2ban-env.sh); no network
# namespaces.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
XG=${XG:-./xmppguard}
N=1000000
[ "${1:-}" = "-n" ] && N=$2
T=$(mktemp -d /tmp/xg-tail.XXXXXX)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

. contrib/bench/fail2ban-env.sh
fail2ban_env "$T" || exit 1
python3 contrib/bench/gen-ejabberd-log.py "$N" "$T/gen.log"
fails=$(grep -c 'Failed c2s' "$T/gen.log")
now() { date +%s.%N; }

# xmppguard
mkdir -p "$T/xg"
: > "$T/xg/follow.log"
cat > "$T/xg/xg.conf" <<CONF
[global]
state_dir = $T/xg
control_socket = $T/xg/sock
firewall = none
[conntrack]
enabled = no
[log ej]
path = $T/xg/follow.log
filter = $TOP/filters/ejabberd.conf
CONF
"$XG" run -c "$T/xg/xg.conf" --foreground 2> "$T/xg/daemon.log" &
pids="$pids $!"
for i in $(seq 100); do grep -q ready "$T/xg/daemon.log" && break; sleep 0.05; done
s=$(now)
cat "$T/gen.log" >> "$T/xg/follow.log"
a=$(now)
while :; do
	l=$("$XG" status -s "$T/xg/sock" --json | python3 -c \
	    'import json,sys; print(json.load(sys.stdin)["logs"][0]["lines"])')
	[ "$l" -ge "$N" ] && break
	sleep 0.02
done
e=$(now)
xg_secs=$(python3 -c "print(f'{$e - $s:.3f}')")
xg_append=$(python3 -c "print(f'{$a - $s:.3f}')")

# fail2ban-server
F=$T/f2b
mkdir -p "$F/conf/filter.d" "$F/conf/action.d" "$F/conf/jail.d"
: > "$F/follow.log"
cat > "$F/conf/fail2ban.conf" <<CONF
[Definition]
loglevel = NOTICE
logtarget = $F/server.log
socket = $F/sock
pidfile = $F/pid
dbfile = :memory:
CONF
cat > "$F/conf/jail.conf" <<CONF
[DEFAULT]
backend = polling
[xg]
enabled = true
filter = xg
logpath = $F/follow.log
maxretry = 1000000000
findtime = 315360000
bantime = 600
action =
CONF
cat > "$F/conf/filter.d/xg.conf" <<'CONF'
[Definition]
failregex = ^ \[warning\] <0\.\d+\.0>@ejabberd_c2s:\S+ \([^)]*\) Failed c2s \S+ authentication (?:for \S+ )?from <HOST>: 
CONF
fail2ban-server -c "$F/conf" -s "$F/sock" -p "$F/pid" -x -b \
    --logtarget "$F/server.log" > "$F/start.log" 2>&1
for i in $(seq 200); do
	fail2ban-client -c "$F/conf" -s "$F/sock" status xg >/dev/null 2>&1 &&
	    break
	sleep 0.05
done
pids="$pids $(cat "$F/pid" 2>/dev/null)"
s=$(now)
cat "$T/gen.log" >> "$F/follow.log"
while :; do
	got=$(fail2ban-client -c "$F/conf" -s "$F/sock" status xg 2>/dev/null |
	    sed -n 's/.*Total failed:[[:space:]]*//p')
	[ "${got:-0}" -ge "$fails" ] && break
	sleep 0.2
done
e=$(now)
f2b_secs=$(python3 -c "print(f'{$e - $s:.3f}')")
fail2ban-client -c "$F/conf" -s "$F/sock" stop >/dev/null 2>&1

echo "lines=$N failure_lines=$fails append_seconds=$xg_append"
echo "| follower | seconds to read every line | lines/s |"
echo "|---|---:|---:|"
python3 - "$N" "$xg_secs" "$f2b_secs" <<'PY'
import sys
n, x, f = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"| xmppguard run (whole ejabberd filter, store) | {x:.3f} | {n / x:,.0f} |")
print(f"| fail2ban-server (one failregex, polling) | {f:.3f} | {n / f:,.0f} |")
print(f"ratio: {f / x:.1f}x")
PY
