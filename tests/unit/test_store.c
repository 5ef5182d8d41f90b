/*
 * The store (store.c, and store_schema.c's checks and migrations), on real
 * files in a fresh directory per test: schema creation and WAL, migrations
 * and their numbering, batching as a second connection sees it, failures
 * (disk full, a refused row, a failed commit, a locked file) that lose
 * what they must and nothing more, retention, and the files that must be
 * refused with a message naming them.
 */
#include "unit.h"

#include "../../src/store.c"

#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#define T0	1700000000000000LL	/* 2023-11-14, us since epoch */

struct fixture {
	char	 dir[64];
	char	 path[128];
};

static int
fixture_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f;

	f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/xmppguard.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 rc;

	rc = nftw(f->dir, fixture_rm, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* The first column of the first row of sql, through a separate read-only
 * connection: what a report would see. */
static int64_t
peek_int(const char *path, const char *sql)
{
	sqlite3		*db;
	int64_t		 v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(store_query_int(db, sql, &v), SQLITE_OK);
	sqlite3_close(db);
	return v;
}

static int64_t
count_events(const char *path)
{
	return peek_int(path, "SELECT count(*) FROM events");
}

/* Runs sql on a plain read-write connection, bypassing the store. */
static void
exec_raw(const char *path, const char *sql)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
write_file(const char *path, const void *buf, size_t len, off_t off)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd != -1);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void
event_make(struct event *ev, int64_t time, const char *addr, uint16_t port)
{
	memset(ev, 0, sizeof(*ev));
	ev->time = time;
	assert_int_equal(addr_parse(addr, &ev->addr, NULL), 0);
	ev->port = port;
	ev->kind = EVENT_CONN_OPEN;
	ev->source = EVENT_SRC_CONNTRACK;
}

static void
add_n(struct store *s, int n, int64_t time)
{
	struct event	ev;
	int		i;

	for (i = 0; i < n; i++) {
		event_make(&ev, time + i, "192.0.2.1", 5222);
		assert_int_equal(store_event_add(s, &ev), 0);
	}
}

static struct store *
open_ok(const char *path, int flags, uint32_t batch_max)
{
	struct store	*s;
	char		*cause = NULL;

	s = store_open(path, flags, batch_max, &cause);
	if (s == NULL)
		fail_msg("store_open: %s", cause);
	assert_null(cause);
	return s;
}

/* Opening must fail with a message that names the file and says want. */
static void
open_fails(const char *path, int flags, const char *want)
{
	char	*cause = NULL;

	assert_null(store_open(path, flags, 10, &cause));
	assert_non_null(cause);
	if (strncmp(cause, path, strlen(path)) != 0 ||
	    strstr(cause, want) == NULL)
		fail_msg("cause \"%s\": want \"%s\" naming %s", cause, want,
		    path);
	free(cause);
}

static void
test_migration_numbering(void **state)
{
	const struct sql_migration good[] = {
		{ 1, "001_a", "" }, { 2, "002_b", "" }, { 3, "003_c", "" }
	};
	const struct sql_migration gap[] = {
		{ 1, "001_a", "" }, { 3, "003_c", "" }
	};
	const struct sql_migration dup[] = {
		{ 1, "001_a", "" }, { 1, "001_b", "" }
	};
	const struct sql_migration zero[] = { { 0, "000_a", "" } };
	char	*cause = NULL;

	(void)state;
	assert_int_equal(store_check_migrations(good, 3, &cause), 0);
	assert_null(cause);
	assert_int_equal(store_check_migrations(gap, 2, &cause), -1);
	assert_non_null(strstr(cause, "003_c is numbered 3, expected 2"));
	free(cause);
	assert_int_equal(store_check_migrations(dup, 2, &cause), -1);
	assert_non_null(strstr(cause, "001_b"));
	free(cause);
	assert_int_equal(store_check_migrations(zero, 1, &cause), -1);
	free(cause);
	assert_int_equal(store_check_migrations(good, 0, &cause), -1);
	free(cause);

	/* What is compiled in passes, and is what the store reports. */
	assert_int_equal(store_check_migrations(sql_migrations,
	    sql_nmigrations, &cause), 0);
	assert_int_equal(store_latest_version(), sql_nmigrations);
	assert_true(store_latest_version() >= 1);
}

