/*
 * The store: one SQLite file in WAL mode holding what happened (events,
 * connections, bans) for reports and for restarts.
 *
 * Writers only append: rows go into a transaction that stays open until
 * store_flush(), which the daemon calls from the loop's before-sleep hook,
 * so a burst of a thousand events costs one commit, not a thousand.  The
 * schema is the numbered migrations in sql/, compiled into the binary;
 * PRAGMA user_version records the newest one applied.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

#include "addr.h"

struct event;
struct siphash_key;
struct store;
struct verdict;

#define STORE_RDONLY	0x1	/* report, status: never writes or migrates */

struct store_stats {
	uint64_t	 rows;		/* rows written (committed) */
	uint64_t	 commits;	/* transactions committed */
	uint64_t	 errors;	/* failed statements or commits */
	uint64_t	 lost;		/* rows lost to failed commits */
	uint32_t	 pending;	/* rows in the open transaction */
};

/*
 * Opens (creating if needed, unless STORE_RDONLY) the database at path,
 * applies missing migrations, and prepares statements.  NULL with a message
 * naming the file in *cause (caller frees) if the file cannot be opened, is
 * not a database, is corrupt, or was written by a newer version.
 */
struct store	*store_open(const char *path, int flags, uint32_t batch_max,
		    char **cause);
/* Commits what is pending and closes; NULL is a no-op. */
void		 store_close(struct store *);

/* The schema version (PRAGMA user_version) of the open file. */
int		 store_version(struct store *);
/* The newest migration compiled into this binary. */
int		 store_latest_version(void);

/* Appends an event to the open transaction; commits by itself when
 * batch_max rows are pending.  0, or -1 (logged, counted) on error. */
int		 store_event_add(struct store *, const struct event *);
/* Appends one row to conns for a CONN_END event (a flow that completed
 * its handshake); same batching and errors as store_event_add. */
int		 store_conn_add(struct store *, const struct event *);
/* Appends a verdict (verdicts table). */
int		 store_verdict_add(struct store *, const struct verdict *);

/* A row of the bans table, as ban.c hands it over and gets it back. */
struct store_ban {
	int64_t		 id;
	struct prefix	 prefix;
	const char	*rule;
	const char	*reason;
	const char	*source;	/* "rule", "control" */
	int64_t		 since;
	int64_t		 expires;
	int64_t		 count;
	int		 throttled;
	const char	*scope;		/* "services", "proxy" (fw.h) */
};

/* A new ban: its row id, or 0 if it could not be written (counted). */
int64_t		 store_ban_add(struct store *, const struct store_ban *);
/* A ban made longer by a new verdict. */
int		 store_ban_update(struct store *, int64_t id, int64_t expires,
		    const char *reason);
/* A ban widened to scope ("proxy"). */
int		 store_ban_scope(struct store *, int64_t id, const char *scope);
/* An operator lifted it at when. */
int		 store_ban_lift(struct store *, int64_t id, int64_t when);
/* Bans of exactly this prefix that began at or after since; -1 on error. */
int64_t		 store_ban_count(struct store *, const struct prefix *,
		    int64_t since);
/* A lift of row id at when, for store_ban_save(). */
struct store_lift {
	int64_t		 id;
	int64_t		 when;
};
/*
 * Bans the batch could not record (the disk was full, the file read-only),
 * written again now in a transaction of their own, after the open batch
 * is committed: each row (its prefix and since name it) updated if the
 * store has it, inserted otherwise, its id set; then the lifts.  0, or -1
 * and *cause (SQLite's words; caller frees) with nothing written and the
 * ids as they were.
 */
int		 store_ban_save(struct store *, struct store_ban *rows,
		    size_t n, const struct store_lift *lifts, size_t nlifts,
		    char **cause);
/* Calls cb for every ban neither lifted nor expired at now, oldest first;
 * returns how many, or -1. */
int		 store_bans_open(struct store *, int64_t now,
		    void (*cb)(const struct store_ban *, void *), void *arg);

/*
 * What a start reads back into the tracker's windows, newest first, from
 * since on and max rows at most (the newest); strings in what cb gets
 * live for the call.  Each returns the rows handed to cb, or -1 with
 * *cause (the rows before the failure were handed over).
 */
enum store_recent {
	STORE_RECENT_CONNS,	/* connections whose handshake completed
				 * since, and not found live at start:
				 * CONN_OPEN events at that time */
	STORE_RECENT_AUTH_FAIL,	/* failed logins: AUTH_FAIL events */
	STORE_RECENT_REGISTER,	/* registrations: REGISTER events, with
				 * their user */
	STORE_RECENT_AUTH_OK,	/* logins: AUTH_OK events, with their
				 * user */
	STORE_RECENT_S2S_OK,	/* federated servers authenticated: S2S_OK
				 * events, with their user */
	STORE_RECENT_MAX
};
int64_t		 store_recent_events(struct store *, enum store_recent,
		    int64_t since, int64_t max,
		    void (*cb)(const struct event *, void *), void *arg,
		    char **cause);
