-- 010_losses: what the daemon lost, per hour, for the report.
--
-- Same conventions as 001_init.sql.  losses.c adds, once a minute and at
-- exit, what each loss counter (conntrack messages the kernel dropped,
-- overruns, log bytes that could not be read, lines skipped unread, rows
-- the store could not write, alerts dropped) gained since the last time:
-- a row per hour, counter and label set, counted up.  Status and the
-- metrics say the same since the start; this says it per period, across
-- restarts.  Retention removes an hour with the rollups'.
CREATE TABLE losses (
    hour        INTEGER NOT NULL,       -- start of the hour (UTC, us)
    what        TEXT NOT NULL,          -- "conntrack_dropped", ...
    labels      TEXT NOT NULL,          -- "source=events", "" for none
    count       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, what, labels)
) WITHOUT ROWID;
