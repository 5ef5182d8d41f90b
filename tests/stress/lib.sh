# Helpers for the stress scenarios (tests/stress/*.sh); sourced after
# tests/system/lib.sh and tests/system/netns.sh, whose helpers they use.
# Provided by run.sh: $XG, $TOP, $T, $XG_STRESS_FIGURES (the file the
# scenario's figures go to).

# figure KEY VALUE: one figure of this scenario (key=value, no spaces).
XG_FIGURES=""
figure() {
	XG_FIGURES="$XG_FIGURES $1=$2"
	echo "figure: $1=$2"
}

# figures_done SUMMARY: writes the figures line and a one-line human
# summary for run.sh's table.
figures_done() {
	{
		echo "figures:$XG_FIGURES"
		echo "summary: $*"
	} >> "${XG_STRESS_FIGURES:-/dev/null}"
}

# invariant MESSAGE: a hard invariant failed; the figures so far are kept.
invariant() {
	figures_done "FAILED: $*"
	fail "$*"
}

# stress_sock: the control socket the helpers below talk to.
STRESS_SOCK=

stress_status() {
	"$XG" status --json -s "$STRESS_SOCK"
}

# sfield KEY.PATH: one value of status --json (logs.NAME.KEY finds the
# log by its name).
sfield() {
	"$XG" status --json -s "$STRESS_SOCK" | python3 -c "
import json, sys
d = json.load(sys.stdin)
ks = sys.argv[1].split('.')
while ks:
    k = ks.pop(0)
    if k == 'logs':
        n = ks.pop(0)
        d = [l for l in d['logs'] if l['name'] == n][0]
    else:
        d = d[k]
print(d)" "$1"
}

# poller_start [INTERVAL]: times `xmppguard status` over and over, one
# duration in microseconds a line in $T/poll.times (failures as "fail"),
# until poller_stop; bounded (at most 20,000 calls, 1 hour).
poller_start() {
	local iv=${1:-0.1}
	rm -f "$T/poll.stop"
	: > "$T/poll.times"
	(
		n=0
		xg_now
		end=$((XG_NOW + 3600000000))
		while [ ! -e "$T/poll.stop" ] && [ $n -lt 20000 ] &&
		    [ "$XG_NOW" -lt $end ]; do
			xg_now
			t0=$XG_NOW
			if "$XG" status -s "$STRESS_SOCK" >/dev/null 2>&1; then
				xg_now
				echo $((XG_NOW - t0))
			else
				xg_now
				echo fail
			fi
			n=$((n + 1))
			sleep "$iv"
		done > "$T/poll.times"
	) &
	POLLER=$!
	python3 "$TOP/tests/stress/ctlping.py" "$STRESS_SOCK" "$T/poll.stop" \
	    "$iv" > "$T/ping.times" &
	PINGER=$!
}

# poll_figures FILE: "N P99_MS MAX_MS" of the times in FILE (us a line).
poll_figures() {
	grep -v fail "$1" | sort -n | awk '
	    { v[NR] = $1 }
	    END { if (NR == 0) { print 0, 0, 0; exit }
		i = int(NR * 0.99 + 0.999); if (i > NR) i = NR
		printf "%d %.1f %.1f\n", NR, v[i] / 1000, v[NR] / 1000 }'
}

# poller_stop: sets $POLL_N, $POLL_FAILS, $POLL_P99_MS, $POLL_MAX_MS (the
# CLI, process start included) and $PING_N, $PING_FAILS, $PING_P99_MS,
# $PING_MAX_MS (the socket's round trip alone: ctlping.py).
poller_stop() {
	touch "$T/poll.stop"
	wait "$POLLER" 2>/dev/null
	wait "$PINGER" 2>/dev/null
	POLL_FAILS=$(grep -c fail "$T/poll.times")
	set -- $(poll_figures "$T/poll.times")
	POLL_N=$1 POLL_P99_MS=$2 POLL_MAX_MS=$3
	PING_FAILS=$(grep -c fail "$T/ping.times")
	set -- $(poll_figures "$T/ping.times")
	PING_N=$1 PING_P99_MS=$2 PING_MAX_MS=$3
}

