# Surge mode, live: the daemon with real conntrack and kernel caps in a
# server namespace follows an ejabberd log.  50 known clients connect and
# log in (their lines in the log): the kernel's known set holds all 50.
# Then a surge from 1,000 addresses, each under every per-address limit
# (5 connections, against max_new 120/1h), that never log in:
#  - the surge starts (log, status, a webhook alert "surge on" with its
#    rate, baseline and addresses) and the flag element is in the kernel;
#  - strangers are held to surge_max_new (2/1h): a new stranger gets 2 of
#    5 through, and the flood's connections are refused by the thousand;
#  - the 50 known clients, 10 connections each during the surge, all get
#    through;
#  - once the flood stops the surge ends after surge_end (an alert "surge
#    over"), the flag element is gone, and a new stranger gets 5 of 5;
#  - after a restart the known set holds the 50 again, from the store.
# The daemon logs the time from the surge's start to the cap in force.
# Replay of the same story (a generated capture and log) says when the
# surge starts and ends and how many connections the cap refuses.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
xgload_build
ns_setup
KNOWN=198.51.100.1-198.51.100.50
FLOOD=100.64.0.1-100.64.3.232		# 1,000 addresses
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.50
ns_add_client_addrs "$CLI" 100.64.0.1 100.64.3.232
ns_add_client_addrs "$CLI" 203.0.113.1 203.0.113.2

logs="$T/logs"
mkdir -p "$logs"
: > "$logs/ejabberd.log"
chatd "$SRV" hook ok
HOOK=$PORT
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[store]
path = $T/xg.db
[service c2s]
ports = 5222
max_concurrent = 50
max_new = 120/1h
net_max_concurrent = 0
net_max_new = none
karma = off
surge_factor = 10
surge_min_rate = 100/10s
surge_max_new = 2/1h
surge_end = 5s
[auth]
outage_addresses = 0
corroborate = 5m
[ban]
nft_table = xgtest
[log ejabberd]
path = $logs/ejabberd.log
filter = $TOP/filters/ejabberd.conf
[alert hook]
type = json
url = http://127.0.0.1:$HOOK/hook
events = surge
retries = 1
CONF
"$XG" check-config -c "$T/xg.conf" > "$T/check.out" 2>&1 ||
    fail "check-config: $(cat "$T/check.out")"

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
XGPID=$NS_PID
if grep -q 'kernel caps: unavailable' "$T/xg.log"; then
	skip "this kernel or nft lacks what the caps need: $(grep 'kernel caps' "$T/xg.log")"
fi
expect_grep 'surge: on' "$T/xg.log"
ns_exec "$SRV" nft list chain inet xgtest cap_c2s > "$T/chain" ||
    fail "no cap_c2s chain: $(cat "$T/xg.log")"
expect_grep 'meta l4proto @surge_c2s ip saddr != @known4' "$T/chain"
expect_grep 'limit rate over 2/hour burst 2 packets' "$T/chain"

