/*
 * The conntrack flow table: turns the kernel's per-flow messages (NEW,
 * UPDATE, DESTROY, dump entries) into connection events, and remembers just
 * enough about each flow to emit every event exactly once.
 *
 * Spoofing decides the state machine.  A SYN's source address proves
 * nothing, and neither does conntrack's ESTABLISHED on its own (with
 * nf_conntrack_tcp_loose, one forged mid-stream packet creates an
 * ESTABLISHED entry).  What a forger cannot produce is IPS_ASSURED: the
 * kernel sets it when the server's side of a completed handshake (or of a
 * picked-up stream) answers, in the same transition that makes a normal
 * handshake ESTABLISHED.  So a flow is "open" once ASSURED is seen, and
 * until then it is half-open, whatever its state says.
 *
 * Each flow in the table has emitted exactly one of CONN_SYN (half-open) or
 * CONN_OPEN at first sight, emits CONN_OPEN at most once (with WAS_SYN if
 * it started half-open), CONN_CLOSE exactly once if and only if it opened
 * (at its first FIN/RST state: DESTROY comes two minutes later), and leaves
 * the table with exactly one CONN_END, whether it was destroyed, evicted
 * or found missing from a dump.  The tracker keeps its live and half-open
 * counts from these events alone, so the invariant is what keeps them from
 * drifting.  State only moves forward: a stale message (queued before a
 * dump that already showed a later state) changes nothing.
 *
 * Byte counters arrive in dumps and in DESTROY.  Each flow keeps the last
 * raw counters seen (the baseline) and the totals: a delta is the growth
 * since the baseline, or the whole value when a counter went backwards (it
 * was zeroed, so what it holds was counted since).  Only deltas of open
 * flows are reported (CONN_BYTES), because a half-open flow's bytes may
 * have been sent by a forger in someone else's name; and a flow first seen
 * in mid-life takes its counters as baseline, so a session found by the
 * start-up dump does not charge hours of traffic at once.
 *
 * The table is bounded: capacity entries allocated once, indexed as a
 * bounded hash table (htab.c) keyed by (conntrack id, original tuple), the
 * id being 0 when the source does not give one, with one age list per
 * class.  Memory is a setting, not a function of the traffic.
 * When it is full, a flow is evicted from the least valuable class first:
 * half-open flows (what a SYN flood is made of), then closed flows waiting
 * for their DESTROY (they owe only their final counters), then open flows,
 * least recently touched first in each class.  A new half-open flow
 * evicts only an older half-open one (or is dropped itself), so a spoofed
 * flood cannot push real sessions out; and one found by a dump evicts
 * nothing, so a flood bigger than the table does not cycle through it at
 * every dump.  Evicted flows emit their CLOSE and END (flagged
 * EVENT_F_RESYNC) like any other.
 *
 * A dump is bracketed by ctflow_resync_begin/end: every message bumps the
 * flow's generation, and the flows the generation missed are gone.
 *
 * Ending a banned prefix's sessions needs its flows without a walk of the
 * table (a storm is thousands of bans against a table of 100k flows), so
 * every flow is also on two chains of a source index: one by its source
 * address, one by its source's group (the /24 of an IPv4 address, the /64
 * of an IPv6 one, what bans widen to).  Chains are doubly linked through
 * arrays beside the entries, bucketed by the table's keyed hash (a
 * forger cannot aim at a bucket), and updated where a flow enters and
 * leaves the table, so they hold exactly the flows in use.
 *
 * Pure: no I/O, no clock.  Time comes from the messages.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ct.h"
#include "ctflow.h"
#include "event.h"
#include "htab.h"
#include "ownaddr.h"
#include "xmalloc.h"

#define CTFLOW_NIL		HTAB_NIL
#define CTFLOW_CAPACITY_MAX	(1U << 26)	/* 64M flows, ~12 GiB */

/* The source index: the group lengths, and how many groups a prefix
 * shorter than its group may span before a lookup walks the table. */
#define CTFLOW_GROUP4		24
#define CTFLOW_GROUP6		64
#define CTFLOW_SPAN_BITS	16

