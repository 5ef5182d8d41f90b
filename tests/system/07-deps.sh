# Dependencies by purpose, on a machine that has nothing (a dpkg-query
# that knows no package, on PATH first): `make run`'s set (--build
# --runtime) names the compiler, the -dev packages, nftables and
# conntrack, and never an XMPP server, a browser or a test tool; --test
# names the servers too; an unknown option is a usage error; and a plain
# `make` without the libraries names the packages to install instead of
# failing on a header.  Nothing is installed: --check only.
. "$TOP/tests/system/lib.sh"

mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 1\n' > "$T/bin/dpkg-query"
chmod 755 "$T/bin/dpkg-query"
missing() {	# missing PURPOSE...: what --check says is missing
	PATH="$T/bin:$PATH" sh "$TOP/contrib/deps.sh" --check "$@" 2>&1 |
	    sed -n 's/^xmppguard: missing packages: //p'
}

run_set=" $(missing --build --runtime) "
for p in build-essential pkg-config libnetfilter-conntrack-dev \
    libpcre2-dev libsqlite3-dev libcurl4-openssl-dev libmnl-dev nftables \
    conntrack; do
	case $run_set in *" $p "*) ;; *) fail "make run's set lacks $p:$run_set" ;; esac
done
for p in prosody ejabberd prosody-modules chromium clang hyperfine \
    libcmocka-dev python3-slixmpp; do
	case $run_set in *" $p "*) fail "make run's set installs $p" ;; esac
done
test_set=" $(missing --test) "
for p in prosody ejabberd chromium libcmocka-dev nftables libmnl-dev; do
	case $test_set in *" $p "*) ;; *) fail "--test lacks $p" ;; esac
done
[ "$(missing)" = "$(missing --test)" ] || fail "no purpose is not --test"
sh "$TOP/contrib/deps.sh" --bogus >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown option is not a usage error"
# Nothing missing: --check is quiet and succeeds.
printf '#!/bin/sh\necho "install ok installed"\n' > "$T/bin/dpkg-query"
out=$(PATH="$T/bin:$PATH" sh "$TOP/contrib/deps.sh" --check --test 2>&1) ||
    fail "--check with everything installed: $out"
[ -z "$out" ] || fail "--check with everything installed said: $out"

# A plain make without the libraries (pkg-config finds none).
make -C "$TOP" --no-print-directory BUILD="$T/build" PKG_CONFIG=false \
    xmppguard > "$T/make.out" 2>&1 && fail "make without the libraries built"
expect_grep "cannot build: missing libnetfilter_conntrack" "$T/make.out"
expect_grep "sudo apt-get install pkg-config libnetfilter-conntrack-dev libpcre2-dev libsqlite3-dev libcurl4-openssl-dev libmnl-dev" \
    "$T/make.out"
expect_grep "contrib/deps.sh --build" "$T/make.out"
grep -q "error:.*\.h" "$T/make.out" && fail "make failed on a header"
exit 0
