#!/usr/bin/python3
"""Drive a jabberd2 2.7 c2s for the xmppguard filter fixtures.

Run inside the capture namespace by capture.sh:  drive.py PHASE
  v4      c2s listens on 192.0.2.1 (c2s-2.7.0.log)
  v6      c2s listens on :: (c2s-2.7.0-dualstack.log), IPv6 and IPv4
          clients
  syslog  c2s logs through syslog(3) (c2s-2.7.0-rsyslog.log and
          c2s-2.7.0-journal.log)

SASL logins and floods after login with slixmpp; legacy iq:auth
(XEP-0078), registrations (slixmpp 1.8.3 holds the in-band registration
iq back until a session exists: "NOT SENT"), SASL retries on one
connection, churn, bursts and floods before login with raw sockets.
Every step is bounded in count and time and prints what it did, so the
README and the .expect files can be checked against it.
"""
import asyncio
import base64
import logging
import socket
import ssl
import sys
import time

import slixmpp

DOMAIN = "example.org"
SRC = None                      # source address of the next slixmpp client
STEP_TIMEOUT = 8                # seconds per slixmpp client


def say(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def bind_sources(loop):
    """slixmpp cannot choose a source address: give it one."""
    orig = loop.create_connection

    async def create_connection(*a, **kw):
        if SRC is not None:
            kw["local_addr"] = (SRC, 0)
        return await orig(*a, **kw)
    loop.create_connection = create_connection


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, mech=None, flood=None):
        super().__init__(jid, password)
        self.result = "timeout"
        self.flood = flood
        mechs = self["feature_mechanisms"]
        mechs.unencrypted_plain = True
        mechs.unencrypted_digest = True
        if mech is not None:
            mechs.use_mech = mech
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_all_auth", self.on_fail)
        self.done = asyncio.Event()

    async def on_start(self, event):
        self.result = "session"
        if self.flood == "stanzas":
            for i in range(30):
                self.send_message(mto="echo@" + DOMAIN, mbody="m%d" % i)
            await asyncio.sleep(1.5)
        elif self.flood == "bytes":
            for i in range(4):
                self.send_message(mto="echo@" + DOMAIN, mbody="B" * 9000)
            await asyncio.sleep(1.5)
        self.done.set()

    def on_fail(self, event):
        self.result = "auth-failed"
        self.done.set()


