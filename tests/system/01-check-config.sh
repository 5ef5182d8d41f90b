# check-config: every mistake of a file is reported as FILE:LINE, the exit
# status is non-zero; a good file and the built-in defaults print a
# configuration that loads again.
. "$TOP/tests/system/lib.sh"

cat > "$T/bad.conf" <<'CONF'
[global]
state_dir = /tmp/xg-state
firewall = nft
[service c2s]
max_concurent = 40
max_new = 120/1h
[store]
; a comment
retention = 30 parsecs
CONF
"$XG" check-config -c "$T/bad.conf" >"$T/stdout" 2>"$T/stderr"
rc=$?
[ $rc -ne 0 ] || fail "check-config accepted a bad file"
expect_grep "^$T/bad.conf:3: .*nft" "$T/stderr"
expect_grep "^$T/bad.conf:5: .*max_concurent.*did you mean 'max_concurrent'" "$T/stderr"
expect_grep "^$T/bad.conf:9: .*retention" "$T/stderr"
[ "$(grep -c "^$T/bad.conf:" "$T/stderr")" -eq 3 ] ||
    fail "expected exactly 3 errors, got: $(cat "$T/stderr")"
[ -s "$T/stdout" ] && fail "a bad file must print no configuration"

# Built-in defaults: valid, and what they print loads again unchanged.
"$XG" check-config >"$T/defaults.conf" 2>"$T/stderr" ||
    fail "built-in defaults rejected: $(cat "$T/stderr")"
expect_grep '^\[service c2s\]' "$T/defaults.conf"
expect_grep '^max_concurrent *= *50' "$T/defaults.conf"
"$XG" check-config -c "$T/defaults.conf" >"$T/again.conf" 2>"$T/stderr" ||
    fail "printed defaults do not load: $(cat "$T/stderr")"
# (The first line names where the configuration came from.)
diff <(sed 1d "$T/defaults.conf") <(sed 1d "$T/again.conf") >/dev/null ||
    fail "print/load round trip changed the configuration"

# The sample configuration we install loads.
"$XG" check-config -c "$TOP/contrib/xmppguard.conf" >/dev/null 2>"$T/stderr" ||
    fail "contrib/xmppguard.conf: $(cat "$T/stderr")"

# A missing file is an error naming it.
"$XG" check-config -c "$T/nope.conf" >/dev/null 2>"$T/stderr" &&
    fail "a missing file was accepted"
expect_grep "$T/nope.conf" "$T/stderr"
# --json: the errors with their file and line.
"$XG" check-config --json -c "$T/bad.conf" >"$T/json" 2>"$T/stderr" &&
    fail "check-config --json accepted a bad file"
python3 - "$T/json" "$T/bad.conf" <<'PY' || fail "--json: $(cat "$T/json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["ok"] is False, c
assert [(e["file"], e["line"]) for e in c["errors"]] == \
    [(sys.argv[2], 3), (sys.argv[2], 5), (sys.argv[2], 9)], c
PY
"$XG" check-config --json -c "$TOP/contrib/xmppguard.conf" >"$T/json" ||
    fail "check-config --json on the sample"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); \
    assert c["ok"] and c["services"][0]["name"] == "c2s", c' "$T/json" ||
    fail "--json on the sample: $(cat "$T/json")"

