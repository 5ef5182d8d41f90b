/*
 * Filters: matching log lines against a loaded filter (filter_load.c
 * reads the file; its format is described there).
 *
 *
 * Matching.  The first pattern whose literal is present and whose regex
 * matches gives the line's event.  Regexes are compiled without PCRE2_UTF,
 * so log lines are bytes: NUL bytes and invalid UTF-8 match or not, they
 * never fail.  Each is JIT-compiled when the platform allows and otherwise
 * interpreted; a match context with match, depth and heap limits bounds
 * the work of any one line (JIT code ignores the depth limit, but its own
 * stack is bounded too), so a pathological pattern costs a counted
 * error (fail2ban GHSA-33wh-ccjc-p397 hung the daemon) and the daemon
 * moves on.  One match data block, sized for the largest pattern, is
 * reused for every line.
 *
 * Joins.  Some servers write the address once, on the connection line,
 * and only a correlation key (Prosody session id, ejabberd Erlang pid,
 * jabberd2 fd) on the later lines.  "join = set" records key -> address,
 * "get" gives a line without an address the recorded one, "clear" does the
 * same and then forgets the key, so a reused fd cannot inherit the old
 * client's address; a "set" whose line has no usable address forgets the
 * key for the same reason.
 *
 * Attempts.  Every failed SASL attempt must count, also the tenth on one
 * long-lived stream, or a client that never reconnects guesses without
 * limit; but some servers write several lines for one attempt: ejabberd
 * one per mechanism a client falls back through (slixmpp: SCRAM-SHA-1-
 * PLUS, SCRAM-SHA-1, PLAIN, three lines for one wrong password).  "fold =
 * key+mech" makes those one event: a line whose key has an attempt open
 * (begun within dedup_window, fewer than fold_max lines so far) joins it
 * if it names a mechanism the attempt has not seen, and is marked
 * FILTER_R_DUP; a mechanism seen already (a client trying PLAIN again),
 * a full or expired attempt, or a line with no mechanism begins a new
 * attempt, which is an event.  A guesser on one stream therefore gets at
 * most as many guesses per counted attempt as one that reconnects and
 * falls back through the same mechanisms.  Servers that do not name the
 * mechanism use "fold = key" and fold_max, the number of lines their one
 * attempt can write.  The older "once_per" folds every repeat within the
 * window into one event: kept for lines that really repeat one event (a
 * close, a rate-limit notice), wrong for auth failures.
 *
 * Forged lines.  A server that writes a client's text unescaped (ejabberd
 * its SASL user names, newlines included) lets the client write whole
 * lines of its own, naming any address.  A pattern's "refuse" regex names
 * a shape only forgery gives (ejabberd: a failure line without "for USER"
 * with a second " from ADDR: " after the first, the real one ejabberd
 * appended), and "join = check" refuses a line whose own address differs
 * from the one its key's connection line recorded.  A refused line is no
 * event and touches no table; it is counted as forged.  A key the join
 * table does not know is not refused: the daemon starts at a log's end,
 * after connections it never saw open, and entries expire and are evicted
 * (a guesser could idle or flood its way out of being counted).  Lines
 * naming addresses that never connected are the pipeline's to catch
 * (conntrack corroboration).
 *
 * Two-line records.  Old servers write some records as a header with the
 * time and a line with the rest (ejabberd 2.x: "=INFO REPORT==== DATE
 * ===", then "I(...) : ... Failed authentication ...").  A "carry = time"
 * pattern (kind none) matches the header and keeps its time; the line
 * right after it, if its own pattern finds no time, takes that one.  Only
 * the very next line: the header's line count is kept (st.lines, which
 * the lines skipped by filter_scan() advance too), so a header followed
 * by anything else carries nothing further.

 * Both tables have the same shape (filter_tab): a bounded hash table
 * (htab.c) whose entries are keyed by a 64-bit keyed hash (SipHash, a
 * secret key per table, so log contents cannot aim collisions; the key
 * text is not stored, and two keys sharing a hash, a 2^-64 chance, would
 * share an entry), with one list in order of last write for expiry and
 * eviction.  Invariants: an entry is in use iff the table's index is; the
 * list is oldest first; a full table evicts its oldest entry and counts
 * it.  Their clock is the line's own time when it has
 * one, else 'now', so a replayed log joins as it did live.
 */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter_int.h"
#include "log.h"
#include "xmalloc.h"

#define FILTER_LOOKBACK_MAX	100000	/* lines filter_lookback() reads */
#define FILTER_LB_WALK		(64 * 1024) /* bytes one chunk walk reads */

static int	filter_match_line(struct filter *, const char *, size_t,
		    int64_t, struct filter_result *, int, const uint64_t *);

static void
filter_tab_init(struct filter_tab *t, uint32_t cap, int64_t ttl,
    uint64_t *evictions, const struct siphash_key *key)
{
	htab_init(&t->tab, cap, 1, key);
	t->e = xcalloc(htab_capacity(&t->tab), sizeof(*t->e));
	t->ttl = ttl;
	t->evictions = evictions;
}

