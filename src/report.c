/*
 * xmppguard report: who hammers the server, who is near a limit, and what
 * xmppguard did about it, read from the store.
 *
 * The store is opened read-only (STORE_RDONLY: SQLITE_OPEN_READONLY, no
 * migration), and every query runs inside one read transaction, so the
 * report is one consistent snapshot while the daemon goes on writing: in
 * WAL mode a reader never blocks the writer nor waits for it.
 *
 * Speed comes from reading summaries and never conns.  The period is
 * split into whole days, read from rollups_day (one row per address,
 * service and day, with its busiest hour's counts), and the hours before
 * and after them, read from rollups; the hourly series comes from
 * rollups_all (one row per hour and service).  Each row is read once in
 * primary key order and summed per (address, service) in a bounded hash
 * table (htab.c, keyed: REPORT_GROUPS_MAX pairs; beyond, SQLite groups
 * them instead, its sorter spilling to a temporary file), then folded
 * address by address into two bounded min-heaps of `top` entries
 * (report_rank.c: the top list by the sort key, the near list by share of
 * a limit, and the score).  Memory is O(top + hours + pairs up to the
 * cap), whatever the store holds.  Bans are few: those of the period are
 * held in a sorted array (at most REPORT_BANS_MAX) and found per address
 * by masking it to each ban length present.  The writers (report_out.c,
 * report_html.c) print what was loaded, report_span.c what the charts
 * draw; report_cmd.c parses the command line, opens the store (or
 * several: see there) and picks a writer.
 *
 * With several stores, the queries are the same and read views that
 * unite every node's rows (report_cmd.c), each row carrying its node's
 * name and bit: the (address, service) sums OR the bits of the nodes that
 * saw them, and bans, verdicts, events and the timeline keep the name.
 */
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "htab.h"
#include "log.h"
#include "report_int.h"
#include "store.h"
#include "xmalloc.h"

/* (address, service) pairs summed in memory (about 50 MB); beyond, SQLite
 * groups them. */
#define REPORT_GROUPS_MAX	(1U << 18)

/* A ban's prefix, sorted for lookups. */
struct report_bkey {
	struct prefix	 p;
};

struct report_load_ctx {
	struct report		*r;
	sqlite3			*db;
	struct report_bkey	*bkeys;
	size_t			 nbkeys;
	uint8_t			 lens[2][129];	/* ban lengths present */
	/* Selected for a row's node: its bit and its name, or constants for
	 * one store (its tables have no such columns). */
	const char		*nb;
	const char		*nn;
};

/* The sums of one (address, service) over the period's hours. */
struct report_group {
	char		 addr[REPORT_ADDR_MAX];
	int		 svc;		/* index in report.services */
	struct report_counts c;
	uint64_t	 max_conns;	/* in its busiest hour */
	uint64_t	 max_auth;
	uint64_t	 max_reg;
	uint32_t	 nodes;		/* the nodes with rows of it */
};

/* Copies a column's text, capped; "" for NULL. */
static void
report_col_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char	*t = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", t != NULL ? (const char *)t : "");
}

static uint64_t
report_col_u64(sqlite3_stmt *st, int i)
{
	int64_t	v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : (uint64_t)v;
}

