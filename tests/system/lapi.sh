# A CrowdSec Local API of the test's own (bash; source after lib.sh and
# netns.sh): Debian's crowdsec, LAPI only (-no-cs), its files under
# $T/lapi, SQLite with max_open_conns 1 and no flush.max_items (see
# ../shared/CLUSTER.md); never the packaged service nor its files.
#
# lapi_require: skip (exit 77) unless crowdsec and cscli are installed.
# lapi_config LISTEN: writes the configuration for ADDR:PORT.
# lapi_start NS: runs it in namespace NS, waits for /health ($LAPI_PID).
# lapi_stop: stops it by its PID.
# lapi_cscli ARGS...: cscli on that configuration (60 s at most).
# lapi_machine NAME PASSWORD, lapi_bouncer NAME KEY: registers them.
# lapi_tls: from its next start it serves https, with a certificate for
# 127.0.0.1 signed by a CA made here ($LAPI_CA, for the nodes).

lapi_require() {
	command -v crowdsec >/dev/null 2>&1 || skip "no crowdsec (contrib/deps.sh --test)"
	command -v cscli >/dev/null 2>&1 || skip "no cscli"
	[ -d /usr/lib/crowdsec/plugins ] || skip "no crowdsec plugins directory"
}

lapi_config() {
	LAPI_LISTEN=$1
	LAPI_DIR=$T/lapi
	LAPI_URL=http://$LAPI_LISTEN
	mkdir -p "$LAPI_DIR/data" "$LAPI_DIR/hub" "$LAPI_DIR/notifications"
	echo '{}' > "$LAPI_DIR/hub/.index.json"
	cp /etc/crowdsec/profiles.yaml "$LAPI_DIR/profiles.yaml" ||
	    fail "no /etc/crowdsec/profiles.yaml"
	echo 'simulation: off' > "$LAPI_DIR/simulation.yaml"
	cat > "$LAPI_DIR/config.yaml" <<-CONF
	common:
	  daemonize: false
	  log_media: stdout
	  log_level: info
	  working_dir: .
	config_paths:
	  config_dir: $LAPI_DIR/
	  data_dir: $LAPI_DIR/data/
	  simulation_path: $LAPI_DIR/simulation.yaml
	  hub_dir: $LAPI_DIR/hub/
	  index_path: $LAPI_DIR/hub/.index.json
	  notification_dir: $LAPI_DIR/notifications/
	  plugin_dir: /usr/lib/crowdsec/plugins/
	cscli:
	  output: human
	  color: "no"
	db_config:
	  log_level: info
	  type: sqlite
	  db_path: $LAPI_DIR/data/crowdsec.db
	  use_wal: true
	  max_open_conns: 1
	  flush:
	    max_age: 7d
	api:
	  client:
	    insecure_skip_verify: false
	    credentials_path: $LAPI_DIR/local_api_credentials.yaml
	  server:
	    log_level: info
	    listen_uri: $LAPI_LISTEN
	    profiles_path: $LAPI_DIR/profiles.yaml
	    trusted_ips:
	      - 127.0.0.1
	      - ::1
	prometheus:
	  enabled: false
	CONF
	# cscli talks to the LAPI as a machine of its own.
	lapi_cscli machines add xgtest-cscli --password xgtest-cscli-pw \
	    -f "$LAPI_DIR/local_api_credentials.yaml" >/dev/null 2>&1 ||
	    fail "cscli machines add (see $T/cscli.err)"
	sed -i "s|^url:.*|url: $LAPI_URL/|" "$LAPI_DIR/local_api_credentials.yaml"
}

lapi_cscli() {	# in the LAPI's namespace once it runs
	if [ -n "${LAPI_NS:-}" ]; then
		timeout 60 ip netns exec "$LAPI_NS" cscli \
		    -c "$LAPI_DIR/config.yaml" "$@" 2>>"$T/cscli.err"
	else
		timeout 60 cscli -c "$LAPI_DIR/config.yaml" "$@" \
		    2>>"$T/cscli.err"
	fi
}

lapi_machine() {
	lapi_cscli machines add "$1" --password "$2" -f /dev/null >/dev/null ||
	    fail "cscli machines add $1"
}

lapi_bouncer() {
	lapi_cscli bouncers add "$1" -k "$2" >/dev/null ||
	    fail "cscli bouncers add $1"
}

lapi_health() {
	ns_exec "$LAPI_NS" curl -fsS -m 1 ${LAPI_CA:+--cacert "$LAPI_CA"} \
	    "$LAPI_URL/health" 2>/dev/null | grep -q '"up"'
}

lapi_tls() {
	local d=$LAPI_DIR/tls
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=xg test CA" \
	    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 ||
	    fail "openssl: the CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	    -keyout "$d/lapi.key" -out "$d/lapi.csr" >/dev/null 2>&1 ||
	    fail "openssl: the LAPI's request"
	printf 'subjectAltName = IP:127.0.0.1\n' > "$d/ext"
	openssl x509 -req -in "$d/lapi.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 2 -extfile "$d/ext" -out "$d/lapi.pem" \
	    >/dev/null 2>&1 || fail "openssl: the LAPI's certificate"
	LAPI_CA=$d/ca.pem
	sed -i "s|^    listen_uri: .*|&\\n    tls:\\n      cert_file: $d/lapi.pem\\n      key_file: $d/lapi.key|" \
	    "$LAPI_DIR/config.yaml"
	# cscli, a client of it, trusts the CA through the system's store:
	# it only skips the check, which the nodes never do.
	sed -i 's|^    insecure_skip_verify: false|    insecure_skip_verify: true|' \
	    "$LAPI_DIR/config.yaml"
	LAPI_URL=https://${LAPI_LISTEN}
	sed -i "s|^url:.*|url: $LAPI_URL/|" "$LAPI_DIR/local_api_credentials.yaml"
}

lapi_start() {
	LAPI_NS=$1
	ns_spawn "$LAPI_NS" "$T/lapi.log" crowdsec -c "$LAPI_DIR/config.yaml" \
	    -no-cs
	LAPI_PID=$NS_PID
	wait_until "$XG_WAIT" "the LAPI did not start (see $T/lapi.log)" \
	    lapi_health
}

lapi_stop() {
	ns_stop "$LAPI_PID" 10
	LAPI_PID=
}
