# make deb, then the package installed and purged in a throwaway root.
# The .deb (built by `make deb` in the tree, or the one XG_DEB names)
# holds the binary, the unit, the configuration as a conffile, the
# filters and both man pages, and depends on nftables.  It is then
# installed with dpkg in a chroot whose root is an overlay over / with
# its upper layer on a tmpfs, in a mount namespace of our own: the
# host's packages are seen (so the dependencies are there), nothing
# written reaches the host, and all of it goes when the namespace does.
# A policy-rc.d forbids starting anything, and /run is empty there (no
# systemd is seen running).  In there, on a host with a Prosody log:
# `xmppguard version`, `check-config` on the installed configuration,
# the unit enabled, /var/lib/xmppguard made; remove keeps the
# configuration, purge removes it, the state and what the operator
# added.  The host's dpkg status of xmppguard is the same before and
# after.
. "$TOP/tests/system/lib.sh"

if [ -z "${XG_DEB:-}" ] && ! command -v dpkg-buildpackage >/dev/null 2>&1
then
	echo "skipped: no dpkg-buildpackage (apt-get install dpkg-dev" \
	    "debhelper)"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root (chroot, mounts)"
	exit 77
fi

version=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
[ -n "$version" ] || fail "no VERSION in the Makefile"
if [ -n "${XG_DEB:-}" ]; then
	DEB=$XG_DEB
else
	xg_now
	t0=$XG_NOW
	make -C "$TOP" --no-print-directory deb >"$T/deb.log" 2>&1 ||
	    { tail -n 30 "$T/deb.log"; fail "make deb"; }
	xg_now
	echo "make deb: $(((XG_NOW - t0) / 1000000)) s"
	grep -E '^[EW]: ' "$T/deb.log"
	DEB=$(ls "$TOP"/build/deb/xmppguard_"$version"_*.deb 2>/dev/null |
	    head -n 1)
fi
[ -f "$DEB" ] || fail "no package at '$DEB'"
echo "package: ${DEB##*/}, $(stat -c %s "$DEB") bytes"

# What the package holds.
dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' > "$T/files"
for f in /usr/sbin/xmppguard /lib/systemd/system/xmppguard.service \
    /etc/xmppguard/xmppguard.conf /usr/share/xmppguard/filters/prosody.conf \
    /usr/share/xmppguard/filters/ejabberd.conf \
    /usr/share/man/man8/xmppguard.8.gz \
    /usr/share/man/man5/xmppguard.conf.5.gz; do
	grep -qx -e "$f" "$T/files" || { cat "$T/files"; fail "no $f"; }
done
[ "$(dpkg-deb -f "$DEB" Version)" = "$version" ] ||
    fail "version $(dpkg-deb -f "$DEB" Version), not $version"
dpkg-deb -f "$DEB" Depends | tr ',' '\n' | grep -q '^ *nftables\b' ||
    fail "Depends has no nftables: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles > "$T/conffiles" ||
    fail "no conffiles"
expect_grep '^/etc/xmppguard/xmppguard.conf$' "$T/conffiles"
dpkg-deb --fsys-tarfile "$DEB" |
    tar -xOf - ./lib/systemd/system/xmppguard.service > "$T/unit" ||
    fail "cannot read the unit"
type=$(sed -n 's/^Type=//p' "$T/unit")
case $type in
notify | simple) echo "unit: Type=$type" ;;
*)	fail "unit: Type=$type" ;;
esac

host_state() {
	dpkg -s xmppguard 2>&1
	ls -ld /etc/xmppguard /var/lib/xmppguard 2>&1
}
host_state > "$T/host.before"

# Inside the mount namespace: $R is the overlay, and each step that
# fails exits with its number.
cat > "$T/inside.sh" <<'INSIDE'
set -u
DEB=$1 T=$2 version=$3
R=$T/root
mkdir -p "$R" "$T/layer" || exit 2
mount -t tmpfs xgdeb "$T/layer" && mkdir "$T/layer/up" "$T/layer/work" &&
mount -t overlay xgdeb -o \
    "lowerdir=/,upperdir=$T/layer/up,workdir=$T/layer/work" "$R" || exit 3
