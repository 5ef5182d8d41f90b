-- 004_bans: enforcement.
--
-- Same conventions as 001_init.sql.  A ban may throttle (karma =
-- throttle) rather than drop.  The partial index finds the bans in force
-- at start-up without reading the history.
ALTER TABLE bans ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;
CREATE INDEX bans_open ON bans (expires) WHERE lifted IS NULL;
