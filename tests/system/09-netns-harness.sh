# The namespace harness and xgload, checked against the kernel: two
# namespaces over a veth, 50 client addresses of each family; the flows
# xgload makes (hold, churn, bandwidth, syn) are the flows conntrack lists
# in the server namespace, with accounting bytes that match the payload
# sent; half-open flows stay half-open; the host's nf_conntrack_acct is
# untouched; cleanup leaves no namespace behind.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
xgload_build
host_acct=$(cat /proc/sys/net/netfilter/nf_conntrack_acct)

ns_setup
ns_add_client_addrs "$CLI" 198.51.100.1 198.51.100.50
ns_add_client_addrs "$CLI" 2001:db8:1::1 2001:db8:1::32
n=$(ip -n "$CLI" -o addr show dev c0 scope global | wc -l)
[ "$n" -eq 102 ] || fail "c0 has $n global addresses, want 2 + 50 + 50"
[ "$(cat /proc/sys/net/netfilter/nf_conntrack_acct)" = "$host_acct" ] ||
    fail "the host's nf_conntrack_acct changed"

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1,2001:db8::1 \
    -p 5222,5223,5269 --seconds 60
serve=$NS_PID
wait_for_line 'listening on 6 sockets' "$T/serve.log"

# ct_list ARGS...: the server's table, filtered, one flow a line.
ct_list() {
	ns_ct "$SRV" -L "$@" 2>/dev/null
}

# payload_check FILE PAYLOAD SYN ACK: in each flow of FILE, the
# original direction's bytes are one SYN, packets-1 segments of header
# size ACK (timestamps on, no SACK blocks) and PAYLOAD bytes of data.
# The first packets=/bytes= of a line are the original direction's.
payload_check() {
	awk -v want="$2" -v syn="$3" -v ack="$4" '
	{
		p = b = -1
		for (i = 1; i <= NF; i++) {
			if (p < 0 && $i ~ /^packets=/) p = substr($i, 9)
			else if (b < 0 && $i ~ /^bytes=/) b = substr($i, 7)
		}
		if (p < 0 || b < 0) { print "no accounting: " $0; bad++; next }
		got = b - syn - ack * (p - 1)
		if (got != want) { print "payload " got " != " want ": " $0; bad++ }
	}
	END { exit bad > 0 }' "$1" || fail "accounting does not match in $1"
}

# first_src FILE: the original source of each flow, counted.
first_src() {
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^src=/) { print substr($i, 5); break } }' "$1" |
	    sort | uniq -c
}

# 1. hold: 100 connections from 50 IPv4 addresses, 100 bytes each.
ns_spawn "$CLI" "$T/hold.log" "$XGLOAD" hold -s 198.51.100.1-198.51.100.50 \
    -d 192.0.2.1 -p 5222 -n 100 --send 100 --seconds 20
hold=$NS_PID
wait_for_line 'established=100 failed=0' "$T/hold.log"
# The client is connected once it has sent its ACK; the server's conntrack
# sees it a moment later.
wait_until "$XG_WAIT" "not 100 ESTABLISHED flows" \
    out_eq 100 ns_ct_count "$SRV" -p tcp --dport 5222 --state ESTABLISHED
ct_list -p tcp --dport 5222 --state ESTABLISHED >"$T/ct-hold"
n=$(wc -l <"$T/ct-hold")
[ "$n" -eq 100 ] || { cat "$T/ct-hold"; fail "$n ESTABLISHED flows, want 100"; }
first_src "$T/ct-hold" >"$T/srcs"
[ "$(wc -l <"$T/srcs")" -eq 50 ] || fail "flows not from 50 sources"
awk '$1 != 2 { exit 1 }' "$T/srcs" || fail "not 2 flows per source"
grep -q 'src=198.51.100.50 ' "$T/ct-hold" || fail "no flow from the last source"
payload_check "$T/ct-hold" 100 60 52
ns_stop "$hold" || fail "hold exited $?"
expect_grep '^mode=hold started=100 established=100 failed=0 timeouts=0 peer_closed=0 open_at_end=100 ' "$T/hold.log"

# Closed by the client: every flow reaches TIME_WAIT with its bytes.
wait_until "$XG_WAIT" "flows not in TIME_WAIT" \
    out_ge 100 ns_ct_count "$SRV" -p tcp --dport 5222 --state TIME_WAIT
