# Shared steps of tests/system/30-e2e-prosody.sh and 31-e2e-ejabberd.sh
# (bash; source after tests/system/lib.sh, netns.sh and servers.sh).
#
# The scenario, the same against each server: the server and the real
# xmppguard daemon (nftables, a config written here) run in $SRV; in $CLI
#   alice 198.51.100.10 and bob 198.51.100.11 chat all along (slixmpp);
#   203.0.113.20 guesses alice's password (slixmpp, one login per
#                connection): banned through the server's log (auth);
#   203.0.113.30 opens XMPP streams over and over: banned through
#                conntrack (churn; kernel_caps = no, so the daemon bans at
#                the limit: the kernel caps have tests of their own);
#   203.0.113.21, their neighbour, still gets in afterwards.

E2E_PY="$TOP/tests/e2e/xmpp.py"
# Debian's python3, the one python3-slixmpp is installed for (a python3
# earlier in PATH, e.g. pyenv's, may not have it).
E2E_PYTHON=/usr/bin/python3
E2E_GUESSER=203.0.113.20
E2E_NEIGHBOUR=203.0.113.21
E2E_CHURNER=203.0.113.30
E2E_ALICE=198.51.100.10
E2E_BOB=198.51.100.11
E2E_MAX_NEW=20

# e2e_require SERVER-COMMAND...: skip (77) unless the clients and the
# server can run here.
e2e_require() {
	local c
	ns_require
	for c in "$E2E_PYTHON" openssl setpriv "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "no $c installed"
	done
	"$E2E_PYTHON" -c 'import slixmpp' 2>/dev/null ||
	    skip "no python3-slixmpp installed"
}

# e2e_cleanup: every process in our server namespace is ours (the server,
# epmd, beam's helpers): end them by PID, then what netns.sh made.
e2e_cleanup() {
	local p
	for p in $(e2e_ns_pids); do
		kill -TERM "$p" 2>/dev/null
	done
	if ! poll_until 3 out_empty e2e_ns_pids; then
		for p in $(e2e_ns_pids); do
			kill -KILL "$p" 2>/dev/null
		done
		poll_until 2 out_empty e2e_ns_pids
	fi
	ns_cleanup
}

e2e_ns_pids() {	# the processes in our namespaces
	local ns
	for ns in $XG_NS_LIST; do
		ip netns pids "$ns" 2>/dev/null
	done
}

# e2e_net: the namespaces and the clients' addresses.
e2e_net() {
	xgload_build
	ns_setup
	trap e2e_cleanup EXIT
	ns_add_client_addrs "$CLI" "$E2E_ALICE" "$E2E_BOB"
	ns_add_client_addrs "$CLI" "$E2E_GUESSER" "$E2E_NEIGHBOUR"
	ns_add_client_addrs "$CLI" "$E2E_CHURNER" "$E2E_CHURNER"
}

# e2e_xg_start LOGFILE FILTER: the daemon on its own config, following the
# server's log; waits until it is ready.
e2e_xg_start() {
	cat > "$T/xg.conf" <<-CONF
	[global]
	state_dir = $T/state
	control_socket = $T/ctl.sock
	[conntrack]
	poll = 1s
	[service c2s]
	ports = 5222
	max_new = $E2E_MAX_NEW/1h
	kernel_caps = no
	[auth]
	max_fail = 5/10m
	[log server]
	path = $1
	filter = $TOP/filters/$2.conf
	CONF
	ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
	XGPID=$NS_PID
	wait_for_line 'ready' "$T/xg.log"
}

e2e_py() {	# e2e_py ARGS: the client, in the client namespace
	ip netns exec "$CLI" timeout 180 "$E2E_PYTHON" "$E2E_PY" "$@" \
	    --server 192.0.2.1
}

e2e_in_set() {	# e2e_in_set ADDR: in the kernel's ban4 set
	ip netns exec "$SRV" nft list set inet xmppguard ban4 2>/dev/null |
	    grep -q "$1"
}

e2e_wait_banned() {	# e2e_wait_banned ADDR
	poll_until "$XG_WAIT" e2e_in_set "$1" && return 0
	ip netns exec "$SRV" nft list table inet xmppguard
	cat "$T/xg.log"
	fail "$1 is not in the ban set after $XG_WAIT s"
}

e2e_chat_received() {	# messages the chat users have received so far
	cat "$T/chat.progress" 2>/dev/null || echo 0
}

# e2e_chat_rounds N: until the users have exchanged N more rounds (a
# message each way) from now.
e2e_chat_rounds() {
	local n
	n=$(e2e_chat_received)
	wait_until 60 "the chat users stopped exchanging messages" \
	    out_ge $((n + 2 * $1)) e2e_chat_received
}

e2e_chat_up() {	# e2e_chat_up PID: the chat is ready, or has ended
	[ -e "$T/chat.ready" ] || ! kill -0 "$1" 2>/dev/null
}

