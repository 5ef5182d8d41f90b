# Alerts into XMPP, end to end: a real Prosody (Debian's) on the loopback
# of a network namespace of our own, its config, data and certificates
# under $T (a CA of the test's, a certificate for example.org signed by
# it), with a multi-user chat service; the daemon (firewall none, no
# conntrack) with an [alert] of type xmpp that trusts that CA through
# ca_file.  A reader (tests/system/xmpproom.py, standard library) joins
# the room: a ban through the control socket must reach it as a
# groupchat message.  Then Prosody stops: the sink says it is waiting, a
# ban made meanwhile is queued, and once Prosody is back the sink logs in
# again on its own and that ban reaches the room too.  The password shows
# in no log and no status.  At the daemon's stop, its stop message
# reaches a reader still in the room.
. "$TOP/tests/system/lib.sh"
need_root
for c in prosody prosodyctl lua5.4 openssl python3; do
	command -v "$c" >/dev/null 2>&1 ||
	    { echo "skipped: no $c (contrib/deps.sh --test installs prosody)"; exit 77; }
done
"$XG" check-config --reference 2>/dev/null | grep -q 'tls_verify' ||
    { echo "skipped: xmppguard built without the xmpp sink (libstrophe)"; exit 77; }
ns_private ns

# -- A CA and a server certificate it signed. --
P="$T/prosody"
mkdir -p "$P/data" "$P/certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=xg test CA" \
    -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null || fail "CA"
openssl req -newkey rsa:2048 -nodes -subj /CN=example.org \
    -keyout "$P/certs/example.org.key" -out "$T/srv.csr" 2>/dev/null ||
    fail "csr"
printf 'subjectAltName=DNS:example.org,DNS:conference.example.org\n' \
    >"$T/san.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -days 2 -extfile "$T/san.ext" \
    -out "$P/certs/example.org.crt" 2>/dev/null || fail "certificate"

cat >"$P/prosody.cfg.lua" <<EOF
-- xmppguard system test 45: run by hand, everything under $P.
run_as_root = true
daemonize = false
pidfile = "$P/prosody.pid"
data_path = "$P/data"
certificates = "$P/certs"
admins = { }
modules_enabled = { "disco"; "roster"; "saslauth"; "tls"; "ping"; "posix"; }
authentication = "internal_hashed"
allow_registration = false
c2s_require_encryption = true
interfaces = { "127.0.0.1" }
c2s_ports = { 5222 }
s2s_ports = { }
c2s_direct_tls_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
ssl = {
	certificate = "$P/certs/example.org.crt";
	key = "$P/certs/example.org.key";
}
log = { info = "$P/prosody.log"; }
VirtualHost "example.org"
Component "conference.example.org" "muc"
	muc_room_locking = false
	max_history_messages = 50
EOF
for u in bot:BotSecretPw17 reader:reader-pw; do
	prosodyctl --config "$P/prosody.cfg.lua" register "${u%%:*}" \
	    example.org "${u#*:}" >"$T/register.out" 2>&1 ||
	    fail "prosodyctl register: $(cat "$T/register.out")"
done

prosody_up() {
	ip netns exec "$ns" /usr/bin/lua5.4 /usr/bin/prosody \
	    --config "$P/prosody.cfg.lua" >>"$T/prosody.out" 2>&1 &
	PROSODY=$!
	wait_until 30 "prosody listening on 5222" \
	    ip netns exec "$ns" python3 -c 'import socket
socket.create_connection(("127.0.0.1", 5222), 1)'
}
prosody_down() {
	kill -TERM "$PROSODY"
	wait_pid_gone "$PROSODY" || fail "prosody ignored SIGTERM"
	wait "$PROSODY" 2>/dev/null
}
reader() {	# reader TEXT: the room's reader must see TEXT
	ip netns exec "$ns" python3 "$TOP/tests/system/xmpproom.py" \
	    --server 127.0.0.1 --ca "$T/ca.crt" --jid reader@example.org \
	    --password reader-pw --room ops@conference.example.org \
	    --expect "$1" --timeout "$XG_WAIT"
}

cat >"$T/xg.conf" <<CONF
[global]
state_dir      = $T/state
control_socket = $T/ctl.sock
firewall       = none
secrets        = $T/secrets
[conntrack]
enabled        = no
[alert ops]
type           = xmpp
jid            = bot@example.org
server         = 127.0.0.1
ca_file        = $T/ca.crt
room           = ops@conference.example.org
nick           = guard
events         = all
digest         = 0
backoff        = 200ms
CONF
printf '[alert ops]\npassword = BotSecretPw17\n' >"$T/secrets"
chmod 600 "$T/secrets"
"$XG" check-config -c "$T/xg.conf" >"$T/check.out" 2>&1 ||
    fail "check-config: $(cat "$T/check.out")"

prosody_up
xg_run "$ns" "$T/xg.log" -c "$T/xg.conf"
XGPID=$XG_PID
wait_for_line 'alert ops: online as bot@example.org in ops@conference' \
    "$T/xg.log"

# -- A ban reaches the room. --
xgc ban 192.0.2.20 --for 10m --reason "seen guessing" >/dev/null ||
    fail "ban refused"
reader "banned 192.0.2.20/32 for 10m" >"$T/reader1.out" 2>&1 ||
    fail "no groupchat message for the ban: $(cat "$T/reader1.out")"
expect_grep 'got: xmppguard@.*banned 192.0.2.20/32 for 10m (seen guessing)' \
    "$T/reader1.out"
xgc status --json >"$T/status1.json" || fail "status"
python3 - "$T/status1.json" <<'EOF' || fail "status: $(cat "$T/status1.json")"
import json, sys
s = json.load(open(sys.argv[1]))["alerts"]["sinks"][0]
assert s["type"] == "xmpp" and s["state"] == "online", s
assert s["connected"] == 1 and s["sent"] >= 2, s
EOF

# -- Prosody goes away and comes back: the sink logs in again. --
prosody_down
wait_until 30 "the sink did not notice the server gone" \
    out_has '"state": *"waiting"' xgc status --json
xgc ban 192.0.2.21 --for 10m >/dev/null || fail "ban refused while down"
prosody_up
reader "banned 192.0.2.21/32" >"$T/reader2.out" 2>&1 ||
    fail "no message after the restart: $(cat "$T/reader2.out")"
wait_until 30 "online again" out_has '"state": *"online"' xgc status --json
xgc status --json >"$T/status2.json"

xgc status >"$T/status2.txt" || fail "status"
expect_grep '^alert ops .*xmpp:ops@conference.example.org, xmpp online' \
    "$T/status2.txt"

# -- The stop message reaches a reader in the room before the daemon
# exits (the room lives while someone is in it). --
reader "stopping after" >"$T/reader3.out" 2>&1 &
READER=$!
wait_for_line '^joined ' "$T/reader3.out"
xg_stop "$XGPID"
wait "$READER" || fail "no stop message: $(cat "$T/reader3.out")"

# -- The password stays secret. --
if grep -q BotSecretPw17 "$T/xg.log" "$T/status2.json" "$T/status2.txt"
then
	fail "the password in a log or the status"
fi
prosody_down
exit 0
