#!/usr/bin/env python3
"""Writes a growing ejabberd log for the stress scenarios, at a set rate.

    ejwriter.py LOG --rate R --seconds S [--lines N] [--attackers A-B]
                [--fails K] [--rotations N] [--pool P] [--gen GEN]

The background lines are contrib/bench/gen-ejabberd-log.py's (real
ejabberd 23.01 layout: connections, logins, closes, ~5% failed logins from
random addresses that never connect, so they stay uncorroborated), a pool
of P lines made once and written again and again with the current time.
--attackers names IPv4 addresses (a comma-separated list of addresses and
FIRST-LAST ranges within a /24) that each
write K failed logins, one a second, their starts spread over the first
60% of the run.  --rotations N renames the log N times as logrotate does
(older generations shifted, a new file created at once, the old file
written to for a moment before the writer reopens the name).  Bounded:
about N lines (default R * S; the attackers' come on top) and S seconds.  Says "writing" on
stderr once the pool is made and the clock starts.  Prints one line:
written=N attack_lines=N rotations=N seconds=S.
"""
import argparse
import os
import subprocess
import sys
import time


def attackers(spec):
    if not spec:
        return []
    out = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        head, lo = first.rsplit(".", 1)
        hi = last.rsplit(".", 1)[1] if last else lo
        out += ["%s.%d" % (head, i) for i in range(int(lo), int(hi) + 1)]
    return out


def stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + \
        ".%06d+00:00" % int((t % 1) * 1e6)


def rotate(path, gen):
    for g in range(gen, 0, -1):
        if os.path.exists("%s.%d" % (path, g)):
            os.rename("%s.%d" % (path, g), "%s.%d" % (path, g + 1))
    os.rename(path, path + ".1")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--lines", type=int, default=0)
    ap.add_argument("--attackers", default="")
    ap.add_argument("--fails", type=int, default=6)
    ap.add_argument("--rotations", type=int, default=0)
    ap.add_argument("--pool", type=int, default=200000)
    ap.add_argument("--gen", required=True)
    a = ap.parse_args()
    total = a.lines or int(a.rate * a.seconds)
    pool = subprocess.run([sys.executable, a.gen, str(a.pool)], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    # Lines without their time (the first 32 characters).
    pool = [l[32:] for l in pool if len(l) > 32]
    bad = attackers(a.attackers)
    span = a.seconds * 0.6
    # (time, address) of every attacker's failure, in order.
    plan = sorted((span * i / max(len(bad), 1) + k, ip)
                  for i, ip in enumerate(bad) for k in range(a.fails))
    every = total // (a.rotations + 1) if a.rotations else 0
    fd = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    print("writing", file=sys.stderr, flush=True)
    start = time.monotonic()
    end = start + a.seconds
    written = attack = rot = i = 0
    pid = 900000000
    while written < total and time.monotonic() < end:
        now = time.time()
        ts = stamp(now)
        el = time.monotonic() - start
        batch = min(200, total - written)
        if every and rot < a.rotations:
            batch = min(batch, (rot + 1) * every - written)
        out = []
        for _ in range(batch):
            out.append(ts + pool[i % len(pool)])
            i += 1
        while plan and plan[0][0] <= el:
            ip = plan.pop(0)[1]
            pid += 1
            out.append("%s [warning] <0.%d.0>@ejabberd_c2s:process_auth_result"
                       "/3:280 (tls|<0.%d.0>) Failed c2s PLAIN authentication "
                       "for bot%d@example.org from ::ffff:%s: Invalid username "
                       "or password" % (ts, pid, pid, pid, ip))
            attack += 1
        os.write(fd, ("\n".join(out) + "\n").encode())
        written += len(out)
        if every and rot < a.rotations and written >= (rot + 1) * every:
            rot += 1
            rotate(a.log, rot)
            late = min(50, total - written)
            os.write(fd, "".join(ts + pool[(i + k) % len(pool)] + "\n"
                                 for k in range(late)).encode())
            i += late
            written += late
            os.close(fd)
            fd = os.open(a.log, os.O_WRONLY | os.O_APPEND)
        ahead = written / a.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    os.close(fd)
    print("written=%d attack_lines=%d attack_left=%d rotations=%d "
          "seconds=%.1f" % (written, attack, len(plan), rot,
                            time.monotonic() - start))


if __name__ == "__main__":
    main()