static void
test_open_fresh(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		 wal[160];
	int64_t		 v;

	s = open_ok(f->path, 0, 100);
	assert_int_equal(store_version(s), store_latest_version());
	assert_int_equal(peek_int(f->path, "PRAGMA user_version"),
	    store_latest_version());

	/* WAL is a property of the file, seen by every connection. */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(store_query_int(s->db,
	    "SELECT journal_mode = 'wal' FROM pragma_journal_mode", &v),
	    SQLITE_OK);
	assert_int_equal(v, 1);
	/* Per connection: synchronous NORMAL (1), foreign keys on. */
	assert_int_equal(store_query_int(s->db, "PRAGMA synchronous", &v),
	    SQLITE_OK);
	assert_int_equal(v, 1);
	assert_int_equal(store_query_int(s->db, "PRAGMA foreign_keys", &v),
	    SQLITE_OK);
	assert_int_equal(v, 1);

	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM sqlite_master"
	    " WHERE name IN ('events', 'bans', 'offences', 'events_time')"),
	    4);
	/* The hot table carries one index of every row, on time; the
	 * others (009, 012, 014) hold only failed logins, registrations,
	 * logins and servers' authentications. */
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'index' AND tbl_name = 'events'"), 5);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM "
	    "pragma_index_list('events') WHERE partial = 0"), 1);
	store_close(s);
	/* The last connection checkpoints and removes the WAL. */
	assert_int_equal(access(wal, F_OK), -1);
	assert_int_equal(peek_int(f->path,
	    "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

static void
test_reopen(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;

	s = open_ok(f->path, 0, 100);
	add_n(s, 3, T0);
	/* Closing commits what is pending. */
	store_close(s);
	assert_int_equal(count_events(f->path), 3);

	s = open_ok(f->path, 0, 100);
	assert_int_equal(store_version(s), store_latest_version());
	add_n(s, 2, T0 + 10);
	store_close(s);
	assert_int_equal(count_events(f->path), 5);
	assert_int_equal(peek_int(f->path, "PRAGMA user_version"),
	    store_latest_version());

	store_close(NULL);
}

static void
test_batching(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_stats	 st;

	s = open_ok(f->path, 0, 1000);
	add_n(s, 999, T0);
	store_get_stats(s, &st);
	assert_int_equal(st.pending, 999);
	assert_int_equal(st.commits, 0);
	assert_int_equal(count_events(f->path), 0);

	add_n(s, 1, T0 + 999);
	store_get_stats(s, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.rows, 1000);
	assert_int_equal(count_events(f->path), 1000);

	add_n(s, 1500, T0 + 1000);
	store_get_stats(s, &st);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.rows, 2000);
	assert_int_equal(st.pending, 500);
	assert_int_equal(count_events(f->path), 2000);

	assert_int_equal(store_flush(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.commits, 3);
	assert_int_equal(st.rows, 2500);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.lost, 0);
	assert_int_equal(count_events(f->path), 2500);

	/* Nothing pending: no empty transaction. */
	assert_int_equal(store_flush(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.commits, 3);
	store_close(s);
}

static void
test_row_values(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	struct event	 ev;
	sqlite3		*db;
	sqlite3_stmt	*st;

	s = open_ok(f->path, 0, 100);
	event_make(&ev, T0, "2001:db8::1", 5269);
	ev.sport = 40000;
	ev.service = "s2s";
	ev.kind = EVENT_AUTH_FAIL;
	ev.source = EVENT_SRC_LOG;
	ev.origin = "ejabberd";
	ev.user = "mallory'); DROP TABLE events; --";
	ev.bytes_in = 1234;
	ev.bytes_out = 5678;
	ev.pkts_in = 9;
	ev.pkts_out = 10;
	ev.duration = 1500000;
	ev.flow = 0xfedcba9876543210ULL;
	assert_int_equal(store_event_add(s, &ev), 0);

	/* Unknown ports, no strings, no flow: NULL, not 0 or "". */
	event_make(&ev, T0 + 1, "::ffff:192.0.2.7", 0);
	assert_int_equal(store_event_add(s, &ev), 0);
	store_close(s);

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT time, addr, port, "
	    "sport, service, kind, source, origin, user, bytes_in, bytes_out, "
	    "pkts_in, pkts_out, duration, flow FROM events ORDER BY id", -1,
	    &st, NULL), SQLITE_OK);

	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), T0);
	assert_string_equal(sqlite3_column_text(st, 1), "2001:db8::1");
	assert_int_equal(sqlite3_column_int(st, 2), 5269);
	assert_int_equal(sqlite3_column_int(st, 3), 40000);
	assert_string_equal(sqlite3_column_text(st, 4), "s2s");
	assert_string_equal(sqlite3_column_text(st, 5), "auth_fail");
	assert_string_equal(sqlite3_column_text(st, 6), "log");
	assert_string_equal(sqlite3_column_text(st, 7), "ejabberd");
	assert_string_equal(sqlite3_column_text(st, 8),
	    "mallory'); DROP TABLE events; --");
	assert_int_equal(sqlite3_column_int64(st, 9), 1234);
	assert_int_equal(sqlite3_column_int64(st, 10), 5678);
	assert_int_equal(sqlite3_column_int64(st, 11), 9);
	assert_int_equal(sqlite3_column_int64(st, 12), 10);
	assert_int_equal(sqlite3_column_int64(st, 13), 1500000);
	assert_true((uint64_t)sqlite3_column_int64(st, 14) ==
	    0xfedcba9876543210ULL);

	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 1), "192.0.2.7");
	assert_string_equal(sqlite3_column_text(st, 5), "conn_open");
	assert_string_equal(sqlite3_column_text(st, 6), "conntrack");
	assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 7), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 8), SQLITE_NULL);
	assert_int_equal(sqlite3_column_int64(st, 9), 0);
	assert_int_equal(sqlite3_column_type(st, 13), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 14), SQLITE_NULL);

	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_bad_event(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_stats	 st;
	struct event		 ev;

	s = open_ok(f->path, 0, 100);
	event_make(&ev, T0, "192.0.2.1", 5222);
	ev.kind = EVENT_KIND_MAX;
	assert_int_equal(store_event_add(s, &ev), -1);
	ev.kind = EVENT_AUTH_OK;
	ev.source = (enum event_source)-1;
	assert_int_equal(store_event_add(s, &ev), -1);
	add_n(s, 2, T0);
	assert_int_equal(store_flush(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.errors, 2);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.rows, 2);
	store_close(s);
	assert_int_equal(count_events(f->path), 2);
}

