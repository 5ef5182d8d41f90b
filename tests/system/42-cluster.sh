# One node and a real CrowdSec Local API (Debian's crowdsec, LAPI only, on
# the loopback of the server namespace): `xmppguard ban` is in the LAPI's
# decisions within 3 s; `cscli decisions add` is in the node's kernel set
# and in `bans --json` within 4 s, its origin shown; decisions for
# 127.0.0.1 and for the node's own address never reach the kernel and are
# counted as refused; an unban on the node deletes the LAPI's decision and
# a deletion in the LAPI lifts the pulled ban; a pulled decision is not
# pushed back; the password comes from a file; a reload switches the
# node to another machine, bouncer key and pull_interval without a
# restart, then to the LAPI served over TLS (a CA of the test's own,
# ca_file).
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/system/lapi.sh"

ns_require
lapi_require
command -v curl >/dev/null 2>&1 || skip "no curl"
command -v python3 >/dev/null 2>&1 || skip "no python3"
ns_setup

lapi_config 127.0.0.1:8080
lapi_machine xg-node-a xg-node-a-password-0123456789
lapi_bouncer xg-node-a xg-node-a-bouncer-key-0123456789
# The identity a reload switches the node to.
lapi_machine xg-node-r xg-node-r-password-0123456789
lapi_bouncer xg-node-r xg-node-r-bouncer-key-0123456789
lapi_start "$SRV"
printf 'xg-node-a-password-0123456789\n' > "$T/password"
printf 'xg-node-a-bouncer-key-0123456789\n' > "$T/key"
chmod 600 "$T/password" "$T/key"

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/ctl.sock
[ban]
duration = 10m
nft_table = xgtest
[cluster]
lapi_url = $LAPI_URL
machine_id = xg-node-a
password_file = $T/password
bouncer_key_file = $T/key
pull_interval = 1s
CONF
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
XGPID=$NS_PID
wait_for_line 'ready' "$T/xg.log"
in_set() {	# in_set ADDR: the address is in the kernel's ban4 set
	ns_exec "$SRV" nft list set inet xgtest ban4 2>/dev/null |
	    grep -q "$1[ ,]"
}
lapi_has() {	# lapi_has ADDR: a decision for it, whatever its origin
	lapi_cscli decisions list -a -o json > "$T/decisions.json" || return 1
	python3 - "$T/decisions.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])) or []
vals = [x["value"] for a in d for x in (a.get("decisions") or [])]
print(vals)
sys.exit(0 if sys.argv[2] in vals else 1)
PY
}
lapi_lacks() {
	! lapi_has "$1"
}
bans_json_has() {	# bans_json_has ADDR TEXT: its line in bans --json
	xgc bans --json | grep "\"address\":\"$1/32\"" | grep -q "$2"
}
field() {
	xg_status_field "$T/ctl.sock" "$1"
}
wait_until "$XG_WAIT" "the node never pulled" out_ge 1 field cluster.resyncs
# The secret is read from its file and never shown.
"$XG" check-config -c "$T/xg.conf" > "$T/shown.conf" 2>&1 || true
grep -q 'xg-node-a-password' "$T/shown.conf" "$T/xg.log" &&
    fail "the password was shown or logged"
grep -q 'xg-node-a-bouncer-key' "$T/shown.conf" "$T/xg.log" &&
    fail "the bouncer key was shown or logged"

# -- A ban on the node reaches the LAPI within 3 s. --
xg_now
t0=$XG_NOW
xgc ban 198.51.100.7 --for 10m --reason 'pushed by the test' || fail "ban"
wait_until -i 0.05 3 "the ban did not reach the LAPI within 3 s" \
    lapi_has 198.51.100.7
xg_now
echo "ban -> LAPI: $(((XG_NOW - t0) / 1000)) ms"
lapi_cscli decisions list -a -o json | grep -q '"scenario": *"xmppguard/manual"' ||
    fail "the decision's scenario is not xmppguard/manual"
# The node's own decision comes back on the stream and is left alone.
wait_until "$XG_WAIT" "the node's own decision was not recognised" \
    out_ge 1 field cluster.own
bans_json_has 198.51.100.7 '"reason":"pushed by the test"' ||
    fail "the node's own ban was replaced by the pulled one"

# -- A decision added in the LAPI reaches the kernel and bans --json. --
xg_now
t0=$XG_NOW
lapi_cscli decisions add --ip 203.0.113.9 --duration 10m \
    --reason 'test: banned in the LAPI' >/dev/null || fail "cscli decisions add"
wait_until -i 0.05 4 "the LAPI's decision is not in the kernel within 4 s" \
    in_set 203.0.113.9
wait_until -i 0.05 4 "the LAPI's decision is not in bans --json within 4 s" \
    bans_json_has 203.0.113.9 '"reason":"cluster (cscli)'
xg_now
echo "cscli decisions add -> kernel and bans: $(((XG_NOW - t0) / 1000)) ms"
xgc bans | grep '^203\.0\.113\.9/32 ' | grep -q 'cluster (cscli)' ||
    fail "bans does not show the origin"
