-- 005_report: what the report command reads.
--
-- Same conventions as 001_init.sql.
--
-- Failed logins and registrations were only in events, whose one index is
-- on time: a report over a month would scan every log event.  The rollups
-- now count them too, per hour, address and service (log events name no
-- service: they count under "c2s", where logins and registrations happen;
-- their address is the one the log named, so behind a proxy it is the
-- client's, not the proxy's).
ALTER TABLE rollups ADD COLUMN auth_fail INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN register INTEGER NOT NULL DEFAULT 0;

-- The same per day: a report over a month reads a thirtieth of the rows
-- (an address active all day has 24 rows in rollups, one here).  Written
-- with every rollups row, as increments; max_* keep the busiest hour's
-- count, which is what "near a limit" compares.  Retention deletes a day
-- once all of it is older than the retention.
CREATE TABLE rollups_day (
    day         INTEGER NOT NULL,       -- start of the day (UTC)
    addr        TEXT NOT NULL,
    service     TEXT NOT NULL,
    conns       INTEGER NOT NULL DEFAULT 0,
    short_lived INTEGER NOT NULL DEFAULT 0,
    halfopen    INTEGER NOT NULL DEFAULT 0,
    bytes_in    INTEGER NOT NULL DEFAULT 0,
    bytes_out   INTEGER NOT NULL DEFAULT 0,
    peak_live   INTEGER NOT NULL DEFAULT 0,     -- the day's highest
    verdicts    INTEGER NOT NULL DEFAULT 0,
    auth_fail   INTEGER NOT NULL DEFAULT 0,
    register    INTEGER NOT NULL DEFAULT 0,
    max_conns   INTEGER NOT NULL DEFAULT 0,     -- in its busiest hour
    max_auth_fail INTEGER NOT NULL DEFAULT 0,
    max_register INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, addr, service)
) WITHOUT ROWID;
INSERT INTO rollups_day
SELECT hour / 86400000000 * 86400000000, addr, service, sum(conns),
    sum(short_lived), sum(halfopen), sum(bytes_in), sum(bytes_out),
    max(peak_live), sum(verdicts), 0, 0, max(conns), 0, 0
FROM rollups GROUP BY 1, 2, 3;

-- Per hour and service, all addresses together: the report's "per hour"
-- series without reading every address's row.
CREATE TABLE rollups_all (
    hour        INTEGER NOT NULL,
    service     TEXT NOT NULL,
    conns       INTEGER NOT NULL DEFAULT 0,
    halfopen    INTEGER NOT NULL DEFAULT 0,
    verdicts    INTEGER NOT NULL DEFAULT 0,
    auth_fail   INTEGER NOT NULL DEFAULT 0,
    register    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, service)
) WITHOUT ROWID;
INSERT INTO rollups_all
SELECT hour, service, sum(conns), sum(halfopen), sum(verdicts), 0, 0
FROM rollups GROUP BY 1, 2;

-- The timeline of one address (report --ip): without this index it scans
-- every row of the period, since rollups is keyed by hour first.  It costs
-- each rollup write (about once a minute per active address) one more
-- b-tree entry.
CREATE INDEX rollups_addr ON rollups (addr, hour);

-- Bans over a period, for the report's chart and list.  bans_prefix starts
-- with the address and bans_open covers only bans in force.
CREATE INDEX bans_since ON bans (since);
