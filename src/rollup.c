/*
 * Rollups in memory.
 *
 * The table holds at most `capacity` entries, each one (address, service)
 * pair with the counters of its current hour.  All entries are allocated
 * once, in one array indexed as the bounded hash table (htab.c) that finds
 * them, keyed by SipHash over both, and whose one list, in LRU order,
 * picks the victim when the table is full.  A second intrusive list, kept
 * here, links the entries that changed since the last flush, so a flush
 * costs one row per active pair, not a walk of the table.  Both lists are
 * doubly linked so that eviction is O(1): under a flood of new addresses
 * every event evicts.
 *
 * An entry's counters are increments: a flush appends them (the store adds
 * them to the hour's row) and zeroes them.  `live` is not an increment but
 * the pair's open connections, kept across flushes and hours so peak_live
 * stays right; an evicted pair forgets it, and a later close of one of its
 * connections is clamped at zero rather than going negative.
 *
 * Failed logins and registrations come from log events, which name no
 * service: they count under ROLLUP_LOG_SERVICE ("c2s", where clients log in
 * and register), against the address the log named (behind a proxy, the
 * client's).  Events without a usable address are not counted.
 *
 * A half-open flow is counted when it ends (conntrack destroys or the flow
 * table evicts it) without having completed its handshake: the SYN alone
 * cannot tell, since every connection starts with one.  Half-open flows
 * are not counted per address: every SYN of a spoofed flood
 * names a different address, and one entry (then one row) per forged
 * address is exactly the growth the flood wants.  They are counted per
 * service in one entry whose address is "none" (addr family 0, stored as
 * "?").
 *
 * The minute's flush runs in steps (rollup_flush_step) under the loop's
 * time budget: thousands of pairs are thousands of upserts, too long for
 * one loop iteration.  The round's cursor is the next dirty entry to
 * write; anything that unlinks an entry from the dirty list moves it on.
 *
 * Refusals by the kernel caps (kcap.c's nflog, through the daemon) count
 * per address, service and cap in the same entries, written with the rest
 * to the same rows (the refused_* columns of sql/013_cap_refusals.sql).
 * For status, an entry also keeps its current hour's refusals (refused_hour,
 * not zeroed by a flush), and the table keeps per service and cap the
 * refusals since start (the metrics' counters): status lists the addresses
 * refused in the newest hour seen, from the entries still in memory.
 *
 * Invariants: an entry is in use iff the table's index is (so on the LRU
 * list); it is on the dirty list iff some counter other than live changed
 * since it was last written; a free entry is all zero.
 */
#include <sys/socket.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "event.h"
#include "htab.h"
#include "loop.h"
#include "rollup.h"
#include "status.h"
#include "store.h"
#include "verdict.h"
#include "xmalloc.h"

#define ROLLUP_NIL	HTAB_NIL
/* The service of log events (logins, registrations), which name none. */
#define ROLLUP_LOG_SERVICE	"c2s"
#define ROLLUP_SERVICES_MAX	32	/* services counting refusals */
#define ROLLUP_TOP		5	/* addresses status names */

struct rollup_entry {
	struct addr	 addr;
	char		 service[CONF_NAME_MAX];
	int64_t		 hour;
	uint64_t	 conns;
	uint64_t	 short_lived;
	uint64_t	 halfopen;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 verdicts;
	uint64_t	 auth_fail;
	uint64_t	 registered;
	uint64_t	 refused[STORE_CAP_MAX];
	uint64_t	 refused_hour;	/* in hour, for status */
	uint32_t	 live;
	uint32_t	 peak_live;
	uint32_t	 dprev, dnext;	/* dirty list */
	uint8_t		 dirty;
};

struct rollup {
	struct htab	 tab;		/* one list: LRU, oldest first */
	struct rollup_entry *e;		/* capacity, indexed as tab */
	uint32_t	 capacity;
	uint32_t	 dirty;		/* dirty list head */
	uint32_t	 cursor;	/* the flush round's next, or NIL */
	int64_t		 hour;		/* the newest hour seen */
	/* Refusals since start, per service (in order of first refusal;
	 * beyond ROLLUP_SERVICES_MAX, not counted here) and cap. */
	struct rollup_svc {
		char	 name[CONF_NAME_MAX];
		uint64_t refused[STORE_CAP_MAX];
	} svc[ROLLUP_SERVICES_MAX];
	int		 nsvc;
	struct rollup_stats stats;
};

