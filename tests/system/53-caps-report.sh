# The kernel caps' refusals per address (issue 18): real connections
# refused by the caps show up per address in status and the metrics at
# once, and in `report` (text and --json) from the store, beside the
# bans, and they are still there after a restart of the daemon, with the
# refusals of the new run added.
#  - 15 held connections from 198.51.100.1 against max_concurrent = 10:
#    5 refused; status names the address (caps' per-address view), the
#    metrics count 5 for c2s and concurrency.
#  - 30 new connections from 198.51.100.2 against max_new = 20/1h: 10
#    refused by the churn cap.
#  - the daemon stops (its rollups written), `report` says 15 refused by
#    cap, 5 for .1 and 10 for .2, and no ban.
#  - a second run refuses 3 more of .2; after it `report` counts 13 for
#    .2: the first run's rows were kept.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.2

mkdir -p "$T/prom"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
max_concurrent = 10
max_new = 20/1h
net_max_concurrent = 0
net_max_new = none
karma = off
[ban]
duration = 10m
nft_table = xgtest
cap_persist = 300/10m
[metrics]
file = $T/prom/xmppguard.prom
interval = 1s
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
XGPID=$NS_PID
if grep -q 'kernel caps: unavailable' "$T/xg.log"; then
	skip "this kernel or nft lacks what the caps need: $(grep 'kernel caps' "$T/xg.log")"
fi
expect_grep 'kernel caps: refusals read from nflog' "$T/xg.log"

field() {	# field KEY.PATH: a value of status --json
	xg_status_field "$T/ctl.sock" "$1"
}
metric() {	# metric NAME{LABELS}: its value in the metrics file
	awk -v k="$1" '$1 == k { print $2 }' "$T/prom/xmppguard.prom"
}
report_json() {	# report_json EXPR: a value of report --json, python
	"$XG" report -c "$T/xg.conf" --since 2h --json > "$T/report.json" ||
	    fail "report --json failed"
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
top = {a['address']: a for a in r['top']}
print($1)" "$T/report.json"
}

# 1. Concurrency: 5 refused, in status and the metrics at once.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n 15 -s 198.51.100.1 --timeout 5 --seconds 240
HOLD=$NS_PID
wait_for_line 'established=10 failed=5' "$T/hold.log"
wait_until "$XG_WAIT" "status did not count the 5 refusals" \
    out_eq 5 field caps.refused.concurrency
out_eq 1 field refused.addresses > /dev/null ||
    fail "status: $(xgc status)"
[ "$(field refused.top)" = "198.51.100.1 c2s 5" ] ||
    fail "status: $(xgc status)"
xgc status > "$T/status.txt"
expect_grep '^refused .*1 addresses this hour.*top: 198\.51\.100\.1 c2s 5' \
    "$T/status.txt"
wait_until "$XG_WAIT" "the metrics did not count the refusals" \
    out_eq 5 metric \
    'xmppguard_cap_refused_service_total{service="c2s",cap="concurrency"}'
out_eq 1 metric xmppguard_cap_refused_addresses > /dev/null ||
    fail "metrics: $(grep refused "$T/prom/xmppguard.prom")"

# 2. Churn: 10 refused.
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 30 \
    -s 198.51.100.2 --concurrency 1 --rate 50 --timeout 5 > "$T/churn.out"
expect_grep 'ok=20 failed=10 ' "$T/churn.out"
wait_until "$XG_WAIT" "status did not count the churn refusals" \
    out_eq 10 field caps.refused.churn
[ "$(field refused.top)" = "198.51.100.2 c2s 10, 198.51.100.1 c2s 5" ] ||
    fail "status: $(xgc status)"

# 3. The store, after a stop (which writes the rollups).
ns_stop "$XGPID" 10 || fail "the daemon's exit: $(tail "$T/xg.log")"
"$XG" report -c "$T/xg.conf" --since 2h > "$T/report.txt" ||
    fail "report failed"
expect_grep ' 0 bans, 15 refused by cap$' "$T/report.txt"
expect_grep ' bans  refused ' "$T/report.txt"
out_eq 15 report_json "r['totals']['refused']" > /dev/null ||
    fail "report --json: $(cat "$T/report.json")"
out_eq 0 report_json "r['totals']['bans']" > /dev/null ||
    fail "report --json: $(cat "$T/report.json")"
[ "$(report_json "top['198.51.100.1']['refused'], \
    top['198.51.100.1']['bans']")" = "5 0" ] ||
    fail "report --json: $(cat "$T/report.json")"
out_eq 10 report_json "top['198.51.100.2']['refused']" > /dev/null ||
    fail "report --json: $(cat "$T/report.json")"
out_eq 15 report_json "sum(h['refused'] for h in r['hours'])" \
    > /dev/null || fail "report --json hours: $(cat "$T/report.json")"
"$XG" report -c "$T/xg.conf" --since 2h --ip 198.51.100.1 \
    > "$T/report-ip.txt" || fail "report --ip failed"
expect_grep 'verdicts  refused' "$T/report-ip.txt"
"$XG" report -c "$T/xg.conf" --since 2h --sort refused --format csv \
    > "$T/report.csv" || fail "report --format csv failed"
sed -n 2p "$T/report.csv" | grep -q '^198\.51\.100\.2,' ||
    fail "report --sort refused: $(cat "$T/report.csv")"
# Per cap in the store's rows.
python3 -c "
import sqlite3, sys
db = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True)
for r in db.execute('SELECT addr, refused_concurrency, refused_churn '
    'FROM rollups WHERE refused > 0 ORDER BY addr'):
    print(*r)" "$T/state/xmppguard.db" > "$T/rows" || fail "reading the store"
expect_grep '^198\.51\.100\.1 5 0$' "$T/rows"
expect_grep '^198\.51\.100\.2 0 10$' "$T/rows"

# 4. A second run: its refusals add to the first's.  Whether the kernel's
# churn bucket of .2 outlived the restart or not, at least 3 of 23 are
# refused; the test counts what xgload saw.
ns_xg_start "$T/xg2.log" "$T/xg.conf"
XGPID=$NS_PID
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 23 \
    -s 198.51.100.2 --concurrency 1 --rate 50 --timeout 5 > "$T/churn2.out"
failed=$(sed -n 's/.*failed=\([0-9]*\) .*/\1/p' "$T/churn2.out")
[ "${failed:-0}" -ge 3 ] || fail "no churn refusals in the second run: $(cat "$T/churn2.out")"
wait_until "$XG_WAIT" "status did not count the second run's refusals" \
    out_eq "$failed" field caps.refused.churn
ns_stop "$XGPID" 10 || fail "the daemon's exit: $(tail "$T/xg2.log")"
out_eq $((10 + failed)) report_json "top['198.51.100.2']['refused']" \
    > /dev/null || fail "after the restart: $(cat "$T/report.json")"
out_eq 5 report_json "top['198.51.100.1']['refused']" > /dev/null ||
    fail "after the restart: $(cat "$T/report.json")"
ns_stop "$HOLD"
exit 0
