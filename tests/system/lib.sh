# Helpers for the system tests; each test sources this file.
# Provided by run.sh: $XG (the binary), $TOP (the source tree), $T (a
# temporary directory removed afterwards).
set -u

fail() {
	echo "FAIL: $*"
	exit 1
}

# expect_grep PATTERN FILE: the file must contain a line matching PATTERN.
expect_grep() {
	grep -q -e "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "no '$1' in $2"; }
}

# Waiting.  What a test waits for (a line in a log, a ban in the kernel,
# a session cut, a counter, a process gone) it polls for until a deadline,
# never a fixed sleep: under load a sleep is too short, idle too long.
# Deadlines are generous, XG_WAIT (30 s) wherever nothing is timed; a test
# that asserts a time passes its own and says so.  A test that asserts
# that something does not happen first waits for a positive sign that the
# daemon has got that far (a counter, a log line, an answer), then looks.
XG_WAIT=${XG_WAIT:-30}

# xg_now: the wall clock in microseconds, in $XG_NOW (no fork).
xg_now() {
	XG_NOW=${EPOCHREALTIME/[.,]/}
}

# poll_until [-i INTERVAL] SECONDS COMMAND...: runs COMMAND (in this shell,
# its output to $T/.poll, which holds the last try's) every INTERVAL
# seconds (default 0.05) until it succeeds; 0, or 1 once SECONDS have
# passed.
poll_until() {
	local _pu_iv=0.05 _pu_end
	if [ "$1" = -i ]; then
		_pu_iv=$2
		shift 2
	fi
	xg_now
	_pu_end=$((XG_NOW + $1 * 1000000))
	shift
	while :; do
		"$@" >"${T:?}/.poll" 2>&1 && return 0
		xg_now
		[ "$XG_NOW" -lt "$_pu_end" ] || return 1
		sleep "$_pu_iv"
	done
}

# wait_until [-i INTERVAL] SECONDS MESSAGE COMMAND...: poll_until, or fail
# with MESSAGE (what did not happen) and what COMMAND printed last.
wait_until() {
	local _wu_iv=0.05 _wu_secs _wu_msg
	if [ "$1" = -i ]; then
		_wu_iv=$2
		shift 2
	fi
	_wu_secs=$1 _wu_msg=$2
	shift 2
	poll_until -i "$_wu_iv" "$_wu_secs" "$@" && return 0
	echo "--- last look, $*:"
	cat "$T/.poll"
	fail "$_wu_msg (waited $_wu_secs s)"
}

# Conditions for wait_until, each printing what it saw.  xg_look
# COMMAND...: runs it, prints what it printed and keeps that in $XG_SEEN;
# its status.
xg_look() {
	local _rc
	XG_SEEN=$("$@" 2>&1)
	_rc=$?
	printf '%s\n' "$XG_SEEN"
	return $_rc
}

# out_empty COMMAND...: COMMAND prints nothing.
out_empty() {
	xg_look "$@"
	[ -z "$XG_SEEN" ]
}

# out_has PATTERN COMMAND...: a line COMMAND prints matches PATTERN.
# out_lacks PATTERN COMMAND...: COMMAND succeeds, and none does.
out_has() {
	local _p=$1
	shift
	xg_look "$@"
	grep -q -e "$_p" <<<"$XG_SEEN"
}

out_lacks() {
	local _p=$1
	shift
	xg_look "$@" && ! grep -q -e "$_p" <<<"$XG_SEEN"
}

# out_ge N COMMAND...: COMMAND prints a number, at least N.  out_eq N
# COMMAND...: exactly N.
out_ge() {
	local _n=$1
	shift
	xg_look "$@"
	[ "$XG_SEEN" -ge "$_n" ] 2>/dev/null
}

out_eq() {
	local _n=$1
	shift
	xg_look "$@"
	[ "$XG_SEEN" -eq "$_n" ] 2>/dev/null
}

# wait_for_line PATTERN FILE [SECONDS]: until a line of FILE matches.
wait_for_line() {
	poll_until -i 0.02 "${3:-$XG_WAIT}" grep -q -e "$1" "$2" && return 0
	echo "--- $2:"; cat "$2"
	fail "'$1' did not appear in $2 within ${3:-$XG_WAIT} s"
}

