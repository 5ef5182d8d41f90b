#!/usr/bin/env python3
"""One hour on an ejabberd server, as a conntrack capture and the server's
log, for `xmppguard replay`: a held-out style scenario of our own.

Writes into OUTDIR:
  conntrack.txt   what `conntrack -E -o timestamp,extended,id` prints
                  (the line shapes of tests/fixtures/conntrack)
  ejabberd.log    ejabberd 23.01's line shapes (tests/filters/ejabberd)
  manifest.json   who is who: the addresses of each role, the accounts,
                  the connections written, for the tests to assert on

Who is in the hour (all times from 12:00:00 UTC, 2026-11-29):
  nat       198.51.100.10: 150 accounts behind one address, each logging
            in successfully 4 times (600 connections, about 50 at once)
  neighbour 198.51.100.20 and .21, in the NAT's /24: ordinary users
  bot       203.0.113.77: a churn bot, 900 connections, no login
  guesser   203.0.113.50: one failed login per connection, 240 of them
  client    24 ordinary users (IPv4 in 198.18.5.0/24, IPv6 each in its
            own /64), a few logins each, now and then a wrong password
  peer      198.18.9.9: a federation peer, s2s on 5269, its streams
            authenticated (SASL EXTERNAL)

Deterministic: the same seed writes the same files.  Python 3, standard
library only.

Usage: python3 tests/tools/gen-hour.py [--seed N] OUTDIR
"""
import argparse
import calendar
import json
import os
import random
import sys

sys.dont_write_bytecode = True    # nothing written into the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xmpphour import (CLOSING, accepted, ct_line,  # noqa: E402
                      destroy_line, flow, logaddr, stamp)

START = calendar.timegm((2026, 11, 29, 12, 0, 0))
HOUR = 3600 * 1000000
C2S, S2S = 5222, 5269

NAT = "198.51.100.10"
NEIGHBOURS = ["198.51.100.20", "198.51.100.21"]
BOT = "203.0.113.77"
GUESSER = "203.0.113.50"
PEER = "198.18.9.9"
# .2 and .10 among them: sorted as text, .10 would come first.
CLIENTS4 = ["198.18.5.%d" % i for i in range(2, 14)]
CLIENTS6 = ["2001:db8:77:%x::1" % i for i in range(1, 13)]


class Hour:
    """The two outputs, as (time in us, sequence, line), sorted at the
    end; and what is needed to make connections unique."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.ct = []
        self.log = []
        self.seq = 0
        self.pid = 600
        self.ids = set()
        self.conns = 0
        self.by_role = {}

    def add(self, lst, t, text):
        self.seq += 1
        lst.append((t, self.seq, text))

    def write(self, outdir, manifest):
        for name, lst in (("conntrack.txt", self.ct),
                          ("ejabberd.log", self.log)):
            with open(os.path.join(outdir, name), "w") as f:
                for _, _, text in sorted(lst):
                    f.write(text + "\n")
        with open(os.path.join(outdir, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")


class Conn:
    """One TCP connection: its conntrack events and its ejabberd lines."""

    def __init__(self, h, role, addr, t, port=C2S):
        self.h = h
        h.conns += 1
        h.by_role[role] = h.by_role.get(role, 0) + 1
        rng = h.rng
        self.addr = addr
        self.sport = rng.randrange(32768, 61000)
        while True:
            self.id = rng.randrange(1, 1 << 32)
            if self.id not in h.ids:
                h.ids.add(self.id)
                break
        self.pid = "<0.%d.0>" % h.pid
        h.pid += 1
        self.t = t
        self.sent = rng.randrange(900, 4000)
        self.recv = rng.randrange(2000, 9000)
        self.head, self.orig, self.reply = flow(addr, self.sport, port)
        self.proc = "ejabberd_s2s_in" if port == S2S else "ejabberd_c2s"
        self.tls = "tls"
        self.ct(t, "    [NEW]", "120 SYN_SENT %s [UNREPLIED] %s")
        self.ct(t + 40, " [UPDATE]", "60 SYN_RECV %s %s")
        self.ct(t + 85, " [UPDATE]", "432000 ESTABLISHED %s %s [ASSURED]")
        self.now = t + rng.randrange(600, 2500)
        h.add(h.log, self.now, "%s [info] <0.334.0>@ejabberd_listener:"
              "accept/7:273 (%s) Accepted connection %s" % (
                  stamp(self.now), self.pid,
                  accepted(addr, self.sport, port)))

    def ct(self, t, kind, rest):
        self.h.add(self.h.ct, t, ct_line(t, kind, self.head, rest % (
            self.orig, self.reply), self.id))

    def line(self, dt, level, where, text):
        """A line of this connection's process, dt seconds on."""
        self.now += round(dt * 1000000)
        self.h.add(self.h.log, self.now, "%s [%s] %s@%s:%s (%s|%s) %s" % (
            stamp(self.now), level, self.pid, self.proc, where, self.tls,
            self.pid, text))

    def fail(self, dt, mech, user):
        self.line(dt, "warning", "process_auth_result/3:280",
                  "Failed c2s %s authentication for %s@example.org from %s: "
                  "Invalid username or password" % (mech, user,
                                                    logaddr(self.addr)))

    def login(self, dt, user, resource):
        self.line(dt, "info", "process_auth_result/3:272",
                  "Accepted c2s SCRAM-SHA-1-PLUS authentication for "
                  "%s@example.org by mnesia backend from %s" % (
                      user, logaddr(self.addr)))
        self.line(0.002, "info", "bind/2:450", "Opened c2s session for "
                  "%s@example.org/%s" % (user, resource))

    def close(self, dt, text=None):
        """The client goes; the flow is destroyed after TIME_WAIT."""
        rng = self.h.rng
        self.now += round(dt * 1000000)
        if text is not None:
            self.line(0.0004, "info", "process_terminated/2:295", text)
        t = self.now + 300
        for dt, kind, rest in CLOSING:
            self.ct(t + dt, kind, rest)
        end = t + 120 * 1000000 + rng.randrange(0, 900000)
        self.h.add(self.h.ct, end, destroy_line(
            end, self.head, self.orig, self.reply, self.sent, self.recv,
            self.t, self.id))


