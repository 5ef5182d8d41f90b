-- 011_cluster_queue: bans and unbans waiting to be pushed to a CrowdSec
-- Local API ([cluster] push).
--
-- Same conventions as 001_init.sql.  Rows are taken oldest first (id
-- order) in batches and deleted once the LAPI has taken them, so the
-- queue survives restarts and outages of the LAPI.  op is "ban" (an alert
-- with its decision) or "unban" (the decisions on the prefix deleted).
-- tries counts the answers refusing the row's batch, so that one the LAPI
-- will never take is dropped in the end instead of holding up the rest.
CREATE TABLE cluster_queue (
    id          INTEGER PRIMARY KEY,
    op          TEXT NOT NULL CHECK (op IN ('ban', 'unban')),
    addr        TEXT NOT NULL,          -- network address, host bits zero
    prefixlen   INTEGER NOT NULL CHECK (prefixlen BETWEEN 0 AND 128),
    rule        TEXT,                   -- ban: the rule's name
    reason      TEXT,                   -- ban: the alert's message
    count       INTEGER NOT NULL DEFAULT 1,
    since       INTEGER,                -- ban: when it began
    expires     INTEGER,                -- ban: when it ends
    added       INTEGER NOT NULL,       -- when it was queued
    tries       INTEGER NOT NULL DEFAULT 0
);
