# An authentication backend outage, as the log shows it: after an hour of
# ordinary logins, every login fails from two hundred addresses at once.
# The daemon warns once, holds the auth verdicts it reaches meanwhile
# (stored with held = 1, never enforced), says when the shape is gone, and
# judges the next password guesser as usual; one IPv6 host failing from
# 200 addresses of its /64 is one source, and declares no outage.  An ops chat (a JSON webhook)
# hears of the outage once.  The log's own time stamps
# drive it: an hour and a half of history is written in a second.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) not installed"

state="$T/state"
cat > "$T/f.conf" <<'FILTER'
[filter]
name      = ej
time      = %Y-%m-%d %H:%M:%S
timezone  = utc
prefilter = authentication

[pattern fail]
kind     = auth_fail
literal  = Failed c2s
regex    = ^(?<time>\S+ \S+) <(?<key>[0-9.]+)> Failed c2s PLAIN authentication for (?<user>\w+)@\S+ from (?<ip>\S+)$
once_per = key

[pattern ok]
kind    = auth_ok
literal = Accepted c2s
regex   = ^(?<time>\S+ \S+) <(?<key>[0-9.]+)> Accepted c2s PLAIN authentication for (?<user>\w+)@\S+ from (?<ip>\S+)$
FILTER
# An ops chat hears of the outage (a JSON webhook played by Python).
chatd "$ns" ops ok
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
control_socket = $state/sock
firewall = none
[conntrack]
enabled = no
[log ej]
path = $T/ej.log
filter = $T/f.conf
[alert ops]
type = json
url = http://127.0.0.1:$PORT/hook
events = auth-outage
CONF
: > "$T/ej.log"
xg_run "$ns" "$T/daemon.log" -c "$T/xg.conf"
pid=$XG_PID

# The burst starts 50 s past a minute, so it straddles two of the
# detector's clock-aligned windows (its sliding view judges it whole).
base=$(( ($(date +%s) - 2 * 3600) / 60 * 60 ))
python3 - "$base" > "$T/gen.log" <<'PY'
import sys, time
base = int(sys.argv[1])
pid = 0
def line(t, ok, ip, user):
    global pid
    pid += 1
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
    what = "Accepted" if ok else "Failed"
    print(f"{ts} <0.{pid}.0> {what} c2s PLAIN authentication for {user}@example.org from {ip}")
# An ordinary hour: 20 logins and 2 typos a minute, typos from ever
# other addresses.
for m in range(60):
    t = base + m * 60
    for i in range(20):
        line(t + i, True, f"198.51.100.{i + 1}", f"user{i}")
    for i in range(2):
        line(t + 30 + i, False, f"198.51.100.{(m * 2 + i) % 90 + 100}",
             f"user{i}")
# The backend dies: everyone fails, twice; three clients retry six times.
t = base + 3600 + 50
for i in range(200):
    line(t + i // 5, False, f"203.0.113.{i + 1}", f"u{i}")
    line(t + i // 5 + 1, False, f"2001:db8:{i}::1", f"u{i}")
for k in range(6):
    for i in range(3):
        line(t + 45 + k, False, f"192.0.2.{i + 1}", f"v{i}")
# Half an hour later, one password guesser.
t = base + 5400
for k in range(6):
    line(t + k, False, "198.51.100.200", "admin")
# Later still, one IPv6 host failing from 200 addresses of its /64 in a
# minute: one source, not an outage; its network is judged, not held.
t = base + 7000
for i in range(200):
    line(t + i // 4, False, f"2001:db8:ffff::{i + 1:x}", "root")
PY
cat "$T/gen.log" >> "$T/ej.log"
wait_for_line "verdict: 198.51.100.200/32 auth: 6 failed logins in 10m (limit 5)" \
    "$T/daemon.log"
wait_for_line "verdict: 2001:db8:ffff::/64 auth: " "$T/daemon.log"
# The chat hears of it once, as critical, with the counts.
chatd_wait ops 1 'r["body"]["event"] == "auth-outage" and r["body"]["severity"] == "critical" and "authentication backend outage?" in t'
kill -TERM "$pid"
wait_pid_gone "$pid" || fail "daemon ignored SIGTERM"

[ "$(chatd_count ops)" = 1 ] ||
    fail "the chat heard $(chatd_count ops) messages, not one: $(cat "$T/ops.log")"
expect_grep "looks like an authentication backend outage" "$T/daemon.log"
[ "$(grep -c 'looks like an authentication backend outage' "$T/daemon.log")" = 1 ] ||
    fail "the outage was announced more than once"
expect_grep "verdict: 192.0.2.1/32 auth: 6 failed logins in 10m (limit 5) (held: auth backend outage)" \
    "$T/daemon.log"
expect_grep "the outage shape is gone" "$T/daemon.log"
grep "198.51.100.200" "$T/daemon.log" | grep -q held &&
    fail "the guesser after the outage was held"
grep "2001:db8:ffff::" "$T/daemon.log" | grep -q held &&
    fail "one /64's 200 addresses declared an outage"
grep -q "2001:db8:ffff::[0-9a-f]*/128 auth: .*held" "$T/daemon.log" &&
    fail "a host of the one /64 was held"
held=$(sqlite3 "$state/xmppguard.db" \
    "SELECT count(*) FROM verdicts WHERE rule = 'auth' AND held = 1")
[ "$held" -ge 3 ] || fail "expected the 3 retrying clients held, found $held"
free=$(sqlite3 "$state/xmppguard.db" \
    "SELECT count(*) FROM verdicts WHERE rule = 'auth' AND held = 0")
[ "$free" -ge 2 ] || fail "expected the guesser and the /64 not held, found $free"
exit 0
