#!/usr/bin/env python3
"""Asserts on one replay of a generated hour (tests/tools/gen-hour.py):
what xmppguard would have done, verdict by verdict and absence by absence.

Usage: check.py OUTDIR REPLAY.json REPLAY.err
  OUTDIR       the generator's (manifest.json, conntrack.txt)
  REPLAY.json  `xmppguard replay --json` on it
  REPLAY.err   its standard error (the summary)

The NAT address (150 accounts logging in) and its /24 must get no verdict:
account-aware limits raise their budgets.
"""
import ipaddress
import json
import os
import re
import sys

outdir, jpath, epath = sys.argv[1:4]
m = json.load(open(os.path.join(outdir, "manifest.json")))
rows = [json.loads(line) for line in open(jpath)]
err = open(epath).read()
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def net(r):
    return ipaddress.ip_network(r["address"])


def covers(r, addr):
    return ipaddress.ip_address(addr) in net(r)


def us(t):
    """An RFC 3339 time of replay's (UTC, microseconds) in us."""
    d, frac = t.rstrip("Z").split(".")
    import calendar
    import time
    s = calendar.timegm(time.strptime(d, "%Y-%m-%dT%H:%M:%S"))
    return s * 1000000 + int(frac)


# Every verdict printed is a ban (nothing here is allowlisted), its
# address the verdict's (no [ban] prefix4 widening in the defaults).
for r in rows:
    check(r["ban"] is not None, "a verdict without a ban: %s" % r)
    if r["ban"] is not None:
        check(r["ban"]["address"] == r["address"], "ban elsewhere: %s" % r)
bans = [(net(r), us(r["time"]), us(r["ban"]["until"]), r) for r in rows
        if r["ban"] is not None]

# No verdict for a prefix inside a ban in force at its time: judged once
# per ban.
for n, since, until, r in bans:
    for n2, t2, _, r2 in bans:
        if since < t2 < until and n2.version == n.version and \
                n2.subnet_of(n):
            check(False, "judged again inside a ban in force: %s "
                  "(ban of %s until %s)" % (r2, r["address"],
                                            r["ban"]["until"]))

# The bot: judged, and nothing covering it while a ban covering it is in
# force.
bot = [b for b in bans if covers(b[3], m["bot"])]
check(len(bot) >= 1, "the churn bot was not judged")
check(any(b[3]["rule"] == "churn" for b in bot), "the bot: no churn verdict")
for _, since, until, r in bot:
    for _, t2, _, r2 in bot:
        check(not (since < t2 < until), "the bot judged again while "
              "banned: %s during %s" % (r2, r))

# The guesser: judged for its failed logins, each ban escalated.
g = [b[3] for b in bans if b[3]["address"] == m["guesser"] + "/32"]
check(any(r["rule"] == "auth" for r in g), "the guesser was not judged")
steps = [r["ban"]["step"] for r in g]
check(steps == list(range(1, len(steps) + 1)), "guesser's steps %s" % steps)
for r in g:
    want = 600 * 4 ** (r["ban"]["step"] - 1)
    check(r["ban"]["duration"] == min(want, 7 * 86400),
          "the guesser's ban %d lasts %ds" % (r["ban"]["step"],
                                             r["ban"]["duration"]))

# Nobody else: no verdict covering an ordinary client or the federation
# peer.
for addr in m["clients"] + [m["peer"]]:
    for r in rows:
        check(not covers(r, addr), "a verdict covering %s: %s" % (addr, r))

# The NAT (and its /24, the neighbours): no verdict covering them, its
# accounts having raised their budgets.
nat24 = ipaddress.ip_network(m["nat"] + "/24", strict=False)
for r in rows:
    check(not (net(r).version == 4 and net(r).overlaps(nat24)),
          "a verdict covering the NAT or its /24: %s" % r)

# The summary: every connection counted, closed or not; the connections
# refused are the capture's flows that began inside a ban in force (the
# bot's, the guesser's); the bans ended live ones ([ban]
# kill_established).
s = re.search(r" (\d+) connections, (\d+) verdicts", err)
check(s is not None and int(s[1]) == m["connections"],
      "summary connections: %s, want %d" % (s and s[1], m["connections"]))
s = re.search(r"replay: (\d+) bans \((\d+) escalated, (\d+) extended\), "
              r"(\d+) connections refused, (\d+) log events refused", err)
check(s is not None, "no ban summary in: %s" % err)
if s is not None:
    check(int(s[1]) == sum(1 for b in bans if not b[3]["ban"]["extended"]),
          "bans in the summary: %s" % s[1])
    check(int(s[5]) > 0, "no log line refused")
    k = re.search(r" (\d+) live connections ended", err)
    check(k is not None and int(k[1]) > 0, "no live connection ended")
    refused = 0
    for line in open(os.path.join(outdir, "conntrack.txt")):
        if "[NEW]" not in line:
            continue
        t = re.match(r"\[(\d+)\.(\d+)\]", line)
        t = int(t[1]) * 1000000 + int(t[2])
        a = ipaddress.ip_address(re.search(r"src=(\S+)", line)[1])
        if any(a in n and since < t < until for n, since, until, _ in bans):
            refused += 1
    check(int(s[4]) == refused, "connections refused: %s, the capture's "
          "flows begun inside a ban: %d" % (s[4], refused))

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
