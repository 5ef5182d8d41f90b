# The README's configuration reference is what the directive table says:
# regenerate it with `make reference` when a directive changes.
. "$TOP/tests/system/lib.sh"

"$XG" check-config --reference > "$T/ref.md" || fail "--reference failed"
[ -s "$T/ref.md" ] || fail "--reference printed nothing"
sed -n '/^<!-- BEGIN REFERENCE -->/,/^<!-- END REFERENCE -->/p' \
    "$TOP/README" | sed '1d;$d' > "$T/readme.md"
diff -u "$T/readme.md" "$T/ref.md" ||
    fail "README reference is stale: run 'make reference'"
exit 0