mount --rbind /proc "$R/proc" && mount --rbind /sys "$R/sys" &&
mount --rbind /dev "$R/dev" && mount -t tmpfs xgdeb "$R/run" &&
mount -t tmpfs xgdeb "$R/tmp" || exit 4
inroot() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"; }
# Nothing starts; a Prosody host; no xmppguard there before ours.
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d" &&
chmod 755 "$R/usr/sbin/policy-rc.d" || exit 5
mkdir -p "$R/var/log/prosody" && : > "$R/var/log/prosody/prosody.log" ||
    exit 5
if inroot dpkg -s xmppguard > /dev/null 2>&1; then
	inroot dpkg --purge xmppguard > "$T/purge0.log" 2>&1 || exit 6
fi
rm -rf "$R/etc/xmppguard" "$R/var/lib/xmppguard"
cp "$DEB" "$R/tmp/xmppguard.deb" || exit 7
inroot dpkg -i /tmp/xmppguard.deb > "$T/dpkg-i.log" 2>&1 || exit 8
inroot dpkg -s xmppguard > "$T/status.log" 2>&1 || exit 9
inroot xmppguard version > "$T/version.out" 2>&1 || exit 10
inroot xmppguard check-config > "$T/cc.out" 2> "$T/cc.err" || exit 11
ls -l "$R/etc/systemd/system/multi-user.target.wants/xmppguard.service" \
    > "$T/wants.out" 2>&1 || exit 12
stat -c '%a %U' "$R/var/lib/xmppguard" > "$T/state.out" 2>&1 || exit 13
stat -c '%a %U' "$R/etc/xmppguard/xmppguard.conf" > "$T/conf.out" 2>&1 ||
    exit 13
# The operator's additions, which purge removes too.
mkdir -p "$R/etc/xmppguard/conf.d" &&
echo '# local' > "$R/etc/xmppguard/conf.d/local.conf" &&
echo 'x' > "$R/var/lib/xmppguard/xmppguard.db" || exit 14
inroot dpkg -r xmppguard > "$T/dpkg-r.log" 2>&1 || exit 15
[ -f "$R/etc/xmppguard/xmppguard.conf" ] &&
    [ -f "$R/var/lib/xmppguard/xmppguard.db" ] &&
    [ ! -e "$R/usr/sbin/xmppguard" ] || exit 16
inroot dpkg --purge xmppguard > "$T/dpkg-purge.log" 2>&1 || exit 17
ls -d "$R/etc/xmppguard" "$R/var/lib/xmppguard" \
    "$R/etc/systemd/system/multi-user.target.wants/xmppguard.service" \
    > "$T/left.out" 2>/dev/null
[ ! -s "$T/left.out" ] || exit 18
inroot dpkg -s xmppguard > "$T/status2.log" 2>&1 && exit 19
exit 0
INSIDE
unshare -m --propagation private sh "$T/inside.sh" "$DEB" "$T" "$version" \
    > "$T/inside.log" 2>&1
rc=$?
host_state > "$T/host.after"
diff -u "$T/host.before" "$T/host.after" ||
    fail "the host's xmppguard package or directories changed"
case $rc in
0)	;;
3)	cat "$T/inside.log"; fail "no overlay over / here" ;;
*)	for f in "$T"/inside.log "$T"/*.log "$T"/*.out "$T"/*.err; do
		[ -s "$f" ] && { echo "--- ${f##*/}:"; tail -n 20 "$f"; }
	done
	fail "in the throwaway root, step $rc failed" ;;
esac

expect_grep "$version" "$T/version.out"
expect_grep '^/etc/xmppguard/xmppguard.conf: configuration OK$' "$T/cc.err"
expect_grep '^Status: install ok installed$' "$T/status.log"
expect_grep '/lib/systemd/system/xmppguard.service$' "$T/wants.out"
expect_grep '^750 root$' "$T/state.out"
expect_grep '^640 root$' "$T/conf.out"
# A fresh install on a Prosody host follows its log without editing
# ([global] logs = auto), and starts in dry run: check-config prints the
# effective configuration.
grep -q '^\[log prosody\]' "$T/cc.out" &&
    grep -q '^path *= */var/log/prosody/prosody.log' "$T/cc.out" ||
    { cat "$T/cc.err" "$T/cc.out"; fail "Prosody's log not followed"; }
echo "installed configuration follows /var/log/prosody/prosody.log"
grep -q '^dry_run *= *yes' "$T/cc.out" ||
    { cat "$T/cc.out"; fail "the installed configuration is not in dry run"; }
echo "installed configuration: dry run"
echo "deb: built, installed, removed and purged in a throwaway root"