static void
filter_tab_clear(struct filter_tab *t)
{
	htab_clear(&t->tab);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static int
filter_tab_expired(const struct filter_tab *t, uint32_t i, int64_t now)
{
	return now - t->e[i].t >= t->ttl;
}

/* The live entry for h, or NULL; an expired one is removed on the way. */
static struct filter_tab_entry *
filter_tab_find(struct filter_tab *t, uint64_t h, int64_t now)
{
	uint32_t	i;

	for (i = htab_find(&t->tab, h); i != HTAB_NIL;
	    i = htab_find_next(&t->tab, i, h)) {
		if (t->e[i].h != h)
			continue;
		if (filter_tab_expired(t, i, now)) {
			htab_remove(&t->tab, i);
			return NULL;
		}
		return &t->e[i];
	}
	return NULL;
}

static struct filter_tab_entry *
filter_tab_put(struct filter_tab *t, uint64_t h, const struct addr *a,
    int64_t now)
{
	struct filter_tab_entry	*e;
	uint32_t		 i;

	if ((e = filter_tab_find(t, h, now)) != NULL) {
		i = (uint32_t)(e - t->e);
		htab_touch(&t->tab, i, 0);
	} else {
		while ((i = htab_oldest(&t->tab, 0)) != HTAB_NIL &&
		    filter_tab_expired(t, i, now))
			htab_remove(&t->tab, i);
		if ((i = htab_insert(&t->tab, h, 0)) == HTAB_NIL) {
			htab_remove(&t->tab, htab_oldest(&t->tab, 0));
			(*t->evictions)++;
			i = htab_insert(&t->tab, h, 0);
		}
		e = &t->e[i];
		e->h = h;
	}
	if (a != NULL)
		e->u.addr = *a;
	else
		memset(&e->u, 0, sizeof(e->u));
	e->t = now;
	return e;
}

static void
filter_tab_del(struct filter_tab *t, uint64_t h, int64_t now)
{
	struct filter_tab_entry	*e;

	if ((e = filter_tab_find(t, h, now)) != NULL)
		htab_remove(&t->tab, (uint32_t)(e - t->e));
}

void
filter_tables_init(struct filter *f, uint32_t join_cap, int64_t join_ttl,
    uint32_t dedup_cap, int64_t dedup_window)
{
	filter_tab_init(&f->join, join_cap, join_ttl, &f->st.join_evictions,
	    NULL);
	filter_tab_init(&f->dedup, dedup_cap, dedup_window,
	    &f->st.dedup_evictions, NULL);
}

void
filter_tables_clear(struct filter *f)
{
	filter_tab_clear(&f->join);
	filter_tab_clear(&f->dedup);
}

/* The first occurrence of l in h[0..n), or NULL. */
static const char *
filter_lit_find(const struct filter_lit *l, const char *h, size_t n)
{
	const char	*p, *end;
	unsigned char	 c;

	if (n < l->len || l->len == 0)
		return l->len == 0 ? h : NULL;
	c = (unsigned char)l->s[l->rare];
	/* The rare byte of a match starting at k sits at k + rare, for k
	 * from 0 to n - len. */
	p = h + l->rare;
	end = h + (n - l->len) + l->rare + 1;
	while (p < end && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
		/* The last byte first: most false hits end there. */
		if (p[l->len - 1 - l->rare] == l->s[l->len - 1] &&
		    memcmp(p - l->rare, l->s, l->len) == 0)
			return p - l->rare;
		p++;
	}
	return NULL;
}

/*
 * The literals filter_scan() looks for in a whole buffer: the prefilter
 * if there is one and no restriction narrows the patterns, else the
 * literals of the patterns still tried, if every one of them has one.  A
 * line holding none of them cannot give a match, so it need not be
 * looked at.  No literals: every line goes through filter_match().
 */
static void
filter_scan_pick(struct filter *f)
{
	size_t	i, j, n = 0;
	int	narrowed = 0;

	free(f->scan);
	f->scan = NULL;
	f->nscan = 0;
	for (i = 0; i < f->npat; i++) {
		if (f->pat[i].off || f->pat[i].quiet)
			narrowed = 1;
		else if (f->pat[i].literal == NULL)
			n = SIZE_MAX;
		else if (n != SIZE_MAX)
			n++;
	}
	if (f->nprefilter > 0 && (!narrowed || n == SIZE_MAX)) {
		f->scan = xcalloc(f->nprefilter, sizeof(*f->scan));
		for (i = 0; i < f->nprefilter; i++)
			f->scan[i] = &f->prefilter_lit[i];
		f->nscan = f->nprefilter;
		return;
	}
	if (n == SIZE_MAX || n == 0)
		return;
	f->scan = xcalloc(n, sizeof(*f->scan));
	for (i = 0; i < f->npat; i++) {
		if (f->pat[i].off || f->pat[i].quiet)
			continue;
		for (j = 0; j < f->nscan; j++)
			if (strcmp(f->scan[j]->s, f->pat[i].literal) == 0)
				break;
		if (j < f->nscan)
			continue;
		f->scan[f->nscan++] = &f->pat[i].lit;
	}
}

void
filter_scan_setup(struct filter *f)
{
	filter_scan_pick(f);
	filter_mscan_setup(f);
}

/* Matching. */

/* Copies a group into dst as a string, cut to size. */
static void
filter_copy(char *dst, size_t size, const char *s, size_t n,
    struct filter_result *out)
{
	if (n >= size) {
		n = size - 1;
		out->flags |= FILTER_R_TRUNC;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * The hash of out's fields in mask (once_per or fold; mech is not one of
 * them), or 0 if they are all empty.
 */
static uint64_t
filter_dedup_hash(const struct filter *f, unsigned int mask,
    const struct filter_result *out)
{
	uint8_t		 buf[2 + sizeof(struct addr) + 3 * FILTER_USER_MAX];
	size_t		 len = 0, n;
	int		 any = 0, i;
	const char	*s;

	buf[len++] = (uint8_t)out->kind;
	buf[len++] = (uint8_t)mask;	/* fold and once_per apart */
	for (i = 0; i < FILTER_F_MAX; i++) {
		if (!(mask & (1U << i)) || i == FILTER_F_MECH)
			continue;
		if (i == FILTER_F_IP) {
			if (out->addr.family != 0)
				any = 1;
			memcpy(buf + len, &out->addr, sizeof(out->addr));
			len += sizeof(out->addr);
			continue;
		}
		s = i == FILTER_F_USER ? out->user :
		    i == FILTER_F_HOST ? out->host : out->key;
		n = strlen(s);
		if (n > 0)
			any = 1;
		memcpy(buf + len, s, n + 1);	/* the NUL separates */
		len += n + 1;
	}
	if (!any)
		return 0;
	return htab_hash(&f->dedup.tab, buf, len) | 1;
}

/*
 * 1 if p's refuse regex finds a forged shape in the line.  A match error
 * counts against the pattern but refuses nothing: text a client chose
 * must not be able to make its own real failures vanish.
 */
static int
filter_refused(struct filter *f, struct filter_pattern *p, const char *line,
    size_t len)
{
	int	rc;

	if (p->refuse_re == NULL)
		return 0;
	rc = (p->refuse_jit ? pcre2_jit_match : pcre2_match)(p->refuse_re,
	    (PCRE2_SPTR)line, len, 0, 0, f->rmd, f->mctx);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
		p->st.errors++;
		f->st.errors++;
	}
	return rc >= 0;
}

/*
 * Fold (see the top of this file): 1 if the line joins the attempt open
 * for its fields, 0 if it begins a new one, which is then recorded.
 */
static int
filter_fold(struct filter *f, const struct filter_pattern *p,
    const char *mech, size_t mechlen, const struct filter_result *out)
{
	struct filter_tab_entry	*e;
	uint64_t		 h;
	uint32_t		 m = 0;
	unsigned int		 i;

	if ((h = filter_dedup_hash(f, p->fold, out)) == 0)
		return 0;
	if (mechlen > 0)
		m = (uint32_t)htab_hash(&f->dedup.tab, mech, mechlen) | 1;
	e = filter_tab_find(&f->dedup, h, out->time);
	if (e != NULL && e->u.fold.n < p->fold_max) {
		if (!(p->fold & (1U << FILTER_F_MECH))) {
			e->u.fold.n++;
			return 1;
		}
		for (i = 0; m != 0 && i < e->u.fold.n; i++)
			if (e->u.fold.mech[i] == m)
				break;
		if (m != 0 && i == e->u.fold.n) {
			e->u.fold.mech[e->u.fold.n++] = m;
			return 1;
		}
	}
	e = filter_tab_put(&f->dedup, h, NULL, out->time);
	e->u.fold.mech[0] = m;
	e->u.fold.n = 1;
	return 0;
}

/*
 * The look-back of a join that finds nothing in the table, for a reader
 * that did not run every join line before this one: a restricted
 * filter_scan() (test-filter --kind), where the patterns that only feed
 * the join table are not run on every line, and a reader that starts in
 * the middle of a file (filter_set_lookback()).  It reads back from the
 * line start from towards base, line by line, for the nearest join = set
 * or clear line with the same key, and takes its address if it is a set
 * within join_ttl.  The cost falls only on the lines that need a join,
 * and the answer is the one the table would have given, except where the
 * table would have evicted the entry.  With a budget, the bytes read are
 * taken from it, and -1 says it ran out; -2 says base was reached without
 * a join line of the key; else 1 and *addr if found, 0 if the key was
 * cleared, had no address or expired.
 */
static int
filter_lookback(struct filter *f, const char *from, const char *base,
    const char *key, size_t keylen, int64_t t, struct addr *addr,
    size_t *budget)
{
	struct filter_pattern	*p;
	const char		*ls, *le = from, *k;
	PCRE2_SIZE		*ov = pcre2_get_ovector_pointer(f->md);
	struct addr		 a;
	uint16_t		 port;
	int64_t			 lt;
	size_t			 i, lines;
	int			 rc, g;

	for (lines = 0; le > base && lines < FILTER_LOOKBACK_MAX; lines++) {
		le--;			/* the newline ending that line */
		ls = memrchr(base, '\n', (size_t)(le - base));
		ls = ls == NULL ? base : ls + 1;
		f->st.lookback_bytes += (uint64_t)(le - ls) + 1;
		if (budget != NULL) {
			if (*budget <= (size_t)(le - ls))
				return -1;
			*budget -= (size_t)(le - ls) + 1;
		}
		for (i = 0; i < f->npat; i++) {
			p = &f->pat[i];
			if (p->literal != NULL && filter_lit_find(&p->lit, ls,
			    (size_t)(le - ls)) == NULL)
				continue;
			rc = pcre2_match(p->re, (PCRE2_SPTR)ls,
			    (size_t)(le - ls), 0, 0, f->md, f->mctx);
			if (rc <= 0)
				continue;
			/* The line's own pattern, as in the whole filter:
			 * only a join line of the same key answers, and
			 * not a forged one. */
			if ((p->join != FILTER_JOIN_SET &&
			    p->join != FILTER_JOIN_CLEAR) ||
			    filter_refused(f, p, ls, (size_t)(le - ls)))
				break;
			g = p->grp[FILTER_F_KEY];
			if (g >= rc || ov[2 * g] == PCRE2_UNSET ||
			    ov[2 * g + 1] - ov[2 * g] != keylen)
				continue;
			k = ls + ov[2 * g];
			if (memcmp(k, key, keylen) != 0)
				continue;
			if (p->join != FILTER_JOIN_SET)
				return 0;	/* cleared: the key was reused */
			g = p->grp[FILTER_F_IP];
			if (g >= rc || ov[2 * g] == PCRE2_UNSET ||
			    addr_parse_n(ls + ov[2 * g], ov[2 * g + 1] -
			    ov[2 * g], &a, &port) == -1)
				return 0;
			g = p->grp[FILTER_F_TIME];
			if (g != 0 && g < rc && ov[2 * g] != PCRE2_UNSET &&
			    f->has_time && (lt = logtime_parse(&f->time,
			    ls + ov[2 * g], ov[2 * g + 1] - ov[2 * g], t)) >= 0 &&
			    t - lt > f->join.ttl)
				return 0;	/* expired */
			*addr = a;
			return 1;
		}
		le = ls;
	}
	return le > base ? 0 : -2;
}

/*
 * filter_lookback() from the start of the buffer (scan_at) back to
 * file_fed, in the file (filter_set_file()), read with pread(2) into a
 * window rather than from the mapping, whose first touch of a page costs
 * a fault (about a tenth of a millisecond, measured on a virtual
 * machine) where a copy of a few KiB costs a microsecond.  The window
 * starts at 4 KiB, as the connection line is mostly near, and grows
 * fourfold while the walk goes on; from a cut in the middle of a line
 * only the lines after it are walked, unless the walk has no more bytes
 * than the window, and then one more byte is read so that it runs out at
 * the cut line as it would walking the whole line.
 */
static int
filter_lookback_file(struct filter *f, const char *key, size_t keylen,
    int64_t t, struct addr *addr, size_t *walk)
{
	const char	*from, *end = f->scan_at, *ls;
	size_t		 len, have, size = 4096;
	ssize_t		 n;
	int		 rc, last;

	if (f->file_fd == -1)
		return filter_lookback(f, end, f->file_fed, key, keylen, t,
		    addr, walk);
	if (f->file_win == NULL)
		f->file_win = xmalloc(FILTER_LB_WALK + 1);
	for (;;) {
		from = f->file_fed;
		last = 1;
		if ((size_t)(end - from) > size && size <= *walk) {
			from = end - size;
			last = 0;
		}
		if ((size_t)(end - from) > *walk + 1) {
			from = end - (*walk + 1);
			last = 1;
		}
		len = (size_t)(end - from);
		for (have = 0; have < len; have += (size_t)n) {
			n = pread(f->file_fd, f->file_win + have, len - have,
			    (off_t)(from - f->file) + (off_t)have);
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n <= 0)	/* the mapping serves */
				return filter_lookback(f, end, f->file_fed,
				    key, keylen, t, addr, walk);
		}
		if (last)
			return filter_lookback(f, f->file_win + len,
			    f->file_win, key, keylen, t, addr, walk);
		size *= 4;
		/* The lines after the first newline, the rest next time. */
		if ((ls = memchr(f->file_win, '\n', len)) == NULL)
			continue;
		ls++;
		rc = filter_lookback(f, f->file_win + len, ls, key, keylen, t,
		    addr, walk);
		if (rc != -2)
			return rc;
		end = from + (ls - f->file_win);
	}
}

