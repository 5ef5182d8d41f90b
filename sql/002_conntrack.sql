-- 002_conntrack: connections, hourly rollups and verdicts.
--
-- Same conventions as 001_init.sql: times in microseconds since the Unix
-- epoch, addresses as text, names in the one vocabulary.

-- One row per connection that completed its handshake, written when
-- conntrack destroys the flow (its byte counters are final then).  Flows
-- that never completed a handshake (a SYN proves nothing about its source)
-- get no row: a spoofed SYN flood must not grow this table by one row per
-- forged address; they are counted in rollups.halfopen instead.
-- Like events, this is a hot table: one index, on a nearly monotonic time.
CREATE TABLE conns (
    id          INTEGER PRIMARY KEY,
    ended       INTEGER NOT NULL,       -- conntrack DESTROY (or resync)
    addr        TEXT NOT NULL,          -- the client
    port        INTEGER NOT NULL,       -- local (service) port
    sport       INTEGER,                -- client port
    service     TEXT,                   -- "c2s", "s2s", "http", ...
    opened      INTEGER,                -- handshake completed; NULL:
                                        -- unknown (found live at start)
    closed      INTEGER,                -- first FIN/RST; NULL: unknown
    bytes_in    INTEGER NOT NULL DEFAULT 0,     -- from the client
    bytes_out   INTEGER NOT NULL DEFAULT 0,     -- to the client
    pkts_in     INTEGER NOT NULL DEFAULT 0,
    pkts_out    INTEGER NOT NULL DEFAULT 0,
    duration    INTEGER,                -- opened until closed
    flow        INTEGER,                -- conntrack id
    flags       INTEGER NOT NULL DEFAULT 0      -- EVENT_F_* bits: 4 found
                                        -- live at start, 8 made up by a
                                        -- resync after lost events
);
CREATE INDEX conns_ended ON conns (ended);

-- Per address, service and hour: what reports read instead of scanning
-- conns.  Written from memory about once a minute as increments (an
-- UPSERT adds to the hour's row), so its size is one row per active
-- address and hour, whatever the connection rate.
CREATE TABLE rollups (
    hour        INTEGER NOT NULL,       -- start of the hour
    addr        TEXT NOT NULL,
    service     TEXT NOT NULL,
    conns       INTEGER NOT NULL DEFAULT 0,     -- new, completed
    short_lived INTEGER NOT NULL DEFAULT 0,     -- closed soon after opening
    halfopen    INTEGER NOT NULL DEFAULT 0,     -- SYNs never answered
    bytes_in    INTEGER NOT NULL DEFAULT 0,
    bytes_out   INTEGER NOT NULL DEFAULT 0,
    peak_live   INTEGER NOT NULL DEFAULT 0,     -- most connections at once
    verdicts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, addr, service)
) WITHOUT ROWID;

-- One row per verdict: a limit broken by an address or a network, with
-- the reason shown to people.  allowlisted verdicts are kept for the
-- record and never enforced.
CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,
    addr        TEXT NOT NULL,          -- host bits zero for a network
    prefixlen   INTEGER NOT NULL CHECK (prefixlen BETWEEN 0 AND 128),
    rule        TEXT NOT NULL,          -- "concurrency", "churn", "karma",
                                        -- "auth", "register", "manual"
    service     TEXT,
    observed    INTEGER NOT NULL,       -- the count or bytes that broke it
    lim         INTEGER NOT NULL,       -- the limit in force
    window      INTEGER,                -- for rate rules, us
    allowlisted INTEGER NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL
);
CREATE INDEX verdicts_time ON verdicts (time);
