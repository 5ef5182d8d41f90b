-- 006_reserved: a placeholder for the migration numbered 006 on another
-- branch, so that 007 applies here.  DROP THIS FILE WHEN MERGING that
-- branch's 006: two migrations numbered 6 stop the daemon at start.
SELECT 1;
