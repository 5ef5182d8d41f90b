# End to end against a real Prosody (Debian's, with mod_log_auth from
# prosody-modules), run by hand in a network namespace with its config,
# data and log under $T: a client guessing passwords is banned through the
# server's log, a client churning XMPP streams through conntrack, while two
# real users on the same server chat every second without losing a message
# or their sessions.  See tests/e2e/lib.sh for the scenario.
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"
. "$TOP/tests/e2e/servers.sh"
. "$TOP/tests/e2e/lib.sh"

e2e_require prosody prosodyctl lua5.4 nft
[ -f /usr/lib/prosody/modules/mod_log_auth/mod_log_auth.lua ] ||
    skip "no mod_log_auth (Debian package prosody-modules)"
e2e_net

P="$T/prosody"
e2e_prosody_conf "$P" "$P/prosody.log" 192.0.2.1 || fail "prosody config"
e2e_prosody_register "$P" alice alice-pw || fail "prosodyctl register alice"
e2e_prosody_register "$P" bob bob-pw || fail "prosodyctl register bob"
# shellcheck disable=SC2046
ns_spawn "$SRV" "$T/prosody.out" $(e2e_prosody_cmd "$P")
PROSODY=$NS_PID
e2e_wait_port "$SRV" 192.0.2.1 5222 30 ||
    { cat "$T/prosody.out" "$P/prosody.log"; fail "prosody did not listen"; }

e2e_xg_start "$P/prosody.log" prosody
e2e_scenario prosody
# What the daemon read: mod_log_auth's lines, with the guesser's address.
expect_grep "Failed authentication attempt (not-authorized) for user alice@example.org from IP: $E2E_GUESSER" \
    "$P/prosody.log"
ns_stop "$PROSODY" 10
exit 0
