-- 006_log_head_hash: a file's first bytes are known by a keyed hash.
--
-- Same conventions as 001_init.sql.  Until now log_positions.pos held a
-- file's first 64 bytes in hex ("head=..."), whatever the file was: a link
-- planted at a log's name could put the start of /etc/shadow there.  pos
-- now reads "dev=D ino=I offset=O headlen=N hash=H", H being the SipHash
-- of the first N bytes under the key below, so no byte of a file is kept.

-- The key of those hashes: 16 random bytes made here, once, and kept with
-- the positions they check (a position is worth nothing without it).
CREATE TABLE log_head_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key         BLOB NOT NULL CHECK (length(key) = 16)
);
INSERT INTO log_head_key (id, key) VALUES (1, randomblob(16));

-- A hash cannot be made here, so a saved head is dropped: the next start
-- resumes a file whose inode matches at its offset (said in the log), and
-- saves the hash from then on.  secure_delete overwrites the old bytes in
-- the file instead of only marking them free (many builds do so anyway; it
-- stays on for this connection, which runs the migration once).
PRAGMA secure_delete = ON;
UPDATE log_positions
    SET pos = substr(pos, 1, instr(pos, ' head=') - 1) || ' headlen=0 hash=-'
    WHERE instr(pos, ' head=') > 0;
