#!/usr/bin/python3
"""Drive the ejabberd of capture.sh (run inside its namespace).

    python3 drive.py main      the scenarios of ejabberd-23.01.log
    python3 drive.py hidden    the shorter run of ejabberd-23.01-hidden.log

Real clients are slixmpp (STARTTLS, then SASL: on a wrong password it tries
its next mechanism on the same connection, as real clients do).  Raw
sockets do what slixmpp will not: plaintext PLAIN retries, malformed SASL,
in-band registration, oversized stanzas, bare TCP churn, s2s.  Every step
is bounded in time; the scenarios run one after another so the log is in
the order of the manifest in README.
"""
import asyncio
import base64
import logging
import re
import socket
import ssl
import sys
import time

import slixmpp

DOMAIN = "example.org"
V4 = "192.0.2.1"
V6 = "2001:db8::1"
DUAL = 5222		# listens on "::": IPv4 clients are ::ffff:a.b.c.d
SINGLE = 5322		# listens on 192.0.2.1 and on 2001:db8::1 apart

SRC = None		# source address of the next slixmpp connection


def step(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


# slixmpp cannot bind a source address: give the loop's create_connection
# the current one.
_loop = asyncio.new_event_loop()
asyncio.set_event_loop(_loop)
_orig_cc = _loop.create_connection


async def _cc(*a, **kw):
    if SRC is not None:
        kw["local_addr"] = (SRC, 0)
    return await _orig_cc(*a, **kw)


_loop.create_connection = _cc


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, pw):
        super().__init__(jid, pw)
        self.result = None
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_all_auth", self.on_fail)
        self.add_event_handler("disconnected", self.on_disc)
        self.done = asyncio.Event()

    async def on_start(self, _):
        self.result = "ok"
        self.send_presence()
        await asyncio.sleep(0.5)
        self.disconnect()

    def on_fail(self, _):
        self.result = "auth failed"
        self.disconnect()

    def on_disc(self, _):
        self.done.set()


def slix(src, jid, pw, host, port):
    """One slixmpp login from src; returns "ok" or the failure."""
    global SRC
    SRC = src
    c = Client(jid, pw)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    c.connect((host, port))

    async def wait():
        try:
            await asyncio.wait_for(c.done.wait(), 20)
        except asyncio.TimeoutError:
            c.abort()
    _loop.run_until_complete(wait())
    SRC = None
    step("slixmpp %s from %s to [%s]:%d: %s" % (jid, src, host, port,
                                                 c.result))
    time.sleep(0.3)
    return c.result


# ---- raw sockets -------------------------------------------------------

class Raw:
    def __init__(self, src, host, port, to=DOMAIN):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.bind((src, 0))
        self.s.connect((host, port))
        self.buf = b""
        self.to = to

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def read_until(self, pat, t=5):
        end = time.time() + t
        rx = re.compile(pat.encode(), re.S)
        while not rx.search(self.buf) and time.time() < end:
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            if not d:
                break
            self.buf += d
        m = rx.search(self.buf)
        got = self.buf
        if m:
            self.buf = self.buf[m.end():]
            return got[:m.end()].decode(errors="replace")
        self.buf = b""
        return None

    def stream(self, ns="jabber:client", extra=""):
        self.send("<?xml version='1.0'?><stream:stream to='%s' "
                  "xmlns='%s' xmlns:stream='http://etherx.jabber.org/"
                  "streams' version='1.0'%s>" % (self.to, ns, extra))
        return self.read_until("</stream:features>")

    def plain(self, user, pw, authzid=""):
        v = base64.b64encode(("%s\0%s\0%s" % (authzid, user, pw)).encode())
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>%s</auth>" % v.decode())
        return self.read_until("</success>|<success[^>]*/>|</failure>")

    def close(self, graceful=True):
        try:
            if graceful:
                self.send("</stream:stream>")
                self.read_until("</stream:stream>", 2)
            self.s.close()
        except OSError:
            self.s.close()


def raw_login(src, host, port, user, pw, res="raw"):
    r = Raw(src, host, port)
    r.stream()
    out = r.plain(user, pw)
    if not out or "success" not in out:
        r.close()
        return None
    r.stream()
    r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:"
           "xmpp-bind'><resource>%s</resource></bind></iq>" % res)
    r.read_until("</iq>")
    r.send("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:"
           "ns:xmpp-session'/></iq>")
    r.read_until("</iq>|<iq[^>]*/>")
    r.send("<presence/>")
    return r


def raw_register(src, host, port, user, pw):
    r = Raw(src, host, port)
    r.stream()
    r.send("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'>"
           "<username>%s</username><password>%s</password></query></iq>"
           % (user, pw))
    out = r.read_until("</iq>|<iq[^>]*/>") or ""
    r.close()
    res = "ok" if "type='result'" in out or 'type="result"' in out \
        else (re.findall(r"<text[^>]*>([^<]*)</text>", out) or [out[:80]])[0]
    step("register %s from %s to [%s]:%d: %s" % (user, src, host, port, res))
    time.sleep(0.3)
    return res


# ---- scenarios ---------------------------------------------------------