/* Per-flow state bits. */
#define CTFLOW_F_SYN		0x01	/* CONN_SYN emitted */
#define CTFLOW_F_OPEN		0x02	/* CONN_OPEN emitted */
#define CTFLOW_F_CLOSED		0x04	/* CONN_CLOSE emitted */
#define CTFLOW_F_BASE		0x08	/* counters baseline known */
#define CTFLOW_F_PREEXISTING	0x10	/* from the start-up dump */

/* Counter slots, in struct ct_msg order. */
enum {
	CTFLOW_BYTES_IN,
	CTFLOW_PKTS_IN,
	CTFLOW_BYTES_OUT,
	CTFLOW_PKTS_OUT,
	CTFLOW_NCOUNTERS
};

/* Eviction classes, cheapest to lose first. */
enum ctflow_class {
	CTFLOW_HALF,		/* not (yet) open */
	CTFLOW_CLOSED,		/* open, then closed; waiting for DESTROY */
	CTFLOW_LIVE,		/* open */
	CTFLOW_NCLASSES
};

struct ctflow_key {
	struct addr	 src;
	struct addr	 dst;
	uint32_t	 id;
	uint16_t	 sport;
	uint16_t	 dport;
};

/* In use iff the table's index is; its class is the table's list. */
struct ctflow_ent {
	struct ctflow_key key;
	uint32_t	 gen;		/* resync generation last seen in */
	uint8_t		 fl;		/* CTFLOW_F_* */
	/* A copy, not a pointer into the configuration: a reload may free
	 * it while the flow lives, and the close must name the service the
	 * open named. */
	char		 service[CONF_NAME_MAX];
	int64_t		 first;		/* first seen (or ct start) */
	int64_t		 open;		/* handshake completed */
	int64_t		 close;		/* first FIN/RST state */
	uint64_t	 last[CTFLOW_NCOUNTERS];	/* raw, baseline */
	uint64_t	 total[CTFLOW_NCOUNTERS];
};

/* A flow's links on one chain of the source index: index + 1, 0 none. */
struct ctflow_link {
	uint32_t	 next, prev;
};

/* The two chains of the source index. */
enum {
	CTFLOW_BY_ADDR,
	CTFLOW_BY_GROUP,
	CTFLOW_NCHAINS
};

struct ctflow {
	struct htab	 tab;		/* a list per class, oldest first */
	struct ctflow_ent *ents;	/* capacity, indexed as tab */
	uint32_t	*head[CTFLOW_NCHAINS];	/* buckets, index + 1 */
	struct ctflow_link *link[CTFLOW_NCHAINS];	/* capacity each */
	uint32_t	 bmask;		/* buckets - 1 */
	uint32_t	 capacity;
	uint32_t	 gen;
	int		 resync_first;	/* inside the start-up dump */
	const struct ownaddr *own;	/* the host's addresses; NULL: none */
	struct ctflow_stats stats;
};

/* What a message says about its flow, worked out once. */
struct ctflow_ctx {
	const struct ct_msg *msg;
	event_cb	 cb;
	void		*arg;
	uint32_t	 origin;	/* EVENT_F_* owed to where it came from */
};

static uint64_t	 ctflow_hash(const struct ctflow *, const struct ctflow_key *);
static int	 ctflow_is_local(const struct ctflow *, const struct addr *);
static int	 ctflow_key_eq(const struct ctflow_key *,
		    const struct ctflow_key *);
static uint32_t	 ctflow_find(const struct ctflow *, const struct ctflow_key *,
		    uint64_t);
static void	 ctflow_touch(struct ctflow *, uint32_t, enum ctflow_class);
static void	 ctflow_release(struct ctflow *, uint32_t);
static uint32_t	 ctflow_alloc(struct ctflow *, const struct ctflow_key *,
		    uint64_t, int, int64_t, event_cb, void *);
static void	 ctflow_event_init(const struct ctflow_ent *, struct event *,
		    enum event_kind, int64_t, uint32_t);
static void	 ctflow_emit(const struct ctflow_ent *, enum event_kind,
		    int64_t, uint32_t, event_cb, void *);
static void	 ctflow_do_open(struct ctflow *, uint32_t, int64_t, int64_t,
		    uint32_t, event_cb, void *);
static void	 ctflow_do_close(struct ctflow *, uint32_t, int64_t, uint32_t,
		    event_cb, void *);
static void	 ctflow_do_end(struct ctflow *, uint32_t, int64_t, uint32_t,
		    event_cb, void *);
