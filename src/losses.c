/*
 * Losses, kept for the report.  The modules already count everything they
 * lose (status.h: one table of fields each); status and the metrics show
 * the counts since the start.  An operator who reads `report` a week later
 * needs them per period, across restarts: so once a minute (and at exit)
 * this module reads the same counters, through the metrics walk with a
 * sink instead of text (metrics.h), and adds what each loss counter gained
 * since the last flush to the store's losses table, one row per hour,
 * counter and label set.
 *
 * Which counters are losses is this file's table: the kernel's conntrack
 * drops and the overruns they cause, log bytes that could not be read,
 * lines skipped unread (too long, a match limit hit: not the forged or
 * malformed ones, which were refused on purpose), rows the store could
 * not write, alerts dropped from a full queue.  Everything else (refusals,
 * retries that succeeded) is not data lost.
 *
 * Invariants: a gain is written once.  `saved` is the counter's value as
 * last written; it moves only when the transaction holding the row has
 * committed, so a flush that fails (a full disk) leaves every gain for the
 * next one.  A counter that went down (a log removed by a reload and added
 * again starts from zero) counts from zero.  At most LOSSES_KEYS_MAX
 * counters are followed; more are said once and left out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "losses.h"
#include "metrics.h"
#include "status.h"
#include "store.h"
#include "xmalloc.h"

#define LOSSES_KEYS_MAX		256
#define LOSSES_HOUR_US		(3600 * CLOCK_US_PER_SEC)

static const struct losses_family {
	const char	*metric;
	const char	*what;		/* in the store and the report */
	const char	*label;		/* only samples with label=value ... */
	const char	*value;		/* ... (NULL: all of them) */
	const char	*text;		/* for people */
} losses_families[] = {
	{ "xmppguard_conntrack_dropped_total", "conntrack_dropped", NULL,
	  NULL, "conntrack messages the kernel dropped (socket full)" },
	{ "xmppguard_conntrack_overruns_total", "conntrack_overruns", NULL,
	  NULL, "conntrack overruns (each repaired by a table dump)" },
	{ "xmppguard_log_lost_bytes_total", "log_lost_bytes", NULL, NULL,
	  "log bytes that could not be read" },
	{ "xmppguard_log_skipped_lines_total", "log_skipped_lines", "reason",
	  "too_long", "log lines skipped unread" },
	{ "xmppguard_log_skipped_lines_total", "log_skipped_lines", "reason",
	  "match_error", "log lines skipped unread" },
	{ "xmppguard_store_lost_rows_total", "store_lost_rows", NULL, NULL,
	  "rows the store could not write" },
	{ "xmppguard_alerts_dropped_total", "alerts_dropped", NULL, NULL,
	  "alerts dropped (a sink's queue was full)" }
};
#define LOSSES_NFAMILIES \
	(sizeof(losses_families) / sizeof(losses_families[0]))

struct losses_key {
	const char	*what;		/* losses_families[].what */
	char		 labels[LOSSES_LABELS_MAX];
	uint64_t	 cur;		/* read by this flush */
	uint64_t	 saved;		/* as last written */
	int		 seen;		/* read by this flush */
};

struct losses {
	const struct status *st;
	struct store	*store;
	struct losses_key keys[LOSSES_KEYS_MAX];
	size_t		 nkeys;
	int		 full_said;
};

struct losses *
losses_new(const struct status *st, struct store *s)
{
	struct losses	*l = xcalloc(1, sizeof(*l));

	l->st = st;
	l->store = s;
	return l;
}

void
losses_free(struct losses *l)
{
	free(l);
}

const char *
losses_text(const char *what)
{
	size_t	i;

	for (i = 0; i < LOSSES_NFAMILIES; i++)
		if (strcmp(losses_families[i].what, what) == 0)
			return losses_families[i].text;
	return NULL;
}

/* "a=x,b=y" from up to two labels (NULL: absent). */
static void
losses_labels(char *buf, size_t size, const char *l1, const char *v1,
    const char *l2, const char *v2)
{
	snprintf(buf, size, "%s%s%s%s%s%s%s", l1 != NULL ? l1 : "",
	    l1 != NULL ? "=" : "", l1 != NULL ? v1 : "",
	    l1 != NULL && l2 != NULL ? "," : "", l2 != NULL ? l2 : "",
	    l2 != NULL ? "=" : "", l2 != NULL ? v2 : "");
}

static const struct losses_family *
losses_family(const char *metric, const char *l1, const char *v1,
    const char *l2, const char *v2)
{
	const struct losses_family	*f;

	for (f = losses_families; f < losses_families + LOSSES_NFAMILIES;
	    f++) {
		if (strcmp(f->metric, metric) != 0)
			continue;
		if (f->label == NULL ||
		    (l1 != NULL && strcmp(l1, f->label) == 0 &&
		    strcmp(v1, f->value) == 0) ||
		    (l2 != NULL && strcmp(l2, f->label) == 0 &&
		    strcmp(v2, f->value) == 0))
			return f;
	}
	return NULL;
}

