/*
 * The store: one SQLite connection to one file, in WAL mode, owned by one
 * thread.
 *
 * Opening checks the file and brings its schema up to date
 * (store_schema.c: what the file must be, the migrations, WAL), then
 * prepares every statement the daemon will run, so a statement that does
 * not fit the schema fails at open, never at run time.
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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "event.h"
#include "log.h"
#include "loop.h"
#include "siphash.h"
#include "sql_migrations.h"
#include "status.h"
#include "store.h"
#include "store_int.h"
#include "verdict.h"
#include "xmalloc.h"

/* Long enough for a checkpoint by another connection, short enough that a
 * stuck writer shows up as an error instead of a hung daemon. */
#define STORE_BUSY_TIMEOUT_MS	5000
/* Retention deletes in chunks of this many rows, each its own transaction,
 * so the WAL (which holds every page a transaction touches) stays small. */
#define STORE_PURGE_CHUNK	10000
#define STORE_WARN_INTERVAL	(10 * CLOCK_US_PER_SEC)

static const struct {
	const char	*sql;
	int		 persistent;	/* stepped per row */
	int		 chunked;	/* a purge taking ?2 = chunk size */
} store_sql[STORE_ST_MAX] = {
	[STORE_ST_BEGIN] = { "BEGIN IMMEDIATE", 1, 0 },
	[STORE_ST_COMMIT] = { "COMMIT", 1, 0 },
	[STORE_ST_ROLLBACK] = { "ROLLBACK", 1, 0 },
	[STORE_ST_EVENT] = {
	    "INSERT INTO events (time, addr, port, sport, service, kind, "
	    "source, origin, user, bytes_in, bytes_out, pkts_in, pkts_out, "
	    "duration, flow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	    "?11, ?12, ?13, ?14, ?15)", 1, 0 },
	[STORE_ST_CONN] = {
	    "INSERT INTO conns (ended, addr, port, sport, service, opened, "
	    "closed, bytes_in, bytes_out, pkts_in, pkts_out, duration, flow, "
	    "flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	    "?13, ?14)", 1, 0 },
	[STORE_ST_VERDICT] = {
	    "INSERT INTO verdicts (time, addr, prefixlen, rule, service, "
	    "observed, lim, window, allowlisted, reason, held) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", 1, 0 },
	/* Adds to the hour's row, or starts it. */
	[STORE_ST_ROLLUP] = {
	    "INSERT INTO rollups (hour, addr, service, conns, short_lived, "
	    "halfopen, bytes_in, bytes_out, peak_live, verdicts, auth_fail, "
	    "register, refused, refused_concurrency, refused_churn, "
	    "refused_net_concurrency, refused_net_churn, refused_surge) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18) "
	    "ON CONFLICT (hour, addr, service) DO UPDATE SET "
	    "conns = conns + excluded.conns, "
	    "short_lived = short_lived + excluded.short_lived, "
	    "halfopen = halfopen + excluded.halfopen, "
	    "bytes_in = bytes_in + excluded.bytes_in, "
	    "bytes_out = bytes_out + excluded.bytes_out, "
	    "peak_live = max(peak_live, excluded.peak_live), "
	    "verdicts = verdicts + excluded.verdicts, "
	    "auth_fail = auth_fail + excluded.auth_fail, "
	    "register = register + excluded.register, "
	    "refused = refused + excluded.refused, "
	    "refused_concurrency = refused_concurrency + "
	    "excluded.refused_concurrency, "
	    "refused_churn = refused_churn + excluded.refused_churn, "
	    "refused_net_concurrency = refused_net_concurrency + "
	    "excluded.refused_net_concurrency, "
	    "refused_net_churn = refused_net_churn + "
	    "excluded.refused_net_churn, "
	    "refused_surge = refused_surge + excluded.refused_surge "
	    "RETURNING conns, auth_fail, register", 1, 0 },
	/* The day's row: the same increments, and the hour's new counts
	 * (RETURNING above) for its busiest hour. */
	[STORE_ST_ROLLUP_DAY] = {
	    "INSERT INTO rollups_day (day, addr, service, conns, short_lived, "
	    "halfopen, bytes_in, bytes_out, peak_live, verdicts, auth_fail, "
	    "register, max_conns, max_auth_fail, max_register, refused) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16) "
	    "ON CONFLICT (day, addr, service) DO UPDATE SET "
	    "conns = conns + excluded.conns, "
	    "short_lived = short_lived + excluded.short_lived, "
	    "halfopen = halfopen + excluded.halfopen, "
	    "bytes_in = bytes_in + excluded.bytes_in, "
	    "bytes_out = bytes_out + excluded.bytes_out, "
	    "peak_live = max(peak_live, excluded.peak_live), "
	    "verdicts = verdicts + excluded.verdicts, "
	    "auth_fail = auth_fail + excluded.auth_fail, "
	    "register = register + excluded.register, "
	    "max_conns = max(max_conns, excluded.max_conns), "
	    "max_auth_fail = max(max_auth_fail, excluded.max_auth_fail), "
	    "max_register = max(max_register, excluded.max_register), "
	    "refused = refused + excluded.refused", 1, 0 },
	[STORE_ST_ROLLUP_ALL] = {
	    "INSERT INTO rollups_all (hour, service, conns, halfopen, "
	    "verdicts, auth_fail, register, refused) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8) ON CONFLICT (hour, service) DO UPDATE SET "
	    "conns = conns + excluded.conns, "
	    "halfopen = halfopen + excluded.halfopen, "
	    "verdicts = verdicts + excluded.verdicts, "
	    "auth_fail = auth_fail + excluded.auth_fail, "
	    "register = register + excluded.register, "
	    "refused = refused + excluded.refused", 1, 0 },
	/* The rowid subqueries walk the time index from the oldest row. */
	[STORE_ST_PURGE_EVENTS] = {
	    "DELETE FROM events WHERE id IN "
	    "(SELECT id FROM events WHERE time < ?1 LIMIT ?2)", 0, 1 },
	[STORE_ST_PURGE_CONNS] = {
	    "DELETE FROM conns WHERE id IN "
	    "(SELECT id FROM conns WHERE ended < ?1 LIMIT ?2)", 0, 1 },
	[STORE_ST_PURGE_VERDICTS] = {
	    "DELETE FROM verdicts WHERE time < ?1", 0, 0 },
	[STORE_ST_PURGE_ROLLUPS] = {
	    "DELETE FROM rollups WHERE hour < ?1", 0, 0 },
	/* A day goes once all of it is older than the limit. */
	[STORE_ST_PURGE_ROLLUPS_DAY] = {
	    "DELETE FROM rollups_day WHERE day <= ?1 - 86400000000", 0, 0 },
	[STORE_ST_PURGE_ROLLUPS_ALL] = {
	    "DELETE FROM rollups_all WHERE hour < ?1", 0, 0 },
	/* A ban is history once it has ended: lifted or expired, whichever
	 * came first.  One with neither may still be in force and is kept. */
	/* A baseline's hour not learnt again within the retention. */
	[STORE_ST_PURGE_SURGE] = {
	    "DELETE FROM surge_baseline WHERE updated < ?1", 0, 0 },
	[STORE_ST_PURGE_BANS] = {
	    "DELETE FROM bans WHERE "
	    "min(coalesce(lifted, expires), coalesce(expires, lifted)) < ?1",
	    0, 0 },
	[STORE_ST_PURGE_OFFENCES] = {
	    "DELETE FROM offences WHERE time < ?1", 0, 0 },
	[STORE_ST_SURGE_SET] = {
	    "INSERT INTO surge_baseline (service, hour, window, base, "
	    "updated) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (service, hour) "
	    "DO UPDATE SET window = excluded.window, base = excluded.base, "
	    "updated = excluded.updated", 1, 0 },
	[STORE_ST_SURGE_GET] = {
	    "SELECT service, hour, window, base FROM surge_baseline "
	    "WHERE updated >= ?1 ORDER BY service, hour", 0, 0 },
	[STORE_ST_LOGPOS_SET] = {
	    "INSERT INTO log_positions (name, path, pos, updated) VALUES "
	    "(?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
	    "path = excluded.path, pos = excluded.pos, "
	    "updated = excluded.updated", 1, 0 },
	[STORE_ST_LOGPOS_GET] = {
	    "SELECT pos FROM log_positions WHERE name = ?1 AND path = ?2",
	    0, 0 },
	[STORE_ST_JCURSOR_SET] = {
	    "INSERT INTO journal_cursors (name, source, cursor, updated) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
	    "source = excluded.source, cursor = excluded.cursor, "
	    "updated = excluded.updated", 1, 0 },
	[STORE_ST_JCURSOR_GET] = {
	    "SELECT cursor FROM journal_cursors WHERE name = ?1 AND "
	    "source = ?2", 0, 0 },
	[STORE_ST_BAN_ADD] = {
	    "INSERT INTO bans (addr, prefixlen, rule, reason, since, expires, "
	    "count, source, throttled, scope) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10)", 1, 0 },
	[STORE_ST_BAN_UPDATE] = {
	    "UPDATE bans SET expires = ?2, reason = ?3 WHERE id = ?1", 1, 0 },
	[STORE_ST_BAN_SCOPE] = {
	    "UPDATE bans SET scope = ?2 WHERE id = ?1", 1, 0 },
	[STORE_ST_BAN_LIFT] = {
	    "UPDATE bans SET lifted = ?2 WHERE id = ?1", 1, 0 },
	[STORE_ST_BAN_COUNT] = {
	    "SELECT count(*) FROM bans WHERE addr = ?1 AND prefixlen = ?2 "
	    "AND since >= ?3", 0, 0 },
	[STORE_ST_BAN_OPEN] = {
	    "SELECT id, addr, prefixlen, rule, reason, since, expires, count, "
	    "source, throttled, scope FROM bans WHERE lifted IS NULL AND "
	    "expires > ?1 ORDER BY since", 0, 0 },
	/*
	 * The tracker's windows at start, newest first, so that a cap keeps
	 * the newest rows.  A connection's row is written when it ends, so
	 * rows follow ended (but for a step of the clock): conns_ended finds
	 * the first of the window and the table is read from there on in
	 * rowid order, a page at a time, instead of one lookup per row
	 * (ended is never before opened).  Flag 4: found live at start, not
	 * new (EVENT_F_PREEXISTING).  The kinds' partial indexes of
	 * sql/009_recent_windows.sql and 012_recent_accounts.sql cover the
	 * log events; their kind must be written out here for SQLite to use
	 * them.
	 */
	[STORE_ST_RECENT_CONNS] = {
	    "SELECT opened, addr, port, service FROM conns WHERE "
	    "id >= (SELECT id FROM conns WHERE ended >= ?1 ORDER BY ended "
	    "LIMIT 1) AND ended >= ?1 AND opened >= ?1 AND (flags & 4) = 0 "
	    "ORDER BY id DESC LIMIT ?2", 0, 0 },
	[STORE_ST_RECENT_AUTH_FAIL] = {
	    "SELECT time, addr FROM events WHERE kind = 'auth_fail' AND "
	    "time >= ?1 ORDER BY time DESC LIMIT ?2", 0, 0 },
	[STORE_ST_RECENT_REGISTER] = {
	    "SELECT time, addr, user FROM events WHERE kind = 'register' AND "
	    "time >= ?1 ORDER BY time DESC LIMIT ?2", 0, 0 },
	[STORE_ST_RECENT_AUTH_OK] = {
	    "SELECT time, addr, user FROM events WHERE kind = 'auth_ok' AND "
	    "time >= ?1 ORDER BY time DESC LIMIT ?2", 0, 0 },
	[STORE_ST_RECENT_S2S_OK] = {
	    "SELECT time, addr, user FROM events WHERE kind = 's2s_ok' AND "
	    "time >= ?1 ORDER BY time DESC LIMIT ?2", 0, 0 },
	[STORE_ST_RECENT_VERDICTS] = {
	    "SELECT time, addr, prefixlen, rule, service FROM verdicts "
	    "WHERE time >= ?1 ORDER BY time DESC LIMIT ?2", 0, 0 },
};

