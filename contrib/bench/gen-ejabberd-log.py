#!/usr/bin/env python3
"""Write a synthetic ejabberd 20.x+ log for the filter benchmarks.

    gen-ejabberd-log.py [--unjoined] [N [OUT]]
                        N lines (default 1000000) to OUT (default: standard
                        output)

The lines copy the layout of Debian 12's ejabberd 23.01 as captured in
tests/filters/ejabberd/ejabberd-23.01.log: accepted connections, successful
logins, session closes, and failed logins (one to three lines per
connection, one per SASL mechanism tried) making about 5% of the lines.
Addresses are IPv4 in ::ffff: form (dual-stack listener) and IPv6, users and
pids vary, timestamps increase.  A fixed seed makes the file the same on
every run.

With --unjoined the same templates are written the way a log looks that
starts mid-stream or that a busy server rotated: most lines name a
connection (an Erlang pid) whose accept line the file does not hold, the
pids are random rather than increasing, the microseconds of consecutive
lines go backwards now and then, and addresses mix ::ffff:a.b.c.d, plain
a.b.c.d and IPv6.  Joins mostly miss; the benchmark and
tests/system/49-testfilter-jobs.sh use it to check that more threads never
make test-filter slower.
"""
import random
import sys
import time

LISTENER = "<0.334.0>@ejabberd_listener:accept/7:273"
MECHS = ("SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN")
REASONS = ("Stream reset by peer", "Connection timed out",
           "Stream closed by peer")


def main():
    args = sys.argv[1:]
    unjoined = len(args) > 0 and args[0] == "--unjoined"
    if unjoined:
        args = args[1:]
    n = int(args[0]) if len(args) > 0 else 1000000
    out = open(args[1], "w") if len(args) > 1 else sys.stdout
    rnd = random.Random(20230101)
    users = ["user%d" % i for i in range(5000)]
    t = 1767225600.0		# 2026-01-01 00:00:00 UTC
    pid = 500
    buf = []
    written = 0

    def stamp():
        s = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
        return "%s.%06d+00:00" % (s, int((t % 1) * 1e6))

    def addr():
        r = rnd.random()
        if unjoined and r < 0.35:
            return "%d.%d.%d.%d" % (rnd.choice((192, 198, 203)),
                                    rnd.randrange(256), rnd.randrange(256),
                                    rnd.randrange(1, 255))
        if r < 0.7:
            return "::ffff:%d.%d.%d.%d" % (rnd.choice((192, 198, 203)),
                                          rnd.randrange(256),
                                          rnd.randrange(256),
                                          rnd.randrange(1, 255))
        return "2001:db8:%x:%x::%x" % (rnd.randrange(65536),
                                       rnd.randrange(65536),
                                       rnd.randrange(1, 65536))

    while written < n:
        pid += 1
        ip = addr()
        p = "<0.%d.0>" % pid
        if unjoined:
            p = "<0.%d.%d>" % (rnd.randrange(1 << 20), rnd.randrange(4))
        port = rnd.randrange(1024, 65536)
        user = rnd.choice(users)
        lines = ["%s [info] %s (%s) Accepted connection [%s]:%d -> "
                 "[::ffff:192.0.2.1]:5222" % ("%s", LISTENER, p, ip, port)]
        if rnd.random() < 0.075:
            for mech in MECHS[3 - rnd.randrange(1, 4):]:
                lines.append(
                    "%s [warning] " + p + "@ejabberd_c2s:process_auth_result"
                    "/3:280 (tls|" + p + ") Failed c2s " + mech +
                    " authentication for " + user + "@example.org from " +
                    ip + ": Invalid username or password")
        else:
            mech = rnd.choice(MECHS)
            lines.append(
                "%s [info] " + p + "@ejabberd_c2s:process_auth_result/3:272 "
                "(tls|" + p + ") Accepted c2s " + mech + " authentication "
                "for " + user + "@example.org by sql backend from " + ip)
            lines.append(
                "%s [info] " + p + "@ejabberd_c2s:process_terminated/2:295 "
                "(tls|" + p + ") Closing c2s session for " + user +
                "@example.org/res" + str(rnd.randrange(100)) + ": " +
                rnd.choice(REASONS))
        if unjoined and rnd.random() < 0.9:
            # The accept line was before the file began.
            lines = lines[1:]
        for l in lines:
            if written >= n:
                break
            t += rnd.random() * 0.002
            if unjoined and rnd.random() < 0.2:
                t -= rnd.random() * 0.0005	# out of order
            buf.append(l % stamp() if l.startswith("%s") else l)
            written += 1
        if len(buf) >= 10000:
            out.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        out.write("\n".join(buf) + "\n")
    out.close()


if __name__ == "__main__":
    main()
