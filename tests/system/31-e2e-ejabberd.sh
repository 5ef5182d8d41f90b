# End to end against a real ejabberd (Debian's 23.01), run by hand in a
# network namespace as the ejabberd user, with its config, spool and log
# under $T, an Erlang node name and cookie of its own and epmd on the
# namespace's loopback (a host ejabberd is never reached): a client
# guessing passwords is banned through the server's log, a client churning
# XMPP streams through conntrack, while two real users on the same server
# chat every second without losing a message or their sessions.  See
# tests/e2e/lib.sh for the scenario.  Then a forger: on one plaintext
# stream, SASL PLAIN user names holding newlines write lines of their own
# into ejabberd's log naming addresses that never connected; no such
# address is judged, and the forger itself, guessing on that one stream,
# is banned once over max_fail like a guesser that reconnects.  (ejabberd
# 23.01 cuts a PLAIN name at its first '@', so a forged line cannot carry
# the "<pid>@ejabberd_c2s" the filter wants: the shapes the filter refuses
# as forged are tested in tests/filters/ejabberd and test_filter.c.)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/e2e/servers.sh"
. "$TOP/tests/e2e/lib.sh"

e2e_require ejabberdctl erl epmd nft
[ -x /usr/sbin/ejabberdctl ] || skip "no ejabberd installed"
e2e_net

# ejabberd runs as its own user: it must reach its files under $T.
chmod 755 "$T"
E="$T/ejabberd"
e2e_ejabberd_conf "$E" 192.0.2.1 "xge2e$$@localhost" || fail "ejabberd config"
ns_spawn "$SRV" "$T/ejabberd.out" setpriv --reuid ejabberd --regid ejabberd \
    --init-groups env HOME="$E/home" /usr/sbin/ejabberdctl \
    --config-dir "$E/etc" --ctl-config "$E/etc/ejabberdctl.cfg" \
    --config "$E/etc/ejabberd.yml" --spool "$E/spool" --logs "$E/log" \
    foreground
# `started` polls the node for up to a minute.
e2e_ejabberd_ctl "$SRV" "$E" started >/dev/null 2>&1 ||
    { cat "$T/ejabberd.out" "$E/log/ejabberd.log"; fail "ejabberd did not start"; }
e2e_wait_port "$SRV" 192.0.2.1 5222 30 ||
    { cat "$E/log/ejabberd.log"; fail "ejabberd does not listen on 5222"; }
for u in alice bob; do
	e2e_ejabberd_ctl "$SRV" "$E" register "$u" example.org "$u-pw" \
	    >/dev/null || fail "ejabberdctl register $u"
done

e2e_xg_start "$E/log/ejabberd.log" ejabberd
e2e_scenario ejabberd
# What the daemon read: ejabberd's own lines, with the guesser's address.
expect_grep "Failed c2s .* authentication for alice@example.org from $E2E_GUESSER: " \
    "$E/log/ejabberd.log"

# The forger.  A fresh daemon (the scenario stopped its own) on the same
# state; ejabberd's log is read from its end.
FORGER=203.0.113.40
FAKE1=198.51.100.99
FAKE2=198.51.100.98
ns_add_client_addrs "$CLI" "$FORGER" "$FORGER"
e2e_xg_start "$E/log/ejabberd.log" ejabberd
cat > "$T/forge.py" <<'PY'
import base64, re, socket, sys, time
src, server, fake1, fake2 = sys.argv[1:5]
s = socket.create_connection((server, 5222), timeout=10,
                             source_address=(src, 0))
buf = b""
def until(rx):
    global buf
    end = time.monotonic() + 10
    while not re.search(rx, buf) and time.monotonic() < end:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    m = re.search(rx, buf)
    got = buf.decode(errors="replace")
    buf = buf[m.end():] if m else b""
    return m is not None, got
s.sendall(b"<?xml version='1.0'?><stream:stream to='example.org' "
          b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
          b"streams' version='1.0'>")
ok, got = until(rb"</stream:features>")
if "PLAIN" not in got:
    sys.exit("no PLAIN offered: " + got)
ts = time.strftime("%Y-%m-%d %H:%M:%S.000000+00:00", time.gmtime())
head = (ts + " [warning] <0.1.0>@ejabberd_c2s:process_auth_result/3:280 "
        "(tcp|<0.1.0>) Failed c2s PLAIN authentication ")
names = [
    # One newline, no '@': the whole forged line reaches the log, and
    # ejabberd appends "@example.org from REAL: ..." to it.
    "y\n" + ts + " [warning] <0.1.0> (tcp|<0.1.0>) Failed c2s PLAIN "
    "authentication from " + fake1 + ": x",
    # Two newlines: a whole line of its own, then the appended tail.
    "y\n" + head + "for admin@example.org from " + fake2 +
    ": Invalid username or password\nz",
]
names += ["admin"] * 8
n = 0
for u in names:
    v = base64.b64encode(("\0%s\0wrong-%d" % (u, n)).encode())
    try:
        s.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  b"mechanism='PLAIN'>" + v + b"</auth>")
        ok, got = until(rb"</failure>|<failure[^>]*/>|</stream:stream>")
    except OSError:
        ok = False
    if not ok:
        break
    n += 1
print("forge: %d failures on one stream" % n)
PY
ip netns exec "$CLI" timeout 120 "$E2E_PYTHON" "$T/forge.py" "$FORGER" \
    192.0.2.1 "$FAKE1" "$FAKE2" > "$T/forge.log" 2>&1
cat "$T/forge.log"
# The forger is banned for its guesses on one stream, and the daemon has
# read every forged line by then.
e2e_wait_banned "$FORGER"
wait_for_line "ban: $FORGER/32 for .* auth: " "$T/xg.log"
# The forged text is in the log (written by now), in a line of its own.
expect_grep "^[0-9-]* [0-9:.+]* \[warning\] <0.1.0> .*from $FAKE1: x@" \
    "$E/log/ejabberd.log"
"$XG" status --json -s "$T/ctl.sock" > "$T/status.json" ||
    fail "status --json"
# Every failure of the stream counted (the two forging names included),
# none of it refused: no forged line has the shape of a real one.
python3 - "$T/status.json" <<PY || fail "log counters: $(cat "$T/status.json")"
import json, sys
log = json.load(open(sys.argv[1]))["logs"][0]
assert log["kinds"]["auth_fail"] >= 6 and log["forged"] == 0, log
PY
for a in "$FAKE1" "$FAKE2"; do
	e2e_in_set "$a" && fail "forged address $a was banned"
	grep -q "verdict: $a/" "$T/xg.log" && fail "a verdict for forged $a"
done
"$XG" bans --json -s "$T/ctl.sock" > "$T/bans2.json" || fail "bans --json"
grep -qE "$FAKE1|$FAKE2" "$T/bans2.json" && fail "forged address in bans"
ns_stop "$XGPID" 10 || fail "the daemon did not stop cleanly"
e2e_ejabberd_ctl "$SRV" "$E" stop >/dev/null 2>&1
exit 0