static void	 ctflow_counters(struct ctflow_ent *, const struct ct_msg *,
		    event_cb, void *);
static void	 ctflow_state(struct ctflow *, uint32_t,
		    const struct ctflow_ctx *);

struct ctflow *
ctflow_new(uint32_t capacity, uint32_t seed)
{
	struct ctflow		*ctf;
	struct siphash_key	 key;
	int			 c;

	if (capacity == 0)
		capacity = 1;
	if (capacity > CTFLOW_CAPACITY_MAX)
		capacity = CTFLOW_CAPACITY_MAX;
	ctf = xcalloc(1, sizeof *ctf);
	ctf->capacity = capacity;
	siphash_key_seed(&key, seed);
	htab_init(&ctf->tab, capacity, CTFLOW_NCLASSES, &key);
	/* calloc'd: pages of flows never used are never touched. */
	ctf->ents = xcalloc(capacity, sizeof *ctf->ents);
	for (ctf->bmask = 1; ctf->bmask < capacity; ctf->bmask <<= 1)
		;
	for (c = 0; c < CTFLOW_NCHAINS; c++) {
		ctf->head[c] = xcalloc(ctf->bmask, sizeof *ctf->head[c]);
		ctf->link[c] = xcalloc(capacity, sizeof *ctf->link[c]);
	}
	ctf->bmask--;
	return ctf;
}

void
ctflow_free(struct ctflow *ctf)
{
	int	c;

	if (ctf == NULL)
		return;
	htab_clear(&ctf->tab);
	free(ctf->ents);
	for (c = 0; c < CTFLOW_NCHAINS; c++) {
		free(ctf->head[c]);
		free(ctf->link[c]);
	}
	free(ctf);
}

void
ctflow_set_own(struct ctflow *ctf, const struct ownaddr *own)
{
	ctf->own = own;
}

/* Only new flows get here: a binary search of the live list. */
static int
ctflow_is_local(const struct ctflow *ctf, const struct addr *a)
{
	return ctf->own != NULL && ownaddr_is(ctf->own, a);
}

void
ctflow_get_stats(const struct ctflow *ctf, struct ctflow_stats *st)
{
	*st = ctf->stats;
	st->flows = htab_used(&ctf->tab);
	st->halfopen = htab_count(&ctf->tab, CTFLOW_HALF);
}

/*
 * The conntrack id is the kernel's own hash of the flow, but with the id 0
 * (text without ids) the key is the tuple, which a forger picks.  The
 * table's keyed SipHash covers the source address, the ports and the id,
 * so no bucket can be predicted either way.  The destination is one of
 * the host's own addresses: it would cost without spreading.
 */
static uint64_t
ctflow_hash(const struct ctflow *ctf, const struct ctflow_key *k)
{
	uint8_t		m[1 + sizeof(k->src.bytes) + 4 + 2 + 2];
	size_t		n = 0;

	m[n++] = k->src.family;
	memcpy(m + n, k->src.bytes, sizeof(k->src.bytes));
	n += sizeof(k->src.bytes);
	memcpy(m + n, &k->id, sizeof(k->id));
	n += sizeof(k->id);
	memcpy(m + n, &k->sport, sizeof(k->sport));
	n += sizeof(k->sport);
	memcpy(m + n, &k->dport, sizeof(k->dport));
	return htab_hash(&ctf->tab, m, sizeof(m));
}

static int
ctflow_key_eq(const struct ctflow_key *a, const struct ctflow_key *b)
{
	return a->id == b->id && a->sport == b->sport &&
	    a->dport == b->dport && addr_eq(&a->src, &b->src) &&
	    addr_eq(&a->dst, &b->dst);
}

/* The flow of key k, whose hash is h, or CTFLOW_NIL. */
static uint32_t
ctflow_find(const struct ctflow *ctf, const struct ctflow_key *k, uint64_t h)
{
	uint32_t	 i;

	for (i = htab_find(&ctf->tab, h); i != CTFLOW_NIL;
	    i = htab_find_next(&ctf->tab, i, h)) {
		if (ctflow_key_eq(&ctf->ents[i].key, k))
			return i;
	}
	return CTFLOW_NIL;
}

/* Moves flow i to the young end of class cls (its own or another). */
static void
ctflow_touch(struct ctflow *ctf, uint32_t i, enum ctflow_class cls)
{
	htab_touch(&ctf->tab, i, cls);
}

