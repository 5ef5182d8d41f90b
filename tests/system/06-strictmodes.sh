# StrictModes (issue 13): running as root, `check-config` and `run` refuse
# a configuration file, a filter file or a command firewall's program that
# anyone but root can change, each with one clear line naming the file
# and what is wrong; not running as root, nothing is refused.
. "$TOP/tests/system/lib.sh"
need_root
ns_private ns

chmod 755 "$T"
mkdir -p "$T/etc" "$T/bin"
cat > "$T/f.conf" <<'FILTER'
[filter]
name      = ej
time      = none

[pattern fail]
kind     = auth_fail
literal  = Failed
regex    = Failed from (?<ip>\S+)$
FILTER
printf '#!/bin/sh\nexit 0\n' > "$T/bin/ban"
chmod 755 "$T/bin/ban"
cat > "$T/etc/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/state/sock
firewall = command
[conntrack]
enabled = no
[ban]
ban_command = $T/bin/ban {prefix}
[log ej]
path = $T/ej.log
filter = $T/f.conf
CONF
chmod 644 "$T/etc/xg.conf" "$T/f.conf"
conf=$T/etc/xg.conf

# check_refused WHAT MESSAGE: check-config fails, saying MESSAGE.
check_refused() {
	"$XG" check-config -c "$conf" >/dev/null 2>"$T/stderr" &&
	    fail "check-config accepted $1"
	cat "$T/stderr"
	grep -qF -- "$2" "$T/stderr" ||
	    fail "no '$2' for $1: $(cat "$T/stderr")"
}
check_ok() {
	"$XG" check-config -c "$conf" >/dev/null 2>"$T/stderr" ||
	    fail "check-config refused $1: $(cat "$T/stderr")"
}

check_ok "files only root can change"

# The configuration file.
chgrp staff "$conf"
chmod 664 "$conf"
check_refused "a group-writable configuration" \
    "$conf: writable by group 'staff' (mode 0664); refusing it when running as root"
# The daemon refuses it too, before anything starts.
ip netns exec "$ns" "$XG" run --foreground -c "$conf" 2>"$T/run.err" &&
    fail "run accepted a group-writable configuration"
grep -qF "$conf: writable by group 'staff' (mode 0664)" "$T/run.err" ||
    fail "run did not say why: $(cat "$T/run.err")"
# Not running as root: nothing to refuse.
setpriv --reuid nobody --regid nogroup --clear-groups \
    "$XG" check-config -c "$conf" >/dev/null 2>"$T/stderr" ||
    fail "check-config as nobody refused: $(cat "$T/stderr")"
chmod 644 "$conf"
chown nobody "$conf"
check_refused "a configuration owned by nobody" \
    "$conf: owned by user 'nobody' (uid 65534), not root"
chown root:root "$conf"
chmod 775 "$T/etc"
check_refused "a configuration in a group-writable directory" \
    "$conf: directory $T/etc is writable by group 'root' (mode 0775)"
chmod 755 "$T/etc"
check_ok "the configuration made safe again"

# A filter file.
chmod 646 "$T/f.conf"
check_refused "a filter writable by others" \
    "$T/f.conf: writable by others (mode 0646); refusing it when running as root"
chmod 644 "$T/f.conf"

# The command backend's program, and its directory.
chmod 775 "$T/bin/ban"
check_refused "a group-writable ban_command" \
    "ban_command: $T/bin/ban: writable by group 'root' (mode 0775)"
chmod 755 "$T/bin/ban"
chown nobody "$T/bin"
check_refused "a ban_command in a directory of nobody's" \
    "ban_command: $T/bin/ban: directory $T/bin is owned by user 'nobody'"
chown root "$T/bin"
check_ok "everything made safe again"
exit 0
