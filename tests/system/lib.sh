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
