/*
 * The cluster's push queue in the store (sql/011_cluster_queue.sql).
 *
 * A ban or an unban this node decides is a row, appended at once (inside
 * the store's open batch transaction if there is one: it commits with
 * the ban's own row, so the kernel, the bans table and the queue agree).
 * The pusher takes the oldest rows as one batch: the run of bans at the
 * head (at most CQUEUE_BATCH_MAX: one POST of alerts), or the unban at the
 * head alone (one DELETE), so that a ban and its later unban reach the LAPI
 * in the order they were made.  Rows go once the LAPI has answered 2xx;
 * a refusal raises their tries, and the pusher drops a batch refused
 * CQUEUE_TRIES_MAX times (1.4.6 answers a validation error with 500,
 * which looks like any failure).
 *
 * Bounded: at most max rows; beyond, new rows are refused and counted.
 * The length is counted at open and kept in memory after.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "addr.h"
#include "cqueue.h"
#include "store.h"
#include "xmalloc.h"

enum cqueue_st {
	CQUEUE_ST_ADD,
	CQUEUE_ST_PEEK,
	CQUEUE_ST_DONE,
	CQUEUE_ST_REFUSED,
	CQUEUE_ST_MAX
};

static const char *const cqueue_sql[CQUEUE_ST_MAX] = {
	"INSERT INTO cluster_queue (op, addr, prefixlen, rule, reason, "
	"count, since, expires, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	"?8, ?9)",
	"SELECT id, op, addr, prefixlen, rule, reason, count, since, "
	"expires, tries FROM cluster_queue ORDER BY id LIMIT ?1",
	"DELETE FROM cluster_queue WHERE id BETWEEN ?1 AND ?2",
	"UPDATE cluster_queue SET tries = tries + 1 WHERE id BETWEEN ?1 "
	"AND ?2",
};

struct cqueue {
	sqlite3		*db;
	sqlite3_stmt	*st[CQUEUE_ST_MAX];
	uint32_t	 max;
	uint64_t	 length;
	uint64_t	 dropped;
};

static char *
cqueue_err(struct cqueue *q, const char *what)
{
	return xasprintf("push queue: %s: %s", what, sqlite3_errmsg(q->db));
}

struct cqueue *
cqueue_open(struct store *store, uint32_t max, char **cause)
{
	struct cqueue	*q;
	sqlite3_stmt	*st;
	int		 i;

	q = xcalloc(1, sizeof(*q));
	q->db = store_db(store);
	q->max = max;
	for (i = 0; i < CQUEUE_ST_MAX; i++)
		if (sqlite3_prepare_v3(q->db, cqueue_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL) != SQLITE_OK) {
			*cause = cqueue_err(q, "prepare");
			cqueue_close(q);
			return NULL;
		}
	if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM cluster_queue",
	    -1, &st, NULL) != SQLITE_OK) {
		*cause = cqueue_err(q, "count");
		cqueue_close(q);
		return NULL;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		q->length = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return q;
}

void
cqueue_close(struct cqueue *q)
{
	int	i;

	if (q == NULL)
		return;
	for (i = 0; i < CQUEUE_ST_MAX; i++)
		sqlite3_finalize(q->st[i]);
	free(q);
}

/* Runs a prepared statement to its end (bound already) and resets it. */
static int
cqueue_run(struct cqueue *q, enum cqueue_st i, const char *what,
    char **cause)
{
	int	rc;

	rc = sqlite3_step(q->st[i]);
	if (rc != SQLITE_DONE) {
		*cause = cqueue_err(q, what);
		(void)sqlite3_reset(q->st[i]);
		(void)sqlite3_clear_bindings(q->st[i]);
		return -1;
	}
	(void)sqlite3_reset(q->st[i]);
	(void)sqlite3_clear_bindings(q->st[i]);
	return 0;
}

static int
cqueue_add(struct cqueue *q, const char *op, const struct prefix *p,
    const struct lapi_ban *b, int64_t now, char **cause)
{
	sqlite3_stmt	*st = q->st[CQUEUE_ST_ADD];
	char		 addr[ADDR_STRLEN];

	if (q->length >= q->max) {
		q->dropped++;
		*cause = xasprintf("push queue full (%u): dropped",
		    (unsigned int)q->max);
		return -1;
	}
	(void)addr_ntop(&p->addr, addr, sizeof(addr));
	sqlite3_bind_text(st, 1, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, p->len);
	if (b != NULL) {
		sqlite3_bind_text(st, 4, b->rule, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, b->reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 6, b->count);
		sqlite3_bind_int64(st, 7, b->since);
		sqlite3_bind_int64(st, 8, b->expires);
	} else
		sqlite3_bind_int64(st, 6, 1);
	sqlite3_bind_int64(st, 9, now);
	if (cqueue_run(q, CQUEUE_ST_ADD, "add", cause) == -1)
		return -1;
	q->length++;
	return 0;
}

