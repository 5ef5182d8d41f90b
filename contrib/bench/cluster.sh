#!/bin/bash
# The cluster through a CrowdSec Local API (issue 15), with the real
# daemon and the real LAPI (Debian's crowdsec, LAPI only, started by
# tests/system/lapi.sh), all in network namespaces of tests/system/netns.sh:
#
#  start   N decisions (default 10000) added with one `cscli decisions
#          import`, then a node started: the time from its start (and
#          from its "ready") until all N are elements of its kernel set.
#  latency two nodes, A and B, in two namespaces joined to the LAPI's by
#          veth pairs, pull_interval = 1s: `xmppguard ban` on A to the
#          element in B's set, p50 and p99 over -n bans (default 100); the
#          same decision to the element of the stock
#          crowdsec-firewall-bouncer (nftables mode, its own table, run by
#          hand in a namespace of its own beside B's, never as a service)
#          with its default update_frequency (10s) and with 1s.
#  push    M bans (default 5000) made on a node with the LAPI stopped, so
#          they wait in its queue; the LAPI started: bans per second from
#          its return to the queue empty (batches of 100).
#
#   contrib/bench/cluster.sh [-N 10000] [-n 100] [-M 5000] [PARTS...]
#
# PARTS: start latency push (default all).  Root.  The stock bouncer is
# the Debian 12 package crowdsec-firewall-bouncer (0.0.25), installed by
# hand for this benchmark only (apt-get install
# crowdsec-firewall-bouncer; its service is masked here, never started);
# without it that part is skipped, saying so.
# Output: key=value lines.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/netns.sh"

N=10000 NLAT=100 M=5000
while [ $# -gt 0 ]; do
	case $1 in
	-N)	N=$2; shift 2 ;;
	-n)	NLAT=$2; shift 2 ;;
	-M)	M=$2; shift 2 ;;
	*)	break ;;
	esac
done
PARTS=${*:-start latency push}
XG=${XG:-$TOP/xmppguard}
T=$(mktemp -d /tmp/xg-bench-cluster.XXXXXX)
chmod 755 "$T"
. "$TOP/tests/system/lapi.sh"

ns_require
lapi_require
ns_setup
trap 'ns_cleanup; rm -rf "$T"' EXIT
echo "cpus=$(nproc) load1=$(cut -d' ' -f1 /proc/loadavg)"

now_us() {
	xg_now
	echo "$XG_NOW"
}

# count NS TABLE: elements of the table's ban4 set.
count() {
	ip netns exec "$1" nft list set inet "$2" ban4 2>/dev/null |
	    grep -o '[0-9]*\.[0-9]*\.[0-9]*\.[0-9]* ' | wc -l
}

# node_conf NAME LAPI-URL TABLE: a node's configuration in $T/NAME.
node_conf() {
	mkdir -p "$T/$1"
	cat > "$T/$1/xg.conf" <<-CONF
	[global]
	state_dir = $T/$1/state
	control_socket = $T/$1/ctl.sock
	[service c2s]
	ports = 5222
	[ban]
	duration = 1h
	nft_table = $3
	[cluster]
	lapi_url = $2
	machine_id = xg-bench-$1
	password = xg-bench-$1-password-0123456789
	bouncer_key = xg-bench-$1-bouncer-key-0123456789
	pull_interval = 1s
	CONF
	chmod 600 "$T/$1/xg.conf"
	lapi_machine "xg-bench-$1" "xg-bench-$1-password-0123456789"
	lapi_bouncer "xg-bench-$1" "xg-bench-$1-bouncer-key-0123456789"
}

