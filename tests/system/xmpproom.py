#!/usr/bin/python3
"""A reader in an XMPP multi-user chat room, standard library only.

  xmpproom.py --server IP --port P --ca CAFILE --jid USER@DOMAIN
              --password PW --room ROOM@SERVICE --expect TEXT [--timeout S]

Logs in (STARTTLS, the certificate checked against CAFILE and the JID's
domain, SASL PLAIN), joins the room as "reader" (the room's history
included) and waits for a groupchat message whose body holds TEXT.
Prints "got: BODY" and exits 0, or exits 1 after S seconds (default 30)
or if the server says no.  Good enough for a test's own Prosody: stanzas
are found by pattern, not parsed as a stream.
"""

import argparse
import base64
import html
import re
import socket
import ssl
import sys
import time


class Stream:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.buf = ""
        self.deadline = deadline

    def send(self, text):
        self.sock.sendall(text.encode())

    def wait(self, pattern):
        """Reads until pattern matches what came since the last match."""
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("waited for " + pattern)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the server")
            self.buf += data.decode(errors="replace")


def open_stream(st, domain):
    st.send("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
            "xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams'>" % domain)
    return st.wait(r"<stream:features.*?</stream:features>").group(0)


def main():
    ap = argparse.ArgumentParser()
    for a in ("server", "ca", "jid", "password", "room", "expect"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--port", type=int, default=5222)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    user, domain = a.jid.split("@", 1)
    deadline = time.monotonic() + a.timeout
    try:
        sock = socket.create_connection((a.server, a.port), a.timeout)
        st = Stream(sock, deadline)
        if "starttls" not in open_stream(st, domain):
            raise ConnectionError("no STARTTLS offered")
        st.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        st.wait(r"<proceed[^>]*/>")
        ctx = ssl.create_default_context(cafile=a.ca)
        st.sock = ctx.wrap_socket(sock, server_hostname=domain)
        st.buf = ""
        open_stream(st, domain)
        cred = base64.b64encode(
            ("\0%s\0%s" % (user, a.password)).encode()).decode()
        st.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                "mechanism='PLAIN'>%s</auth>" % cred)
        if st.wait(r"<(success|failure)").group(1) != "success":
            raise ConnectionError("login refused")
        st.buf = ""
        open_stream(st, domain)
        st.send("<iq type='set' id='b1'><bind "
                "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
                "reader</resource></bind></iq>")
        st.wait(r"<iq[^>]*id=.b1.[^>]*>.*?</iq>")
        st.send("<presence to='%s/reader'><x "
                "xmlns='http://jabber.org/protocol/muc'/></presence>"
                % a.room)
        print("joined %s" % a.room, flush=True)
        msg = re.compile(r"<message[^>]*type=.groupchat.[^>]*>.*?"
                         r"</message>", re.S)
        while True:
            m = st.wait(msg.pattern)
            b = re.search(r"<body>(.*?)</body>", m.group(0), re.S)
            if b and a.expect in html.unescape(b.group(1)):
                print("got: " + html.unescape(b.group(1)), flush=True)
                return 0
    except (OSError, TimeoutError, ConnectionError, ssl.SSLError) as e:
        print("xmpproom: %s" % e, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
