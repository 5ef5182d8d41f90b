#!/usr/bin/python3
"""Drive a Prosody under capture.sh: logins, failures, registrations,
churn, an oversized stanza, rate-limit hits, a failing s2s.

Run inside the xgcap-prosody namespace: the server listens on 192.0.2.1
and 2001:db8::1, port 5222 (STARTTLS) and 5223 (direct TLS).  Every client binds its own source
address.  Prints a manifest: one line per action, "kind source user note".

  drive.py main        the epoll run
  drive.py ratelimit   the select run (mod_limits logs its pauses there)
"""

import asyncio
import base64
import logging
import socket
import ssl
import struct
import sys
import time

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

DOMAIN = "example.org"
SERVER4 = "192.0.2.1"
SERVER6 = "2001:db8::1"
TIMEOUT = 15

log = logging.getLogger("drive")
manifest = []


def note(kind, src, user, what=""):
	line = "%-14s %-16s %-8s %s" % (kind, src, user or "-", what)
	manifest.append(line.rstrip())


class Client(slixmpp.ClientXMPP):
	"""A client bound to a source address, trusting our self-signed cert,
	never resolving DNS."""

	def __init__(self, jid, password, src, server, port, direct_tls,
	    mech=None, register=False, chat=None):
		cfg = {}
		if mech is not None:
			cfg["feature_mechanisms"] = {"use_mech": mech}
		super().__init__(jid, password, plugin_config=cfg)
		self.src = src
		self.xg_server = server
		self.xg_port = port
		self.direct_tls = direct_tls
		self.result = None
		self.chat = chat
		self.ssl_context = ssl.create_default_context()
		self.ssl_context.check_hostname = False
		self.ssl_context.verify_mode = ssl.CERT_NONE
		self.reconnect_max_attempts = 0
		self.add_event_handler("session_start", self.on_start)
		self.add_event_handler("failed_all_auth", self.on_fail)
		self.add_event_handler("failed_auth", self.on_one_fail)
		self.fails = 0
		if register:
			# slixmpp holds back stanzas until the session starts;
			# the registration iq must go before authentication.
			self._always_send_everything = True
			self.register_plugin("xep_0077")
			self["xep_0077"].force_registration = True
			self.add_event_handler("register", self.on_register)

	async def get_dns_records(self, domain, port=None):
		return [(self.xg_server, self.xg_server, self.xg_port)]

	def on_one_fail(self, stanza):
		self.fails += 1

	def on_fail(self, event):
		self.result = "auth-failed"
		self.disconnect()

	async def on_start(self, event):
		self.result = "logged-in"
		if self.chat is not None:
			await self.chat(self)
		self.disconnect()

	async def on_register(self, form):
		iq = self.Iq()
		iq["type"] = "set"
		iq["register"]["username"] = self.boundjid.user
		iq["register"]["password"] = self.password
		try:
			await iq.send(timeout=TIMEOUT)
			self.result = "registered"
		except IqError as e:
			err = e.iq["error"]
			self.result = "refused:%s (%s)" % (err["condition"] or "?",
			    err["text"])
		except IqTimeout:
			self.result = "timeout"
		self.disconnect()


async def session(loop, src, user, password, server=SERVER4, port=5222,
    direct_tls=False, mech=None, register=False, chat=None):
	"""One client connection from src; returns what happened."""
	fam = socket.AF_INET6 if ":" in server else socket.AF_INET
	orig = loop.create_connection

	def bound(*a, **kw):
		kw["local_addr"] = (src, 0)
		kw["family"] = fam
		return orig(*a, **kw)

	c = Client("%s@%s" % (user, DOMAIN), password, src, server, port,
	    direct_tls, mech=mech, register=register, chat=chat)
	loop.create_connection = bound
	try:
		c.connect((server, port), use_ssl=direct_tls)
		await asyncio.wait_for(c.disconnected, TIMEOUT)
	except asyncio.TimeoutError:
		c.result = (c.result or "") + "+timeout"
		c.abort()
	finally:
		loop.create_connection = orig
	await asyncio.sleep(0.3)
	return c


def raw_connect(src, server=None, port=5222):
	if server is None:
		server = SERVER6 if ":" in src else SERVER4
	fam = socket.AF_INET6 if ":" in server else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_STREAM)
	s.settimeout(TIMEOUT)
	s.bind((src, 0))
	s.connect((server, port))
	return s


def raw_read(s, until=None, limit=65536, silence=2):
	"""Read what the server sends until it closes, until the marker is
	seen or a short silence."""
	buf = b""
	s.settimeout(silence)
	try:
		while len(buf) < limit:
			d = s.recv(4096)
			if not d:
				break
			buf += d
			if until is not None and until in buf:
				break
	except (socket.timeout, ConnectionResetError):
		pass
	return buf