/* The group of a: its /24 or /64. */
static void
ctflow_group(const struct addr *a, struct prefix *g)
{
	addr_mask(a, a->family == AF_INET ? CTFLOW_GROUP4 : CTFLOW_GROUP6, g);
}

/* The bucket of chain c for a source address, or for a group's. */
static uint32_t
ctflow_bucket(const struct ctflow *ctf, int c, const struct addr *a)
{
	struct prefix	 g;
	uint8_t		 m[2 + sizeof(a->bytes)];

	/* Masked: only the bits that name the address or group count. */
	if (c == CTFLOW_BY_GROUP)
		ctflow_group(a, &g);
	else
		addr_mask(a, addr_maxlen(a), &g);
	a = &g.addr;
	memset(m, 0, sizeof m);
	m[0] = a->family;
	m[1] = (uint8_t)c;
	memcpy(m + 2, a->bytes, sizeof(a->bytes));
	return (uint32_t)htab_hash(&ctf->tab, m, sizeof m) & ctf->bmask;
}

/* Puts flow i (its key set) on both chains of the source index. */
static void
ctflow_index_add(struct ctflow *ctf, uint32_t i)
{
	struct ctflow_link	*l;
	uint32_t		 b;
	int			 c;

	for (c = 0; c < CTFLOW_NCHAINS; c++) {
		b = ctflow_bucket(ctf, c, &ctf->ents[i].key.src);
		l = &ctf->link[c][i];
		l->prev = 0;
		l->next = ctf->head[c][b];
		if (l->next != 0)
			ctf->link[c][l->next - 1].prev = i + 1;
		ctf->head[c][b] = i + 1;
	}
}

static void
ctflow_index_remove(struct ctflow *ctf, uint32_t i)
{
	struct ctflow_link	*l;
	int			 c;

	for (c = 0; c < CTFLOW_NCHAINS; c++) {
		l = &ctf->link[c][i];
		if (l->prev != 0)
			ctf->link[c][l->prev - 1].next = l->next;
		else
			ctf->head[c][ctflow_bucket(ctf, c,
			    &ctf->ents[i].key.src)] = l->next;
		if (l->next != 0)
			ctf->link[c][l->next - 1].prev = l->prev;
		l->next = l->prev = 0;
	}
}

/* Takes flow i out of the table; its slot is free and zero again. */
static void
ctflow_release(struct ctflow *ctf, uint32_t i)
{
	ctflow_index_remove(ctf, i);
	htab_remove(&ctf->tab, i);
	memset(&ctf->ents[i], 0, sizeof ctf->ents[i]);
}

/*
 * A slot for a new flow, evicting one of the classes below limit (the
 * oldest of the cheapest class) if the table is full; CTFLOW_NIL if none
 * of them has a flow to give, and then the new flow is the one dropped.
 */
static uint32_t
ctflow_alloc(struct ctflow *ctf, const struct ctflow_key *k, uint64_t h,
    int limit, int64_t now, event_cb cb, void *arg)
{
	struct ctflow_ent	*e;
	uint32_t		 i = CTFLOW_NIL;
	int			 c;

	if (htab_used(&ctf->tab) == ctf->capacity) {
		ctf->stats.evicted++;
		for (c = 0; c < limit && i == CTFLOW_NIL; c++)
			i = htab_oldest(&ctf->tab, (unsigned int)c);
		if (i == CTFLOW_NIL)
			return CTFLOW_NIL;
		ctflow_do_end(ctf, i, now, EVENT_F_RESYNC, cb, arg);
	}

	i = htab_insert(&ctf->tab, h, CTFLOW_HALF);
	e = &ctf->ents[i];
	e->key = *k;
	e->gen = ctf->gen;
	ctflow_index_add(ctf, i);
	return i;
}

static void
ctflow_event_init(const struct ctflow_ent *e, struct event *ev,
    enum event_kind kind, int64_t now, uint32_t flags)
{
	memset(ev, 0, sizeof *ev);
	ev->time = now;
	ev->kind = kind;
	ev->addr = e->key.src;
	ev->port = e->key.dport;
	ev->sport = e->key.sport;
	ev->service = e->service;
	ev->source = EVENT_SRC_CONNTRACK;
	ev->origin = "conntrack";
	ev->flow = e->key.id;
	ev->flags = flags;
	if (e->fl & CTFLOW_F_OPEN)
		ev->flags |= EVENT_F_HANDSHAKE;
	if (e->fl & CTFLOW_F_SYN)
		ev->flags |= EVENT_F_WAS_SYN;
	if (e->fl & CTFLOW_F_PREEXISTING)
		ev->flags |= EVENT_F_PREEXISTING;
}

