# Network namespaces for the system tests (bash; source after lib.sh).
#
# ns_setup makes a pair of namespaces joined by a veth pair:
#
#   server $SRV: s0 192.0.2.1/24 2001:db8::1/64, default routes via the
#                client, conntrack on (an nft table using ct state) with
#                accounting (nf_conntrack_acct=1, this namespace only)
#   client $CLI: c0 192.0.2.2/24 2001:db8::2/64, plus whatever
#                ns_add_client_addrs adds (/32 and /128 on c0)
#
# The server's default routes lead into the client namespace and nowhere
# else, so replies to any client address (added or spoofed) cross the veth;
# the client drops those for addresses it does not have, as the Internet
# drops replies to a spoofed source.  Only documentation ranges are used
# (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and, where
# a test needs thousands of IPv4 addresses, the benchmarking range
# 198.18.0.0/15 (RFC 2544); the stress scenarios (tests/stress) also use
# the private 10.64.0.0/13.  No route leads out of the two namespaces.  The host's firewall and sysctls
# are never touched: every nft and sysctl command runs inside a namespace,
# and ns_setup checks that the host's nf_conntrack_acct did not move.
#
# ns_setup installs an EXIT trap that runs ns_cleanup; a test that needs an
# EXIT trap of its own calls ns_cleanup from it.  ns_cleanup stops only the
# processes ns_spawn started and deletes only the namespaces ns_setup made.

XG_NS_SEQ=0
XG_NS_LIST=
XG_NS_PIDS=

skip() {
	echo "SKIP: $*"
	exit 77
}

# ns_need CMD...: skip (exit 77) unless every CMD is installed; a CMD
# may carry its manual section, as in 'nft(8)', which the skip names.
ns_need() {
	local _w
	for _w in "$@"; do
		command -v "${_w%%(*}" >/dev/null 2>&1 || skip "no $_w"
	done
}

