-- 009_recent_windows: what a start reads back into the tracker's windows.
--
-- Same conventions as 001_init.sql.  At start (and at a reload that
-- changes a window's length) the daemon counts again the failed logins and
-- registrations of the last [auth] window, so that a restart forgets no
-- attempt.  events' one index is on time: that read would visit every log
-- event of the window, successful logins and the server's other lines
-- included, and the table for each one's kind and address.  These partial
-- indexes hold only the rows of their kind, with the address and the kind
-- (SQLite reads a partial index without the table only if it holds every
-- column the query names), so the read touches nothing else.  A row of
-- another kind costs them nothing; a row of theirs one more append at the
-- index's right edge (times are nearly monotonic, as for events_time),
-- not a scattered page write.
CREATE INDEX events_auth_fail ON events (time, addr, kind)
    WHERE kind = 'auth_fail';
CREATE INDEX events_register ON events (time, addr, kind)
    WHERE kind = 'register';