async def xmpp(src, user, password, mech=None, flood=None, linger=False,
               tls=False):
    """One slixmpp connection from src; returns what happened."""
    global SRC
    SRC = src
    c = Client("%s@%s" % (user, DOMAIN), password, mech, flood)
    if tls:
        # capture.sh's throwaway self-signed certificate
        c.ssl_context.check_hostname = False
        c.ssl_context.verify_mode = ssl.CERT_NONE
    c.connect(("192.0.2.1" if ":" not in src else "2001:db8::1", 5222),
              force_starttls=tls, disable_starttls=not tls)
    try:
        await asyncio.wait_for(c.done.wait(), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        pass
    if not linger:
        c.disconnect()
        try:
            await asyncio.wait_for(c.disconnected, 3)
        except asyncio.TimeoutError:
            c.abort()
    else:
        c.abort()       # drop the socket: the server must notice itself
    await asyncio.sleep(0.3)
    say("slixmpp", src, user, password, "mech=%s" % (mech or "best"),
        flood or "", "starttls" if tls else "", "->", c.result)
    return c.result


HEADER = ("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client'"
          " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
          % DOMAIN).encode()


def server_for(src):
    return ("2001:db8::1" if ":" in src else "192.0.2.1", 5222)


def raw(src, stanzas, pause=0.3, flood=None):
    """A raw stream from src: header, then each stanza, then close."""
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind((src, 0))
    s.connect(server_for(src))
    got = []

    def rd():
        try:
            got.append(s.recv(65536).decode(errors="replace"))
        except OSError:
            pass
    try:
        s.sendall(HEADER)
        rd()
        time.sleep(0.2)
        rd()
        for st in stanzas:
            s.sendall(st.encode())
            time.sleep(pause)
            rd()
        if flood is not None:
            for chunk in flood:
                s.sendall(chunk)
                time.sleep(0.02)
            time.sleep(0.5)
            rd()
    except OSError as e:
        got.append("error: %s" % e)
    s.close()
    return "".join(got)


def legacy(user, password=None, digest=None, resource="laptop"):
    q = "<username>%s</username>" % user
    if digest is not None:
        q += "<digest>%s</digest>" % digest
    if password is not None:
        q += "<password>%s</password>" % password
    q += "<resource>%s</resource>" % resource
    return ("<iq type='set' id='auth1'><query xmlns='jabber:iq:auth'>%s"
            "</query></iq>" % q)


def register_iq(user, password=None):
    q = "<username>%s</username>" % user
    if password is not None:
        q += "<password>%s</password>" % password
    return ("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'>%s"
            "</query></iq>" % q)


def register(src, user, password):
    r = raw(src, [register_iq(user, password)], pause=0.8)
    say("raw", src, "register", user, "->",
        "ok" if "type='result'" in r else
        "conflict" if "conflict" in r else "?")


def connect_close(src, n, pause):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    for i in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(3)
        s.bind((src, 0))
        try:
            s.connect(server_for(src))
        except OSError as e:
            say("connect", src, i, e)
        s.close()
        time.sleep(pause)
    say("churn", src, n, "connect+close, pause", pause)


def sasl_plain(user, password):
    v = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
    return ("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
            "mechanism='PLAIN'>%s</auth>" % v)


BAD_DIGEST = "0123456789abcdef0123456789abcdef01234567"


async def phase_v4():
    # Registrations: three good ones, then failures.
    register("203.0.113.20", "alice", "alice-pw")
    register("203.0.113.20", "bob", "bob-pw")
    register("203.0.113.20", "carol", "carol-pw")
    register("203.0.113.21", "alice", "other-pw")
    r = raw("203.0.113.21", [register_iq("bad user", "x"),
                             register_iq("dave")])
    say("raw 203.0.113.21 register 'bad user', dave without password ->",
        "jid-malformed" in r, "bad-request" in r)

    # Good logins, SASL.
    await xmpp("198.51.100.10", "alice", "alice-pw", mech="PLAIN")
    await xmpp("198.51.100.10", "alice", "alice-pw", mech="DIGEST-MD5")
    await xmpp("198.51.100.10", "bob", "bob-pw")
    await xmpp("198.51.100.10", "carol", "carol-pw", tls=True)

    # Wrong passwords and an unknown user, SASL: slixmpp tries
    # DIGEST-MD5, then PLAIN, on one connection.
    await xmpp("198.51.100.11", "alice", "wrong1")
    await xmpp("198.51.100.11", "alice", "wrong2")
    await xmpp("198.51.100.11", "mallory", "guess")
    # Raw SASL: three wrong PLAIN tries on one connection.
    r = raw("198.51.100.11", [sasl_plain("bob", "a"), sasl_plain("bob", "b"),
                              sasl_plain("bob", "c")])
    say("raw 198.51.100.11 SASL PLAIN bob x3 ->", r.count("<failure"),
        "failures")

    # Legacy iq:auth (XEP-0078): failures are logged, with address.
    r = raw("198.51.100.11", [legacy("alice", password="wrong3")])
    say("raw 198.51.100.11 iq:auth alice password ->", "code='401'" in r)
    r = raw("198.51.100.11", [legacy("alice", digest=BAD_DIGEST)])
    say("raw 198.51.100.11 iq:auth alice digest ->", "code='401'" in r)
    r = raw("198.51.100.11", [legacy("bob", password="x1"),
                              legacy("bob", digest=BAD_DIGEST,
                                     password="x2")])
    say("raw 198.51.100.11 iq:auth bob password, then digest+password ->",
        r.count("code='401'"))
    r = raw("198.51.100.11", [legacy("carol", password="wrong9",
                                     resource="my laptop")])
    say("raw 198.51.100.11 iq:auth carol, resource 'my laptop' ->",
        "code='401'" in r)
    r = raw("198.51.100.11", [legacy("mallory", password="x")])
    say("raw 198.51.100.11 iq:auth mallory (unknown) ->", "code='401'" in r)
    r = raw("198.51.100.10", [legacy("bob", password="bob-pw")], pause=0.6)
    say("raw 198.51.100.10 iq:auth bob good password ->",
        "type='result'" in r)

    # Rate limits after login: the line names the user, not the address.
    await xmpp("198.51.100.10", "alice", "alice-pw", flood="stanzas")
    await xmpp("198.51.100.10", "bob", "bob-pw", flood="bytes", linger=True)

    # Rate limits and an oversized stanza before login.
    r = raw("198.51.100.12", ["<iq type='get' id='p%d'><query "
                              "xmlns='jabber:iq:register'/></iq>" % i
                              for i in range(30)], pause=0.01)
    say("raw 198.51.100.12 30 iq in 0.3s")
    # Whitespace alone would count as one endless stanza and hit the
    # stanza size cap first: pad four small stanzas instead.
    raw("198.51.100.12", [], flood=[b"<iq type='get' id='b%d'>" % i +
                                    b" " * 8000 + b"<query xmlns="
                                    b"'jabber:iq:register'/></iq>"
                                    for i in range(4)])
    say("raw 198.51.100.12 4 stanzas of 8 kB in 0.1s")
    raw("198.51.100.12", [], flood=[b"<message to='x@example.org'><body>" +
                                    b"A" * 20000 + b"</body></message>"])
    say("raw 198.51.100.12 one 20 kB stanza (limit 16384)")

    # Churn below the connect limit, then a burst above it.
    connect_close("203.0.113.21", 20, 0.8)
    connect_close("203.0.113.22", 12, 0.05)
    # c2s drops idle connections after 15 s, checked every 5 s.
    say("waiting for the idle check")
    await asyncio.sleep(25)


async def phase_v6():
    register("2001:db8:1::10", "erin", "erin-pw")
    register("2001:db8:1::11", "erin", "erin-pw2")
    await xmpp("2001:db8:1::10", "bob", "bob-pw")
    await xmpp("198.51.100.10", "alice", "alice-pw")
    await xmpp("2001:db8:1::11", "alice", "wrong4")
    r = raw("2001:db8:1::11", [legacy("alice", password="wrong5")])
    say("raw 2001:db8:1::11 iq:auth alice password ->", "code='401'" in r)
    r = raw("198.51.100.11", [legacy("bob", password="wrong6")])
    say("raw 198.51.100.11 iq:auth bob password ->", "code='401'" in r)
    await xmpp("2001:db8:1::10", "erin", "erin-pw", flood="stanzas")
    connect_close("2001:db8:1::11", 12, 0.05)


async def phase_syslog():
    register("203.0.113.20", "frank", "frank-pw")
    await xmpp("198.51.100.10", "frank", "frank-pw", mech="PLAIN")
    await xmpp("198.51.100.11", "frank", "wrong7")
    r = raw("198.51.100.11", [legacy("frank", password="wrong8")])
    say("raw 198.51.100.11 iq:auth frank password ->", "code='401'" in r)
    r = raw("198.51.100.12", ["<iq type='get' id='p%d'><query "
                              "xmlns='jabber:iq:register'/></iq>" % i
                              for i in range(30)], pause=0.01)
    say("raw 198.51.100.12 30 iq in 0.3s")
    connect_close("203.0.113.22", 10, 0.05)


async def main(phase):
    logging.basicConfig(level=logging.ERROR)
    bind_sources(asyncio.get_running_loop())
    await {"v4": phase_v4, "v6": phase_v6, "syslog": phase_syslog}[phase]()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
