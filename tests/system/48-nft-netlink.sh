# The nftables backend's netlink path (fw_nftnl.c, driven by
# tests/tools/fwctl) in a namespace of its own: bans of hosts and
# prefixes of both families, a prefix reaching the top of the address
# space, and throttles land in the right sets, and nft itself reads them
# back as the same prefixes (so `nft list` stays true to what we wrote);
# list (adoption at start) reads back exactly what was banned, with the
# time left, and skips a range someone else added; a ban the kernel
# refuses (a prefix inside one in force) fails naming that
# operation, and the batch changes nothing; unbans of present and missing
# elements succeed; with the netfilter socket made to fail (strace's fault
# injection), the backend says so once and bans through `nft -f -`.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
FWCTL=${FWCTL:-$TOP/build/plain/tests/fwctl}
[ -x "$FWCTL" ] || skip "$FWCTL not built (make tools)"
ns_private NS

cat >"$T/xg.conf" <<'EOF'
[global]
firewall = nftables
[ban]
nft_table = xgnl
EOF
fwctl() {
	ip netns exec "$NS" "$FWCTL" -c "$T/xg.conf" "$@"
}
set_has() {	# set_has SET TEXT: nft prints TEXT among the set's elements
	ip netns exec "$NS" nft list set inet xgnl "$1" | grep -qF -- "$2"
}

fwctl open || fail "open"
fwctl ban 192.0.2.7 600 || fail "ban a host"
fwctl ban 2001:db8::7 600 || fail "ban an IPv6 host"
fwctl ban 198.51.100.0/24 300 || fail "ban a /24"
fwctl ban 255.255.255.0/24 300 || fail "ban the top /24"
fwctl ban 2001:db8:1::/48 300 || fail "ban a /48"
fwctl throttle 203.0.113.9 120 || fail "throttle"
set_has ban4 "192.0.2.7 timeout 10m" || fail "ban4: $(ip netns exec "$NS" nft list set inet xgnl ban4)"
set_has ban6 "2001:db8::7 timeout 10m" || fail "ban6"
set_has net4 "198.51.100.0/24 timeout 5m" || fail "net4: $(ip netns exec "$NS" nft list set inet xgnl net4)"
set_has net4 "255.255.255.0/24 timeout 5m" || fail "net4 top: $(ip netns exec "$NS" nft list set inet xgnl net4)"
set_has net6 "2001:db8:1::/48 timeout 5m" || fail "net6"
set_has thr4 "203.0.113.9 timeout 2m" || fail "thr4"

# Someone else's range in the interval set: not adopted.
ip netns exec "$NS" nft add element inet xgnl net4 \
    '{ 10.0.0.3-10.0.0.9 timeout 60s }' || fail "nft add range"
fwctl list >"$T/list" || fail "list"
sort "$T/list" | sed 's/ remaining=[0-9]*//' >"$T/got"
cat >"$T/want" <<'EOF'
192.0.2.7/32 throttled=0
198.51.100.0/24 throttled=0
2001:db8:1::/48 throttled=0
2001:db8::7/128 throttled=0
203.0.113.9/32 throttled=1
255.255.255.0/24 throttled=0
EOF
diff "$T/want" "$T/got" >/dev/null || fail "list: $(cat "$T/list")"
grep -q '^192.0.2.7/32 remaining=\(59[0-9]\|600\) ' "$T/list" ||
    fail "time left: $(cat "$T/list")"

# A refusal names the operation, and nothing of its batch stays.
fwctl ban 198.51.100.128/25 300 2>"$T/err" && fail "a /25 inside the /24"
grep -q 'add element inet xgnl net4 { 198.51.100.128/25 }' "$T/err" ||
    fail "the refusal: $(cat "$T/err")"
set_has net4 "198.51.100.128" && fail "the refused element is there"

fwctl unban 192.0.2.7 || fail "unban"
fwctl unban 192.0.2.77 || fail "unban of a missing element"
fwctl unban 198.51.100.0/24 || fail "unban a /24"
set_has ban4 "192.0.2.7" && fail "unbanned, still in ban4"
set_has net4 "198.51.100.0/24" && fail "unbanned, still in net4"
set_has net4 "255.255.255.0/24" || fail "the top /24 went with it"

# No netfilter socket: said once, and nft -f - does the work.
if command -v strace >/dev/null 2>&1; then
	ip netns exec "$NS" strace -o /dev/null -e trace=socket \
	    -e inject=socket:error=EPROTONOSUPPORT \
	    "$FWCTL" -c "$T/xg.conf" ban 192.0.2.8 600 2>"$T/err" ||
	    fail "ban through nft: $(cat "$T/err")"
	[ "$(grep -c 'through netlink' "$T/err")" -eq 1 ] ||
	    fail "the fallback: $(cat "$T/err")"
	set_has ban4 "192.0.2.8 timeout 10m" || fail "ban through nft"
else
	echo "no strace: the fallback not tried"
fi
