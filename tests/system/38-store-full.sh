# No ban is lost to a full disk: the state directory on a small tmpfs
# (mounted in a private mount namespace held by a process of the test's:
# the host's mounts are never touched), filled up, then 40 bans.  All 40
# are in the kernel, status says 40 unsaved and the log says why, loudly.
# Killed and started again with the disk still full, the daemon adopts
# the 40 from the kernel instead of restoring them away; once there is
# room, they are saved in the store.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

need_root
ns_need 'nft(8)' python3 'unshare(1)' 'nsenter(1)'
ns_private NS

# The mount namespace, held by a sleeping process, with the tmpfs.
mkdir -p "$T/state"
mnt_private 600
in_mnt mount -t tmpfs -o size=4m tmpfs "$T/state" || fail "tmpfs"
mountpoint -q "$T/state" && fail "the tmpfs is visible on the host"

sock=$T/ctl.sock
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $sock
[conntrack]
enabled = no
[service c2s]
ports = 5222
[ban]
duration = 1h
nft_table = xgfull
CONF

start_daemon() {	# start_daemon LOG
	# nsenter and ip exec, so $! is the daemon's.
	nsenter -t "$MNT_HOLDER" -m -- ip netns exec "$NS" "$XG" run \
	    --foreground -c "$T/xg.conf" >"$1" 2>&1 &
	xg=$!
	wait_for_line 'ready' "$1"
}
status_field() {	# status_field KEY.PATH: a value from status --json
	xg_status_field "$sock" "$1"
}
elements() {	# elements N: 0 if the kernel holds N of the 40
	local n
	n=$(ip netns exec "$NS" nft list set inet xgfull ban4 2>/dev/null |
	    grep -o '198\.51\.100\.[0-9]*' | sort -u | wc -l)
	echo "ban4 holds $n"
	[ "$n" -eq "$1" ]
}
stored() {	# stored N: 0 if the store holds N bans in force
	local n
	n=$(in_mnt python3 -c "
import sqlite3
c = sqlite3.connect('file:$T/state/xmppguard.db?mode=ro', uri=True)
print(c.execute('SELECT count(*) FROM bans WHERE lifted IS NULL').fetchone()[0])")
	echo "the store holds $n"
	[ "$n" -eq "$1" ]
}

start_daemon "$T/xg.log"
# Full: every block of the tmpfs taken.
in_mnt dd if=/dev/zero of="$T/state/fill" bs=64k >/dev/null 2>&1
in_mnt df -k "$T/state" | tail -n 1
for i in $(seq 1 40); do
	"$XG" ban "198.51.100.$i" -s "$sock" >/dev/null 2>&1 ||
	    fail "ban $i refused"
done
wait_until "$XG_WAIT" "40 bans not in the kernel" elements 40
[ "$(status_field bans.active)" = 40 ] || fail "not 40 in force"
unsaved=$(status_field bans.unsaved)
echo "unsaved: $unsaved"
[ "$unsaved" = 40 ] || fail "unsaved: $unsaved, not 40"
# Said at the first failure, then once a minute with the count then.
wait_for_line 'bans cannot be saved: database or disk is full: 1 ban held in memory and in the kernel' "$T/xg.log"
"$XG" status -s "$sock" | grep -q '40 unsaved' || fail "status line"

# Killed, started again with the disk still full: adopted, not removed.
kill -KILL "$xg"
wait "$xg" 2>/dev/null
start_daemon "$T/xg2.log"
expect_grep 'adopted' "$T/xg2.log"
wait_until 5 "the 40 bans left the kernel" elements 40
[ "$(status_field bans.active)" = 40 ] || fail "not 40 in force again"
[ "$(status_field bans.adopted)" = 40 ] ||
    fail "adopted: $(status_field bans.adopted)"

# Room again: saved within a few seconds (the retry backs off to 8 s).
in_mnt rm -f "$T/state/fill"
wait_until 15 "the adopted bans were not saved" stored 40
wait_until 5 "still unsaved" out_eq 0 status_field bans.unsaved
expect_grep 'the store can be written again: 40 bans' "$T/xg2.log"
kill -TERM "$xg"
wait "$xg" 2>/dev/null
exit 0
