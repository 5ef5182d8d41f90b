#!/bin/bash
# Reproduce the ejabberd fixtures: Debian 12's ejabberd 23.01, run by hand
# in a network namespace of its own, driven by drive.py (python3-slixmpp).
# Run as root on Debian 12 with the packages ejabberd, python3-slixmpp and
# openssl installed; the system ejabberd service may stay stopped (it is not
# touched).  Everything lives under /tmp/xgcap-ejabberd/ and in the
# namespace xgcap-ejabberd, both removed on exit.
#
#   sh capture.sh        writes ejabberd-23.01.log and
#                        ejabberd-23.01-hidden.log next to this script
#
# Two runs of the same server and spool: the first with the default
# logging, the second with hide_sensitive_log_data: true.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NS=xgcap-ejabberd
D=/tmp/xgcap-ejabberd
NODE=ejabberd@localhost
[ "$(id -u)" -eq 0 ] || { echo "capture.sh: run as root" >&2; exit 1; }

cleanup() {
	# Every process in the namespace is ours (beam, epmd, heart...).
	if ip netns list | grep -qw "$NS"; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do
			kill "$p" 2>/dev/null || true
		done
		sleep 1
		for p in $(ip netns pids "$NS" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null || true
		done
		ip netns delete "$NS"
	fi
}
trap cleanup EXIT INT TERM

cleanup
rm -rf "$D"
mkdir -p "$D/etc" "$D/spool" "$D/log" "$D/home"

ip netns add "$NS"
ip -n "$NS" link set lo up
# The server's addresses and the clients' ones, all on the namespace's lo.
for a in 192.0.2.1/32 198.51.100.10/32 198.51.100.11/32 198.51.100.12/32 \
    198.51.100.13/32 203.0.113.5/32 203.0.113.6/32 203.0.113.7/32 \
    203.0.113.8/32; do
	ip -n "$NS" addr add "$a" dev lo
done
for a in 2001:db8::1/128 2001:db8:1::10/128 2001:db8:1::11/128 \
    2001:db8:1::66/128; do
	ip -n "$NS" addr add "$a" dev lo nodad
done

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=example.org \
    -addext subjectAltName=DNS:example.org -keyout "$D/etc/key.pem" \
    -out "$D/etc/cert.pem" 2>/dev/null
cat "$D/etc/key.pem" "$D/etc/cert.pem" >"$D/etc/ejabberd.pem"
cp /etc/ejabberd/inetrc "$D/etc/inetrc"

# ejabberdctl settings: a private cookie (so nothing is written to the
# ejabberd user's home), the node name, where to write the beam's pid.
cat >"$D/etc/ejabberdctl.cfg" <<EOC
ERLANG_NODE=$NODE
ERL_OPTIONS="-setcookie xgcap-ejabberd -env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_PID_PATH=$D/ejabberd.pid
ERL_EPMD_ADDRESS=127.0.0.1
EOC

write_config() {	# $1: hide_sensitive_log_data value
	cat >"$D/etc/ejabberd.yml" <<EOC
loglevel: info
log_rotate_count: 0
hide_sensitive_log_data: $1
hosts:
  - example.org
certfiles:
  - "$D/etc/ejabberd.pem"
auth_method: internal
auth_password_format: scram
listen:
  # Dual-stack: IPv4 clients appear as ::ffff:a.b.c.d, as in most
  # deployments (the Debian default listens on "::").
  -
    port: 5222
    ip: "::"
    module: ejabberd_c2s
    max_stanza_size: 4096
    shaper: c2s_shaper
    access: c2s
    starttls: true
  # Single-stack listeners: plain a.b.c.d and IPv6 addresses.
  -
    port: 5322
    ip: "192.0.2.1"
    module: ejabberd_c2s
    max_stanza_size: 4096
    shaper: c2s_shaper
    access: c2s
    starttls: true
  -
    port: 5322
    ip: "2001:db8::1"
    module: ejabberd_c2s
    max_stanza_size: 4096
    shaper: c2s_shaper
    access: c2s
    starttls: true
  -
    port: 5269
    ip: "::"
    module: ejabberd_s2s_in
    max_stanza_size: 65536
s2s_use_starttls: optional
registration_timeout: 60
acl:
  admin:
    user:
      - "admin@example.org"
  blocked:
    user:
      - "mallory@example.org"
  regnet:
    ip:
      - 198.51.100.0/24
      - 2001:db8:1::/64
access_rules:
  c2s:
    deny: blocked
    allow: all
  register:
    allow: all
  trusted_network:
    allow: regnet
shaper:
  normal:
    rate: 1000
    burst_size: 2000
shaper_rules:
  max_user_sessions: 2
  c2s_shaper: normal
modules:
  mod_disco: {}
  mod_roster: {}
  mod_ping: {}
  mod_s2s_dialback: {}
  mod_fail2ban:
    c2s_auth_ban_lifetime: 10m
    c2s_max_auth_failures: 6
  mod_register:
    access: register
    ip_access: trusted_network
    password_strength: 0
EOC
}

chown -R ejabberd:ejabberd "$D"
chmod 600 "$D/etc/ejabberd.pem" "$D/etc/key.pem"

ctl() {		# ejabberdctl as the ejabberd user, inside the namespace
	ip netns exec "$NS" setpriv --reuid ejabberd --regid ejabberd \
	    --init-groups env HOME="$D/home" \
	    /usr/sbin/ejabberdctl --config-dir "$D/etc" \
	    --ctl-config "$D/etc/ejabberdctl.cfg" \
	    --config "$D/etc/ejabberd.yml" --spool "$D/spool" --logs "$D/log" \
	    "$@"
}

start() {
	rm -f "$D/ejabberd.pid"
	ctl foreground >"$D/foreground.out" 2>&1 &
	ctl started || { echo "capture.sh: ejabberd did not start" >&2;
	    cat "$D/foreground.out" >&2; exit 1; }
}

stop() {		# by the pid the beam wrote, after a clean shutdown
	local pid i
	pid=$(cat "$D/ejabberd.pid")
	ctl stop >/dev/null || true
	for i in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	kill "$pid" 2>/dev/null || true
	wait || true
}

drive() {		# $1: scenario
	ip netns exec "$NS" timeout 300 /usr/bin/python3 "$HERE/drive.py" "$1"
}

# Run 1: default logging.
write_config false
start
for u in alice:wonderland bob:builder carol:secret dave:hunter2 \
    mallory:m4llory; do
	ctl register "${u%%:*}" example.org "${u#*:}" >/dev/null
done
drive main
stop
cp "$D/log/ejabberd.log" "$HERE/ejabberd-23.01.log"

# Run 2: hide_sensitive_log_data: true, addresses replaced in the log.
: >"$D/log/ejabberd.log"
write_config true
start
drive hidden
stop
cp "$D/log/ejabberd.log" "$HERE/ejabberd-23.01-hidden.log"
echo "capture.sh: done"
