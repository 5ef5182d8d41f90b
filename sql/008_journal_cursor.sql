-- 008_journal_cursor: where each journal source was read up to.
--
-- Same conventions as 001_init.sql.  A [log NAME] section with journal =
-- UNIT reads the systemd journal instead of a file; its position is the
-- journal's cursor of the last entry read (sd_journal_get_cursor(3): the
-- entry's sequence number, boot and time, no log text), written in the
-- same transaction as the events read up to it, as log_positions is for
-- files.  source names what was read (unit, extra matches, directory): a
-- section that changes it starts afresh from the journal's end.
CREATE TABLE journal_cursors (
    name        TEXT PRIMARY KEY,       -- [log NAME]
    source      TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    updated     INTEGER NOT NULL        -- us since the epoch
) WITHOUT ROWID;