/*
 * Runs the join lines of [from, upto) through the filter into the join
 * table, as a reader of every line would have run them (a line goes to
 * the first pattern that matches it, as always, and only join = set and
 * clear lines write).  Counters are left as they were: these lines were
 * counted where they were read, or are another reader's.
 */
static void
filter_join_feed(struct filter *f, const char *from, const char *upto)
{
	struct filter_pattern_stats	*ps;
	struct filter_stats		 st = f->st;
	struct filter_result		 r;
	const char			*ls, *le;
	size_t				 i;

	ps = xreallocarray(NULL, f->npat, sizeof(*ps));
	for (i = 0; i < f->npat; i++)
		ps[i] = f->pat[i].st;
	f->lb_building = 1;
	for (ls = from; ls < upto; ls = le + 1) {
		if ((le = memchr(ls, '\n', (size_t)(upto - ls))) == NULL)
			le = upto;
		/* Only lines a join pattern could take need a match. */
		for (i = 0; i < f->npat; i++)
			if ((f->pat[i].join == FILTER_JOIN_SET ||
			    f->pat[i].join == FILTER_JOIN_CLEAR) &&
			    (f->pat[i].literal == NULL ||
			    filter_lit_find(&f->pat[i].lit, ls,
			    (size_t)(le - ls)) != NULL))
				break;
		if (i < f->npat)
			(void)filter_match_line(f, ls, (size_t)(le - ls),
			    f->scan_now, &r, 0, NULL);
	}
	f->lb_building = 0;
	f->st = st;
	f->st.lookback_bytes += (uint64_t)(upto - from);
	for (i = 0; i < f->npat; i++)
		f->pat[i].st = ps[i];
	free(ps);
}