static void
ctflow_emit(const struct ctflow_ent *e, enum event_kind kind, int64_t now,
    uint32_t flags, event_cb cb, void *arg)
{
	struct event	 ev;

	ctflow_event_init(e, &ev, kind, now, flags);
	if (kind == EVENT_CONN_OPEN)
		ev.start = e->open;
	cb(&ev, arg);
}

/*
 * The event carries the time it is reported (now), so that the stream stays
 * in order; the flow keeps when it opened (when), for durations.
 */
static void
ctflow_do_open(struct ctflow *ctf, uint32_t i, int64_t now, int64_t when,
    uint32_t flags, event_cb cb, void *arg)
{
	struct ctflow_ent	*e = &ctf->ents[i];

	e->fl |= CTFLOW_F_OPEN;
	e->open = when;
	ctflow_touch(ctf, i, CTFLOW_LIVE);
	ctflow_emit(e, EVENT_CONN_OPEN, now, flags, cb, arg);
}

static void
ctflow_do_close(struct ctflow *ctf, uint32_t i, int64_t now, uint32_t flags,
    event_cb cb, void *arg)
{
	struct ctflow_ent	*e = &ctf->ents[i];
	struct event		 ev;

	e->fl |= CTFLOW_F_CLOSED;
	e->close = now > e->open ? now : e->open;
	ctflow_touch(ctf, i, CTFLOW_CLOSED);
	ctflow_event_init(e, &ev, EVENT_CONN_CLOSE, now, flags);
	ev.start = e->open;
	ev.duration = e->close - e->open;
	cb(&ev, arg);
}

/*
 * The flow's last events: its CLOSE if it opened and never closed, then
 * its END with the totals, and it leaves the table.
 */
static void
ctflow_do_end(struct ctflow *ctf, uint32_t i, int64_t now, uint32_t flags,
    event_cb cb, void *arg)
{
	struct ctflow_ent	*e = &ctf->ents[i];
	struct event		 ev;

	if ((e->fl & (CTFLOW_F_OPEN | CTFLOW_F_CLOSED)) == CTFLOW_F_OPEN)
		ctflow_do_close(ctf, i, now, flags, cb, arg);
	ctflow_event_init(e, &ev, EVENT_CONN_END, now, flags);
	ev.bytes_in = e->total[CTFLOW_BYTES_IN];
	ev.pkts_in = e->total[CTFLOW_PKTS_IN];
	ev.bytes_out = e->total[CTFLOW_BYTES_OUT];
	ev.pkts_out = e->total[CTFLOW_PKTS_OUT];
	if (e->fl & CTFLOW_F_OPEN) {
		ev.start = e->open;
		ev.duration = e->close - e->open;
	} else
		ev.duration = now > e->first ? now - e->first : 0;
	cb(&ev, arg);
	ctflow_release(ctf, i);
}

/*
 * Takes the message's counters; reports the growth of an open flow's as
 * CONN_BYTES.
 */
static void
ctflow_counters(struct ctflow_ent *e, const struct ct_msg *msg,
    event_cb cb, void *arg)
{
	struct event	 ev;
	uint64_t	 raw[CTFLOW_NCOUNTERS], d[CTFLOW_NCOUNTERS];
	int		 j, any = 0;

	if (!msg->has_counters)
		return;
	raw[CTFLOW_BYTES_IN] = msg->bytes_orig;
	raw[CTFLOW_PKTS_IN] = msg->pkts_orig;
	raw[CTFLOW_BYTES_OUT] = msg->bytes_reply;
	raw[CTFLOW_PKTS_OUT] = msg->pkts_reply;

	if (!(e->fl & CTFLOW_F_BASE)) {
		/* First counters of a flow met in mid-life: its history. */
		memcpy(e->last, raw, sizeof raw);
		memcpy(e->total, raw, sizeof raw);
		e->fl |= CTFLOW_F_BASE;
		return;
	}
	for (j = 0; j < CTFLOW_NCOUNTERS; j++) {
		/* Backwards: zeroed since (conntrack -Z, a dump-and-reset
		 * by another tool), so all it holds is new. */
		d[j] = raw[j] >= e->last[j] ? raw[j] - e->last[j] : raw[j];
		e->last[j] = raw[j];
		e->total[j] += d[j];
		any |= d[j] != 0;
	}
	if (!any || !(e->fl & CTFLOW_F_OPEN))
		return;
	ctflow_event_init(e, &ev, EVENT_CONN_BYTES, msg->time, 0);
	ev.bytes_in = d[CTFLOW_BYTES_IN];
	ev.pkts_in = d[CTFLOW_PKTS_IN];
	ev.bytes_out = d[CTFLOW_BYTES_OUT];
	ev.pkts_out = d[CTFLOW_PKTS_OUT];
	ev.start = e->open;
	cb(&ev, arg);
}

