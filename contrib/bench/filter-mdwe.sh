#!/bin/sh
# The cost of MemoryDenyWriteExecute=yes (set by the systemd unit): the
# shipped filters with PCRE2's JIT, and interpreted under the same kernel
# restriction (contrib/bench/mdwe.c), on the real ejabberd and Prosody
# fixtures repeated, one thread, RUNS runs each; prints the median.
#
#	sh contrib/bench/filter-mdwe.sh [RUNS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
tmp=$(mktemp -d /tmp/xg-mdwe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -Wall -Wextra -Werror -o "$tmp/mdwe" "$top/contrib/bench/mdwe.c"
i=0
while [ $i -lt 400 ]; do
	cat "$top/tests/filters/ejabberd/ejabberd-23.01.log"
	i=$((i + 1))
done > "$tmp/ejabberd.log"
i=0
while [ $i -lt 150 ]; do
	cat "$top/tests/filters/prosody/debug.log"
	i=$((i + 1))
done > "$tmp/prosody.log"

rate() {	# rate [WRAPPER] FILTER LOG: lines/s, median of $runs
	n=0
	while [ $n -lt "$runs" ]; do
		"$@" --jobs 1 2>/dev/null |
		    sed -n 's/.* \([0-9][0-9]*\) lines\/s.*/\1/p'
		n=$((n + 1))
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
printf '%-10s %14s %14s\n' filter "JIT lines/s" "MDWE lines/s"
for f in ejabberd prosody; do
	printf '%-10s %14s %14s\n' "$f" \
	    "$(rate "$top/xmppguard" test-filter "$f" "$tmp/$f.log")" \
	    "$(rate "$tmp/mdwe" "$top/xmppguard" test-filter "$f" \
	    "$tmp/$f.log")"
done