# wait_pid_gone PID [SECONDS]: until a process of ours has exited; 1 if
# it has not within SECONDS.
wait_pid_gone() {
	poll_until -i 0.01 "${2:-$XG_WAIT}" xg_pid_gone "$1"
}

xg_pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# ct_listening PID: 0 once process PID (conntrack -E, say) has a
# netfilter netlink socket subscribed to a group in its namespace: from
# then on it is sent every conntrack event.  Prints those sockets.
ct_listening() {
	local inos
	inos=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' \
	    2>/dev/null | tr -c '0-9' ' ')
	awk -v inos="$inos" '
	BEGIN { n = split(inos, a, " "); for (i = 1; i <= n; i++) want[a[i]] }
	$2 == 12 && $4 != "00000000" && ($10 in want) { print; found = 1 }
	END { exit !found }' "/proc/$1/net/netlink"
}

# xg_status_field SOCK KEY.PATH: one value of the daemon's status --json
# (KEY.PATH such as firewall.restores, written by the test itself).
xg_status_field() {
	"$XG" status --json -s "$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split('.'):
    d = d[k]
print(d)" "$2"
}

# xg_run NS LOG ARGS...: `xmppguard run --foreground ARGS` in namespace
# NS (ns_private's), its output in LOG, until it says ready; its PID in
# $XG_PID.  ns_private_cleanup ends it if the test does not.
xg_run() {
	local _ns=$1 _log=$2
	shift 2
	ip netns exec "$_ns" "$XG" run --foreground "$@" >"$_log" 2>&1 &
	XG_PID=$!
	wait_for_line 'ready' "$_log"
}

# xg_stop PID: SIGTERM to a daemon of ours, which must be gone within
# XG_WAIT seconds; its exit status.
xg_stop() {
	kill -TERM "$1"
	wait_pid_gone "$1" || fail "the daemon ignored SIGTERM for $XG_WAIT s"
	wait "$1" 2>/dev/null
}

# xgc ARGS...: the CLI against the daemon of a test whose configuration
# says control_socket = $T/ctl.sock.
xgc() {
	"$XG" "$@" -s "$T/ctl.sock"
}

# xg_status_poll_start CALLS SECONDS: `xgc status` over and over in the
# background, each call timed, until xg_status_poll_stop (bounded: CALLS
# calls, SECONDS seconds).  xg_status_poll_stop: ends it and sets smax
# (the slowest call, us), scalls (calls made) and sfails (calls failed).
xg_status_poll_start() {
	rm -f "$T/poll.stop" "$T/poll.out"
	(
		max=0 n=0 fails=0
		xg_now
		end=$((XG_NOW + $2 * 1000000))
		while [ ! -e "$T/poll.stop" ] && [ $n -lt "$1" ] &&
		    [ "$XG_NOW" -lt $end ]; do
			xg_now
			t0=$XG_NOW
			xgc status > /dev/null 2>&1 || fails=$((fails + 1))
			xg_now
			[ $((XG_NOW - t0)) -gt $max ] && max=$((XG_NOW - t0))
			n=$((n + 1))
		done
		echo "$max $n $fails" > "$T/poll.out"
	) &
	XG_POLLER=$!
}

xg_status_poll_stop() {
	touch "$T/poll.stop"
	wait "$XG_POLLER"
	read -r smax scalls sfails < "$T/poll.out"
}

# xg_ej_filter FILE: the tests' ejabberd filter (one pattern: a failed
# c2s authentication, once per session key) written to FILE.
xg_ej_filter() {
	cat > "$1" <<'FILTER'
[filter]
name      = ej
time      = %Y-%m-%d %H:%M:%S%f
timezone  = utc
prefilter = authentication

[pattern fail]
kind     = auth_fail
literal  = Failed c2s
regex    = ^(?<time>\S+ \S+) \[warning\] <(?<key>[0-9.]+)> Failed c2s \S+ authentication for (?<user>[^@\s]*)@\S+ from (?<ip>\S+): 
once_per = key
FILTER
}

