-- 003_logs: the log pipeline.
--
-- Same conventions as 001_init.sql.

-- Where each followed log file was read up to, written in the same
-- transaction as the events read from it, so after a crash or a restart
-- no line is lost or counted twice.  pos is the tailer's own text (device,
-- inode, offset and a hash of the file's first bytes, which tells a file
-- that reused an inode from the one that was read).
CREATE TABLE log_positions (
    name        TEXT PRIMARY KEY,       -- [log NAME]
    path        TEXT NOT NULL,          -- the path followed
    pos         TEXT NOT NULL,
    updated     INTEGER NOT NULL        -- us since the epoch
) WITHOUT ROWID;

-- An auth verdict taken during an authentication backend outage is held:
-- recorded and reported, never enforced.
ALTER TABLE verdicts ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