# kernel_drops PID: the Drops column of /proc/PID/net/netlink for the
# netfilter sockets (protocol 12) among process PID's descriptors.
kernel_drops() {
	local inodes
	inodes=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' \
	    2>/dev/null | tr -c '0-9' ' ')
	awk -v inodes="$inodes" 'BEGIN { n = split(inodes, a, " ")
		for (i = 1; i <= n; i++) mine[a[i]] = 1 }
	    NR > 1 && $2 == 12 && ($10 in mine) { d += $9; k++ }
	    END { if (k == 0) exit 1; print d + 0 }' "/proc/$1/net/netlink"
}

# rss_kb PID [FIELD]: VmRSS (or FIELD, e.g. VmHWM) of PID in kB.
rss_kb() {
	awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status"
}

# nft_count NS TABLE SET: the elements of an nftables set in NS.
nft_count() {
	ip netns exec "$1" nft -j list set inet "$2" "$3" 2>/dev/null |
	    python3 -c "
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print(0); sys.exit()
for o in d['nftables']:
    if 'set' in o:
        print(len(o['set'].get('elem', []))); break
else:
    print(0)"
}

# stable SECONDS COMMAND...: waits (at most XG_WAIT s) until COMMAND prints
# the same value twice SECONDS apart; prints it.
stable() {
	local iv=$1 a b i=0
	shift
	a=$("$@")
	while [ $i -lt $((XG_WAIT / iv + 1)) ]; do
		sleep "$iv"
		b=$("$@")
		[ "$a" = "$b" ] && break
		a=$b
		i=$((i + 1))
	done
	echo "$a"
}

# kv KEY LINE: the value of KEY in a line of key=value pairs.
kv() {
	tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n 1
}

# ms_since T0: milliseconds since $XG_NOW was T0.
ms_since() {
	xg_now
	echo $(((XG_NOW - $1) / 1000))
}

# ejwriter LOG ARGS...: the log writer (ejwriter.py), in the background,
# once it writes; $WRITER is its PID, its result line goes to
# $T/writer.out.
ejwriter() {
	local log=$1
	shift
	python3 "$TOP/tests/stress/ejwriter.py" "$log" \
	    --gen "$TOP/contrib/bench/gen-ejabberd-log.py" "$@" \
	    > "$T/writer.out" 2> "$T/writer.err" &
	WRITER=$!
	wait_for_line writing "$T/writer.err" 120
}

# The combined load (combined.sh, restart.sh).  load_setup: the
# namespaces, 4,000 churning addresses (10.65.0.1-10.65.15.160; private,
# inside the namespace pair only), the attackers (203.0.113.1-.70), the
# sink, and $T/xg.conf: the daemon on its defaults but for
#   - its state, socket and nft table in $T,
#   - [service http] net_max_new = none, net_max_concurrent = 0: the
#     churn goes to http (5280), 2.5 handshakes/s per address, under
#     max_new 3000/1h; its addresses are dense (16 /24s), a real crowd is
#     not, so the network limits would ban the crowd;
#   - [log ej]: the log the writer grows.
# The server's TIME_WAIT conntrack timeout is 1 s (as in
# 12-conntrack-overrun), or 10k/s would fill the conntrack table.
LOAD_CHURN=10.65.0.1-10.65.15.160
# One attacker per /24 (10.66.1.1, 10.66.2.1, ... 10.66.70.1), so each is
# judged by its own failures, not its network's.
LOAD_BOTS=$(seq -f '10.66.%g.1' 1 70 | paste -sd, -)
load_setup() {
	xgload_build
	ns_setup
	ns_add_client_addrs "$CLI" 10.65.0.1 10.65.15.160
	local b
	for b in $(echo "$LOAD_BOTS" | tr , ' '); do
		echo "addr add $b/32 dev c0"
	done | ip -n "$CLI" -batch - || fail "attackers' addresses"
	ns_exec "$SRV" sysctl -qw \
	    net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 ||
	    fail "conntrack timeouts in $SRV"
	ns_exec "$SRV" sysctl -qw net.core.somaxconn=4096 2>/dev/null
	ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null
	mkdir -p "$T/logs"
	: > "$T/logs/ej.log"
	STRESS_SOCK=$T/ctl.sock
	cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[service http]
net_max_new = none
net_max_concurrent = 0
[ban]
nft_table = xgstress
[log ej]
path = $T/logs/ej.log
filter = ejabberd
CONF
	ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 \
	    -p 5222,5280 --backlog 4096 --seconds 3000
	wait_for_line 'listening' "$T/serve.log"
}