/*
 * Counts and logs a run-time failure, while sqlite3_errmsg() still describes
 * it: at most one warning per STORE_WARN_INTERVAL, with the number of
 * failures held back since the previous one.
 */
void
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
int
store_step(sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
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
	    store_step(s->st[STORE_ST_ROLLBACK]) != SQLITE_DONE)
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
	if (store_step(s->st[STORE_ST_BEGIN]) != SQLITE_DONE) {
		store_warn(s, "begin", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/*
 * Prepares every statement.  The table is prepared against the schema, so
 * a statement that does not fit the migrations fails here, at open, and
 * never at run time.
 */
static int
store_prepare_all(struct store *s, char **cause)
{
	int	i;

	for (i = 0; i < STORE_ST_MAX; i++) {
		if (sqlite3_prepare_v3(s->db, store_sql[i].sql, -1,
		    store_sql[i].persistent ? SQLITE_PREPARE_PERSISTENT : 0,
		    &s->st[i], NULL) != SQLITE_OK) {
			store_cause(cause, s->path, s->db,
			    "preparing statements");
			return -1;
		}
	}
	return 0;
}

static void
store_finalize_all(struct store *s)
{
	int	i;

	for (i = 0; i < STORE_ST_MAX; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
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
	int		 oflags;

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

	if (store_schema_open(s, cause) == -1 ||
	    (!s->rdonly && store_prepare_all(s, cause) == -1))
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

/* NULL binds SQL NULL; the string must outlive the step (it is not
 * copied). */
int
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

/*
 * The shared tail of every writer: the statement st has been bound (rc is
 * the first binding error, or SQLITE_OK); step it inside the batch, count
 * it, and commit when the batch is full.
 */
static int
store_row_returning(struct store *s, sqlite3_stmt *st, int rc, int64_t *out,
    int nout)
{
	int	i;

	if (rc == SQLITE_OK && sqlite3_get_autocommit(s->db) &&
	    store_begin(s) == -1) {
		sqlite3_reset(st);
		s->stats.lost++;
		return -1;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* RETURNING: one row, then the statement completes. */
		for (i = 0; i < nout; i++)
			out[i] = sqlite3_column_int64(st, i);
		rc = sqlite3_step(st);
	}
	/* The statement keeps pointers to the caller's strings, but every
	 * parameter is bound again before the next step. */
	sqlite3_reset(st);
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
store_row(struct store *s, sqlite3_stmt *st, int rc)
{
	return store_row_returning(s, st, rc, NULL, 0);
}

void
store_check_writable(const struct store *s, const char *what)
{
	if (s->rdonly)
		fatalx("%s: %s is open read-only", what, s->path);
}

int
store_event_add(struct store *s, const struct event *ev)
{
	char		 addr[ADDR_STRLEN];
	const char	*kind, *source;

	store_check_writable(s, "store_event_add");
	kind = event_kind_name(ev->kind);
	source = event_source_name(ev->source);
	if (kind == NULL || source == NULL) {
		store_warn(s, "event", "kind or source out of range");
		s->stats.lost++;
		return -1;
	}
	addr_ntop(&ev->addr, addr, sizeof(addr));
	return store_row(s, s->st[STORE_ST_EVENT], store_bind_event(
	    s->st[STORE_ST_EVENT], ev, addr, kind, source));
}

static int
store_bind_conn(sqlite3_stmt *st, const struct event *ev, const char *addr)
{
	int	rc;

	if ((rc = sqlite3_bind_int64(st, 1, ev->time)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 2, addr)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, ev->port)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 4, ev->sport)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 5, ev->service)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 6, ev->start)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 7, ev->start != 0 &&
	    ev->duration != 0 ? ev->start + ev->duration : 0)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 8, ev->bytes_in)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 9, ev->bytes_out)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 10, ev->pkts_in)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 11, ev->pkts_out)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 12, ev->duration)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 13, store_u64_bits(ev->flow))) !=
	    SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 14, (int)ev->flags)) != SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

