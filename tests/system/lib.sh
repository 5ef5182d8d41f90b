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