# load_daemon LOG: starts the daemon; $XGPID; sets $READY_MS (spawn to
# "ready").
load_daemon() {
	local t0
	xg_now
	t0=$XG_NOW
	ns_spawn "$SRV" "$1" "$XG" run --foreground -c "$T/xg.conf"
	XGPID=$NS_PID
	# Ready, or gone (a configuration it refuses): no 120 s wait then.
	poll_until -i 0.02 120 load_ready_or_gone "$1"
	grep -q 'ready' "$1" || { cat "$1"; fail "the daemon is not ready"; }
	READY_MS=$(ms_since "$t0")
}

load_ready_or_gone() {
	grep -q 'ready' "$1" || ! kill -0 "$XGPID" 2>/dev/null
}

# load_start SECONDS: the attackers' sessions (held), the churn and the
# log writer, all ending within SECONDS (+ 60 for the sessions).
# XG_STRESS_RATE (0: as fast as it goes), XG_STRESS_LINES_RATE, and
# XG_STRESS_JOBS shape them.  $CHURN, $WRITER, $BOTS are their PIDs.
load_start() {
	local s=$1
	ns_spawn "$CLI" "$T/bots.log" "$XGLOAD" hold -d 192.0.2.1 -p 5222 \
	    -n 70 -s "$LOAD_BOTS" --seconds $((s + 60))
	BOTS=$NS_PID
	wait_for_line "established=70 failed=0" "$T/bots.log" 60
	ejwriter "$T/logs/ej.log" --rate "${XG_STRESS_LINES_RATE:-20000}" \
	    --seconds "$s" --attackers "$LOAD_BOTS" --fails 6
	ns_spawn "$CLI" "$T/churn.out" "$XGLOAD" churn -d 192.0.2.1 -p 5280 \
	    -n $((s * 20000)) -s "$LOAD_CHURN" -j "${XG_STRESS_JOBS:-2}" \
	    --rate "${XG_STRESS_RATE:-0}" --concurrency 512 --seconds "$s"
	CHURN=$NS_PID
}

# load_wait: until the churn and the writer are done; sets $CHURN_LINE
# and $WRITER_LINE (their result lines).
load_wait() {
	wait "$WRITER"
	WRITER_LINE=$(cat "$T/writer.out")
	[ -n "$WRITER_LINE" ] || fail "the writer failed: $(cat "$T/writer.err")"
	wait_pid_gone "$CHURN" 120 || fail "churn did not end"
	CHURN_LINE=$(grep '^mode=churn' "$T/churn.out" | tail -n 1)
	[ -n "$CHURN_LINE" ] || fail "churn failed: $(cat "$T/churn.out")"
}

# false_bans: bans of anyone but the attackers (10.66.N.1, N 1-70, and
# whatever the scenario adds in $EXTRA_BAD, a grep -E pattern).
BOTS_RE='10\.66\.([1-9]|[1-6][0-9]|70)\.1/32'
false_bans() {
	"$XG" bans -s "$STRESS_SOCK" | awk '{ print $1 }' |
	    grep -E '^[0-9a-f.:]+/[0-9]+$' |
	    grep -vE "^($BOTS_RE${EXTRA_BAD:+|$EXTRA_BAD})\$" | wc -l
}
bots_banned() {
	"$XG" bans -s "$STRESS_SOCK" | grep -cE "^$BOTS_RE[[:space:]]"
}
