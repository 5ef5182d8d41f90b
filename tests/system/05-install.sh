# make install: from a private copy of the tree, installed for PREFIX=/usr
# under DESTDIR=$T/root (nothing outside $T is written).  Checks
# the exact list of files and their modes, that no file carries the
# DESTDIR, that a second install keeps an edited xmppguard.conf, that the
# installed binary looks for its filters in /usr/share/xmppguard (seen
# through an overlay in a private mount namespace, so the host's /usr and
# /etc stay untouched) and loads every sample configuration, that the man
# pages render without a groff warning and xmppguard.conf(5) has every
# directive, the bash completion, the systemd unit (systemd-analyze), the
# sysctl file (inside a network namespace of our own) and make uninstall.
. "$TOP/tests/system/lib.sh"

need_root
command -v make >/dev/null 2>&1 || { echo "skipped: no make"; exit 77; }
command -v groff >/dev/null 2>&1 || { echo "skipped: no groff"; exit 77; }
command -v unshare >/dev/null 2>&1 || { echo "skipped: no unshare"; exit 77; }

S=$T/src R=$T/root
mkdir -p "$S" "$R"
(cd "$TOP" && tar --exclude=./build --exclude=./.git --exclude=./xmppguard \
    -cf - .) | (cd "$S" && tar -xf -) || fail "cannot copy the tree"
# Built first for the default PREFIX (/usr/local), as "make" then "sudo
# make install PREFIX=/usr" would: the install must rebuild for /usr.
make -C "$S" -j2 xmppguard >"$T/build.log" 2>&1 ||
    { tail -n 20 "$T/build.log"; fail "build"; }
make -C "$S" install PREFIX=/usr DESTDIR="$R" >"$T/install.log" 2>&1 ||
    { tail -n 20 "$T/install.log"; fail "make install"; }

# Exactly these files, with these modes.
{
	echo "755 usr/sbin/xmppguard"
	for f in "$S"/filters/*.conf; do
		echo "644 usr/share/xmppguard/filters/${f##*/}"
	done
	for f in "$S"/sql/[0-9]*.sql; do
		echo "644 usr/share/xmppguard/sql/${f##*/}"
	done
	echo "644 usr/share/xmppguard/xmppguard.conf.sample"
	echo "640 etc/xmppguard/xmppguard.conf"
	echo "644 lib/systemd/system/xmppguard.service"
	echo "644 usr/share/man/man8/xmppguard.8"
	echo "644 usr/share/man/man5/xmppguard.conf.5"
	echo "644 usr/share/bash-completion/completions/xmppguard"
	echo "644 usr/share/doc/xmppguard/conntrack.md"
	echo "644 usr/share/doc/xmppguard/firewalls.md"
	for f in "$S"/contrib/examples/*; do
		echo "644 usr/share/doc/xmppguard/examples/${f##*/}"
	done
} | sort -k 2 > "$T/want"
(cd "$R" && find . -type f -printf '%m %P\n') | sort -k 2 > "$T/got"
diff -u "$T/want" "$T/got" > "$T/diff" ||
    { cat "$T/diff"; fail "installed files differ from the expected list"; }
[ "$(stat -c %a "$R/etc/xmppguard/filters")" = 755 ] ||
    fail "no /etc/xmppguard/filters directory"
cmp -s "$S/contrib/xmppguard.conf" "$R/etc/xmppguard/xmppguard.conf" ||
    fail "etc/xmppguard/xmppguard.conf is not the sample"
grep -rlI -e "$R" -e "$S" "$R" > "$T/leak" &&
    { cat "$T/leak"; fail "installed files name the build or DESTDIR"; }
grep -l '@[A-Z]*@' "$R/lib/systemd/system/xmppguard.service" \
    "$R/usr/share/man/man8/xmppguard.8" \
    "$R/usr/share/bash-completion/completions/xmppguard" &&
    fail "an @VARIABLE@ was left unsubstituted"
expect_grep '^ExecStart=/usr/sbin/xmppguard run --foreground$' \
    "$R/lib/systemd/system/xmppguard.service"

# A second install leaves an edited configuration alone, and says so.
echo "# edited by the operator" >> "$R/etc/xmppguard/xmppguard.conf"
make -C "$S" install PREFIX=/usr DESTDIR="$R" >"$T/install2.log" 2>&1 ||
    { tail -n 20 "$T/install2.log"; fail "second make install"; }
expect_grep '^# edited by the operator$' "$R/etc/xmppguard/xmppguard.conf"
expect_grep 'xmppguard.conf exists: left as it is' "$T/install2.log"