static int
report_vprepare(sqlite3 *db, sqlite3_stmt **st, const char *fmt, va_list ap)
{
	char	*sql;
	int	 rc;

	if (vasprintf(&sql, fmt, ap) == -1)
		fatal("vasprintf");
	rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

int
report_sql_prepare(sqlite3 *db, sqlite3_stmt **st, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = report_vprepare(db, st, fmt, ap);
	va_end(ap);
	return rc;
}

/* Prepares the query fmt, where %s stand for x->nb or x->nn. */
static int __attribute__((format(printf, 4, 5)))
report_prepare(struct report_load_ctx *x, sqlite3_stmt **st, char **cause,
    const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = report_vprepare(x->db, st, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		*cause = xasprintf("%s: %s", x->r->db, sqlite3_errmsg(x->db));
		return -1;
	}
	return 0;
}

static int
report_done(struct report_load_ctx *x, sqlite3_stmt *st, int rc, char **cause)
{
	if (rc != SQLITE_DONE) {
		*cause = xasprintf("%s: %s", x->r->db, sqlite3_errmsg(x->db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static int
report_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int
report_hour_index(const struct report *r, int64_t t)
{
	int64_t	i = (store_hour(t) - r->from) / REPORT_HOUR_US;

	return i < 0 || i >= r->nhours ? -1 : (int)i;
}

static int
report_bkey_cmp(const void *va, const void *vb)
{
	const struct report_bkey	*a = va, *b = vb;

	if (a->p.addr.family != b->p.addr.family)
		return a->p.addr.family < b->p.addr.family ? -1 : 1;
	if (a->p.len != b->p.len)
		return a->p.len < b->p.len ? -1 : 1;
	return memcmp(a->p.addr.bytes, b->p.addr.bytes,
	    sizeof(a->p.addr.bytes));
}

/* How many bans of the period cover a. */
static uint64_t
report_bans_of(const struct report_load_ctx *x, const struct addr *a)
{
	struct report_bkey	 key;
	size_t			 lo, hi, mid;
	uint64_t		 n = 0;
	int			 f = a->family == AF_INET6, len;

	for (len = 0; len <= addr_maxlen(a); len++) {
		if (!x->lens[f][len])
			continue;
		memset(&key, 0, sizeof(key));
		addr_mask(a, len, &key.p);
		lo = 0;
		hi = x->nbkeys;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (report_bkey_cmp(&x->bkeys[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < x->nbkeys &&
		    report_bkey_cmp(&x->bkeys[lo], &key) == 0) {
			n++;
			lo++;
		}
	}
	return n;
}

static void
report_counts_add(struct report_counts *t, const struct report_counts *c)
{
	t->conns += c->conns;
	t->short_lived += c->short_lived;
	t->halfopen += c->halfopen;
	t->bytes_in += c->bytes_in;
	t->bytes_out += c->bytes_out;
	if (c->peak_live > t->peak_live)
		t->peak_live = c->peak_live;
	t->verdicts += c->verdicts;
	t->auth_fail += c->auth_fail;
	t->registered += c->registered;
	t->refused += c->refused;
}

static struct report_service *
report_service_get(struct report *r, const char *name)
{
	int	i;

	for (i = 0; i < r->nservices; i++)
		if (strcmp(r->services[i].name, name) == 0)
			return &r->services[i];
	if (r->nservices < REPORT_SERVICES_MAX - 1 ||
	    (r->nservices == REPORT_SERVICES_MAX - 1 &&
	    strcmp(name, "other") == 0)) {
		i = r->nservices++;
		memset(&r->services[i], 0, sizeof(r->services[i]));
		snprintf(r->services[i].name, sizeof(r->services[i].name),
		    "%s", name);
		return &r->services[i];
	}
	return report_service_get(r, "other");
}

/*
 * The bans of the period: per hour, the newest `top` (covering --ip if
 * given), and their prefixes for report_bans_of().
 */
static int
report_load_bans(struct report_load_ctx *x, const struct addr *ip,
    char **cause)
{
	struct report		*r = x->r;
	struct report_ban	 b;
	struct addr		 a;
	struct prefix		 p;
	sqlite3_stmt		*st;
	size_t			 cap = 0;
	int			 rc, i;

	if (report_prepare(x, &st, cause, "SELECT since, addr, prefixlen, "
	    "rule, reason, expires, lifted, count, throttled, %s FROM bans "
	    "WHERE since >= ?1 AND since <= ?2 ORDER BY since DESC",
	    x->nn) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->now - r->since);
	sqlite3_bind_int64(st, 2, r->now);
	r->bans = xcalloc(r->top > 0 ? r->top : 1, sizeof(*r->bans));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&b, 0, sizeof(b));
		b.since = sqlite3_column_int64(st, 0);
		report_col_text(st, 1, b.addr, sizeof(b.addr));
		b.prefixlen = sqlite3_column_int(st, 2);
		report_col_text(st, 3, b.rule, sizeof(b.rule));
		report_col_text(st, 4, b.reason, sizeof(b.reason));
		b.expires = sqlite3_column_int64(st, 5);
		b.lifted = sqlite3_column_int64(st, 6);
		b.count = sqlite3_column_int64(st, 7);
		b.throttled = sqlite3_column_int(st, 8);
		report_col_text(st, 9, b.node, sizeof(b.node));
		if (addr_parse(b.addr, &a, NULL) == -1 || b.prefixlen < 0 ||
		    b.prefixlen > addr_maxlen(&a))
			continue;	/* not ours */
		addr_mask(&a, b.prefixlen, &p);
		if (ip != NULL && !addr_prefix_contains(&p, ip))
			continue;
		r->nbans_total++;
		if ((i = report_hour_index(r, b.since)) != -1)
			r->hours[i].bans++;
		if (r->nbans < r->top)
			r->bans[r->nbans++] = b;
		if (x->nbkeys == REPORT_BANS_MAX)
			continue;
		if (x->nbkeys == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			x->bkeys = xreallocarray(x->bkeys, cap,
			    sizeof(*x->bkeys));
		}
		x->bkeys[x->nbkeys++].p = p;
		x->lens[p.addr.family == AF_INET6][p.len] = 1;
	}
	if (x->nbkeys > 0)
		qsort(x->bkeys, x->nbkeys, sizeof(*x->bkeys),
		    report_bkey_cmp);
	return report_done(x, st, rc, cause);
}

/* The hours of the period, all addresses (rollups_all). */
static int
report_load_hours(struct report_load_ctx *x, char **cause)
{
	struct report	*r = x->r;
	sqlite3_stmt	*st;
	int		 rc, i;

	if (report_prepare(x, &st, cause, "SELECT hour, sum(conns), "
	    "sum(halfopen), sum(auth_fail), sum(register), sum(verdicts), "
	    "sum(refused) FROM rollups_all WHERE hour >= ?1 AND hour <= ?2 "
	    "AND (?3 IS NULL OR service = ?3) GROUP BY hour") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->from);
	sqlite3_bind_int64(st, 2, r->now);
	report_bind_text(st, 3, r->service);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((i = report_hour_index(r, sqlite3_column_int64(st,
		    0))) == -1)
			continue;
		r->hours[i].conns = report_col_u64(st, 1);
		r->hours[i].halfopen = report_col_u64(st, 2);
		r->hours[i].auth_fail = report_col_u64(st, 3);
		r->hours[i].registered = report_col_u64(st, 4);
		r->hours[i].verdicts = report_col_u64(st, 5);
		r->hours[i].refused = report_col_u64(st, 6);
	}
	return report_done(x, st, rc, cause);
}

/* Ends an address of the overview: its bans, its place in the lists. */
static void
report_addr_done(struct report_load_ctx *x, struct report_addr *cur,
    const struct addr *a)
{
	x->r->addresses++;
	cur->bans = report_bans_of(x, a);
	report_rank_add(x->r, cur);
}

/*
 * Folds the (address, service) sums, which arrive in address order, into
 * one entry per address.  Half-open flows ("?") and junk are no address
 * and only count in the totals.
 */
struct report_fold {
	struct report_addr	 cur;
	struct addr		 a;
	int			 have;
};

static void
report_fold(struct report_load_ctx *x, struct report_fold *fo,
    const struct report_group *g)
{
	struct report	*r = x->r;
	const char	*service = r->services[g->svc].name;

	report_counts_add(&r->total, &g->c);
	report_counts_add(&r->services[g->svc].c, &g->c);
	if (fo->have && strcmp(fo->cur.addr, g->addr) != 0) {
		report_addr_done(x, &fo->cur, &fo->a);
		fo->have = 0;
	}
	if (!fo->have) {
		if (addr_parse(g->addr, &fo->a, NULL) == -1)
			return;
		memset(&fo->cur, 0, sizeof(fo->cur));
		snprintf(fo->cur.addr, sizeof(fo->cur.addr), "%s", g->addr);
		fo->have = 1;
	}
	r->services[g->svc].addresses++;
	r->services[g->svc].nodes |= g->nodes;
	fo->cur.nodes |= g->nodes;
	report_counts_add(&fo->cur.c, &g->c);
	report_limits(r, &fo->a, service, g->max_conns, g->c.peak_live,
	    g->max_auth, g->max_reg, &fo->cur.lim);
}

static void
report_fold_end(struct report_load_ctx *x, struct report_fold *fo)
{
	if (fo->have)
		report_addr_done(x, &fo->cur, &fo->a);
	report_rank_end(x->r);
}

/* The index of a service name in r->services (created if new). */
static int
report_svc(struct report *r, const char *name)
{
	return (int)(report_service_get(r, name) - r->services);
}

static int
report_group_cmp(const void *va, const void *vb, void *arg)
{
	const struct report_group	*a = va, *b = vb;
	const struct report		*r = arg;
	int				 c;

	if ((c = strcmp(a->addr, b->addr)) != 0)
		return c;
	return strcmp(r->services[a->svc].name, r->services[b->svc].name);
}

/*
 * Reads one row into g's sums: ten counts from column `first`, then, if
 * maxes, the busiest hour's conns, auth_fail and register (a row of
 * rollups_day); else the counts are one hour's and are their own maxima.
 */
static void
report_group_add(struct report_group *g, sqlite3_stmt *st, int first,
    int maxes)
{
	struct report_counts	c;
	uint64_t		m[3];

	memset(&c, 0, sizeof(c));
	c.conns = report_col_u64(st, first);
	c.short_lived = report_col_u64(st, first + 1);
	c.halfopen = report_col_u64(st, first + 2);
	c.bytes_in = report_col_u64(st, first + 3);
	c.bytes_out = report_col_u64(st, first + 4);
	c.peak_live = report_col_u64(st, first + 5);
	c.verdicts = report_col_u64(st, first + 6);
	c.auth_fail = report_col_u64(st, first + 7);
	c.registered = report_col_u64(st, first + 8);
	c.refused = report_col_u64(st, first + 9);
	report_counts_add(&g->c, &c);
	m[0] = maxes ? report_col_u64(st, first + 10) : c.conns;
	m[1] = maxes ? report_col_u64(st, first + 11) : c.auth_fail;
	m[2] = maxes ? report_col_u64(st, first + 12) : c.registered;
	if (m[0] > g->max_conns)
		g->max_conns = m[0];
	if (m[1] > g->max_auth)
		g->max_auth = m[1];
	if (m[2] > g->max_reg)
		g->max_reg = m[2];
}

/*
 * The (address, service) sums in memory: htab hands out the indices of g,
 * which grows with the table up to max entries.  Nothing is removed, so
 * the entries are g[0] to g[htab_used() - 1] (htab hands out the lowest
 * free index first).
 */
struct report_groups {
	struct htab		 t;
	struct report_group	*g;
	uint32_t		 max;
};

/* The entry for (addr, svc), created if new; NULL when full. */
static struct report_group *
report_groups_get(struct report_groups *gs, const char *addr, int svc)
{
	struct report_group	*gi;
	char			 key[REPORT_ADDR_MAX + sizeof(svc)];
	size_t			 n = strnlen(addr, REPORT_ADDR_MAX - 1);
	uint64_t		 h;
	uint32_t		 i, cap;

	/* The address as it is kept (capped), then the service: keyed, so
	 * addresses an attacker picks cannot share a chain. */
	memcpy(key, addr, n);
	memcpy(key + n, &svc, sizeof(svc));
	h = htab_hash(&gs->t, key, n + sizeof(svc));
	for (i = htab_find(&gs->t, h); i != HTAB_NIL;
	    i = htab_find_next(&gs->t, i, h)) {
		gi = &gs->g[i];
		if (gi->svc == svc && strncmp(gi->addr, addr,
		    sizeof(gi->addr) - 1) == 0)
			return gi;
	}
	if ((i = htab_insert(&gs->t, h, 0)) == HTAB_NIL) {
		if ((cap = htab_capacity(&gs->t)) >= gs->max)
			return NULL;
		cap = cap > gs->max / 2 ? gs->max : cap * 2;
		htab_grow(&gs->t, cap);
		gs->g = xreallocarray(gs->g, cap, sizeof(*gs->g));
		i = htab_insert(&gs->t, h, 0);
	}
	gi = &gs->g[i];
	memset(gi, 0, sizeof(*gi));
	snprintf(gi->addr, sizeof(gi->addr), "%s", addr);
	gi->svc = svc;
	return gi;
}

/*
 * Where the period's rows are: whole days in rollups_day ([d0, d1)), the
 * hours before and after in rollups ([from, d0) and [d1, now]).  With no
 * whole day inside the period, everything is hours.
 */
static void
report_split(const struct report *r, int64_t *d0, int64_t *d1)
{
	*d0 = store_day(r->from) == r->from ? r->from :
	    store_day(r->from) + 24 * REPORT_HOUR_US;
	*d1 = store_day(r->now);
	if (*d0 >= *d1)
		*d0 = *d1 = r->now + 1;
}

/* Adds the rows of one statement to the groups: 1 if they filled up. */
static int
report_scan_rows(struct report_load_ctx *x, struct report_groups *gs,
    sqlite3_stmt *st, int maxes, int *rcp)
{
	struct report		*r = x->r;
	struct report_group	*gi;
	const char		*addr, *service;
	int			 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		addr = (const char *)sqlite3_column_text(st, 0);
		service = (const char *)sqlite3_column_text(st, 1);
		if (addr == NULL || service == NULL)
			continue;
		if ((gi = report_groups_get(gs, addr, report_svc(r,
		    service))) == NULL)
			return 1;
		gi->nodes |= (uint32_t)sqlite3_column_int64(st, 2);
		report_group_add(gi, st, 3, maxes);
	}
	*rcp = rc;
	return 0;
}

/*
 * The overview in one pass over the period's rows, each read once in
 * primary key order (no sort), summed per (address, service) in memory:
 * at most REPORT_GROUPS_MAX pairs.  Returns 0, -1 on error, or 1 if there
 * were more: the caller then lets SQLite GROUP BY, slower but in bounded
 * memory.
 */
static int
report_load_scan(struct report_load_ctx *x, char **cause)
{
	struct report		*r = x->r;
	struct report_groups	 gs;
	struct report_fold	 fo;
	sqlite3_stmt		*hst = NULL, *dst = NULL;
	int64_t			 d0, d1;
	uint32_t		 j, ng;
	int			 rc = SQLITE_DONE, over = 0, ret = -1;

	gs.max = r->groups_max > 0 ? r->groups_max : REPORT_GROUPS_MAX;
	htab_init(&gs.t, gs.max < 1024 ? gs.max : 1024, 1, NULL);
	gs.g = xreallocarray(NULL, htab_capacity(&gs.t), sizeof(*gs.g));
	report_split(r, &d0, &d1);
	if (report_prepare(x, &hst, cause, "SELECT addr, service, %s, conns, "
	    "short_lived, halfopen, bytes_in, bytes_out, peak_live, verdicts, "
	    "auth_fail, register, refused FROM rollups WHERE hour >= ?1 AND "
	    "hour < ?2 AND (?3 IS NULL OR service = ?3)", x->nb) == -1 ||
	    report_prepare(x, &dst, cause, "SELECT addr, service, %s, conns, "
	    "short_lived, halfopen, bytes_in, bytes_out, peak_live, verdicts, "
	    "auth_fail, register, refused, max_conns, max_auth_fail, "
	    "max_register FROM rollups_day WHERE day >= ?1 AND day < ?2 AND "
	    "(?3 IS NULL OR service = ?3)", x->nb) == -1)
		goto done;
	/* The hours before the first whole day, then after the last. */
	sqlite3_bind_int64(hst, 1, r->from);
	sqlite3_bind_int64(hst, 2, d0 < r->now ? d0 : r->now + 1);
	report_bind_text(hst, 3, r->service);
	over = report_scan_rows(x, &gs, hst, 0, &rc);
	if (!over && rc == SQLITE_DONE && d0 < d1) {
		sqlite3_reset(hst);
		sqlite3_bind_int64(hst, 1, d1);
		sqlite3_bind_int64(hst, 2, r->now + 1);
		over = report_scan_rows(x, &gs, hst, 0, &rc);
		if (!over && rc == SQLITE_DONE) {
			sqlite3_bind_int64(dst, 1, d0);
			sqlite3_bind_int64(dst, 2, d1);
			report_bind_text(dst, 3, r->service);
			over = report_scan_rows(x, &gs, dst, 1, &rc);
		}
	}
	if (over) {
		ret = 1;
		goto done;
	}
	if (rc != SQLITE_DONE) {
		*cause = xasprintf("%s: %s", r->db, sqlite3_errmsg(x->db));
		goto done;
	}
	/* In address order for the fold; the table is not used again. */
	ng = htab_used(&gs.t);
	if (ng > 0)
		qsort_r(gs.g, ng, sizeof(*gs.g), report_group_cmp, r);
	memset(&fo, 0, sizeof(fo));
	for (j = 0; j < ng; j++)
		report_fold(x, &fo, &gs.g[j]);
	report_fold_end(x, &fo);
	ret = 0;
done:
	sqlite3_finalize(hst);
	sqlite3_finalize(dst);
	htab_clear(&gs.t);
	free(gs.g);
	return ret;
}

/*
 * The same with SQLite doing the grouping: every (address, service) of
 * the period once, in address order (the ORDER BY is the GROUP BY's own,
 * so it costs no second sort).  Its sorter spills to a temporary file, so
 * memory stays bounded whatever the number of addresses.
 */
static int
report_load_grouped(struct report_load_ctx *x, char **cause)
{
	struct report		*r = x->r;
	struct report_group	 g;
	struct report_fold	 fo;
	sqlite3_stmt		*st;
	int64_t			 d0, d1;
	int			 rc;

	report_split(r, &d0, &d1);
	/* The nodes' bits are distinct powers of two: their distinct sum is
	 * their OR. */
	if (report_prepare(x, &st, cause, "SELECT addr, service, %s, "
	    "sum(conns), "
	    "sum(short_lived), sum(halfopen), sum(bytes_in), sum(bytes_out), "
	    "max(peak_live), sum(verdicts), sum(auth_fail), sum(register), "
	    "sum(rf), max(mc), max(ma), max(mr) FROM ("
	    "SELECT addr, service, %s AS nb, conns, short_lived, halfopen, "
	    "bytes_in, bytes_out, peak_live, verdicts, auth_fail, register, "
	    "refused AS rf, conns AS mc, auth_fail AS ma, register AS mr "
	    "FROM rollups WHERE "
	    "((hour >= ?1 AND hour < ?2) OR (hour >= ?3 AND hour <= ?4)) "
	    "AND (?5 IS NULL OR service = ?5) UNION ALL "
	    "SELECT addr, service, %s AS nb, conns, short_lived, halfopen, "
	    "bytes_in, bytes_out, peak_live, verdicts, auth_fail, register, "
	    "refused, max_conns, max_auth_fail, max_register FROM rollups_day "
	    "WHERE day >= ?2 AND day < ?3 AND (?5 IS NULL OR service = ?5)) "
	    "GROUP BY addr, service ORDER BY addr, service",
	    r->nnodes > 1 ? "sum(DISTINCT nb)" : "1", x->nb, x->nb) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->from);
	sqlite3_bind_int64(st, 2, d0 < r->now ? d0 : r->now + 1);
	sqlite3_bind_int64(st, 3, d0 < d1 ? d1 : r->now + 1);
	sqlite3_bind_int64(st, 4, r->now);
	report_bind_text(st, 5, r->service);
	memset(&fo, 0, sizeof(fo));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&g, 0, sizeof(g));
		report_col_text(st, 0, g.addr, sizeof(g.addr));
		if (sqlite3_column_text(st, 1) == NULL)
			continue;
		g.svc = report_svc(r, (const char *)sqlite3_column_text(st,
		    1));
		g.nodes = (uint32_t)sqlite3_column_int64(st, 2);
		report_group_add(&g, st, 3, 1);
		report_fold(x, &fo, &g);
	}
	if (report_done(x, st, rc, cause) == -1)
		return -1;
	report_fold_end(x, &fo);
	return 0;
}

/* The overview: the hours, then the fast pass or SQLite's grouping. */
static int
report_load_addrs(struct report_load_ctx *x, char **cause)
{
	struct report	*r = x->r;
	int		 rc, i;

	r->tops = xcalloc(r->top > 0 ? r->top : 1, sizeof(*r->tops));
	r->near = xcalloc(r->top > 0 ? r->top : 1, sizeof(*r->near));
	if (report_load_hours(x, cause) == -1)
		return -1;
	if ((rc = report_load_scan(x, cause)) != 1)
		return rc;
	/* Too many addresses for memory: start again. */
	for (i = 0; i < r->nservices; i++) {
		memset(&r->services[i].c, 0, sizeof(r->services[i].c));
		r->services[i].addresses = 0;
	}
	return report_load_grouped(x, cause);
}

static int
report_load_nverdicts(struct report_load_ctx *x, char **cause)
{
	struct report	*r = x->r;
	sqlite3_stmt	*st;
	int		 rc;

	if (report_prepare(x, &st, cause, "SELECT count(*) FROM verdicts "
	    "WHERE time >= ?1 AND time <= ?2") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->now - r->since);
	sqlite3_bind_int64(st, 2, r->now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r->nverdicts_total = report_col_u64(st, 0);
		rc = sqlite3_step(st);
	}
	return report_done(x, st, rc, cause);
}

/* --ip: the address's rollups, hour by hour. */
static int
report_load_timeline(struct report_load_ctx *x, char **cause)
{
	struct report	*r = x->r;
	struct report_tl t;
	sqlite3_stmt	*st;
	size_t		 cap = 0;
	int		 rc, i;

	if (report_prepare(x, &st, cause, "SELECT hour, service, conns, "
	    "short_lived, halfopen, bytes_in, bytes_out, peak_live, verdicts, "
	    "auth_fail, register, %s, refused FROM rollups WHERE addr = ?1 "
	    "AND hour >= ?2 AND hour <= ?3 AND (?4 IS NULL OR service = ?4) "
	    "ORDER BY hour, service", x->nn) == -1)
		return -1;
	report_bind_text(st, 1, r->ipn);
	sqlite3_bind_int64(st, 2, r->from);
	sqlite3_bind_int64(st, 3, r->now);
	report_bind_text(st, 4, r->service);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		t.hour = sqlite3_column_int64(st, 0);
		report_col_text(st, 1, t.service, sizeof(t.service));
		t.c.conns = report_col_u64(st, 2);
		t.c.short_lived = report_col_u64(st, 3);
		t.c.halfopen = report_col_u64(st, 4);
		t.c.bytes_in = report_col_u64(st, 5);
		t.c.bytes_out = report_col_u64(st, 6);
		t.c.peak_live = report_col_u64(st, 7);
		t.c.verdicts = report_col_u64(st, 8);
		t.c.auth_fail = report_col_u64(st, 9);
		t.c.registered = report_col_u64(st, 10);
		report_col_text(st, 11, t.node, sizeof(t.node));
		t.c.refused = report_col_u64(st, 12);
		report_counts_add(&r->total, &t.c);
		report_counts_add(&report_service_get(r, t.service)->c, &t.c);
		if ((i = report_hour_index(r, t.hour)) != -1) {
			r->hours[i].conns += t.c.conns;
			r->hours[i].auth_fail += t.c.auth_fail;
			r->hours[i].registered += t.c.registered;
			r->hours[i].verdicts += t.c.verdicts;
			r->hours[i].refused += t.c.refused;
		}
		/* One row per hour and service: bounded by the period. */
		if ((size_t)r->ntl == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			r->tl = xreallocarray(r->tl, cap, sizeof(*r->tl));
		}
		r->tl[r->ntl++] = t;
	}
	return report_done(x, st, rc, cause);
}

