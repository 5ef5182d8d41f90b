/*
 * What the report's charts draw, read from the store after report.c has
 * loaded the rest (and inside its read transaction): the span that holds
 * data, the bins that cut it, the verdicts and bans to mark on it, and for
 * --ip the address's connections one by one.
 *
 * The span is found at the resolution the store keeps for every period,
 * the hour: from the first hour of r->hours with anything in it to the
 * end of the last, within the period asked for (--since); a period with
 * nothing in it keeps its own span.  Its bin width comes from a fixed
 * ladder (1m, 5m, 15m, 1h, 6h, 1d, then whole days), the smallest that
 * needs at most REPORT_BINS_MAX bins aligned to it.  What each width can
 * be counted from: hours and more from the hourly rollups (kept as long as
 * the rollups); under an hour from the conns table, one row per connection
 * that completed its handshake, kept as long as the events (the store's
 * one retention), so a span of up to 50 hours (200 bins of 15 minutes) is
 * read there.  That is the only read of conns in the overview: it is
 * bounded by the span, at most 50 hours of rows through the ended index.
 *
 * Marks are bounded (REPORT_MARKS_MAX, oldest first: the rest are
 * counted), and so are the --ip connections (the newest REPORT_CONNS_MAX
 * of the newest REPORT_EVENTS_SCAN rows: conns has no index on the
 * address, as events has none).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "report_int.h"
#include "xmalloc.h"

#define REPORT_DAY_US	(24 * REPORT_HOUR_US)

static const int64_t report_span_ladder[] = {
	REPORT_MIN_US, 5 * REPORT_MIN_US, 15 * REPORT_MIN_US, REPORT_HOUR_US,
	6 * REPORT_HOUR_US, REPORT_DAY_US
};

/* Bins of step aligned to it that [t0, t1) touches. */
static int64_t
report_span_nbins(int64_t t0, int64_t t1, int64_t step)
{
	return (t1 + step - 1) / step - t0 / step;
}

int64_t
report_bin_step(int64_t t0, int64_t t1)
{
	size_t	i;
	int64_t	days;

	for (i = 0; i < sizeof(report_span_ladder) /
	    sizeof(report_span_ladder[0]); i++)
		if (report_span_nbins(t0, t1, report_span_ladder[i]) <=
		    REPORT_BINS_MAX)
			return report_span_ladder[i];
	/* Longer than 200 days: whole days, one more for the alignment. */
	days = (t1 - t0 + REPORT_DAY_US - 1) / REPORT_DAY_US;
	return (days / (REPORT_BINS_MAX - 1) + 1) * REPORT_DAY_US;
}

static int
report_span_done(struct report *r, sqlite3 *db, sqlite3_stmt *st, int rc,
    char **cause)
{
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	*cause = xasprintf("%s: %s", r->db, sqlite3_errmsg(db));
	return -1;
}

/* The span: the hours that hold data, within the period asked for. */
static void
report_span_find(const struct report *r, int64_t *t0, int64_t *t1)
{
	const struct report_hour	*h;
	int				 i, first = -1, last = -1;

	for (i = 0; i < r->nhours; i++) {
		h = &r->hours[i];
		if (h->conns == 0 && h->halfopen == 0 && h->auth_fail == 0 &&
		    h->registered == 0 && h->verdicts == 0 && h->bans == 0 &&
		    h->refused == 0)
			continue;
		if (first == -1)
			first = i;
		last = i;
	}
	*t0 = r->now - r->since;
	*t1 = r->now;
	if (first == -1)
		return;
	if (r->from + first * REPORT_HOUR_US > *t0)
		*t0 = r->from + first * REPORT_HOUR_US;
	if (r->from + (last + 1) * REPORT_HOUR_US < *t1)
		*t1 = r->from + (last + 1) * REPORT_HOUR_US;
	if (*t1 <= *t0)
		*t1 = *t0 + 1;
}

static int
report_span_bin(const struct report_bins *b, int64_t t)
{
	int64_t	i;

	if (t < b->t0)
		return -1;
	i = (t - b->t0) / b->step;
	return i >= b->n ? -1 : (int)i;
}

