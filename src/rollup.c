/*
 * Rollups in memory.
 *
 * The table holds at most `capacity` entries, each one (address, service)
 * pair with the counters of its current hour.  All entries are allocated
 * once, in one array; a chained hash (bucket heads and next links are array
 * indices) finds them, and an intrusive LRU list picks the victim when the
 * table is full.  A second intrusive list links the entries that changed
 * since the last flush, so a flush costs one row per active pair, not a
 * walk of the table.  Both lists are doubly linked so that eviction is
 * O(1): under a flood of new addresses every event evicts.
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
 * Invariants: an entry is in use iff it is on the LRU list; it is on the
 * dirty list iff some counter other than live changed since it was last
 * written; the free list holds every other entry.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "event.h"
#include "rollup.h"
#include "store.h"
#include "verdict.h"
#include "xmalloc.h"

#define ROLLUP_NIL	UINT32_MAX
/* The service of log events (logins, registrations), which name none. */
#define ROLLUP_LOG_SERVICE	"c2s"

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
	uint32_t	 live;
	uint32_t	 peak_live;
	uint32_t	 hnext;		/* hash chain */
	uint32_t	 lprev, lnext;	/* LRU list, most recent at head */
	uint32_t	 dprev, dnext;	/* dirty list */
	uint8_t		 dirty;
};

struct rollup {
	struct rollup_entry *e;
	uint32_t	*buckets;
	uint32_t	 nbuckets;	/* a power of two */
	uint32_t	 capacity;
	uint32_t	 seed;
	uint32_t	 free;		/* free list through hnext */
	uint32_t	 lru_head, lru_tail;
	uint32_t	 dirty;		/* dirty list head */
	struct rollup_stats stats;
};

struct rollup *
rollup_new(uint32_t capacity, uint32_t seed)
{
	struct rollup	*r;
	uint32_t	 i;

	if (capacity == 0)
		capacity = 1;
	r = xcalloc(1, sizeof(*r));
	r->capacity = capacity;
	r->seed = seed;
	r->e = xcalloc(capacity, sizeof(*r->e));
	for (r->nbuckets = 1; r->nbuckets < capacity &&
	    r->nbuckets < (1U << 31); r->nbuckets <<= 1)
		;
	r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
	for (i = 0; i < r->nbuckets; i++)
		r->buckets[i] = ROLLUP_NIL;
	for (i = 0; i < capacity; i++)
		r->e[i].hnext = i + 1 < capacity ? i + 1 : ROLLUP_NIL;
	r->free = 0;
	r->lru_head = r->lru_tail = r->dirty = ROLLUP_NIL;
	r->stats.capacity = capacity;
	return r;
}

void
rollup_free(struct rollup *r)
{
	if (r == NULL)
		return;
	free(r->e);
	free(r->buckets);
	free(r);
}

static uint32_t
rollup_bucket(const struct rollup *r, const struct addr *a,
    const char *service)
{
	uint32_t	h = addr_hash(a, r->seed);
	const char	*p;

	/* FNV-1a over the service name, mixed into the keyed address hash;
	 * service names come from the configuration, not from attackers. */
	for (p = service; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619U;
	return h & (r->nbuckets - 1);
}

static void
rollup_lru_unlink(struct rollup *r, uint32_t i)
{
	struct rollup_entry	*e = &r->e[i];

	if (e->lprev != ROLLUP_NIL)
		r->e[e->lprev].lnext = e->lnext;
	else
		r->lru_head = e->lnext;
	if (e->lnext != ROLLUP_NIL)
		r->e[e->lnext].lprev = e->lprev;
	else
		r->lru_tail = e->lprev;
}

static void
rollup_lru_push(struct rollup *r, uint32_t i)
{
	struct rollup_entry	*e = &r->e[i];

	e->lprev = ROLLUP_NIL;
	e->lnext = r->lru_head;
	if (r->lru_head != ROLLUP_NIL)
		r->e[r->lru_head].lprev = i;
	else
		r->lru_tail = i;
	r->lru_head = i;
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
		store_rollup_add(store, &row);
		r->stats.rows++;
	}
	e->conns = e->short_lived = e->halfopen = 0;
	e->bytes_in = e->bytes_out = e->verdicts = 0;
	e->auth_fail = e->registered = 0;
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

	if (e->dprev != ROLLUP_NIL)
		r->e[e->dprev].dnext = e->dnext;
	else
		r->dirty = e->dnext;
	if (e->dnext != ROLLUP_NIL)
		r->e[e->dnext].dprev = e->dprev;
	e->dirty = 0;
}

/* Removes entry i from its hash chain. */
static void
rollup_unhash(struct rollup *r, uint32_t i)
{
	struct rollup_entry	*e = &r->e[i];
	uint32_t		*pp;

	pp = &r->buckets[rollup_bucket(r, &e->addr, e->service)];
	while (*pp != i)
		pp = &r->e[*pp].hnext;
	*pp = e->hnext;
}

/*
 * Takes the least recently used entry for reuse: its pending increments are
 * written first.  O(1), as everything on the event path.
 */
static uint32_t
rollup_evict(struct rollup *r, struct store *store)
{
	uint32_t	 i = r->lru_tail;

	if (r->e[i].dirty) {
		rollup_write(r, &r->e[i], store);
		rollup_unmark(r, i);
	}
	rollup_lru_unlink(r, i);
	rollup_unhash(r, i);
	r->stats.evictions++;
	r->stats.entries--;
	return i;
}

/* The entry for (a, service) at time t, created if needed; its hour is
 * t's (an older hour's increments are written first). */
static struct rollup_entry *
rollup_get(struct rollup *r, const struct addr *a, const char *service,
    int64_t t, struct store *store)
{
	struct rollup_entry	*e;
	uint32_t		 b, i;
	int64_t			 hour = store_hour(t);

	b = rollup_bucket(r, a, service);
	for (i = r->buckets[b]; i != ROLLUP_NIL; i = r->e[i].hnext) {
		e = &r->e[i];
		if (addr_eq(&e->addr, a) && strcmp(e->service, service) == 0)
			break;
	}
	if (i == ROLLUP_NIL) {
		if (r->free == ROLLUP_NIL)
			i = rollup_evict(r, store);
		else {
			i = r->free;
			r->free = r->e[i].hnext;
		}
		e = &r->e[i];
		memset(e, 0, sizeof(*e));
		e->addr = *a;
		strncpy(e->service, service, sizeof(e->service) - 1);
		e->hour = hour;
		e->hnext = r->buckets[b];
		r->buckets[b] = i;
		r->stats.entries++;
	} else
		rollup_lru_unlink(r, i);
	rollup_lru_push(r, i);
	/* A new hour: close the old one's row.  Events may arrive slightly
	 * out of order (a dump after a gap); an older hour is folded into
	 * the current one rather than reopening a written row. */
	if (hour > e->hour) {
		if (e->dirty)
			rollup_write(r, e, store);
		e->hour = hour;
	}
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
rollup_flush(struct rollup *r, struct store *store)
{
	uint32_t	i, next;

	for (i = r->dirty; i != ROLLUP_NIL; i = next) {
		next = r->e[i].dnext;
		rollup_write(r, &r->e[i], store);
		r->e[i].dirty = 0;
	}
	r->dirty = ROLLUP_NIL;
}

void
rollup_get_stats(const struct rollup *r, struct rollup_stats *st)
{
	*st = r->stats;
}