# ns_require: skip (exit 77) unless namespaces, nft and conntrack work here.
ns_require() {
	[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
	ns_need 'ip(8)'
	ip netns list >/dev/null 2>&1 || skip "ip netns is unavailable"
	ns_need 'nft(8)' 'conntrack(8)'
	local probe=xg-probe-$$
	ip netns add "$probe" 2>/dev/null ||
	    skip "cannot create a network namespace"
	ip netns del "$probe"
}

# xgload_build: sets $XGLOAD to build/xgload if it is newer than its
# source, else builds a private copy in $T.
xgload_build() {
	local src="$TOP/tests/tools/xgload.c"
	if [ -x "$TOP/build/xgload" ] && [ "$TOP/build/xgload" -nt "$src" ]; then
		XGLOAD="$TOP/build/xgload"
		return 0
	fi
	command -v cc >/dev/null 2>&1 || skip "no C compiler to build xgload"
	cc -O2 -o "$T/xgload" "$src" || fail "cannot build $src"
	XGLOAD="$T/xgload"
}

ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ns_setup: creates $SRV and $CLI (see above); a second call makes another
# pair and moves $SRV and $CLI to it.
ns_setup() {
	local before after ns
	XG_NS_SEQ=$((XG_NS_SEQ + 1))
	SRV=xg-srv-$$-$XG_NS_SEQ
	CLI=xg-cli-$$-$XG_NS_SEQ
	trap ns_cleanup EXIT
	trap 'exit 130' INT TERM
	before=$(cat /proc/sys/net/netfilter/nf_conntrack_acct 2>/dev/null)

	ip netns add "$SRV" || fail "ip netns add $SRV"
	XG_NS_LIST="$XG_NS_LIST $SRV"
	ip netns add "$CLI" || fail "ip netns add $CLI"
	XG_NS_LIST="$XG_NS_LIST $CLI"
	# No duplicate address detection (link-local ones included): the
	# addresses are usable at once and none is left tentative.
	for ns in "$SRV" "$CLI"; do
		ns_exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		    net.ipv6.conf.all.accept_dad=0 || fail "accept_dad in $ns"
	done
	# Made inside the server namespace: the pair never exists on the host.
	ip -n "$SRV" link add s0 type veth peer name c0 netns "$CLI" ||
	    fail "veth pair"
	ip -n "$SRV" -batch - <<-EOF || fail "server addresses"
	link set lo up
	link set s0 up
	addr add 192.0.2.1/24 dev s0
	addr add 2001:db8::1/64 dev s0 nodad
	route add default via 192.0.2.2 dev s0
	route add ::/0 via 2001:db8::2 dev s0
	EOF
	ip -n "$CLI" -batch - <<-EOF || fail "client addresses"
	link set lo up
	link set c0 up
	addr add 192.0.2.2/24 dev c0
	addr add 2001:db8::2/64 dev c0 nodad
	EOF

	# A rule that uses ct state makes the kernel track this namespace's
	# flows; the table is this namespace's, never the host's.
	ns_exec "$SRV" nft -f - <<-EOF || fail "nft in $SRV"
	table inet xgtest {
		chain in {
			type filter hook input priority 0;
			ct state established,related accept
		}
	}
	EOF
	# Accounting is set when a flow is created, so before any traffic.
	ns_exec "$SRV" sysctl -qw net.netfilter.nf_conntrack_acct=1 ||
	    fail "nf_conntrack_acct in $SRV"
	# More ports per source: more flows per client address.
	ns_exec "$CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" ||
	    fail "ip_local_port_range in $CLI"

	after=$(cat /proc/sys/net/netfilter/nf_conntrack_acct 2>/dev/null)
	if [ "$before" != "$after" ]; then
		echo "$before" >/proc/sys/net/netfilter/nf_conntrack_acct
		fail "nf_conntrack_acct is not per namespace on this kernel" \
		    "(host value moved from $before to $after; restored)"
	fi
	[ "$(ns_exec "$SRV" cat /proc/sys/net/netfilter/nf_conntrack_acct)" = 1 ] ||
	    fail "nf_conntrack_acct did not stick in $SRV"
	# Both sides must be able to reach each other before a test starts.
	ns_exec "$CLI" ip -6 addr show dev c0 | grep -q tentative &&
	    fail "IPv6 address still tentative on c0"
	return 0
}

# ns_add_client_addrs NS FIRST LAST: puts every address from FIRST to LAST
# (IPv4 /32 or IPv6 /128, no DAD) on c0 in the client namespace NS.  The
# server reaches them through its default routes.
ns_add_client_addrs() {
	local ns=$1 first=$2 last=$3 plen=32 opt=
	case $first in *:*) plen=128 opt=nodad ;; esac
	"$XGLOAD" addrs -s "$first-$last" >"$T/addrs.$$" ||
	    fail "bad address range $first-$last"
	sed "s|.*|addr add &/$plen dev c0 $opt|" "$T/addrs.$$" |
	    ip -n "$ns" -batch - || fail "adding $first-$last in $ns"
	rm -f "$T/addrs.$$"
}

# ns_add_spoofer: a third namespace, $SPF, with its own link to the
# server (s1 there, 203.0.113.1/24 and 2001:db8:ff::1/64; p0 here, .2 and
# ::2, its default routes through the server).  What it sends bearing any
# source address reaches the server, whose replies follow the server's
# default routes to the client namespace, as a spoofer's would on the
# Internet.  ns_cleanup removes it.
ns_add_spoofer() {
	SPF=xg-spf-$$-$XG_NS_SEQ
	ip netns add "$SPF" || fail "ip netns add $SPF"
	XG_NS_LIST="$XG_NS_LIST $SPF"
	ns_exec "$SPF" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
	    net.ipv6.conf.all.accept_dad=0 || fail "accept_dad in $SPF"
	ip -n "$SRV" link add s1 type veth peer name p0 netns "$SPF" ||
	    fail "veth pair to $SPF"
	ip -n "$SRV" -batch - <<-EOF || fail "server side of $SPF"
	link set s1 up
	addr add 203.0.113.1/24 dev s1
	addr add 2001:db8:ff::1/64 dev s1 nodad
	EOF
	ip -n "$SPF" -batch - <<-EOF || fail "spoofer addresses"
	link set lo up
	link set p0 up
	addr add 203.0.113.2/24 dev p0
	addr add 2001:db8:ff::2/64 dev p0 nodad
	route add default via 203.0.113.1 dev p0
	route add ::/0 via 2001:db8:ff::1 dev p0
	EOF
}