static int
ctflow_closing(uint8_t state)
{
	switch (state) {
	case CT_TCP_FIN_WAIT:
	case CT_TCP_CLOSE_WAIT:
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
	case CT_TCP_CLOSE:
		return 1;
	}
	return 0;
}

/* Moves flow i forward to what the message shows, emitting on the way. */
static void
ctflow_state(struct ctflow *ctf, uint32_t i, const struct ctflow_ctx *cx)
{
	struct ctflow_ent	*e = &ctf->ents[i];
	const struct ct_msg	*msg = cx->msg;
	int64_t			 when;

	if (!(e->fl & CTFLOW_F_OPEN)) {
		if (msg->status & CT_STATUS_ASSURED) {
			/* First seen open: it opened about when conntrack
			 * created it, if the kernel says when that was. */
			when = e->fl & CTFLOW_F_SYN ? msg->time : e->first;
			ctflow_do_open(ctf, i, msg->time, when, cx->origin,
			    cx->cb, cx->arg);
		} else if (!(e->fl & CTFLOW_F_SYN)) {
			e->fl |= CTFLOW_F_SYN;
			ctflow_emit(e, EVENT_CONN_SYN, msg->time, cx->origin,
			    cx->cb, cx->arg);
		}
	}
	if ((e->fl & (CTFLOW_F_OPEN | CTFLOW_F_CLOSED)) == CTFLOW_F_OPEN &&
	    msg->type != CT_MSG_DESTROY && ctflow_closing(msg->tcp_state))
		ctflow_do_close(ctf, i, msg->time,
		    msg->type == CT_MSG_DUMP ? cx->origin : 0, cx->cb, cx->arg);
}

/* The table's key of a message's flow. */
static void
ctflow_key_of(const struct ct_msg *msg, struct ctflow_key *k)
{
	memset(k, 0, sizeof *k);
	k->src = msg->src;
	k->dst = msg->dst;
	k->id = msg->id;
	k->sport = msg->sport;
	k->dport = msg->dport;
}

