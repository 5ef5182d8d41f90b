# Corroboration, live: the daemon with real conntrack in a server
# namespace follows a log.  Failure lines naming an address that never
# connected (as a forged line would) are counted as uncorroborated and
# never judged, however many; the same number from an address holding a
# real TCP connection gets it judged; a client behind a configured proxy
# is judged while the proxy is connected, its verdict said to come through
# the proxy.  With conntrack off the daemon warns that lines are judged
# uncorroborated.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.10 198.51.100.11
ns_add_client_addrs "$CLI" 198.51.100.20 198.51.100.20

logs="$T/logs"
mkdir -p "$logs"
: > "$logs/xmpp.log"
cat > "$T/f.conf" <<'FILTER'
[filter]
name      = t
time      = %Y-%m-%d %H:%M:%S
timezone  = utc
prefilter = Failed

[pattern fail]
kind     = auth_fail
literal  = Failed
regex    = ^(?<time>\S+ \S+) Failed login for (?<user>\S+) from (?<ip>\S+)$
FILTER
conf() {	# conf CT-ENABLED
	cat <<CONF
[global]
firewall = none
state_dir = $T/state
control_socket = $T/ctl.sock
[store]
path = $T/xg.db
[conntrack]
enabled = $1
poll = 1s
[auth]
max_fail = 5/10m
net_max_fail = 1000/10m
outage_addresses = 0
corroborate = 5m
[allow]
proxies = 198.51.100.20
[log xmpp]
path = $logs/xmpp.log
filter = $T/f.conf
CONF
}
conf yes > "$T/xg.conf"

# fail IP [N]: N failure lines naming IP.
fail_lines() {
	local i=0
	while [ "$i" -lt "${2:-1}" ]; do
		printf '%s Failed login for u%s@example.org from %s\n' \
		    "$(date -u '+%Y-%m-%d %H:%M:%S')" "$i" "$1"
		i=$((i + 1))
	done >> "$logs/xmpp.log"
}
status_field() {	# status_field PYTHON-EXPR on status --json
	"$XG" status -s "$T/ctl.sock" --json |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222,5280 \
    --seconds 120
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
xg=$NS_PID
expect_none() {	# expect_none PATTERN FILE
	! grep -q -e "$1" "$2" || fail "'$1' in $2"
}
expect_none 'conntrack is off' "$T/xg.log"

# 1. Twenty lines naming an address that never connected: none judged.
fail_lines 198.51.100.99 20
wait_until "$XG_WAIT" "20 uncorroborated lines" \
    out_eq 20 status_field 's["uncorroborated"]'
expect_grep 'xmpp: auth_fail from 198.51.100.99, which has not connected' \
    "$T/xg.log"

# 2. The same from an address with a live connection: judged at the 6th.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -s 198.51.100.10 -d 192.0.2.1 \
    -p 5222 -n 1 --seconds 60
wait_for_line 'established=1' "$T/hold.log"
wait_until "$XG_WAIT" "no live connection from 198.51.100.10" \
    out_ge 1 ns_ct_count "$SRV" -p tcp --src 198.51.100.10 --state ESTABLISHED
fail_lines 198.51.100.10 6
wait_for_line 'verdict: 198.51.100.10/32 auth: 6 failed logins in 10m (limit 5)$' \
    "$T/xg.log"
out_eq 20 status_field 's["uncorroborated"]' ||
    fail "lines from a connected address counted as uncorroborated"

# 3. A client behind the proxy (198.51.100.20, connected to 5280) that
# never connected itself: judged through the proxy.
ns_spawn "$CLI" "$T/proxy.log" "$XGLOAD" hold -s 198.51.100.20 -d 192.0.2.1 \
    -p 5280 -n 1 --seconds 60
wait_for_line 'established=1' "$T/proxy.log"
wait_until "$XG_WAIT" "no live connection from the proxy" \
    out_ge 1 ns_ct_count "$SRV" -p tcp --src 198.51.100.20 --state ESTABLISHED
fail_lines 203.0.113.77 6
wait_for_line 'verdict: 203.0.113.77/32 auth: 6 failed logins in 10m (limit 5) (through a proxy)' \
    "$T/xg.log"
out_eq 6 status_field 's["proxied"]' ||
    fail "proxied lines not counted"
expect_none 'verdict: 198.51.100.99' "$T/xg.log"
ns_stop "$xg" || fail "the daemon did not stop cleanly"

# 4. Conntrack off: a warning at start.
conf no > "$T/xg2.conf"
sed -i "s#$T/ctl.sock#$T/ctl2.sock#; s#$T/xg.db#$T/xg2.db#; s#$T/state#$T/state2#" \
    "$T/xg2.conf"
ns_xg_start "$T/xg2.log" "$T/xg2.conf"
expect_grep 'conntrack is off: log lines are judged without corroboration' \
    "$T/xg2.log"
