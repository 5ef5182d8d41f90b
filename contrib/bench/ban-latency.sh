#!/bin/bash
# From the offending connection to the ban in the kernel, with the real
# daemon: in the server namespace of tests/system/netns.sh, xmppguard runs
# with max_new = 1/1h on c2s, so each client address's second completed
# handshake is an offence.  A client in the other namespace, for each of
# N addresses in turn, makes one connection, then a second, and notes the
# moment connect(2) returned on the second (the handshake is complete,
# which is when conntrack marks the flow ASSURED); `nft monitor elements`
# in the server namespace prints each element as the kernel commits it,
# and its lines are stamped as they arrive.  Both clocks are the same
# CLOCK_MONOTONIC.  The latency is element minus handshake: conntrack
# event, detection, the ban, and the batch through netlink (in the
# helper with privilege separation, the ops handed to it first).
#
#   contrib/bench/ban-latency.sh [-n N] [-u USER]   (default 200; root)
#       -u USER: with privilege separation ([global] user = USER; the
#       same as XG_USER=USER)
#
# Output: key=value lines (p50, p90, p99, max in microseconds).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=200
while getopts n:u: o; do
	case $o in
	n) N=$OPTARG ;;
	u) XG_USER=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-u USER]" >&2; exit 2 ;;
	esac
done
XG=${XG:-$TOP/xmppguard}
T=$(mktemp -d /tmp/xg-latency.XXXXXX)
chmod 755 "$T"

ns_require
xgload_build
ns_setup
# After ns_setup, whose own EXIT trap this replaces.
trap 'ns_cleanup; rm -rf "$T"' EXIT
[ "$N" -le 250 ] || fail "-n: at most 250 addresses"
ns_add_client_addrs "$CLI" 198.51.100.1 "198.51.100.$N"

cat > "$T/xg.conf" <<CONF
[global]
state_dir = $T/state
control_socket = $T/state/ctl.sock
user = ${XG_USER:-}
[service c2s]
ports = 5222
max_new = 1/1h
net_max_new = none
[ban]
duration = 1h
kill_established = no
CONF
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 600
wait_for_line 'listening' "$T/serve.log" 5
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
wait_for_line 'ready' "$T/xg.log" 5

ip netns exec "$CLI" python3 - "$N" "$SRV" <<'PY'
import socket, subprocess, sys, threading, time

n, srv = int(sys.argv[1]), sys.argv[2]
seen = {}
cond = threading.Condition()

def monitor(p):
    for line in p.stdout:
        t = time.monotonic()
        if "add element" not in line:
            continue
        for i in range(1, n + 1):
            a = "198.51.100.%d " % i
            if a in line or line.rstrip().endswith(a.strip() + " }"):
                with cond:
                    seen.setdefault(i, t)
                    cond.notify_all()

mon = subprocess.Popen(["ip", "netns", "exec", srv, "nft", "monitor",
                        "elements"], stdout=subprocess.PIPE, text=True)
threading.Thread(target=monitor, args=(mon,), daemon=True).start()
time.sleep(0.5)

def connect(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(2)
    s.connect(("192.0.2.1", 5222))
    t = time.monotonic()
    s.close()
    return t

lat = []
for i in range(1, n + 1):
    src = "198.51.100.%d" % i
    connect(src)
    time.sleep(0.01)
    t0 = connect(src)
    with cond:
        cond.wait_for(lambda: i in seen, timeout=2)
        if i in seen:
            lat.append((seen[i] - t0) * 1e6)
mon.terminate()
lat.sort()
def q(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else -1
print("bans=%d of=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f"
      % (len(lat), n, q(0.5), q(0.9), q(0.99), lat[-1] if lat else -1))
PY
