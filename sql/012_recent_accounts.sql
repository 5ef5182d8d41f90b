-- 012_recent_accounts: what a start reads back into the tracker's account
-- sets (account-aware limits).
--
-- Same conventions as 001_init.sql and 009_recent_windows.sql.  At start
-- the daemon counts again the distinct accounts that logged in from each
-- address within the longest max_new window, and the accounts registered
-- within it (a registered account is not an established one), so that a
-- restart does not judge a NAT by its base limits until its people log in
-- again.  Both reads need the user: these partial indexes hold it, so
-- neither touches the table.  events_register of 009 is replaced by one
-- that holds the user too.
CREATE INDEX events_auth_ok ON events (time, addr, kind, user)
    WHERE kind = 'auth_ok';
DROP INDEX events_register;
CREATE INDEX events_register ON events (time, addr, kind, user)
    WHERE kind = 'register';