/*
 * A restricted scan's look-back that ran out: the join lines from where
 * the table was last fed up to line go into it, from the file first if
 * that was before this buffer (filter_set_file()).  Each byte is fed at
 * most once, so all of a file's feeds cost at most what the whole filter
 * pays to run every join line once.
 */
static void
filter_join_restricted_feed(struct filter *f, const char *line)
{
	const char	*buf = f->scan_base;

	if (f->file_fed != NULL && f->file_fed < f->scan_at)
		filter_join_feed(f, f->file_fed, f->scan_at);
	filter_join_feed(f, f->scan_fed, line);
	f->scan_fed = line;
	if (f->file_fed != NULL)
		f->file_fed = f->scan_at + (line - buf);
}

/* Empties the join table: a new one with the same size, life and key. */
static void
filter_join_renew(struct filter *f)
{
	struct filter_tab	old = f->join;

	filter_tab_init(&f->join, htab_capacity(&old.tab), old.ttl,
	    old.evictions, &old.tab.key);
	filter_tab_clear(&old);
}

/*
 * A look-back that finds nothing has read back as far as it may; 1 and
 * *addr if the key is in the join table now, after the look-back has
 * given way to a table (see filter_join_find()).  What the table held is
 * kept for a join = clear line (join_e, join_known).
 */
