# Real XMPP servers from Debian, run by hand for the end-to-end tests and
# for `make demo` (bash; sourced).  Nothing here touches the host's
# /etc/prosody, /var/lib/ejabberd, its services or its ports: every file is
# under the directory given, the server listens on a documentation address
# inside a network namespace of the caller's, and the caller starts and
# stops it by PID.
#
#   e2e_cert DIR                  self-signed certificate for example.org:
#                                 DIR/example.org.crt, DIR/example.org.key
#   e2e_prosody_conf DIR LOG ADDR Prosody config DIR/prosody.cfg.lua: c2s on
#                                 ADDR port 5222 (STARTTLS), mod_log_auth
#                                 (prosody-modules) logging every failed
#                                 login with its address to LOG
#   e2e_prosody_cmd DIR           prints the command that runs it in the
#                                 foreground (its PID is the server's)
#   e2e_prosody_register DIR USER PASS
#   e2e_ejabberd_conf DIR ADDR NODE
#                                 ejabberd config under DIR/etc, spool
#                                 DIR/spool, log DIR/log/ejabberd.log, c2s on
#                                 ADDR port 5222, the Erlang node NODE with a
#                                 cookie of its own, epmd on the namespace's
#                                 127.0.0.1; DIR made readable by ejabberd
#   e2e_ejabberd_ctl NS DIR ARGS  ejabberdctl for that server, as the
#                                 ejabberd user, inside network namespace NS,
#                                 killed after 2 minutes
#   e2e_wait_port NS ADDR PORT SECONDS
#                                 0 once something listens there

e2e_cert() {
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 7 \
	    -keyout "$1/example.org.key" -out "$1/example.org.crt" \
	    -subj /CN=example.org -addext subjectAltName=DNS:example.org \
	    2>/dev/null
}

e2e_prosody_conf() {
	local d=$1 log=$2 addr=$3
	mkdir -p "$d/data" "$d/certs"
	e2e_cert "$d/certs" || return 1
	cat > "$d/prosody.cfg.lua" <<EOF
-- xmppguard end-to-end: Debian's Prosody, run by hand.
run_as_root = true
daemonize = false
pidfile = "$d/prosody.pid"
data_path = "$d/data"
certificates = "$d/certs"
admins = { }
modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls"; "limits"; "ping"; "posix";
	"log_auth";
}
-- mod_log_auth (prosody-modules): without it Prosody logs no failed
-- login with an address.
log_auth_ips = "all"
authentication = "internal_hashed"
allow_registration = false
limits = { c2s = { rate = "10kb/s"; burst = "2s" } }
interfaces = { "$addr" }
c2s_ports = { 5222 }
s2s_ports = { }
c2s_direct_tls_ports = { }
ssl = {
	certificate = "$d/certs/example.org.crt";
	key = "$d/certs/example.org.key";
}
log = { info = "$log"; }
VirtualHost "example.org"
EOF
}

e2e_prosody_cmd() {
	echo "/usr/bin/lua5.4 /usr/bin/prosody --config $1/prosody.cfg.lua"
}

e2e_prosody_register() {
	prosodyctl --config "$1/prosody.cfg.lua" register "$2" example.org \
	    "$3" >/dev/null 2>&1
}

e2e_ejabberd_conf() {
	local d=$1 addr=$2 node=$3
	mkdir -p "$d/etc" "$d/spool" "$d/log" "$d/home"
	e2e_cert "$d/etc" || return 1
	cat "$d/etc/example.org.key" "$d/etc/example.org.crt" \
	    > "$d/etc/ejabberd.pem"
	printf '{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n' \
	    > "$d/etc/inetrc"
	# A cookie and a node name of its own: a host ejabberd (node
	# ejabberd@localhost, cookie in /var/lib/ejabberd) is never reached,
	# and epmd listens on this namespace's loopback only.
	cat > "$d/etc/ejabberdctl.cfg" <<EOF
ERLANG_NODE=$node
ERL_OPTIONS="-setcookie xg-e2e-$$ -env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_PID_PATH=$d/ejabberd.pid
ERL_EPMD_ADDRESS=127.0.0.1
EOF
	cat > "$d/etc/ejabberd.yml" <<EOF
loglevel: info
log_rotate_count: 0
hosts:
  - example.org
certfiles:
  - "$d/etc/ejabberd.pem"
auth_method: internal
auth_password_format: scram
listen:
  -
    port: 5222
    ip: "$addr"
    module: ejabberd_c2s
    max_stanza_size: 65536
    shaper: c2s_shaper
    access: c2s
    starttls: true
acl:
  admin:
    user:
      - "admin@example.org"
access_rules:
  c2s:
    allow: all
shaper:
  normal:
    rate: 10000
    burst_size: 20000
shaper_rules:
  c2s_shaper: normal
modules:
  mod_disco: {}
  mod_roster: {}
  mod_ping: {}
  mod_stream_mgmt: {}
EOF
	chown -R ejabberd:ejabberd "$d"
	chmod 600 "$d/etc/ejabberd.pem" "$d/etc/example.org.key"
}

e2e_ejabberd_ctl() {
	local ns=$1 d=$2
	shift 2
	timeout 120 ip netns exec "$ns" setpriv --reuid ejabberd --regid ejabberd \
	    --init-groups env HOME="$d/home" \
	    /usr/sbin/ejabberdctl --config-dir "$d/etc" \
	    --ctl-config "$d/etc/ejabberdctl.cfg" \
	    --config "$d/etc/ejabberd.yml" --spool "$d/spool" \
	    --logs "$d/log" "$@"
}

e2e_wait_port() {	# (poll_until: tests/system/lib.sh)
	poll_until -i 0.2 "$4" out_has . ip netns exec "$1" ss -Hltn \
	    "src $2:$3"
}
