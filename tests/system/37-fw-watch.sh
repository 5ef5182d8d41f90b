# The firewall watched (fw_watch.c): someone flushes the ruleset, deletes
# the table or flushes a set behind the daemon's back, and within a second
# or two the table is back with every ban in force, said in the log and
# counted (firewall.restores).  With the firewall failing (a table of the
# same name whose set nft cannot take over) the attempts back off instead
# of running nft each loop iteration, the bans stay in force (status), and
# all of them, those made meanwhile too, are in once it works again.
# Reload restores the whole set.  The same through the privileged helper.
# Everything happens in the test's own namespace: the host's firewall is
# never touched.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
ns_setup

# Restores must come within RESTORE_S seconds of the change.
RESTORE_S=${RESTORE_S:-2}

chmod 755 "$T"
write_conf() {	# write_conf USER
	cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/state/ctl.sock
user = $1
[conntrack]
enabled = no
[service c2s]
ports = 5222
[ban]
duration = 1h
nft_table = xgwatch
CONF
	chmod 644 "$T/xg.conf"
}

sock=$T/state/ctl.sock
status_field() {	# status_field KEY.PATH: a value from status --json
	xg_status_field "$sock" "$1"
}
# elements N: 0 if the kernel's ban4 holds exactly N of our addresses.
elements() {
	local n
	n=$(ns_exec "$SRV" nft list set inet xgwatch ban4 2>/dev/null |
	    grep -o '198\.51\.100\.[0-9]*' | sort -u | wc -l)
	echo "ban4 holds $n"
	[ "$n" -eq "$1" ]
}
# restored WHAT N: after WHAT was done, the table is back with N bans
# within RESTORE_S seconds; prints how long it took.
restored() {
	local t0
	xg_now
	t0=$XG_NOW
	wait_until -i 0.02 "$RESTORE_S" "not restored after $1" elements "$2"
	xg_now
	echo "$1: $2 bans back in $(((XG_NOW - t0) / 1000)) ms"
}

start_daemon() {	# start_daemon LOG
	ns_xg_start "$1" "$T/xg.conf"
	xg=$NS_PID
}

write_conf ""
start_daemon "$T/xg.log"
for i in $(seq 1 20); do
	"$XG" ban "198.51.100.$i" -s "$sock" >/dev/null || fail "ban $i"
done
wait_until "$XG_WAIT" "20 bans not in the kernel" elements 20

# 1. flush ruleset: everything of every table gone.
ns_exec "$SRV" nft flush ruleset
restored "flush ruleset" 20
wait_for_line 'table inet xgwatch vanished (flush ruleset?): restored with 20 bans' "$T/xg.log"
ns_exec "$SRV" nft list chain inet xgwatch filter | grep -q '@ban4' ||
    fail "the chain's rules are not back"

# 2. delete table.
ns_exec "$SRV" nft delete table inet xgwatch
restored "delete table" 20
wait_for_line 'table inet xgwatch vanished (delete table?): restored' "$T/xg.log"

# 3. a set flushed.
ns_exec "$SRV" nft flush set inet xgwatch ban4
restored "flush set" 20
wait_for_line '20 bans in force deleted from set inet xgwatch ban4' "$T/xg.log"

# 4. One ban lifted by the operator is no change; one deleted by hand is.
"$XG" unban 198.51.100.20 -s "$sock" >/dev/null || fail "unban"
wait_until "$XG_WAIT" "unban not in the kernel" elements 19
ns_exec "$SRV" nft delete element inet xgwatch ban4 '{ 198.51.100.19 }'
restored "delete element" 19
[ "$(status_field firewall.restores)" = 4 ] ||
    fail "restores: $(status_field firewall.restores), not 4"
[ "$(status_field bans.active)" = 19 ] || fail "not 19 bans in force"

# 5. The firewall failing: the table replaced, in one transaction, by one
# whose set ban4 has another type, which nft refuses to take over.  Each
# attempt is one nft run; they back off (100 ms doubling to 5 s).
f0=$(status_field firewall.failures)
ns_exec "$SRV" nft -f - <<'EOF' || fail "a conflicting table"
delete table inet xgwatch
add table inet xgwatch
add set inet xgwatch ban4 { type ipv6_addr; }
EOF
wait_until "$XG_WAIT" "no failure seen" out_ge $((f0 + 1)) \
    status_field firewall.failures
# Bans meanwhile: in force here, kept for the firewall.
for i in 21 22; do
	"$XG" ban "198.51.100.$i" -s "$sock" >/dev/null 2>&1
done
# From one failed run seen (timed as it is seen) to the fourth after it:
# at least four pauses doubling from 100 ms, 1.5 s (without a backoff,
# four loop iterations: milliseconds).  Bounded: 4 x 5 s at the most.
f1=$(status_field firewall.failures)
wait_until -i 0.01 "$XG_WAIT" "no failed run after $f1" \
    out_ge $((f1 + 1)) status_field firewall.failures
xg_now
t1=$XG_NOW f1=$XG_SEEN
wait_until -i 0.01 "$XG_WAIT" "not 4 failed runs after $f1" \
    out_ge $((f1 + 4)) status_field firewall.failures
xg_now
f2=$XG_SEEN
echo "firewall failing: $((f2 - f1)) failed nft runs in" \
    "$(((XG_NOW - t1) / 1000)) ms"
[ $((XG_NOW - t1)) -ge 1500000 ] ||
    fail "$((f2 - f1)) failed runs in $(((XG_NOW - t1) / 1000)) ms: no backoff"
[ "$(status_field bans.active)" = 21 ] || fail "bans lost while failing"
grep -q 'dropped' "$T/xg.log" && fail "a ban said dropped"
expect_grep 'kept and tried again in' "$T/xg.log"

# It works again: at the next attempt (5 s at most), all 21 are in.
ns_exec "$SRV" nft delete table inet xgwatch
wait_until 8 "not restored once the firewall works" elements 21
expect_grep 'restored with 21 bans' "$T/xg.log"

# 6. Reload restores the whole set, not only what is new.
ns_exec "$SRV" nft flush set inet xgwatch ban4
ns_exec "$SRV" nft flush set inet xgwatch ban4
"$XG" reload -s "$sock" >/dev/null || fail "reload"
wait_until 2 "reload did not restore the set" elements 21
ns_stop "$xg"

# 7. The same through the privileged helper (the daemon watches as
# nobody, the helper restores).
if getent passwd nobody >/dev/null; then
	write_conf nobody
	start_daemon "$T/xg-priv.log"
	expect_grep "privileges: running as nobody" "$T/xg-priv.log"
	wait_until "$XG_WAIT" "21 bans not back at start" elements 21
	ns_exec "$SRV" nft flush ruleset
	restored "flush ruleset (privilege separation)" 21
	ns_stop "$xg"
fi
exit 0
