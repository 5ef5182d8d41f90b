#!/bin/sh
# Reproduce the jabberd2 fixtures from scratch on Debian 12 (root), with the
# packaged jabberd2 2.7.0 and python3-slixmpp.  Not run by CI.
#
# Creates the network namespace xgcap-jabberd2 (documentation addresses on
# its lo), writes temporary configs under /tmp/xgcap-jabberd2 (mkconf.py,
# from the Debian ones in /etc/jabberd2), runs router, sm and c2s by hand
# inside it, drives c2s three times (drive.py v4, v6, syslog), stops every
# process by PID, deletes the namespace and copies the c2s logs here.
# The system jabberd2 service is neither used nor touched.
set -eu

NS=xgcap-jabberd2
D=/tmp/xgcap-jabberd2
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	sleep 1
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# wait_for FILE TEXT: up to 15 s for TEXT to appear in FILE.
wait_for() {
	i=0
	while [ $i -lt 30 ]; do
		if grep -q "$2" "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	echo "capture: timed out waiting for '$2' in $1" >&2
	exit 1
}

# stop PID: SIGTERM, then wait up to 10 s for it to go.
stop() {
	kill "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 20 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	PIDS=$(echo $PIDS | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

ip netns del "$NS" 2>/dev/null || true
rm -rf "$D"
mkdir -p "$D"
zcat /usr/share/doc/jabberd2/db-setup.sqlite.gz | sqlite3 "$D/sqlite.db" >/dev/null
# A throwaway self-signed certificate, so that one client can STARTTLS.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=example.org \
    -keyout "$D/key.pem" -out "$D/cert.pem" 2>/dev/null
cat "$D/cert.pem" "$D/key.pem" > "$D/server.pem"

ip netns add "$NS"
ip -n "$NS" link set lo up
for a in 192.0.2.1 198.51.100.10 198.51.100.11 198.51.100.12 \
    203.0.113.20 203.0.113.21 203.0.113.22; do
	ip -n "$NS" addr add "$a/32" dev lo
done
for a in 2001:db8::1 2001:db8:1::10 2001:db8:1::11; do
	ip -n "$NS" addr add "$a/128" dev lo nodad
done

cd "$D"
$PY "$HERE/mkconf.py" "$D" 192.0.2.1 c2s-2.7.0.log
ip netns exec "$NS" /usr/sbin/jabberd2-router -c "$D/router.xml" &
PIDS="$PIDS $!"
wait_for "$D/router.log" "listening for incoming connections"
ip netns exec "$NS" /usr/sbin/jabberd2-sm -c "$D/sm.xml" &
PIDS="$PIDS $!"
wait_for "$D/sm.log" "sm ready for sessions"

# Phase 1: c2s on 192.0.2.1, log file c2s-2.7.0.log.
ip netns exec "$NS" /usr/sbin/jabberd2-c2s -c "$D/c2s.xml" &
C2S=$!
PIDS="$PIDS $C2S"
wait_for "$D/c2s-2.7.0.log" "ready for connections"
ip netns exec "$NS" $PY "$HERE/drive.py" v4 | tee "$D/drive-v4.out"
stop "$C2S"

# Phase 2: c2s on "::" (dual stack), log file c2s-2.7.0-dualstack.log.
$PY "$HERE/mkconf.py" "$D" :: c2s-2.7.0-dualstack.log
ip netns exec "$NS" /usr/sbin/jabberd2-c2s -c "$D/c2s.xml" &
C2S=$!
PIDS="$PIDS $C2S"
wait_for "$D/c2s-2.7.0-dualstack.log" "ready for connections"
ip netns exec "$NS" $PY "$HERE/drive.py" v6 | tee "$D/drive-v6.out"
stop "$C2S"

# Phase 3: c2s logging through syslog(3) (<log type='syslog'>, upstream's
# default; Debian's c2s.xml logs to a file).  No syslog daemon is run: c2s
# runs in a private mount namespace whose /dev/log is a socket served by
# syslogrecv.py, which writes each message as Debian 12's rsyslog and
# journalctl show it (see there).
$PY "$HERE/syslogrecv.py" "$D/devlog.sock" "$D/c2s-2.7.0-rsyslog.log" \
    "$D/c2s-2.7.0-journal.log" &
SYSLOGD=$!
PIDS="$PIDS $SYSLOGD"
sleep 1
$PY "$HERE/mkconf.py" "$D" 192.0.2.1 unused.log syslog
mkdir -p "$D/dev"
ip netns exec "$NS" unshare --mount --propagation private sh -c '
	set -e
	D=$1
	mount --rbind /dev "$D/dev"
	mount -t tmpfs -o size=64k xgcap-dev /dev
	for n in null zero random urandom; do
		touch "/dev/$n"
		mount --bind "$D/dev/$n" "/dev/$n"
	done
	ln -s "$D/devlog.sock" /dev/log
	exec /usr/sbin/jabberd2-c2s -c "$D/c2s.xml"' sh "$D" &
C2S=$!
PIDS="$PIDS $C2S"
wait_for "$D/c2s-2.7.0-journal.log" "ready for connections"
ip netns exec "$NS" $PY "$HERE/drive.py" syslog | tee "$D/drive-syslog.out"
stop "$C2S"
stop "$SYSLOGD"

# sm before router, so that sm does not try to reconnect.
for p in $(echo $PIDS | tr ' ' '\n' | tac); do
	stop "$p"
done
ip netns del "$NS"
trap - EXIT INT TERM

cp "$D/c2s-2.7.0.log" "$D/c2s-2.7.0-dualstack.log" \
    "$D/c2s-2.7.0-rsyslog.log" "$D/c2s-2.7.0-journal.log" "$HERE/"
echo "capture: logs copied to $HERE; sm.log and router.log stay in $D"
