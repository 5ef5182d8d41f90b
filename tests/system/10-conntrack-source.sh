# The conntrack source (ct.c, through tests/tools/ctwatch) against the real
# kernel, in a namespace of its own: real TCP connections over IPv4 and
# IPv6 give SYN, OPEN, CLOSE, BYTES and END events with the right flags;
# a half-open flow (SYN/ACK dropped, what a spoofed SYN looks like) never
# opens; unwatched ports and UDP say nothing; a live session's bytes are
# reported before it closes; the final counters equal the kernel's own
# (conntrack -E); and an overrun, forced by a tiny buffer and a stalled
# reader, is counted and repaired by a resync without breaking the
# one-CLOSE-and-one-END-per-flow promise.
. "$TOP/tests/system/lib.sh"
need_root
CTWATCH=${CTWATCH:-$TOP/build/plain/tests/ctwatch}
if [ ! -x "$CTWATCH" ]; then
	echo "skipped: $CTWATCH not built"
	exit 77
fi
command -v python3 >/dev/null 2>&1 || { echo "skipped: needs python3"; exit 77; }
ns_private ns
in_ns() { ip netns exec "$ns" "$@"; }

# Short TCP timeouts, so DESTROY comes in seconds rather than minutes.
in_ns sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_close=1 \
    net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_close_wait=1 \
    net.netfilter.nf_conntrack_tcp_timeout_last_ack=1 \
    net.netfilter.nf_conntrack_tcp_timeout_syn_sent=3 \
    net.netfilter.nf_conntrack_tcp_timeout_syn_recv=3 ||
    fail "conntrack sysctls"
# Conntrack runs in a namespace only once a rule uses it; the output rule
# drops the SYN/ACKs of 5269 after conntrack saw them.
in_ns nft -f - <<'EOF' || fail "nft ruleset"
table inet xgtest {
	chain in {
		type filter hook input priority 0;
		ct state established,related accept
	}
	chain out {
		type filter hook output priority 0;
		tcp sport 5269 tcp flags & (syn | ack) == syn | ack drop
	}
}
EOF

cat >"$T/server.py" <<'EOF'
import socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1024)
def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
EOF
# client.py HOST PORT BYTES [SECONDS]: echo BYTES, once a second for
# SECONDS more, then close.  A refused or unanswered connection is fine.
cat >"$T/client.py" <<'EOF'
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold = int(sys.argv[4]) if len(sys.argv) > 4 else 0
try:
    c = socket.create_connection((host, port), timeout=2)
except OSError:
    sys.exit(0)
for i in range(hold + 1):
    if i:
        time.sleep(1)
    c.sendall(b"x" * n)
    got = 0
    while got < n:
        got += len(c.recv(65536))
c.close()
EOF
# burst.py HOST PORT N: N short connections, as fast as they go.
cat >"$T/burst.py" <<'EOF'
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    c = socket.create_connection((host, port), timeout=2)
    c.sendall(b"x")
    c.recv(16)
    c.close()
EOF

for a in 127.0.0.1 ::1; do
	for p in 5222 5269 8080; do
		in_ns python3 "$T/server.py" "$a" "$p" &
	done
done
# (A client that finds no server goes quietly: wait for all six.)
listeners() {
	in_ns ss -Hltn | grep -c ':\(5222\|5269\|8080\) '
}
wait_until "$XG_WAIT" "the servers do not listen" out_eq 6 listeners

have_ct=0
if command -v conntrack >/dev/null 2>&1; then
	have_ct=1
	# (Not in_ns: $! must be conntrack's own PID.  A buffer of 16 MiB:
	# on a busy machine it loses nothing.)
	ip netns exec "$ns" conntrack -E -b 16777216 -o id >"$T/kernel" \
	    2>/dev/null &
	wait_until "$XG_WAIT" "conntrack -E does not listen" ct_listening $!
fi

