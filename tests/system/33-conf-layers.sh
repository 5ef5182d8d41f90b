# Configuration layering end to end: a main file, two conf.d drop-ins (one
# overriding the other, plus a README and a .dpkg-old that are ignored) and
# a secrets file (mode 0600) holding the Authorization headers of a json
# alert sink and of the webhook ban backend.  The real daemon (firewall
# webhook, no conntrack) runs in a network namespace of its own with
# tests/system/chatd.py on its loopback recording every request with its
# Authorization header.  Checked: check-config prints where each value came
# from and no secret, and warns (file:line) about the webhook URL left in
# a world-readable drop-in; the start alert and a ban's alert carry the
# alert's header, the ban's webhook POST carries the backend's; a reload
# reads the secrets file again; the tokens appear in no log, no
# check-config output and no status; a secrets file readable by others
# makes run refuse (exit 78 once run exits so on a bad configuration,
# non-zero until then) with a message naming the file.
. "$TOP/tests/system/lib.sh"
need_root
command -v python3 >/dev/null 2>&1 || { echo "skipped: no python3"; exit 77; }
ns_private ns

ETC=$T/etc
mkdir -p "$ETC/conf.d"
chmod 755 "$ETC" "$ETC/conf.d"

start_xg() {	# start_xg RUN: the daemon in the foreground, in $ns
	xg_run "$ns" "$T/xg.$1.log" -c "$ETC/xmppguard.conf"
	XGPID=$XG_PID
}
stop_xg() {
	xg_stop "$XGPID"
}

chatd "$ns" hook ok
HOOK=$PORT
ALERT_TOKEN=ALERTSECRETTOKEN
BAN_TOKEN=BANSECRETTOKEN
NEW_TOKEN=RELOADEDSECRETTOKEN

cat >"$ETC/xmppguard.conf" <<CONF
[global]
state_dir      = $T/state
control_socket = $T/ctl.sock
firewall       = none
log_level      = warning
[conntrack]
enabled        = no
CONF
# 10 is read before 20: 20's firewall and log_level win.
cat >"$ETC/conf.d/10-alerts.conf" <<CONF
[alert hook]
type           = json
url            = http://127.0.0.1:$HOOK/alert
events         = all
digest         = 0
retries        = 0
CONF
cat >"$ETC/conf.d/20-webhook.conf" <<CONF
[global]
firewall       = webhook
log_level      = info

[ban]
webhook        = http://127.0.0.1:$HOOK/ban
CONF
printf 'not a configuration\n' >"$ETC/conf.d/README"
printf 'garbage\n' >"$ETC/conf.d/20-webhook.conf.dpkg-old"
write_secrets() {	# write_secrets ALERT_TOKEN BAN_TOKEN
	(umask 077 && cat >"$ETC/secrets" <<CONF
[alert hook]
authorization  = Bearer $1

[ban]
webhook_authorization = Bearer $2
CONF
	)
}
write_secrets "$ALERT_TOKEN" "$BAN_TOKEN"
chmod 644 "$ETC/xmppguard.conf" "$ETC/conf.d/"*

# -- check-config: the layers, where values came from, no secret. --
"$XG" check-config -c "$ETC/xmppguard.conf" >"$T/check.out" \
    2>"$T/check.err" || fail "check-config: $(cat "$T/check.err")"
expect_grep "^# then $ETC/conf.d/10-alerts.conf\$" "$T/check.out"
expect_grep "^# then $ETC/secrets\$" "$T/check.out"
expect_grep "^# $ETC/conf.d/20-webhook.conf:2, replacing $ETC/xmppguard.conf:4\$" \
    "$T/check.out"
expect_grep "^firewall  *= webhook\$" "$T/check.out"
expect_grep "^authorization  *= <secret from $ETC/secrets:2>\$" "$T/check.out"
expect_grep "^webhook_authorization = <secret from $ETC/secrets:5>\$" \
    "$T/check.out"
expect_grep "^url  *= <secret from $ETC/conf.d/10-alerts.conf:3>\$" \
    "$T/check.out"
# The URLs in a drop-in anyone can read: a warning each, file and line.
expect_grep "^$ETC/conf.d/20-webhook.conf:6: warning: webhook is a secret, but this file is readable by others (mode 0644): move it to $ETC/secrets" \
    "$T/check.err"