# Its remaining duration (10m) is the kernel's timeout, give or take.
ns_exec "$SRV" nft list set inet xgtest ban4 | grep '203\.0\.113\.9 ' |
    grep -Eq 'timeout (9m[0-9]+s|10m)' || fail "the kernel timeout is not about 10m"
# Pulled, it is not pushed back: pushed counts the one ban only.
[ "$(field cluster.pushed)" -eq 1 ] || fail "pushed $(field cluster.pushed), not 1"

# -- Never a weapon: loopback and the node's own address. --
lapi_cscli decisions add --ip 127.0.0.1 --duration 10m >/dev/null ||
    fail "cscli decisions add 127.0.0.1"
lapi_cscli decisions add --ip 192.0.2.1 --duration 10m >/dev/null ||
    fail "cscli decisions add 192.0.2.1"
wait_until "$XG_WAIT" "the decisions for 127.0.0.1 and 192.0.2.1 were not refused" \
    out_ge 2 field cluster.refused
in_set 127.0.0.1 && fail "127.0.0.1 reached the kernel"
in_set 192.0.2.1 && fail "the node's own address reached the kernel"
xgc bans | grep -Eq '^(127\.0\.0\.1|192\.0\.2\.1)/' && fail "listed as banned"
expect_grep 'cluster: decision .* for 127.0.0.1/32 .* refused: .*loopback' "$T/xg.log"

# -- An unban on the node deletes the LAPI's decision. --
xgc unban 198.51.100.7 || fail "unban"
wait_until 3 "the unban did not reach the LAPI" lapi_lacks 198.51.100.7
# -- A deletion in the LAPI lifts the pulled ban. --
lapi_cscli decisions delete --ip 203.0.113.9 >/dev/null || fail "cscli decisions delete"
wait_until 4 "the LAPI's deletion did not lift the pulled ban" \
    eval '! in_set 203.0.113.9'
[ "$(field cluster.lifted)" -ge 1 ] || fail "lifted not counted"

# -- A reload: another machine and bouncer key, another pull_interval,
# in force at once, without a restart. --
logins=$(field cluster.logins)
resyncs=$(field cluster.resyncs)
printf 'xg-node-r-password-0123456789\n' > "$T/password"
printf 'xg-node-r-bouncer-key-0123456789\n' > "$T/key"
sed -i -e 's/^machine_id = xg-node-a$/machine_id = xg-node-r/' \
    -e 's/^pull_interval = 1s$/pull_interval = 2s/' "$T/xg.conf"
xgc reload > "$T/reload.out" 2>&1 || fail "reload: $(cat "$T/reload.out")"
wait_for_line 'cluster: reloaded: .* (link renewed), push on, pull on every 2000ms' \
    "$T/xg.log"
wait_until "$XG_WAIT" "no full pull with the new key" \
    out_ge $((resyncs + 1)) field cluster.resyncs
xgc ban 198.51.100.8 --for 10m --reason 'after the reload' || fail "ban"
wait_until -i 0.05 3 "the ban after the reload did not reach the LAPI" \
    lapi_has 198.51.100.8
[ "$(field cluster.logins)" -gt "$logins" ] ||
    fail "no login with the new machine"
expect_grep 'cluster: logged in to .* as xg-node-r$' "$T/xg.log"
lapi_cscli decisions add --ip 203.0.113.10 --duration 10m >/dev/null ||
    fail "cscli decisions add 203.0.113.10"
wait_until -i 0.05 4 "the LAPI's decision after the reload is not in the kernel" \
    in_set 203.0.113.10

# -- The LAPI on TLS: the node, reloaded with the https URL and the CA,
# pushes and pulls through it. --
command -v openssl >/dev/null 2>&1 || skip "no openssl"
lapi_stop
lapi_tls
lapi_start "$SRV"
sed -i -e "s|^lapi_url = .*|lapi_url = $LAPI_URL\nca_file = $LAPI_CA|" "$T/xg.conf"
xgc reload > "$T/reload.out" 2>&1 || fail "reload: $(cat "$T/reload.out")"
wait_for_line "cluster: reloaded: https://127.0.0.1:8080 (link renewed)" "$T/xg.log"
xgc ban 198.51.100.9 --for 10m --reason 'over TLS' || fail "ban"
wait_until -i 0.05 5 "the ban did not reach the LAPI over TLS" \
    lapi_has 198.51.100.9
lapi_cscli decisions add --ip 203.0.113.11 --duration 10m >/dev/null ||
    fail "cscli decisions add 203.0.113.11 (TLS)"
wait_until -i 0.05 5 "the LAPI's decision over TLS is not in the kernel" \
    in_set 203.0.113.11

# -- A restart keeps the queue and logs in again. --
xgc status > "$T/status.txt"
grep -q '^cluster' "$T/status.txt" || fail "status has no cluster line"
cat "$T/status.txt" | grep '^cluster'
ns_stop "$XGPID" || fail "the daemon did not stop cleanly"
grep -c 'cluster: logged in' "$T/xg.log" | grep -q '^3$' ||
    fail "not one login for each identity of the run"
echo "ok"