def main_run():
    step("1. good logins (slixmpp)")
    slix("198.51.100.10", "alice@example.org/laptop", "wonderland", V4, DUAL)
    slix("2001:db8:1::10", "bob@example.org/phone", "builder", V6, DUAL)
    slix("198.51.100.11", "carol@example.org/desk", "secret", V4, SINGLE)
    slix("2001:db8:1::11", "dave@example.org/pc", "hunter2", V6, SINGLE)

    step("2. wrong passwords (slixmpp: several mechanisms per connection)")
    slix("203.0.113.5", "alice@example.org/x", "wrong1", V4, DUAL)
    slix("2001:db8:1::66", "bob@example.org/x", "wrong2", V6, SINGLE)
    slix("203.0.113.6", "carol@example.org/x", "wrong3", V4, SINGLE)

    step("3. unknown user (slixmpp)")
    slix("203.0.113.6", "eve@example.org/x", "whatever", V4, DUAL)

    step("4. raw PLAIN: two wrong passwords on one connection, then "
         "a malformed one, without TLS")
    r = Raw("203.0.113.7", V4, DUAL)
    r.stream()
    for pw in ("123456", "password"):
        step("raw PLAIN dave/%s: %s" % (pw, bool(r.plain("dave", pw))))
    r.close()
    # Usernames are logged as the client sent them: a blank and a newline
    # in one try to forge a different address or split the log line.
    r = Raw("203.0.113.6", V4, SINGLE)
    r.stream()
    for u in ("x@example.org from 192.0.2.200: Invalid username or "
              "password", "x from 192.0.2.201: Invalid username or password"):
        step("raw PLAIN %r: %s" % (u, bool(r.plain(u, "pw"))))
    r.close()
    r = Raw("2001:db8:1::66", V6, SINGLE)
    r.stream()
    u = "y\n2026-11-29 [warning] z"
    step("raw PLAIN %r: %s" % (u, bool(r.plain(u, "pw"))))
    r.close()
    r = Raw("2001:db8:1::66", V6, DUAL)
    r.stream()
    r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
           "mechanism='PLAIN'>%s</auth>" % base64.b64encode(b"junk")
           .decode())
    step("raw PLAIN malformed: %s" % r.read_until("</failure>"))
    r.close()

    step("5. in-band registration")
    raw_register("198.51.100.12", V4, DUAL, "frank", "frankpw1")
    raw_register("198.51.100.12", V4, DUAL, "grace", "gracepw1")  # too soon
    raw_register("2001:db8:1::10", V6, SINGLE, "heidi", "heidipw1")
    raw_register("198.51.100.13", V4, SINGLE, "alice", "x")        # exists
    raw_register("203.0.113.8", V4, DUAL, "ivan", "ivanpw1")      # ip_access

    step("6. connection churn: bare TCP and stream-only connections")
    for i in range(5):
        r = Raw("203.0.113.8", V4, DUAL)
        r.close(graceful=False)
    for i in range(3):
        r = Raw("2001:db8:1::66", V6, SINGLE)
        r.stream()
        r.close()
    time.sleep(0.5)

    step("7. oversized stanza after login (max_stanza_size 4096)")
    r = raw_login("198.51.100.10", V4, DUAL, "alice", "wonderland", "big")
    if r:
        r.send("<message to='bob@example.org' type='chat'><body>%s"
               "</body></message>" % ("A" * 8000))
        step("oversized: %s" % (r.read_until("</stream:stream>", 5) or "")
             [:200])
        r.close(graceful=False)
    r = Raw("203.0.113.5", V4, SINGLE)
    r.stream()
    r.send("<iq type='get' id='x'><query xmlns='jabber:iq:register'>%s"
           "</query></iq>" % ("<x/>" * 2000))
    step("oversized before auth: %s"
         % (r.read_until("</stream:stream>", 5) or "")[:200])
    r.close(graceful=False)

    step("8. too many sessions (max_user_sessions 2), blocked user")
    rs = []
    for i in range(3):
        rs.append(raw_login("198.51.100.11", V4, DUAL, "carol", "secret",
                            "s%d" % i))
        time.sleep(0.5)
    for r in rs:
        if r:
            r.close()
    slix("198.51.100.12", "mallory@example.org/m", "m4llory", V4, DUAL)

    step("9. brute force from 203.0.113.7 until mod_fail2ban blocks it")
    for i in range(8):
        r = Raw("203.0.113.7", V4, DUAL)
        f = r.stream()
        if not f:
            step("attempt %d: no features (blocked): %s" % (i, r.buf[:200]))
            r.close(graceful=False)
            continue
        out = r.plain("admin", "admin%d" % i)
        step("attempt %d: %s" % (i, (out or "")[-60:]))
        r.close()
        time.sleep(0.2)

    step("10. s2s: dialback from a server that does not exist")
    r = Raw("203.0.113.6", V4, 5269)
    f = r.stream(ns="jabber:server", extra=" from='evil.example' "
                 "xmlns:db='jabber:server:dialback'")
    r.send("<db:result xmlns:db='jabber:server:dialback' from='evil.example'"
           " to='example.org'>deadbeef</db:result>")
    step("s2s: %s" % (r.read_until("</stream:stream>|db:result", 30) or "")
         [:200])
    r.close()
    time.sleep(1)


def hidden_run():
    step("1. good login, wrong password, unknown user (slixmpp)")
    slix("198.51.100.10", "alice@example.org/laptop", "wonderland", V4, DUAL)
    slix("203.0.113.5", "bob@example.org/x", "wrong", V4, DUAL)
    slix("2001:db8:1::66", "nobody@example.org/x", "x", V6, SINGLE)
    step("2. registration")
    raw_register("198.51.100.13", V4, DUAL, "judy", "judypw12")
    step("3. brute force until mod_fail2ban blocks")
    for i in range(7):
        r = Raw("203.0.113.8", V4, SINGLE)
        f = r.stream()
        if not f:
            step("attempt %d: blocked" % i)
            r.close(graceful=False)
            continue
        r.plain("admin", "pw%d" % i)
        r.close()
    time.sleep(1)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    {"main": main_run, "hidden": hidden_run}[sys.argv[1]]()