struct rollup *
rollup_new(uint32_t capacity, uint32_t seed)
{
	struct rollup		*r;
	struct siphash_key	 key;

	r = xcalloc(1, sizeof(*r));
	siphash_key_seed(&key, seed);
	htab_init(&r->tab, capacity, 1, &key);
	r->capacity = htab_capacity(&r->tab);
	r->e = xcalloc(r->capacity, sizeof(*r->e));
	r->dirty = ROLLUP_NIL;
	r->cursor = ROLLUP_NIL;
	r->stats.capacity = r->capacity;
	return r;
}

void
rollup_free(struct rollup *r)
{
	if (r == NULL)
		return;
	htab_clear(&r->tab);
	free(r->e);
	free(r);
}

/* The keyed hash of the pair: service names come from the configuration
 * and are short, addresses from anyone. */
static uint64_t
rollup_hash(const struct rollup *r, const struct addr *a,
    const char *service)
{
	uint8_t	m[sizeof(*a) + CONF_NAME_MAX];
	size_t	n = strnlen(service, CONF_NAME_MAX - 1);

	memcpy(m, a, sizeof(*a));
	memcpy(m + sizeof(*a), service, n);
	return htab_hash(&r->tab, m, sizeof(*a) + n);
}

/* Hands an entry's increments to the store and zeroes them. */
static void
rollup_write(struct rollup *r, struct rollup_entry *e, struct store *store)
{
	struct store_rollup	row;

	if (store != NULL) {
		memset(&row, 0, sizeof(row));
		row.hour = e->hour;
		row.addr = e->addr;
		row.service = e->service;
		row.conns = e->conns;
		row.short_lived = e->short_lived;
		row.halfopen = e->halfopen;
		row.bytes_in = e->bytes_in;
		row.bytes_out = e->bytes_out;
		row.peak_live = e->peak_live;
		row.verdicts = e->verdicts;
		row.auth_fail = e->auth_fail;
		row.registered = e->registered;
		memcpy(row.refused, e->refused, sizeof(row.refused));
		store_rollup_add(store, &row);
		r->stats.rows++;
	}
	e->conns = e->short_lived = e->halfopen = 0;
	e->bytes_in = e->bytes_out = e->verdicts = 0;
	e->auth_fail = e->registered = 0;
	memset(e->refused, 0, sizeof(e->refused));
	e->peak_live = e->live;
}

static void
rollup_mark(struct rollup *r, uint32_t i)
{
	if (r->e[i].dirty)
		return;
	r->e[i].dirty = 1;
	r->e[i].dprev = ROLLUP_NIL;
	r->e[i].dnext = r->dirty;
	if (r->dirty != ROLLUP_NIL)
		r->e[r->dirty].dprev = i;
	r->dirty = i;
}

static void
rollup_unmark(struct rollup *r, uint32_t i)
{
	struct rollup_entry	*e = &r->e[i];

	/* An evicted pair may be the one a flush round reaches next. */
	if (r->cursor == i)
		r->cursor = e->dnext;
	if (e->dprev != ROLLUP_NIL)
		r->e[e->dprev].dnext = e->dnext;
	else
		r->dirty = e->dnext;
	if (e->dnext != ROLLUP_NIL)
		r->e[e->dnext].dprev = e->dprev;
	e->dirty = 0;
}

/*
 * Takes the least recently used entry for reuse: its pending increments are
 * written first.  O(1), as everything on the event path.
 */
static void
rollup_evict(struct rollup *r, struct store *store)
{
	uint32_t	 i = htab_oldest(&r->tab, 0);

	if (r->e[i].dirty) {
		rollup_write(r, &r->e[i], store);
		rollup_unmark(r, i);
	}
	htab_remove(&r->tab, i);
	memset(&r->e[i], 0, sizeof(r->e[i]));
	r->stats.evictions++;
	r->stats.entries--;
}

/* The entry for (a, service) at time t, created if needed; its hour is
 * t's (an older hour's increments are written first). */
static struct rollup_entry *
rollup_get(struct rollup *r, const struct addr *a, const char *service,
    int64_t t, struct store *store)
{
	struct rollup_entry	*e;
	uint64_t		 h = rollup_hash(r, a, service);
	uint32_t		 i;
	int64_t			 hour = store_hour(t);

	for (i = htab_find(&r->tab, h); i != ROLLUP_NIL;
	    i = htab_find_next(&r->tab, i, h)) {
		e = &r->e[i];
		if (addr_eq(&e->addr, a) && strcmp(e->service, service) == 0)
			break;
	}
	if (i == ROLLUP_NIL) {
		if ((i = htab_insert(&r->tab, h, 0)) == ROLLUP_NIL) {
			rollup_evict(r, store);
			i = htab_insert(&r->tab, h, 0);
		}
		e = &r->e[i];
		e->addr = *a;
		strncpy(e->service, service, sizeof(e->service) - 1);
		e->hour = hour;
		r->stats.entries++;
	} else
		htab_touch(&r->tab, i, 0);
	/* A new hour: close the old one's row.  Events may arrive slightly
	 * out of order (a dump after a gap); an older hour is folded into
	 * the current one rather than reopening a written row. */
	if (hour > e->hour) {
		if (e->dirty)
			rollup_write(r, e, store);
		e->hour = hour;
		e->refused_hour = 0;
	}
	if (hour > r->hour)
		r->hour = hour;
	rollup_mark(r, i);
	return e;
}

