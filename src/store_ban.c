/*
 * The store's ban rows: what ban.c writes as it bans, widens, lengthens and
 * lifts, the save of the rows a failed batch could not record, and the
 * read of the bans in force at start (which the restore puts back in the
 * kernel).
 *
 * A ban's row is written in the batch like any other (store.c), so a ban
 * the kernel has is one the store has once the iteration's flush commits.
 * Only store_ban_save() runs its own transaction, after committing the
 * batch: those rows are the ones a batch already lost once.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

int64_t
store_ban_add(struct store *s, const struct store_ban *b)
{
	sqlite3_stmt	*st = s->st[STORE_ST_BAN_ADD];
	char		 addr[ADDR_STRLEN];
	int		 rc;

	store_check_writable(s, __func__);
	addr_ntop(&b->prefix.addr, addr, sizeof(addr));
	if ((rc = store_bind_text(st, 1, addr)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 2, b->prefix.len)) == SQLITE_OK &&
	    (rc = store_bind_text(st, 3, b->rule)) == SQLITE_OK &&
	    (rc = store_bind_text(st, 4, b->reason)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 5, b->since)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 6, b->expires)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 7, b->count)) == SQLITE_OK &&
	    (rc = store_bind_text(st, 8, b->source)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 9, b->throttled != 0)) == SQLITE_OK)
		rc = store_bind_text(st, 10, b->scope != NULL ? b->scope :
		    "services");
	if (store_row(s, st, rc) == -1)
		return 0;
	return sqlite3_last_insert_rowid(s->db);
}

int
store_ban_update(struct store *s, int64_t id, int64_t expires,
    const char *reason)
{
	sqlite3_stmt	*st = s->st[STORE_ST_BAN_UPDATE];
	int		 rc;

	store_check_writable(s, __func__);
	if ((rc = sqlite3_bind_int64(st, 1, id)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, expires)) == SQLITE_OK)
		rc = store_bind_text(st, 3, reason);
	return store_row(s, st, rc);
}

int
store_ban_scope(struct store *s, int64_t id, const char *scope)
{
	sqlite3_stmt	*st = s->st[STORE_ST_BAN_SCOPE];
	int		 rc;

	store_check_writable(s, __func__);
	if ((rc = sqlite3_bind_int64(st, 1, id)) == SQLITE_OK)
		rc = store_bind_text(st, 2, scope);
	return store_row(s, st, rc);
}

int
store_ban_lift(struct store *s, int64_t id, int64_t when)
{
	sqlite3_stmt	*st = s->st[STORE_ST_BAN_LIFT];
	int		 rc;

	store_check_writable(s, __func__);
	if ((rc = sqlite3_bind_int64(st, 1, id)) == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, when);
	return store_row(s, st, rc);
}

/*
 * store_ban_save()'s row: found by its prefix and since (an id handed out
 * by a batch that was rolled back names nothing, or someone else's row),
 * updated, or inserted.  An SQLite result code.
 */
static int
store_ban_save_one(struct store *s, sqlite3_stmt *find, struct store_ban *b)
{
	sqlite3_stmt	*st;
	char		 addr[ADDR_STRLEN];
	int64_t		 id = 0;
	int		 rc;

	addr_ntop(&b->prefix.addr, addr, sizeof(addr));
	if ((rc = store_bind_text(find, 1, addr)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(find, 2, b->prefix.len)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(find, 3, b->since)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(find)) == SQLITE_ROW)
		id = sqlite3_column_int64(find, 0);
	sqlite3_reset(find);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (id == 0) {
		st = s->st[STORE_ST_BAN_ADD];
		if ((rc = store_bind_text(st, 1, addr)) == SQLITE_OK &&
		    (rc = sqlite3_bind_int(st, 2, b->prefix.len)) ==
		    SQLITE_OK &&
		    (rc = store_bind_text(st, 3, b->rule)) == SQLITE_OK &&
		    (rc = store_bind_text(st, 4, b->reason)) == SQLITE_OK &&
		    (rc = sqlite3_bind_int64(st, 5, b->since)) == SQLITE_OK &&
		    (rc = sqlite3_bind_int64(st, 6, b->expires)) ==
		    SQLITE_OK &&
		    (rc = sqlite3_bind_int64(st, 7, b->count)) == SQLITE_OK &&
		    (rc = store_bind_text(st, 8, b->source)) == SQLITE_OK &&
		    (rc = sqlite3_bind_int(st, 9, b->throttled != 0)) ==
		    SQLITE_OK &&
		    (rc = store_bind_text(st, 10, b->scope != NULL ?
		    b->scope : "services")) == SQLITE_OK &&
		    (rc = store_step(st)) == SQLITE_DONE)
			b->id = sqlite3_last_insert_rowid(s->db);
		return rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	b->id = id;
	st = s->st[STORE_ST_BAN_UPDATE];
	if ((rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, b->expires)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 3, b->reason)) != SQLITE_OK ||
	    (rc = store_step(st)) != SQLITE_DONE)
		return rc;
	st = s->st[STORE_ST_BAN_SCOPE];
	if ((rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK ||
	    (rc = store_bind_text(st, 2, b->scope != NULL ? b->scope :
	    "services")) != SQLITE_OK || (rc = store_step(st)) != SQLITE_DONE)
		return rc;
	return SQLITE_OK;
}

