#!/usr/bin/python3
"""Real XMPP clients for the end-to-end tests and for `make demo`.

Every client binds the source address it is given (the namespaces hold
documentation addresses only), trusts the server's self-signed
certificate, never resolves DNS, and is bounded in time.  Each command
prints what happened, one line per step, and exits 0 only when things
went the way its name says.

  xmpp.py chat  --server IP --domain D --a SRC:USER:PASS --b SRC:USER:PASS
                [--seconds MAX] [--stop-file F] [--ready-file F]
                [--progress-file F]
      Two users log in and write to each other every second (one message
      each way per round) until the stop file appears or MAX seconds have
      passed; then every message must have arrived and neither session
      may have been cut.  Prints "chat: rounds=N sent=N received=N lost=N
      disconnects=N".  The progress file holds the number of messages
      received so far, rewritten every round.
  xmpp.py guess --server IP --domain D --src SRC --user USER
                [--attempts N]
      N logins with wrong passwords, one connection each (slixmpp tries
      every SASL mechanism offered on it, as real clients do).  Exit 0 if
      every attempt was refused by the server.  Prints "guess:
      results=R,R,..." where R is auth-failed (the server said no), cut
      (the connection ended before an answer), timeout or connect-failed.
  xmpp.py churn --server IP --src SRC [--count N]
      N connections that open an XMPP stream, read the stream features
      and close, one after another; stops at the first that fails.
      Prints "churn: ok=N failed=N"; exit 0 if all N went through.
  xmpp.py probe --server IP --src SRC [--timeout S]
      One connection that opens a stream: exit 0 if the server answered
      with its features within S seconds, 1 if not (e.g. banned).
  xmpp.py login --server IP --domain D --src SRC --user USER --password P
      One good login: exit 0 if the session started.
"""

import argparse
import asyncio
import logging
import os
import socket
import ssl
import sys
import time

import slixmpp

PORT = 5222
TIMEOUT = 15