void
rollup_event(struct rollup *r, const struct conf *conf,
    const struct event *ev, struct store *store)
{
	struct rollup_entry	*e;
	struct addr		 none;

	if (ev->kind == EVENT_AUTH_FAIL || ev->kind == EVENT_REGISTER) {
		if ((ev->addr.family != AF_INET &&
		    ev->addr.family != AF_INET6) ||
		    addr_is_unspecified(&ev->addr))
			return;
		e = rollup_get(r, &ev->addr, ev->service != NULL ?
		    ev->service : ROLLUP_LOG_SERVICE, ev->time, store);
		if (ev->kind == EVENT_AUTH_FAIL)
			e->auth_fail++;
		else
			e->registered++;
		return;
	}
	if (ev->service == NULL)
		return;
	switch (ev->kind) {
	case EVENT_CONN_END:
		/* A SYN never answered: the flow ends without a handshake.
		 * Counting SYNs would count every connection. */
		if ((ev->flags & EVENT_F_HANDSHAKE) ||
		    !(ev->flags & EVENT_F_WAS_SYN))
			break;
		memset(&none, 0, sizeof(none));
		e = rollup_get(r, &none, ev->service, ev->time, store);
		e->halfopen++;
		break;
	case EVENT_CONN_OPEN:
		e = rollup_get(r, &ev->addr, ev->service, ev->time, store);
		if (!(ev->flags & EVENT_F_PREEXISTING))
			e->conns++;
		e->live++;
		if (e->live > e->peak_live)
			e->peak_live = e->live;
		break;
	case EVENT_CONN_CLOSE:
		e = rollup_get(r, &ev->addr, ev->service, ev->time, store);
		if (e->live > 0)
			e->live--;
		if (ev->duration < conf->short_lived &&
		    !(ev->flags & EVENT_F_RESYNC))
			e->short_lived++;
		break;
	case EVENT_CONN_BYTES:
		e = rollup_get(r, &ev->addr, ev->service, ev->time, store);
		e->bytes_in += ev->bytes_in;
		e->bytes_out += ev->bytes_out;
		break;
	default:
		break;
	}
}

void
rollup_verdict(struct rollup *r, const struct verdict *v,
    struct store *store)
{
	struct rollup_entry	*e;

	/* auth and register verdicts name no service: like the log events
	 * behind them, they count under c2s. */
	if (v->prefix.len != addr_maxlen(&v->prefix.addr))
		return;
	e = rollup_get(r, &v->prefix.addr, v->service != NULL ? v->service :
	    ROLLUP_LOG_SERVICE, v->time, store);
	e->verdicts++;
}

void
rollup_refusal(struct rollup *r, const struct addr *a, const char *service,
    int cap, int64_t t, struct store *store)
{
	struct rollup_entry	*e;
	int			 i;

	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    cap < 0 || cap >= STORE_CAP_MAX || service == NULL)
		return;
	e = rollup_get(r, a, service, t, store);
	e->refused[cap]++;
	e->refused_hour++;
	for (i = 0; i < r->nsvc; i++)
		if (strcmp(r->svc[i].name, service) == 0)
			break;
	if (i == r->nsvc) {
		if (r->nsvc == ROLLUP_SERVICES_MAX)
			return;
		snprintf(r->svc[i].name, sizeof(r->svc[i].name), "%s",
		    service);
		r->nsvc++;
	}
	r->svc[i].refused[cap]++;
}

/*
 * A flush round walks the dirty list from the head it had when the round
 * began: pairs marked later are pushed before the cursor and wait for the
 * next round, so a round ends even under a flood.  A pair the round has
 * not reached yet keeps accumulating and is written with everything it
 * has when reached: the store adds increments, so the totals are the same
 * whatever the steps.
 */
void
rollup_flush_begin(struct rollup *r)
{
	r->cursor = r->dirty;
}

int
rollup_flush_step(struct rollup *r, struct store *store,
    struct loop_budget *budget)
{
	uint32_t	i;

	while ((i = r->cursor) != ROLLUP_NIL) {
		r->cursor = r->e[i].dnext;
		rollup_write(r, &r->e[i], store);
		rollup_unmark(r, i);
		if (budget != NULL && loop_budget_spent(budget))
			return r->cursor == ROLLUP_NIL;
	}
	return 1;
}