static void
test_purge(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		*cause = NULL, *sql;

	s = open_ok(f->path, 0, 1000);
	add_n(s, 50, T0);		/* T0 .. T0+49 */
	assert_int_equal(store_flush(s), 0);
	sql = xasprintf(
	    "INSERT INTO bans (addr, prefixlen, rule, since, expires, lifted,"
	    "  source) VALUES"
	    " ('192.0.2.1', 32, 'churn', 0, %1$lld + 10, NULL, 'rule'),"
	    " ('192.0.2.2', 32, 'churn', 0, %1$lld + 90, %1$lld + 5, 'rule'),"
	    " ('192.0.2.3', 32, 'manual', 0, NULL, %1$lld + 19, 'control'),"
	    " ('192.0.2.4', 32, 'manual', 0, NULL, NULL, 'control'),"
	    " ('192.0.2.5', 32, 'churn', 0, %1$lld + 500, NULL, 'rule'),"
	    " ('192.0.2.6', 32, 'churn', 0, %1$lld + 19, %1$lld + 700, 'rule'),"
	    " ('192.0.2.7', 32, 'manual', 0, NULL, %1$lld + 20, 'control');"
	    "INSERT INTO offences (addr, prefixlen, rule, time) VALUES"
	    " ('192.0.2.1', 32, 'churn', %1$lld + 10),"
	    " ('192.0.2.1', 32, 'churn', %1$lld + 200);", T0);
	exec_raw(f->path, sql);
	free(sql);
	/* Pending rows are committed first, then judged like the others. */
	add_n(s, 5, T0 - 1000);
	/* Events: 5 + 20.  Bans ended (lifted or expired, whichever came
	 * first) before T0+20: 1, 2, 3, 6.  Offences: 1. */
	assert_int_equal(store_purge(s, T0 + 20, &cause), 25 + 4 + 1);
	assert_null(cause);
	assert_int_equal(count_events(f->path), 30);
	assert_int_equal(peek_int(f->path, "SELECT min(time) FROM events"),
	    T0 + 20);
	assert_int_equal(peek_int(f->path, "SELECT group_concat(addr, ' ') "
	    "= '192.0.2.4 192.0.2.5 192.0.2.7' FROM bans"), 1);
	assert_int_equal(peek_int(f->path, "SELECT time FROM offences"),
	    T0 + 200);

	/* Nothing older than the oldest row: nothing deleted. */
	assert_int_equal(store_purge(s, T0, &cause), 0);
	store_close(s);
}

static void
test_purge_chunks(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		*cause = NULL;
	int		 n = STORE_PURGE_CHUNK * 2 + 17;

	s = open_ok(f->path, 0, 5000);
	add_n(s, n, T0);
	assert_int_equal(store_purge(s, T0 + n - 3, &cause), n - 3);
	assert_int_equal(count_events(f->path), 3);
	store_close(s);
}

/* A purge under a budget spent at each look: a chunk per call, the same
 * rows in the end. */
static void
test_purge_in_steps(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct loop_budget	 b;
	char			*cause = NULL;
	int64_t			 n, total = 0;
	int			 calls = 0, r;
	int			 rows = STORE_PURGE_CHUNK * 2 + 17;

	s = open_ok(f->path, 0, 5000);
	add_n(s, rows, T0);
	do {
		loop_budget_start(&b, 0, 1);
		r = store_purge_some(s, T0 + rows - 3, &b, &n, &cause);
		assert_int_not_equal(r, -1);
		total += n;
		calls++;
	} while (r == 0 && calls < 100);
	assert_int_equal(r, 1);
	assert_true(calls >= 3);
	assert_int_equal(total, rows - 3);
	assert_int_equal(count_events(f->path), 3);
	store_close(s);
}

