/*
 * Keeping the bans: the store and the firewall held in agreement with
 * the table of bans in force (ban.c), through a full disk and across a
 * restart.
 *
 * Saving.  A row handed to the store is not yet a row on disk: the batch
 * holding it commits at the end of the loop iteration, and a full disk
 * (SQLITE_FULL), an I/O error or a file made read-only rolls the whole
 * batch back.  The store counts the rows so lost; when that count has
 * moved since the last look (bans_persist, after each commit), the bans
 * written in between are not known to be saved: they are marked unsaved
 * and stay in force all the same, in memory and in the kernel.  They are
 * written again in a transaction of their own (store_ban_save: found by
 * prefix and start, updated or inserted, so never twice), at once and then
 * after a pause doubling from BAN_SAVE_MIN_US to BAN_SAVE_MAX_US while it
 * fails, with a warning a minute saying how many bans only memory and the
 * kernel hold.  Lifts likewise (at most BAN_LIFTS_MAX waiting).  A restart
 * meanwhile loses nothing: the restore at start adopts the kernel's
 * elements the store lacks (bans_adopt).
 *
 * Restart.  bans_load() restores the bans in force from the store, then
 * the firewall's elements are compared with the table: those the store
 * lacks are adopted (bans_adopt: kept in force, unsaved, saved once the
 * store can be written) and the rest reconciled (bans_reconcile: ours
 * missing from the firewall are queued again, elements unknown to the
 * store are queued out).  bans_all(), bans_missing() and bans_holds()
 * tell enforce.c and the firewall watcher what the kernel should hold.
 *
 * Invariants: st.unsaved is the number of bans in the table marked
 * unsaved; at most BAN_LIFTS_MAX lifts are kept, the last lwritten of
 * them written since the store was last checked; save_at 0 means the
 * next bans_persist() tries at once.
 */
#include <sys/socket.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ban.h"
#include "ban_int.h"
#include "clock.h"
#include "log.h"
#include "rule.h"
#include "store.h"
#include "xmalloc.h"

/* b's row as the store takes it. */
void
ban_row(const struct ban *b, struct store_ban *row)
{
	memset(row, 0, sizeof(*row));
	row->id = b->id;
	row->prefix = b->prefix;
	row->rule = verdict_rule_name(b->rule);
	row->reason = b->reason;
	row->source = b->source == BAN_SRC_CONTROL ? "control" : "rule";
	row->since = b->since;
	row->expires = b->expires;
	row->count = b->count;
	row->throttled = b->throttled;
	row->scope = fw_scope_name(b->scope);
}

/* b's row was just written: to be checked at the next commit. */
void
ban_written(struct bans *bs, const struct ban *b)
{
	if (bs->nwritten == bs->writtencap) {
		bs->writtencap = bs->writtencap == 0 ? 64 :
		    bs->writtencap * 2;
		bs->written = xreallocarray(bs->written, bs->writtencap,
		    sizeof(*bs->written));
	}
	bs->written[bs->nwritten++] = b->prefix;
}

/* Row id lifted at when: written now, kept until known to be saved. */
void
ban_store_lift(struct bans *bs, int64_t id, int64_t when)
{
	if (bs->store == NULL || id == 0)
		return;
	store_ban_lift(bs->store, id, when);
	if (bs->nlifts >= BAN_LIFTS_MAX)
		return;
	if (bs->nlifts == bs->liftscap) {
		bs->liftscap = bs->liftscap == 0 ? 16 : bs->liftscap * 2;
		bs->lifts = xreallocarray(bs->lifts, bs->liftscap,
		    sizeof(*bs->lifts));
	}
	bs->lifts[bs->nlifts].id = id;
	bs->lifts[bs->nlifts++].when = when;
	bs->lwritten++;
}