static int
filter_join_again(struct filter *f, uint64_t h, int64_t t, struct addr *addr)
{
	struct filter_tab_entry	*e;

	f->join_e = e = filter_tab_find(&f->join, h, t);
	f->join_known = 1;
	if (e == NULL)
		return 0;
	*addr = e->u.addr;
	return 1;
}

/*
 * A join = clear line's key leaves the table.  If the line's join looked
 * the key up in the table last (join_known), the entry it found, if any,
 * is the one, and a second look-up is saved: a third of the time spent
 * in the join table by a log's close lines.
 */
static void
filter_join_clear(struct filter *f, uint64_t h, int64_t t)
{
	if (!f->join_known)
		filter_tab_del(&f->join, h, t);
	else if (f->join_e != NULL)
		htab_remove(&f->join.tab, (uint32_t)(f->join_e - f->join.e));
}

/*
 * The address the join table (or, reading a chunk or restricted, the
 * look-back) holds for the key; 1 and *addr if there is one.
 *
 * The look-backs are bounded: one reads at most FILTER_LB_WALK, and all
 * of a reader's together a budget.  In a log whose keys rarely repeat
 * every miss would read back as far as it may, so past the bound the
 * lines looked back over are read once into the table instead.  A chunk
 * (filter_set_lookback()) reads [lb_from, line) into a new table, which
 * then holds what a reader from the file's beginning would hold at this
 * line: entries written before lb_from have expired by the chunk's lines
 * (join_ttl and a minute before it), and an expired entry is always
 * evicted before a live one; its look-back ends there.  A restricted
 * scan, whose table no line has written, reads the join lines from where
 * it last did (scan_fed) to this one, and looks back no further than
 * that from then on.  Reading a file in pieces (filter_set_file()), where
 * it last did may lie in an earlier piece: the walk goes on there, so a
 * connection line just before the piece is found as the table finds it.
 */
static int
filter_join_find(struct filter *f, const char *line, const char *key,
    size_t keylen, uint64_t h, int64_t t, struct addr *addr)
{
	size_t		 walk;
	int		 rc;

	f->join_known = 0;
	/* Restricted, the table holds the join lines up to scan_fed only:
	 * what the walk finds after them comes first. */
	if (f->restricted && f->scan_base != NULL && !f->lb_building) {
		walk = f->scan_budget < FILTER_LB_WALK ? f->scan_budget :
		    FILTER_LB_WALK;
		f->scan_budget -= walk;
		rc = filter_lookback(f, line, f->scan_fed, key, keylen, t,
		    addr, &walk);
		/* Nothing fed in this buffer yet: the rest of the walk goes
		 * on in the file, back to where the table was fed. */
		if (rc == -2 && f->file_fed != NULL && f->file_fed < f->scan_at)
			rc = filter_lookback_file(f, key, keylen, t, addr,
			    &walk);
		f->scan_budget += walk;
		if (rc == -1) {
			filter_join_restricted_feed(f, line);
			f->scan_fed_any = 1;
		} else if (rc != -2)
			return rc;
		return filter_join_again(f, h, t, addr);
	}
	if (filter_join_again(f, h, t, addr))
		return 1;
	if (f->lb_building || f->lb_from == NULL || t >= f->lb_until)
		return 0;
	/* This look-back reads before the buffer: where the caller keeps
	 * the file, not in its copy of a piece of it (filter_scan_at()).  A
	 * restricted one reads the buffer only. */
	if (f->scan_buf != 0 && (uintptr_t)line >= f->scan_buf &&
	    (uintptr_t)line - f->scan_buf <= f->scan_len)
		line = f->scan_at + ((uintptr_t)line - f->scan_buf);
	walk = f->lb_budget < FILTER_LB_WALK ? f->lb_budget : FILTER_LB_WALK;
	f->lb_budget -= walk;
	rc = filter_lookback(f, line, f->lb_from, key, keylen, t, addr, &walk);
	f->lb_budget += walk;
	if (rc != -1)
		return rc == 1;
	filter_join_renew(f);
	filter_join_feed(f, f->lb_from, line);
	f->lb_from = NULL;
	return filter_join_again(f, h, t, addr);
}

/* Counts a line refused as forged; 0, the line's return. */
static int
filter_forged(struct filter *f, struct filter_pattern *p,
    struct filter_result *out)
{
	out->flags |= FILTER_R_FORGED;
	p->st.forged++;
	f->st.forged++;
	return 0;
}

/*
 * Fills out from p's match of line, refuses a forged line, runs the join
 * and the fold or dedup.
 */