static void
test_not_a_database(void **state)
{
	struct fixture	*f = *state;
	char		 garbage[8192], back[8192 + 1];
	size_t		 i;
	FILE		*fp;

	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 13);
	write_file(f->path, garbage, sizeof(garbage), 0);
	open_fails(f->path, 0, "not an SQLite database");
	open_fails(f->path, STORE_RDONLY, "not an SQLite database");

	/* Refused before anything was written. */
	assert_non_null(fp = fopen(f->path, "r"));
	assert_int_equal(fread(back, 1, sizeof(back), fp), sizeof(garbage));
	fclose(fp);
	assert_memory_equal(garbage, back, sizeof(garbage));
}

static void
test_corrupt(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		 junk[3000];

	s = open_ok(f->path, 0, 100);
	store_close(s);
	/* Keep the 100-byte header, trample the schema table behind it. */
	memset(junk, 0xa5, sizeof(junk));
	write_file(f->path, junk, sizeof(junk), 100);
	open_fails(f->path, 0, "corrupt");
}

static void
test_foreign_database(void **state)
{
	struct fixture	*f = *state;

	exec_raw(f->path, "CREATE TABLE mail (id INTEGER PRIMARY KEY);");
	open_fails(f->path, 0, "not an xmppguard database");
	/* And it was left alone. */
	assert_int_equal(peek_int(f->path,
	    "SELECT count(*) FROM sqlite_master"), 1);
}

static void
test_newer_version(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		*cause = NULL, *want, sql[64];
	int		 v = store_latest_version() + 1;

	s = open_ok(f->path, 0, 100);
	store_close(s);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	exec_raw(f->path, sql);
	want = xasprintf("%s: schema version %d is newer than this xmppguard "
	    "knows (%d)", f->path, v, store_latest_version());
	assert_null(store_open(f->path, 0, 100, &cause));
	assert_string_equal(cause, want);
	free(cause);
	assert_null(store_open(f->path, STORE_RDONLY, 100, &cause));
	assert_string_equal(cause, want);
	free(cause);
	free(want);
	assert_int_equal(peek_int(f->path, "PRAGMA user_version"), v);
}

static void
test_rdonly(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	char		*cause = NULL;

	/* Missing: refused, and not created. */
	open_fails(f->path, STORE_RDONLY, "No such file or directory");
	assert_int_equal(access(f->path, F_OK), -1);

	/* Older than this binary: refused, not upgraded. */
	exec_raw(f->path, "PRAGMA user_version = 0");
	open_fails(f->path, STORE_RDONLY, "is older than this xmppguard");
	assert_int_equal(peek_int(f->path, "PRAGMA user_version"), 0);

	s = open_ok(f->path, 0, 100);
	add_n(s, 4, T0);
	store_close(s);

	s = open_ok(f->path, STORE_RDONLY, 0);
	assert_int_equal(store_version(s), store_latest_version());
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_purge(s, T0 + 100, &cause), -1);
	assert_non_null(strstr(cause, "read-only"));
	free(cause);
	store_close(s);
	assert_int_equal(count_events(f->path), 4);
}

static void
test_missing_directory(void **state)
{
	struct fixture	*f = *state;
	char		 path[160];

	snprintf(path, sizeof(path), "%s/nonexistent/xmppguard.db", f->dir);
	open_fails(path, 0, "No such file or directory");
}

static void
test_not_writable(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;

	if (geteuid() == 0)
		skip();		/* root writes anyway */
	s = open_ok(f->path, 0, 100);
	store_close(s);
	assert_int_equal(chmod(f->path, 0400), 0);
	open_fails(f->path, 0, "cannot write");
}

/*
 * Migrations on a bare connection: a failing one leaves the file at the
 * previous version with none of its changes; one that commits by itself is
 * caught.
 */
