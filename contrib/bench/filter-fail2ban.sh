#!/bin/bash
# The ejabberd filter against fail2ban-regex and grep on the same log.
#
#   contrib/bench/filter-fail2ban.sh [-n LINES]      XG=./xmppguard by default
#
# Generates LINES (default 1000000) lines of ejabberd 20.x+ log with
# gen-ejabberd-log.py (about 5% failed logins) into a temporary directory
# and times, on that file:
#   fail2ban-regex   with a failregex for the 20.x "[warning] ... Failed c2s"
#                    lines written in fail2ban's syntax (<HOST>), fail2ban's
#                    default date detection (it finds the layout itself);
#                    run once, it is the slow one
#   grep -cP         the same regex in plain PCRE (date and address spelt
#                    out), best of 3
#   xmppguard        test-filter filters/ejabberd.conf LOG, the whole
#                    filter (every kind, joins, dedup), best of 3, with its
#                    default of one thread per CPU, then with --jobs 1
#   xmppguard kind   the same with --kind auth_fail, best of 3
# and prints a markdown table: matched is the number of lines each tool
# matched (for xmppguard, lines any pattern matched and, in parentheses,
# those its auth_fail patterns matched; with --kind, the latter: --kind runs
# only the auth_fail patterns, and looks back for a connection line only
# when a failure line lacks its address).  Events count failed logins once
# per connection, so they are fewer than the failure lines.
# Needs fail2ban and python3; no root, no network.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
XG=${XG:-./xmppguard}
N=1000000

usage() {
	sed -n '3,4p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || usage; N=$2; shift ;;
	*) usage ;;
	esac
	shift
done
case $N in ''|*[!0-9]*) usage ;; esac
[ -x "$XG" ] || { echo "no $XG (make, or set XG)" >&2; exit 1; }

T=$(mktemp -d /tmp/xg-bench-f2b.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$TOP/contrib/bench/fail2ban-env.sh"
fail2ban_env "$T" || exit 1
LOG=$T/ejabberd.log
python3 contrib/bench/gen-ejabberd-log.py "$N" "$LOG" || exit 1
FAILS=$(grep -c 'Failed c2s' "$LOG")

# fail2ban cuts the date (with its fraction and offset) out of the line
# before the failregex runs; <HOST> takes the address without ::ffff:.
F2B='^ \[warning\] <0\.\d+\.0>@ejabberd_c2s:\S+ \([^)]*\) Failed c2s \S+ authentication (?:for \S+ )?from <HOST>: '
PCRE='^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d)? \[warning\] <0\.\d+\.0>@ejabberd_c2s:\S+ \([^)]*\) Failed c2s \S+ authentication (?:for \S+ )?from (?:::ffff:)?[0-9A-Fa-f.:]+: '

now() { date +%s.%N; }

# best CMD...: runs CMD 3 times, output to $T/out; sets SECS to the best.
best() {
	local i t0 t1 s
	SECS=
	for i in 1 2 3; do
		t0=$(now)
		"$@" > "$T/out" 2>&1
		t1=$(now)
		s=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$SECS" ] || [ "$(echo "$s < $SECS" | bc -l)" = 1 ]; then
			SECS=$s
		fi
	done
}

t0=$(now)
fail2ban-regex "$LOG" "$F2B" > "$T/f2b" 2>&1
t1=$(now)
F2B_S=$(echo "$t1 - $t0" | bc -l)
F2B_M=$(sed -n 's/^Lines: .*, \([0-9]*\) matched,.*/\1/p' "$T/f2b")
F2B_P=$(sed -n 's/^\[processed in \(.*\) sec\]/\1/p' "$T/f2b")

best grep -cP "$PCRE" "$LOG"
GREP_S=$SECS GREP_M=$(cat "$T/out")

# Lines matched by the auth_fail patterns, from the summary's table.
af_matched() {
	awk '/\(auth_fail\)$/ { m += $2 } END { print m + 0 }' "$T/out"
}

best "$XG" test-filter filters/ejabberd.conf "$LOG"
XG_S=$SECS
XG_M=$(sed -n 's/^lines .* read, \([0-9]*\) matched.*/\1/p' "$T/out")
XG_M="$XG_M (auth_fail $(af_matched))"
XG_OWN=$(grep -o '[0-9]* lines/s' "$T/out")
cp "$T/out" "$T/xg-summary"

best "$XG" test-filter filters/ejabberd.conf "$LOG" --jobs 1
XG1_S=$SECS
XG1_M=$(sed -n 's/^lines .* read, \([0-9]*\) matched.*/\1/p' "$T/out")
XG1_M="$XG1_M (auth_fail $(af_matched))"

best "$XG" test-filter filters/ejabberd.conf "$LOG" --kind auth_fail
XGK_S=$SECS
XGK_M=$(af_matched)
XGK_OWN=$(grep -o '[0-9]* lines/s' "$T/out")
XGK_EV=$(sed -n 's/^events *\([0-9]*\).*/\1/p' "$T/out")

row() {	# tool matched seconds
	awk -v tool="$1" -v n="$N" -v m="$2" -v s="$3" -v f="$F2B_S" \
	    -v g="$GREP_S" 'BEGIN {
		printf "| %s | %d | %s | %.3f | %.0f | %.2f | %.2f |\n",
		    tool, n, m, s, n / s, f / s, g / s }'
}

echo "log: $N lines, $FAILS failed-login lines (ejabberd 20.x+ layout)"
echo "xmppguard: $XG"
echo
echo "| tool | lines | matched | seconds | lines/s | x fail2ban-regex | x grep |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row "fail2ban-regex LOG 'FAILREGEX'" "${F2B_M:-?}" "$F2B_S"
row "grep -cP 'PCRE' LOG" "$GREP_M" "$GREP_S"
row "xmppguard test-filter ejabberd.conf LOG ($(nproc) threads)" \
    "${XG_M:-?}" "$XG_S"
row "xmppguard test-filter ejabberd.conf LOG --jobs 1" "${XG1_M:-?}" "$XG1_S"
row "xmppguard test-filter ejabberd.conf LOG --kind auth_fail" \
    "${XGK_M:-?}" "$XGK_S"
echo
echo "fail2ban-regex's own figure: ${F2B_P:-?} s processing;" \
    "xmppguard's own: ${XG_OWN:-?} (whole), ${XGK_OWN:-?} (--kind auth_fail," \
    "${XGK_EV:-?} events: one per connection)"
[ "${F2B_M:-}" = "$FAILS" ] && [ "$GREP_M" = "$FAILS" ] ||
    echo "WARNING: fail2ban-regex or grep did not match the $FAILS failure lines"
echo
echo "commands:"
echo "  fail2ban-regex LOG '$F2B'"
echo "  grep -cP '$PCRE' LOG"
echo "  $XG test-filter filters/ejabberd.conf LOG [--jobs 1 | --kind auth_fail]"
