/*
 * The store: one SQLite connection to one file, in WAL mode, owned by one
 * thread.
 *
 * Opening checks, before anything is written, that the file is a database,
 * that it is ours (a schema version, or no tables at all) and that its
 * version is not newer than the migrations compiled in (sql/NNN_*.sql, which
 * must be numbered 1..N without gaps).  Each missing migration then runs in
 * its own BEGIN IMMEDIATE transaction together with PRAGMA user_version = N,
 * so a crash or a failed statement leaves the file at the previous version,
 * and two processes opening the same file at once apply each migration once.
 * A read-only store (report, status) never writes or migrates and refuses a
 * file older than this binary, whose tables it would misread.
 *
 * The write path is a batch: store_event_add() steps one prepared INSERT
 * inside a transaction opened by the first pending row, and store_flush()
 * (the loop's before-sleep hook) or the batch_max-th row commits it.  The
 * invariant is that pending counts the rows inserted since the transaction
 * began, and is 0 whenever SQLite is in autocommit mode (no transaction).
 *
 * At run time nothing here is fatal.  A row SQLite refuses on its own (a
 * constraint) loses that row; any other failure (disk full, I/O error, a
 * failed commit) rolls the batch back and loses its rows.  Both are counted
 * in the stats and logged at most once per STORE_WARN_INTERVAL, and the next
 * row starts a fresh transaction, so the daemon keeps defending and the store
 * recovers by itself once the disk has room again.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "event.h"
#include "log.h"
#include "sql_migrations.h"
#include "store.h"
#include "xmalloc.h"

/* Long enough for a checkpoint by another connection, short enough that a
 * stuck writer shows up as an error instead of a hung daemon. */
#define STORE_BUSY_TIMEOUT_MS	5000
/* After a burst the WAL file is truncated back to this size (64 MiB). */
#define STORE_WAL_SIZE_LIMIT	"67108864"
/* Retention deletes in chunks of this many rows, each its own transaction,
 * so the WAL (which holds every page a transaction touches) stays small. */
#define STORE_PURGE_CHUNK	10000
#define STORE_WARN_INTERVAL	(10 * CLOCK_US_PER_SEC)

struct store {
	sqlite3		*db;
	char		*path;
	int		 rdonly;
	int		 version;	/* user_version once open */
	uint32_t	 batch_max;

	/* Prepared at open for a writable store; NULL when read-only. */
	sqlite3_stmt	*st_begin;
	sqlite3_stmt	*st_commit;
	sqlite3_stmt	*st_rollback;
	sqlite3_stmt	*st_event;
	sqlite3_stmt	*st_purge_events;
	sqlite3_stmt	*st_purge_bans;
	sqlite3_stmt	*st_purge_offences;

	struct store_stats stats;
	struct log_ratelimit warn_rl;
};

static const char store_sql_event[] =
	"INSERT INTO events (time, addr, port, sport, service, kind, source, "
	"origin, user, bytes_in, bytes_out, pkts_in, pkts_out, duration, flow) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	"?15)";
/* The rowid subquery walks events_time from the oldest row. */
static const char store_sql_purge_events[] =
	"DELETE FROM events WHERE id IN "
	"(SELECT id FROM events WHERE time < ?1 LIMIT ?2)";
/* A ban is history once it has ended: lifted or expired, whichever came
 * first.  One with neither may still be in force and is kept. */
static const char store_sql_purge_bans[] =
	"DELETE FROM bans WHERE "
	"min(coalesce(lifted, expires), coalesce(expires, lifted)) < ?1";
static const char store_sql_purge_offences[] =
	"DELETE FROM offences WHERE time < ?1";

/*
 * Sets *cause to "PATH: what: sqlite's message", in the words an operator
 * needs for the errors that happen in practice.
 */
static void
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

/*
 * Counts and logs a run-time failure, while sqlite3_errmsg() still describes
 * it: at most one warning per STORE_WARN_INTERVAL, with the number of
 * failures held back since the previous one.
 */
static void
store_warn(struct store *s, const char *what, const char *msg)
{
	struct log_ratelimit	*rl = &s->warn_rl;

	s->stats.errors++;
	if (!log_ratelimit_ok(rl, clock_monotonic()))
		return;
	if (rl->suppressed > 0)
		log_warnx("store: %s: %s: %s (and %lu more failures)", s->path,
		    what, msg, rl->suppressed);
	else
		log_warnx("store: %s: %s: %s", s->path, what, msg);
	rl->suppressed = 0;
}