/* Cuts [t0, t1) into bins of step. */
static void
report_span_cut(struct report_bins *b, int64_t t0, int64_t t1, int64_t step)
{
	memset(b, 0, sizeof(*b));
	b->step = step;
	b->t0 = t0 / step * step;
	b->n = (int)report_span_nbins(t0, t1, step);
	if (b->n > REPORT_BINS_MAX)
		b->n = REPORT_BINS_MAX;
	b->fine = step < REPORT_HOUR_US;
}

/* New connections per bin from the hours; 0 if there were none. */
static uint64_t
report_span_hours(struct report *r)
{
	struct report_bins	*b = &r->bins;
	uint64_t		 n = 0;
	int			 i, j;

	for (i = 0; i < r->nhours; i++)
		if ((j = report_span_bin(b, r->from + i * REPORT_HOUR_US)) !=
		    -1) {
			b->conns[j] += r->hours[i].conns;
			n += r->hours[i].conns;
		}
	return n;
}

/*
 * New connections per bin, under an hour from the conns rows.  Should
 * there be none where the rollups count some (rows purged sooner, or a
 * store that kept only rollups), the chart falls back to hours rather
 * than draw an empty picture of a busy span.
 */
static int
report_span_conns(struct report *r, sqlite3 *db, int64_t t0, int64_t t1,
    char **cause)
{
	struct report_bins	*b = &r->bins;
	sqlite3_stmt		*st;
	uint64_t		 n = 0;
	int			 i, rc;

	if (!b->fine) {
		report_span_hours(r);
		return 0;
	}
	if (report_sql_prepare(db, &st, "SELECT (opened - ?1) / ?2, "
	    "count(*) FROM conns WHERE ended >= ?1 AND opened >= ?1 AND "
	    "opened < ?3 AND (?4 IS NULL OR service = ?4) AND "
	    "(?5 IS NULL OR addr = ?5) GROUP BY 1") == -1)
		return report_span_done(r, db, NULL, SQLITE_ERROR, cause);
	sqlite3_bind_int64(st, 1, b->t0);
	sqlite3_bind_int64(st, 2, b->step);
	sqlite3_bind_int64(st, 3, b->t0 + b->n * b->step);
	if (r->service != NULL)
		sqlite3_bind_text(st, 4, r->service, -1, SQLITE_STATIC);
	if (r->ip != NULL)
		sqlite3_bind_text(st, 5, r->ipn, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		i = sqlite3_column_int(st, 0);
		if (i >= 0 && i < b->n) {
			b->conns[i] += (uint64_t)sqlite3_column_int64(st, 1);
			n += (uint64_t)sqlite3_column_int64(st, 1);
		}
	}
	if (report_span_done(r, db, st, rc, cause) == -1)
		return -1;
	if (n == 0) {
		report_span_cut(b, t0, t1, REPORT_HOUR_US);
		if (report_span_hours(r) == 0)	/* nothing either way */
			report_span_cut(b, t0, t1, report_bin_step(t0, t1));
	}
	return 0;
}

/*
 * The verdicts and bans of the span (covering ip, if given), oldest first:
 * bans counted per bin, both kept as marks up to REPORT_MARKS_MAX.
 */