int
store_conn_add(struct store *s, const struct event *ev)
{
	sqlite3_stmt	*st = s->st[STORE_ST_CONN];
	char		 addr[ADDR_STRLEN];

	store_check_writable(s, "store_conn_add");
	addr_ntop(&ev->addr, addr, sizeof(addr));
	return store_row(s, st, store_bind_conn(st, ev, addr));
}

static int
store_bind_verdict(sqlite3_stmt *st, const struct verdict *v, const char *addr,
    const char *rule)
{
	int	rc;

	if ((rc = sqlite3_bind_int64(st, 1, v->time)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 2, addr)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, v->prefix.len)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 4, rule)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 5, v->service)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 6, v->observed)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 7, v->limit)) != SQLITE_OK ||
	    (rc = store_bind_nonzero(st, 8, v->window)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 9, v->allowlisted != 0)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 10, v->reason)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 11, v->held != 0)) != SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

/*
 * A position row (log_positions, journal_cursors): the statement of kind
 * which binds name, what was followed (a path, a journal source) and the
 * position itself.
 */
static int
store_pos_set(struct store *s, enum store_st which, const char *name,
    const char *what, const char *pos, int64_t now)
{
	sqlite3_stmt	*st = s->st[which];
	int		 rc;

	if ((rc = store_bind_text(st, 1, name)) == SQLITE_OK &&
	    (rc = store_bind_text(st, 2, what)) == SQLITE_OK &&
	    (rc = store_bind_text(st, 3, pos)) == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, now);
	return store_row(s, st, rc);
}

