#!/bin/bash
# How long `xmppguard report` takes on a big store: N rows in conns over
# DAYS days, with the rollups that match them (what the daemon would have
# written), bans, verdicts and log events, then the report timed in every
# format and for one address.
#
#   contrib/bench/report.sh [-n CONNS] [-b BENIGN] [-a ATTACKERS]
#       [-d DAYS] [-r RUNS] [-k]
#
#   -n  rows in conns (default 10000000)
#   -b  benign client addresses (default 2000; IPv6, 2001:db8::/32)
#   -a  attacking addresses (default 200, at most 254; 203.0.113.0/24)
#   -d  days the connections spread over (default 30)
#   -r  timed runs per command (default 10)
#   -k  keep the store (its path is printed)
#
# The shape: 30% of the connections come from the attackers (short-lived,
# c2s, half of them with failed logins), 70% from the benign clients
# (c2s, s2s, http; long-lived), in time order as the daemon writes them.
# The rollups are made from conns by one GROUP BY (hour, addr, service),
# so their size is the number of active address-hours (with the defaults
# nearly every address in nearly every hour: about (B + A) * 24 * DAYS
# rows); rollups_day and rollups_all are made from them the same way.
# The report's cost follows the rows of rollups_day in the period and of
# rollups in its first and last (partial) days, not the conns rows.
# The store is built by the real binary (the schema and its migrations),
# then filled with the sqlite3 shell.  One line per measurement:
#   what=report-30d-json mean_ms=... min_ms=... max_ms=... runs=...
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
XG=$TOP/xmppguard
N=10000000 B=2000 A=200 DAYS=30 RUNS=10 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-b) B=$2; shift ;;
	-a) A=$2; shift ;;
	-d) DAYS=$2; shift ;;
	-r) RUNS=$2; shift ;;
	-k) KEEP=1 ;;
	*) echo "usage: $0 [-n N] [-b B] [-a A] [-d DAYS] [-r RUNS] [-k]" >&2
	   exit 2 ;;
	esac
	shift
