# Sourced by the benchmarks that run fail2ban: puts fail2ban-regex,
# fail2ban-server and fail2ban-client on PATH.  If fail2ban is not
# installed, Debian's package is unpacked into $1 (apt-get download, dpkg
# -x) rather than installed, so no fail2ban service starts on the machine
# and nothing outside that directory changes.
fail2ban_env() {
	command -v fail2ban-regex >/dev/null 2>&1 && return 0
	_d=$1/fail2ban
	mkdir -p "$_d" || return 1
	(cd "$_d" && { apt-get download fail2ban >/dev/null 2>&1 ||
	    { apt-get update -qq >/dev/null 2>&1 &&
	    apt-get download fail2ban >/dev/null 2>&1; }; }) ||
	    { echo "cannot download Debian's fail2ban package" >&2; return 1; }
	dpkg -x "$_d"/fail2ban_*.deb "$_d/root" || return 1
	mkdir -p "$_d/bin"
	for _t in fail2ban-regex fail2ban-server fail2ban-client; do
		printf '#!/bin/sh\nPYTHONPATH=%s exec python3 %s "$@"\n' \
		    "$_d/root/usr/lib/python3/dist-packages" \
		    "$_d/root/usr/bin/$_t" > "$_d/bin/$_t"
		chmod +x "$_d/bin/$_t"
	done
	PATH=$_d/bin:$PATH
	export PATH
}