void
ctflow_apply(struct ctflow *ctf, const struct conf *conf,
    const struct ct_msg *msg, event_cb cb, void *arg)
{
	const struct conf_service *svc;
	struct ctflow_ent	*e;
	struct ctflow_ctx	 cx;
	struct ctflow_key	 k;
	uint64_t		 h;
	uint32_t		 i;
	int			 limit;

	ctf->stats.msgs++;
	if ((msg->src.family != AF_INET && msg->src.family != AF_INET6) ||
	    msg->dst.family != msg->src.family) {
		ctf->stats.ignored++;
		return;
	}
	ctflow_key_of(msg, &k);

	cx.msg = msg;
	cx.cb = cb;
	cx.arg = arg;

	/*
	 * A flow already in the table stays until its END even if a reload
	 * has unwatched its port since, so that every OPEN gets its CLOSE.
	 */
	h = ctflow_hash(ctf, &k);
	if ((i = ctflow_find(ctf, &k, h)) != CTFLOW_NIL) {
		e = &ctf->ents[i];
		/* A change seen live was observed; one a dump shows, or an
		 * open DESTROY reveals, happened in a gap. */
		cx.origin = msg->type == CT_MSG_DUMP ||
		    msg->type == CT_MSG_DESTROY ? EVENT_F_RESYNC : 0;
		if (msg->type == CT_MSG_DESTROY) {
			/* CLOSE (if it never had one), final BYTES, END. */
			ctflow_state(ctf, i, &cx);
			if ((e->fl & (CTFLOW_F_OPEN | CTFLOW_F_CLOSED)) ==
			    CTFLOW_F_OPEN)
				ctflow_do_close(ctf, i, msg->time, 0, cb, arg);
			ctflow_counters(e, msg, cb, arg);
			ctflow_do_end(ctf, i, msg->time, 0, cb, arg);
			return;
		}
		e->gen = ctf->gen;
		ctflow_touch(ctf, i,
		    (enum ctflow_class)htab_list_of(&ctf->tab, i));
		ctflow_state(ctf, i, &cx);
		ctflow_counters(e, msg, cb, arg);
		return;
	}

	if ((svc = conf_service_by_port(conf, msg->dport)) == NULL) {
		ctf->stats.ignored++;
		return;
	}
	/* The host's own outgoing connection (to a remote s2s port): the
	 * host is not a client of someone else's server.  A flow between two
	 * of its own addresses (a local proxy, loopback) is a client of
	 * ours and is followed; rules and enforcement never ban the host. */
	if (ctflow_is_local(ctf, &msg->src) &&
	    !ctflow_is_local(ctf, &msg->dst)) {
		ctf->stats.local++;
		return;
	}
	if (msg->type == CT_MSG_DESTROY) {
		/*
		 * Never seen: evicted (its END is out already), or born and
		 * gone inside a gap the next dump could not see.  Making up
		 * a whole life for it two minutes late would count an
		 * evicted flow twice.
		 */
		ctf->stats.unknown++;
		return;
	}

	/* Whether its start was observed: from a live NEW it was; from the
	 * start-up dump it predates us; from anything else it was missed. */
	if (msg->type == CT_MSG_NEW)
		cx.origin = 0;
	else if (msg->type == CT_MSG_DUMP && ctf->resync_first)
		cx.origin = EVENT_F_PREEXISTING;
	else
		cx.origin = EVENT_F_RESYNC;

	/*
	 * Room, if the table is full: a session may push out anything, a
	 * new half-open flow only an older half-open one.  A half-open flow
	 * a dump finds pushes out nothing: under a flood bigger than the
	 * table, every dump would otherwise cycle the whole flood through
	 * it, two events per flow.
	 */
	if (msg->status & CT_STATUS_ASSURED)
		limit = CTFLOW_NCLASSES;
	else if (msg->type != CT_MSG_DUMP)
		limit = CTFLOW_HALF + 1;
	else
		limit = 0;
	if ((i = ctflow_alloc(ctf, &k, h, limit, msg->time, cb, arg)) ==
	    CTFLOW_NIL)
		return;
	e = &ctf->ents[i];
	snprintf(e->service, sizeof e->service, "%s", svc->name);
	e->first = msg->time;
	if (msg->start > 0 && msg->start <= msg->time)
		e->first = msg->start;
	if (cx.origin == EVENT_F_PREEXISTING)
		e->fl |= CTFLOW_F_PREEXISTING;
	else if (msg->type == CT_MSG_DUMP)
		ctf->stats.resync_opened++;
	/* A flow seen from its NEW starts at zero. */
	if (msg->type == CT_MSG_NEW)
		e->fl |= CTFLOW_F_BASE;
	ctflow_state(ctf, i, &cx);
	ctflow_counters(e, msg, cb, arg);
}

/*
 * The dump's shortcut: most of a large table is flows to ports no service
 * watches, and parsing each whole costs more than the kernel's reply.  The
 * same tests as ctflow_apply()'s before it does anything.
 */
int
ctflow_wanted(struct ctflow *ctf, const struct conf *conf,
    const struct ct_msg *msg)
{
	struct ctflow_key	 k;

	if (conf_service_by_port(conf, msg->dport) != NULL)
		return 1;
	if ((msg->src.family == AF_INET || msg->src.family == AF_INET6) &&
	    msg->dst.family == msg->src.family) {
		ctflow_key_of(msg, &k);
		if (ctflow_find(ctf, &k, ctflow_hash(ctf, &k)) != CTFLOW_NIL)
			return 1;
	}
	ctf->stats.msgs++;
	ctf->stats.ignored++;
	return 0;
}