int
cqueue_ban(struct cqueue *q, const struct lapi_ban *b, int64_t now,
    char **cause)
{
	return cqueue_add(q, "ban", &b->prefix, b, now, cause);
}

int
cqueue_unban(struct cqueue *q, const struct prefix *p, int64_t now,
    char **cause)
{
	return cqueue_add(q, "unban", p, NULL, now, cause);
}

/* Keeps a copy of column c's text in b->text; its offset, or -1. */
static ssize_t
cqueue_keep(struct cqueue_batch *b, sqlite3_stmt *st, int c)
{
	const unsigned char	*s = sqlite3_column_text(st, c);
	size_t			 n, off;

	if (s == NULL)
		return -1;
	n = strlen((const char *)s) + 1;
	if (b->textlen + n > b->textcap) {
		b->textcap = b->textcap == 0 ? 4096 : b->textcap;
		while (b->textlen + n > b->textcap)
			b->textcap *= 2;
		b->text = xreallocarray(b->text, b->textcap, 1);
	}
	off = b->textlen;
	memcpy(b->text + off, s, n);
	b->textlen += n;
	return (ssize_t)off;
}

int
cqueue_peek(struct cqueue *q, struct cqueue_batch *b, char **cause)
{
	sqlite3_stmt	*st = q->st[CQUEUE_ST_PEEK];
	struct lapi_ban	*lb;
	struct addr	 a;
	ssize_t		 roff[CQUEUE_BATCH_MAX], soff[CQUEUE_BATCH_MAX];
	const char	*op, *addr;
	enum cqueue_op	 o;
	size_t		 i;
	int		 rc, len, tries;

	b->n = b->rows = 0;
	b->first = b->last = 0;
	b->textlen = 0;
	b->tries = 0;
	sqlite3_bind_int(st, 1, CQUEUE_BATCH_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		op = (const char *)sqlite3_column_text(st, 1);
		o = op != NULL && strcmp(op, "unban") == 0 ? CQUEUE_UNBAN :
		    CQUEUE_BAN;
		/* A run of bans, or one unban. */
		if (b->rows > 0 && (o == CQUEUE_UNBAN ||
		    b->op == CQUEUE_UNBAN))
			break;
		b->op = o;
		if (b->rows++ == 0)
			b->first = sqlite3_column_int64(st, 0);
		b->last = sqlite3_column_int64(st, 0);
		tries = sqlite3_column_int(st, 9);
		if (tries > b->tries)
			b->tries = tries;
		lb = &b->bans[b->n];
		memset(lb, 0, sizeof(*lb));
		addr = (const char *)sqlite3_column_text(st, 2);
		len = sqlite3_column_int(st, 3);
		if (addr == NULL || addr_parse(addr, &a, NULL) == -1 ||
		    len < 0 || len > addr_maxlen(&a))
			/* Cannot be: the row is skipped, and goes with the
			 * batch. */
			continue;
		addr_mask(&a, len, &lb->prefix);
		roff[b->n] = cqueue_keep(b, st, 4);
		soff[b->n] = cqueue_keep(b, st, 5);
		lb->count = (uint32_t)sqlite3_column_int64(st, 6);
		lb->since = sqlite3_column_int64(st, 7);
		lb->expires = sqlite3_column_int64(st, 8);
		b->n++;
		if (b->rows == CQUEUE_BATCH_MAX)
			break;
	}
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*cause = cqueue_err(q, "read");
		return -1;
	}
	/* The text may have moved while it grew: pointers last. */
	for (i = 0; i < b->n; i++) {
		b->bans[i].rule = roff[i] >= 0 ? b->text + roff[i] : NULL;
		b->bans[i].reason = soff[i] >= 0 ? b->text + soff[i] : NULL;
	}
	return b->rows > 0;
}

static int
cqueue_range(struct cqueue *q, enum cqueue_st i,
    const struct cqueue_batch *b, const char *what, char **cause)
{
	sqlite3_bind_int64(q->st[i], 1, b->first);
	sqlite3_bind_int64(q->st[i], 2, b->last);
	return cqueue_run(q, i, what, cause);
}

int
cqueue_done(struct cqueue *q, const struct cqueue_batch *b, char **cause)
{
	int	n;

	if (cqueue_range(q, CQUEUE_ST_DONE, b, "delete", cause) == -1)
		return -1;
	n = sqlite3_changes(q->db);
	q->length = q->length > (uint64_t)n ? q->length - (uint64_t)n : 0;
	return 0;
}

int
cqueue_refused(struct cqueue *q, const struct cqueue_batch *b,
    char **cause)
{
	return cqueue_range(q, CQUEUE_ST_REFUSED, b, "update", cause);
}

void
cqueue_batch_free(struct cqueue_batch *b)
{
	free(b->text);
	b->text = NULL;
	b->textlen = b->textcap = 0;
}

uint64_t
cqueue_length(const struct cqueue *q)
{
	return q->length;
}

uint64_t
cqueue_dropped(const struct cqueue *q)
{
	return q->dropped;
}
