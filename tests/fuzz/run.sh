#!/bin/sh
# Runs each fuzzer given for SECONDS (make fuzz, make fuzz-smoke) and
# prints one line per target: executions, seconds, exec/s, result.
#
#	sh tests/fuzz/run.sh SECONDS build/fuzz/bin/fuzz_NAME ...
#
# Each target starts from its seed corpus tests/fuzz/corpus/NAME/ (never
# written to) plus build/fuzz/corpus/NAME/, where new inputs are kept from
# run to run; its dictionary is tests/fuzz/NAME.dict if there is one.  A
# crash, leak, sanitizer report or timeout leaves its input in
# build/fuzz/crashes/ and its log in build/fuzz/log/NAME.log, and makes
# the run fail.  Runs one target at a time.
set -u

secs=${1:?usage: run.sh SECONDS FUZZER...}
shift
here=$(dirname "$0")
fail=0
mkdir -p build/fuzz/crashes build/fuzz/log

for bin in "$@"; do
	name=$(basename "$bin")
	seeds=$here/corpus/$name
	work=build/fuzz/corpus/$name
	log=build/fuzz/log/$name.log
	mkdir -p "$work"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$name-"
	[ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
	XG_FUZZ_FILTERS=${XG_FUZZ_FILTERS:-filters} \
	    "$bin" "$@" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' \
	    "$log" | tail -n 1)
	: "${runs:=?}" "${took:=$secs}"
	if [ "$rc" -eq 0 ]; then
		res=ok
	else
		res="FAILED (exit $rc; see $log and build/fuzz/crashes/)"
		fail=1
	fi
	if [ "$runs" != "?" ] && [ "$took" -gt 0 ]; then
		rate=$((runs / took))
	else
		rate=?
	fi
	printf '%-18s %10s execs %4ss %8s exec/s  %s\n' "$name" "$runs" \
	    "$took" "$rate" "$res"
done
exit $fail