static void
test_migrate_atomic(void **state)
{
	const struct sql_migration two[] = {
		{ 1, "001_a", "CREATE TABLE a (x);" },
		{ 2, "002_b",
		    "CREATE TABLE b (x); INSERT INTO nosuch VALUES (1);" },
	};
	const struct sql_migration commits[] = {
		{ 1, "001_c", "CREATE TABLE c (x); COMMIT;" },
	};
	struct fixture	*f = *state;
	struct store	 s;
	char		*cause = NULL;

	memset(&s, 0, sizeof(s));
	s.path = f->path;
	assert_int_equal(sqlite3_open_v2(f->path, &s.db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);

	assert_int_equal(store_migrate(&s, two, 1, &cause), 0);
	assert_int_equal(s.version, 1);
	assert_int_equal(store_migrate(&s, two, 2, &cause), -1);
	assert_non_null(strstr(cause, "migration 002_b: no such table"));
	free(cause);
	assert_int_equal(peek_int(f->path, "PRAGMA user_version"), 1);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'b'"), 0);
	assert_int_equal(sqlite3_get_autocommit(s.db), 1);

	/* Already at 1, the newest of these: nothing to do. */
	assert_int_equal(store_migrate(&s, commits, 1, &cause), 0);
	/* A file newer than the list. */
	exec_raw(f->path, "PRAGMA user_version = 3");
	assert_int_equal(store_migrate(&s, two, 2, &cause), -1);
	assert_non_null(strstr(cause, "schema version 3 is newer"));
	free(cause);

	exec_raw(f->path, "PRAGMA user_version = 0");
	assert_int_equal(store_migrate(&s, commits, 1, &cause), -1);
	assert_non_null(strstr(cause, "001_c ends the transaction"));
	free(cause);
	assert_int_equal(sqlite3_close(s.db), SQLITE_OK);
}

/*
 * A full disk, made by capping the file at its current size: the batch is
 * rolled back and counted, and once there is room the store carries on.
 */
static void
test_disk_full(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_stats	 st;
	struct event		 ev;
	int64_t			 pages;
	int			 i, j, rc = 0;
	char			 sql[64];

	s = open_ok(f->path, 0, 100000);
	add_n(s, 10, T0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_query_int(s->db, "PRAGMA page_count", &pages),
	    SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)pages);
	assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL),
	    SQLITE_OK);

	for (i = 0; i < 100000; i++) {
		event_make(&ev, T0 + 100 + i, "2001:db8::2", 5222);
		if ((rc = store_event_add(s, &ev)) == -1)
			break;
	}
	assert_int_equal(rc, -1);
	assert_true(i > 0);
	store_get_stats(s, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.lost, (uint64_t)i + 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(sqlite3_get_autocommit(s->db), 1);
	assert_int_equal(count_events(f->path), 10);

	/* Still full: the rollback left exactly the room there was, so the
	 * same number of rows fit before the next failure. */
	for (j = 0; j < i + 1; j++) {
		event_make(&ev, T0 + 100 + j, "2001:db8::2", 5222);
		if ((rc = store_event_add(s, &ev)) == -1)
			break;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(j, i);
	assert_int_equal(store_flush(s), 0);

	assert_int_equal(sqlite3_exec(s->db, "PRAGMA max_page_count = 1000000",
	    NULL, NULL, NULL), SQLITE_OK);
	add_n(s, 20, T0 + 200000);
	assert_int_equal(store_flush(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.rows, 30);
	assert_int_equal(st.errors, 2);
	assert_int_equal(st.lost, 2 * ((uint64_t)i + 1));
	assert_int_equal(count_events(f->path), 30);
	store_close(s);
}

/* A row SQLite refuses on its own loses that row, not the batch. */
static void
test_row_refused(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_stats	 st;
	struct event		 ev;

	s = open_ok(f->path, 0, 100);
	assert_int_equal(sqlite3_exec(s->db,
	    "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.events "
	    "WHEN NEW.port = 666 BEGIN SELECT RAISE(ABORT, 'refused'); END",
	    NULL, NULL, NULL), SQLITE_OK);
	add_n(s, 3, T0);
	event_make(&ev, T0 + 3, "192.0.2.66", 666);
	assert_int_equal(store_event_add(s, &ev), -1);
	add_n(s, 3, T0 + 4);
	store_get_stats(s, &st);
	assert_int_equal(st.pending, 6);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.errors, 1);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(count_events(f->path), 6);
	store_close(s);
}

/*
 * A COMMIT that fails and leaves the transaction open (a deferred foreign
 * key, set up through a temporary trigger): rolled back, counted, and the
 * next batch commits.
 */
static void
test_commit_fails(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_stats	 st;
	struct event		 ev;

	s = open_ok(f->path, 0, 100);
	assert_int_equal(sqlite3_exec(s->db,
	    "CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY);"
	    "CREATE TEMP TABLE child (p INTEGER REFERENCES parent (id)"
	    "  DEFERRABLE INITIALLY DEFERRED);"
	    "CREATE TEMP TRIGGER dangle AFTER INSERT ON main.events "
	    "WHEN NEW.port = 667 BEGIN INSERT INTO child VALUES (42); END",
	    NULL, NULL, NULL), SQLITE_OK);
	add_n(s, 4, T0);
	event_make(&ev, T0 + 4, "192.0.2.67", 667);
	assert_int_equal(store_event_add(s, &ev), 0);
	assert_int_equal(store_flush(s), -1);
	store_get_stats(s, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.lost, 5);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.commits, 0);
	assert_int_equal(sqlite3_get_autocommit(s->db), 1);

	add_n(s, 2, T0 + 10);
	assert_int_equal(store_flush(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.rows, 2);
	assert_int_equal(st.commits, 1);
	store_close(s);
	assert_int_equal(count_events(f->path), 2);
}

/* Another writer holds the lock past the busy timeout: the row is lost and
 * counted, and the store writes again once the lock is free. */
static void
test_locked(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_stats	 st;
	struct event		 ev;
	sqlite3			*other;

	s = open_ok(f->path, 0, 100);
	sqlite3_busy_timeout(s->db, 10);
	assert_int_equal(sqlite3_open_v2(f->path, &other,
	    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);

	event_make(&ev, T0, "192.0.2.9", 5222);
	assert_int_equal(store_event_add(s, &ev), -1);
	store_get_stats(s, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.pending, 0);

	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(other), SQLITE_OK);
	assert_int_equal(store_event_add(s, &ev), 0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(count_events(f->path), 1);
	store_close(s);
}

/*
 * 005_report on a store written by the previous version: its rollups keep
 * their counts and gain auth_fail and register (0); rollup rows then add
 * up those columns too; the report's indexes exist.
 */
/* f's store at version n (its first n migrations), with a rollups row
 * of 7 connections from 192.0.2.1 to c2s in hour 0. */
static void
migrated_to(struct fixture *f, int n)
{
	struct store	 raw;
	char		*cause = NULL;

	memset(&raw, 0, sizeof(raw));
	raw.path = f->path;
	assert_int_equal(sqlite3_open_v2(f->path, &raw.db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(store_migrate(&raw, sql_migrations, n, &cause), 0);
	assert_int_equal(sqlite3_close(raw.db), SQLITE_OK);
	exec_raw(f->path, "INSERT INTO rollups (hour, addr, service, conns) "
	    "VALUES (0, '192.0.2.1', 'c2s', 7)");
}

/*
 * Migration 013 on a store of version 12 with rows: the old rows read as
 * none refused, the refusals add up per cap and in total (rollups, the
 * day's, the hour's over all).  A full disk loses their rows as any
 * other's (the same writer: test_disk_full).
 */
static void
test_upgrade_013(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_rollup	 r;

	migrated_to(f, 12);
	s = open_ok(f->path, 0, 100);
	assert_true(store_version(s) >= 13);
	assert_int_equal(peek_int(f->path, "SELECT refused FROM rollups"), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(addr_parse("192.0.2.1", &r.addr, NULL), 0);
	r.service = "c2s";
	r.refused[STORE_CAP_CONCURRENCY] = 5;
	r.refused[STORE_CAP_NET_CHURN] = 2;
	r.refused[STORE_CAP_SURGE] = 1;
	assert_int_equal(store_rollup_add(s, &r), 0);
	assert_int_equal(store_rollup_add(s, &r), 0);
	store_close(s);
	assert_int_equal(peek_int(f->path, "SELECT conns FROM rollups"), 7);
	assert_int_equal(peek_int(f->path, "SELECT refused FROM rollups"), 16);
	assert_int_equal(peek_int(f->path, "SELECT refused_concurrency FROM "
	    "rollups"), 10);
	assert_int_equal(peek_int(f->path, "SELECT refused_churn + "
	    "refused_net_concurrency FROM rollups"), 0);
	assert_int_equal(peek_int(f->path, "SELECT refused_net_churn FROM "
	    "rollups"), 4);
	assert_int_equal(peek_int(f->path, "SELECT refused_surge FROM "
	    "rollups"), 2);
	assert_int_equal(peek_int(f->path, "SELECT refused FROM rollups_day"),
	    16);
	assert_int_equal(peek_int(f->path, "SELECT refused FROM rollups_all"),
	    16);
	assert_string_equal(store_cap_name(STORE_CAP_NET_CONCURRENCY),
	    "net_concurrency");
	assert_null(store_cap_name(STORE_CAP_MAX));
	assert_null(store_cap_name(-1));
	assert_int_equal(store_cap_from_name("surge"), STORE_CAP_SURGE);
	assert_int_equal(store_cap_from_name("nosuch"), -1);
}

static void
test_upgrade_005(void **state)
{
	struct fixture		*f = *state;
	struct store		*s;
	struct store_rollup	 r;
	char			*cause = NULL;

	migrated_to(f, 4);

	s = open_ok(f->path, 0, 100);
	assert_true(store_version(s) >= 5);
	memset(&r, 0, sizeof(r));
	r.hour = 0;
	assert_int_equal(addr_parse("192.0.2.1", &r.addr, NULL), 0);
	r.service = "c2s";
	r.conns = 1;
	r.auth_fail = 3;
	r.registered = 2;
	assert_int_equal(store_rollup_add(s, &r), 0);
	assert_int_equal(store_rollup_add(s, &r), 0);
	assert_ptr_not_equal(store_db(s), NULL);
	store_close(s);
	assert_int_equal(peek_int(f->path, "SELECT conns FROM rollups"), 9);
	assert_int_equal(peek_int(f->path, "SELECT auth_fail FROM rollups"),
	    6);
	assert_int_equal(peek_int(f->path, "SELECT register FROM rollups"), 4);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('rollups_addr', 'bans_since')"), 2);
	/* The day's row and the hour's total: the old row (backfilled by
	 * the migration) plus the two increments; the busiest hour is the
	 * hour's row as it stands after each write. */
	assert_int_equal(peek_int(f->path, "SELECT conns FROM rollups_day"),
	    9);
	assert_int_equal(peek_int(f->path, "SELECT max_conns FROM "
	    "rollups_day"), 9);
	assert_int_equal(peek_int(f->path, "SELECT max_auth_fail FROM "
	    "rollups_day"), 6);
	assert_int_equal(peek_int(f->path, "SELECT register FROM "
	    "rollups_day"), 4);
	assert_int_equal(peek_int(f->path, "SELECT conns FROM rollups_all "
	    "WHERE hour = 0 AND service = 'c2s'"), 9);
	assert_int_equal(peek_int(f->path, "SELECT auth_fail FROM "
	    "rollups_all"), 6);

	/* A second hour of the same day: the day adds up, its busiest hour
	 * stays the first; retention drops a day only once it is all past. */
	s = open_ok(f->path, 0, 100);
	r.hour = 3600LL * 1000000;
	r.conns = 4;
	r.auth_fail = 0;
	r.registered = 0;
	assert_int_equal(store_rollup_add(s, &r), 0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(peek_int(f->path, "SELECT conns FROM rollups_day"),
	    13);
	assert_int_equal(peek_int(f->path, "SELECT max_conns FROM "
	    "rollups_day"), 9);
	assert_true(store_purge(s, 7200LL * 1000000, &cause) >= 0);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM rollups"), 0);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM "
	    "rollups_all"), 0);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM "
	    "rollups_day"), 1);
	assert_true(store_purge(s, 86400LL * 1000000, &cause) >= 0);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM "
	    "rollups_day"), 0);
	store_close(s);
}

