# A ban storm from many addresses, on defaults but max_new = 1/1h: 2,000
# addresses (XG_STORM_N) connect twice each at 700 connections a second
# (XG_STORM_RATE), so every one of them crosses the limit on its second
# connection.  Every address must be banned in the kernel within 2 s of the
# load's end, and `status` must answer within 0.5 s throughout.
#
# The addresses come from 198.18.0.0/15 (RFC 2544, set aside for
# benchmarks: it exists only inside the test's namespaces), 100 in each
# /24 so that no network limit is reached and every ban is one address's.
# XG_STORM_REPORT=FILE receives the figures; XG_STORM_WAIT=S (default 60)
# bounds the wait for the bans, for timing a slower binary.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
ns_setup
N=${XG_STORM_N:-2000}
RATE=${XG_STORM_RATE:-700}
PER24=100
[ $((N % PER24)) -eq 0 ] && [ "$N" -le 25600 ] ||
    fail "XG_STORM_N must be a multiple of $PER24, at most 25600"
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null

# 198.18.A.B: the /24s 198.18.0 ... 198.19.255, hosts .1 to .100.
sources=
i=0
while [ $i -lt $((N / PER24)) ]; do
	net="198.$((18 + i / 256)).$((i % 256))"
	sources="$sources${sources:+,}$net.1-$net.$PER24"
	i=$((i + 1))
done
echo "$sources" | tr ',' '\n' | while IFS=- read -r first last; do
	"$XGLOAD" addrs -s "$first-$last"
done | sed 's|.*|addr add &/32 dev c0|' > "$T/addrs.batch"
ip -n "$CLI" -batch "$T/addrs.batch" || fail "adding $N addresses"
[ "$(wc -l < "$T/addrs.batch")" -eq "$N" ] || fail "not $N addresses"

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
ports = 5222
max_new = 1/1h
# banned at the limit (41-kernel-caps tests the kernel caps)
kernel_caps = no
[ban]
nft_table = xgtest
CONF

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --backlog 4096 --seconds 300
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
# kernel_bans: how many of the storm's addresses the kernel drops.
kernel_bans() {
	ns_exec "$SRV" nft list set inet xgtest ban4 |
	    grep -o '198\.1[89]\.[0-9]*\.[0-9]*' | sort -u | wc -l
}

# `status`, timed, over and over until told to stop (bounded: 20000
# calls, 120 s more than the wait for the bans).
xg_status_poll_start 20000 $((${XG_STORM_WAIT:-60} + 120))

# The storm: two connections from each address, the second over max_new.
# Its seconds bound the run, not the rate: at RATE it takes 2N/RATE.
ns_spawn "$CLI" "$T/churn.out" "$XGLOAD" churn -d 192.0.2.1 -p 5222 \
    -n $((2 * N)) -s "$sources" --rate "$RATE" --fast-close --timeout 2 \
    --seconds $((2 * N / RATE + 60))
CHURN=$NS_PID
xg_now
t_start=$XG_NOW
wait "$CHURN"
xg_now
t_end=$XG_NOW
XG_NS_PIDS=$(echo "$XG_NS_PIDS" | tr ' ' '\n' | grep -vx "$CHURN" |
    tr '\n' ' ')
cat "$T/churn.out"
expect_grep "started=$((2 * N)) " "$T/churn.out"
# At most 2 s to the last ban; polled for longer so a failure says how
# far off it was.
wait_until -i 0.05 "${XG_STORM_WAIT:-60}" "not every address was banned in the kernel" \
    out_eq "$N" kernel_bans
xg_now
t_banned=$XG_NOW
xg_status_poll_stop

report="addresses=$N rate=$RATE"
report="$report load_ms=$(((t_end - t_start) / 1000))"
report="$report last_ban_after_load_ms=$(((t_banned - t_end) / 1000))"
report="$report status_max_ms=$((smax / 1000)) status_calls=$scalls"
echo "$report"
[ -n "${XG_STORM_REPORT:-}" ] && echo "$report" >> "$XG_STORM_REPORT"
[ "$sfails" -eq 0 ] || fail "status failed $sfails times of $scalls"
[ "$scalls" -gt 10 ] || fail "status was asked only $scalls times"
[ $((t_banned - t_end)) -le 2000000 ] ||
    fail "the last ban came $(((t_banned - t_end) / 1000)) ms after the load"
[ "$smax" -le 500000 ] ||
    fail "status took $((smax / 1000)) ms during the storm"
# Every one of them a churn verdict, and no one else banned.
xgc bans > "$T/bans.txt" || fail "bans"
[ "$(grep -c '^198\.1[89]\.' "$T/bans.txt")" -eq "$N" ] ||
    fail "bans lists $(grep -c '^198\.1[89]\.' "$T/bans.txt") of $N"
grep -v '^198\.1[89]\.' "$T/bans.txt" | grep -q '^[0-9a-f]' &&
    fail "other bans: $(grep -v '^198\.1[89]\.' "$T/bans.txt")"
exit 0