int
store_ban_save(struct store *s, struct store_ban *rows, size_t n,
    const struct store_lift *lifts, size_t nlifts, char **cause)
{
	sqlite3_stmt	*find = NULL, *st = s->st[STORE_ST_BAN_LIFT];
	int64_t		*ids;
	size_t		 i;
	int		 rc;

	store_check_writable(s, __func__);
	/* The batch first: this transaction is the bans' alone. */
	(void)store_flush(s);
	ids = xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = rows[i].id;
	rc = sqlite3_prepare_v2(s->db, "SELECT id FROM bans WHERE addr = ?1 "
	    "AND prefixlen = ?2 AND since = ?3 ORDER BY id LIMIT 1", -1,
	    &find, NULL);
	if (rc == SQLITE_OK)
		rc = store_step(s->st[STORE_ST_BEGIN]) == SQLITE_DONE ?
		    SQLITE_OK : sqlite3_errcode(s->db);
	for (i = 0; rc == SQLITE_OK && i < n; i++)
		rc = store_ban_save_one(s, find, &rows[i]);
	for (i = 0; rc == SQLITE_OK && i < nlifts; i++)
		if ((rc = sqlite3_bind_int64(st, 1, lifts[i].id)) ==
		    SQLITE_OK &&
		    (rc = sqlite3_bind_int64(st, 2, lifts[i].when)) ==
		    SQLITE_OK)
			rc = store_step(st) == SQLITE_DONE ? SQLITE_OK :
			    sqlite3_errcode(s->db);
	if (rc == SQLITE_OK && store_step(s->st[STORE_ST_COMMIT]) !=
	    SQLITE_DONE)
		rc = sqlite3_errcode(s->db);
	if (rc != SQLITE_OK) {
		/* The words now, before the rollback replaces them. */
		*cause = xstrdup(sqlite3_errmsg(s->db));
		s->stats.errors++;
		if (!sqlite3_get_autocommit(s->db))
			(void)store_step(s->st[STORE_ST_ROLLBACK]);
		for (i = 0; i < n; i++)
			rows[i].id = ids[i];
	} else {
		s->stats.rows += n + nlifts;
		s->stats.commits++;
	}
	sqlite3_finalize(find);
	free(ids);
	return rc == SQLITE_OK ? 0 : -1;
}

int64_t
store_ban_count(struct store *s, const struct prefix *p, int64_t since)
{
	sqlite3_stmt	*st = s->st[STORE_ST_BAN_COUNT];
	char		 addr[ADDR_STRLEN];
	int64_t		 n = -1;

	store_check_writable(s, __func__);
	addr_ntop(&p->addr, addr, sizeof(addr));
	if (store_bind_text(st, 1, addr) == SQLITE_OK &&
	    sqlite3_bind_int(st, 2, p->len) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 3, since) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_warn(s, "ban count", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return n;
}

int
store_bans_open(struct store *s, int64_t now,
    void (*cb)(const struct store_ban *, void *), void *arg)
{
	sqlite3_stmt		*st = s->st[STORE_ST_BAN_OPEN];
	struct store_ban	 b;
	const char		*t;
	int			 rc, n = 0, len;

	store_check_writable(s, __func__);
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK) {
		sqlite3_reset(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&b, 0, sizeof(b));
		b.id = sqlite3_column_int64(st, 0);
		t = (const char *)sqlite3_column_text(st, 1);
		if (t == NULL || addr_parse(t, &b.prefix.addr, NULL) == -1)
			continue;	/* not ours: skipped */
		len = sqlite3_column_int(st, 2);
		if (len < 0 || len > addr_maxlen(&b.prefix.addr))
			continue;
		addr_mask(&b.prefix.addr, len, &b.prefix);
		b.rule = (const char *)sqlite3_column_text(st, 3);
		b.reason = (const char *)sqlite3_column_text(st, 4);
		b.since = sqlite3_column_int64(st, 5);
		b.expires = sqlite3_column_int64(st, 6);
		b.count = sqlite3_column_int64(st, 7);
		b.source = (const char *)sqlite3_column_text(st, 8);
		b.throttled = sqlite3_column_int(st, 9);
		b.scope = (const char *)sqlite3_column_text(st, 10);
		cb(&b, arg);
		n++;
	}
	if (rc != SQLITE_DONE)
		store_warn(s, "open bans", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : -1;
}

