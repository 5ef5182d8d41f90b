# Two xmppguard nodes in two namespaces share one CrowdSec Local API (in a
# third namespace, joined to each node by a veth pair), each with its own
# machine and bouncer key: a churn bot banned on node A cannot connect to
# node B within 2 s; an unban on A reaches B; `cscli decisions add`
# reaches both; with the LAPI stopped, A's bans hold locally and wait in
# its queue, which drains once the LAPI is back, nothing lost; the LAPI
# restarted (new JWT secret) the nodes log in again; a ban on B reaches A;
# B's chat hears that the link is down (down_alert = 3s), then back.
# Then ban on A -> element in B's set, over XG_CLUSTER_N bans (default
# 20): p50 and p99 printed (XG_CLUSTER_REPORT=FILE receives them).
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/system/lapi.sh"

ns_require
lapi_require
command -v curl >/dev/null 2>&1 || skip "no curl"
command -v python3 >/dev/null 2>&1 || skip "no python3"
xgload_build
ns_setup
SRVA=$SRV CLIA=$CLI
ns_setup
SRVB=$SRV CLIB=$CLI
BOT=198.51.100.20
ns_add_client_addrs "$CLIA" "$BOT" "$BOT"
ns_add_client_addrs "$CLIB" "$BOT" "$BOT"

# The LAPI's namespace: 198.18.255.1/30 towards A, .5/30 towards B.
LNS=xg-lapi-$$-1
ip netns add "$LNS" || fail "ip netns add $LNS"
XG_NS_LIST="$XG_NS_LIST $LNS"
ip -n "$LNS" link set lo up
ip -n "$LNS" link add l1 type veth peer name x0 netns "$SRVA" || fail "veth A"
ip -n "$LNS" link add l2 type veth peer name x0 netns "$SRVB" || fail "veth B"
ip -n "$LNS" addr add 198.18.255.1/30 dev l1
ip -n "$LNS" addr add 198.18.255.5/30 dev l2
ip -n "$LNS" link set l1 up
ip -n "$LNS" link set l2 up
ip -n "$SRVA" addr add 198.18.255.2/30 dev x0
ip -n "$SRVA" link set x0 up
ip -n "$SRVB" addr add 198.18.255.6/30 dev x0
ip -n "$SRVB" link set x0 up

lapi_config 0.0.0.0:8080
for n in a b; do
	lapi_machine "xg-node-$n" "xg-node-$n-password-0123456789"
	lapi_bouncer "xg-node-$n" "xg-node-$n-bouncer-key-0123456789"
done
lapi_start "$LNS"

node_conf() {	# node_conf NAME LAPI-ADDRESS
	mkdir -p "$T/$1"
	cat > "$T/$1/xg.conf" <<-CONF
	[global]
	state_dir = $T/$1/state
	control_socket = $T/$1/ctl.sock
	[conntrack]
	poll = 1s
	[service c2s]
	ports = 5222
	max_new = 5/1h
	# banned at the limit (41-kernel-caps tests the kernel caps)
	kernel_caps = no
	[ban]
	duration = 10m
	nft_table = xgtest
	[cluster]
	lapi_url = http://$2:8080
	machine_id = xg-node-$1
	pull_interval = 1s
	CONF
	printf '[cluster]\npassword = xg-node-%s-password-0123456789\nbouncer_key = xg-node-%s-bouncer-key-0123456789\n' \
	    "$1" "$1" > "$T/$1/secrets"
	chmod 600 "$T/$1/secrets"
}
node_conf a 198.18.255.1
node_conf b 198.18.255.5
# B alerts a chat (a JSON webhook) when its link is down for 3 s, and back.
chatd "$SRVB" chat ok
cat >> "$T/b/xg.conf" <<CONF
down_alert = 3s
[alert chat]
type = json
url = http://127.0.0.1:$PORT/hook
events = cluster
CONF
for n in A B; do
	eval ns=\$SRV$n
	ns_spawn "$ns" "$T/serve.$n.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
	    --seconds 280
	wait_for_line 'listening' "$T/serve.$n.log"
done
ns_spawn "$SRVA" "$T/a.log" "$XG" run --foreground -c "$T/a/xg.conf"
ns_spawn "$SRVB" "$T/b.log" "$XG" run --foreground -c "$T/b/xg.conf"
wait_for_line 'ready' "$T/a.log"
wait_for_line 'ready' "$T/b.log"

xgc() {	# xgc NODE ARGS...
	local n=$1
	shift
	"$XG" "$@" -s "$T/$n/ctl.sock"
}
field() {	# field NODE KEY.PATH
	xg_status_field "$T/$1/ctl.sock" "$2"
}
in_set() {	# in_set NS ADDR
	ns_exec "$1" nft list set inet xgtest ban4 2>/dev/null |
	    grep -q "$2[ ,]"
}
not_in_set() {
	! in_set "$@"
}
connect() {	# connect NS SOURCE: 0 if one connection completes in 2 s
	ns_exec "$1" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 1 -s "$2" \
	    --timeout 2 --seconds 3 > "$T/connect.out" 2>&1
	grep -q ' ok=1 ' "$T/connect.out"
}
lapi_count() {	# decisions in force whose value is in 198.51.100.31-35
	lapi_cscli decisions list -a -o json > "$T/decisions.json" || return 1
	python3 - "$T/decisions.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])) or []
v = {x["value"] for a in d for x in (a.get("decisions") or [])}
n = len([i for i in range(31, 36) if "198.51.100.%d" % i in v])
print(n)
PY
}
for n in a b; do
	wait_until "$XG_WAIT" "node $n never pulled" out_ge 1 field "$n" cluster.resyncs
	wait_until "$XG_WAIT" "node $n never logged in" out_ge 1 field "$n" cluster.logins