static int
filter_extract(struct filter *f, struct filter_pattern *p, int rc,
    const char *line, size_t len, int64_t now, struct filter_result *out)
{
	PCRE2_SIZE		*ov = pcre2_get_ovector_pointer(f->md);
	const char		*s[FILTER_F_MAX];
	size_t			 n[FILTER_F_MAX], k;
	struct addr		 ja;
	uint64_t		 h = 0;
	int64_t			 t;
	unsigned int		 port;
	int			 i, g;

	out->kind = p->st.kind;
	/* Before anything is taken from it: a forged line feeds no table. */
	if (filter_refused(f, p, line, len))
		return filter_forged(f, p, out);
	for (i = 0; i < FILTER_F_MAX; i++) {
		s[i] = NULL;
		n[i] = 0;
		g = p->grp[i];
		/* End before start is possible with \K in a lookaround. */
		if (g == 0 || g >= rc || ov[2 * g] == PCRE2_UNSET ||
		    ov[2 * g + 1] < ov[2 * g])
			continue;
		s[i] = line + ov[2 * g];
		n[i] = ov[2 * g + 1] - ov[2 * g];
	}
	if (n[FILTER_F_IP] > 0 && addr_parse_n(s[FILTER_F_IP], n[FILTER_F_IP],
	    &out->addr, &out->sport) == -1) {
		/* "hidden_by_ejabberd", "?", garbage: no address. */
		memset(&out->addr, 0, sizeof(out->addr));
		out->sport = 0;
	}
	if (n[FILTER_F_PORT] > 0 && n[FILTER_F_PORT] <= 5) {
		port = 0;
		for (k = 0; k < n[FILTER_F_PORT]; k++) {
			if (!isdigit((unsigned char)s[FILTER_F_PORT][k]))
				break;
			port = port * 10 + (unsigned int)
			    (s[FILTER_F_PORT][k] - '0');
		}
		if (k == n[FILTER_F_PORT] && port <= 65535)
			out->sport = (uint16_t)port;
	}
	if (s[FILTER_F_USER] != NULL)
		filter_copy(out->user, sizeof(out->user), s[FILTER_F_USER],
		    n[FILTER_F_USER], out);
	if (s[FILTER_F_HOST] != NULL)
		filter_copy(out->host, sizeof(out->host), s[FILTER_F_HOST],
		    n[FILTER_F_HOST], out);
	if (s[FILTER_F_KEY] != NULL)
		filter_copy(out->key, sizeof(out->key), s[FILTER_F_KEY],
		    n[FILTER_F_KEY], out);
	if (n[FILTER_F_TIME] > 0 && f->has_time && (t = logtime_parse(&f->time,
	    s[FILTER_F_TIME], n[FILTER_F_TIME], now)) >= 0) {
		out->time = t;
		out->flags |= FILTER_R_TIME;
	} else if (f->carry_ok && f->carry_line + 1 == f->st.lines) {
		/* The second line of a two-line record. */
		out->time = f->carry_time;
		out->flags |= FILTER_R_TIME;
	}
	if (p->carry) {
		f->carry_ok = (out->flags & FILTER_R_TIME) != 0;
		f->carry_line = f->st.lines;
		f->carry_time = out->time;
	}

	/* The whole key, not the copy in out, which may be cut. */
	if (p->join != FILTER_JOIN_NONE && n[FILTER_F_KEY] > 0)
		h = htab_hash(&f->join.tab, s[FILTER_F_KEY], n[FILTER_F_KEY]);
	if (h != 0) {
		switch (p->join) {
		case FILTER_JOIN_SET:
			if (out->addr.family != 0)
				(void)filter_tab_put(&f->join, h, &out->addr,
				    out->time);
			else
				filter_tab_del(&f->join, h, out->time);
			break;
		case FILTER_JOIN_GET:
		case FILTER_JOIN_CLEAR:
		case FILTER_JOIN_CHECK:
			f->join_known = 0;
			if (out->addr.family == 0) {
				if (filter_join_find(f, line, s[FILTER_F_KEY],
				    n[FILTER_F_KEY], h, out->time, &out->addr)) {
					out->flags |= FILTER_R_JOINED;
					f->st.join_hits++;
				} else
					f->st.join_misses++;
			} else if (p->join == FILTER_JOIN_CHECK &&
			    filter_join_find(f, line, s[FILTER_F_KEY],
			    n[FILTER_F_KEY], h, out->time, &ja) &&
			    !addr_eq(&ja, &out->addr))
				/* The connection is another address's. */
				return filter_forged(f, p, out);
			if (p->join == FILTER_JOIN_CLEAR)
				filter_join_clear(f, h, out->time);
			break;
		case FILTER_JOIN_NONE:
			break;
		}
	}
	if (f->lb_building)
		return 0;	/* filter_lb_build(): the join only */

	if (out->kind == EVENT_NONE)
		return 0;
	if (p->fold != 0 && filter_fold(f, p, s[FILTER_F_MECH],
	    n[FILTER_F_MECH], out)) {
		out->flags |= FILTER_R_DUP;
		p->st.dups++;
		return 0;
	}
	if (p->once != 0 && (h = filter_dedup_hash(f, p->once, out)) != 0) {
		if (filter_tab_find(&f->dedup, h, out->time) != NULL) {
			out->flags |= FILTER_R_DUP;
			p->st.dups++;
			return 0;
		}
		(void)filter_tab_put(&f->dedup, h, NULL, out->time);
	}
	return out->kind;
}

/*
 * filter_match(), told whether the caller already found one of the
 * prefilter literals in the line (filter_scan() has), or, with mask not
 * NULL, which of f->ms's literals the line holds (its single pass has).
 */