status_field() {	# status_field PYTHON-EXPR on status --json
	"$XG" status -s "$T/ctl.sock" --json |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
known_in_kernel() {
	ns_exec "$SRV" nft list set inet xgtest known4 |
	    grep -o '198\.51\.100\.[0-9]*' | sort -u | wc -l
}
flag_on() {
	ns_exec "$SRV" nft list set inet xgtest surge_c2s | grep -c 'tcp'
}
churn() {	# churn OUT SOURCES N [RATE]: N connections, bounded in time
	ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -s "$2" -n "$3" \
	    --concurrency 32 --rate "${4:-200}" --timeout 3 --seconds 60 \
	    > "$T/$1.out" 2>&1
}
okcount() {
	sed -n 's/.* ok=\([0-9]*\) .*/\1/p' "$T/$1.out"
}

# 1. The known clients: a connection each, then the server's login line.
churn known1 "$KNOWN" 50 || fail "known clients: $(cat "$T/known1.out")"
expect_grep 'ok=50 failed=0' "$T/known1.out"
i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	printf '%s [info] <0.%s.0>@ejabberd_c2s:process_auth_result/3:272 (tls|<0.%s.0>) Accepted c2s SCRAM-SHA-1 authentication for user%s@example.org by mnesia backend from ::ffff:198.51.100.%s\n' \
	    "$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00:00')" $((500 + i)) \
	    $((500 + i)) $i $i >> "$logs/ejabberd.log"
done
wait_until "$XG_WAIT" "the kernel's known set lacks the 50 clients" \
    out_eq 50 known_in_kernel
[ "$(status_field 's["surge"]["services"][0]["active"]')" = False ] ||
    fail "a surge before the flood: $(cat "$T/xg.log")"

# 2. The flood: 1,000 addresses, 5 connections each, at 250/s.
ns_spawn "$CLI" "$T/flood.out" "$XGLOAD" churn -d 192.0.2.1 -p 5222 \
    -s "$FLOOD" -n 5000 --concurrency 64 --rate 250 --timeout 3 \
    --seconds 60
FLOODPID=$NS_PID
wait_until "$XG_WAIT" "no surge began: $(tail -5 "$T/xg.log")" \
    out_eq 1 flag_on
expect_grep 'surge: c2s: .* connections that did not log in in 10s from [0-9]* addresses' \
    "$T/xg.log"
[ "$(status_field 's["surge"]["services"][0]["active"]')" = True ] ||
    fail "status does not show the surge"
"$XG" status -s "$T/ctl.sock" > "$T/status.txt" || fail "status"
expect_grep '^surge c2s  *surge on, since 20[0-9-]*T[0-9:.]*Z, rate [0-9]*, baseline 1.0, threshold 100, 1 surges$' \
    "$T/status.txt"
expect_grep '^known  *50 known$' "$T/status.txt"
# Known clients, during the flood: every one of 500 through.
churn known2 "$KNOWN" 500 100 || fail "known clients: $(cat "$T/known2.out")"
expect_grep 'ok=500 failed=0' "$T/known2.out"
# A new stranger: 2 of 5.
churn stranger1 203.0.113.1 5 5 || true
[ "$(okcount stranger1)" = 2 ] ||
    fail "a stranger during the surge: $(cat "$T/stranger1.out")"
wait_pid_gone "$FLOODPID" 90 || fail "the flood did not end"
cat "$T/flood.out"
failed=$(sed -n 's/.* failed=\([0-9]*\) .*/\1/p' "$T/flood.out")
[ "${failed:-0}" -ge 1000 ] ||
    fail "the flood was not capped: $(cat "$T/flood.out")"
chatd_wait hook 1 '"surge on c2s" in t and "addresses" in t'

# 3. The end: surge_end (5 s) after the rate fell under the threshold
# (the 10 s window emptied).
wait_until 60 "the surge did not end: $(tail -5 "$T/xg.log")" \
    out_eq 0 flag_on
chatd_wait hook 1 '"surge on c2s over after" in t'
[ "$(status_field 's["surge"]["services"][0]["active"]')" = False ] ||
    fail "status still shows the surge"
churn stranger2 203.0.113.2 5 5 || fail "$(cat "$T/stranger2.out")"
expect_grep 'ok=5 failed=0' "$T/stranger2.out"
grep 'surge' "$T/xg.log"

# 4. A restart: the known set refilled from the store's logins (emptied
# first, so it cannot be the kernel's own).
ns_stop "$XGPID" 10 || fail "the daemon did not stop cleanly"
ns_exec "$SRV" nft flush set inet xgtest known4 || fail "flush known4"
[ "$(known_in_kernel)" = 0 ] || fail "known4 not flushed"
ns_xg_start "$T/xg2.log" "$T/xg.conf"
expect_grep 'surge: on (50 logins of the last 30 days read, 50 known addresses)' \
    "$T/xg2.log"
out_eq 50 known_in_kernel > /dev/null ||
    fail "after a restart, $(known_in_kernel) known clients in the kernel"
[ "$(flag_on)" = 0 ] || fail "a surge flag after the restart"

# 5. Replay: 50 known clients log in, then 1,000 addresses 5 times each
# in 20 s; the known clients connect 10 times each meanwhile, and once
# more a minute later.
mkdir -p "$T/replay"
python3 - "$T/replay" "$TOP/tests/tools" <<'GEN' || fail "generator"
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[2])
from xmpphour import held_flow, logaddr, stamp
out = sys.argv[1]
START = 1795946400          # 2026-11-29 10:00:00 UTC
ct, log = [], []
ident = [1000]
def conn(addr, t, user=None):
    ident[0] += 1
    i = ident[0]
    ct.extend((tt, i, s) for tt, s in held_flow(
        addr, 20000 + i % 40000, 5222, t, t + 2000000, 2000, 3000, i))
    if user is not None:
        tl = t + 300000
        log.append((tl, i, "%s [info] <0.%d.0>@ejabberd_c2s:process_auth_result/3:272 (tls|<0.%d.0>) Accepted c2s SCRAM-SHA-1 authentication for %s@example.org by mnesia backend from %s" % (stamp(tl), i, i, user, logaddr(addr))))
base = START * 1000000
for k in range(50):
    conn("198.51.100.%d" % (k + 1), base + k * 100000, "user%d" % k)
flood = base + 60 * 1000000
for k in range(5000):
    a = 1 + k % 1000
    conn("100.64.%d.%d" % (a // 256, a % 256), flood + k * 4000)
for k in range(500):
    conn("198.51.100.%d" % (1 + k % 50), flood + k * 40000 + 1000)
# A minute later: the known clients again (replay's time moves on).
for k in range(50):
    conn("198.51.100.%d" % (k + 1), flood + 80 * 1000000 + k * 100000)
for name, lst in (("ct.txt", ct), ("ej.log", log)):
    with open(out + "/" + name, "w") as f:
        for _, _, s in sorted(lst):
            f.write(s + "\n")
GEN
TZ=UTC timeout 120 "$XG" replay -c "$T/xg.conf" --conntrack "$T/replay/ct.txt" \
    --log ejabberd="$T/replay/ej.log" >"$T/replay/out" 2>"$T/replay/err" ||
    fail "replay: $(cat "$T/replay/err")"
cat "$T/replay/err"
expect_grep '^2026-11-29T10:01:0[0-9.]*Z surge on c2s: 101 connections that did not log in in 10s from 101 addresses, usually 1.0 (threshold 100)$' \
    "$T/replay/out"
expect_grep '^2026-11-29T10:01:[0-9.]*Z surge on c2s over after ' "$T/replay/out"
refused=$(sed -n 's/^replay: 1 surge, \([0-9]*\) connections refused by the surge cap.*/\1/p' \
    "$T/replay/err")
# The strangers' 3rd to 5th connections under the surge: about 3 in 5.
[ "${refused:-0}" -ge 2500 ] && [ "$refused" -le 3000 ] ||
    fail "replay: ${refused:-no} connections refused: $(cat "$T/replay/err")"
exit 0
