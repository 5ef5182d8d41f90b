/*
 * For unit tests on a real store: a fresh store file under /tmp and its
 * removal (with its WAL), and one integer from a SQL query through a
 * second, read-only connection, so only committed rows count (the store's
 * pending batch is committed first).
 */
#ifndef UNIT_DB_H
#define UNIT_DB_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"

/* A store opened on a new file; its path in path (64 bytes at least). */
static __attribute__((unused)) struct store *
unit_db_open(char *path, size_t size, const char *name)
{
	struct store	*store;
	char		*cause = NULL;
	int		 fd;

	snprintf(path, size, "/tmp/xg-test-%s.XXXXXX", name);
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	unlink(path);
	store = store_open(path, 0, 1000, &cause);
	assert_non_null(store);
	return store;
}

/* Closes the store and removes its files. */
static __attribute__((unused)) void
unit_db_close(struct store *store, const char *path)
{
	char	more[128];

	store_close(store);
	unlink(path);
	snprintf(more, sizeof(more), "%s-wal", path);
	unlink(more);
	snprintf(more, sizeof(more), "%s-shm", path);
	unlink(more);
}

static __attribute__((unused)) int64_t
unit_db_int(struct store *store, const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	store_flush(store);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#endif /* UNIT_DB_H */