expect_grep "^$ETC/conf.d/10-alerts.conf:3: warning: url is a secret" \
    "$T/check.err"
grep -q -e "$ALERT_TOKEN" -e "$BAN_TOKEN" -e "/alert\b" -e "/ban\b" \
    "$T/check.out" "$T/check.err" &&
    fail "a secret in check-config's output: $(cat "$T/check.out")"
echo "check-config: $(grep -c '^# ' "$T/check.out") origin lines, $(wc -l <"$T/check.err") warnings"

# -- An error in a drop-in names the drop-in and its line. --
printf '[global]\n\nfirewal = none\n' >"$ETC/conf.d/30-typo.conf"
"$XG" check-config -c "$ETC/xmppguard.conf" >/dev/null 2>"$T/typo.err" &&
    fail "check-config accepted a typo"
expect_grep "^$ETC/conf.d/30-typo.conf:3: unknown key 'firewal' in \[global\]; did you mean 'firewall'?" \
    "$T/typo.err"
rm "$ETC/conf.d/30-typo.conf"

# -- Run: the start alert, a ban's alert and its webhook POST. --
start_xg 1
chatd_wait hook 1 'r["path"] == "/alert" and r["body"].get("event") == "start"'
xgc ban 192.0.2.7 --for 10m --reason "layers" >/dev/null || fail "ban refused"
chatd_wait hook 1 'r["path"] == "/ban" and r["body"]["action"] == "ban"'
chatd_wait hook 1 'r["path"] == "/alert" and r["body"].get("event") == "ban"'
python3 - "$T/hook.log" "$ALERT_TOKEN" "$BAN_TOKEN" <<'EOF' || fail "headers: $(cat "$T/hook.log")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
alerts = [r for r in recs if r["path"] == "/alert"]
bans = [r for r in recs if r["path"] == "/ban"]
assert alerts and bans, recs
for r in alerts:
    assert r["auth"] == "Bearer " + sys.argv[2], r
for r in bans:
    assert r["auth"] == "Bearer " + sys.argv[3], r
    assert r["body"]["address"] == "192.0.2.7/32", r
print("alerts", len(alerts), "webhook POSTs", len(bans), "with their headers")
EOF
xgc status --json >"$T/status.json" || fail "status --json"
xgc status >"$T/status.txt" || fail "status"

# -- Reload reads the secrets file again. --
write_secrets "$NEW_TOKEN" "$NEW_TOKEN"
xgc reload >"$T/reload.out" 2>&1 || fail "reload: $(cat "$T/reload.out")"
wait_for_line 'reload' "$T/xg.1.log"
xgc ban 192.0.2.8 --for 10m >/dev/null || fail "ban refused"
chatd_wait hook 1 'r["path"] == "/ban" and r["body"]["address"] == "192.0.2.8/32" and r["auth"] == "Bearer '"$NEW_TOKEN"'"'
chatd_wait hook 1 'r["path"] == "/alert" and "192.0.2.8" in t and r["auth"] == "Bearer '"$NEW_TOKEN"'"'
stop_xg

# The tokens: in no log, no status, no check-config output.
for f in "$T"/xg.*.log "$T/status.json" "$T/status.txt" "$T/check.out" \
    "$T/check.err" "$T/reload.out"; do
	grep -q -e "$ALERT_TOKEN" -e "$BAN_TOKEN" -e "$NEW_TOKEN" "$f" &&
	    fail "a secret in $f"
done

# -- A secrets file others may read: run refuses, naming it. --
chmod 644 "$ETC/secrets"
ip netns exec "$ns" "$XG" run --foreground -c "$ETC/xmppguard.conf" \
    >"$T/refused.log" 2>&1
rc=$?
echo "run with a world-readable secrets file: exit $rc"
[ $rc -ne 0 ] || fail "run accepted a world-readable secrets file"
[ $rc -eq 78 ] || [ $rc -eq 1 ] || fail "run: exit $rc, want 78 (or 1)"
expect_grep "^$ETC/secrets: open to others (mode 0644); a secrets file must be mode 0600 or 0400" \
    "$T/refused.log"
grep -q -e "$NEW_TOKEN" "$T/refused.log" && fail "a secret in the refusal"
echo "ok"
