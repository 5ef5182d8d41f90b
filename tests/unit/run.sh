#!/bin/sh
# Runs each cmocka test binary given as an argument and shows its output,
# then one summary line over all of them, counting test cases:
# "unit: N passed, N failed".  A binary that dies before cmocka's own
# summary (a sanitizer report, a crash) counts as one failure.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0
for t in "$@"; do
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out")
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ] && [ -z "$f" ]; then
		echo "FAIL: $t exited with status $rc"
		fail=$((fail + 1))
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