def say(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def bind_loop(loop):
    """slixmpp cannot bind a source address: wrap the loop's
    create_connection so that each client's connection (its protocol
    factory returns the client itself) binds the client's xg_src.  The
    STARTTLS upgrade passes a socket, not an address, and is left alone.
    """
    orig = loop.create_connection

    async def cc(factory, host=None, port=None, **kw):
        proto = factory()
        src = getattr(proto, "xg_src", None)
        if src is not None and "sock" not in kw:
            kw["local_addr"] = (src, 0)
        return await orig(lambda: proto, host, port, **kw)

    loop.create_connection = cc


class Client(slixmpp.ClientXMPP):
    """A client bound to src, talking to server:port, no DNS."""

    def __init__(self, jid, password, src, server, port=PORT):
        super().__init__(jid, password)
        self.xg_src = src
        self.xg_server = server
        self.xg_port = port
        self.result = None
        self.started = asyncio.Event()
        self.gone = asyncio.Event()
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.reconnect_max_attempts = 0
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_all_auth", self.on_fail)
        self.add_event_handler("connection_failed", self.on_conn_failed)
        self.add_event_handler("disconnected", self.on_gone)

    async def get_dns_records(self, domain, port=None):
        return [(self.xg_server, self.xg_server, self.xg_port)]

    def on_start(self, _):
        self.result = "logged-in"
        self.send_presence()
        self.started.set()

    def on_fail(self, _):
        self.result = "auth-failed"
        self.disconnect()

    def on_conn_failed(self, err):
        self.result = "connect-failed: %s" % err
        self.abort()
        self.gone.set()

    def on_gone(self, _):
        if self.result is None:
            self.result = "cut"
        self.gone.set()

    def go(self):
        self.connect((self.xg_server, self.xg_port))


async def once(jid, password, src, server, port=PORT, timeout=TIMEOUT):
    """One login attempt; returns its result."""
    c = Client(jid, password, src, server, port)
    c.go()
    waits = [asyncio.ensure_future(c.started.wait()),
             asyncio.ensure_future(c.gone.wait())]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done:
            c.result = "timeout"
    finally:
        for w in waits:
            w.cancel()
        if c.started.is_set():
            c.disconnect()
            try:
                await asyncio.wait_for(c.gone.wait(), 5)
            except asyncio.TimeoutError:
                pass
        c.abort()
    return c.result


def cmd_login(a, loop):
    r = loop.run_until_complete(once("%s@%s" % (a.user, a.domain),
                                     a.password, a.src, a.server, a.port))
    say("login %s@%s from %s: %s" % (a.user, a.domain, a.src, r))
    return 0 if r == "logged-in" else 1


def cmd_guess(a, loop):
    results = []
    for i in range(a.attempts):
        r = loop.run_until_complete(once(
            "%s@%s" % (a.user, a.domain), "wrong-%d" % i, a.src, a.server,
            a.port, timeout=a.timeout))
        say("guess %d/%d %s@%s from %s: %s" % (i + 1, a.attempts, a.user,
                                               a.domain, a.src, r))
        results.append(r.split(":")[0])
        time.sleep(a.pause)
    say("guess: results=%s" % ",".join(results))
    return 0 if all(r == "auth-failed" for r in results) else 1


STREAM = ("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
          "xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams'>")


def stream_open(src, server, port, domain, timeout):
    """Connect, open a stream, read the features, close: True if the
    features came."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    buf = b""
    try:
        s.bind((src, 0))
        s.connect((server, port))
        s.sendall((STREAM % domain).encode())
        end = time.monotonic() + timeout
        while b"</stream:features>" not in buf and time.monotonic() < end:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        if b"</stream:features>" in buf:
            s.sendall(b"</stream:stream>")
    except OSError:
        pass
    finally:
        s.close()
    return b"</stream:features>" in buf


def cmd_churn(a, loop):
    ok = failed = 0
    for i in range(a.count):
        if stream_open(a.src, a.server, a.port, a.domain, a.timeout):
            ok += 1
        else:
            failed += 1
            say("churn: connection %d from %s got no answer" % (i + 1, a.src))
            break
    say("churn: ok=%d failed=%d" % (ok, failed))
    return 0 if failed == 0 else 1


def cmd_probe(a, loop):
    ok = stream_open(a.src, a.server, a.port, a.domain, a.timeout)
    say("probe from %s: %s" % (a.src, "answered" if ok else
                                "no answer within %gs" % a.timeout))
    return 0 if ok else 1


async def chat(a):
    users = []
    for spec in (a.a, a.b):
        src, user, pw = spec.split(":", 2)
        c = Client("%s@%s/e2e" % (user, a.domain), pw, src, a.server,
                   a.port)
        c.got = {}
        c.cuts = 0
        users.append(c)
    A, B = users

    def on_message(c):
        def h(msg):
            if msg["type"] in ("chat", "normal") and msg["body"]:
                c.got[msg["body"]] = time.monotonic()
        return h

    def on_cut(c):
        def h(_):
            if not getattr(c, "leaving", False):
                c.cuts += 1
                say("chat: %s was disconnected" % c.boundjid.bare)
        return h

    for c in users:
        c.add_event_handler("message", on_message(c))
        c.add_event_handler("disconnected", on_cut(c))
        c.go()
    try:
        await asyncio.wait_for(asyncio.gather(A.started.wait(),
                                              B.started.wait()), TIMEOUT)
    except asyncio.TimeoutError:
        say("chat: login failed: %s %s" % (A.result, B.result))
        return 1
    say("chat: %s (%s) and %s (%s) logged in" % (A.boundjid.bare, A.xg_src,
                                                 B.boundjid.bare, B.xg_src))
    if a.ready_file:
        open(a.ready_file, "w").close()
    sent = {A: [], B: []}
    end = time.monotonic() + a.seconds
    rounds = 0
    while time.monotonic() < end:
        if a.progress_file:
            # Replaced whole, so that a reader never sees half of it.
            with open(a.progress_file + ".tmp", "w") as f:
                f.write("%d\n" % (len(A.got) + len(B.got)))
            os.rename(a.progress_file + ".tmp", a.progress_file)
        if a.stop_file and os.path.exists(a.stop_file):
            break
        rounds += 1
        for frm, to in ((A, B), (B, A)):
            body = "%s round %d" % (frm.boundjid.user, rounds)
            frm.send_message(mto=to.boundjid.full, mbody=body, mtype="chat")
            sent[to].append((body, time.monotonic()))
        if rounds % 10 == 0:
            say("chat: round %d, %d messages received so far" %
                (rounds, len(A.got) + len(B.got)))
        await asyncio.sleep(1)
    # What is in flight arrives well within 5 s on a live session.
    for i in range(50):
        if all(body in c.got for c in users for body, _ in sent[c]):
            break
        await asyncio.sleep(0.1)
    total = sum(len(v) for v in sent.values())
    got = sum(1 for c in users for body, _ in sent[c] if body in c.got)
    lat = [c.got[body] - t for c in users for body, t in sent[c]
           if body in c.got]
    cuts = A.cuts + B.cuts
    for c in users:
        c.leaving = True
        c.disconnect()
    await asyncio.sleep(0.5)
    say("chat: rounds=%d sent=%d received=%d lost=%d disconnects=%d "
        "max_latency_ms=%d" % (rounds, total, got, total - got, cuts,
                               max(lat) * 1000 if lat else -1))
    return 0 if got == total and cuts == 0 and rounds > 0 else 1


def cmd_chat(a, loop):
    return loop.run_until_complete(chat(a))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--server", required=True)
        sp.add_argument("--port", type=int, default=PORT)
        sp.add_argument("--domain", default="example.org")
        sp.add_argument("--timeout", type=float, default=TIMEOUT)

    sp = sub.add_parser("chat")
    common(sp)
    sp.add_argument("--a", required=True)
    sp.add_argument("--b", required=True)
    sp.add_argument("--seconds", type=float, default=120)
    sp.add_argument("--stop-file")
    sp.add_argument("--ready-file")
    sp.add_argument("--progress-file")
    sp = sub.add_parser("guess")
    common(sp)
    sp.add_argument("--src", required=True)
    sp.add_argument("--user", required=True)
    sp.add_argument("--attempts", type=int, default=6)
    sp.add_argument("--pause", type=float, default=0.2)
    sp = sub.add_parser("churn")
    common(sp)
    sp.add_argument("--src", required=True)
    sp.add_argument("--count", type=int, default=30)
    sp = sub.add_parser("probe")
    common(sp)
    sp.add_argument("--src", required=True)
    sp = sub.add_parser("login")
    common(sp)
    sp.add_argument("--src", required=True)
    sp.add_argument("--user", required=True)
    sp.add_argument("--password", required=True)
    a = p.parse_args()
    logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    bind_loop(loop)
    return globals()["cmd_" + a.cmd](a, loop)


if __name__ == "__main__":
    sys.exit(main())