static int
filter_match_line(struct filter *f, const char *line, size_t len,
    int64_t now, struct filter_result *out, int prefiltered,
    const uint64_t *mask)
{
	struct filter_pattern	*p;
	size_t			 i;
	int			 rc, failed = 0;

	/* Not a memset: most lines match nothing, and out is large. */
	out->kind = EVENT_NONE;
	out->pattern = -1;
	memset(&out->addr, 0, sizeof(out->addr));
	out->sport = 0;
	out->time = now;
	out->user[0] = out->host[0] = out->key[0] = '\0';
	out->flags = 0;
	if (line == NULL)
		line = "";
	f->st.lines++;

	if (mask != NULL)
		prefiltered = f->nprefilter == 0 || (*mask & f->ms.premask);
	if (f->nprefilter > 0 && !prefiltered) {
		if (mask != NULL) {
			f->st.prefiltered++;
			return 0;
		}
		for (i = 0; i < f->nprefilter; i++)
			if (filter_lit_find(&f->prefilter_lit[i], line,
			    len) != NULL)
				break;
		if (i == f->nprefilter) {
			f->st.prefiltered++;
			return 0;
		}
	}
	for (i = 0; i < f->npat; i++) {
		p = &f->pat[i];
		/* Restricted (--kind), every pattern is still tried in
		 * order, so a line goes to the pattern the whole filter
		 * would give it; join feeders are looked back for instead
		 * of run, while filter_scan() runs. */
		if (p->literal != NULL && (mask != NULL ?
		    (*mask & p->litbit) == 0 :
		    filter_lit_find(&p->lit, line, len) == NULL))
			continue;
		p->st.tried++;
		/* The JIT entry skips the interpreter's option checks; its
		 * limits come from the same match context. */
		rc = (p->jit ? pcre2_jit_match : pcre2_match)(p->re,
		    (PCRE2_SPTR)line, len, 0, 0, f->md,
		    f->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0) {
			/* Match, depth, heap or JIT stack limit: the line
			 * is lost to this pattern, the daemon is not. */
			p->st.errors++;
			f->st.errors++;
			failed = 1;
			continue;
		}
		if (rc == 0)	/* ovector too small: cannot happen */
			rc = (int)pcre2_get_ovector_count(f->md);
		p->st.matched++;
		f->st.matched++;
		out->pattern = (int)i;
		if (f->lb_building) {
			if (p->join == FILTER_JOIN_SET ||
			    p->join == FILTER_JOIN_CLEAR)
				(void)filter_extract(f, p, rc, line, len, now,
				    out);
			return 0;
		}
		if (p->off || (p->quiet && f->scan_base != NULL))
			return 0;
		rc = filter_extract(f, p, rc, line, len, now, out);
		return p->quiet ? 0 : rc;
	}
	return failed ? -1 : 0;
}

int
filter_match(struct filter *f, const char *line, size_t len, int64_t now,
    struct filter_result *out)
{
	return filter_match_line(f, line, len, now, out, 0, NULL);
}

void
filter_event(const struct filter_result *r, const char *origin,
    struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->time = r->time;
	ev->addr = r->addr;
	ev->sport = r->sport;
	ev->kind = r->kind;
	ev->source = EVENT_SRC_LOG;
	ev->origin = origin;
	ev->user = r->user[0] != '\0' ? r->user : NULL;
}

const char *
filter_name(const struct filter *f)
{
	return f->name;
}

size_t
filter_nsamples(const struct filter *f)
{
	return f->nsample;
}

const char *
filter_sample(const struct filter *f, size_t i, int *pattern)
{
	if (i >= f->nsample)
		return NULL;
	if (pattern != NULL)
		*pattern = f->sample_pat[i];
	return f->sample[i];
}

size_t
filter_npatterns(const struct filter *f)
{
	return f->npat;
}

const struct filter_pattern_stats *
filter_pattern_stats(const struct filter *f, size_t i)
{
	return i < f->npat ? &f->pat[i].st : NULL;
}

const struct filter_stats *
filter_stats(const struct filter *f)
{
	return &f->st;
}

void
filter_stats_reset(struct filter *f)
{
	size_t	i;

	/* A header just read still carries to the next line. */
	f->carry_ok = f->carry_ok && f->carry_line == f->st.lines;
	f->carry_line = 0;
	memset(&f->st, 0, sizeof(f->st));
	for (i = 0; i < f->npat; i++) {
		f->pat[i].st.tried = f->pat[i].st.matched = 0;
		f->pat[i].st.errors = f->pat[i].st.dups = 0;
		f->pat[i].st.forged = 0;
	}
}

void
filter_stats_add(struct filter *dst, const struct filter *src)
{
	size_t	i;

	dst->st.lines += src->st.lines;
	dst->st.prefiltered += src->st.prefiltered;
	dst->st.matched += src->st.matched;
	dst->st.errors += src->st.errors;
	dst->st.join_hits += src->st.join_hits;
	dst->st.join_misses += src->st.join_misses;
	dst->st.join_evictions += src->st.join_evictions;
	dst->st.dedup_evictions += src->st.dedup_evictions;
	dst->st.forged += src->st.forged;
	dst->st.lookback_bytes += src->st.lookback_bytes;
	for (i = 0; i < dst->npat && i < src->npat; i++) {
		dst->pat[i].st.tried += src->pat[i].st.tried;
		dst->pat[i].st.matched += src->pat[i].st.matched;
		dst->pat[i].st.errors += src->pat[i].st.errors;
		dst->pat[i].st.dups += src->pat[i].st.dups;
		dst->pat[i].st.forged += src->pat[i].st.forged;
	}
}

int64_t
filter_dedup_window(const struct filter *f)
{
	return f->dedup.ttl;
}

int64_t
filter_join_ttl(const struct filter *f)
{
	return f->join.ttl;
}

void
filter_set_lookback(struct filter *f, const char *from, int64_t until,
    size_t budget)
{
	f->lb_from = from;
	f->lb_until = until;
	f->lb_budget = budget;
}

