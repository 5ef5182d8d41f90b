-- The Prosody side of contrib/examples/prosody.conf: add to
-- /etc/prosody/prosody.cfg.lua (Prosody 0.12; Debian 12 ships the module
-- in prosody-modules: apt install prosody-modules), then
-- "prosodyctl reload" or restart Prosody.
--
-- mod_log_auth writes each failed SASL login with the client's address,
-- at info level:
--   Failed authentication attempt (not-authorized) for user alice@example.org from IP: 203.0.113.20
-- which xmppguard's prosody filter reads.  Without it Prosody writes no
-- address for a failed login, and only conntrack's limits apply.

-- Debian's packaged modules live here; Prosody looks in its own
-- directory first.
plugin_paths = { "/usr/lib/prosody/modules" }

modules_enabled = {
	-- ... the modules you already have ...
	"log_auth";
}

-- "failure" (the module's default) logs failed logins only; "all" also
-- logs successful ones, which xmppguard uses to tell an authentication
-- backend outage (every login failing) from password guessing.
log_auth_ips = "all"

-- The file xmppguard follows ([log prosody] path).  Keep it at info: the
-- debug level is large, and a second file is better for it.
log = {
	info = "/var/log/prosody/prosody.log";
	error = "/var/log/prosody/prosody.err";
	-- debug = "/var/log/prosody/debug.log";	-- connection lines
}
