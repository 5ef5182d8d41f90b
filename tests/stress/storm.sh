# storm: XG_STORM_ADDRS (20000) addresses each cross max_new = 1/1h at
# once (two handshakes each, as fast as xgload goes or at XG_STORM_RATE
# connections/s), kill_established on (the default).  Figures: how long
# the offences took, the time from the last offence (the churn's end) to
# the last ban in the kernel (`nft list set` in the server namespace),
# status p99 and max meanwhile, the longest loop iteration.  Hard
# invariant: every address banned (within XG_STORM_DEADLINE, 600 s), and
# nobody else.  The addresses are 10.64.0.1 onwards (private, inside the
# namespace pair only), dense, so the network limits are off.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/stress/lib.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
N=${XG_STORM_ADDRS:-20000}
RATE=${XG_STORM_RATE:-0}
DEADLINE=${XG_STORM_DEADLINE:-600}
[ "$N" -ge 1 ] && [ "$N" -le 60000 ] || fail "XG_STORM_ADDRS: 1 to 60000"
last=$(python3 -c "import ipaddress, sys
print(ipaddress.ip_address('10.64.0.1') + int(sys.argv[1]) - 1)" "$N")
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 10.64.0.1 "$last"
ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1
ns_exec "$SRV" sysctl -qw net.core.somaxconn=4096 2>/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null
STRESS_SOCK=$T/ctl.sock
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service c2s]
max_new = 1/1h
net_max_new = none
net_max_concurrent = 0
[ban]
nft_table = xgstress
CONF
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --backlog 4096 --seconds $((DEADLINE + 300))
wait_for_line 'listening' "$T/serve.log"
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
XGPID=$NS_PID
wait_for_line 'ready' "$T/xg.log"

in_kernel() {
	nft_count "$SRV" xgstress ban4
}
poller_start 0.1
xg_now
t0=$XG_NOW
ns_spawn "$CLI" "$T/churn.out" "$XGLOAD" churn -d 192.0.2.1 -p 5222 \
    -n $((2 * N)) -s "10.64.0.1-$last" -j 2 --rate "$RATE" --timeout 2 \
    --seconds "$DEADLINE"
CHURN=$NS_PID
wait_pid_gone "$CHURN" "$DEADLINE" || fail "the churn did not end"
xg_now
t_end=$XG_NOW
CHURN_LINE=$(grep '^mode=churn' "$T/churn.out" | tail -n 1)
echo "churn: $CHURN_LINE"
# The last ban's time: when the first look that finds them all began
# (a look at 20,000 elements takes a while itself); 0 if all were in when
# the churn ended.  Bounded by DEADLINE.
at_end=$(in_kernel)
t_ban=$t_end got=$at_end
while [ "$got" -lt "$N" ]; do
	xg_now
	t_ban=$XG_NOW
	[ $(((t_ban - t_end) / 1000000)) -lt "$DEADLINE" ] || break
	sleep 0.05
	got=$(in_kernel)
done
poller_stop
"$XG" status -s "$STRESS_SOCK" | tee "$T/status.txt"
active=$(sfield bans.active)

figure addresses "$N"
figure offence_seconds "$(((t_end - t0) / 1000000)).$(((t_end - t0) / 100000 % 10))"
figure churn_rate "$(kv rate "$CHURN_LINE")"
figure churn_ok "$(kv ok "$CHURN_LINE")"
figure in_kernel_at_end "$at_end"
figure last_ban_after_offence_ms "$(((t_ban - t_end) / 1000))"
figure bans_in_kernel "$got"
figure bans_active "$active"
figure status_calls "$POLL_N"
figure status_fails "$POLL_FAILS"
figure status_p99_ms "$POLL_P99_MS"
figure status_max_ms "$POLL_MAX_MS"
figure status_sock_p99_ms "$PING_P99_MS"
figure status_sock_max_ms "$PING_MAX_MS"
figure loop_max_ms "$(sfield loop.iteration_max_ms)"
figure kill_tuples "$(sfield firewall.kill_tuples)"
figure drops_status "$(sfield conntrack.dropped)"
figure rss_peak_kb "$(rss_kb "$XGPID" VmHWM)"
[ "$got" -ge "$N" ] || invariant "$got of $N bans in the kernel after $DEADLINE s"
[ "$active" = "$N" ] || invariant "$active bans in force, not $N"
figures_done "$N addresses in $(((t_end - t0) / 1000000)) s: last ban $(((t_ban - t_end) / 1000)) ms after the last offence; status p99 $POLL_P99_MS ms, max $POLL_MAX_MS ms; loop max $(sfield loop.iteration_max_ms) ms"
exit 0
