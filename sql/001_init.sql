-- 001_init: the foundation: events as they happened, bans and offences.
--
-- Rules for every migration:
--   * the store runs it inside a transaction that it opens and commits
--     together with PRAGMA user_version = N, so it must not contain BEGIN,
--     COMMIT, ROLLBACK or VACUUM, nor change the journal mode;
--   * once released it never changes: mistakes are fixed by a new one;
--   * no STRICT tables, so that an older sqlite3 shell (before 3.37) can
--     still open the file.
--
-- Units everywhere: times are microseconds since the Unix epoch (UTC), as
-- in struct event; durations are microseconds; bytes and packets are plain
-- counts.  Addresses are text as addr_ntop() prints them ("192.0.2.1",
-- "2001:db8::1"; IPv4-mapped IPv6 is stored as IPv4; "?" when the source
-- gave none), so the sqlite3 shell and reports read them without help.
-- Names (kind, source, rule, service) are the same lower-case words used in
-- the configuration, JSON output and logs.

-- One row per event from a source: conntrack, a server log, a replay or the
-- control socket.  This is the hot table: the daemon appends to it in
-- batches and retention deletes its oldest rows; nothing else writes it.
-- Its one index is on time, which is nearly monotonic, so the index grows at
-- its right edge like the table itself and an insert costs two appends.
-- Do not index random keys (addr, user) here: each such index turns every
-- batch into page writes scattered over the file.  Per-address questions
-- scan a time range, or read summary tables that later migrations add.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,    -- rowid: insertion order
    time        INTEGER NOT NULL,       -- when it happened
    addr        TEXT NOT NULL,          -- remote (client) address
    port        INTEGER,                -- local port; NULL: unknown
    sport       INTEGER,                -- remote port; NULL: unknown
    service     TEXT,                   -- "c2s", "s2s", ...; NULL: unknown
    kind        TEXT NOT NULL,          -- "conn_open", "auth_fail", ...
    source      TEXT NOT NULL,          -- "conntrack", "log", "replay",
                                        -- "control"
    origin      TEXT,                   -- log name or "conntrack"
    user        TEXT,                   -- account, as the log named it
    bytes_in    INTEGER NOT NULL DEFAULT 0,     -- from the client
    bytes_out   INTEGER NOT NULL DEFAULT 0,     -- to the client
    pkts_in     INTEGER NOT NULL DEFAULT 0,
    pkts_out    INTEGER NOT NULL DEFAULT 0,
    duration    INTEGER,                -- connection lifetime; NULL: n/a
    flow        INTEGER                 -- conntrack id or join key: all 64
                                        -- bits, read back as unsigned;
                                        -- NULL: none
);
-- Retention (DELETE ... WHERE time < ?) and reports over a period.
CREATE INDEX events_time ON events (time);

-- One row per ban of an address or a network, kept after it ends: a
-- restart restores the bans still in force, escalation finds earlier bans,
-- reports show the history.  Bans are rare, so this table affords indexes.
CREATE TABLE bans (
    id          INTEGER PRIMARY KEY,
    addr        TEXT NOT NULL,          -- network address, host bits zero
    prefixlen   INTEGER NOT NULL        -- 32 or 128 for a single host
                CHECK (prefixlen BETWEEN 0 AND 128),
    rule        TEXT NOT NULL,          -- "churn", "concurrency", "karma",
                                        -- "auth", "register", "manual"
    reason      TEXT,                   -- for people: counts and limits
    since       INTEGER NOT NULL,       -- when it began
    expires     INTEGER,                -- when it ends; NULL: when lifted
    lifted      INTEGER,                -- when an operator lifted it;
                                        -- NULL: not lifted
    count       INTEGER NOT NULL DEFAULT 1,     -- escalation step: the
                                        -- nth ban of this prefix
    source      TEXT NOT NULL           -- who decided: "rule", "control",
                                        -- "replay"
);
-- Escalation: the earlier bans of one prefix.
CREATE INDEX bans_prefix ON bans (addr, prefixlen, since);
-- Restoring at start-up: the bans that have not ended yet.
CREATE INDEX bans_expires ON bans (expires);

-- One row each time a rule was broken, whether a ban followed or not
-- (allowlisted, dry run, already banned): what escalation remembers across
-- restarts.
CREATE TABLE offences (
    id          INTEGER PRIMARY KEY,
    addr        TEXT NOT NULL,          -- network address, host bits zero
    prefixlen   INTEGER NOT NULL
                CHECK (prefixlen BETWEEN 0 AND 128),
    rule        TEXT NOT NULL,
    time        INTEGER NOT NULL        -- when it happened
);
-- Escalation: the offences of one prefix in a window.  Retention scans the
-- table, which stays small.
CREATE INDEX offences_prefix ON offences (addr, prefixlen, time);