/* Runs a statement with no result rows; returns its result code. */
static int
store_step(sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

/* Runs sql and reads the first column of its first row as an integer. */
static int
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
 * Ends the open transaction, if SQLite has not already ended it, and counts
 * its rows as lost, plus extra: the row whose failure ended the batch.
 */
static void
store_rollback(struct store *s, uint32_t extra)
{
	/* ROLLBACK fails only while a statement is running, and none is
	 * between two calls into this module. */
	if (!sqlite3_get_autocommit(s->db) &&
	    store_step(s->st_rollback) != SQLITE_DONE)
		store_warn(s, "rollback", sqlite3_errmsg(s->db));
	s->stats.lost += (uint64_t)s->stats.pending + extra;
	s->stats.pending = 0;
}

/* Opens the batch's transaction.  0, or -1 (counted) on failure. */
static int
store_begin(struct store *s)
{
	/* Every failure path counts the rows it loses, but should SQLite
	 * ever end a transaction unasked, its rows are gone too. */
	if (s->stats.pending > 0)
		store_rollback(s, 0);
	if (store_step(s->st_begin) != SQLITE_DONE) {
		store_warn(s, "begin", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/*
 * Checks that the migrations are numbered 1..n in order: a gap or a
 * duplicate would leave user_version meaning two different schemas.
 */
static int
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
static int
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

static int
store_prepare(struct store *s, sqlite3_stmt **st, const char *sql,
    unsigned int flags, char **cause)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, flags, st, NULL) != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "preparing statements");
		return -1;
	}
	return 0;
}

static int
store_prepare_all(struct store *s, char **cause)
{
	const unsigned int	p = SQLITE_PREPARE_PERSISTENT;

	if (store_prepare(s, &s->st_begin, "BEGIN IMMEDIATE", p, cause) == -1 ||
	    store_prepare(s, &s->st_commit, "COMMIT", p, cause) == -1 ||
	    store_prepare(s, &s->st_rollback, "ROLLBACK", p, cause) == -1 ||
	    store_prepare(s, &s->st_event, store_sql_event, p, cause) == -1 ||
	    store_prepare(s, &s->st_purge_events, store_sql_purge_events, 0,
	    cause) == -1 ||
	    store_prepare(s, &s->st_purge_bans, store_sql_purge_bans, 0,
	    cause) == -1 ||
	    store_prepare(s, &s->st_purge_offences, store_sql_purge_offences,
	    0, cause) == -1)
		return -1;
	return 0;
}

static void
store_finalize_all(struct store *s)
{
	sqlite3_finalize(s->st_begin);
	sqlite3_finalize(s->st_commit);
	sqlite3_finalize(s->st_rollback);
	sqlite3_finalize(s->st_event);
	sqlite3_finalize(s->st_purge_events);
	sqlite3_finalize(s->st_purge_bans);
	sqlite3_finalize(s->st_purge_offences);
	s->st_begin = s->st_commit = s->st_rollback = s->st_event = NULL;
	s->st_purge_events = s->st_purge_bans = s->st_purge_offences = NULL;
}

/* Closes and frees; SQLite rolls back a transaction still open. */
static void
store_free(struct store *s)
{
	store_finalize_all(s);
	/* sqlite3_close() (not _v2) refuses while a statement is left, so a
	 * leak shows here instead of as an fd that stays open. */
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store: %s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	free(s->path);
	free(s);
}

struct store *
store_open(const char *path, int flags, uint32_t batch_max, char **cause)
{
	struct store	*s;
	int		 oflags, latest = store_latest_version();

	if (store_check_migrations(sql_migrations, sql_nmigrations,
	    cause) == -1)
		return NULL;

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->rdonly = (flags & STORE_RDONLY) != 0;
	/* 0 would never commit by itself: treat it as "every row". */
	s->batch_max = batch_max > 0 ? batch_max : 1;
	s->warn_rl.interval_us = STORE_WARN_INTERVAL;

	oflags = SQLITE_OPEN_NOMUTEX | (s->rdonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
		store_cause(cause, path, s->db, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	if (store_check_file(s, latest, cause) == -1)
		goto fail;
	if (s->rdonly) {
		if (s->version < latest) {
			*cause = xasprintf("%s: schema version %d is older "
			    "than this xmppguard needs (%d): run the daemon "
			    "once to upgrade it", path, s->version, latest);
			goto fail;
		}
		return s;
	}
	if (store_setup(s, cause) == -1 ||
	    store_migrate(s, sql_migrations, sql_nmigrations, cause) == -1 ||
	    store_prepare_all(s, cause) == -1)
		goto fail;
	return s;

fail:
	store_free(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (!s->rdonly) {
		store_flush(s);
		if (s->stats.lost > 0)
			log_warnx("store: %s: %" PRIu64 " rows lost since "
			    "start", s->path, s->stats.lost);
	}
	store_free(s);
}

int
store_version(struct store *s)
{
	return s->version;
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

/* NULL binds SQL NULL; the string must outlive the step (it is not
 * copied). */
static int
store_bind_text(sqlite3_stmt *st, int i, const char *text)
{
	if (text == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* 0 means "unknown" or "none" in struct event, NULL in SQL. */
static int
store_bind_nonzero(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_int64(st, i, v);
}

/* A counter that cannot really exceed INT64_MAX, clamped if it does. */
static int
store_bind_count(sqlite3_stmt *st, int i, uint64_t v)
{
	return sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX :
	    (int64_t)v);
}

/* Keeps all 64 bits of an identifier (a join key may be a hash). */
static int64_t
store_u64_bits(uint64_t v)
{
	int64_t	i;

	memcpy(&i, &v, sizeof(i));
	return i;
}

static int
store_bind_event(sqlite3_stmt *st, const struct event *ev, const char *addr,
    const char *kind, const char *source)
{
	int	rc;

	if ((rc = sqlite3_bind_int64(st, 1, ev->time)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 2, addr)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 3, ev->port)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 4, ev->sport)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 5, ev->service)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 6, kind)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 7, source)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 8, ev->origin)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 9, ev->user)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 10, ev->bytes_in)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 11, ev->bytes_out)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 12, ev->pkts_in)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 13, ev->pkts_out)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 14, ev->duration)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 15, store_u64_bits(ev->flow))) !=
	    SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

