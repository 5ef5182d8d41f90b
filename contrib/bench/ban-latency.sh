#!/bin/bash
# From the offending connection to the ban in the kernel, with the real
# daemon: in the server namespace of tests/system/netns.sh, xmppguard runs
# with max_new = 1/1h on c2s, so each client address's second completed
# handshake is an offence (kernel_caps = no: the daemon bans at the
# limit, where the kernel caps would refuse the connection).  A client in
# the other namespace, for each of N addresses in turn, makes one
# connection, then a second, and notes the moment connect(2) returned on
# the second (the handshake is complete,
# which is when conntrack marks the flow ASSURED).  The kernel tells the
# nftables multicast group of each element as it commits it: a netlink
# socket of the server namespace's, read by a thread of the client, stamps
# each notification as it arrives.  Both clocks are the same
# CLOCK_MONOTONIC.  The latency is element minus handshake: conntrack
# event, detection, the ban, and the batch through netlink (in the
# helper with privilege separation, the ops handed to it first), plus the
# wake-up of the thread that stamps.
#
# With -m nft the elements are stamped as `nft monitor elements` prints
# them instead, as before: that adds the nft process's own wake-up and the
# reader's, once per write(2) of nft's (nine a line), under load
# milliseconds that are not the daemon's.
#
#   contrib/bench/ban-latency.sh [-n N] [-u USER] [-m netlink|nft]
#       (default 200, netlink; root)
#       -u USER: with privilege separation ([global] user = USER; the
#       same as XG_USER=USER)
#
# Output: key=value lines (p50, p90, p99, max in microseconds).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=200
MON=netlink
while getopts n:u:m: o; do
	case $o in
	n) N=$OPTARG ;;
	u) XG_USER=$OPTARG ;;
	m) MON=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-u USER] [-m netlink|nft]" >&2; exit 2 ;;
	esac
done
case $MON in
netlink|nft) ;;
*) echo "$0: -m: netlink or nft" >&2; exit 2 ;;
esac
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
kernel_caps = no
[ban]
duration = 1h
kill_established = no
CONF
ns_spawn "$SRV" "$T/serve.log" "$XGLOAD" serve -l 192.0.2.1 -p 5222 \
    --seconds 600
wait_for_line 'listening' "$T/serve.log" 5
ns_spawn "$SRV" "$T/xg.log" "$XG" run --foreground -c "$T/xg.conf"
wait_for_line 'ready' "$T/xg.log" 5

ip netns exec "$CLI" python3 - "$N" "$SRV" "$MON" <<'PY'
import ctypes, os, socket, struct, subprocess, sys, threading, time

n, srv, how = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = {}
cond = threading.Condition()

NETLINK_NETFILTER, NFNLGRP_NFTABLES = 12, 7
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 270, 1
NEWSETELEM = 10 << 8 | 12          # NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWSETELEM
CLONE_NEWNET = 0x40000000

def nl_socket():
    # Opened in the server's namespace (this thread only), then back.
    libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open("/run/netns/" + srv, os.O_RDONLY)
    if libc.setns(there, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + srv)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((0, 0))
    s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
    if libc.setns(here, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")
    os.close(here)
    os.close(there)
    return s

def attrs(b):
    off = 0
    while off + 4 <= len(b):
        alen, atype = struct.unpack_from("=HH", b, off)
        if alen < 4:
            break
        yield atype & 0x3fff, b[off + 4:off + alen]
        off += (alen + 3) & ~3

def elements(msg):
    # The keys of a NEWSETELEM's elements, interval ends left out.
    for t, v in attrs(msg[20:]):           # nlmsghdr, nfgenmsg
        if t != 3:                         # NFTA_SET_ELEM_LIST_ELEMENTS
            continue
        for _, e in attrs(v):              # NFTA_LIST_ELEM
            key, flags = None, 0
            for et, ev in attrs(e):
                if et == 1:                # NFTA_SET_ELEM_KEY
                    for dt, dv in attrs(ev):
                        if dt == 1:        # NFTA_DATA_VALUE
                            key = dv
                elif et == 3 and len(ev) >= 4:
                    flags = struct.unpack(">I", ev[:4])[0]
            if key is not None and not flags & 1:   # NFT_SET_ELEM_INTERVAL_END
                yield key

def nl_monitor(s):
    while True:
        buf = s.recv(1 << 16)
        t = time.monotonic()
        off = 0
        while off + 16 <= len(buf):
            mlen, mtype = struct.unpack_from("=IH", buf, off)
            if mlen < 16:
                break
            if mtype == NEWSETELEM:
                for key in elements(buf[off:off + mlen]):
                    if len(key) == 4 and key[:3] == bytes((198, 51, 100)) \
                       and 1 <= key[3] <= n:
                        with cond:
                            seen.setdefault(key[3], t)
                            cond.notify_all()
            off += (mlen + 3) & ~3

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

if how == "nft":
    mon = subprocess.Popen(["ip", "netns", "exec", srv, "nft", "monitor",
                            "elements"], stdout=subprocess.PIPE, text=True)
    threading.Thread(target=monitor, args=(mon,), daemon=True).start()
else:
    mon = None
    threading.Thread(target=nl_monitor, args=(nl_socket(),),
                     daemon=True).start()
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
if mon is not None:
    mon.terminate()
lat.sort()
def q(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else -1
print("bans=%d of=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f"
      % (len(lat), n, q(0.5), q(0.9), q(0.99), lat[-1] if lat else -1))
PY