# The binary has /usr/share/xmppguard and /etc/xmppguard compiled in: as
# installed it finds no filter (they are under $R) ...
"$R/usr/sbin/xmppguard" test-filter ejabberd /dev/null >"$T/out" 2>&1 &&
    fail "the installed binary found a filter outside /usr/share/xmppguard"
expect_grep 'no ejabberd.conf in /etc/xmppguard/filters, /usr/share/xmppguard/filters' "$T/out"

# ... and finds them once $R/usr/share and $R/etc are laid over the real
# ones, in a mount namespace of its own.  The script runs there.
cp "$S/tests/filters/ejabberd/ejabberd-23.01.log" "$T/ej.log"
cat > "$T/inside.sh" <<'INSIDE'
set -u
R=$1 T=$2
mount --make-rprivate / &&
mount -t overlay xgtest -o "lowerdir=$R/usr/share:/usr/share" /usr/share &&
mount -t overlay xgtest -o "lowerdir=$R/etc:/etc" /etc || exit 3
X=$R/usr/sbin/xmppguard
$X test-filter ejabberd "$T/ej.log" > "$T/tf.out" 2>&1 || exit 4
# With no -c: the installed /etc/xmppguard/xmppguard.conf.
$X check-config > "$T/cc.out" 2> "$T/cc.err" || exit 5
for f in /usr/share/doc/xmppguard/examples/*.conf; do
	case $f in */sysctl-* | */modules-*) continue ;; esac
	$X check-config -c "$f" > /dev/null 2>> "$T/examples.err" || exit 6
done
# A filter in /etc/xmppguard/filters wins over the shipped one.
$X test-filter prosody /dev/null > "$T/tf2.out" 2>&1 || exit 7
# The completion, with the installed filter directories.
bash -c '. /usr/share/bash-completion/completions/xmppguard
	t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
	      _xmppguard; echo "$* => ${COMPREPLY[*]}"; }
	t xmppguard che
	t xmppguard test-filter ej
	t xmppguard test-filter pro
	t xmppguard run --dr
	t xmppguard test-filter ejabberd x.log --kind auth_f
	t xmppguard check-config --ref
	t xmppguard bans --j
	t xmppguard ""' > "$T/comp.out" 2>&1 || exit 8
INSIDE
mkdir -p "$R/etc/xmppguard/filters"
sed 's/^name *=.*/name = prosody/' "$S/filters/prosody.conf" > \
    "$R/etc/xmppguard/filters/prosody.conf"
unshare -m sh "$T/inside.sh" "$R" "$T" > "$T/inside.log" 2>&1
rc=$?
case $rc in
0)	;;
3)	echo "skipped: no overlay mount here ($(cat "$T/inside.log"))"
	exit 77 ;;
*)	cat "$T/inside.log" "$T"/*.out "$T"/*.err 2>/dev/null
	fail "in the mount namespace, step $rc failed" ;;
esac
expect_grep '^filter   ejabberd (/usr/share/xmppguard/filters/ejabberd.conf)$' "$T/tf.out"
expect_grep '^lines    132 read' "$T/tf.out"
expect_grep '^/etc/xmppguard/xmppguard.conf: configuration OK$' "$T/cc.err"
[ "$(grep -c 'configuration OK' "$T/examples.err")" -eq \
    "$(ls "$TOP"/contrib/examples/*.conf | wc -l)" ] ||
    { cat "$T/examples.err"; fail "not every sample configuration loads"; }
expect_grep '^filter   prosody (/etc/xmppguard/filters/prosody.conf)$' "$T/tf2.out"
expect_grep '^xmppguard che => check-config$' "$T/comp.out"
expect_grep '^xmppguard test-filter ej => ejabberd$' "$T/comp.out"
# prosody is in both directories: offered twice is harmless, but offered.
expect_grep '^xmppguard test-filter pro => prosody' "$T/comp.out"
expect_grep '^xmppguard run --dr => --dry-run$' "$T/comp.out"
expect_grep '^xmppguard test-filter ejabberd x.log --kind auth_f => auth_fail$' "$T/comp.out"
expect_grep '^xmppguard check-config --ref => --reference --reference=markdown --reference=man$' "$T/comp.out"
expect_grep '^xmppguard bans --j => --json$' "$T/comp.out"
bash -n "$R/usr/share/bash-completion/completions/xmppguard" ||
    fail "bash -n on the completion"

# Man pages: no groff warning, and xmppguard.conf(5) names every key the
# configuration has (check-config prints them all).
for m in man8/xmppguard.8 man5/xmppguard.conf.5; do
	groff -man -Tutf8 -ww -z "$R/usr/share/man/$m" > "$T/groff.err" 2>&1
	[ -s "$T/groff.err" ] &&
	    { cat "$T/groff.err"; fail "groff warns about $m"; }
	if command -v man >/dev/null 2>&1; then
		MANWIDTH=80 man -l "$R/usr/share/man/$m" > "$T/man.txt" 2>&1 ||
		    fail "man -l $m"
		expect_grep '^NAME' "$T/man.txt"
	fi
done
"$XG" check-config > "$T/defaults.conf" 2>/dev/null || fail "check-config"
n=0
for key in $(sed -n 's/^\([a-z_0-9]*\) *=.*/\1/p' "$T/defaults.conf" | sort -u)
do
	grep -q "^\\\\fB$key\\\\fR" "$R/usr/share/man/man5/xmppguard.conf.5" ||
	    fail "xmppguard.conf(5) has no $key"
	n=$((n + 1))
