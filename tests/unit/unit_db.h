/*
 * For unit tests that check what reached a store: one integer from a SQL
 * query, through a second, read-only connection, so only committed rows
 * count (the store's pending batch is committed first).
 */
#ifndef UNIT_DB_H
#define UNIT_DB_H

#include <sqlite3.h>

#include "store.h"

static int64_t
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