/* The metrics sink: keeps the value of each loss counter. */
static void
losses_sample(void *arg, enum metrics_type type, const char *name,
    const char *l1, const char *v1, const char *l2, const char *v2,
    double v)
{
	struct losses			*l = arg;
	const struct losses_family	*f;
	struct losses_key		*k;
	char				 labels[LOSSES_LABELS_MAX];
	size_t				 i;

	if (type != METRICS_COUNTER ||
	    (f = losses_family(name, l1, v1, l2, v2)) == NULL)
		return;
	losses_labels(labels, sizeof(labels), l1, v1, l2, v2);
	for (i = 0; i < l->nkeys; i++) {
		k = &l->keys[i];
		if (k->what == f->what && strcmp(k->labels, labels) == 0)
			break;
	}
	if (i == l->nkeys) {
		if (l->nkeys == LOSSES_KEYS_MAX) {
			if (!l->full_said)
				log_warnx("losses: more than %d counters; "
				    "%s{%s} and later ones are not kept",
				    LOSSES_KEYS_MAX, name, labels);
			l->full_said = 1;
			return;
		}
		k = &l->keys[l->nkeys++];
		k->what = f->what;
		memcpy(k->labels, labels, sizeof(k->labels));
	}
	k->cur = v > 0 ? (uint64_t)v : 0;
	k->seen = 1;
}

/* The gain of k since it was last written. */
static uint64_t
losses_gain(const struct losses_key *k)
{
	return k->cur >= k->saved ? k->cur - k->saved : k->cur;
}

static int
losses_exec(sqlite3 *db, const char *sql, char **cause)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*cause = xasprintf("losses: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int
losses_write(struct losses *l, int64_t hour, char **cause)
{
	sqlite3		*db = store_db(l->store);
	sqlite3_stmt	*st = NULL;
	struct losses_key *k;
	int		 rc;

	if (losses_exec(db, "BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO losses (hour, what, labels, "
	    "count) VALUES (?, ?, ?, ?) ON CONFLICT (hour, what, labels) "
	    "DO UPDATE SET count = count + excluded.count", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	for (k = l->keys; k < l->keys + l->nkeys; k++) {
		if (!k->seen || losses_gain(k) == 0)
			continue;
		sqlite3_bind_int64(st, 1, hour);
		sqlite3_bind_text(st, 2, k->what, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, k->labels, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, losses_gain(k) > INT64_MAX ?
		    INT64_MAX : (int64_t)losses_gain(k));
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	*cause = xasprintf("losses: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
losses_flush(struct losses *l, int64_t now, char **cause)
{
	struct metrics	 m;
	struct losses_key *k;
	int		 any = 0;

	for (k = l->keys; k < l->keys + l->nkeys; k++)
		k->seen = 0;
	memset(&m, 0, sizeof(m));
	m.sink = losses_sample;
	m.sink_arg = l;
	status_metrics(l->st, &m);
	for (k = l->keys; k < l->keys + l->nkeys; k++)
		any |= k->seen && losses_gain(k) > 0;
	if (!any)
		return 0;
	/* The store's own batch first: ours is a transaction apart. */
	store_flush(l->store);
	if (losses_write(l, now / LOSSES_HOUR_US * LOSSES_HOUR_US,
	    cause) == -1)
		return -1;
	for (k = l->keys; k < l->keys + l->nkeys; k++)
		if (k->seen)
			k->saved = k->cur;
	return 0;
}

int64_t
losses_purge(struct store *s, int64_t before, char **cause)
{
	sqlite3		*db = store_db(s);
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "DELETE FROM losses WHERE hour <= ?", -1,
	    &st, NULL) != SQLITE_OK) {
		*cause = xasprintf("losses: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, before - LOSSES_HOUR_US);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		*cause = xasprintf("losses: %s", sqlite3_errmsg(db));
		return -1;
	}
	return sqlite3_changes(db);
}

int
losses_load(sqlite3 *db, int64_t from, struct losses_row *rows, int max,
    char **cause)
{
	sqlite3_stmt	*st;
	const char	*s;
	int		 n = 0, rc;

	rc = sqlite3_prepare_v2(db, "SELECT what, labels, sum(count) FROM "
	    "losses WHERE hour >= ? GROUP BY what, labels ORDER BY what, "
	    "labels LIMIT ?", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		/* A store of an older version, opened read-only. */
		if (strstr(sqlite3_errmsg(db), "no such table") != NULL)
			return 0;
		*cause = xasprintf("losses: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		s = (const char *)sqlite3_column_text(st, 0);
		snprintf(rows[n].what, sizeof(rows[n].what), "%s",
		    s != NULL ? s : "");
		s = (const char *)sqlite3_column_text(st, 1);
		snprintf(rows[n].labels, sizeof(rows[n].labels), "%s",
		    s != NULL ? s : "");
		rows[n].count = sqlite3_column_int64(st, 2) > 0 ?
		    (uint64_t)sqlite3_column_int64(st, 2) : 0;
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		*cause = xasprintf("losses: %s", sqlite3_errmsg(db));
		return -1;
	}
	return n;
}
