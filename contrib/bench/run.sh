#!/bin/bash
# make bench: every benchmark of BENCHMARKS.md, in one run, as root.
# Each line of output is one measurement (key=value); BENCHMARKS.md keeps
# the figures and says what they mean.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=contrib/bench

echo "== conntrack flows recorded: xmppguard and ulogd2 on the same load"
echo "-- loopback, as fast as xgload goes, 100000 connections"
bash $B/ct-ulogd2.sh -n 100000
echo "-- loopback, 5000 connections/s, 30000 connections"
bash $B/ct-ulogd2.sh -n 30000 -r 5000
echo "-- veth between namespaces, as fast as xgload goes, 100000 connections"
bash $B/ct-ulogd2.sh --veth -n 100000

echo "== the daemon at rest on its defaults: wake-ups over a minute, memory"
bash $B/idle.sh -s 60

echo "== memory under a spoofed SYN flood from 1,000,000 addresses"
bash $B/synflood-rss.sh -n 1000000

echo "== the detection path alone (tracker, rules, rollups; -d: and SQLite)"
for a in 1000 100000; do
	build/plain/tests/benchpipe -n 4000000 -a $a
done
build/plain/tests/benchpipe -n 4000000 -s
rm -f /tmp/xg-benchpipe.db*
build/plain/tests/benchpipe -n 2000000 -a 10000 -d /tmp/xg-benchpipe.db
rm -f /tmp/xg-benchpipe.db*

echo "== log filters: xmppguard test-filter, fail2ban-regex and grep"
bash $B/filter-fail2ban.sh -n 1000000

echo "== following a growing log: xmppguard run and fail2ban-server"
bash $B/tail-follow.sh -n 1000000

echo "== bans into the kernel: the nftables backend and one nft per ban"
bash $B/nft-bans.sh -N 3000

echo "== from the offending handshake to the ban in the kernel"
bash $B/ban-latency.sh -n 200

echo "== the filters with PCRE2's JIT and under MemoryDenyWriteExecute"
sh $B/filter-mdwe.sh 5

echo "== the report on a store of 10 million connections"
bash $B/report.sh