# ---- start: N decisions pulled and applied at start. ----
bench_start() {
	local t0 tr td n i
	echo "== start: $N decisions in the LAPI, then a node starts"
	lapi_config 127.0.0.1:8080
	node_conf s http://127.0.0.1:8080 xgbench
	{
		echo "duration,value"
		i=0
		while [ $i -lt "$N" ]; do
			echo "4h,100.$((64 + i / 62500)).$((i / 250 % 250)).$((i % 250 + 1))"
			i=$((i + 1))
		done
	} > "$T/decisions.csv"
	lapi_start "$SRV"
	t0=$(now_us)
	lapi_cscli decisions import -i "$T/decisions.csv" --reason bench \
	    >/dev/null || fail "cscli decisions import"
	echo "start_import_ms=$((($(now_us) - t0) / 1000))"
	t0=$(now_us)
	ns_spawn "$SRV" "$T/s.log" "$XG" run --foreground -c "$T/s/xg.conf"
	local pid=$NS_PID
	wait_for_line 'ready' "$T/s.log"
	tr=$(now_us)
	n=0
	while [ "$n" -lt "$N" ]; do
		[ $((($(now_us) - t0) / 1000000)) -lt 60 ] ||
		    { tail -5 "$T/s.log"; fail "only $n of $N elements after 60 s"; }
		n=$(count "$SRV" xgbench)
	done
	td=$(now_us)
	echo "start_decisions=$N"
	echo "start_to_all_in_kernel_ms=$(((td - t0) / 1000))"
	echo "ready_to_all_in_kernel_ms=$(((td - tr) / 1000))"
	grep -E 'cluster: (resync|login)|slow' "$T/s.log" | head -5
	ns_stop "$pid" 10
	lapi_stop
	rm -rf "$T/lapi" "$T/s"
	XG_NS_PIDS=
}

# ---- latency: ban on A to the element on B and in the stock bouncer's. ----
cfb_conf() {	# cfb_conf NAME INTERVAL: the stock bouncer's config in $T
	lapi_bouncer "cfb-$1" "cfb-$1-bouncer-key-0123456789"
	cat > "$T/cfb-$1.yaml" <<-CONF
	mode: nftables
	pid_dir: $T/
	update_frequency: $2
	daemonize: false
	log_mode: stdout
	log_level: info
	api_url: http://127.0.0.1:8080/
	api_key: cfb-$1-bouncer-key-0123456789
	insecure_skip_verify: false
	disable_ipv6: true
	deny_action: DROP
	deny_log: false
	supported_decisions_types:
	  - ban
	blacklists_ipv4: cfb-$1
	nftables:
	  ipv4:
	    enabled: true
	    set-only: false
	    table: cfb$1
	    chain: cfb$1-chain
	  ipv6:
	    enabled: false
	prometheus:
	  enabled: false
	CONF
}