# -s turns on accounting and timestamps inside the namespace; a dump a
# second reads the live counters (and reaps expired entries).
ip netns exec "$ns" "$CTWATCH" -s -p 1000 >"$T/events" 2>"$T/log" &
watch=$!
wait_for_line '^ready' "$T/events"

# ctw_stats PID FILE: asks that ctwatch for a stats line (SIGUSR1) and
# prints the newest in FILE (this request's, or the one before).
# ctw_field PID FILE KEY: that line's KEY.  ctw_last FILE: its last line.
ctw_stats() {
	kill -USR1 "$1" && grep '^stats ' "$2" | tail -n 1
}
ctw_field() {
	ctw_stats "$1" "$2" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

in_ns python3 "$T/client.py" 127.0.0.1 5222 1000
in_ns python3 "$T/client.py" ::1 5222 20000
in_ns python3 "$T/client.py" 127.0.0.1 5222 4000 3
in_ns python3 "$T/client.py" 127.0.0.1 5269 1
in_ns python3 "$T/client.py" 127.0.0.1 8080 100
in_ns python3 -c 'import socket; socket.socket(socket.AF_INET,
    socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 5353))'

# Four flows to watched ports end: three sessions and the half-open one.
wait_until "$XG_WAIT" "not 4 conn_end" out_ge 4 grep -c '^conn_end' "$T/events"
# A late, wrong event would come from a dump (one a second): let two more
# run before looking.
wait_until "$XG_WAIT" "ctwatch gives no stats" \
    out_has dumps= ctw_stats $watch "$T/events"
d0=$(ctw_field $watch "$T/events" dumps)
wait_until "$XG_WAIT" "ctwatch does no more dumps" \
    out_ge $((d0 + 2)) ctw_field $watch "$T/events" dumps
kill -TERM $watch
wait $watch || fail "ctwatch exited with status $?"
cat "$T/events"
tail -n 1 "$T/events" > "$T/final"

count() { grep -c "$1" "$T/events"; }
[ "$(count '^conn_open ')" -eq 3 ] || fail "not 3 conn_open"
[ "$(count '^conn_close ')" -eq 3 ] || fail "not 3 conn_close"
[ "$(count '^conn_end ')" -eq 4 ] || fail "not 4 conn_end"
[ "$(count '^conn_syn ')" -eq 4 ] || fail "not 4 conn_syn"
[ "$(count '^conn_open .*addr=::1 ')" -eq 1 ] || fail "no IPv6 conn_open"
# The handshake is what counts; a SYN answered into the void is not one.
[ "$(count '^conn_open .*port=5269 ')" -eq 0 ] || fail "half-open flow opened"
expect_grep '^conn_syn .*port=5269 service=s2s .*flags=S ' "$T/events"
# It ends without a handshake (no H).  The kernel filter drops messages in
# SYN_RECV, so its DESTROY does not reach us: the next dump finds it gone
# (R).  Either way it ends exactly once.
expect_grep '^conn_end .*port=5269 service=s2s .*flags=SR\{0,1\} ' "$T/events"
[ "$(count '^conn_open .*flags=HS ')" -eq 3 ] || fail "conn_open flags"
grep -q 'port=8080\|port=5353' "$T/events" && fail "unwatched flow reported"
[ "$(grep -v 'port=5269 ' "$T/events" | grep -c 'flags=[HSP]*R')" -eq 0 ] ||
    fail "resync flags without a gap"

# The held session's bytes come while it is open, not only at its end.
held=$(awk '/^conn_close / {
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^flow=/) f = substr($i, 6)
		if ($i ~ /^duration=/) d = substr($i, 10) + 0
	}
	if (d >= 3000000) print f
}' "$T/events")
[ -n "$held" ] || fail "no session of 3 s or more"
b=$(grep -n "^conn_bytes .*flow=$held " "$T/events" | head -n 1 | cut -d: -f1)
c=$(grep -n "^conn_close .*flow=$held " "$T/events" | cut -d: -f1)
[ -n "$b" ] && [ "$b" -lt "$c" ] || fail "no conn_bytes before conn_close"