/* Writes every unsaved ban and lift again; see above. */
static void
ban_save(struct bans *bs, int64_t now)
{
	struct store_ban	*rows;
	uint32_t		*idx, i, k, n = 0;
	char			*cause;

	rows = xcalloc(bs->st.unsaved + 1, sizeof(*rows));
	idx = xcalloc(bs->st.unsaved + 1, sizeof(*idx));
	for (k = 0; k < bs->n && n < bs->st.unsaved; k++) {
		i = bs->heap[k];
		if (!bs->b[i].unsaved)
			continue;
		ban_row(&bs->b[i], &rows[n]);
		idx[n++] = i;
	}
	if (store_ban_save(bs->store, rows, n, bs->lifts, bs->nlifts,
	    &cause) == 0) {
		for (k = 0; k < n; k++) {
			bs->b[idx[k]].id = rows[k].id;
			bs->b[idx[k]].unsaved = 0;
		}
		if (n > 0 || bs->nlifts > 0)
			log_info("ban: the store can be written again: %u "
			    "%s and %zu %s saved", n, n == 1 ? "ban" : "bans",
			    bs->nlifts, bs->nlifts == 1 ? "lift" : "lifts");
		bs->st.unsaved = 0;
		bs->st.saved += n;
		bs->nlifts = bs->lwritten = 0;
		bs->save_err[0] = '\0';
		bs->save_at = 0;
		bs->save_backoff = BAN_SAVE_MIN_US;
	} else {
		snprintf(bs->save_err, sizeof(bs->save_err), "%s", cause);
		if (log_ratelimit_ok(&bs->save_rl, clock_monotonic()))
			log_warnx("bans cannot be saved: %s: %" PRIu64 " %s "
			    "held in memory and in the kernel%s%s; tried "
			    "again every %llds at most", cause,
			    bs->st.unsaved, bs->st.unsaved == 1 ? "ban" :
			    "bans", bs->nlifts > 0 ? ", and lifts of " : "",
			    bs->nlifts > 0 ? "others" : "",
			    (long long)(BAN_SAVE_MAX_US / CLOCK_US_PER_SEC));
		free(cause);
		bs->save_at = now + bs->save_backoff;
		bs->save_backoff = bs->save_backoff * 2 < BAN_SAVE_MAX_US ?
		    bs->save_backoff * 2 : BAN_SAVE_MAX_US;
	}
	free(rows);
	free(idx);
}

int64_t
bans_persist(struct bans *bs, int64_t now)
{
	struct store_stats	 sst;
	uint32_t		 i;
	size_t			 k;

	if (bs->store == NULL)
		return INT64_MAX;
	store_get_stats(bs->store, &sst);
	/* Judged once the batch is committed (or rolled back). */
	if (sst.pending == 0) {
		if (sst.lost != bs->lost_seen) {
			for (k = 0; k < bs->nwritten; k++) {
				i = ban_lookup(bs, &bs->written[k]);
				if (i == BAN_NIL || bs->b[i].unsaved)
					continue;
				/* A rolled-back row's id may be handed out
				 * again: found by prefix and start instead. */
				bs->b[i].id = 0;
				bs->b[i].unsaved = 1;
				bs->st.unsaved++;
			}
			bs->lost_seen = sst.lost;
			if (bs->save_at == 0)
				bs->save_at = now;
		} else		/* saved: those written since, the last */
			bs->nlifts -= bs->lwritten;
		bs->lwritten = 0;
		bs->nwritten = 0;
	}
	if (bs->st.unsaved == 0 && bs->nlifts == 0) {
		bs->save_at = 0;
		bs->save_backoff = BAN_SAVE_MIN_US;
		return INT64_MAX;
	}
	if (now >= bs->save_at)
		ban_save(bs, now);
	return bs->st.unsaved == 0 && bs->nlifts == 0 ? INT64_MAX :
	    bs->save_at;
}

const char *
bans_save_error(const struct bans *bs)
{
	return bs->save_err;
}


struct ban_restore {
	struct bans	*bs;
	int64_t		 now;
};