/* --ip: the newest verdicts about it or a network holding it. */
static int
report_load_verdicts(struct report_load_ctx *x, const struct addr *ip,
    char **cause)
{
	struct report		*r = x->r;
	struct report_verdict	 v;
	struct addr		 a;
	struct prefix		 p;
	sqlite3_stmt		*st;
	int			 rc;

	if (report_prepare(x, &st, cause, "SELECT time, addr, prefixlen, "
	    "rule, service, observed, lim, allowlisted, held, reason, %s FROM "
	    "verdicts WHERE time >= ?1 AND time <= ?2 ORDER BY time DESC",
	    x->nn) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->now - r->since);
	sqlite3_bind_int64(st, 2, r->now);
	r->verdicts = xcalloc(r->top > 0 ? r->top : 1, sizeof(*r->verdicts));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&v, 0, sizeof(v));
		v.time = sqlite3_column_int64(st, 0);
		report_col_text(st, 1, v.addr, sizeof(v.addr));
		v.prefixlen = sqlite3_column_int(st, 2);
		if (addr_parse(v.addr, &a, NULL) == -1 || v.prefixlen < 0 ||
		    v.prefixlen > addr_maxlen(&a))
			continue;
		addr_mask(&a, v.prefixlen, &p);
		if (!addr_prefix_contains(&p, ip))
			continue;
		r->nverdicts_total++;
		if (r->nverdicts >= r->top)
			continue;
		report_col_text(st, 3, v.rule, sizeof(v.rule));
		report_col_text(st, 4, v.service, sizeof(v.service));
		v.observed = report_col_u64(st, 5);
		v.limit = report_col_u64(st, 6);
		v.allowlisted = sqlite3_column_int(st, 7);
		v.held = sqlite3_column_int(st, 8);
		report_col_text(st, 9, v.reason, sizeof(v.reason));
		report_col_text(st, 10, v.node, sizeof(v.node));
		r->verdicts[r->nverdicts++] = v;
	}
	return report_done(x, st, rc, cause);
}

