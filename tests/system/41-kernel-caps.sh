# Kernel caps (kernel_caps, the default): the kernel refuses, with a
# reset, the connection over a service's limit, per source, and leaves
# the established ones alone; the daemon bans only an address that keeps
# hammering a cap (cap_persist).
#  - 15 held connections from one address against max_concurrent = 10:
#    10 established, 5 refused; the 10 still up after the rest of the
#    test has run; no ban for that address; a neighbour connects.
#  - 30 connections from one address against max_new = 20/1h: 20 through.
#  - an address refused more than cap_persist (30/10m) times is banned,
#    with the reason "refused 31 times by the c2s churn cap in 10m".
#  - a reload that changes max_concurrent (10 to 12) keeps every
#    established connection, and the new limit is the one refused at.
#  - a reload that changes nothing runs no nft: the rules keep their
#    handles.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.9

conf() {
	cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
max_concurrent = $1
max_new = 20/1h
net_max_concurrent = 0
net_max_new = none
karma = off
[ban]
duration = 10m
nft_table = xgtest
cap_persist = 30/10m
CONF
}
conf 10

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
XGPID=$NS_PID
wait_for_line 'ready' "$T/xg.log"
xgc() {
	"$XG" "$@" -s "$T/ctl.sock"
}
if grep -q 'kernel caps: unavailable' "$T/xg.log"; then
	skip "this kernel or nft lacks what the caps need: $(grep 'kernel caps' "$T/xg.log")"
fi
ns_exec "$SRV" nft list chain inet xgtest cap_c2s > "$T/chain" ||
    fail "no cap_c2s chain: $(cat "$T/xg.log")"
expect_grep 'ct count over 10' "$T/chain"
expect_grep 'limit rate over 20/hour burst 20 packets' "$T/chain"

est_from() {	# established connections from $1, server side
	ns_exec "$SRV" ss -Htn state established src 192.0.2.1:5222 \
	    dst "$1" | wc -l
}
banned_json() {	# 1 if bans --json lists $1
	xgc bans --json | python3 -c "
import json, sys
bans = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(1 for b in bans if b['address'].split('/')[0] == sys.argv[1]))" "$1"
}
refused() {	# the daemon's count of refusals by cap $1
	xg_status_field "$T/ctl.sock" "caps.refused.$1"
}

# 1. Concurrency: 15 held, 10 established, 5 refused.
ns_spawn "$CLI" "$T/hold1.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n 15 -s 198.51.100.1 --timeout 5 --seconds 240
HOLD1=$NS_PID
# The caps judge a connection at its handshake's last packet: 5 are
# reset right after connect (xgload counts them failed, ECONNRESET: not
# ECONNREFUSED, as a refused SYN would be).
wait_for_line 'established=10 failed=5' "$T/hold1.log"
wait_until "$XG_WAIT" "the daemon did not read the 5 refusals" \
    out_eq 5 refused concurrency
wait_until "$XG_WAIT" "not 10 established from 198.51.100.1" \
    out_eq 10 est_from 198.51.100.1
# The server's side of a refused connection (its ACK was dropped, the
# client reset) is freed: the SYN-ACK the server sends again a second
# later draws the client's reset, which the caps let through.
wait_until "$XG_WAIT" "the refused connections are still half-open" \
    out_empty ns_exec "$SRV" ss -Htn state syn-recv src 192.0.2.1:5222 \
    dst 198.51.100.1
# A neighbour connects.
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 1 \
    -s 198.51.100.9 --timeout 5 > "$T/neighbour.out" ||
    fail "the neighbour could not connect: $(cat "$T/neighbour.out")"
expect_grep 'ok=1 ' "$T/neighbour.out"

# 2. Churn: 30 new connections, 20 through.  At 50/s: the kernel counts
# a closed connection out of a concurrency cap at most once a jiffy, and
# these must meet the churn cap alone.
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 30 \
    -s 198.51.100.2 --concurrency 1 --rate 50 --timeout 5 > "$T/churn2.out"