# What run refuses at start, check-config refuses too, with the same
# message (after check-config's FILE:LINE:).  Each case is run for real,
# in a network namespace of its own, and must stop with that message.
need_root
ns_private ns
chmod 755 "$T"
mkdir -m 755 "$T/cases"
cat > "$T/cases/badfilter.filter" <<'FILTER'
[filter]
name = bad
time = none
[pattern fail]
kind = auth_fail
regex = Failed from (?<ip>\S+
FILTER
touch "$T/cases/x.log"
base="[global]
state_dir = $T/state
control_socket = $T/state/sock
[conntrack]
enabled = no"
case_conf() {	# NAME TEXT: a case's file, root-owned, 0644
	printf '%s\n%s\n' "$base" "$2" > "$T/cases/$1.conf"
	chmod 644 "$T/cases/$1.conf"
}
case_conf duration '[global]
firewall = command
[ban]
ban_command = /bin/true {prefix} {duration}s'
case_conf unbanprog '[global]
firewall = command
[ban]
ban_command = /bin/true {prefix}
unban_command = /nonexistent/unblock {prefix}'
case_conf nfttable '[ban]
nft_table = xg.bans'
case_conf webhook '[global]
firewall = webhook'
case_conf group '[global]
control_group = xg-no-such-group'
case_conf mode '[global]
control_mode = 0777'
case_conf user '[global]
user = xg-no-such-user'
case_conf statedir "[global]
state_dir = $T/none/state"
case_conf metrics '[metrics]
listen = localhost:9'
case_conf filter "[global]
firewall = none
[log bad]
path = $T/cases/x.log
filter = $T/cases/badfilter.filter"
for c in duration unbanprog nfttable webhook group mode user statedir \
    metrics filter; do
	f=$T/cases/$c.conf
	"$XG" check-config -c "$f" >/dev/null 2>"$T/cc.err" &&
	    fail "$c: check-config accepted it"
	msg=$(grep -v ': warning: ' "$T/cc.err" | head -n 1 |
	    sed "s|^$f:[0-9]*: ||")
	[ -n "$msg" ] || fail "$c: check-config said nothing"
	rm -rf "$T/state"
	timeout 20 ip netns exec "$ns" "$XG" run -f -c "$f" >/dev/null \
	    2>"$T/run.err" && fail "$c: run started"
	grep -qF -- "$msg" "$T/run.err" ||
	    fail "$c: run said $(cat "$T/run.err"), check-config $msg"
done

# Exit statuses, for every command: 2 for a usage error (with the usage),
# 3 for a control command when no daemon runs.
for cmd in run status bans ban unban reload check-config replay report \
    test-filter version help; do
	"$XG" $cmd --no-such-option >/dev/null 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$cmd --no-such-option: exit $rc, not 2"
	expect_grep 'usage:' "$T/err"
done
"$XG" no-such-command >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown command: not exit 2"
for cmd in status bans "ban 192.0.2.1" "unban 192.0.2.1" reload \
    "status --json" "ban 192.0.2.1 --json"; do
	"$XG" $cmd -s "$T/no-daemon.sock" >/dev/null 2>"$T/err"
	rc=$?
	[ $rc -eq 3 ] || fail "$cmd with no daemon: exit $rc, not 3"
done
# ban and unban --json, with a daemon (no conntrack, no firewall).
cat > "$T/d.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/state/sock
firewall = none
[conntrack]
enabled = no
CONF
chmod 644 "$T/d.conf"
rm -rf "$T/state"
ip netns exec "$ns" "$XG" run -f -c "$T/d.conf" 2>"$T/d.log" &
dpid=$!
wait_for_line 'ready: ' "$T/d.log"
"$XG" ban 192.0.2.7 --for 1h --reason test --json -s "$T/state/sock" \
    >"$T/ban.json" || fail "ban --json: $(cat "$T/ban.json")"
python3 -c 'import json, sys; b = json.load(open(sys.argv[1])); \
    assert b["address"] == "192.0.2.7/32" and b["rule"] == "manual", b' "$T/ban.json" ||
    fail "ban --json printed $(cat "$T/ban.json")"
"$XG" unban 192.0.2.7 --json -s "$T/state/sock" >"$T/unban.json" ||
    fail "unban --json"
python3 -c 'import json, sys; u = json.load(open(sys.argv[1])); \
    assert u == {"address": "192.0.2.7/32", "unbanned": True}, u' "$T/unban.json" ||
    fail "unban --json printed $(cat "$T/unban.json")"
"$XG" unban 192.0.2.7 --json -s "$T/state/sock" >/dev/null 2>&1
[ $? -eq 1 ] || fail "unban of what is not banned: not exit 1"
kill -TERM "$dpid"
wait_pid_gone "$dpid" || fail "daemon ignored SIGTERM"

"$XG" version --json | python3 -c 'import json, sys; \
    assert json.load(sys.stdin)["version"]' || fail "version --json"
exit 0
