# Without --foreground the command returns once the daemon is ready, and the
# pid file names it.  A reload with a broken file keeps the running
# configuration and says why, line by line; a fixed file is then taken.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns

state="$T/state"
cat > "$T/xg.conf" <<CONF
[global]
state_dir = $state
CONF
ip netns exec "$ns" "$XG" run -c "$T/xg.conf" 2>"$T/detached.log" ||
    fail "run (detached) failed: $(cat "$T/detached.log")"
pid=$(cat "$state/xmppguard.pid")
[ -n "$pid" ] && kill -0 "$pid" || fail "no daemon behind $state/xmppguard.pid"
kill -TERM "$pid"
wait_pid_gone "$pid" || { kill -KILL "$pid"; fail "detached daemon ignored SIGTERM"; }

# Start-up failure of a detached daemon: non-zero exit, reason on stderr.
mkdir -p "$T/ro"
head -c 4096 /dev/urandom > "$T/ro/xmppguard.db"
ip netns exec "$ns" "$XG" run --state-dir "$T/ro" 2>"$T/fail.log" &&
    fail "detached run reported success on a corrupt store"
expect_grep "$T/ro/xmppguard.db" "$T/fail.log"

# Reload, in the foreground so the log can be read.
xg_run "$ns" "$T/log" -c "$T/xg.conf"
pid=$XG_PID
printf '[service c2s]\nmax_concurrent = oops\n' >> "$T/xg.conf"
kill -HUP "$pid"
wait_for_line 'keeping the running configuration' "$T/log"
expect_grep "$T/xg.conf:4: .*max_concurrent" "$T/log"
kill -0 "$pid" || fail "daemon died on a bad reload"
sed -i '$d' "$T/xg.conf"
echo "max_concurrent = 80" >> "$T/xg.conf"
kill -HUP "$pid"
wait_for_line "reload: configuration $T/xg.conf loaded" "$T/log"
kill -TERM "$pid"
wait_pid_gone "$pid" || fail "daemon ignored SIGTERM after reloads"
exit 0