STREAM = ("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    % DOMAIN).encode()


def raw_tls(src, port=5222):
	"""A raw client past STARTTLS, at the stream features that offer SASL."""
	s = raw_connect(src, port=port)
	s.sendall(STREAM)
	raw_read(s, until=b"</stream:features>")
	s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	raw_read(s, until=b"<proceed")
	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	t = ctx.wrap_socket(s, server_hostname=DOMAIN)
	t.sendall(STREAM)
	raw_read(t, until=b"</stream:features>")
	return t


def raw_plain(t, payload):
	t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    b"mechanism='PLAIN'>" + base64.b64encode(payload) + b"</auth>")
	out = raw_read(t, until=b"</failure>")
	return b"<failure" in out


def raw_close(t):
	try:
		t.sendall(b"</stream:stream>")
		raw_read(t, until=b"</stream:stream>", silence=1)
		t.close()
	except OSError:
		pass


def raw_fail_burst(src, user, n, tries):
	"""n connections in quick succession, each trying a wrong PLAIN
	password `tries` times before closing."""
	fails = 0
	for i in range(n):
		t = raw_tls(src)
		for j in range(tries):
			fails += raw_plain(t, b"\0" + user.encode() + b"\0wrong%d" % j)
		raw_close(t)
	note("auth_fail", src, user, "raw PLAIN, %d connections x %d tries: "
	    "%d failure(s)" % (n, tries, fails))


def raw_malformed(src):
	"""A PLAIN message without NUL separators: no user name for the
	server to log (mod_log_auth writes "?")."""
	t = raw_tls(src)
	ok = raw_plain(t, b"garbage-without-separators")
	raw_close(t)
	note("auth_fail", src, None, "raw PLAIN malformed-request: %s" %
	    ("failure" if ok else "?"))


def tls_garbage(src):
	"""Plain text to the direct TLS port: a TLS handshake error."""
	s = raw_connect(src, port=5223)
	s.sendall(b"GET / HTTP/1.0\r\n\r\n")
	raw_read(s)
	s.close()
	note("tls_error", src, None, "HTTP request to the direct TLS port")


def churn(src, n, header):
	"""n connections from src that close without logging in."""
	for i in range(n):
		s = raw_connect(src)
		if header:
			s.sendall(STREAM)
			raw_read(s, until=b"</stream:features>")
		s.close()
		time.sleep(0.1)
	note("churn", src, None, "%d x connect+%s close" %
	    (n, "stream header+" if header else ""))


def churn_rst(src, n):
	"""n connections that send a stream header and then reset (RST)."""
	for i in range(n):
		s = raw_connect(src)
		s.sendall(STREAM)
		raw_read(s, until=b"</stream:features>")
		s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
		    struct.pack("ii", 1, 0))
		s.close()
		time.sleep(0.1)
	note("churn", src, None, "%d x connect+stream header+RST" % n)


def oversized_unauthed(src):
	"""A stanza over c2s_unauthed_stanza_size_limit (10000) before auth."""
	s = raw_connect(src)
	s.sendall(STREAM)
	raw_read(s, until=b"</stream:features>")
	s.sendall(b"<iq type='get' id='big'><query xmlns='jabber:iq:version'>"
	    + b"A" * 20000 + b"</query></iq>")
	out = raw_read(s, silence=10)
	s.close()
	note("oversized", src, None, "20 kB iq before auth: %s" %
	    ("stanza-too-big" if b"stanza-too-big" in out else "?"))


def s2s_fake(src):
	"""An inbound s2s stream claiming to be a domain that resolves nowhere,
	asking for dialback: Prosody cannot verify it."""
	s = raw_connect(src, port=5269)
	s.sendall(("<?xml version='1.0'?><stream:stream to='%s' "
	    "from='evil.invalid' version='1.0' xmlns='jabber:server' "
	    "xmlns:db='jabber:server:dialback' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>" % DOMAIN).encode())
	raw_read(s, until=b"</stream:features>")
	s.sendall(("<db:result from='evil.invalid' to='%s'>"
	    "0123456789abcdef</db:result>" % DOMAIN).encode())
	out = raw_read(s, until=b"</stream:stream>", silence=10)
	s.close()
	note("s2s_in_fake", src, None, "dialback from evil.invalid: %s" %
	    ("answered" if out else "no answer within 10 s"))