/* What store_recent_events() handed over, in order. */
struct recent {
	int		 n;
	struct event	 ev[16];
	char		 service[16][16];
	char		 user[16][16];
};

static void
recent_cb(const struct event *ev, void *arg)
{
	struct recent	*r = arg;

	assert_true(r->n < 16);
	r->ev[r->n] = *ev;
	if (ev->service != NULL)
		snprintf(r->service[r->n], sizeof(r->service[r->n]), "%s",
		    ev->service);
	if (ev->user != NULL)
		snprintf(r->user[r->n], sizeof(r->user[r->n]), "%s",
		    ev->user);
	r->ev[r->n].service = NULL;
	r->ev[r->n].user = NULL;
	r->n++;
}

static void
verdict_count_cb(const struct verdict *v, void *arg)
{
	int	*n = arg;

	assert_int_equal(v->rule, VERDICT_AUTH);
	assert_int_equal(v->prefix.len, 24);
	(*n)++;
}

/* A query's plan, through the store's own connection. */
static int
plan_uses(struct store *s, enum store_st which, const char *index)
{
	sqlite3_stmt	*st;
	char		*sql;
	int		 found = 0;

	sql = xasprintf("EXPLAIN QUERY PLAN %s", store_sql[which].sql);
	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3), index) !=
		    NULL)
			found = 1;
	sqlite3_finalize(st);
	free(sql);
	return found;
}