/*
 * --ip: its newest log events, if cheap.  events has no index on addr (see
 * sql/001_init.sql), so only the REPORT_EVENTS_SCAN newest rows of the
 * period are examined.
 */
static int
report_load_events(struct report_load_ctx *x, char **cause)
{
	struct report		*r = x->r;
	struct report_event	*e;
	sqlite3_stmt		*st;
	int			 rc;

	if (report_prepare(x, &st, cause, "SELECT time, kind, service, "
	    "source, origin, user, %s FROM (SELECT * FROM events WHERE "
	    "time >= ?1 AND time <= ?2 ORDER BY time DESC LIMIT ?3) WHERE "
	    "addr = ?4 ORDER BY time DESC LIMIT ?5", x->nn) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->now - r->since);
	sqlite3_bind_int64(st, 2, r->now);
	sqlite3_bind_int(st, 3, REPORT_EVENTS_SCAN);
	report_bind_text(st, 4, r->ipn);
	sqlite3_bind_int(st, 5, r->top);
	r->events = xcalloc(r->top > 0 ? r->top : 1, sizeof(*r->events));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->nevents < r->top) {
		e = &r->events[r->nevents++];
		e->time = sqlite3_column_int64(st, 0);
		report_col_text(st, 1, e->kind, sizeof(e->kind));
		report_col_text(st, 2, e->service, sizeof(e->service));
		report_col_text(st, 3, e->source, sizeof(e->source));
		report_col_text(st, 4, e->origin, sizeof(e->origin));
		report_col_text(st, 5, e->user, sizeof(e->user));
		report_col_text(st, 6, e->node, sizeof(e->node));
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return report_done(x, st, rc, cause);
}