static void
ban_restore_cb(const struct store_ban *row, void *arg)
{
	struct ban_restore	*r = arg;
	struct ban		 b;
	int			 k;

	if (ban_lookup(r->bs, &row->prefix) != BAN_NIL ||
	    r->bs->n >= BAN_MAX)
		return;
	memset(&b, 0, sizeof(b));
	b.prefix = row->prefix;
	k = verdict_rule_parse(row->rule);
	b.rule = k >= 0 ? (enum verdict_rule)k : VERDICT_MANUAL;
	b.source = row->source != NULL && strcmp(row->source, "control") ==
	    0 ? BAN_SRC_CONTROL : BAN_SRC_RULE;
	b.throttled = row->throttled;
	b.scope = row->scope != NULL && strcmp(row->scope, "proxy") == 0 ?
	    FW_SCOPE_PROXY : FW_SCOPE_SERVICES;
	b.ports = r->bs->ports[b.scope];
	b.since = row->since;
	b.expires = row->expires;
	b.count = row->count > 0 && row->count < UINT32_MAX ?
	    (uint32_t)row->count : 1;
	b.id = row->id;
	if (row->reason != NULL)
		snprintf(b.reason, sizeof(b.reason), "%s", row->reason);
	(void)ban_insert(r->bs, &b);
	r->bs->st.restored++;
}

static int
ban_entry_cmp(const void *a, const void *b)
{
	const struct fw_entry	*x = a, *y = b;
	int			 c;

	if ((c = addr_cmp(&x->prefix.addr, &y->prefix.addr)) != 0)
		return c;
	return (int)x->prefix.len - (int)y->prefix.len;
}

int
bans_load(struct bans *bs, int64_t now)
{
	struct ban_restore	r = { bs, now };

	if (bs->store != NULL)
		store_bans_open(bs->store, now, ban_restore_cb, &r);
	if (bs->st.restored > 0)
		log_info("ban: %llu %s in force restored from the store",
		    (unsigned long long)bs->st.restored,
		    bs->st.restored == 1 ? "ban" : "bans");
	return (int)bs->n;
}

size_t
bans_all(struct bans *bs, int64_t now, struct fw_op **ops)
{
	uint32_t	i, k;

	if (bs->allcap < (size_t)bs->n + 1) {
		bs->allcap = (size_t)bs->n + 1;
		bs->all = xreallocarray(bs->all, bs->allcap,
		    sizeof(*bs->all));
	}
	for (k = 0; k < bs->n; k++) {
		i = bs->heap[k];
		ban_op(&bs->all[k], bs->b[i].throttled ? FW_THROTTLE : FW_BAN,
		    &bs->b[i], now);
	}
	*ops = bs->all;
	return bs->n;
}

int
bans_holds(struct bans *bs, const struct addr *a, int interval, int64_t now)
{
	struct prefix	p;
	uint32_t	i;
	int		len, max = addr_maxlen(a);

	for (len = interval ? 0 : max; len <= max; len++) {
		addr_mask(a, len, &p);
		/* A network that begins at a, not one holding it. */
		if (!addr_eq(&p.addr, a))
			continue;
		if ((i = ban_lookup(bs, &p)) != BAN_NIL &&
		    bs->b[i].expires > now + BAN_HOLD_MARGIN_US)
			return 1;
	}
	return 0;
}

/* 1 if network p overlaps a network banned already (interval sets refuse
 * overlaps). */
static int
ban_overlaps(const struct bans *bs, const struct prefix *p)
{
	const struct ban	*b;
	uint32_t		 k;

	if (p->len == addr_maxlen(&p->addr))
		return 0;
	for (k = 0; k < bs->n; k++) {
		b = &bs->b[bs->heap[k]];
		if (b->prefix.len < addr_maxlen(&b->prefix.addr) &&
		    b->prefix.addr.family == p->addr.family &&
		    (addr_prefix_contains(&b->prefix, &p->addr) ||
		    addr_prefix_contains(p, &b->prefix.addr)))
			return 1;
	}
	return 0;
}