static int
store_pos_get(struct store *s, enum store_st which, const char *name,
    const char *what, char *buf, size_t size)
{
	sqlite3_stmt		*st = s->st[which];
	const unsigned char	*text;
	int			 rc, found = -1;

	if (store_bind_text(st, 1, name) != SQLITE_OK ||
	    store_bind_text(st, 2, what) != SQLITE_OK) {
		sqlite3_reset(st);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (text = sqlite3_column_text(st, 0)) != NULL &&
	    strlen((const char *)text) < size) {
		memcpy(buf, text, strlen((const char *)text) + 1);
		found = 0;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_warn(s, "log position", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return found;
}

int
store_logpos_set(struct store *s, const char *name, const char *path,
    const char *pos, int64_t now)
{
	store_check_writable(s, __func__);
	return store_pos_set(s, STORE_ST_LOGPOS_SET, name, path, pos, now);
}

int
store_logpos_get(struct store *s, const char *name, const char *path,
    char *buf, size_t size)
{
	store_check_writable(s, __func__);
	return store_pos_get(s, STORE_ST_LOGPOS_GET, name, path, buf, size);
}

int
store_journal_set(struct store *s, const char *name, const char *source,
    const char *cursor, int64_t now)
{
	store_check_writable(s, __func__);
	return store_pos_set(s, STORE_ST_JCURSOR_SET, name, source, cursor,
	    now);
}

int
store_journal_get(struct store *s, const char *name, const char *source,
    char *buf, size_t size)
{
	store_check_writable(s, __func__);
	return store_pos_get(s, STORE_ST_JCURSOR_GET, name, source, buf,
	    size);
}

int
store_logpos_key(struct store *s, struct siphash_key *key)
{
	sqlite3_stmt	*st;
	const uint8_t	*k;
	int		 i, rc = -1;

	store_check_writable(s, __func__);
	/* Once per start or reload: not worth a prepared statement. */
	if (sqlite3_prepare_v2(s->db, "SELECT key FROM log_head_key "
	    "WHERE id = 1", -1, &st, NULL) != SQLITE_OK) {
		store_warn(s, "log head key", sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == 16 &&
	    (k = sqlite3_column_blob(st, 0)) != NULL) {
		key->k0 = key->k1 = 0;
		for (i = 7; i >= 0; i--) {
			key->k0 = key->k0 << 8 | k[i];
			key->k1 = key->k1 << 8 | k[8 + i];
		}
		rc = 0;
	} else
		store_warn(s, "log head key", "missing or not 16 bytes");
	sqlite3_finalize(st);
	return rc;
}

int
store_verdict_add(struct store *s, const struct verdict *v)
{
	sqlite3_stmt	*st = s->st[STORE_ST_VERDICT];
	char		 addr[ADDR_STRLEN];
	const char	*rule;

	store_check_writable(s, "store_verdict_add");
	if ((rule = verdict_rule_name(v->rule)) == NULL) {
		store_warn(s, "verdict", "rule out of range");
		s->stats.lost++;
		return -1;
	}
	addr_ntop(&v->prefix.addr, addr, sizeof(addr));
	return store_row(s, st, store_bind_verdict(st, v, addr, rule));
}

static int
store_bind_rollup(sqlite3_stmt *st, const struct store_rollup *r,
    const char *addr)
{
	int	rc;

	if ((rc = sqlite3_bind_int64(st, 1, r->hour)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 2, addr)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 3, r->service)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 4, r->conns)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 5, r->short_lived)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 6, r->halfopen)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 7, r->bytes_in)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 8, r->bytes_out)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 9, r->peak_live)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 10, r->verdicts)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 11, r->auth_fail)) != SQLITE_OK ||
	    (rc = store_bind_count(st, 12, r->registered)) != SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