static int
report_span_marks(struct report *r, sqlite3 *db, const struct addr *ip,
    char **cause)
{
	struct report_bins	*b = &r->bins;
	struct report_mark	 m;
	struct addr		 a;
	struct prefix		 p;
	sqlite3_stmt		*st;
	int			 rc, i;

	if (report_sql_prepare(db, &st, "SELECT time, addr, prefixlen, "
	    "rule, 0, 0 FROM verdicts WHERE time >= ?1 AND time < ?2 "
	    "UNION ALL SELECT since, addr, prefixlen, rule, 1, "
	    "coalesce(min(coalesce(lifted, expires), coalesce(expires, "
	    "lifted)), 0) FROM bans WHERE since >= ?1 AND since < ?2 "
	    "ORDER BY 1") == -1)
		return report_span_done(r, db, NULL, SQLITE_ERROR, cause);
	sqlite3_bind_int64(st, 1, b->t0);
	sqlite3_bind_int64(st, 2, b->t0 + b->n * b->step);
	r->marks = xcalloc(REPORT_MARKS_MAX, sizeof(*r->marks));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.time = sqlite3_column_int64(st, 0);
		snprintf(m.addr, sizeof(m.addr), "%s",
		    sqlite3_column_text(st, 1) != NULL ?
		    (const char *)sqlite3_column_text(st, 1) : "");
		m.prefixlen = sqlite3_column_int(st, 2);
		if (addr_parse(m.addr, &a, NULL) == -1 || m.prefixlen < 0 ||
		    m.prefixlen > addr_maxlen(&a))
			continue;	/* not ours */
		addr_mask(&a, m.prefixlen, &p);
		if (ip != NULL && !addr_prefix_contains(&p, ip))
			continue;
		snprintf(m.rule, sizeof(m.rule), "%s",
		    sqlite3_column_text(st, 3) != NULL ?
		    (const char *)sqlite3_column_text(st, 3) : "");
		m.ban = sqlite3_column_int(st, 4);
		m.until = sqlite3_column_int64(st, 5);
		if (m.ban && (i = report_span_bin(b, m.time)) != -1)
			b->bans[i]++;
		r->nmarks_total++;
		if (r->nmarks < REPORT_MARKS_MAX)
			r->marks[r->nmarks++] = m;
	}
	return report_span_done(r, db, st, rc, cause);
}

/* --ip: its newest connections, among the newest rows of the period. */
static int
report_span_ip_conns(struct report *r, sqlite3 *db, const char *node,
    char **cause)
{
	struct report_conn	*c;
	sqlite3_stmt		*st;
	int64_t			 start = r->now - r->since;
	int			 rc;

	if (report_sql_prepare(db, &st, "SELECT opened, closed, ended, "
	    "bytes_in + bytes_out, service, %s FROM (SELECT * FROM conns "
	    "WHERE ended >= ?1 ORDER BY ended DESC LIMIT ?2) WHERE addr = ?3 "
	    "AND (?4 IS NULL OR service = ?4) ORDER BY ended DESC",
	    node) == -1)
		return report_span_done(r, db, NULL, SQLITE_ERROR, cause);
	sqlite3_bind_int64(st, 1, start);
	sqlite3_bind_int(st, 2, REPORT_EVENTS_SCAN);
	sqlite3_bind_text(st, 3, r->ipn, -1, SQLITE_STATIC);
	if (r->service != NULL)
		sqlite3_bind_text(st, 4, r->service, -1, SQLITE_STATIC);
	r->conns = xcalloc(REPORT_CONNS_MAX, sizeof(*r->conns));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r->nconns_total++;
		if (r->nconns == REPORT_CONNS_MAX)
			continue;
		c = &r->conns[r->nconns++];
		c->opened = sqlite3_column_type(st, 0) == SQLITE_NULL ?
		    start : sqlite3_column_int64(st, 0);
		c->closed = sqlite3_column_int64(st, sqlite3_column_type(st,
		    1) == SQLITE_NULL ? 2 : 1);
		if (c->opened < start)
			c->opened = start;
		if (c->closed < c->opened)
			c->closed = c->opened;
		c->bytes = (uint64_t)sqlite3_column_int64(st, 3);
		snprintf(c->service, sizeof(c->service), "%s",
		    sqlite3_column_text(st, 4) != NULL ?
		    (const char *)sqlite3_column_text(st, 4) : "");
		snprintf(c->node, sizeof(c->node), "%s",
		    sqlite3_column_text(st, 5) != NULL ?
		    (const char *)sqlite3_column_text(st, 5) : "");
	}
	return report_span_done(r, db, st, rc, cause);
}

int
report_span_load(struct report *r, sqlite3 *db, const struct addr *ip,
    const char *node, char **cause)
{
	struct report_bins	*b = &r->bins;
	int64_t			 t0, t1;

	r->nmarks = r->nconns = 0;
	r->nmarks_total = r->nconns_total = 0;
	report_span_find(r, &t0, &t1);
	report_span_cut(b, t0, t1, report_bin_step(t0, t1));
	if (report_span_conns(r, db, t0, t1, cause) == -1 ||
	    report_span_marks(r, db, ip, cause) == -1)
		return -1;
	if (ip != NULL)
		return report_span_ip_conns(r, db, node, cause);
	return 0;
}
