# flush: under the combined load (see combined.sh) for XG_FLUSH_SECONDS
# (90), with XG_FLUSH_BANS (1000) bans made by hand besides the
# attackers', `nft flush ruleset` in the server namespace XG_FLUSH_TIMES
# (5) times, XG_FLUSH_EVERY (10) seconds apart (the namespace's own
# conntrack rule put back at once, so the churn goes on being seen).
# Figures: per flush and at most, the time until every ban in force is
# back in the kernel; the firewall's restores and failed runs.  Hard
# invariant: every ban back (within 30 s) after each flush, no false ban.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/stress/lib.sh"

ns_require
command -v python3 >/dev/null 2>&1 || skip "no python3"
S=${XG_FLUSH_SECONDS:-90}
NB=${XG_FLUSH_BANS:-1000}
TIMES=${XG_FLUSH_TIMES:-5}
EVERY=${XG_FLUSH_EVERY:-10}
[ "$NB" -le 60000 ] || fail "XG_FLUSH_BANS: at most 60000"
EXTRA_BAD='10\.67\.[0-9]+\.[0-9]+/32'
load_setup
load_daemon "$T/xg.log"
last=$(python3 -c "import ipaddress, sys
print(ipaddress.ip_address('10.67.0.1') + int(sys.argv[1]) - 1)" "$NB")
xg_now
t0=$XG_NOW
for a in $("$XGLOAD" addrs -s "10.67.0.1-$last"); do
	"$XG" ban "$a" -s "$STRESS_SOCK" >/dev/null 2>&1 || fail "ban $a refused"
done
figure hand_bans "$NB"
figure hand_bans_ms "$(ms_since "$t0")"
in_kernel() {
	nft_count "$SRV" xgstress ban4
}
# all_back [N]: every ban in force is in the kernel, or at least N (the
# bans in force before a flush: within the run bans are only added, so
# one nft call tells).  (In force read first: a ban made between the two
# reads would otherwise look missing.)
all_back() {
	local k a=${1:-}
	[ -n "$a" ] || a=$(sfield bans.active)
	k=$(in_kernel)
	echo "$k in the kernel, $a in force"
	[ "$k" -ge "$a" ] && [ "$k" -gt 0 ]
}
wait_until 60 "the hand bans are not in the kernel" all_back
poller_start 0.1
load_start "$S"
worst=0 times=
for i in $(seq 1 "$TIMES"); do
	sleep "$EVERY"
	before=$(sfield bans.active)
	xg_now
	t1=$XG_NOW
	ns_exec "$SRV" nft flush ruleset
	ns_exec "$SRV" nft -f - <<-NFT || fail "xgtest back in $SRV"
	table inet xgtest {
		chain in {
			type filter hook input priority 0;
			ct state established,related accept
		}
	}
	NFT
	poll_until -i 0.02 30 all_back "$before" ||
	    invariant "flush $i: not every ban back within 30 s: $(cat "$T/.poll")"
	ms=$(ms_since "$t1")
	echo "flush $i: every ban back after $ms ms ($(cat "$T/.poll"))"
	all_back >/dev/null || wait_until 10 "flush $i: bans made since missing" all_back
	times="$times${times:+,}$ms"
	[ "$ms" -gt "$worst" ] && worst=$ms
done
load_wait
echo "churn: $CHURN_LINE"
poll_until -i 0.5 60 out_eq 70 bots_banned
poller_stop
"$XG" status -s "$STRESS_SOCK" | tee "$T/status.txt"
fb=$(false_bans)
figure flushes "$TIMES"
figure back_ms "$times"
figure back_max_ms "$worst"
figure bans_active "$(sfield bans.active)"
figure bans_in_kernel "$(in_kernel)"
figure restores "$(sfield firewall.restores)"
figure fw_failures "$(sfield firewall.failures)"
figure attackers_banned "$(bots_banned)/70"
figure false_bans "$fb"
figure status_p99_ms "$POLL_P99_MS"
figure status_max_ms "$POLL_MAX_MS"
figure status_sock_p99_ms "$PING_P99_MS"
figure status_sock_max_ms "$PING_MAX_MS"
figure churn_rate "$(kv rate "$CHURN_LINE")"
[ "$fb" = 0 ] || invariant "$fb false bans"
figures_done "$TIMES flushes with $(sfield bans.active) bans: all back within $worst ms (each: $times); $(sfield firewall.restores) restores, $(sfield firewall.failures) failed runs"
exit 0
