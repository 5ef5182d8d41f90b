# The documentation says what the binary does: every directive of the
# table (check-config --reference) is in xmppguard.conf(5) and, in its
# section, in the sample contrib/xmppguard.conf; every command of
# `xmppguard help` is in the README's command table and in xmppguard(8);
# every metric is in xmppguard(8).
# The README no longer carries the directive reference: the manual pages
# do.
. "$TOP/tests/system/lib.sh"

"$XG" check-config --reference > "$T/ref.md" || fail "--reference failed"
"$XG" check-config --reference=man > "$T/conf.5" ||
    fail "--reference=man failed"
# One "SECTION KEY" per directive, SECTION the section's first word.
awk '/^### \[/ { s = substr($2, 2); sub(/\]$/, "", s) }
    /^\| `[a-z0-9_]+` \|/ { k = $2; gsub(/`/, "", k); print s, k }' \
    "$T/ref.md" > "$T/directives"
n=$(wc -l < "$T/directives")
[ "$n" -ge 80 ] || fail "only $n directives in the reference"

# The manual page, by its .SS "[section]" headers and the \fBkey\fR of
# each entry (followed by " = default" or " (required)").
awk '/^\.SS "\[/ { s = substr($2, 3); sub(/[]"].*/, "", s) }
    /^\\fB[a-z0-9_]+\\fR / { k = $1; sub(/^\\fB/, "", k);
    sub(/\\fR$/, "", k); print s, k }' "$T/conf.5" > "$T/man-directives"
# The sample, by its [section NAME] (or ;[section NAME]) headers and
# key = (or ;key =) lines.
awk '/^;?\[[a-z]/ { s = $1; sub(/^;?\[/, "", s); sub(/\]$/, "", s) }
    /^;?[a-z0-9_]+[ \t]*=/ { k = $0; sub(/^;/, "", k);
    sub(/[ \t]*=.*/, "", k); print s, k }' \
    "$TOP/contrib/xmppguard.conf" > "$T/sample-directives"
missing=
while read -r s k; do
	grep -qx "$s $k" "$T/man-directives" ||
	    missing="$missing xmppguard.conf(5):[$s]$k"
	grep -qx "$s $k" "$T/sample-directives" ||
	    missing="$missing contrib/xmppguard.conf:[$s]$k"
done < "$T/directives"
[ -z "$missing" ] || fail "directives not documented:$missing"

# Commands: `help` prints one usage line per command.
"$XG" help > "$T/help" || fail "xmppguard help failed"
sed -n 's/^\(usage:\)\{0,1\} *xmppguard \([a-z-]*\).*/\2/p' "$T/help" \
    > "$T/commands"
n=$(wc -l < "$T/commands")
[ "$n" -ge 12 ] || fail "only $n commands in xmppguard help"
sed 's/\\-/-/g' "$TOP/contrib/xmppguard.8.in" > "$T/xmppguard.8"
while read -r c; do
	# README: a row of the command table, "| `xmppguard CMD ...` |".
	grep -q "^| \`xmppguard $c[ \`]" "$TOP/README" ||
	    missing="$missing README:$c"
	# xmppguard(8): the command's entry under COMMANDS, ".B CMD".
	grep -q "^\.B $c\( \|$\)" "$T/xmppguard.8" ||
	    missing="$missing xmppguard(8):$c"
done < "$T/commands"
[ -z "$missing" ] || fail "commands not documented:$missing"

# Metrics: every name a module describes is in xmppguard(8) (METRICS),
# where the names are written without their xmppguard_ prefix.
sed -n 's/.*\.metric = "xmppguard_\([a-z0-9_]*\)".*/\1/p' "$TOP"/src/*.c |
    sort -u > "$T/metrics"
n=$(wc -l < "$T/metrics")
[ "$n" -ge 40 ] || fail "only $n metrics found in src/"
while read -r m; do
	grep -q "^\.BR\{0,1\} .*\b$m\b" "$T/xmppguard.8" ||
	    missing="$missing xmppguard(8):$m"
done < "$T/metrics"
[ -z "$missing" ] || fail "metrics not documented:$missing"
exit 0
