#!/bin/bash
# test-filter's threads on the benchmark log and on one whose joins mostly
# miss.
#
#   contrib/bench/filter-jobs.sh [LINES]      XG=./xmppguard by default
#
# Generates LINES (default 300000) lines with gen-ejabberd-log.py twice:
# the benchmark's log (connection lines before their use) and --unjoined
# (random connection keys whose accept lines are mostly absent, as in a
# log that starts mid-stream or was rotated; microseconds out of order;
# mixed ::ffff: addresses).  On each it times test-filter
# filters/ejabberd.conf LOG with --jobs 1, with its default (one thread
# per CPU for a file over 32 MB) and with --jobs 2, best of 3, and prints
# a markdown table: seconds, the bytes the busiest thread read
# (work_bytes_max, which load does not change) against the file's size,
# and whether the events equal --jobs 1's.  No root, no network.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
XG=${XG:-./xmppguard}
N=${1:-300000}
case $N in
''|*[!0-9]*) echo "usage: $0 [LINES]      XG=./xmppguard by default" >&2
	exit 2 ;;
esac
[ -x "$XG" ] || { echo "no $XG (make, or set XG)" >&2; exit 1; }

T=$(mktemp -d /tmp/xg-bench-jobs.XXXXXX)
trap 'rm -rf "$T"' EXIT
python3 contrib/bench/gen-ejabberd-log.py "$N" "$T/joined.log" || exit 1
python3 contrib/bench/gen-ejabberd-log.py --unjoined "$N" "$T/unjoined.log" ||
    exit 1

# field NAME: a field of the JSON summary in $T/out.
field() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get(sys.argv[2], "?"))' "$T/out" "$1"
}

# run LOG ARGS...: best of 3 into SECS, the summary's work into WORK and
# JOBS, the events' digest into EV.
run() {
	local log=$1 i s
	shift
	SECS=
	for i in 1 2 3; do
		"$XG" test-filter filters/ejabberd.conf "$T/$log.log" "$@" \
		    --json > "$T/out" 2>&1 || { SECS=failed; return; }
		s=$(field seconds)
		if [ -z "$SECS" ] || [ "$(echo "$s < $SECS" | bc -l)" = 1 ]; then
			SECS=$s
		fi
	done
	WORK=$(field work_bytes_max)
	JOBS=$(field jobs)
	EV=$("$XG" test-filter filters/ejabberd.conf "$T/$log.log" "$@" \
	    --events 2>/dev/null | md5sum | cut -c1-12)
}

echo "$N lines each; xmppguard: $XG; $(nproc) CPUs"
echo
echo "| log | test-filter | jobs | seconds | busiest thread read | events |"
echo "|---|---|---:|---:|---:|---|"
for log in joined unjoined; do
	size=$(stat -c %s "$T/$log.log")
	ref=
	for args in "--jobs 1" "" "--jobs 2"; do
		# shellcheck disable=SC2086
		run "$log" $args
		[ -n "$ref" ] || ref=$EV
		same=$([ "$EV" = "$ref" ] && echo "same as --jobs 1" ||
		    echo "DIFFERENT")
		ratio=$(awk -v w="$WORK" -v s="$size" 'BEGIN {
			if (w ~ /^[0-9]+$/) printf "%.2f x file", w / s
			else print "?" }')
		echo "| $log | ${args:-(default)} | $JOBS | $SECS | $ratio |" \
		    "$same |"
	done
done
echo
echo "command: $XG test-filter filters/ejabberd.conf LOG [--jobs N] --json"