static const char *const store_cap_names[STORE_CAP_MAX] = {
	[STORE_CAP_CONCURRENCY] = "concurrency",
	[STORE_CAP_CHURN] = "churn",
	[STORE_CAP_NET_CONCURRENCY] = "net_concurrency",
	[STORE_CAP_NET_CHURN] = "net_churn",
	[STORE_CAP_SURGE] = "surge",
};

const char *
store_cap_name(int i)
{
	return i >= 0 && i < STORE_CAP_MAX ? store_cap_names[i] : NULL;
}

int
store_cap_from_name(const char *name)
{
	int	i;

	for (i = 0; i < STORE_CAP_MAX; i++)
		if (strcmp(store_cap_names[i], name) == 0)
			return i;
	return -1;
}

/* The refusals of r, all caps together. */
static uint64_t
store_rollup_refused(const struct store_rollup *r)
{
	uint64_t	n = 0;
	int		i;

	for (i = 0; i < STORE_CAP_MAX; i++)
		n += r->refused[i];
	return n;
}

/*
 * Three rows: the hour's (rollups), the day's (rollups_day) and the hour's
 * over all addresses (rollups_all).  The day's and the total's are written
 * only if the hour's was, so they never count what the hour lost.
 */
int
store_rollup_add(struct store *s, const struct store_rollup *r)
{
	sqlite3_stmt	*st = s->st[STORE_ST_ROLLUP];
	char		 addr[ADDR_STRLEN];
	int64_t		 hour[3] = { 0, 0, 0 };
	int		 rc;

	uint64_t	 refused = store_rollup_refused(r);
	int		 i;

	store_check_writable(s, "store_rollup_add");
	addr_ntop(&r->addr, addr, sizeof(addr));
	rc = store_bind_rollup(st, r, addr);
	if (rc == SQLITE_OK)
		rc = store_bind_count(st, 13, refused);
	for (i = 0; i < STORE_CAP_MAX && rc == SQLITE_OK; i++)
		rc = store_bind_count(st, 14 + i, r->refused[i]);
	if (store_row_returning(s, st, rc, hour, 3) == -1)
		return -1;
	st = s->st[STORE_ST_ROLLUP_DAY];
	if ((rc = store_bind_rollup(st, r, addr)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 1, store_day(r->hour))) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 13, hour[0])) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 14, hour[1])) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 15, hour[2])) == SQLITE_OK)
		rc = store_bind_count(st, 16, refused);
	if (store_row(s, st, rc) == -1)
		return -1;
	st = s->st[STORE_ST_ROLLUP_ALL];
	if ((rc = sqlite3_bind_int64(st, 1, r->hour)) == SQLITE_OK &&
	    (rc = store_bind_text(st, 2, r->service)) == SQLITE_OK &&
	    (rc = store_bind_count(st, 3, r->conns)) == SQLITE_OK &&
	    (rc = store_bind_count(st, 4, r->halfopen)) == SQLITE_OK &&
	    (rc = store_bind_count(st, 5, r->verdicts)) == SQLITE_OK &&
	    (rc = store_bind_count(st, 6, r->auth_fail)) == SQLITE_OK &&
	    (rc = store_bind_count(st, 7, r->registered)) == SQLITE_OK)
		rc = store_bind_count(st, 8, refused);
	return store_row(s, st, rc);
}