void
rollup_flush(struct rollup *r, struct store *store)
{
	rollup_flush_begin(r);
	(void)rollup_flush_step(r, store, NULL);
}

void
rollup_get_stats(const struct rollup *r, struct rollup_stats *st)
{
	*st = r->stats;
}

/*
 * Status: the addresses refused by a kernel cap in the newest hour, the
 * most refused first, and per service and cap the refusals since start.
 * A walk of the table per request: status and metrics are asked rarely,
 * and the table is bounded.
 */
struct rollup_status {
	uint32_t	 addresses;	/* refused in the newest hour */
	const char	*top;
	char		 top_buf[ROLLUP_TOP * (ADDR_STRLEN + CONF_NAME_MAX +
			    24)];
};

/* Keeps e among the n (at most ROLLUP_TOP) most refused in best[],
 * best first. */
static int
rollup_top_add(const struct rollup_entry **best, int n,
    const struct rollup_entry *e)
{
	int	 i;

	for (i = n; i > 0 && best[i - 1]->refused_hour < e->refused_hour;
	    i--)
		if (i < ROLLUP_TOP)
			best[i] = best[i - 1];
	if (i < ROLLUP_TOP)
		best[i] = e;
	return n < ROLLUP_TOP ? n + 1 : n;
}

static void
rollup_status_get(const void *obj, size_t i, void *snap)
{
	const struct rollup	*r = obj;
	struct rollup_status	*s = snap;
	const struct rollup_entry *best[ROLLUP_TOP], *e;
	char			 a[ADDR_STRLEN];
	size_t			 len = 0;
	uint32_t		 k;
	int			 n = 0, j;

	(void)i;
	memset(s, 0, sizeof(*s));
	s->top = s->top_buf;
	if (r == NULL)
		return;
	for (k = htab_oldest(&r->tab, 0); k != ROLLUP_NIL;
	    k = htab_newer(&r->tab, k)) {
		e = &r->e[k];
		if (e->refused_hour == 0 || e->hour != r->hour)
			continue;
		s->addresses++;
		n = rollup_top_add(best, n, e);
	}
	for (j = 0; j < n && len < sizeof(s->top_buf); j++)
		len += (size_t)snprintf(s->top_buf + len, sizeof(s->top_buf) -
		    len, "%s%s %s %" PRIu64, j > 0 ? ", " : "",
		    addr_ntop(&best[j]->addr, a, sizeof(a)), best[j]->service,
		    best[j]->refused_hour);
}

struct rollup_svc_status {
	const char	*name;
	uint64_t	 refused[STORE_CAP_MAX];
};

static size_t
rollup_svc_count(const void *obj)
{
	const struct rollup	*r = obj;

	return r != NULL ? (size_t)r->nsvc : 0;
}

static void
rollup_svc_get(const void *obj, size_t i, void *snap)
{
	const struct rollup	*r = obj;
	struct rollup_svc_status *s = snap;

	s->name = r->svc[i].name;
	memcpy(s->refused, r->svc[i].refused, sizeof(s->refused));
}

static const struct status_field rollup_svc_fields[] = {
	{ .name = "name", .type = STATUS_STR,
	  .off = offsetof(struct rollup_svc_status, name) },
	{ .name = "refused", .type = STATUS_U64,
	  .off = offsetof(struct rollup_svc_status, refused),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_cap_refused_service_total",
	  .help = "Connections refused by a kernel cap, by service and cap, "
	  "as the daemon read them.",
	  .n = STORE_CAP_MAX, .by = "cap", .by_name = store_cap_name },
	{ .name = NULL }
};

static const struct status_group rollup_svc_group = {
	.name = "services",
	.fields = rollup_svc_fields,
	.size = sizeof(struct rollup_svc_status),
	.get = rollup_svc_get,
	.count = rollup_svc_count,
	.item = "service",
};

static const struct status_field rollup_status_fields[] = {
	{ .name = "addresses", .type = STATUS_U32,
	  .off = offsetof(struct rollup_status, addresses),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_cap_refused_addresses",
	  .help = "Addresses refused by a kernel cap in the current hour "
	  "(those still in the rollups' memory).",
	  .text = "% addresses this hour" },
	{ .name = "top", .type = STATUS_STR,
	  .off = offsetof(struct rollup_status, top), .text = "top: %" },
	{ .name = NULL }
};

const struct status_group rollup_refused_status_group = {
	.name = "refused",
	.text = "refused",
	.fields = rollup_status_fields,
	.size = sizeof(struct rollup_status),
	.get = rollup_status_get,
	.sub = &rollup_svc_group,
};
