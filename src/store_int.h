/*
 * The store's private parts, shared by the write path (store.c), the ban
 * rows (store_ban.c), the reads at start (store_recent.c) and the file's
 * checks, set-up and migrations (store_schema.c).  store.c calls
 * store_schema.c, never the other way round.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "log.h"
#include "store.h"

struct sql_migration;

/*
 * Every statement the daemon runs, prepared once at open.  The INSERTs run
 * for each row of a batch and are kept persistent; purges run hourly.
 */
enum store_st {
	STORE_ST_BEGIN,
	STORE_ST_COMMIT,
	STORE_ST_ROLLBACK,
	STORE_ST_EVENT,
	STORE_ST_CONN,
	STORE_ST_VERDICT,
	STORE_ST_ROLLUP,
	STORE_ST_ROLLUP_DAY,
	STORE_ST_ROLLUP_ALL,
	STORE_ST_PURGE_EVENTS,
	STORE_ST_PURGE_CONNS,
	STORE_ST_PURGE_VERDICTS,
	STORE_ST_PURGE_ROLLUPS,
	STORE_ST_PURGE_ROLLUPS_DAY,
	STORE_ST_PURGE_ROLLUPS_ALL,
	STORE_ST_PURGE_SURGE,
	STORE_ST_PURGE_BANS,
	STORE_ST_PURGE_OFFENCES,
	STORE_ST_SURGE_SET,
	STORE_ST_SURGE_GET,
	STORE_ST_LOGPOS_SET,
	STORE_ST_LOGPOS_GET,
	STORE_ST_JCURSOR_SET,
	STORE_ST_JCURSOR_GET,
	STORE_ST_BAN_ADD,
	STORE_ST_BAN_UPDATE,
	STORE_ST_BAN_SCOPE,
	STORE_ST_BAN_LIFT,
	STORE_ST_BAN_COUNT,
	STORE_ST_BAN_OPEN,
	STORE_ST_RECENT_CONNS,
	STORE_ST_RECENT_AUTH_FAIL,
	STORE_ST_RECENT_REGISTER,
	STORE_ST_RECENT_AUTH_OK,
	STORE_ST_RECENT_S2S_OK,
	STORE_ST_RECENT_VERDICTS,
	STORE_ST_MAX
};

struct store {
	sqlite3		*db;
	char		*path;
	int		 rdonly;
	int		 version;	/* user_version once open */
	uint32_t	 batch_max;

	/* Prepared at open for a writable store; NULL when read-only. */
	sqlite3_stmt	*st[STORE_ST_MAX];

	struct store_stats stats;
	struct log_ratelimit warn_rl;
};

/*
 * store.c, for store_ban.c and store_recent.c.
 */
/* Counts a run-time failure and logs it, rate-limited. */
void	 store_warn(struct store *, const char *what, const char *msg);
/* Steps a statement with no result rows and resets it: its result code. */
int	 store_step(sqlite3_stmt *);
/* Binds text (NULL: SQL NULL), not copied: it must outlive the step. */
int	 store_bind_text(sqlite3_stmt *, int i, const char *text);
/* Steps a row of the batch whose binding ended with rc: 0 or -1
 * (counted). */
int	 store_row(struct store *, sqlite3_stmt *, int rc);
/* Fatal if s is read-only: a write there is our bug. */
void	 store_check_writable(const struct store *, const char *what);

/*
 * store_schema.c.
 */
/* Sets *cause to "PATH: what: sqlite's message", in the words an operator
 * needs (the file is not a database, is corrupt, cannot be opened: why). */
void	 store_cause(char **cause, const char *path, sqlite3 *db,
	    const char *what);
/* Runs sql and reads the first column of its first row as an integer: an
 * SQLite result code, SQLITE_OK when *out was set. */
int	 store_query_int(sqlite3 *db, const char *sql, int64_t *out);
/* 0 if m[0..n-1] are numbered 1..n, else -1 and *cause. */
int	 store_check_migrations(const struct sql_migration *m, int n,
	    char **cause);
/* Applies what is missing of m[0..n-1] to s, one transaction each. */
int	 store_migrate(struct store *s, const struct sql_migration *m, int n,
	    char **cause);
/*
 * Checks the file just opened as s->db (a database, ours, a version this
 * binary reads) and, unless s is read-only, sets it up (WAL) and migrates
 * it to the newest schema.  0, or -1 and *cause naming the file.
 */
int	 store_schema_open(struct store *s, char **cause);

#endif /* STORE_INT_H */
