/*
 * The store's file: what it must be before anything is written, and the
 * schema it is brought to.
 *
 * Opening checks, before anything is written, that the file is a database,
 * that it is ours (a schema version, or no tables at all) and that its
 * version is not newer than the migrations compiled in (sql/NNN_*.sql, which
 * must be numbered 1..N without gaps).  Each missing migration then runs in
 * its own BEGIN IMMEDIATE transaction together with PRAGMA user_version = N,
 * so a crash or a failed statement leaves the file at the previous version,
 * and two processes opening the same file at once apply each migration once.
 * A read-only store (report, status) never writes or migrates and refuses a
 * file older than this binary, whose tables it would misread; a reader who
 * may not create the -shm file reads a file without -wal as immutable.
 *
 * A writable store is set to WAL mode (readers never block the writer) with
 * synchronous = NORMAL.  Everything here runs once, at open, and reports
 * through *cause; the write path (store.c) never comes back here.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sql_migrations.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

/* After a burst the WAL file is truncated back to this size (64 MiB). */
#define STORE_WAL_SIZE_LIMIT	"67108864"

/*
 * Sets *cause to "PATH: what: sqlite's message", in the words an operator
 * needs for the errors that happen in practice.
 */
void
store_cause(char **cause, const char *path, sqlite3 *db, const char *what)
{
	int	rc, err;

	rc = db != NULL ? sqlite3_errcode(db) : SQLITE_NOMEM;
	switch (rc) {
	case SQLITE_NOTADB:
		*cause = xasprintf("%s: not an SQLite database (%s)", path,
		    sqlite3_errmsg(db));
		return;
	case SQLITE_CORRUPT:
		*cause = xasprintf("%s: database is corrupt (%s)", path,
		    sqlite3_errmsg(db));
		return;
	case SQLITE_CANTOPEN:
		/* SQLite's own message is "unable to open database file";
		 * the errno says why. */
		if ((err = sqlite3_system_errno(db)) != 0) {
			*cause = xasprintf("%s: %s: %s", path, what,
			    strerror(err));
			return;
		}
		break;
	case SQLITE_IOERR:
		if ((err = sqlite3_system_errno(db)) != 0) {
			*cause = xasprintf("%s: %s: %s (%s)", path, what,
			    sqlite3_errmsg(db), strerror(err));
			return;
		}
		break;
	}
	*cause = xasprintf("%s: %s: %s", path, what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Runs sql and reads the first column of its first row as an integer. */
int
store_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_ERROR;	/* no row: not a query we expected */
	sqlite3_finalize(st);
	return rc;
}

/*
 * Checks that the migrations are numbered 1..n in order: a gap or a
 * duplicate would leave user_version meaning two different schemas.
 */
int
store_check_migrations(const struct sql_migration *m, int n, char **cause)
{
	int	i;

	if (n < 1) {
		*cause = xasprintf("no schema migrations compiled in");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (m[i].version != i + 1) {
			*cause = xasprintf("schema migration %s is numbered "
			    "%d, expected %d: migrations must be numbered 1..N",
			    m[i].name, m[i].version, i + 1);
			return -1;
		}
	}
	return 0;
}

/* A version this binary can read or upgrade: 0 (a new file) to latest. */
static int
store_check_version(struct store *s, int64_t v, int latest, char **cause)
{
	if (v > latest) {
		*cause = xasprintf("%s: schema version %" PRId64 " is newer "
		    "than this xmppguard knows (%d)", s->path, v, latest);
		return -1;
	}
	if (v < 0) {
		*cause = xasprintf("%s: bad schema version %" PRId64,
		    s->path, v);
		return -1;
	}
	return 0;
}

/*
 * Brings the schema up to the last of m[0..n-1], one migration per
 * transaction.  The version is read again under the write lock, so a
 * concurrent opener that got there first is simply followed.
 */
int
store_migrate(struct store *s, const struct sql_migration *m, int n,
    char **cause)
{
	const struct sql_migration	*mi;
	char				*errmsg = NULL, *sql;
	int64_t				 v;
	int				 rc;

	for (;;) {
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) != SQLITE_OK) {
			store_cause(cause, s->path, s->db, "cannot lock");
			return -1;
		}
		if (store_query_int(s->db, "PRAGMA user_version", &v) !=
		    SQLITE_OK) {
			store_cause(cause, s->path, s->db,
			    "reading schema version");
			goto fail;
		}
		if (store_check_version(s, v, n, cause) == -1)
			goto fail;
		if (v == n)
			break;
		mi = &m[v];
		rc = sqlite3_exec(s->db, mi->sql, NULL, NULL, &errmsg);
		if (rc != SQLITE_OK) {
			*cause = xasprintf("%s: migration %s: %s", s->path,
			    mi->name, errmsg != NULL ? errmsg :
			    sqlite3_errstr(rc));
			sqlite3_free(errmsg);
			goto fail;
		}
		if (sqlite3_get_autocommit(s->db)) {
			/* Whatever it did is committed without a version. */
			*cause = xasprintf("%s: migration %s ends the "
			    "transaction it runs in", s->path, mi->name);
			return -1;
		}
		sql = xasprintf("PRAGMA user_version = %d", mi->version);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		free(sql);
		if (rc != SQLITE_OK || sqlite3_exec(s->db, "COMMIT", NULL, NULL,
		    NULL) != SQLITE_OK) {
			store_cause(cause, s->path, s->db, mi->name);
			goto fail;
		}
		log_info("store: %s: applied migration %s (schema version %d)",
		    s->path, mi->name, mi->version);
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "commit");
		goto fail;
	}
	s->version = (int)v;
	return 0;

fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Reads the file before anything writes it: that it is a database at all,
 * that it is ours, and which schema version it holds (into s->version).
 */
static int
store_check_file(struct store *s, int latest, char **cause)
{
	int64_t	v, nobjects;

	/* The first reads parse the header and the schema: a file that is not
	 * a database or is damaged fails here, with nothing written. */
	if (store_query_int(s->db, "SELECT count(*) FROM sqlite_master",
	    &nobjects) != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "reading schema");
		return -1;
	}
	if (store_query_int(s->db, "PRAGMA user_version", &v) != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "reading schema version");
		return -1;
	}
	if (v == 0 && nobjects > 0) {
		/* Someone else's database: migrating would scribble on it. */
		*cause = xasprintf("%s: not an xmppguard database (it has "
		    "tables but no schema version)", s->path);
		return -1;
	}
	if (store_check_version(s, v, latest, cause) == -1)
		return -1;
	s->version = (int)v;
	return 0;
}

/* Per-connection settings of a writable store, and WAL (kept by the file). */
static int
store_setup(struct store *s, char **cause)
{
	sqlite3_stmt	*st;
	const char	*text;
	char		 mode[16] = "";
	int		 rc;

	if (sqlite3_db_readonly(s->db, "main") == 1) {
		/* SQLite falls back to read-only when it may not write. */
		*cause = xasprintf("%s: cannot write: check the owner and "
		    "permissions of the file and its directory", s->path);
		return -1;
	}
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL);
	if (rc == SQLITE_OK) {
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			text = (const char *)sqlite3_column_text(st, 0);
			snprintf(mode, sizeof(mode), "%s",
			    text != NULL ? text : "");
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "setting WAL mode");
		return -1;
	}
	/* Readers (report, status) must never block the writer, and the
	 * daemon must not fsync per commit: both need WAL. */
	if (strcmp(mode, "wal") != 0) {
		*cause = xasprintf("%s: cannot use WAL mode (journal mode "
		    "stays \"%s\")", s->path, mode);
		return -1;
	}
	/* NORMAL in WAL mode: a power loss may drop the last commits, never
	 * corrupt the file; this is what makes a commit cheap. */
	if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA journal_size_limit = " STORE_WAL_SIZE_LIMIT,
	    NULL, NULL, NULL) != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "setting up");
		return -1;
	}
	return 0;
}

/*
 * A reader that may not write the file's directory cannot open a WAL
 * database whose -shm file does not exist (the daemon is not running, or
 * stopped cleanly and removed it): SQLite would have to create it.  With no
 * -wal file either, everything is in the main file, and it can be read as
 * immutable (no locks, no -shm).  The daemon starting during such a read
 * could show the report a torn snapshot, never change the file: a report
 * is read-only.  0 if the store was reopened so, -1 if not applicable.
 */
static int
store_open_immutable(struct store *s)
{
	char		*wal, *uri, *p;
	const char	*c;
	int		 rc;

	if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_READONLY &&
	    (sqlite3_errcode(s->db) & 0xff) != SQLITE_CANTOPEN)
		return -1;
	wal = xasprintf("%s-wal", s->path);
	rc = access(wal, F_OK);
	free(wal);
	if (rc == 0 || access(s->path, R_OK) == -1)
		return -1;
	/* A URI: '%', '?' and '#' in the path are escaped. */
	uri = xmalloc(3 * strlen(s->path) + sizeof("file:?immutable=1"));
	p = uri + sprintf(uri, "file:");
	for (c = s->path; *c != '\0'; c++) {
		if (*c == '%' || *c == '?' || *c == '#')
			p += sprintf(p, "%%%02X", (unsigned char)*c);
		else
			*p++ = *c;
	}
	strcpy(p, "?immutable=1");
	sqlite3_close(s->db);
	s->db = NULL;
	rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	return rc == SQLITE_OK ? 0 : -1;
}

int
store_latest_version(void)
{
	int	i, v = 0;

	for (i = 0; i < sql_nmigrations; i++)
		if (sql_migrations[i].version > v)
			v = sql_migrations[i].version;
	return v;
}

int
store_schema_open(struct store *s, char **cause)
{
	int	latest = store_latest_version();

	if (store_check_file(s, latest, cause) == -1) {
		if (!s->rdonly || store_open_immutable(s) == -1)
			return -1;
		free(*cause);
		*cause = NULL;
		if (store_check_file(s, latest, cause) == -1)
			return -1;
	}
	if (s->rdonly) {
		if (s->version < latest) {
			*cause = xasprintf("%s: schema version %d is older "
			    "than this xmppguard needs (%d): run the daemon "
			    "once to upgrade it", s->path, s->version, latest);
			return -1;
		}
		return 0;
	}
	if (store_setup(s, cause) == -1 ||
	    store_migrate(s, sql_migrations, sql_nmigrations, cause) == -1)
		return -1;
	return 0;
}