int
report_load(struct report *r, sqlite3 *db, char **cause)
{
	struct report_load_ctx	 x;
	struct addr		 ip;
	int			 rc;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.db = db;
	x.nb = r->nnodes > 1 ? "nodebit" : "1";
	x.nn = r->nnodes > 1 ? "node" : "''";
	r->from = store_hour(r->now - r->since);
	r->nhours = (int)((store_hour(r->now) - r->from) / REPORT_HOUR_US) + 1;
	r->hours = xcalloc(r->nhours, sizeof(*r->hours));
	if (r->ip != NULL) {
		if (addr_parse(r->ip, &ip, NULL) == -1) {
			*cause = xasprintf("%s: not an address", r->ip);
			return -1;
		}
		addr_ntop(&ip, r->ipn, sizeof(r->ipn));
	}
	/* One snapshot for every query, however long the daemon writes. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", r->db, sqlite3_errmsg(db));
		return -1;
	}
	if (r->ip == NULL)
		rc = report_load_bans(&x, NULL, cause) == -1 ||
		    report_load_addrs(&x, cause) == -1 ||
		    report_load_nverdicts(&x, cause) == -1 ||
		    (r->nlosses = losses_load(db, r->from, r->losses,
		    REPORT_LOSSES_MAX, cause)) == -1 ? -1 : 0;
	else
		rc = report_load_timeline(&x, cause) == -1 ||
		    report_load_bans(&x, &ip, cause) == -1 ||
		    report_load_verdicts(&x, &ip, cause) == -1 ||
		    report_load_events(&x, cause) == -1 ? -1 : 0;
	if (rc == 0 && r->charts)
		rc = report_span_load(r, db, r->ip != NULL ? &ip : NULL, x.nn,
		    cause);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	free(x.bkeys);
	return rc;
}

void
report_clear(struct report *r)
{
	free(r->hours);
	free(r->tops);
	free(r->near);
	free(r->bans);
	free(r->tl);
	free(r->verdicts);
	free(r->events);
	free(r->marks);
	free(r->conns);
	r->marks = NULL;
	r->conns = NULL;
	r->hours = NULL;
	r->tops = r->near = NULL;
	r->bans = NULL;
	r->tl = NULL;
	r->verdicts = NULL;
	r->events = NULL;
}
