# The shipped configurations: every contrib/examples/*.conf passes
# check-config (their log files need not exist: a warning, never an
# error), and the installed contrib/xmppguard.conf, on a host where a
# server's package wrote its log, follows that log without an edit
# ([global] logs = auto), starting in dry run.
. "$TOP/tests/system/lib.sh"
need_root

# StrictModes: as root a file anyone but root could change is refused, so
# the files are checked from a root-owned directory, mode 0644.
chmod 755 "$T"
mkdir -m 755 "$T/ex"
n=0
for f in "$TOP"/contrib/examples/*.conf; do
	install -m 0644 "$f" "$T/ex/"
	c=$T/ex/$(basename "$f")
	"$XG" check-config -c "$c" >"$T/out" 2>"$T/err" ||
	    { cat "$T/err"; fail "$(basename "$f") does not pass check-config"; }
	expect_grep "^\[log " "$T/out"
	grep -v -e ': warning: ' -e ': configuration OK$' "$T/err" &&
	    fail "$(basename "$f"): more than warnings on stderr"
	n=$((n + 1))
done
# One per server: prosody, ejabberd, jabberd2, metronome, openfire,
# mongooseim, tigase.
[ "$n" -ge 7 ] || fail "only $n examples"
for s in prosody ejabberd jabberd2 metronome openfire mongooseim tigase; do
	[ -f "$TOP/contrib/examples/$s.conf" ] || fail "no example for $s"
done

# The installed file on a host with Prosody's log: /var/log is a tmpfs of
# this mount namespace, so the host's own logs are neither seen nor
# touched.
install -m 0644 "$TOP/contrib/xmppguard.conf" "$T/xmppguard.conf"
unshare -m sh -c '
	mount --make-rprivate / &&
	mount -t tmpfs tmpfs /var/log &&
	mkdir /var/log/prosody &&
	: > /var/log/prosody/prosody.log &&
	"$1" check-config --json -c "$2" >"$3/json" 2>"$3/err" &&
	"$1" check-config -c "$2" >"$3/text" 2>>"$3/err"
' sh "$XG" "$T/xmppguard.conf" "$T" ||
    { cat "$T/err"; fail "installed configuration with a Prosody log"; }
python3 - "$T/json" <<'PY' || fail "check-config --json: $(cat "$T/json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["ok"] and c["dry_run"], c
logs = [l for l in c["logs"] if l["path"] == "/var/log/prosody/prosody.log"]
assert len(logs) == 1 and logs[0]["auto"] and logs[0]["filter"] == "prosody", c
assert not any("no log is followed" in w["message"] for w in c["warnings"]), c
PY
expect_grep '^; auto: ' "$T/text"
expect_grep '^path *= /var/log/prosody/prosody.log$' "$T/text"
expect_grep '^dry_run *= yes$' "$T/text"

# With logs = none the same host warns that the log goes unread.
sed 's/^;logs *= auto/logs = none/' "$T/xmppguard.conf" > "$T/none.conf"
chmod 644 "$T/none.conf"
unshare -m sh -c '
	mount --make-rprivate / &&
	mount -t tmpfs tmpfs /var/log &&
	mkdir /var/log/prosody &&
	: > /var/log/prosody/prosody.log &&
	"$1" check-config -c "$2" >/dev/null 2>"$3/err"
' sh "$XG" "$T/none.conf" "$T" || { cat "$T/err"; fail "logs = none"; }
expect_grep '/none.conf:[0-9]*: warning: /var/log/prosody/prosody.log exists but no \[log\] section follows it: failed logins there go unseen (logs = auto would)' "$T/err"
expect_grep '^warning: no log is followed' "$T/err"
exit 0
