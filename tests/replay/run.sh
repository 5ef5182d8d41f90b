#!/bin/sh
# Replay over generated hours (tests/tools/gen-hour.py; no root): a NAT
# of 150 accounts, a churn bot, a password guesser, ordinary clients and
# a federation peer, for a few seeds.  For each, tests/replay/check.py
# asserts what xmppguard would have done: the bot and the guesser judged,
# once per ban and never while it is in force, the guesser's bans
# escalated, no verdict for the ordinary clients or the peer, and the
# summary's connections and refusals as the capture has them; these
# checks are about the bans at the limits, so c2s has kernel_caps = no.
# With the caps on (the default), the bot is refused in the kernel, not
# banned for its churn.  Also: the generator is deterministic, and the
# text output has a line for each object of --json.
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
# Banned at the limits (the kernel caps are checked apart, below).
printf '[service c2s]\nkernel_caps = no\n' > "$T/bans.conf"

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
	if ! "$XG" replay -c "$T/bans.conf" --json \
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
	"$XG" replay -c "$T/bans.conf" --conntrack "$d/conntrack.txt" \
	    --log ejabberd="$d/ejabberd.log" >"$d/out.txt" 2>/dev/null
	[ "$(wc -l < "$d/out.txt")" -eq "$(wc -l < "$d/out.json")" ] &&
	    ok "seed $seed: text and --json agree" ||
	    ko "seed $seed: text and --json agree"
done

# The caps on: the bot's churn verdicts are not bans (the kernel refuses
# its connections), the guesser's failed logins still are.
d=$T/1
if "$XG" replay -c "$T/empty.conf" --json --conntrack "$d/conntrack.txt" \
    --log ejabberd="$d/ejabberd.log" >"$d/caps.json" 2>"$d/caps.err" &&
    python3 - "$d/manifest.json" "$d/caps.json" <<-'EOF'
	import json, sys
	m = json.load(open(sys.argv[1]))
	rows = [json.loads(line) for line in open(sys.argv[2])]
	bot = [r for r in rows if r["address"] == m["bot"] + "/32"]
	assert bot and all(r["ban"] is None and r["not_banned"] ==
	    "refused in the kernel: not banned" for r in bot), bot
	assert any(r["ban"] is not None and r["rule"] == "auth" and
	    r["address"] == m["guesser"] + "/32" for r in rows), rows
	EOF
then
	grep -q 'connections refused by the kernel caps (0 concurrency, [1-9]' \
	    "$d/caps.err" && ok "seed 1, caps on: the bot refused, not banned" ||
	    { cat "$d/caps.err"; ko "seed 1, caps on: the bot refused"; }
else
	cat "$d/caps.err"
	ko "seed 1, caps on: the bot refused, not banned"
fi

echo "replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
