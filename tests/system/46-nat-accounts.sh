# Account-aware limits, live: the daemon with real conntrack in a server
# namespace follows an ejabberd log (the shipped filter).  A NAT address
# opens twice its base max_new in connections, each followed by the
# server's line for a successful login, as 20 distinct accounts: no
# verdict, its /24 neither.  A bot at the same rate that never logs in is
# judged and banned at the base limit (its /24 too, by the network's).  The NAT going on without logins is
# judged past its raised budget, and the reason says which applied.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) not installed"
xgload_build
ns_setup
NAT=198.51.100.10
BOT=203.0.113.9
ns_add_client_addrs "$CLI" $NAT $NAT
ns_add_client_addrs "$CLI" $BOT $BOT

logs="$T/logs"
mkdir -p "$logs"
: > "$logs/ejabberd.log"
cat > "$T/xg.conf" <<CONF
[global]
firewall = none
state_dir = $T/state
control_socket = $T/ctl.sock
[store]
path = $T/xg.db
[conntrack]
poll = 1s
[service c2s]
max_concurrent = 100
max_new = 20/1h
net_max_concurrent = 1000
net_max_new = 10/1h
account_allowance_new = 4
account_max = 20
net_account_max = 20
[auth]
outage_addresses = 0
corroborate = 5m
[log ejabberd]
path = $logs/ejabberd.log
filter = $TOP/filters/ejabberd.conf
CONF

status_field() {	# status_field PYTHON-EXPR on status --json
	"$XG" status -s "$T/ctl.sock" --json |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
# login USER IP: the line ejabberd 20.x+ writes for a successful login.
n=0
login() {
	n=$((n + 1))
	printf '%s [info] <0.%s.0>@ejabberd_c2s:process_auth_result/3:272 (tls|<0.%s.0>) Accepted c2s SCRAM-SHA-1 authentication for %s@example.org by mnesia backend from ::ffff:%s\n' \
	    "$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00:00')" $((500 + n)) \
	    $((500 + n)) "$1" "$2" >> "$logs/ejabberd.log"
}
# connect IP N: N connections from IP, one after the other, each
# completed and closed.
connect() {
	ns_exec "$CLI" "$XGLOAD" churn -c 1 -s "$1" -d 192.0.2.1 -p 5222 \
	    -n "$2" --send 10 >"$T/churn.log" 2>&1 ||
	    fail "churn: $(cat "$T/churn.log")"
}
# opened N: until the daemon has taken N conn_open events from conntrack.
opened() {
	wait_until "$XG_WAIT" "$1 connections not seen" \
	    out_ge "$1" status_field 's["kinds"].get("conn_open", 0)'
}

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
xg=$NS_PID

# 1. The NAT: 40 connections (base limit 20), each logging in, as user1
# to user20 twice over, five at a time: the connections, then (once the
# daemon has seen them open, so that they corroborate the lines) the
# server's lines for their logins.
i=0
while [ $i -lt 40 ]; do
	connect $NAT 5
	opened $((i + 5))
	for k in 1 2 3 4 5; do
		login "user$(( (i + k - 1) % 20 + 1 ))" $NAT
	done
	i=$((i + 5))
	wait_until "$XG_WAIT" "logins not read" \
	    out_eq $i status_field 's["logs"][0]["events"]'
done
out_eq 0 status_field 's["uncorroborated"]' ||
    fail "logins from the NAT were not corroborated"

# 2. The bot: 25 connections at the same pace, no login.
connect $BOT 25
wait_for_line "verdict: $BOT/32 churn: 21 new c2s connections in 1h (limit 20)\$" \
    "$T/xg.log"
wait_for_line "ban: $BOT/32 for .*churn" "$T/xg.log"
# Everything the NAT did was read before the bot's verdict.
! grep -q "verdict: $NAT" "$T/xg.log" ||
    fail "the NAT was judged: $(grep "verdict: $NAT" "$T/xg.log")"
! grep -q "verdict: 198.51.100.0/24" "$T/xg.log" ||
    fail "the NAT's /24 was judged"

# 3. The NAT without logins: 61 more connections, its /24 judged at the
# 91st (10 + 20 accounts x 4 = 90), the address at the 101st (20 + 20 x 4).
connect $NAT 61
wait_for_line "verdict: 198.51.100.0/24 churn: 91 new c2s connections from 198.51.100.0/24 in 1h (limit 10 + 20 accounts x 4)\$" \
    "$T/xg.log"
wait_for_line "verdict: $NAT/32 churn: 101 new c2s connections in 1h (limit 20 + 20 accounts x 4)\$" \
    "$T/xg.log"
ns_stop "$xg" || fail "the daemon did not stop cleanly"

# The logins are in the store with their users.
users=$(sqlite3 "$T/xg.db" "SELECT count(DISTINCT user) FROM events WHERE kind = 'auth_ok' AND addr = '$NAT'")
[ "$users" = 20 ] || fail "20 accounts expected in the store, found $users"
exit 0
