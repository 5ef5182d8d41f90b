#!/bin/sh
# make stress: runs the stress scenarios (tests/stress/NAME.sh; STRESS
# picks some, e.g. STRESS="storm flush"), each in a fresh temporary
# directory ($T) as the system tests are, its output shown as it comes.
# Each scenario prints its figures (key=value) and exits non-zero when a
# hard invariant fails; the run ends with one line of figures per
# scenario and a short table.  See tests/stress/README.
top=$(cd "$(dirname "$0")/../.." && pwd)
all="combined storm restart fullfs rotation flush"
sel=$(echo "${STRESS:-$all}" | tr ',' ' ')
sum=$(mktemp /tmp/xg-stress-sum.XXXXXX)
pass=0 fail=0 skip=0
for name in $sel; do
	t="$top/tests/stress/$name.sh"
	if [ ! -f "$t" ]; then
		echo "stress: no scenario '$name' (one of: $all)"
		fail=$((fail + 1))
		continue
	fi
	T=$(mktemp -d /tmp/xg-stress.XXXXXX)
	echo "== $name =="
	start=$(date +%s%N)
	{
		XG="${XG:-$top/xmppguard}" TOP="$top" T="$T" \
		    XG_STRESS_FIGURES="$T/.figures" sh -c \
		    'echo $$ >"$T/.pid"; exec bash "$1"' sh "$t" 2>&1
		echo $? > "$T/.rc"
	} | tee "$T/.output" | sed 's/^/  | /'
	rc=$(cat "$T/.rc")
	secs=$((($(date +%s%N) - start) / 1000000000))
	case $rc in
	0)	pass=$((pass + 1)); res=PASS ;;
	77)	skip=$((skip + 1)); res=SKIP ;;
	*)	fail=$((fail + 1)); res=FAIL ;;
	esac
	figs=$(sed -n 's/^figures: *//p' "$T/.figures" 2>/dev/null | tail -n 1)
	summ=$(sed -n 's/^summary: *//p' "$T/.figures" 2>/dev/null | tail -n 1)
	[ $rc = 77 ] && summ=$(grep '^SKIP: ' "$T/.output" | tail -n 1)
	[ $rc != 0 ] && [ $rc != 77 ] && [ -z "$summ" ] &&
	    summ=$(grep '^FAIL: ' "$T/.output" | tail -n 1)
	echo "stress: scenario=$name result=$res seconds=$secs $figs"
	printf '%-9s %-4s %5ss  %s\n' "$name" "$res" "$secs" "$summ" >> "$sum"
	rm -rf "$T"
done
echo
echo "scenario  res   time  figures"
cat "$sum"
rm -f "$sum"
echo "stress: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
