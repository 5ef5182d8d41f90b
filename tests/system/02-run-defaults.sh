# run --foreground on built-in defaults: logs that it is ready, stops on
# SIGTERM within a second, leaves a SQLite store at the newest schema; a
# second instance on the same state is refused; a corrupt store is named.
. "$TOP/tests/system/lib.sh"
need_root
# In a namespace of our own: the defaults watch conntrack and turn on its
# accounting, which must not touch the host.
ns_private ns

state="$T/state"
ip netns exec "$ns" "$XG" run --foreground --state-dir "$state" 2>"$T/log" &
pid=$!
wait_for_line 'ready' "$T/log"

# A second instance on the same state directory is refused, clearly.
ip netns exec "$ns" "$XG" run --foreground --state-dir "$state" 2>"$T/log2" &&
    fail "a second instance started"
expect_grep "another xmppguard (pid $pid) is running on $state" "$T/log2"

# SIGHUP with the built-in configuration reloads and keeps running.
kill -HUP $pid
wait_for_line 'reload: configuration' "$T/log"
kill -0 $pid || fail "daemon died on SIGHUP"

start=$(date +%s%N)
kill -TERM $pid
wait_pid_gone $pid 1 || { kill -KILL $pid; fail "not stopped within 1 s of SIGTERM"; }
wait $pid
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
echo "stopped in $ms ms"
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
expect_grep 'stopping' "$T/log"

v=$(sqlite3 "$state/xmppguard.db" 'PRAGMA user_version;')
[ "$v" = "$(latest_migration)" ] ||
    fail "user_version $v, newest migration $(latest_migration)"
[ "$(sqlite3 "$state/xmppguard.db" 'PRAGMA integrity_check;')" = ok ] ||
    fail "store not consistent after stop"

# A store that is not a database: a clear error naming the file, exit 1.
mkdir -p "$T/bad"
head -c 8192 /dev/urandom > "$T/bad/xmppguard.db"
ip netns exec "$ns" "$XG" run --foreground --state-dir "$T/bad" 2>"$T/log3" &&
    fail "started on a corrupt store"
expect_grep "$T/bad/xmppguard.db" "$T/log3"
exit 0
