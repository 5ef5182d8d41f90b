# check-config: every mistake of a file is reported as FILE:LINE, the exit
# status is non-zero; a good file and the built-in defaults print a
# configuration that loads again.
. "$TOP/tests/system/lib.sh"

cat > "$T/bad.conf" <<'CONF'
[global]
state_dir = /tmp/xg-state
firewall = nft
[service c2s]
max_concurent = 40
max_new = 120/1h
[store]
; a comment
retention = 30 parsecs
CONF
"$XG" check-config -c "$T/bad.conf" >"$T/stdout" 2>"$T/stderr"
rc=$?
[ $rc -ne 0 ] || fail "check-config accepted a bad file"
expect_grep "^$T/bad.conf:3: .*nft" "$T/stderr"
expect_grep "^$T/bad.conf:5: .*max_concurent.*did you mean 'max_concurrent'" "$T/stderr"
expect_grep "^$T/bad.conf:9: .*retention" "$T/stderr"
[ "$(grep -c "^$T/bad.conf:" "$T/stderr")" -eq 3 ] ||
    fail "expected exactly 3 errors, got: $(cat "$T/stderr")"
[ -s "$T/stdout" ] && fail "a bad file must print no configuration"

# Built-in defaults: valid, and what they print loads again unchanged.
"$XG" check-config >"$T/defaults.conf" 2>"$T/stderr" ||
    fail "built-in defaults rejected: $(cat "$T/stderr")"
expect_grep '^\[service c2s\]' "$T/defaults.conf"
expect_grep '^max_concurrent *= *50' "$T/defaults.conf"
"$XG" check-config -c "$T/defaults.conf" >"$T/again.conf" 2>"$T/stderr" ||
    fail "printed defaults do not load: $(cat "$T/stderr")"
# (The first line names where the configuration came from.)
diff <(sed 1d "$T/defaults.conf") <(sed 1d "$T/again.conf") >/dev/null ||
    fail "print/load round trip changed the configuration"

# The sample configuration we install loads.
"$XG" check-config -c "$TOP/contrib/xmppguard.conf" >/dev/null 2>"$T/stderr" ||
    fail "contrib/xmppguard.conf: $(cat "$T/stderr")"

# A missing file is an error naming it.
"$XG" check-config -c "$T/nope.conf" >/dev/null 2>"$T/stderr" &&
    fail "a missing file was accepted"
expect_grep "$T/nope.conf" "$T/stderr"
exit 0