/* The verdicts recorded since (service and reason are not filled). */
int64_t		 store_recent_verdicts(struct store *, int64_t since,
		    int64_t max, void (*cb)(const struct verdict *, void *),
		    void *arg, char **cause);

/*
 * The read position of log NAME at path, as tail_pos_format() wrote it,
 * in the open transaction, so it commits together with the events read
 * up to it.  Returns 0, or -1 (counted, logged).
 */
int		 store_logpos_set(struct store *, const char *name,
		    const char *path, const char *pos, int64_t now);
/* Copies the saved position of NAME at path into buf: 0, or -1 if none. */
int		 store_logpos_get(struct store *, const char *name,
		    const char *path, char *buf, size_t size);
/* The secret key of the hashes of files' first bytes in the positions,
 * made at random once (sql/006_log_head_hash.sql): 0, or -1. */
int		 store_logpos_key(struct store *, struct siphash_key *);
/*
 * The journal cursor of log NAME reading source (its unit, matches and
 * directory, as logsrc.c words them), saved like a file's position: in
 * the open transaction.  0, or -1 (counted, logged).
 */
int		 store_journal_set(struct store *, const char *name,
		    const char *source, const char *cursor, int64_t now);
/* Copies the saved cursor of NAME reading source into buf: 0, or -1 if
 * there is none (or it does not fit). */
int		 store_journal_get(struct store *, const char *name,
		    const char *source, char *buf, size_t size);

/*
 * The kernel caps that refuse a connection (kcap.c's nflog prefixes), as
 * the rollups' refused_* columns, status and metrics name them.
 */
enum store_cap {
	STORE_CAP_CONCURRENCY,		/* the address's max_concurrent */
	STORE_CAP_CHURN,		/* its max_new */
	STORE_CAP_NET_CONCURRENCY,	/* its network's net_max_concurrent */
	STORE_CAP_NET_CHURN,		/* its network's net_max_new */
	STORE_CAP_SURGE,		/* surge_max_new, during a surge */
	STORE_CAP_MAX
};
/* "concurrency", "churn", "net_concurrency", "net_churn", "surge"; NULL
 * out of range. */
const char	*store_cap_name(int);
/* The cap of that name, or -1. */
int		 store_cap_from_name(const char *);

/* What one address did on one service in one hour (rollups table); rows
 * for the same key add up, peak_live keeps the highest. */
struct store_rollup {
	int64_t		 hour;		/* start of the hour, us */
	struct addr	 addr;
	const char	*service;
	uint64_t	 conns;		/* completed handshakes (new) */
	uint64_t	 short_lived;	/* closed within short_lived */
	uint64_t	 halfopen;	/* SYNs never answered */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 peak_live;	/* most live connections at once */
	uint64_t	 verdicts;
	uint64_t	 auth_fail;	/* failed logins (log events) */
	uint64_t	 registered;	/* registrations (log events) */
	uint64_t	 refused[STORE_CAP_MAX];	/* by the kernel caps */
};
/* Adds to the hour's row, the day's (rollups_day) and the hour's total
 * over all addresses (rollups_all); 0, or -1 as store_event_add. */
int		 store_rollup_add(struct store *, const struct store_rollup *);
/* The start of the hour holding t (both us since epoch). */
int64_t		 store_hour(int64_t t);
/* The start of the day (UTC) holding t. */
int64_t		 store_day(int64_t t);

/*
 * Surge mode's baseline (sql/013_cap_refusals.sql): the usual strangers
 * per window of service at hour (0-23, UTC) of the day, learnt at now with
 * window (us), in the open transaction.  0, or -1 as store_event_add.
 */
int		 store_surge_base_set(struct store *, const char *service,
		    int hour, int64_t window, double base, int64_t now);
/* Hands cb every hour learnt at or after since (strings live for the
 * call); the rows handed over, or -1 with *cause. */
int64_t		 store_surge_base_load(struct store *, int64_t since,
		    void (*cb)(const char *service, int hour, int64_t window,
		    double base, void *), void *arg, char **cause);

/* Commits the open transaction, if any.  0, or -1 (logged, counted). */
int		 store_flush(struct store *);
/* Deletes rows older than before (us since epoch) from every table.
 * Returns the number of rows deleted, or -1 with *cause set. */
int64_t		 store_purge(struct store *, int64_t before, char **cause);
/* The same, a chunk at a time until the budget is spent: the rows deleted
 * by this call in *total; 1 once nothing older is left, 0 if there may be
 * (call again), -1 with *cause. */
struct loop_budget;
int		 store_purge_some(struct store *, int64_t before,
		    struct loop_budget *, int64_t *total, char **cause);

void		 store_get_stats(const struct store *, struct store_stats *);

/*
 * The SQLite handle of the store, for the report's own queries on a store
 * opened STORE_RDONLY.  Owned by the store: valid until store_close().
 */
struct sqlite3	*store_db(struct store *);

/* Its counters, for status and metrics (obj: the struct store). */
struct status_group;
extern const struct status_group store_status_group;

#endif /* STORE_H */