# e2e_scenario SERVER: the whole scenario against the running server,
# with its log followed by the running daemon.
e2e_scenario() {
	local srv=$1 chat rc out
	# The real users log in and chat all along.
	ns_spawn "$CLI" "$T/chat.log" timeout 300 "$E2E_PYTHON" "$E2E_PY" chat \
	    --server 192.0.2.1 --a "$E2E_ALICE:alice:alice-pw" \
	    --b "$E2E_BOB:bob:bob-pw" --seconds 240 \
	    --stop-file "$T/chat.stop" --ready-file "$T/chat.ready" \
	    --progress-file "$T/chat.progress"
	chat=$NS_PID
	# Logged in (or given up: the chat has ended).
	poll_until 60 e2e_chat_up "$chat"
	[ -e "$T/chat.ready" ] || { cat "$T/chat.log";
	    fail "$srv: the chat users could not log in"; }
	# Their chat is under way before the attacks start.
	e2e_chat_rounds 2

	# Password guessing: the first five attempts are refused by the
	# server itself; the sixth failed login is over max_fail = 5/10m, and
	# the ban comes right after it (cutting the connection if the client
	# is still trying its next SASL mechanism).  Then the guesser gets no
	# answer at all.
	e2e_py guess --src "$E2E_GUESSER" --user alice --attempts 6 \
	    > "$T/guess.log" 2>&1
	cat "$T/guess.log"
	grep -Eq 'results=(auth-failed,){5}(auth-failed|cut)$' "$T/guess.log" ||
	    fail "$srv: the guesses were not refused by the server"
	e2e_wait_banned "$E2E_GUESSER"
	wait_for_line "ban: $E2E_GUESSER/32 for .* auth: 6 failed logins" \
	    "$T/xg.log"
	e2e_py guess --src "$E2E_GUESSER" --user alice --attempts 2 \
	    --timeout 5 > "$T/guess2.log" 2>&1
	cat "$T/guess2.log"
	grep -Eq 'results=(timeout|connect-failed),(timeout|connect-failed)$' \
	    "$T/guess2.log" || fail "$srv: the banned guesser still got answers"
	e2e_py probe --src "$E2E_GUESSER" --timeout 3 &&
	    fail "$srv: the banned guesser still gets an answer"
	e2e_py probe --src "$E2E_NEIGHBOUR" --timeout 10 ||
	    fail "$srv: the guesser's neighbour cannot connect"

	# Churn: XMPP streams opened and closed until the ban stops them:
	# the first max_new went through, then one got no answer (the
	# handshake of the one over the limit completes, and the ban may cut
	# it before the server's stream features arrive).  Streams open in a
	# few ms each: room for ten times max_new, so that a busy machine's
	# ban, a moment late, still stops them.
	e2e_py churn --src "$E2E_CHURNER" --count $((E2E_MAX_NEW * 10)) \
	    --timeout 5 > "$T/churn.log" 2>&1 &&
	    { cat "$T/churn.log"; fail "$srv: the churn was never stopped"; }
	cat "$T/churn.log"
	out=$(sed -n 's/.*churn: ok=\([0-9]*\) failed=1$/\1/p' "$T/churn.log")
	[ -n "$out" ] && [ "$out" -ge "$E2E_MAX_NEW" ] ||
	    fail "$srv: churn stopped after ${out:-?} connections, before" \
	    "the first $E2E_MAX_NEW went through"
	e2e_wait_banned "$E2E_CHURNER"
	wait_for_line "ban: $E2E_CHURNER/32 for .* churn: " "$T/xg.log"
	e2e_py probe --src "$E2E_CHURNER" --timeout 3 &&
	    fail "$srv: the banned churner still gets an answer"
	e2e_py probe --src "$E2E_NEIGHBOUR" --timeout 10 ||
	    fail "$srv: the churner's neighbour cannot connect"

	# The bans are exactly these two, for the right rules.
	"$XG" bans --json -s "$T/ctl.sock" > "$T/bans.json" ||
	    fail "$srv: bans --json"
	python3 - "$T/bans.json" <<-PY || fail "$srv: bans: $(cat "$T/bans.json")"
	import json, sys
	bans = {b["address"]: b["rule"] for b in
	        (json.loads(l) for l in open(sys.argv[1]) if l.strip())}
	assert bans == {"$E2E_GUESSER/32": "auth",
	                "$E2E_CHURNER/32": "churn"}, bans
	PY

	# The real users kept chatting through all of it, and a little
	# after: nothing lost, their sessions never cut.
	e2e_chat_rounds 3
	touch "$T/chat.stop"
	wait_pid_gone "$chat" || fail "$srv: the chat did not stop"
	wait "$chat"
	rc=$?
	cat "$T/chat.log"
	[ $rc -eq 0 ] || fail "$srv: the chat lost messages or a session (rc $rc)"
	grep -q 'lost=0 disconnects=0' "$T/chat.log" ||
	    fail "$srv: the chat summary is wrong"
	e2e_in_set "$E2E_ALICE" && fail "$srv: a chat user was banned"
	e2e_in_set "$E2E_BOB" && fail "$srv: a chat user was banned"

	ns_stop "$XGPID" 10 || fail "$srv: the daemon did not stop cleanly"
}
