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

# wait_for_line PATTERN FILE SECONDS: poll (every 20 ms) until it appears.
wait_for_line() {
	i=0
	n=$(($3 * 50))
	while [ $i -lt $n ]; do
		grep -q -e "$1" "$2" 2>/dev/null && return 0
		sleep 0.02
		i=$((i + 1))
	done
	echo "--- $2:"; cat "$2"
	fail "'$1' did not appear in $2 within $3 s"
}

# wait_pid_gone PID SECONDS: wait for a process of ours to exit; 1 if not.
wait_pid_gone() {
	i=0
	n=$(($2 * 100))
	while [ $i -lt $n ]; do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.01
		i=$((i + 1))
	done
	return 1
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
		sleep 0.1
		for _p in $(ip netns pids "$_n" 2>/dev/null); do
			kill -KILL "$_p" 2>/dev/null
		done
		ip netns del "$_n" 2>/dev/null
	done
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
	_i=0
	while [ ! -s "$T/$2.port" ] && [ $_i -lt 250 ]; do
		sleep 0.02
		_i=$((_i + 1))
	done
	[ -s "$T/$2.port" ] || { cat "$T/$2.err"; fail "chat $2 did not start"; }
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

# chatd_wait NAME N CONDITION SECONDS: until at least N requests match.
chatd_wait() {
	_i=0
	while [ $_i -lt $(($4 * 20)) ]; do
		[ "$(chatd_count "$1" "$3")" -ge "$2" ] && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	echo "--- $1.log:"; cat "$T/$1.log"
	fail "fewer than $2 requests in $1 matching $3 within $4 s"
}