done
connect "$CLIB" "$BOT" || fail "the bot cannot connect to B before any ban"

# -- A churn bot banned on A cannot connect to B within 2 s. --
ns_exec "$CLIA" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 10 -s "$BOT" \
    --timeout 2 --seconds 5 > "$T/churn.out" 2>&1 &
CHURN=$!
wait_until -i 0.01 "$XG_WAIT" "A did not ban the bot" in_set "$SRVA" "$BOT"
xg_now
t_a=$XG_NOW
wait_until -i 0.01 2 "the bot's ban on A is not in B's kernel within 2 s" \
    in_set "$SRVB" "$BOT"
xg_now
echo "churn ban on A -> B's set: $(((XG_NOW - t_a) / 1000)) ms"
wait "$CHURN"
connect "$CLIB" "$BOT" && fail "the bot banned on A still connects to B"
xgc b bans | grep "^$BOT/32 " | grep -q 'cluster (xmppguard): xmppguard/churn' ||
    fail "B's ban does not say it came from the cluster: $(xgc b bans)"

# -- An unban on A reaches B. --
xgc a unban "$BOT" || fail "unban on A"
wait_until 4 "the unban on A did not reach B" not_in_set "$SRVB" "$BOT"
connect "$CLIB" "$BOT" || fail "the bot cannot connect to B after the unban"

# -- cscli decisions add reaches both. --
lapi_cscli decisions add --ip 203.0.113.50 --duration 10m >/dev/null ||
    fail "cscli decisions add"
wait_until 4 "cscli's decision is not on A" in_set "$SRVA" 203.0.113.50
wait_until 4 "cscli's decision is not on B" in_set "$SRVB" 203.0.113.50

# -- The LAPI stopped: local bans hold, the queue keeps them. --
lapi_stop
xg_now
t_down=$XG_NOW
for i in 31 32 33 34 35; do
	xgc a ban "198.51.100.$i" --for 10m --reason "during the outage" ||
	    fail "ban on A during the outage"
	in_set "$SRVA" "198.51.100.$i" || fail "a local ban waited for the LAPI"
done
wait_until "$XG_WAIT" "A's queue does not hold the outage's bans" \
    out_ge 5 field a cluster.queue
wait_until "$XG_WAIT" "A saw no failure" out_ge 1 field a cluster.errors
wait_until "$XG_WAIT" "B saw no failure" out_ge 1 field b cluster.errors
# A few seconds down (pushes and pulls failing, backoff growing).
poll_until 8 false
xg_now
echo "LAPI down for $(((XG_NOW - t_down) / 1000000)) s"
logins_a=$(field a cluster.logins)
chatd_wait chat 1 'r["body"].get("event") == "cluster-down" and "down for" in t'
[ "$(chatd_count chat 'r["body"].get("event") == "cluster-up"')" = 0 ] ||
    fail "the link said back while the LAPI is down: $(cat "$T/chat.log")"
lapi_start "$LNS"
# -- Back: the queue drains, nothing lost, A logs in again. --
wait_until "$XG_WAIT" "A's queue did not drain" out_eq 0 field a cluster.queue
wait_until "$XG_WAIT" "the LAPI lacks some of the outage's bans" \
    out_eq 5 lapi_count
for i in 31 32 33 34 35; do
	wait_until 4 "198.51.100.$i did not reach B" in_set "$SRVB" "198.51.100.$i"
done
chatd_wait chat 1 'r["body"].get("event") == "cluster-up" and "back after" in t'
sed 's/^/chat: /' "$T/chat.log"
out_ge $((logins_a + 1)) field a cluster.logins > /dev/null ||
    fail "A did not log in again after the LAPI restarted"
expect_grep 'cluster: logged in' "$T/b.log"
# B logs in again with its first push after the restart; A hears of it.
logins_b=$(field b cluster.logins)
xgc b ban 198.51.100.40 --for 10m --reason "banned on B" || fail "ban on B"
wait_until 4 "B's ban did not reach A" in_set "$SRVA" 198.51.100.40
out_ge "$logins_b" field b cluster.logins > /dev/null || fail "B's logins"
[ "$(field b cluster.logins)" -ge 2 ] || fail "B did not log in again"
for n in a b; do
	echo "$n: $(xgc "$n" status | grep '^cluster')"
done

# -- Ban on A -> element in B's set, N times. --
N=${XG_CLUSTER_N:-20}
: > "$T/lat"
i=0
while [ $i -lt "$N" ]; do
	ip=198.18.$((i / 250)).$((i % 250 + 1))
	# A random phase against B's pull timer (not a wait for anything):
	# right after B's last pull every ban would wait a whole interval.
	sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
	xg_now
	t0=$XG_NOW
	xgc a ban "$ip" --for 10m --reason bench > /dev/null || fail "ban $ip"
	wait_until -i 0.01 10 "$ip did not reach B" in_set "$SRVB" "$ip"
	xg_now
	echo $(((XG_NOW - t0) / 1000)) >> "$T/lat"
	i=$((i + 1))
done
report=$(sort -n "$T/lat" | awk '{ v[NR] = $1 } END {
	p50 = v[int((NR + 1) * 0.50)]; p99 = v[int(NR * 0.99 + 0.999)]
	if (p99 == "") p99 = v[NR]
	printf "bans=%d p50_ms=%d p99_ms=%d max_ms=%d", NR, p50, p99, v[NR] }')
echo "ban on A -> element in B's set (pull_interval 1s): $report"
[ -n "${XG_CLUSTER_REPORT:-}" ] && echo "$report" >> "$XG_CLUSTER_REPORT"
echo ok
