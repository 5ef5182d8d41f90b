/*
 * WAL checkpoints off the event loop.
 *
 * In WAL mode every commit appends to the -wal file, and SQLite's default
 * copies it back into the database (a checkpoint, with an fsync of each
 * file) inside the COMMIT that takes the WAL past 1000 pages.  The daemon
 * commits from its loop (store_flush, or the batch_max-th row inside a
 * conntrack read), so under a busy load one commit in a few hundred
 * carried a checkpoint: 13-18 ms on a quiet disk, 100-650 ms seen on a
 * loaded one (the "longest iteration" of `make stress`), while `status`,
 * the logs and conntrack waited.
 *
 * So the writer's automatic checkpoint is off, and a thread of this module
 * does it, on a connection of its own to the same file: PASSIVE, which
 * never waits for the writer nor makes it wait (readers and the writer go
 * on; the next writer transaction after a complete checkpoint restarts
 * the WAL from its start, and journal_size_limit truncates it).  The
 * writer's WAL hook wakes the thread once the WAL holds STORE_CKPT_PAGES
 * pages, as the automatic checkpoint would have run then, at most once
 * every STORE_CKPT_GAP_MS; the thread also wakes every STORE_CKPT_IDLE_MS
 * on its own.  Past STORE_CKPT_FORCE pages the loop checkpoints too (see
 * store_ckpt_hook()), which keeps the WAL bounded.  The thread touches nothing
 * but its connection and the counters below (atomics, read by status), and
 * logs nothing: the loop's thread says what it counted.  If the thread
 * cannot start, the writer keeps SQLite's automatic checkpoint, as before.
 * At stop the thread is joined before the writer closes (its close runs
 * the last checkpoint, as before).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define STORE_CKPT_PAGES	1000	/* SQLite's own default */
#define STORE_CKPT_FORCE	16000	/* pages: the loop's own (64 MB) */
#define STORE_CKPT_GAP_MS	1000	/* between two of the thread's */
#define STORE_CKPT_IDLE_MS	5000

struct store_ckpt {
	sqlite3		*db;
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 wake;		/* under mtx */
	int		 stop;		/* under mtx */
	/* Written by the thread, read by status: __atomic builtins. */
	uint64_t	 runs;		/* checkpoints done */
	uint64_t	 busy;		/* ... that could not finish */
	uint64_t	 errors;
	int64_t		 max_us;	/* the longest */
	uint64_t	 inline_runs;	/* the loop's own (loop thread only) */
};

static int64_t
store_ckpt_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
store_ckpt_main(void *arg)
{
	struct store_ckpt	*c = arg;
	struct timespec		 until;
	int64_t			 t0, dt;
	int			 rc, log_pages, done_pages;

	for (;;) {
		pthread_mutex_lock(&c->mtx);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STORE_CKPT_IDLE_MS / 1000;
		while (!c->wake && !c->stop)
			if (pthread_cond_timedwait(&c->cond, &c->mtx,
			    &until) == ETIMEDOUT)
				break;
		c->wake = 0;
		if (c->stop) {
			pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		pthread_mutex_unlock(&c->mtx);

		t0 = store_ckpt_now();
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done_pages);
		dt = store_ckpt_now() - t0;
		if (rc == SQLITE_BUSY || (rc == SQLITE_OK &&
		    done_pages < log_pages))
			__atomic_add_fetch(&c->busy, 1, __ATOMIC_RELAXED);
		else if (rc != SQLITE_OK)
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->runs, 1, __ATOMIC_RELAXED);
		if (dt > __atomic_load_n(&c->max_us, __ATOMIC_RELAXED))
			__atomic_store_n(&c->max_us, dt, __ATOMIC_RELAXED);
		/* A pause: the writer appends all the time, and a checkpoint
		 * chasing it would copy and sync a few pages at a time. */
		pthread_mutex_lock(&c->mtx);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)STORE_CKPT_GAP_MS * 1000000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		while (!c->stop)
			if (pthread_cond_timedwait(&c->cond, &c->mtx,
			    &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&c->mtx);
	}
}

/* The writer's WAL hook (the loop's thread, after each commit). */
static int
store_ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt	*c = arg;

	(void)name;
	/* The WAL starts again from its beginning only when a checkpoint
	 * has copied every frame before a write transaction begins; the
	 * thread's, running beside the writer, never quite catches up under
	 * a steady load.  So past STORE_CKPT_FORCE pages the loop checkpoints
	 * itself, right after its commit, as SQLite would: mostly frames the
	 * thread has copied and synced already, and the WAL stays bounded. */
	if (pages >= STORE_CKPT_FORCE) {
		c->inline_runs++;
		(void)sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	if (pages >= STORE_CKPT_PAGES) {
		pthread_mutex_lock(&c->mtx);
		c->wake = 1;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->mtx);
	}
	return SQLITE_OK;
}

int
store_ckpt_start(struct store *s, char **cause)
{
	struct store_ckpt	*c;
	int			 rc;

	if (s->rdonly || s->ckpt != NULL)
		return 0;
	c = xcalloc(1, sizeof(*c));
	rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*cause = xasprintf("%s: checkpoints: %s", s->path,
		    c->db != NULL ? sqlite3_errmsg(c->db) :
		    sqlite3_errstr(rc));
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	if ((rc = pthread_create(&c->thread, NULL, store_ckpt_main,
	    c)) != 0) {
		*cause = xasprintf("%s: checkpoints: %s", s->path,
		    strerror(rc));
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	/* Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is
	 * a WAL hook too). */
	sqlite3_wal_hook(s->db, store_ckpt_hook, c);
	s->ckpt = c;
	return 0;
}

void
store_ckpt_stop(struct store *s)
{
	struct store_ckpt	*c = s->ckpt;

	if (c == NULL)
		return;
	sqlite3_wal_autocheckpoint(s->db, STORE_CKPT_PAGES);
	pthread_mutex_lock(&c->mtx);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	sqlite3_close(c->db);
	free(c);
	s->ckpt = NULL;
}

void
store_ckpt_stats(const struct store *s, struct store_stats *st)
{
	const struct store_ckpt	*c = s->ckpt;

	if (c == NULL)
		return;
	st->checkpoints = __atomic_load_n(&c->runs, __ATOMIC_RELAXED);
	st->checkpoints_busy = __atomic_load_n(&c->busy, __ATOMIC_RELAXED);
	st->checkpoint_errors = __atomic_load_n(&c->errors,
	    __ATOMIC_RELAXED);
	st->checkpoint_max_us = __atomic_load_n(&c->max_us,
	    __ATOMIC_RELAXED);
	st->checkpoints_inline = c->inline_runs;
}
