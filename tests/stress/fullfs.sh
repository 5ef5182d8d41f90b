# fullfs: the state directory on a small tmpfs (XG_FULLFS_SIZE, 8m, in a
# private mount namespace held by a process of the scenario's, as in
# 38-store-full) that fills up while the log grows at 20,000 lines/s with
# failed logins from XG_FULLFS_BANS (300) addresses that are banned
# (conntrack off: the lines need no corroboration), and as many bans by
# hand.  Figures: bans in the kernel, in force, unsaved; after kill -9 and
# a start with the disk still full, bans adopted; once there is room, the
# time until all are saved; the store-error alerts and the unsaved metric.
# Hard invariants: no ban leaves the kernel, every one is adopted and then
# saved.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/stress/lib.sh"

need_root
command -v nft >/dev/null 2>&1 || skip "no nft(8)"
command -v python3 >/dev/null 2>&1 || skip "no python3"
command -v unshare >/dev/null 2>&1 || skip "no unshare(1)"
command -v nsenter >/dev/null 2>&1 || skip "no nsenter(1)"
NB=${XG_FULLFS_BANS:-300}
SIZE=${XG_FULLFS_SIZE:-8m}
[ "$NB" -ge 1 ] && [ "$NB" -le 250 ] && NL=$NB || NL=250
ns_private NS
mkdir -p "$T/state" "$T/logs"
: > "$T/logs/ej.log"
mnt_private 3000
in_mnt mount -t tmpfs -o size="$SIZE" tmpfs "$T/state" || fail "tmpfs"
mountpoint -q "$T/state" && fail "the tmpfs is visible on the host"

chatd "$NS" ops ok
STRESS_SOCK=$T/ctl.sock
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[conntrack]
enabled = no
[ban]
nft_table = xgstress
[alert ops]
type = slack
url = http://127.0.0.1:$PORT/hooks/ops
events = store-error
[log ej]
path = $T/logs/ej.log
filter = ejabberd
CONF
start_daemon() {	# start_daemon LOG
	local t0
	xg_now
	t0=$XG_NOW
	nsenter -t "$MNT_HOLDER" -m -- ip netns exec "$NS" "$XG" run \
	    --foreground -c "$T/xg.conf" >"$1" 2>&1 &
	XGPID=$!
	wait_for_line 'ready' "$1" 120
	READY_MS=$(ms_since "$t0")
}
in_kernel() {
	nft_count "$NS" xgstress ban4
}
# The attackers of the log: 10.68.N.1 (up to 250, one per /24, so that
# no network is judged), the rest by hand (203.0.113.1 onwards, up to
# 250).
bad=$(seq -f '10.68.%g.1' 1 "$NL" | paste -sd, -)

start_daemon "$T/xg.log"
# Full: the store's file grows into whatever room is left.
in_mnt dd if=/dev/zero of="$T/state/fill" bs=64k >/dev/null 2>&1
in_mnt df -k "$T/state" | tail -n 1
ejwriter "$T/logs/ej.log" --rate 20000 --seconds 30 --attackers "$bad" \
    --fails 6
nhand=$((NB - NL))
[ "$nhand" -gt 250 ] && nhand=250
for i in $(seq 1 "$nhand"); do
	"$XG" ban "203.0.113.$i" -s "$STRESS_SOCK" >/dev/null 2>&1 ||
	    fail "ban $i refused"
done
wait "$WRITER"
echo "writer: $(cat "$T/writer.out")"
# Every line read, the bans settled.
poll_until -i 0.5 120 out_eq "$(kv written "$(cat "$T/writer.out")")" \
    sfield logs.ej.lines
active=$(stable 2 sfield bans.active)
poll_until -i 0.5 60 out_ge "$active" in_kernel
kern=$(in_kernel)
unsaved=$(sfield bans.unsaved)
"$XG" status -s "$STRESS_SOCK" | tee "$T/status.txt"
chatd_wait ops 1 'True' 60
alerts=$(chatd_count ops)
figure bans_active "$active"
figure bans_in_kernel "$kern"
figure bans_unsaved "$unsaved"
figure store_errors "$(sfield store.errors)"
figure alerts "$alerts"
grep -m 1 'bans cannot be saved' "$T/xg.log"
[ "$kern" -ge "$active" ] || invariant "$kern bans in the kernel of $active"
[ "$unsaved" -ge 1 ] || invariant "the disk was full and nothing is unsaved"

# Killed, started again with the disk still full: adopted.
kill -KILL "$XGPID"
wait "$XGPID" 2>/dev/null
start_daemon "$T/xg2.log"
figure ready_ms_full "$READY_MS"
poll_until 10 out_ge "$kern" in_kernel
kern2=$(in_kernel)
adopted=$(sfield bans.adopted)
active2=$(sfield bans.active)
figure bans_in_kernel_after_restart "$kern2"
figure bans_adopted "$adopted"
figure bans_active_after_restart "$active2"
[ "$kern2" -ge "$kern" ] ||
    invariant "bans left the kernel at the restart: $kern2 of $kern"
[ "$active2" -ge "$active" ] ||
    invariant "bans in force after the restart: $active2 of $active"

# Room again: every ban saved.  The restart reads on in the log from the
# position saved before the disk filled, so the store needs room for
# those events too: the tmpfs grows to XG_FULLFS_ROOM (256m), as an
# operator would grow the disk.
xg_now
t0=$XG_NOW
in_mnt rm -f "$T/state/fill"
in_mnt mount -o remount,size="${XG_FULLFS_ROOM:-256m}" "$T/state" ||
    fail "remount"
stored() {
	in_mnt python3 -c "
import sqlite3
c = sqlite3.connect('file:$T/state/xmppguard.db?mode=ro', uri=True)
print(c.execute('SELECT count(*) FROM bans WHERE lifted IS NULL').fetchone()[0])"
}
if ! poll_until -i 0.2 120 out_ge "$active2" stored; then
	in_mnt df -k "$T/state" | tail -n 1
	grep -iE 'store|saved|full|log ej' "$T/xg2.log" | tail -n 20
	"$XG" status -s "$STRESS_SOCK"
fi
saved_ms=$(ms_since "$t0")
figure saved_after_room_ms "$saved_ms"
poll_until 10 out_eq 0 sfield bans.unsaved
figure bans_stored "$(stored)"
figure bans_unsaved_at_end "$(sfield bans.unsaved)"
[ "$(stored)" -ge "$active2" ] || invariant "only $(stored) of $active2 bans saved"
[ "$(sfield bans.unsaved)" = 0 ] || invariant "bans still unsaved with room"
figures_done "$active bans with the disk full ($unsaved unsaved, $kern in the kernel, $alerts alerts); $adopted adopted after kill -9; all saved $saved_ms ms after room was made"
kill -TERM "$XGPID"
wait "$XGPID" 2>/dev/null
exit 0