# ns_drop_synack NS: the server in NS can no longer complete a handshake
# (its SYN-ACKs are dropped after conntrack saw them), so SYNs from real,
# configured client addresses stay half-open.  ns_allow_synack undoes it.
ns_drop_synack() {
	ns_exec "$1" nft -f - <<-EOF || fail "nft in $1"
	table inet xgtest {
		chain out {
			type filter hook output priority 0;
			tcp flags & (syn | ack) == syn | ack drop
		}
	}
	EOF
}

ns_allow_synack() {
	ns_exec "$1" nft delete chain inet xgtest out || fail "nft in $1"
}

# ns_spawn NS LOG CMD...: runs CMD in NS in the background, stdout and
# stderr to LOG; its PID is in $NS_PID and ns_cleanup will stop it.
# `ip netns exec` execs CMD, so the PID is CMD's own.  (`ns_exec ... &`
# would not do: $! would be a subshell's, and a signal to it would leave
# CMD running.)
ns_spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	NS_PID=$!
	XG_NS_PIDS="$XG_NS_PIDS $NS_PID"
}

# ns_xg_start LOG CONF: the daemon in the server's namespace ($SRV) with
# configuration CONF, its output in LOG, waited for until it says ready;
# its PID in $NS_PID (ns_cleanup stops it).
ns_xg_start() {
	ns_spawn "$SRV" "$1" "$XG" run --foreground -c "$2"
	wait_for_line 'ready' "$1"
}

# ns_xg_caps_start LOG CONF: ns_xg_start, then the test is skipped if
# the daemon found the kernel or nft lacking what the kernel caps need.
ns_xg_caps_start() {
	ns_xg_start "$1" "$2"
	if grep -q 'kernel caps: unavailable' "$1"; then
		skip "this kernel or nft lacks what the caps need:" \
		    "$(grep 'kernel caps' "$1")"
	fi
}

# ns_stop PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5);
# returns the process's exit status (137 when it had to be killed).
ns_stop() {
	local pid=$1 secs=${2:-5} rc
	kill -TERM "$pid" 2>/dev/null
	if ! wait_pid_gone "$pid" "$secs"; then
		echo "ns_stop: $pid ignored SIGTERM for $secs s; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	XG_NS_PIDS=$(echo "$XG_NS_PIDS" | tr ' ' '\n' | grep -vx "$pid" |
	    tr '\n' ' ')
	return $rc
}

# ns_wait_cut ADDR: waits until ADDR's live sessions are cut on both ends
# (the server's sockets gone, then the client's on the reset).  The cut
# follows the element into the set, so a test waits for it.
ns_wait_cut() {
	wait_until "$XG_WAIT" "$1's session was not cut" \
	    out_empty ns_exec "$SRV" ss -Htn state established dst "$1"
	wait_until "$XG_WAIT" "$1 never heard of the cut" \
	    out_empty ns_exec "$CLI" ss -Htn state established src "$1"
}

# ns_ct NS ARGS...: conntrack(8) in NS.  ns_ct_count NS ARGS...: how many
# entries `conntrack -L ARGS` lists.
ns_ct() {
	local ns=$1
	shift
	ip netns exec "$ns" conntrack "$@"
}

ns_ct_count() {
	local ns=$1
	shift
	ip netns exec "$ns" conntrack -L "$@" 2>/dev/null | wc -l
}

# ns_cleanup: stops what ns_spawn started, deletes what ns_setup made.
# Safe to call twice and from a trap.
ns_cleanup() {
	local pid ns left
	for pid in $XG_NS_PIDS; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $XG_NS_PIDS; do
		wait_pid_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	XG_NS_PIDS=
	for ns in $XG_NS_LIST; do
		left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[ -n "$left" ] &&
		    echo "ns_cleanup: $ns still runs pids $left (not ours to kill)"
		ip netns del "$ns" 2>/dev/null
	done
	XG_NS_LIST=
}