ct_list -p tcp --dport 5222 >"$T/ct-hold2"
[ "$(wc -l <"$T/ct-hold2")" -eq 100 ] || fail "more than 100 flows on 5222"
payload_check "$T/ct-hold2" 100 60 52

# 2. churn: 500 connections from 50 IPv6 addresses at 1000/s, while
# conntrack -E listens.  A probe flow (from the base address, to 5223)
# shows when the listener is live.  (Its buffer, 16 MiB, holds what a
# busy machine does not let it read at once.)
ns_spawn "$SRV" "$T/events.log" conntrack -E -b 16777216 -p tcp
events=$NS_PID
probes=0
probe() {	# one probe connection; 0 once conntrack -E has shown one
	ns_exec "$CLI" "$XGLOAD" churn -d 2001:db8::1 -p 5223 -n 1 ||
	    return 1
	probes=$((probes + 1))
	grep -q 'NEW.*dport=5223' "$T/events.log"
}
wait_until -i 0.1 "$XG_WAIT" "conntrack -E shows no event" probe
ns_exec "$CLI" "$XGLOAD" churn -s 2001:db8:1::1-2001:db8:1::32 \
    -d 2001:db8::1 -p 5269 -n 500 --rate 1000 >"$T/churn.out" ||
    { cat "$T/churn.out"; fail "churn failed"; }
cat "$T/churn.out"
expect_grep '^mode=churn started=500 ok=500 failed=0 timeouts=0 unfinished=0 ' "$T/churn.out"
rate=$(sed 's/.* rate=\([0-9]*\).*/\1/' "$T/churn.out")
[ "$rate" -ge 400 ] && [ "$rate" -le 1010 ] ||
    fail "churn rate $rate, asked for 1000/s"
wait_until "$XG_WAIT" "churned flows not in TIME_WAIT" \
    out_ge 500 ns_ct_count "$SRV" -p tcp --dport 5269 --state TIME_WAIT
ct_list -p tcp --dport 5269 >"$T/ct-churn"
[ "$(wc -l <"$T/ct-churn")" -eq 500 ] || fail "not 500 flows on 5269"
[ "$(grep -c '\[ASSURED\]' "$T/ct-churn")" -eq 500 ] || fail "flows not ASSURED"
first_src "$T/ct-churn" >"$T/srcs"
[ "$(wc -l <"$T/srcs")" -eq 50 ] && awk '$1 != 10 { exit 1 }' "$T/srcs" ||
    fail "not 10 flows from each of 50 IPv6 sources"
payload_check "$T/ct-churn" 16 80 72
# conntrack -E prints what it has read: wait for the last flow's NEW
# before it stops.
wait_until "$XG_WAIT" "conntrack -E did not see 500 NEW events on 5269" \
    out_ge 500 grep -c 'NEW.*dport=5269' "$T/events.log"
ns_stop "$events"
n=$(grep -c 'NEW.*dport=5269' "$T/events.log")
[ "$n" -eq 500 ] || fail "conntrack -E saw $n NEW events on 5269, want 500"
grep -q ENOBUFS "$T/events.log" && fail "conntrack -E lost events"

# 3. bandwidth: 1 MiB at 4 MiB/s, then the flow stays open and its bytes
# are in the table while it is.
ns_spawn "$CLI" "$T/bw.log" "$XGLOAD" bandwidth -s 198.51.100.7 \
    -d 192.0.2.1 -p 5269 --bytes 1m --rate 4m --seconds 20
bw=$NS_PID
wait_for_line 'bandwidth: sent=1048576' "$T/bw.log"
# "sent" is written to the socket; the last segments may still be on
# their way to the server's conntrack.
bw_bytes() {	# the open flow's bytes from the client, if it is alone
	ct_list -p tcp --dport 5269 --state ESTABLISHED >"$T/ct-bw"
	[ "$(wc -l <"$T/ct-bw")" -eq 1 ] || { cat "$T/ct-bw"; return 1; }
	awk '{ for (i = 1; i <= NF; i++)
		if ($i ~ /^bytes=/) { print substr($i, 7); exit } }' "$T/ct-bw"
}
wait_until "$XG_WAIT" "no open flow with more than 1 MiB for bandwidth" \
    out_ge 1048577 bw_bytes
grep -q 'src=198.51.100.7 ' "$T/ct-bw" || fail "bandwidth flow not from 198.51.100.7"
ns_stop "$bw" || fail "bandwidth exited $?"
expect_grep '^mode=bandwidth established=1 failed=0 timeouts=0 peer_closed=0 bytes_out=1048576 ' "$T/bw.log"
s=$(sed -n 's/.* send_seconds=\([0-9.]*\).*/\1/p' "$T/bw.log")
awk -v s="$s" 'BEGIN { exit !(s >= 0.2 && s < 5) }' ||
    fail "1 MiB at 4 MiB/s took $s s"

