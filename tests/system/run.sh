#!/bin/sh
# Runs every tests/system/NN-*.sh in order, each in a fresh temporary
# directory ($T), and prints PASS/FAIL with its duration, then one summary
# line: "system: N passed, N failed, N skipped".  A test exits 77 to skip.
# XG names the binary under test (default: ./xmppguard of the tree).
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0 skip=0
# Arguments: run only these tests (paths), as in
#	sh tests/system/run.sh tests/system/28-metrics.sh
[ $# -gt 0 ] || set -- "$top"/tests/system/[0-9]*.sh
for t in "$@"; do
	name=$(basename "$t" .sh)
	T=$(mktemp -d /tmp/xg-system.XXXXXX)
	start=$(date +%s%N)
	# (Through sh -c so that the test's PID, which names its network
	# namespaces, is known.)
	XG="${XG:-$top/xmppguard}" TOP="$top" T="$T" sh -c \
	    'echo $$ >"$T/.pid"; exec bash "$1"' sh "$t" >"$T/.output" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	# A test leaves nothing behind: no namespace of its own (xg-PID-*,
	# xg-srv-PID-*, xg-cli-PID-*), no process started from its directory.
	pid=$(cat "$T/.pid" 2>/dev/null)
	left=$(ip netns list 2>/dev/null | sed 's/ .*//' |
	    grep -e "^xg-$pid-" -e "^xg-[a-z]*-$pid-" | tr '\n' ' ')
	procs=$(pgrep -f -- "$T/" | tr '\n' ' ')
	if [ -n "$pid" ] && [ -n "$left$procs" ]; then
		echo "left behind: namespaces ${left:-none}, processes" \
		    "${procs:-none}" >>"$T/.output"
		[ $rc -eq 0 ] && rc=1
	fi
	secs=$(printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10)))
	case $rc in
	0)	pass=$((pass + 1)); printf 'PASS  %-32s %6ss\n' "$name" "$secs" ;;
	77)	skip=$((skip + 1)); printf 'SKIP  %-32s %s\n' "$name" "$(tail -n 1 "$T/.output")" ;;
	*)	fail=$((fail + 1)); printf 'FAIL  %-32s %6ss\n' "$name" "$secs"
		sed 's/^/      | /' "$T/.output" | tail -n 40 ;;
	esac
	rm -rf "$T"
done
echo "system: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