int
bans_adopt(struct bans *bs, const struct fw_entry *entries, size_t n,
    int64_t now)
{
	struct ban	 nb;
	const char	*why;
	char		 pfx[ADDR_PREFIX_STRLEN], d[32];
	size_t		 k;
	int		 adopted = 0;

	for (k = 0; k < n && bs->n < BAN_MAX; k++) {
		/* No timeout known, or its last second: nothing to keep. */
		if (entries[k].remaining <= CLOCK_US_PER_SEC ||
		    ban_lookup(bs, &entries[k].prefix) != BAN_NIL ||
		    ban_refused(bs, &entries[k].prefix, &why) ||
		    ban_overlaps(bs, &entries[k].prefix))
			continue;
		memset(&nb, 0, sizeof(nb));
		nb.prefix = entries[k].prefix;
		nb.rule = VERDICT_MANUAL;
		nb.source = BAN_SRC_RULE;
		nb.throttled = entries[k].throttled;
		nb.scope = entries[k].scope;
		nb.ports = bs->ports[nb.scope];
		nb.since = now;
		nb.expires = now + entries[k].remaining;
		nb.count = 1;
		nb.unsaved = 1;
		snprintf(nb.reason, sizeof(nb.reason), "adopted: in the "
		    "firewall at start, not in the store");
		(void)ban_insert(bs, &nb);
		bs->st.unsaved++;
		bs->st.adopted++;
		adopted++;
		log_info("ban: %s adopted from the firewall for %s: not in "
		    "the store", addr_prefix_ntop(&nb.prefix, pfx,
		    sizeof(pfx)), ban_fmt_left(&nb, now, d, sizeof(d)));
	}
	if (adopted > 0) {
		log_warnx("ban: %d %s in the firewall but not in the store "
		    "adopted (made while the store could not be written?): "
		    "kept in force, saved once the store can be written",
		    adopted, adopted == 1 ? "ban" : "bans");
		bs->save_at = 0;
	}
	return adopted;
}

/* A sorted copy of entries (n of them; NULL if none). */
static struct fw_entry *
ban_entries_sorted(const struct fw_entry *entries, size_t n)
{
	struct fw_entry	*sorted;

	if (entries == NULL || n == 0)
		return NULL;
	sorted = xcalloc(n, sizeof(*sorted));
	memcpy(sorted, entries, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), ban_entry_cmp);
	return sorted;
}

/* 1 if b is among sorted (n) on at least the ports of its scope. */
static int
ban_listed(const struct ban *b, const struct fw_entry *sorted, size_t n)
{
	struct fw_entry	 key, *found;

	if (sorted == NULL)
		return 0;
	memset(&key, 0, sizeof(key));
	key.prefix = b->prefix;
	found = bsearch(&key, sorted, n, sizeof(*sorted), ban_entry_cmp);
	return found != NULL && found->scope >= b->scope;
}

size_t
bans_missing(struct bans *bs, const struct fw_entry *entries, size_t n)
{
	struct fw_entry	*sorted = ban_entries_sorted(entries, n);
	size_t		 missing = 0;
	uint32_t	 h;

	for (h = 0; h < bs->n; h++)
		missing += !ban_listed(&bs->b[bs->heap[h]], sorted, n);
	free(sorted);
	return missing;
}

void
bans_reconcile(struct bans *bs, int64_t now, const struct fw_entry *entries,
    size_t n)
{
	struct fw_entry		*sorted;
	struct ban		 gone;
	uint32_t		 i, h;
	size_t			 k;

	sorted = ban_entries_sorted(entries, n);
	/* Ours, missing from the firewall (or there on fewer ports than
	 * its scope's): again, for what is left. */
	for (h = 0; h < bs->n; h++) {
		i = bs->heap[h];
		if (ban_listed(&bs->b[i], sorted, n))
			continue;
		ban_queue(bs, bs->b[i].throttled ? FW_THROTTLE : FW_BAN,
		    &bs->b[i], now);
		bs->st.readded++;
	}
	/* In the firewall, unknown to the store (lifted while we were
	 * down, or not ours): out. */
	for (k = 0; sorted != NULL && k < n; k++) {
		if (ban_lookup(bs, &sorted[k].prefix) != BAN_NIL)
			continue;
		memset(&gone, 0, sizeof(gone));
		gone.prefix = sorted[k].prefix;
		gone.rule = VERDICT_MANUAL;
		gone.scope = sorted[k].scope;
		ban_queue(bs, FW_UNBAN, &gone, now);
	}
	free(sorted);
	if (bs->st.readded > 0)
		log_info("ban: %llu of them missing from the firewall, added "
		    "again", (unsigned long long)bs->st.readded);
}
