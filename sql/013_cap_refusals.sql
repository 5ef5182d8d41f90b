-- 013_cap_refusals: connections the kernel caps refused, per address; the
-- surge mode's baseline.
--
-- Same conventions as 001_init.sql.  A kernel cap (kernel_caps, kcap.c)
-- refuses the one connection over a limit with a TCP reset and tells the
-- daemon over nflog; rollup.c sums the refusals in memory per address,
-- service and hour beside the connections, and its minute's flush adds
-- them to the same rows as the rest (an UPSERT of increments), so a flood
-- of refusals costs one row per refused address and hour, not one per
-- refusal.  Per cap in rollups (the kinds of the nflog prefix: the
-- address's concurrency and churn caps, its network's, and the surge cap);
-- their total, "refused", in all three tables, which is what the report
-- reads beside "banned".  Retention removes them with their rows.
ALTER TABLE rollups ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN refused_concurrency INTEGER NOT NULL
    DEFAULT 0;
ALTER TABLE rollups ADD COLUMN refused_churn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN refused_net_concurrency INTEGER NOT NULL
    DEFAULT 0;
ALTER TABLE rollups ADD COLUMN refused_net_churn INTEGER NOT NULL
    DEFAULT 0;
ALTER TABLE rollups ADD COLUMN refused_surge INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_day ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_all ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;

-- Surge mode (surge.c): the usual rate of strangers' connections (never
-- logged in) per service and hour of the day (UTC), in strangers per
-- surge_min_rate window, as learnt so far.  Nothing in rollups tells a
-- stranger's connection from a known client's, so the daemon keeps its
-- learnt baseline here: a row is written each time an hour of the day is
-- learnt (once an hour per service), and read at start, so that a restart
-- does not forget what the days before taught.  A row learnt with another
-- window length (window, us) is not used: its unit differs.  Retention
-- removes a row not learnt again within it.
CREATE TABLE surge_baseline (
    service     TEXT NOT NULL,
    hour        INTEGER NOT NULL        -- hour of the day, 0 to 23 (UTC)
                CHECK (hour BETWEEN 0 AND 23),
    window      INTEGER NOT NULL,       -- surge_min_rate's window, us
    base        REAL NOT NULL,          -- strangers per window
    updated     INTEGER NOT NULL,       -- when it was learnt, us
    PRIMARY KEY (service, hour)
) WITHOUT ROWID;
