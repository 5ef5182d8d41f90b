-- 014_s2s_ok_index: what a start reads back into surge mode's known sets
-- from the federated servers.
--
-- Same conventions as 001_init.sql and 012_recent_accounts.sql.  At start
-- the daemon reads the servers authenticated (s2s_ok) within known_days
-- into the known sets, as it reads the logins (events_auth_ok of 012), so
-- that a restart during a surge does not cap a federation peer as a
-- stranger.  The read needs the user (the peer's domain): this partial
-- index holds it, so the read never touches the table.
CREATE INDEX events_s2s_ok ON events (time, addr, kind, user)
    WHERE kind = 's2s_ok';