void
filter_set_file(struct filter *f, const char *start, int fd)
{
	f->file = start;
	f->file_fd = fd;
	f->file_fed = NULL;
}

int
filter_restrict(struct filter *f, enum event_kind kind)
{
	struct filter_pattern	*p;
	size_t			 i;
	int			 any = 0;

	for (i = 0; i < f->npat; i++) {
		p = &f->pat[i];
		p->off = p->quiet = 0;
		if (p->st.kind == kind) {
			any = 1;
			continue;
		}
		if (p->carry)	/* the next line's time */
			continue;
		/* Lines that feed or clear the join table still run, so
		 * the kind's events get the same addresses as before. */
		if (p->join == FILTER_JOIN_SET || p->join == FILTER_JOIN_CLEAR)
			p->quiet = 1;
		else
			p->off = 1;
	}
	if (!any)
		for (i = 0; i < f->npat; i++)
			f->pat[i].off = f->pat[i].quiet = 0;
	f->restricted = any;
	filter_scan_setup(f);
	return any ? 0 : -1;
}

/* Counts the lines in buf[0..len): newlines, plus an unfinished one. */
static uint64_t
filter_count_lines(const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *nl;
	uint64_t	 n = 0;

	while (p < end) {
		n++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

/*
 * filter_scan() in one pass: each line's end and literals found together
 * (filter_mscan_line()), the lines holding none of f->scan skipped.
 */
static uint64_t
filter_scan_one(struct filter *f, const char *buf, size_t len, int64_t now,
    filter_scan_cb cb, void *arg)
{
	const char		*pos = buf, *end = buf + len, *le;
	struct filter_result	 r;
	uint64_t		 line = 0, mask, skip = f->ms.scanmask;
	int			 rc;

	while (pos < end) {
		le = filter_mscan_line(&f->ms, pos, end, &mask);
		if (skip != 0 && (mask & skip) == 0) {
			f->st.lines++;
			f->st.prefiltered++;
		} else {
			rc = filter_match_line(f, pos, (size_t)(le - pos),
			    now, &r, 0, &mask);
			if (rc > 0 && cb != NULL)
				cb(line, pos, (size_t)(le - pos), &r, arg);
		}
		line++;
		pos = le < end ? le + 1 : end;
	}
	f->scan_base = NULL;
	f->scan_buf = 0;
	return line;
}

uint64_t
filter_scan(struct filter *f, const char *buf, size_t len, int64_t now,
    filter_scan_cb cb, void *arg)
{
	return filter_scan_at(f, buf, len, buf, now, cb, arg);
}

uint64_t
filter_scan_at(struct filter *f, const char *buf, size_t len,
    const char *at, int64_t now, filter_scan_cb cb, void *arg)
{
	const char		*next[FILTER_SCAN_MAX];
	const char		*pos = buf, *end = buf + len, *hit, *ls, *le;
	struct filter_result	 r;
	uint64_t		 line = 0, skip;
	size_t			 i, nscan = f->nscan;
	int			 rc;

	if (nscan > FILTER_SCAN_MAX)
		nscan = 0;
	if (f->restricted) {
		f->scan_base = f->scan_fed = buf; /* join feeders run lazily */
		f->scan_budget = len;
		/* In a file (filter_set_file()) the table holds the join
		 * lines up to file_fed, and the bytes since stay there to be
		 * read.  Else what an earlier buffer's look-back wrote is not
		 * all the join lines of it: its look-backs stay its own. */
		if (f->file == NULL || at < f->file || f->file_fed == NULL ||
		    at < f->file_fed) {
			if (f->scan_fed_any)
				filter_join_renew(f);
			f->file_fed = f->file != NULL && at >= f->file ? at :
			    NULL;
		}
		f->scan_fed_any = 0;
	}
	f->scan_now = now;
	f->scan_buf = at != buf ? (uintptr_t)buf : 0;
	f->scan_len = len;
	f->scan_at = at;
	if (f->ms.on)
		return filter_scan_one(f, buf, len, now, cb, arg);
	for (i = 0; i < nscan; i++)
		next[i] = filter_lit_find(f->scan[i], buf, len);
	while (pos < end) {
		if (nscan > 0) {
			/* The first line holding any literal. */
			hit = NULL;
			for (i = 0; i < nscan; i++)
				if (next[i] != NULL &&
				    (hit == NULL || next[i] < hit))
					hit = next[i];
			if (hit == NULL)
				hit = end;
			ls = hit == end ? end :
			    memrchr(pos, '\n', (size_t)(hit - pos));
			ls = ls == NULL ? pos : ls == end ? end : ls + 1;
			skip = filter_count_lines(pos, (size_t)(ls - pos));
			f->st.lines += skip;
			f->st.prefiltered += skip;
			line += skip;
			if (ls == end)
				break;
			pos = ls;
		}
		if ((le = memchr(pos, '\n', (size_t)(end - pos))) == NULL)
			le = end;
		/* A scan literal in the line is a prefilter literal, when
		 * the scan uses the prefilter. */
		rc = filter_match_line(f, pos, (size_t)(le - pos), now, &r,
		    nscan > 0 && f->scan[0] == f->prefilter_lit, NULL);
		if (rc > 0 && cb != NULL)
			cb(line, pos, (size_t)(le - pos), &r, arg);
		line++;
		pos = le < end ? le + 1 : end;
		for (i = 0; i < nscan; i++)
			if (next[i] != NULL && next[i] < pos)
				next[i] = filter_lit_find(f->scan[i], pos,
				    (size_t)(end - pos));
	}
	f->scan_base = NULL;
	f->scan_buf = 0;
	return line;
}
