-- 007_ban_scope: the ports a ban drops.
--
-- Same conventions as 001_init.sql.  "services": the services' ports (or
-- every port with [ban] all_ports); "proxy": a client judged by lines that
-- came through a configured proxy, banned on [allow] proxy_ports and the
-- services' ports (every port by default).  A ban's scope only widens;
-- bans made before this migration drop the services' ports.
ALTER TABLE bans ADD COLUMN scope TEXT NOT NULL DEFAULT 'services'
    CHECK (scope IN ('services', 'proxy'));