# Totals equal the kernel's DESTROY counters, flow by flow.
destroyed() {	# each flow that ended has its DESTROY from conntrack -E
	local id
	for id in $(sed -n 's/^conn_end .* flow=\([0-9]*\) .*/\1/p' \
	    "$T/events"); do
		grep -q "DESTROY.* id=$id\$" "$T/kernel" ||
		    { echo "no DESTROY for flow $id yet"; return 1; }
	done
}
if [ $have_ct -eq 1 ]; then
	wait_until "$XG_WAIT" "conntrack -E did not show every DESTROY" \
	    destroyed
	grep '^conn_end' "$T/events" | while read -r line; do
		id=$(echo "$line" | sed 's/.* flow=\([0-9]*\) .*/\1/')
		in=$(echo "$line" | sed 's/.* in=\([0-9]*\)\/\([0-9]*\) .*/\1 \2/')
		out=$(echo "$line" | sed 's/.* out=\([0-9]*\)\/\([0-9]*\) .*/\1 \2/')
		k=$(grep "DESTROY.* id=$id\$" "$T/kernel") ||
		    fail "flow $id: no DESTROY from conntrack -E"
		kin=$(echo "$k" | sed 's/.*dport=[0-9]* packets=\([0-9]*\) bytes=\([0-9]*\) .*src=.*/\2 \1/')
		kout=$(echo "$k" | sed 's/.*packets=\([0-9]*\) bytes=\([0-9]*\) .*$/\2 \1/')
		[ "$in" = "$kin" ] || fail "flow $id: in $in, kernel $kin"
		[ "$out" = "$kout" ] || fail "flow $id: out $out, kernel $kout"
	done || exit 1
fi
expect_grep '^stats .* flows=0 halfopen=0 ' "$T/final"
expect_grep ' overruns=0 ' "$T/final"
expect_grep ' acct=1 ' "$T/final"

# An overrun: the smallest buffer the kernel allows, a reader stopped while
# 300 connections come and go, then let go.  It must count the overrun,
# resync, and still end every flow exactly once.
ip netns exec "$ns" "$CTWATCH" -b 1 -B 1 -p 1000 >"$T/events2" \
    2>"$T/log2" &
watch=$!
wait_for_line '^ready' "$T/events2"
kill -STOP $watch
# The burst's events are queued (and most dropped) as its packets pass.
in_ns python3 "$T/burst.py" 127.0.0.1 5222 300 || fail "burst"
kill -CONT $watch
# It counts the overrun and resyncs; every entry expires within a few
# seconds, and dumps reap, until no flow is left.
settled() {
	ctw_stats $watch "$T/events2" |
	    grep ' overruns=[1-9].* resyncs=[1-9].* flows=0 halfopen=0 '
}
wait_until -i 0.2 "$XG_WAIT" "flows left after the overrun" settled
kill -TERM $watch
wait $watch || fail "ctwatch exited with status $?"
cat "$T/log2"
tail -n 1 "$T/events2" | tee "$T/final2"
expect_grep 'ct: netlink overrun' "$T/log2"
grep -q 'overruns=0 ' "$T/final2" && fail "no overrun counted"
grep -q 'resyncs=0 ' "$T/final2" && fail "no resync after the overrun"
expect_grep 'flows=0 halfopen=0 ' "$T/final2"
awk '
/^conn_/ {
	for (i = 2; i <= NF; i++) if ($i ~ /^flow=/) f = substr($i, 6)
	n[$1 " " f]++
	flows[f] = 1
}
END {
	bad = 0
	for (f in flows) {
		o = n["conn_open " f] + 0; c = n["conn_close " f] + 0
		s = n["conn_syn " f] + 0; e = n["conn_end " f] + 0
		if (o > 1 || s > 1 || c != o || e != 1) {
			print "flow " f ": syn " s " open " o " close " c \
			    " end " e
			bad = 1
		}
		opened += o
	}
	print "flows opened: " opened
	exit bad
}' "$T/events2" || fail "a flow without exactly one END"