expect_grep 'ok=20 failed=10 ' "$T/churn2.out"
wait_until "$XG_WAIT" "the daemon did not read the churn refusals" \
    out_eq 10 refused churn

# 3. Hammering: 20 through, then 40 refused; banned past the 31st.
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 60 \
    -s 198.51.100.3 --concurrency 1 --rate 50 --timeout 2 > "$T/churn3.out"
wait_until "$XG_WAIT" "198.51.100.3 was not banned for hammering" \
    out_eq 1 banned_json 198.51.100.3
expect_grep 'ban.*198\.51\.100\.3.*refused 31 times by the c2s churn cap in 10m' \
    "$T/xg.log"

# Seconds later: the 10 are alive, and neither 198.51.100.1 nor .2 is
# banned (the daemon has read every refusal: the ban above came after).
out_eq 10 est_from 198.51.100.1 > /dev/null ||
    fail "$(est_from 198.51.100.1) established from 198.51.100.1 after the churn, not 10"
out_eq 0 banned_json 198.51.100.1 > /dev/null ||
    fail "198.51.100.1 was banned: $(xgc bans)"
out_eq 0 banned_json 198.51.100.2 > /dev/null ||
    fail "198.51.100.2 was banned: $(xgc bans)"

# 4. Reload with max_concurrent = 12: nothing established is dropped,
# and a new address meets the new limit.
conf 12
xgc reload > "$T/reload.out" 2>&1 || fail "reload: $(cat "$T/reload.out")"
wait_until "$XG_WAIT" "the reload did not install the new limit" \
    out_has 'ct count over 12' ns_exec "$SRV" nft list chain inet xgtest \
    cap_c2s
out_eq 10 est_from 198.51.100.1 > /dev/null ||
    fail "the reload dropped connections: $(est_from 198.51.100.1) of 10"
ns_exec "$SRV" nft list table inet xgtest > "$T/table"
grep -q 'cap_c2s_c4_10 ' "$T/table" &&
    fail "the old limit's set is still there: $(cat "$T/table")"
ns_spawn "$CLI" "$T/hold5.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n 15 -s 198.51.100.5 --timeout 5 --seconds 60
wait_for_line 'established=12 failed=3' "$T/hold5.log"
wait_until "$XG_WAIT" "not 12 established from 198.51.100.5" \
    out_eq 12 est_from 198.51.100.5

# 5. A reload that changes nothing runs no nft (the table check sees the
# caps as the configuration has them): every rule keeps its handle.
handles() {	# the rules' handles in the base chain and the cap chain
	ns_exec "$SRV" nft -a list chain inet xgtest filter |
	    grep -o 'handle [0-9]*'
	ns_exec "$SRV" nft -a list chain inet xgtest cap_c2s |
	    grep -o 'handle [0-9]*'
}
handles > "$T/handles.before"
[ "$(wc -l < "$T/handles.before")" -gt 10 ] ||
    fail "too few rules: $(cat "$T/handles.before")"
xgc reload > "$T/reload2.out" 2>&1 || fail "reload: $(cat "$T/reload2.out")"
[ "$(grep -c 'reload: configuration .* loaded' "$T/xg.log")" -eq 2 ] ||
    fail "the second reload is not in the log: $(tail "$T/xg.log")"
handles > "$T/handles.after"
cmp -s "$T/handles.before" "$T/handles.after" ||
    fail "an unchanged reload rewrote the rules: $(diff "$T/handles.before" "$T/handles.after")"
out_eq 10 est_from 198.51.100.1 > /dev/null ||
    fail "$(est_from 198.51.100.1) established from 198.51.100.1 at the end, not 10"
ns_stop "$HOLD1"
expect_grep 'established=10 failed=5 timeouts=0 peer_closed=0 open_at_end=10 ' \
    "$T/hold1.log"
expect_grep 'errors=ECONNRESET:5' "$T/hold1.log"
kill -0 "$XGPID" || fail "the daemon died: $(tail "$T/xg.log")"
exit 0