done
[ $n -gt 40 ] || fail "only $n keys checked"
# Every command the binary's usage names is in xmppguard(8) and offered
# by the completion.
"$R/usr/sbin/xmppguard" help > "$T/usage" 2>&1
cmds=$(sed -n 's/^.*xmppguard \([a-z][a-z-]*\) .*/\1/p; s/^.*xmppguard \([a-z][a-z-]*\)$/\1/p' \
    "$T/usage" | sort -u)
[ "$(echo "$cmds" | wc -l)" -ge 10 ] || fail "usage names few commands: $cmds"
sed -n '/^\.SH COMMANDS/,/^\.SH SIGNALS/p' \
    "$R/usr/share/man/man8/xmppguard.8" > "$T/commands.8"
for cmd in $cmds; do
	grep -q "^\\.B $(echo "$cmd" | sed 's/-/\\\\-/g')\\( \\|\$\\)" \
	    "$T/commands.8" ||
	    fail "xmppguard(8) does not document $cmd"
	grep '^xmppguard  => ' "$T/comp.out" | tr ' ' '\n' | grep -qx "$cmd" ||
	    fail "the completion does not offer $cmd"
done

# The unit: systemd-analyze verify knows every directive and finds the
# binary and the man page its Documentation= names; the exposure score
# stays at 3.5 or below ("OK").
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=/usr/sbin|ExecStart=$R/usr/sbin|;
	    s|^ExecReload=/usr/sbin|ExecReload=$R/usr/sbin|" \
	    "$R/lib/systemd/system/xmppguard.service" > "$T/xmppguard.service"
	# It warns about an unknown directive and goes on: any word fails.
	MANPATH=$R/usr/share/man systemd-analyze verify \
	    "$T/xmppguard.service" > "$T/verify.out" 2>&1 &&
	    [ ! -s "$T/verify.out" ] ||
	    { cat "$T/verify.out"; fail "systemd-analyze verify"; }
	if systemd-analyze security --offline=yes "$T/xmppguard.service" \
	    > "$T/security.out" 2>&1; then
		score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' \
		    "$T/security.out")
		echo "systemd-analyze security: exposure $score"
		awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.5) }' ||
		    { tail -n 5 "$T/security.out"; fail "exposure $score"; }
	fi
fi

# The sysctl file, applied in a network namespace of our own (the keys
# are per namespace) once nf_conntrack is there.
if [ -d /proc/sys/net/netfilter ] && command -v sysctl >/dev/null 2>&1; then
	ns_private NS
	ip netns exec "$NS" sysctl -q -w net.netfilter.nf_conntrack_acct=0 \
	    net.netfilter.nf_conntrack_events=2 >/dev/null
	ip netns exec "$NS" sysctl -p \
	    "$R/usr/share/doc/xmppguard/examples/xmppguard.sysctl" \
	    > "$T/sysctl.out" 2>&1 ||
	    { cat "$T/sysctl.out"; fail "sysctl -p"; }
	for k in acct timestamp events; do
		[ "$(ip netns exec "$NS" sysctl -n \
		    "net.netfilter.nf_conntrack_$k")" = 1 ] ||
		    fail "nf_conntrack_$k is not 1"
	done
fi

# make uninstall leaves the operator's configuration alone, and nothing else.
make -C "$S" uninstall PREFIX=/usr DESTDIR="$R" >"$T/uninstall.log" 2>&1 ||
    { cat "$T/uninstall.log"; fail "make uninstall"; }
(cd "$R" && find . -type f -printf '%P\n') | sort > "$T/left"
printf '%s\n' etc/xmppguard/filters/prosody.conf \
    etc/xmppguard/xmppguard.conf > "$T/want_left"
diff -u "$T/want_left" "$T/left" ||
    fail "make uninstall left or removed the wrong files"
echo "install: $(wc -l < "$T/want") files laid out and removed"