done
[ "$A" -ge 1 ] && [ "$A" -le 254 ] || { echo "-a: 1 to 254" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (CLI)" >&2; exit 1; }
[ -x "$XG" ] || { echo "build xmppguard first (make)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/xg-bench-report.XXXXXX)
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$DIR"; }
trap cleanup EXIT
DB=$DIR/xmppguard.db

# The schema, as the daemon makes it: a replay of nothing creates the store.
"$XG" replay -c /dev/null --db "$DB" --conntrack /dev/null 2>/dev/null ||
    { echo "cannot create $DB" >&2; exit 1; }

NOW=$(($(date +%s) * 1000000))
SPAN=$((DAYS * 86400 * 1000000))
START=$((NOW - SPAN))
t0=$(date +%s.%N)
nice sqlite3 "$DB" <<SQL || exit 1
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
-- conns: row i ends at START + i * SPAN / N (time order, as written).
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1),
k(i, t, atk, h) AS (SELECT i, $START + i * ($SPAN / $N), (i * 2654435761) % 10 < 3,
    (i * 40503) % 1000003 FROM c)
INSERT INTO conns (ended, addr, port, sport, service, opened, closed,
    bytes_in, bytes_out, pkts_in, pkts_out, duration, flow, flags)
SELECT t,
    CASE WHEN atk THEN '203.0.113.' || (1 + h % $A)
         ELSE '2001:db8::' || printf('%x', 1 + h % $B) END,
    CASE WHEN atk OR h % 50 < 45 THEN 5222 WHEN h % 50 < 49 THEN 5269 ELSE 5443 END,
    1024 + h % 60000,
    CASE WHEN atk OR h % 50 < 45 THEN 'c2s' WHEN h % 50 < 49 THEN 's2s' ELSE 'http' END,
    t - CASE WHEN atk THEN 1000000 + h % 2000000 ELSE 60000000 + h * 7 % 7200000000 END,
    t - 100000,
    CASE WHEN atk THEN 300 + h % 500 ELSE 5000 + h % 500000 END,
    CASE WHEN atk THEN 900 + h % 500 ELSE 20000 + h % 2000000 END,
    5, 6,
    CASE WHEN atk THEN 1000000 + h % 2000000 ELSE 60000000 + h * 7 % 7200000000 END,
    i, 1
FROM k;
-- rollups: what the daemon would have written for those connections.
INSERT INTO rollups (hour, addr, service, conns, short_lived, halfopen,
    bytes_in, bytes_out, peak_live, verdicts, auth_fail, register)
SELECT ended / 3600000000 * 3600000000, addr, service, count(*),
    sum(duration < 10000000), 0, sum(bytes_in), sum(bytes_out),
    min(count(*), 1 + abs(random()) % 8), 0,
    CASE WHEN addr GLOB '203.0.113.*' AND abs(random()) % 2 = 0
        THEN count(*) / 2 ELSE 0 END, 0
FROM conns GROUP BY 1, 2, 3;
-- half-open SYNs, per service and hour.
INSERT INTO rollups (hour, addr, service, halfopen)
SELECT DISTINCT ended / 3600000000 * 3600000000, '?', 'c2s', 50 FROM conns
WHERE id % 1000 = 0;
-- the days and the hours' totals, as store_rollup_add writes them.
INSERT INTO rollups_day
SELECT hour / 86400000000 * 86400000000, addr, service, sum(conns),
    sum(short_lived), sum(halfopen), sum(bytes_in), sum(bytes_out),
    max(peak_live), sum(verdicts), sum(auth_fail), sum(register),
    max(conns), max(auth_fail), max(register)
FROM rollups GROUP BY 1, 2, 3;
INSERT INTO rollups_all
SELECT hour, service, sum(conns), sum(halfopen), sum(verdicts),
    sum(auth_fail), sum(register)
FROM rollups GROUP BY 1, 2;
-- bans and verdicts: one of each per attacker and day.
WITH RECURSIVE d(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM d WHERE j < $DAYS * $A - 1)
INSERT INTO verdicts (time, addr, prefixlen, rule, service, observed, lim,
    window, reason)
SELECT $START + j * ($SPAN / ($DAYS * $A)), '203.0.113.' || (1 + j % $A), 32,
    'churn', 'c2s', 121, 120, 3600000000,
    'churn: 121 new c2s connections in 1h (limit 120)' FROM d;
INSERT INTO bans (addr, prefixlen, rule, reason, since, expires, count,
    source)
SELECT addr, 32, rule, reason, time, time + 600000000, 1, 'rule'
FROM verdicts;
-- log events: 500 per attacker, in time order.
WITH RECURSIVE e(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM e WHERE j < 500 * $A - 1)
INSERT INTO events (time, addr, kind, source, origin, user)
SELECT $START + j * ($SPAN / (500 * $A)), '203.0.113.' || (1 + j % $A),
    'auth_fail', 'log', 'prosody', 'user' || j FROM e;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
t1=$(date +%s.%N)
rows() { sqlite3 "$DB" "SELECT count(*) FROM $1"; }
echo "store=$DB conns=$(rows conns) rollups=$(rows rollups)" \
    "rollups_day=$(rows rollups_day)" \
    "bans=$(rows bans) events=$(rows events)" \
    "size_mb=$(($(stat -c %s "$DB") / 1048576))" \
    "build_s=$(echo "$t1 - $t0" | bc)"

# time WHAT COMMAND...: RUNS runs after one warm-up, output discarded.
time_it() {
	what=$1; shift
	if command -v hyperfine >/dev/null; then
		hyperfine -N -w 1 -r "$RUNS" --export-json "$DIR/h.json" \
		    "$*" >/dev/null 2>&1 || { echo "what=$what failed"; return; }
		python3 - "$what" "$DIR/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))["results"][0]
print("what=%s mean_ms=%.0f min_ms=%.0f max_ms=%.0f runs=%d" % (sys.argv[1],
    r["mean"] * 1000, r["min"] * 1000, r["max"] * 1000, len(r["times"])))
PY
	else
		"$@" >/dev/null || { echo "what=$what failed"; return; }
		s=$(date +%s%N)
		for _ in $(seq "$RUNS"); do "$@" >/dev/null; done
		e=$(date +%s%N)
		echo "what=$what mean_ms=$(((e - s) / RUNS / 1000000)) runs=$RUNS"
	fi
}
R="$XG report -c /dev/null --db $DB"
for f in table json csv html; do
	time_it "report-${DAYS}d-$f" $R --since ${DAYS}d --format $f
done
time_it "report-1d-table" $R --since 1d
time_it "report-${DAYS}d-ip-attacker" $R --since ${DAYS}d --ip 203.0.113.7
time_it "report-${DAYS}d-ip-benign" $R --since ${DAYS}d --ip 2001:db8::7
time_it "report-${DAYS}d-ip-html" $R --since ${DAYS}d --ip 203.0.113.7 \
    --format html
[ "$KEEP" = 1 ] && echo "kept $DB"
exit 0
