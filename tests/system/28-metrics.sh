# Metrics end to end: the real daemon in a namespace, real churn over TCP
# banned through conntrack and nftables, then the HTTP endpoint and the
# textfile both hold a valid Prometheus exposition whose counters say
# what happened (the connections, the churn verdict and ban, the log's
# lines); a reload moves the endpoint to another port; bad listen values
# are refused at load with the file and line.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

ns_require
ns_need python3
xgload_build
ns_setup
ns_add_client_addrs "$CLI" 198.51.100.10 198.51.100.10

BOT=198.51.100.10
: > "$T/server.log"
write_conf() {	# write_conf PORT
	cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[conntrack]
poll = 1s
[service c2s]
ports = 5222
max_new = 10/1h
# banned at the limit (41-kernel-caps tests the kernel caps)
kernel_caps = no
[ban]
duration = 1h
nft_table = xgtest
[log ejabberd]
path = $T/server.log
filter = ejabberd
[metrics]
file = $T/prom/xmppguard.prom
interval = 1s
listen = 127.0.0.1:$1
CONF
}
mkdir -p "$T/prom"
write_conf 19469

# Bad listen values: refused with the file and line.
for bad in "localhost:9469" "127.0.0.1" "127.0.0.1:0" "[::1]9469"; do
	sed "s/^listen = .*/listen = $bad/" "$T/xg.conf" > "$T/bad.conf"
	"$XG" check-config -c "$T/bad.conf" > "$T/bad.out" 2>&1 &&
	    fail "listen = $bad was accepted"
	expect_grep "bad.conf:[0-9]*: listen: " "$T/bad.out"
done

ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 60
wait_for_line 'listening' "$T/serve.log"
ns_xg_start "$T/xg.log" "$T/xg.conf"
XGPID=$NS_PID

scrape() {	# scrape PORT FILE: GET /metrics inside the namespace
	ns_exec "$SRV" python3 - "$1" > "$2" <<'PY'
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                            timeout=5) as r:
    assert r.status == 200, r.status
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    sys.stdout.write(r.read().decode())
PY
}
# metrics_ok FILE NAME{LABELS} MIN...: the exposition is well formed
# (HELP and TYPE before each family's samples, families contiguous, no
# sample twice, names and values as the format says) and each sample named
# is >= its MIN; says which is not.
metrics_ok() {
	python3 - "$@" <<'PY'
import re, sys
path, wants = sys.argv[1], sys.argv[2:]
text = open(path).read()
assert text.endswith("\n"), "no final newline"
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})?'
                    r' (-?[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$')
typed, seen, done, values = {}, set(), set(), {}
current = None
for line in text.splitlines():
    m = re.match(r'^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$', line)
    if m:
        kind, name, rest = m.groups()
        if kind == "TYPE":
            assert rest in ("counter", "gauge"), line
            assert name not in typed, "TYPE twice: " + name
            typed[name] = rest
        if name != current:
            assert name not in done, "family split: " + name
            if current is not None:
                done.add(current)
            current = name
        continue
    m = sample.match(line)
    assert m, "bad line: %r" % line
    name, labels, value = m.groups()
    assert name == current and name in typed, "no TYPE before " + line
    if typed[name] == "counter":
        assert name.endswith("_total"), "counter without _total: " + name
        assert float(value) >= 0, line
    key = name + (labels or "")
    assert key not in seen, "sample twice: " + key
    seen.add(key)
    values[key] = float(value)
    assert name.startswith("xmppguard_"), name
for want, minimum in zip(wants[::2], wants[1::2]):
    assert want in values, "missing %s (have %d samples)" % (want,
                                                           len(values))
    assert values[want] >= float(minimum), "%s = %s < %s" % (want,
                                                            values[want],
                                                            minimum)
PY
}

# check FILE NAME{LABELS} MIN...: metrics_ok, or the test fails.
check() {
	metrics_ok "$@" || fail "metrics check failed: $*"
}

# A churn bot gets banned; a failed login from an address that never
# connected lands in the followed log (counted as uncorroborated).
ns_exec "$CLI" "$XGLOAD" churn -d 192.0.2.1 -p 5222 -n 12 -s "$BOT" \
    --seconds 10 > "$T/churn.out" 2>&1
wait_until "$XG_WAIT" "$BOT was not banned" \
    out_has "$BOT" ns_exec "$SRV" nft list set inet xgtest ban4
printf '%s [warning] <0.511.0>@ejabberd_c2s:process_auth_result/3:280 (tls|<0.511.0>) Failed c2s PLAIN authentication for alice@example.org from ::ffff:203.0.113.5: Invalid username or password\n' \
    "$(date -u '+%Y-%m-%d %H:%M:%S.000000+00:00')" >> "$T/server.log"

# What the metrics must say, once the daemon has read the line (the
# endpoint answers from the live counters; the textfile is rewritten every
# second, so it follows).
want=(
	'xmppguard_bans_total{rule="churn"}' 1
	'xmppguard_verdicts_total{rule="churn"}' 1
	'xmppguard_events_total{kind="conn_open"}' 11
	'xmppguard_bans_active' 1
	'xmppguard_firewall_batches_total' 1
	'xmppguard_log_lines_total{log="ejabberd"}' 1
	'xmppguard_log_uncorroborated_total' 1
	'xmppguard_build_info{version="'"$("$XG" version | cut -d' ' -f2)"'"}' 1
)
scrape_ok() {	# scrape_ok PORT FILE NAME MIN...: scrape, then metrics_ok
	scrape "$1" "$2" && metrics_ok "${@:2}"
}
wait_until "$XG_WAIT" "the endpoint does not say what happened" \
    scrape_ok 19469 "$T/m1.prom" "${want[@]}"
wait_until "$XG_WAIT" "the textfile does not say what happened" \
    metrics_ok "$T/prom/xmppguard.prom" "${want[@]}"
check "$T/m1.prom" 'xmppguard_metrics_scrapes_total' 0
# The textfile is replaced whole: no temporary file is left beside it
# (one may be there for a moment, while it is written).
beside() {	# what is in the textfile's directory besides the textfile
	ls -A "$T/prom" | grep -vx xmppguard.prom
}
wait_until "$XG_WAIT" "a temporary file is left beside the textfile" \
    out_empty beside
# Anything but GET /metrics is refused.
ns_exec "$SRV" python3 - <<'PY' || fail "a wrong path was answered"
import urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:19469/secret", timeout=5)
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
else:
    raise SystemExit("200 for /secret")
PY

# A reload moves the endpoint.
write_conf 19470
"$XG" reload -s "$T/ctl.sock" > "$T/reload.out" 2>&1 ||
    fail "reload failed: $(cat "$T/reload.out")"
scrape 19470 "$T/m2.prom" || fail "no endpoint on the new port"
check "$T/m2.prom" 'xmppguard_bans_total{rule="churn"}' 1
scrape 19469 "$T/m3.prom" 2>/dev/null && fail "the old port still answers"
ns_stop "$XGPID"
exit 0
