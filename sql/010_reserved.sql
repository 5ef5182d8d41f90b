-- 010_reserved: a placeholder for the migration 010 reserved for the
-- kernel-caps work, so that 011 follows without a gap.  It changes
-- nothing; if that work brings its own 010, this file gives way to it.
SELECT 1;
