#!/bin/sh
# Replay over generated hours (tests/tools/gen-hour.py; no root): a NAT
# of 150 accounts, a churn bot, a password guesser, ordinary clients and
# a federation peer, for a few seeds.  For each, tests/replay/check.py
# asserts what xmppguard would have done: the bot and the guesser judged,
# once per ban and never while it is in force, the guesser's bans
# escalated, no verdict for the ordinary clients or the peer, and the
# summary's connections and refusals as the capture has them.  Also: the
# generator is deterministic, and the text output has a line for each
# object of --json.
#
# usage: tests/replay/run.sh          XG=./xmppguard by default
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
XG=${XG:-$TOP/xmppguard}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# The log is written in UTC; the ejabberd filter reads local time.
export TZ=UTC
: > "$T/empty.conf"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

python3 "$TOP/tests/tools/gen-hour.py" --seed 1 "$T/again" &&
    python3 "$TOP/tests/tools/gen-hour.py" --seed 1 "$T/1" &&
    cmp -s "$T/1/conntrack.txt" "$T/again/conntrack.txt" &&
    cmp -s "$T/1/ejabberd.log" "$T/again/ejabberd.log" &&
    ok "gen-hour.py: deterministic" || ko "gen-hour.py: deterministic"

for seed in 1 2 3; do
	d=$T/$seed
	[ -f "$d/manifest.json" ] ||
	    python3 "$TOP/tests/tools/gen-hour.py" --seed "$seed" "$d" ||
	    { ko "seed $seed: gen-hour.py"; continue; }
	if ! "$XG" replay -c "$T/empty.conf" --json \
	    --conntrack "$d/conntrack.txt" --log ejabberd="$d/ejabberd.log" \
	    >"$d/out.json" 2>"$d/err"; then
		cat "$d/err"
		ko "seed $seed: replay --json"
		continue
	fi
	if python3 "$TOP/tests/replay/check.py" "$d" "$d/out.json" \
	    "$d/err"; then
		ok "seed $seed: verdicts, bans and absences"
	else
		cat "$d/out.json" "$d/err"
		ko "seed $seed: verdicts, bans and absences"
	fi
	"$XG" replay -c "$T/empty.conf" --conntrack "$d/conntrack.txt" \
	    --log ejabberd="$d/ejabberd.log" >"$d/out.txt" 2>/dev/null
	[ "$(wc -l < "$d/out.txt")" -eq "$(wc -l < "$d/out.json")" ] &&
	    ok "seed $seed: text and --json agree" ||
	    ko "seed $seed: text and --json agree"
done

echo "replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
