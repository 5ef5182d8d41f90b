#!/bin/sh
# Runs every filter over its fixtures (tests/filters/NAME/*.log) and
# compares the events with NAME/*.expect: one "LINE KIND IP USER" per
# expected event ('-' for no address or no user); a line not listed must
# give no event.  "forged N" in an .expect: N lines refused as forged
# (none if absent).  Also fails if a pattern of the filter is hit by no
# fixture line, or if a filter has no fixtures.
#
# usage: tests/filters/run.sh [NAME...]       XG=./xmppguard by default
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
XG=${XG:-$TOP/xmppguard}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass=0 fail=0
if [ $# -eq 0 ]; then
	set --
	for f in "$TOP"/filters/*.conf; do
		[ -e "$f" ] || continue
		set -- "$@" "$(basename "$f" .conf)"
	done
fi

# The events of test-filter --events as "LINE KIND IP USER".
flatten() {
	python3 -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    print(e["line"], e["kind"], e["ip"] or "-", e["user"] or "-")
'
}

for name in "$@"; do
	conf=$TOP/filters/$name.conf
	dir=$TOP/tests/filters/$name
	ok=1
	if [ ! -f "$conf" ]; then
		echo "FAIL $name: no filters/$name.conf"
		fail=$((fail + 1))
		continue
	fi
	nlogs=0
	: > "$T/summaries"
	for log in "$dir"/*.log; do
		[ -e "$log" ] || continue
		nlogs=$((nlogs + 1))
		base=${log%.log}
		rel=tests/filters/$name/$(basename "$log")
		if [ ! -f "$base.expect" ]; then
			echo "FAIL $rel: no $(basename "$base").expect"
			ok=0
			continue
		fi
		if ! "$XG" test-filter "$conf" "$log" --events --json \
		    > "$T/events" 2> "$T/summary"; then
			echo "FAIL $rel: test-filter failed"
			ok=0
			continue
		fi
		cat "$T/summary" >> "$T/summaries"
		flatten < "$T/events" > "$T/got" || { ok=0; continue; }
		grep -v '^[[:space:]]*#' "$base.expect" | grep -v '^[[:space:]]*$' |
		    grep -v '^forged ' |
		    sed 's/[[:space:]][[:space:]]*/ /g; s/ $//' > "$T/want"
		wantf=$(sed -n 's/^forged[[:space:]]*\([0-9]*\).*/\1/p' \
		    "$base.expect")
		gotf=$(python3 -c 'import json, sys
print(json.loads(open(sys.argv[1]).readline())["forged"])' "$T/summary")
		if [ "${wantf:-0}" != "$gotf" ]; then
			echo "FAIL $rel: $gotf lines refused as forged," \
			    "${wantf:-0} expected"
			ok=0
		fi
		# Threads (chunks with warm-up and join look-back) give the
		# very same events as one reader.
		"$XG" test-filter "$conf" "$log" --events --jobs 3 \
		    2>/dev/null > "$T/events3"
		if ! cmp -s "$T/events" "$T/events3"; then
			echo "FAIL $rel: --jobs 3 gives other events than" \
			    "one job:"
			diff "$T/events" "$T/events3" | head -6 |
			    sed 's/^/    /'
			ok=0
		fi
		# --kind K gives the same events of kind K as the whole filter
		# (its joins look back instead of running every line).
		for k in $(cut -d' ' -f2 "$T/want" | sort -u); do
			"$XG" test-filter "$conf" "$log" --events --kind "$k" \
			    2>/dev/null | flatten > "$T/gotk"
			grep "^[0-9]* $k " "$T/want" > "$T/wantk"
			if ! cmp -s "$T/wantk" "$T/gotk"; then
				echo "FAIL $rel: --kind $k differs from the" \
				    "whole filter's $k events:"
				diff "$T/wantk" "$T/gotk" | head -10 |
				    sed 's/^/    /'
				ok=0
			fi
		done
		if ! diff -u "$T/want" "$T/got" > "$T/diff"; then
			echo "FAIL $rel: events differ from" \
			    "$(basename "$base").expect (- expected, + got):"
			sed -n '3,$p' "$T/diff" | grep '^[-+]' | head -40 |
			    while IFS= read -r l; do
				n=$(printf '%s' "$l" | sed 's/^.\([0-9]*\).*/\1/')
				printf '    %s\n' "$l"
				case $n in
				''|*[!0-9]*) ;;
				*) printf '        line %s: %s\n' "$n" \
				    "$(sed -n "${n}p" "$log" | cut -c1-160)" ;;
				esac
			    done
			ok=0
		fi
	done
	if [ "$nlogs" -eq 0 ]; then
		echo "FAIL $name: no fixtures in tests/filters/$name/"
		fail=$((fail + 1))
		continue
	fi
	# Every pattern hit by some fixture line.
	unhit=$(python3 -c '
import json, sys
hit = {}
order = []
for l in open(sys.argv[1]):
    s = json.loads(l)
    for p in s["patterns"]:
        if p["name"] not in hit:
            order.append(p["name"])
            hit[p["name"]] = 0
        hit[p["name"]] += p["matched"]
print(" ".join(n for n in order if hit[n] == 0))
' "$T/summaries")
	if [ -n "$unhit" ]; then
		echo "FAIL $name: patterns hit by no fixture line: $unhit"
		ok=0
	fi
	if [ $ok -eq 1 ]; then
		echo "PASS $name ($nlogs fixture files)"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
# Fixture directories without a filter.
for d in "$TOP"/tests/filters/*/; do
	[ -d "$d" ] || continue
	n=$(basename "$d")
	if [ ! -f "$TOP/filters/$n.conf" ]; then
		echo "FAIL tests/filters/$n: no filters/$n.conf"
		fail=$((fail + 1))
	fi
done
echo "filters: $pass passed, $fail failed"
[ $fail -eq 0 ]