# The newest migration compiled in: the highest NNN of sql/NNN_*.sql.
latest_migration() {
	ls "$TOP"/sql/[0-9]*.sql | sed 's|.*/||; s|_.*||' | sort -n | tail -n 1 |
	    sed 's/^0*//'
}

# need_root: skip (status 77) unless we can create network namespaces.
need_root() {
	if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null 2>&1; then
		echo "skipped: needs root and iproute2 (network namespaces)"
		exit 77
	fi
}

# ns_private NAME_VAR: creates a network namespace of our own (lo up),
# stores its name in NAME_VAR, and deletes it when the test exits.  The
# daemon runs inside it so that nothing it does (conntrack sysctls, its
# nftables table) reaches the host.
XG_NAMESPACES=""
ns_private() {
	_ns="xg-$$-$(date +%N | cut -c1-6)"
	ip netns add "$_ns" || fail "ip netns add $_ns"
	XG_NAMESPACES="$XG_NAMESPACES $_ns"
	trap 'ns_private_cleanup' EXIT
	ip -n "$_ns" link set lo up
	eval "$1=\$_ns"
}

ns_private_cleanup() {
	for _n in $XG_NAMESPACES; do
		# Our daemons run in it: end them (only processes in our own
		# namespace, by pid) before the namespace goes.
		for _p in $(ip netns pids "$_n" 2>/dev/null); do
			kill -TERM "$_p" 2>/dev/null
		done
		if ! poll_until 3 out_empty ip netns pids "$_n"; then
			for _p in $(ip netns pids "$_n" 2>/dev/null); do
				kill -KILL "$_p" 2>/dev/null
			done
		fi
		ip netns del "$_n" 2>/dev/null
	done
}

# mnt_private SECONDS: a private mount namespace, held by a sleeping
# process of ours ($MNT_HOLDER; it ends after SECONDS, or at exit, which
# also runs ns_private_cleanup): mounts made through in_mnt never reach
# the host's.  in_mnt CMD...: CMD in it.
mnt_private() {
	unshare -m --propagation private sleep "$1" &
	MNT_HOLDER=$!
	trap 'ns_private_cleanup; kill "$MNT_HOLDER" 2>/dev/null' EXIT
	poll_until 5 mnt_unshared || fail "no mount namespace"
}

# (A function: the links are read again at every poll, not once, before
# unshare has run.)
mnt_unshared() {
	test "$(readlink "/proc/$MNT_HOLDER/ns/mnt")" != \
	    "$(readlink "/proc/$$/ns/mnt")"
}

in_mnt() {
	nsenter -t "$MNT_HOLDER" -m -- "$@"
}

# chatd NS NAME MODE: a chat or webhook played by tests/system/chatd.py
# on the loopback of namespace NS (MODE ok: answers 200; hang: never
# answers); each request is one JSON line in $T/NAME.log; sets $PORT.
chatd() {
	: >"$T/$2.log"
	ip netns exec "$1" python3 "$TOP/tests/system/chatd.py" "$3" \
	    "$T/$2.port" "$T/$2.log" 2>"$T/$2.err" &
	# ns_cleanup (netns.sh) stops it with what ns_spawn started;
	# ns_private_cleanup ends everything in its namespace.
	XG_NS_PIDS="${XG_NS_PIDS:-} $!"
	poll_until "$XG_WAIT" test -s "$T/$2.port" ||
	    { cat "$T/$2.err"; fail "chat $2 did not start"; }
	PORT=$(cat "$T/$2.port")
}

# chatd_count NAME [CONDITION]: requests recorded by chat NAME, those
# for which the Python CONDITION holds (r: the request, t: its text).
chatd_count() {
	python3 - "$T/$1.log" "${2:-True}" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    t = r["body"].get("text") or r["body"].get("body") or ""
    if eval(sys.argv[2]):
        n += 1
print(n)
PY
}

# chatd_wait NAME N CONDITION [SECONDS]: until at least N requests match.
chatd_wait() {
	poll_until "${4:-$XG_WAIT}" out_ge "$2" chatd_count "$1" "$3" &&
	    return 0
	echo "--- $1.log:"; cat "$T/$1.log"
	fail "fewer than $2 requests in $1 matching $3 within ${4:-$XG_WAIT} s"
}
