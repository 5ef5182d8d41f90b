/*
 * The store's file (store_schema.c) on its own, through store_schema_open()
 * on a bare connection as store_open() hands it over: a new file comes out
 * in WAL mode at the newest schema and opens again, also read-only; a
 * read-only opener refuses an older schema and writes nothing; someone
 * else's database and a newer schema are refused and left as they were.
 * The same paths through store_open(), corrupt files and concurrent
 * openers are test_store.c's.
 */
#include "unit.h"

#include "../../src/store_schema.c"

#include <stdlib.h>

struct fix {
	char		 dir[64];
	char		 path[128];
	struct store	 s;
};

static int
setup(void **state)
{
	struct fix	*f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_schema.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/x.db", f->dir);
	f->s.path = f->path;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix	*f = *state;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

/* Opens f's file as store_open() would (flags: SQLITE_OPEN_*), then
 * store_schema_open(); its result, *cause set on failure. */
static int
fix_open(struct fix *f, int rdonly, char **cause)
{
	int	rc;

	f->s.rdonly = rdonly;
	f->s.version = -1;
	assert_int_equal(sqlite3_open_v2(f->path, &f->s.db, rdonly ?
	    SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL), SQLITE_OK);
	*cause = NULL;
	rc = store_schema_open(&f->s, cause);
	assert_int_equal(sqlite3_close(f->s.db), SQLITE_OK);
	f->s.db = NULL;
	return rc;
}

/* Runs sql on a plain connection of its own; with out, reads the first
 * column of its first row. */
static void
fix_sql(struct fix *f, const char *sql, int64_t *out)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	if (out != NULL)
		assert_int_equal(store_query_int(db, sql, out), SQLITE_OK);
	else
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t
fix_int(struct fix *f, const char *sql)
{
	int64_t	v = -1;

	fix_sql(f, sql, &v);
	return v;
}

static void
test_new_file(void **state)
{
	struct fix	*f = *state;
	char		*cause;

	assert_int_equal(fix_open(f, 0, &cause), 0);
	assert_int_equal(f->s.version, store_latest_version());
	assert_int_equal(fix_int(f, "PRAGMA user_version"),
	    store_latest_version());
	/* WAL is kept by the file: a plain connection sees it. */
	assert_int_equal(fix_int(f, "SELECT count(*) FROM "
	    "pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	/* Again: nothing to migrate; and a reader takes it. */
	assert_int_equal(fix_open(f, 0, &cause), 0);
	assert_int_equal(fix_open(f, 1, &cause), 0);
	assert_int_equal(f->s.version, store_latest_version());
}

static void
test_refused(void **state)
{
	struct fix	*f = *state;
	char		*cause;

	/* An older schema: a reader would misread it, and may not upgrade. */
	fix_sql(f, "CREATE TABLE t (x); PRAGMA user_version = 1", NULL);
	assert_int_equal(fix_open(f, 1, &cause), -1);
	assert_non_null(strstr(cause, "schema version 1 is older than this "
	    "xmppguard needs"));
	free(cause);
	assert_int_equal(fix_int(f, "PRAGMA user_version"), 1);

	/* Someone else's database, and a newer one: left alone. */
	fix_sql(f, "PRAGMA user_version = 0", NULL);
	assert_int_equal(fix_open(f, 0, &cause), -1);
	assert_non_null(strstr(cause, "not an xmppguard database"));
	free(cause);
	assert_int_equal(fix_int(f, "SELECT count(*) FROM sqlite_master"),
	    1);
	fix_sql(f, "PRAGMA user_version = 999", NULL);
	assert_int_equal(fix_open(f, 0, &cause), -1);
	assert_non_null(strstr(cause, "schema version 999 is newer"));
	free(cause);
	assert_int_equal(fix_int(f, "PRAGMA user_version"), 999);
}

/*
 * sql/006: a saved file head (64 bytes in hex: here a planted link's
 * /etc/shadow) becomes a position without one, the bytes gone from the
 * file, and the hashes get their random key.
 */
static void
test_log_head_hash(void **state)
{
	struct fix	*f = *state;
	char		*cause = NULL, buf[512], *file;
	const char	*hex = "726f6f743a2436245365637265742e53616c74"
			    "2e616e642e612e6c6f6e672e68617368";
	FILE		*fp;
	size_t		 n;

	assert_int_equal(sqlite3_open_v2(f->path, &f->s.db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(store_migrate(&f->s, sql_migrations, 5, &cause), 0);
	assert_int_equal(sqlite3_close(f->s.db), SQLITE_OK);
	snprintf(buf, sizeof(buf), "INSERT INTO log_positions VALUES ('a', "
	    "'/l', 'dev=1 ino=2 offset=300 head=%s', 0), ('b', '/m', "
	    "'dev=1 ino=3 offset=0 head=-', 0)", hex);
	fix_sql(f, buf, NULL);

	assert_int_equal(fix_open(f, 0, &cause), 0);
	assert_int_equal(fix_int(f, "SELECT count(*) FROM log_positions WHERE "
	    "name = 'a' AND pos = 'dev=1 ino=2 offset=300 headlen=0 hash=-'"),
	    1);
	assert_int_equal(fix_int(f, "SELECT count(*) FROM log_positions WHERE "
	    "name = 'b' AND pos = 'dev=1 ino=3 offset=0 headlen=0 hash=-'"),
	    1);
	assert_int_equal(fix_int(f, "SELECT count(*) FROM log_head_key WHERE "
	    "id = 1 AND length(key) = 16 AND key != zeroblob(16)"), 1);
	/* The connection is closed: everything is in the main file. */
	assert_non_null(fp = fopen(f->path, "r"));
	file = malloc(1 << 20);
	n = fread(file, 1, 1 << 20, fp);
	fclose(fp);
	assert_true(n > 0 && n < 1 << 20);
	/* Not even a piece of it. */
	assert_null(memmem(file, n, hex, 16));
	assert_null(memmem(file, n, hex + strlen(hex) - 16, 16));
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_head_hash, setup,
		    teardown),
	};

	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests_name("store_schema", tests, NULL,
	    NULL);
}