void
ctflow_resync_begin(struct ctflow *ctf, int first)
{
	/* A dump that failed half-way simply never ends: the next begin
	 * starts a new generation. */
	ctf->gen++;
	ctf->resync_first = first != 0;
}

void
ctflow_resync_end(struct ctflow *ctf, const struct conf *conf, int64_t now,
    event_cb cb, void *arg)
{
	uint32_t	 i, next;
	int		 c;

	(void)conf;
	for (c = 0; c < CTFLOW_NCLASSES; c++) {
		for (i = htab_oldest(&ctf->tab, (unsigned int)c);
		    i != CTFLOW_NIL; i = next) {
			next = htab_newer(&ctf->tab, i);
			if (ctf->ents[i].gen == ctf->gen)
				continue;
			/* Ending a flow frees it (by way of the closed list
			 * if it was live): next stays valid. */
			ctf->stats.resync_closed++;
			ctflow_do_end(ctf, i, now, EVENT_F_RESYNC, cb, arg);
		}
	}
	ctf->resync_first = 0;
}

/* Hands flow i to cb if its source is inside p; 1 if it did. */
static int
ctflow_visit(const struct ctflow *ctf, uint32_t i, const struct prefix *p,
    ctflow_tuple_cb cb, void *arg)
{
	const struct ctflow_ent	*e = &ctf->ents[i];
	struct ctflow_tuple	 t;

	if (e->key.src.family != p->addr.family ||
	    !addr_prefix_contains(p, &e->key.src))
		return 0;
	memset(&t, 0, sizeof t);
	t.src = e->key.src;
	t.dst = e->key.dst;
	t.sport = e->key.sport;
	t.dport = e->key.dport;
	t.id = e->key.id;
	t.open = (e->fl & CTFLOW_F_OPEN) != 0;
	cb(&t, arg);
	return 1;
}

/* The flows of chain c whose key leads to a's bucket and that p holds. */
static size_t
ctflow_chain(const struct ctflow *ctf, int c, const struct addr *a,
    const struct prefix *p, ctflow_tuple_cb cb, void *arg)
{
	uint32_t	 i;
	size_t		 n = 0;

	for (i = ctf->head[c][ctflow_bucket(ctf, c, a)]; i != 0;
	    i = ctf->link[c][i - 1].next)
		n += (size_t)ctflow_visit(ctf, i - 1, p, cb, arg);
	return n;
}

size_t
ctflow_of_prefix(const struct ctflow *ctf, const struct prefix *p,
    ctflow_tuple_cb cb, void *arg)
{
	struct prefix	 g;
	uint32_t	 i, j, span;
	size_t		 n = 0;
	int		 glen, b, pos, c;

	if (p->addr.family != AF_INET && p->addr.family != AF_INET6)
		return 0;
	glen = p->addr.family == AF_INET ? CTFLOW_GROUP4 : CTFLOW_GROUP6;
	if (p->len >= addr_maxlen(&p->addr))
		return ctflow_chain(ctf, CTFLOW_BY_ADDR, &p->addr, p, cb, arg);
	if (p->len >= glen)
		return ctflow_chain(ctf, CTFLOW_BY_GROUP, &p->addr, p, cb,
		    arg);
	if (glen - p->len <= CTFLOW_SPAN_BITS) {
		/* Each group the prefix spans, its bits from len to glen
		 * counted through; a flow is the group's if the group holds
		 * it (another group's may share the bucket). */
		span = 1U << (glen - p->len);
		g.len = (uint8_t)glen;
		for (j = 0; j < span; j++) {
			g.addr = p->addr;
			for (b = 0; b < glen - p->len; b++) {
				pos = glen - 1 - b;
				if (j & (1U << b))
					g.addr.bytes[pos / 8] |=
					    (uint8_t)(0x80 >> (pos % 8));
			}
			n += ctflow_chain(ctf, CTFLOW_BY_GROUP, &g.addr, &g,
			    cb, arg);
		}
		return n;
	}
	/* Wider still (an IPv6 ban shorter than /48): every flow. */
	for (c = 0; c < CTFLOW_NCLASSES; c++)
		for (i = htab_oldest(&ctf->tab, (unsigned int)c);
		    i != CTFLOW_NIL; i = htab_newer(&ctf->tab, i))
			n += (size_t)ctflow_visit(ctf, i, p, cb, arg);
	return n;
}