int
store_surge_base_set(struct store *s, const char *service, int hour,
    int64_t window, double base, int64_t now)
{
	sqlite3_stmt	*st = s->st[STORE_ST_SURGE_SET];
	int		 rc;

	store_check_writable(s, __func__);
	if ((rc = store_bind_text(st, 1, service)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 2, hour)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 3, window)) == SQLITE_OK &&
	    (rc = sqlite3_bind_double(st, 4, base)) == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, now);
	return store_row(s, st, rc);
}

int64_t
store_surge_base_load(struct store *s, int64_t since,
    void (*cb)(const char *, int, int64_t, double, void *), void *arg,
    char **cause)
{
	sqlite3_stmt	*st = s->st[STORE_ST_SURGE_GET];
	const char	*svc;
	int64_t		 n = 0;
	int		 rc;

	store_check_writable(s, __func__);
	if (sqlite3_bind_int64(st, 1, since) != SQLITE_OK) {
		store_cause(cause, s->path, s->db, "surge baseline");
		sqlite3_reset(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((svc = (const char *)sqlite3_column_text(st, 0)) == NULL)
			continue;
		cb(svc, sqlite3_column_int(st, 1), sqlite3_column_int64(st,
		    2), sqlite3_column_double(st, 3), arg);
		n++;
	}
	if (rc != SQLITE_DONE) {
		store_cause(cause, s->path, s->db, "surge baseline");
		n = -1;
	}
	sqlite3_reset(st);
	return n;
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
	if (store_step(s->st[STORE_ST_COMMIT]) != SQLITE_DONE) {
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

int64_t
store_day(int64_t t)
{
	int64_t	d = 86400 * CLOCK_US_PER_SEC;

	return (t >= 0 ? t / d : (t - d + 1) / d) * d;
}

int64_t
store_hour(int64_t t)
{
	int64_t	h = 3600 * CLOCK_US_PER_SEC;

	/* Floor, also for times before the epoch (tests, bad clocks). */
	return (t >= 0 ? t / h : (t - h + 1) / h) * h;
}

/*
 * One chunk of a purge (all of it if not chunked): 1 if the table has
 * nothing older left, 0 if it may, -1 on failure.
 */
static int
store_purge_one(struct store *s, enum store_st i, int64_t before,
    int64_t *total)
{
	sqlite3_stmt	*st = s->st[i];
	int		 n, rc;

	if (i == STORE_ST_PURGE_ROLLUPS || i == STORE_ST_PURGE_ROLLUPS_ALL)
		before = store_hour(before);
	if ((rc = sqlite3_bind_int64(st, 1, before)) != SQLITE_OK ||
	    (store_sql[i].chunked && (rc = sqlite3_bind_int(st, 2,
	    STORE_PURGE_CHUNK)) != SQLITE_OK) ||
	    (rc = store_step(st)) != SQLITE_DONE)
		return -1;
	n = sqlite3_changes(s->db);
	*total += n;
	return !store_sql[i].chunked || n < STORE_PURGE_CHUNK;
}

/*
 * A budget spent between chunks leaves the rest to the next call, which
 * begins again with the first table: the tables done cost it an index
 * seek each, and nothing needs remembering between calls.  The budget is
 * looked at only after a chunk that deleted rows, so every call that
 * returns 0 has made progress.
 */
int
store_purge_some(struct store *s, int64_t before, struct loop_budget *b,
    int64_t *total, char **cause)
{
	enum store_st	 i;
	int64_t		 was;
	int		 r;

	*total = 0;
	if (s->rdonly) {
		*cause = xasprintf("%s: cannot purge: opened read-only",
		    s->path);
		return -1;
	}
	/* Each DELETE below is its own transaction: no batch may be open.
	 * A failed flush has counted its rows already. */
	store_flush(s);
	for (i = STORE_ST_PURGE_EVENTS; i <= STORE_ST_PURGE_OFFENCES; i++) {
		do {
			was = *total;
			if ((r = store_purge_one(s, i, before, total)) == -1) {
				store_cause(cause, s->path, s->db, "purge");
				return -1;
			}
			if (b != NULL && *total > was && loop_budget_spent(b))
				return r == 1 && i == STORE_ST_PURGE_OFFENCES;
		} while (r == 0);
	}
	return 1;
}

int64_t
store_purge(struct store *s, int64_t before, char **cause)
{
	int64_t	total;

	if (store_purge_some(s, before, NULL, &total, cause) == -1)
		return -1;
	return total;
}

void
store_get_stats(const struct store *s, struct store_stats *st)
{
	*st = s->stats;
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

/* Status: the store's writes and what failed. */
struct store_status {
	const char		*path;
	struct store_stats	 st;
};

static void
store_status_get(const void *obj, size_t i, void *snap)
{
	const struct store	*s = obj;
	struct store_status	*ss = snap;

	(void)i;
	ss->path = s->path;
	store_get_stats(s, &ss->st);
}

#define SS(f)	offsetof(struct store_status, st.f)
static const struct status_field store_status_fields[] = {
	{ .name = "path", .type = STATUS_STR,
	  .off = offsetof(struct store_status, path), .text = "%" },
	{ .name = "rows", .type = STATUS_U64, .off = SS(rows),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_store_rows_total",
	  .help = "Rows written to the store.", .text = "% rows" },
	{ .name = "commits", .type = STATUS_U64, .off = SS(commits) },
	{ .name = "errors", .type = STATUS_U64, .off = SS(errors),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_store_errors_total",
	  .help = "Failed statements or commits.", .text = "% errors" },
	{ .name = "lost", .type = STATUS_U64, .off = SS(lost),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_store_lost_rows_total",
	  .help = "Rows lost to failed commits.", .text = "% lost" },
	{ .name = "pending", .type = STATUS_U32, .off = SS(pending) },
	{ .name = NULL }
};
#undef SS

const struct status_group store_status_group = {
	.name = "store",
	.text = "store",
	.fields = store_status_fields,
	.size = sizeof(struct store_status),
	.get = store_status_get,
};