def session(h, role, addr, user, t, stay, typo=False):
    """A user's client: STARTTLS, SCRAM; with a typo, one failed attempt
    (its three mechanisms on one connection) and a retry 20 s later."""
    if typo:
        c = Conn(h, role, addr, t)
        for mech in ("SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"):
            c.fail(0.02, mech, user)
        c.close(0.3)
        t += 20 * 1000000
    c = Conn(h, role, addr, t)
    res = "r%04x" % h.rng.randrange(1 << 16)
    c.login(0.05, user, res)
    c.close(stay, "Closing c2s session for %s@example.org/%s: Stream reset "
            "by peer" % (user, res))


def uniform(h, n, lo=0, hi=HOUR):
    return sorted(h.rng.randrange(lo, hi) for _ in range(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("outdir")
    a = ap.parse_args()
    h = Hour(a.seed)
    t0 = START * 1000000
    rng = h.rng

    # The NAT: 150 accounts, 4 logins each, staying about 5 minutes, so
    # about 50 connections at once.
    accounts = ["nat%03d" % i for i in range(150)]
    for user in accounts:
        for t in uniform(h, 4, 0, HOUR - 6 * 60 * 1000000):
            session(h, "nat", NAT, user, t0 + t,
                    rng.uniform(240, 360))
    # Its neighbours and the ordinary clients: a few logins each, now and
    # then a mistyped password first.
    clients = []
    for i, addr in enumerate(NEIGHBOURS + CLIENTS4 + CLIENTS6):
        role = "neighbour" if addr in NEIGHBOURS else "client"
        user = "user%02d" % i
        clients.append(addr)
        for t in uniform(h, rng.randrange(1, 5), 0, HOUR - 30 * 60 *
                         1000000):
            session(h, role, addr, user, t0 + t, rng.uniform(60, 1800),
                    typo=rng.random() < 0.2)
    # The churn bot: 900 connections, 4 s apart give or take, each closed
    # at once, without a word of XMPP.
    for k in range(900):
        c = Conn(h, "bot", BOT, t0 + k * 4000000 + rng.randrange(0, 500000))
        c.tls = "tcp"
        c.close(rng.uniform(0.2, 1.5))
    # The guesser: a connection every 15 s, one wrong password on each.
    for k in range(240):
        c = Conn(h, "guesser", GUESSER, t0 + k * 15000000 +
                 rng.randrange(0, 300000))
        c.tls = "tcp"
        c.fail(0.03, "PLAIN", rng.choice(("admin", "root", "test", "info",
                                          "support", "alice")))
        c.close(0.2)
    # The federation peer: two streams, authenticated, for the hour, and
    # a third that reconnects half-way.
    for t, stay in ((5, 3500), (9, 3480), (1800, 1700)):
        c = Conn(h, "peer", PEER, t0 + t * 1000000, S2S)
        c.line(0.08, "info", "handle_auth_success/4:183",
               "Accepted inbound s2s SASL EXTERNAL authentication "
               "peer.example -> example.org (%s)" % logaddr(PEER))
        c.close(stay, "Closing inbound s2s connection peer.example -> "
                "example.org: Stream reset by peer")

    os.makedirs(a.outdir, exist_ok=True)
    h.write(a.outdir, {
        "seed": a.seed,
        "start": START,
        "connections": h.conns,
        "by_role": h.by_role,
        "nat": NAT,
        "nat_accounts": len(accounts),
        "neighbours": NEIGHBOURS,
        "bot": BOT,
        "guesser": GUESSER,
        "clients": [c for c in clients if c not in NEIGHBOURS],
        "peer": PEER,
    })


if __name__ == "__main__":
    main()
