# rotation: the ejabberd log grows at XG_ROT_RATE (20,000) lines/s,
# XG_ROT_LINES (1,000,000) lines in all, renamed XG_ROT_ROTATIONS (20)
# times as logrotate does (ejwriter.py --rotations), the daemon on its
# defaults (conntrack on in an empty namespace: nothing corroborates the
# lines, nobody is banned).  Figures: lines written and read, rotations
# followed, the daemon's events against what test-filter finds in all the
# generations, log_lost_bytes_total.  Hard invariants: no line lost, none
# read twice, no byte reported lost, the events equal test-filter's.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/stress/lib.sh"

need_root
command -v python3 >/dev/null 2>&1 || fail "python3 not installed"
LINES=${XG_ROT_LINES:-1000000}
RATE=${XG_ROT_RATE:-20000}
ROT=${XG_ROT_ROTATIONS:-20}
ns_private ns
mkdir -p "$T/logs"
: > "$T/logs/ej.log"
STRESS_SOCK=$T/ctl.sock
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[ban]
nft_table = xgstress
[log ej]
path = $T/logs/ej.log
filter = ejabberd
CONF
ip netns exec "$ns" "$XG" run --foreground -c "$T/xg.conf" \
    >"$T/xg.log" 2>&1 &
XGPID=$!
wait_for_line 'ready' "$T/xg.log"
poller_start 0.2
ejwriter "$T/logs/ej.log" --rate "$RATE" --lines "$LINES" \
    --seconds $((LINES / RATE * 3 + 60)) --rotations "$ROT"
wait "$WRITER"
WRITER_LINE=$(cat "$T/writer.out")
echo "writer: $WRITER_LINE"
written=$(kv written "$WRITER_LINE")
poll_until -i 0.5 120 out_ge "$written" sfield logs.ej.lines
got=$(stable 2 sfield logs.ej.lines)
poller_stop
"$XG" status -s "$STRESS_SOCK" | tee "$T/status.txt"
all=""
for g in $(seq $((ROT + 1)) -1 1); do
	[ -f "$T/logs/ej.log.$g" ] && all="$all $T/logs/ej.log.$g"
done
cat $all "$T/logs/ej.log" > "$T/all.log"
rm -f $all
want=$("$XG" test-filter "$TOP/filters/ejabberd.conf" "$T/all.log" --json |
    python3 -c "import json,sys; print(json.load(sys.stdin)['events'])")
rm -f "$T/all.log"
events=$(stable 2 sfield logs.ej.events)
lost=$(($(sfield logs.ej.lost_truncated) + $(sfield logs.ej.lost_compressed)))
figure lines_written "$written"
figure lines_read "$got"
figure lines_lost "$((written - got))"
figure rotations_made "$(kv rotations "$WRITER_LINE")"
figure rotations_followed "$(sfield logs.ej.rotations)"
figure events "$events"
figure events_test_filter "$want"
figure log_lost_bytes_total "$lost"
figure write_seconds "$(kv seconds "$WRITER_LINE")"
figure status_p99_ms "$POLL_P99_MS"
figure status_max_ms "$POLL_MAX_MS"
figure loop_max_ms "$(sfield loop.iteration_max_ms)"
[ "$got" = "$written" ] ||
    invariant "the daemon read $got lines of $written"
[ "$lost" = 0 ] || invariant "$lost bytes reported lost in rename rotations"
[ "$events" = "$want" ] ||
    invariant "$events events, test-filter finds $want"
figures_done "$got/$written lines over $(sfield logs.ej.rotations) rotations at $RATE lines/s, $events events (test-filter: $want), $lost bytes lost"
kill -TERM "$XGPID"
wait_pid_gone "$XGPID" || fail "daemon ignored SIGTERM"
exit 0
