# restart: kill -9 under the combined load (see combined.sh), for
# XG_RESTART_SECONDS (90) of load, the kill at 40% of it; started again at
# once.  A log attacker (10.66.200.1, connected) writes 4 failed logins
# before the kill and 4 after (limit 5 in 10 min).  Figures: time from the
# restart to "ready", the windows rebuilt ("rebuilt windows of N addresses
# from M events in X ms"), the straddling attacker's verdict, the 70
# attackers banned, false bans.  Hard invariants: the straddler banned for
# auth, no false ban.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/stress/lib.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
command -v sqlite3 >/dev/null 2>&1 || skip "no sqlite3"
S=${XG_RESTART_SECONDS:-90}
STRADDLER=10.66.200.1
EXTRA_BAD='10\.66\.200\.1/32'
load_setup
ip -n "$CLI" addr add "$STRADDLER/32" dev c0 || fail "$STRADDLER"
load_daemon "$T/xg.log"
ns_spawn "$CLI" "$T/straddler.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
    -n 1 -s "$STRADDLER" --seconds $((S + 120))
wait_for_line "established=1 failed=0" "$T/straddler.log" 60

n=0
fails() {	# fails COUNT: COUNT failed logins of the straddler, one write
	local i out=
	for i in $(seq 1 "$1"); do
		n=$((n + 1))
		out="$out$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00:00') [warning] <0.$((800000000 + n)).0>@ejabberd_c2s:process_auth_result/3:280 (tls|<0.$((800000000 + n)).0>) Failed c2s PLAIN authentication for s$n@example.org from ::ffff:$STRADDLER: Invalid username or password
"
	done
	printf '%s' "$out" >> "$T/logs/ej.log"
}
stored_fails() {
	sqlite3 "file:$T/state/xmppguard.db?mode=ro" \
	    "SELECT count(*) FROM events WHERE addr = '$STRADDLER' AND kind = 'auth_fail'" 2>/dev/null
}

poller_start 0.1
load_start "$S"
sleep $((S * 4 / 10))
fails 4
wait_until 60 "the straddler's 4 failures did not reach the store" \
    out_eq 4 stored_fails
kill -KILL "$XGPID"
wait_pid_gone "$XGPID" 10 || fail "the daemon survived kill -9"
# Where the restart must resume: the position saved with the last
# commit (the lines read after it and lost with the process are read
# again, by design).
saved=$(sqlite3 "file:$T/state/xmppguard.db?mode=ro" \
    "SELECT pos FROM log_positions WHERE name = 'ej'" |
    sed -n 's/.*offset=\([0-9]*\).*/\1/p')
[ -n "$saved" ] || fail "no saved position for the log"
lines_before=$(head -c "$saved" "$T/logs/ej.log" | wc -l)
poller_stop
before_p99=$POLL_P99_MS before_max=$POLL_MAX_MS
load_daemon "$T/xg2.log"
figure ready_ms "$READY_MS"
rebuilt=$(grep -o 'rebuilt windows of [0-9]* addresses from [0-9]* events in [0-9]* ms' "$T/xg2.log")
echo "restart: $rebuilt, ready after $READY_MS ms"
grep 'log ej: following' "$T/xg2.log"
resumed=no
grep -q 'log ej: following.*from the saved position' "$T/xg2.log" &&
    resumed=yes
poller_start 0.1
fails 4
load_wait
echo "churn: $CHURN_LINE"
echo "writer: $WRITER_LINE"
poll_until -i 0.5 60 out_eq 70 bots_banned
verdict=$(grep -c "verdict: $STRADDLER/32 auth: " "$T/xg2.log")
poll_until -i 0.5 60 grep -q "verdict: $STRADDLER/32 auth: " "$T/xg2.log" &&
    verdict=1
# Every line read: the writer's and the straddler's 8, from the saved
# position on.
total=$(($(kv written "$WRITER_LINE") + 8))
poll_until -i 0.5 120 out_ge $((total - lines_before)) sfield logs.ej.lines
lines_after=$(sfield logs.ej.lines)
poller_stop
"$XG" status -s "$STRESS_SOCK" | tee "$T/status.txt"
grep "verdict: $STRADDLER/32" "$T/xg2.log"
stored=$(stored_fails)
nb=$(bots_banned)
fb=$(false_bans)
figure seconds "$S"
figure rebuilt_addresses "$(echo "$rebuilt" | awk '{ print $4 }')"
figure rebuilt_events "$(echo "$rebuilt" | awk '{ print $7 }')"
figure rebuild_ms "$(echo "$rebuilt" | awk '{ print $10 }')"
figure straddler_banned "$verdict"
figure straddler_failures_stored "$stored"
figure resumed_from_saved_position "$resumed"
figure lines_total "$total"
figure lines_saved_at_kill "$lines_before"
figure lines_read_after_restart "$lines_after"
figure lines_lost "$((total - lines_before - lines_after))"
figure drops_after_restart "$(sfield conntrack.dropped)"
figure restore_line "$(grep -o 'restored in [0-9.]* ms (store [0-9.]* ms' "$T/xg2.log" |
    sed 's/restored in \([0-9.]*\) ms (store \([0-9.]*\) ms/\1ms,store:\2ms/')"
figure attackers_banned "$nb/70"
figure false_bans "$fb"
figure status_p99_ms_before "$before_p99"
figure status_max_ms_before "$before_max"
figure status_p99_ms_after "$POLL_P99_MS"
figure status_max_ms_after "$POLL_MAX_MS"
figure loop_max_ms_after "$(sfield loop.iteration_max_ms)"
figure churn_rate "$(kv rate "$CHURN_LINE")"
[ "$fb" = 0 ] || { "$XG" bans -s "$STRESS_SOCK" | head -20; invariant "$fb false bans"; }
[ "$verdict" = 1 ] ||
    invariant "$STRADDLER (4 failures before kill -9, 4 after) was not banned"
[ "$stored" = 8 ] ||
    invariant "the straddler's 8 failures are $stored events in the store (lines read twice or lost)"
[ $((lines_before + lines_after)) = "$total" ] ||
    invariant "lines across the restart: $lines_before saved before, $lines_after read after, $total written"
figures_done "ready $READY_MS ms after kill -9 ($rebuilt); straddler banned: $verdict; $nb/70 attackers banned, $fb false"
exit 0