bench_latency() {
	local cfb=${CFB:-$(command -v crowdsec-firewall-bouncer)} cfbs=""
	echo "== latency: ban on A -> element on B (pull_interval 1s), $NLAT bans"
	lapi_config 127.0.0.1:8080
	node_conf a http://127.0.0.1:8080 xga
	node_conf b http://127.0.0.1:8080 xgb
	if [ -n "$cfb" ] && [ -x "$cfb" ]; then
		cfb_conf 10s 10s
		cfb_conf 1s 1s
		cfbs="10s 1s"
		echo "cfb=$("$cfb" -V 2>&1 | grep -io 'version: *[^ ]*' | head -1)"
	else
		echo "cfb=none (crowdsec-firewall-bouncer not found: CFB=PATH)"
	fi
	lapi_start "$SRV"
	for n in a b; do
		ns_spawn "$SRV" "$T/$n.log" "$XG" run --foreground \
		    -c "$T/$n/xg.conf"
		wait_for_line 'ready' "$T/$n.log"
	done
	for i in $cfbs; do
		ns_spawn "$SRV" "$T/cfb-$i.log" "$cfb" -c "$T/cfb-$i.yaml"
	done
	# Both nodes logged in and pulling, the bouncers' tables made.
	for n in a b; do
		wait_until "$XG_WAIT" "node $n never pulled" out_ge 1 \
		    xg_status_field "$T/$n/ctl.sock" cluster.resyncs
	done
	for i in $cfbs; do
		wait_until "$XG_WAIT" "bouncer $i made no table" ns_exec \
		    "$SRV" nft list table ip "cfb$i"
	done
	ip netns exec "$SRV" python3 - "$XG" "$T/a/ctl.sock" "$NLAT" \
	    $cfbs <<'PY'
import random, subprocess, sys, threading, time

xg, sock, n, cfbs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
targets = {"xgb": "inet xgb ban4"}
for c in cfbs:
    targets["cfb_" + c] = "ip cfb%s cfb-%s" % (c, c)
seen = {t: {} for t in targets}
mon = subprocess.Popen(["nft", "monitor", "elements"], stdout=subprocess.PIPE,
                       text=True)

def reader():
    for line in mon.stdout:
        now = time.time()
        if not line.startswith("add element"):
            continue
        for t, spec in targets.items():
            if (" %s " % spec) in line:
                for w in line.split("{", 1)[1].replace(",", " ").split():
                    if w.startswith("198.18."):
                        seen[t].setdefault(w, now)

threading.Thread(target=reader, daemon=True).start()
time.sleep(0.5)
sent = {}
for i in range(n):
    ip = "198.18.%d.%d" % (i // 250, i % 250 + 1)
    # A random phase against the pull timers.
    time.sleep(random.uniform(0.05, 0.4))
    sent[ip] = time.time()
    subprocess.run([xg, "ban", ip, "--for", "10m", "--reason", "bench",
                    "-s", sock], check=True, stdout=subprocess.DEVNULL)
end = time.time() + 30
while time.time() < end and any(len(seen[t]) < n for t in targets):
    time.sleep(0.1)
mon.kill()
for t in targets:
    lat = sorted((seen[t][ip] - sent[ip]) * 1000 for ip in sent
                 if ip in seen[t])
    if not lat:
        print("%s_seen=0" % t)
        continue
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print("%s_seen=%d/%d %s_p50_ms=%.0f %s_p99_ms=%.0f %s_max_ms=%.0f"
          % (t, len(lat), n, t, q(0.5), t, q(0.99), t, lat[-1]))
PY
	ns_cleanup_pids
	lapi_stop
	rm -rf "$T/lapi" "$T/a" "$T/b"
}

# Stops what ns_spawn started (the LAPI aside), by PID.
ns_cleanup_pids() {
	local pid
	for pid in $XG_NS_PIDS; do
		[ "$pid" = "${LAPI_PID:-}" ] || ns_stop "$pid" 10
	done
}

# ---- push: M queued bans into the LAPI. ----
bench_push() {
	local t0 t1 now i q
	echo "== push: $M bans queued, the LAPI up: bans per second"
	lapi_config 127.0.0.1:8080
	node_conf p http://127.0.0.1:8080 xgp
	sed -i 's/^pull_interval = 1s$/pull = no/' "$T/p/xg.conf"
	# The store made, then M rows queued as the daemon queues bans.
	ns_spawn "$SRV" "$T/p.log" "$XG" run --foreground -c "$T/p/xg.conf"
	wait_for_line 'ready' "$T/p.log"
	ns_stop "$NS_PID" 10
	now=$(($(date +%s) * 1000000))
	python3 - "$T/p/state/xmppguard.db" "$M" "$now" <<'PY'
import sqlite3, sys
db, m, now = sqlite3.connect(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
db.executemany("INSERT INTO cluster_queue (op, addr, prefixlen, rule, "
               "reason, count, since, expires, added) VALUES ('ban', ?, 32, "
               "'churn', 'bench', 1, ?, ?, ?)",
               (("198.19.%d.%d" % (i // 250, i % 250 + 1), now,
                 now + 3600 * 10**6, now) for i in range(m)))
db.commit()
PY
	lapi_start "$SRV"
	ns_spawn "$SRV" "$T/p.log" "$XG" run --foreground -c "$T/p/xg.conf"
	wait_for_line 'ready' "$T/p.log"
	t0=$(now_us)
	q=$M
	while [ "$q" -gt 0 ]; do
		[ $((($(now_us) - t0) / 1000000)) -lt 300 ] ||
		    fail "$q still queued after 300 s"
		q=$(xg_status_field "$T/p/ctl.sock" cluster.queue)
		sleep 0.05
	done
	t1=$(now_us)
	echo "push_bans=$M"
	echo "push_ms=$(((t1 - t0) / 1000))"
	echo "push_bans_per_s=$((M * 1000000 / (t1 - t0)))"
	echo "push_pushed=$(xg_status_field "$T/p/ctl.sock" cluster.pushed)"
	ns_cleanup_pids
	lapi_stop
	rm -rf "$T/lapi" "$T/p"
}

for p in $PARTS; do
	case $p in
	start)	bench_start ;;
	latency) bench_latency ;;
	push)	bench_push ;;
	*)	fail "unknown part $p" ;;
	esac
done