/*
 * The rows a start reads back into the tracker: the window's only, newest
 * first, capped; connections found live at start are not new; other log
 * kinds are not read; each read goes through an index.
 */
static void
test_recent(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	struct recent	 r;
	struct event	 ev;
	struct verdict	 v;
	char		*cause = NULL;
	int		 i, n = 0;

	s = open_ok(f->path, 0, 100);
	for (i = 0; i < 5; i++) {
		event_make(&ev, T0 + i, "192.0.2.1", 0);
		ev.kind = i == 2 ? EVENT_AUTH_OK : EVENT_AUTH_FAIL;
		ev.source = EVENT_SRC_LOG;
		ev.user = "alice";
		assert_int_equal(store_event_add(s, &ev), 0);
	}
	event_make(&ev, T0 + 9, "2001:db8::5", 0);
	ev.kind = EVENT_REGISTER;
	ev.user = "bob";
	assert_int_equal(store_event_add(s, &ev), 0);
	event_make(&ev, T0 + 8, "203.0.113.9", 5269);
	ev.kind = EVENT_S2S_OK;
	ev.source = EVENT_SRC_LOG;
	ev.user = "example.net";
	assert_int_equal(store_event_add(s, &ev), 0);
	/* Connections end in order; the second was found live at start. */
	for (i = 0; i < 3; i++) {
		event_make(&ev, T0 + 100 + i, "198.51.100.4", 5222);
		ev.kind = EVENT_CONN_END;
		ev.service = "c2s";
		ev.start = T0 + 50 + i;
		ev.flags = EVENT_F_HANDSHAKE |
		    (i == 1 ? EVENT_F_PREEXISTING : 0);
		assert_int_equal(store_conn_add(s, &ev), 0);
	}
	memset(&v, 0, sizeof(v));
	v.time = T0 + 4;
	v.rule = VERDICT_AUTH;
	assert_int_equal(addr_parse("192.0.2.0", &v.prefix.addr, NULL), 0);
	v.prefix.len = 24;
	snprintf(v.reason, sizeof(v.reason), "auth");
	assert_int_equal(store_verdict_add(s, &v), 0);
	assert_int_equal(store_flush(s), 0);

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_AUTH_FAIL, T0 + 1,
	    10, recent_cb, &r, &cause), 3);
	assert_int_equal(r.ev[0].time, T0 + 4);
	assert_int_equal(r.ev[1].time, T0 + 3);
	assert_int_equal(r.ev[2].time, T0 + 1);
	assert_int_equal(r.ev[0].kind, EVENT_AUTH_FAIL);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_AUTH_FAIL, T0,
	    2, recent_cb, &r, &cause), 2);
	assert_int_equal(r.ev[1].time, T0 + 3);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_REGISTER, T0,
	    10, recent_cb, &r, &cause), 1);
	assert_int_equal(r.ev[0].addr.family, AF_INET6);
	assert_string_equal(r.user[0], "bob");
	/* Logins, with their users (the account-aware limits). */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_AUTH_OK, T0,
	    10, recent_cb, &r, &cause), 1);
	assert_int_equal(r.ev[0].kind, EVENT_AUTH_OK);
	assert_int_equal(r.ev[0].time, T0 + 2);
	assert_string_equal(r.user[0], "alice");
	/* Federated servers authenticated (surge mode's known sets). */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_S2S_OK, T0,
	    10, recent_cb, &r, &cause), 1);
	assert_int_equal(r.ev[0].kind, EVENT_S2S_OK);
	assert_int_equal(r.ev[0].time, T0 + 8);
	assert_string_equal(r.user[0], "example.net");

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_CONNS, T0 + 51,
	    10, recent_cb, &r, &cause), 1);
	assert_int_equal(r.ev[0].kind, EVENT_CONN_OPEN);
	assert_int_equal(r.ev[0].time, T0 + 52);
	assert_int_equal(r.ev[0].port, 5222);
	assert_string_equal(r.service[0], "c2s");
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_recent_events(s, STORE_RECENT_CONNS, T0,
	    10, recent_cb, &r, &cause), 2);
	assert_int_equal(store_recent_events(s, STORE_RECENT_CONNS, T0 + 200,
	    10, recent_cb, &r, &cause), 0);

	assert_int_equal(store_recent_verdicts(s, T0, 10, verdict_count_cb,
	    &n, &cause), 1);
	assert_int_equal(store_recent_verdicts(s, T0 + 5, 10, verdict_count_cb,
	    &n, &cause), 0);
	assert_null(cause);

	assert_true(plan_uses(s, STORE_ST_RECENT_AUTH_FAIL,
	    "COVERING INDEX events_auth_fail"));
	assert_true(plan_uses(s, STORE_ST_RECENT_REGISTER,
	    "COVERING INDEX events_register"));
	assert_true(plan_uses(s, STORE_ST_RECENT_AUTH_OK,
	    "COVERING INDEX events_auth_ok"));
	assert_true(plan_uses(s, STORE_ST_RECENT_S2S_OK,
	    "COVERING INDEX events_s2s_ok"));
	assert_true(plan_uses(s, STORE_ST_RECENT_CONNS, "conns_ended"));
	assert_true(plan_uses(s, STORE_ST_RECENT_VERDICTS, "verdicts_time"));
	store_close(s);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upgrade_013, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_005, setup,
		    teardown),
		cmocka_unit_test(test_migration_numbering),
		T(test_open_fresh),
		T(test_reopen),
		T(test_batching),
		T(test_row_values),
		T(test_bad_event),
		T(test_purge),
		T(test_purge_chunks),
		T(test_purge_in_steps),
		T(test_not_a_database),
		T(test_corrupt),
		T(test_foreign_database),
		T(test_newer_version),
		T(test_rdonly),
		T(test_missing_directory),
		T(test_not_writable),
		T(test_migrate_atomic),
		T(test_disk_full),
		T(test_row_refused),
		T(test_commit_fails),
		T(test_locked),
		T(test_recent),
	};
#undef T

	/* Warnings are expected here; only failures should be read. */
	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
