# End to end against a real ejabberd (Debian's 23.01), run by hand in a
# network namespace as the ejabberd user, with its config, spool and log
# under $T, an Erlang node name and cookie of its own and epmd on the
# namespace's loopback (a host ejabberd is never reached): a client
# guessing passwords is banned through the server's log, a client churning
# XMPP streams through conntrack, while two real users on the same server
# chat every second without losing a message or their sessions.  See
# tests/e2e/lib.sh for the scenario.
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
e2e_ejabberd_ctl "$SRV" "$E" stop >/dev/null 2>&1
exit 0