/*
 * Errors after which SQLite has undone only the failed statement and the
 * transaction is intact: the bad row is lost, the batch is not.
 */
static int
store_error_is_row_only(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return 1;
	}
	return 0;
}

int
store_event_add(struct store *s, const struct event *ev)
{
	char		 addr[ADDR_STRLEN];
	const char	*kind, *source;
	int		 rc;

	if (s->rdonly)
		fatalx("store_event_add: %s is open read-only", s->path);

	kind = event_kind_name(ev->kind);
	source = event_source_name(ev->source);
	if (kind == NULL || source == NULL) {
		store_warn(s, "event", "kind or source out of range");
		s->stats.lost++;
		return -1;
	}
	addr_ntop(&ev->addr, addr, sizeof(addr));

	if (sqlite3_get_autocommit(s->db) && store_begin(s) == -1) {
		s->stats.lost++;
		return -1;
	}
	rc = store_bind_event(s->st_event, ev, addr, kind, source);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s->st_event);
	/* The statement keeps pointers to the event's strings, but every
	 * parameter is bound again before the next step. */
	sqlite3_reset(s->st_event);
	if (rc != SQLITE_DONE) {
		store_warn(s, "insert", sqlite3_errmsg(s->db));
		if (store_error_is_row_only(rc) &&
		    !sqlite3_get_autocommit(s->db))
			s->stats.lost++;
		else
			store_rollback(s, 1);
		return -1;
	}
	s->stats.pending++;
	if (s->stats.pending >= s->batch_max)
		return store_flush(s);
	return 0;
}

int
store_flush(struct store *s)
{
	if (s->rdonly || sqlite3_get_autocommit(s->db)) {
		/* Nothing open.  pending is already 0 unless SQLite ended a
		 * transaction behind our back; then those rows are gone. */
		if (s->stats.pending > 0)
			store_rollback(s, 0);
		return 0;
	}
	if (store_step(s->st_commit) != SQLITE_DONE) {
		/* A failed COMMIT may leave the transaction open (a deferred
		 * constraint) or not (an I/O error): roll back either way. */
		store_warn(s, "commit", sqlite3_errmsg(s->db));
		store_rollback(s, 0);
		return -1;
	}
	s->stats.rows += s->stats.pending;
	s->stats.commits++;
	s->stats.pending = 0;
	return 0;
}

/* Runs a purge statement until it deletes nothing more, adding to *total. */
static int
store_purge_step(struct store *s, sqlite3_stmt *st, int64_t before,
    int chunked, int64_t *total)
{
	int	n, rc;

	do {
		if ((rc = sqlite3_bind_int64(st, 1, before)) != SQLITE_OK ||
		    (chunked && (rc = sqlite3_bind_int(st, 2,
		    STORE_PURGE_CHUNK)) != SQLITE_OK) ||
		    (rc = store_step(st)) != SQLITE_DONE)
			return -1;
		n = sqlite3_changes(s->db);
		*total += n;
	} while (chunked && n == STORE_PURGE_CHUNK);
	return 0;
}

int64_t
store_purge(struct store *s, int64_t before, char **cause)
{
	int64_t	total = 0;

	if (s->rdonly) {
		*cause = xasprintf("%s: cannot purge: opened read-only",
		    s->path);
		return -1;
	}
	/* Each DELETE below is its own transaction: no batch may be open.
	 * A failed flush has counted its rows already. */
	store_flush(s);
	if (store_purge_step(s, s->st_purge_events, before, 1, &total) == -1 ||
	    store_purge_step(s, s->st_purge_bans, before, 0, &total) == -1 ||
	    store_purge_step(s, s->st_purge_offences, before, 0,
	    &total) == -1) {
		store_cause(cause, s->path, s->db, "purge");
		return -1;
	}
	return total;
}

void
store_get_stats(const struct store *s, struct store_stats *st)
{
	*st = s->stats;
}
