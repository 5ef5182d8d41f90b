#!/bin/sh
# Reproduce the Prosody fixtures from scratch on Debian 12, as root:
#   sh tests/filters/prosody/capture.sh
# Needs the Debian packages prosody (0.12), prosody-modules (mod_log_auth),
# python3-slixmpp and openssl.  Runs Prosody by hand in its own network
# namespace with a temporary config under /tmp/xgcap-prosody/, drives it with
# drive.py, stops it by PID, deletes the namespace and copies the logs here.
# The system's prosody service is not touched.
#
# Two runs:
#   1. network_backend "epoll" (the 0.12 default): info.log + debug.log
#   2. network_backend "select": only to show mod_limits' "Session over rate
#      limit" line, which the epoll backend never writes (it throttles in the
#      socket layer, silently): info-select.log + debug-select.log

set -eu

NS=xgcap-prosody
D=/tmp/xgcap-prosody
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
PID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" || true
		sleep 1
		kill -0 "$PID" 2>/dev/null && kill -9 "$PID" || true
	fi
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "capture.sh: run as root" >&2; exit 1; }

rm -rf "$D"
mkdir -p "$D/certs"

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 192.0.2.1/32 dev lo
ip -n "$NS" addr add 2001:db8::1/128 dev lo nodad
for i in $(seq 10 40); do
	ip -n "$NS" addr add "198.51.100.$i/32" dev lo
	ip -n "$NS" addr add "203.0.113.$i/32" dev lo
	ip -n "$NS" addr add "2001:db8:1::$i/128" dev lo nodad
done

openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -keyout "$D/certs/example.org.key" -out "$D/certs/example.org.crt" \
    -subj /CN=example.org -addext subjectAltName=DNS:example.org \
    2>/dev/null

# write_config BACKEND RUN RATE: a config modelled on Debian's
# /etc/prosody/prosody.cfg.lua, with the addresses, paths and limits of
# this capture.
write_config() {
	cat > "$D/prosody-$2.cfg.lua" <<EOF
-- xmppguard fixture capture ($2)
run_as_root = true
daemonize = false
pidfile = "$D/prosody-$2.pid"
data_path = "$D/data-$2"
network_backend = "$1"
admins = { }
modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls"; "dialback"; "limits";
	"private"; "ping"; "register"; "time"; "uptime"; "version";
	"posix"; "log_auth";
}
log_auth_ips = "all"
authentication = "internal_hashed"
allow_registration = true
-- mod_register_limits: a third registration within the period from one
-- address is refused; one address is blocklisted outright.
registration_throttle_max = 2
registration_throttle_period = 120
registration_blocklist = { "203.0.113.13" }
c2s_stanza_size_limit = 16384
limits = {
	c2s = { rate = "$3"; burst = "1s" };
	s2sin = { rate = "$3"; burst = "1s" };
}
interfaces = { "192.0.2.1", "2001:db8::1" }
c2s_ports = { 5222 }
s2s_ports = { 5269 }
c2s_direct_tls_ports = { 5223 }
ssl = {
	certificate = "$D/certs/example.org.crt";
	key = "$D/certs/example.org.key";
}
s2s_secure_auth = false
log = {
	info = "$D/info-$2.log";
	debug = "$D/debug-$2.log";
}
VirtualHost "example.org"
	ssl = {
		certificate = "$D/certs/example.org.crt";
		key = "$D/certs/example.org.key";
	}
EOF
}

# run BACKEND RUN SCENARIO RATE
run() {
	write_config "$1" "$2" "$4"
	mkdir -p "$D/data-$2"
	ip netns exec "$NS" lua5.4 /usr/bin/prosody \
	    --config "$D/prosody-$2.cfg.lua" >"$D/stdout-$2.txt" 2>&1 &
	PID=$!
	n=0
	until ip netns exec "$NS" ss -ltn | grep -q '192.0.2.1:5222'; do
		n=$((n + 1))
		if [ $n -gt 50 ] || ! kill -0 "$PID" 2>/dev/null; then
			echo "capture.sh: prosody did not start" >&2
			cat "$D/stdout-$2.txt" >&2
			exit 1
		fi
		sleep 0.2
	done
	timeout 600 ip netns exec "$NS" "$PY" "$HERE/drive.py" "$3" \
	    >"$D/manifest-$2.txt"
	kill "$PID"
	n=0
	while kill -0 "$PID" 2>/dev/null && [ $n -lt 50 ]; do
		n=$((n + 1))
		sleep 0.2
	done
	PID=
}

# Debian's default c2s rate (10kb/s) for the main run; 1kb/s for the select
# run, so that twelve 900-byte messages sent at once go over it.
run epoll epoll main 10kb/s
run select select ratelimit 1kb/s

cp "$D/info-epoll.log" "$HERE/info.log"
cp "$D/debug-epoll.log" "$HERE/debug.log"
cp "$D/info-select.log" "$HERE/info-select.log"
cp "$D/debug-select.log" "$HERE/debug-select.log"
cat "$D/manifest-epoll.txt" "$D/manifest-select.txt"
echo "capture.sh: logs copied to $HERE"