async def main_run(loop):
	# Registrations: two from one address succeed, the third from it is
	# throttled (registration_throttle_max = 2), one from the blocklisted
	# address, one for an existing name.
	for src, user, srv, port, tls in (
	    ("198.51.100.10", "alice", SERVER4, 5222, False),
	    ("198.51.100.10", "bob", SERVER4, 5222, False),
	    ("198.51.100.10", "carol", SERVER4, 5222, False),
	    ("2001:db8:1::10", "dave", SERVER6, 5222, False),
	    ("203.0.113.12", "erin", SERVER4, 5223, True),
	    ("203.0.113.11", "alice", SERVER4, 5222, False),
	    ("203.0.113.13", "frank", SERVER4, 5222, False),
	    ("2001:db8:1::12", "dave", SERVER6, 5223, True)):
		c = await session(loop, src, user, "pw-" + user, srv, port, tls,
		    register=True)
		kind = "register" if c.result == "registered" else "register_fail"
		note(kind, src, user, "%s port %d: %s" % (srv, port, c.result))

	# Good logins.
	for src, user, srv, port, tls in (
	    ("198.51.100.11", "alice", SERVER4, 5222, False),
	    ("198.51.100.12", "bob", SERVER4, 5222, False),
	    ("2001:db8:1::11", "dave", SERVER6, 5222, False),
	    ("203.0.113.14", "erin", SERVER4, 5223, True),
	    ("2001:db8:1::13", "alice", SERVER6, 5223, True)):
		c = await session(loop, src, user, "pw-" + user, srv, port, tls)
		note("auth_ok", src, user, "%s port %d: %s" % (srv, port, c.result))

	# Wrong passwords and unknown users.  mech None: slixmpp tries every
	# mechanism offered (SCRAM-SHA-1, then PLAIN) on the same connection.
	for src, user, srv, port, tls, mech in (
	    ("203.0.113.20", "alice", SERVER4, 5222, False, None),
	    ("203.0.113.20", "alice", SERVER4, 5222, False, None),
	    ("2001:db8:1::20", "bob", SERVER6, 5222, False, "PLAIN"),
	    ("203.0.113.21", "bob", SERVER4, 5222, False, "PLAIN"),
	    ("203.0.113.21", "bob", SERVER4, 5222, False, "SCRAM-SHA-1"),
	    ("203.0.113.22", "erin", SERVER4, 5223, True, None),
	    ("198.51.100.20", "mallory", SERVER4, 5222, False, None),
	    ("2001:db8:1::21", "trudy", SERVER6, 5222, False, "PLAIN"),
	    ("203.0.113.23", "oscar", SERVER4, 5223, True, "SCRAM-SHA-1")):
		c = await session(loop, src, user, "wrong", srv, port, tls,
		    mech=mech)
		known = user in ("alice", "bob", "erin", "dave")
		note("auth_fail", src, user, "%s port %d %s%s: %s, %d failure(s)" %
		    (srv, port, "" if known else "unknown user, ",
		    mech or "all mechs", c.result, c.fails))

	# A logged-in client sends one stanza over c2s_stanza_size_limit.
	async def big(c):
		c.send_message(mto="bob@" + DOMAIN, mbody="B" * 40000)
		await asyncio.sleep(6)
	c = await session(loop, "198.51.100.13", "alice", "pw-alice",
	    chat=big)
	note("oversized", "198.51.100.13", "alice",
	    "40 kB message after login: %s" % c.result)

	# A logged-in client sends more than mod_limits lets it (10kb/s) and
	# leaves at once: Prosody is still reading it when the socket closes.
	async def hurry(c):
		for i in range(8):
			c.send_message(mto="bob@" + DOMAIN, mbody="H" * 5000)
		await asyncio.sleep(1)
	c = await session(loop, "198.51.100.16", "alice", "pw-alice",
	    chat=hurry)
	note("auth_ok", "198.51.100.16", "alice",
	    "then 40 kB in 8 messages and close: %s" % c.result)

	# A logged-in client writes to a domain that resolves nowhere.
	async def s2s(c):
		c.send_message(mto="someone@nowhere.invalid", mbody="hello")
		await asyncio.sleep(3)
	c = await session(loop, "198.51.100.14", "bob", "pw-bob", chat=s2s)
	note("s2s_out", "198.51.100.14", "bob",
	    "message to nowhere.invalid: %s" % c.result)


async def ratelimit_run(loop):
	c = await session(loop, "198.51.100.15", "alice", "pw-alice",
	    register=True)
	note("register", "198.51.100.15", "alice", c.result)

	async def flood(c):
		for i in range(12):
			c.send_message(mto="alice@" + DOMAIN, mbody="F" * 900)
		await asyncio.sleep(6)
	c = await session(loop, "203.0.113.15", "alice", "pw-alice",
	    chat=flood)
	note("rate_limit", "203.0.113.15", "alice",
	    "12 x 900-byte messages at once (limit 1kb/s): %s" % c.result)
	c = await session(loop, "2001:db8:1::15", "alice", "pw-alice",
	    SERVER6)
	note("auth_ok", "2001:db8:1::15", "alice", c.result)


def main():
	logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
	what = sys.argv[1] if len(sys.argv) > 1 else "main"
	loop = asyncio.new_event_loop()
	asyncio.set_event_loop(loop)
	print("# drive.py %s" % what)
	if what == "main":
		loop.run_until_complete(main_run(loop))
		raw_fail_burst("203.0.113.24", "alice", 8, 2)
		raw_fail_burst("2001:db8:1::24", "bob", 2, 3)
		raw_malformed("198.51.100.21")
		tls_garbage("203.0.113.25")
		churn("198.51.100.30", 20, header=False)
		churn("2001:db8:1::30", 5, header=True)
		churn_rst("203.0.113.31", 3)
		oversized_unauthed("203.0.113.30")
		s2s_fake("198.51.100.35")
	else:
		loop.run_until_complete(ratelimit_run(loop))
	for line in manifest:
		print(line)


if __name__ == "__main__":
	main()