# 4. syn from configured addresses, the server's SYN-ACKs dropped: every
# flow stays half-open (SYN_RECV: conntrack saw the SYN-ACK leave) and
# none reaches the server.
ns_drop_synack "$SRV"
ns_exec "$CLI" "$XGLOAD" syn -s 198.51.100.1-198.51.100.50 -d 192.0.2.1 \
    -p 5223 -n 200 >"$T/syn4.out" || fail "syn (IPv4) failed"
ns_exec "$CLI" "$XGLOAD" syn -s 2001:db8:1::1-2001:db8:1::32 \
    -d 2001:db8::1 -p 5223 -n 200 >"$T/syn6.out" || fail "syn (IPv6) failed"
expect_grep '^mode=syn started=200 sent=200 failed=0 ' "$T/syn4.out"
expect_grep '^mode=syn started=200 sent=200 failed=0 ' "$T/syn6.out"
syn_recv() {	# syn_recv SOURCE-RE: flows to 5223 from there in SYN_RECV
	ct_list -p tcp --dport 5223 --state SYN_RECV | grep -c "src=$1"
}
wait_until "$XG_WAIT" "the half-open flows are not all in the table" \
    out_ge 400 syn_recv '\(198.51.100\|2001:db8:1::\)'
ct_list -p tcp --dport 5223 | grep 'src=\(198.51.100\|2001:db8:1::\)' >"$T/ct-syn"
n=$(wc -l <"$T/ct-syn")
[ "$n" -eq 400 ] || fail "$n half-open flows, want 400"
n=$(grep -c ' SYN_RECV ' "$T/ct-syn")
[ "$n" -eq 400 ] || { grep -v SYN_RECV "$T/ct-syn" | head; fail "$n of 400 in SYN_RECV"; }
grep -q ASSURED "$T/ct-syn" && fail "a half-open flow is ASSURED"

# 5. syn --spoof from addresses that exist nowhere, with the server free to
# answer: its SYN-ACKs go to the client namespace, which drops them, so
# the flows stay half-open as a real spoofer's do.
ns_allow_synack "$SRV"
ns_exec "$CLI" "$XGLOAD" syn --spoof -s 203.0.113.1-203.0.113.100 \
    -d 192.0.2.1 -p 5223 -n 100 >"$T/spoof4.out" || fail "syn --spoof failed"
ns_exec "$CLI" "$XGLOAD" syn --spoof -s 2001:db8:ff::1-2001:db8:ff::64 \
    -d 2001:db8::1 -p 5223 -n 100 >"$T/spoof6.out" || fail "syn --spoof (IPv6) failed"
wait_until "$XG_WAIT" "the spoofed flows are not all in the table" \
    out_ge 200 syn_recv '\(203.0.113\|2001:db8:ff::\)'
ct_list -p tcp --dport 5223 | grep 'src=\(203.0.113\|2001:db8:ff::\)' >"$T/ct-spoof"
n=$(grep -c ' SYN_RECV ' "$T/ct-spoof")
[ "$n" -eq 200 ] && [ "$(wc -l <"$T/ct-spoof")" -eq 200 ] ||
    { head "$T/ct-spoof"; fail "$n spoofed flows in SYN_RECV, want 200"; }
first_src "$T/ct-spoof" | awk '$1 != 1 { exit 1 }' ||
    fail "spoofed sources not one flow each"

# The server accepted exactly the completed connections.
ns_stop "$serve" || fail "serve exited $?"
want=$((100 + 500 + 1 + probes))
expect_grep "^mode=serve accepted=$want closed=$want reset=0 active=0 " "$T/serve.log"
expect_grep " bytes_in=$((100 * 100 + 500 * 16 + 1048576 + probes * 16)) " "$T/serve.log"

# Cleanup stops what it started and removes both namespaces.
ns_cleanup
ip netns list | grep -q "^xg-[a-z]*-$$-" && fail "namespaces left behind"
[ "$(cat /proc/sys/net/netfilter/nf_conntrack_acct)" = "$host_acct" ] ||
    fail "the host's nf_conntrack_acct changed"
echo "ok: hold, churn, bandwidth, syn and spoofed syn match conntrack"
