/*
 * Replay's enforcement: what the daemon's bans would have done to the
 * input that follows them.
 *
 * The decisions are the daemon's own: a struct bans (ban.c) takes each
 * verdict through bans_verdict(), so the prefix (widened to [ban]
 * prefix4/prefix6, narrowed next to an address never to be banned), the
 * refusals (loopback, allowlist, this host's addresses), the duration, the
 * escalation of a repeat offender and the merging of networks are decided
 * by the code that decides them live.  The table has no store (a replay
 * --db holds what it held before, never bans that a daemon opening it
 * would put in force), so the earlier bans that escalation counts are
 * kept here: the start of the last REPLAY_HIST_KEEP bans of each prefix,
 * in a bounded table (enough: past a few steps the duration is the
 * maximum).  The firewall operations the table queues are thrown away.
 * Time is the input's: a ban runs out when the replay reaches its expiry,
 * never by the wall clock.
 *
 * The kernel's part.  A ban drops the packets of its prefix, so a flow
 * that begins while the ban is in force never completes, and conntrack
 * reports nothing of it (an entry is confirmed, and announced, only once
 * a packet passes): every event of such a flow is dropped here, the
 * flow's first one counted as a connection refused.  A flow is known by
 * its address, source port and conntrack id, kept in a bounded table
 * until its end (the oldest forgotten when full, and counted).  Flows
 * that were live when the ban began are ended then, where the daemon
 * would end them ([ban] kill_established: the table queues the kill):
 * replay.c hands the flow machine a DESTROY for each at the ban's time,
 * as the kernel would have sent once the entry was deleted, and the
 * capture's later messages of those flows are dropped before it (the
 * same table, marked killed).  A log line naming an address inside a ban
 * in force is dropped too: the server never saw that client.  This
 * host's own addresses are learnt from the capture (the destinations of
 * flows to a service port), so the never-a-weapon rules know them as the
 * daemon does from its interfaces.
 *
 * Whether an address is banned: a lookup of its prefix for each length
 * some ban has used (a mask of lengths), not a scan of the table.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "ct.h"
#include "htab.h"
#include "ownaddr.h"
#include "replay_int.h"
#include "xmalloc.h"

/* Flows refused or killed and not yet ended, at most. */
#define REPLAY_DROPPED_MAX	65536
/* Prefixes whose bans are remembered, and bans remembered of each. */
#define REPLAY_HIST_MAX		65536
#define REPLAY_HIST_KEEP	16

struct replay_hist {
	struct prefix	 prefix;
	int64_t		 since[REPLAY_HIST_KEEP];	/* a ring */
	uint32_t	 n;		/* bans recorded, of which the last
					 * REPLAY_HIST_KEEP are in since[] */
};

struct replay_flow {
	struct addr	 addr;
	uint16_t	 sport;
	uint64_t	 flow;
	int		 killed;	/* ended by a ban: its messages are
					 * dropped before the flow machine */
};

/* Bans whose live sessions wait to be ended, at most (more are counted
 * as forgotten: a verdict makes one ban). */
#define REPLAY_KILLS_MAX	64

struct replay_bans {
	struct bans	*bans;
	struct htab	 ht;		/* earlier bans, by prefix */
	struct replay_hist *hist;	/* by table index */
	struct ownaddr	*own;
	uint8_t		 lens[129 / 8 + 1];	/* prefix lengths in use */
	struct htab	 t;		/* refused flows, oldest first */
	struct replay_flow *flows;	/* by table index */
	struct prefix	 kills[REPLAY_KILLS_MAX];	/* to end, and when */
	int64_t		 kill_time[REPLAY_KILLS_MAX];
	size_t		 nkills;
	/* What the last bans_verdict() did (the notify callback). */
	int		 changed;	/* BAN_ISSUED or BAN_EXTENDED; -1 */
	struct ban	 last;
	struct replay_ban_stats st;
};

static uint64_t
replay_hist_hash(const struct replay_bans *rb, const struct prefix *p)
{
	uint8_t	key[1 + sizeof(p->addr.bytes) + 1];

	key[0] = p->addr.family;
	memcpy(key + 1, p->addr.bytes, sizeof(p->addr.bytes));
	key[1 + sizeof(p->addr.bytes)] = p->len;
	return htab_hash(&rb->ht, key, sizeof(key));
}

static struct replay_hist *
replay_hist_find(const struct replay_bans *rb, const struct prefix *p,
    uint64_t h)
{
	uint32_t	i;

	for (i = htab_find(&rb->ht, h); i != HTAB_NIL;
	    i = htab_find_next(&rb->ht, i, h))
		if (rb->hist[i].prefix.len == p->len &&
		    addr_eq(&rb->hist[i].prefix.addr, &p->addr))
			return &rb->hist[i];
	return NULL;
}

/* A ban of p began at since. */
static void
replay_hist_add(struct replay_bans *rb, const struct prefix *p,
    int64_t since)
{
	struct replay_hist	*e;
	uint64_t		 h = replay_hist_hash(rb, p);
	uint32_t		 i;

	if ((e = replay_hist_find(rb, p, h)) == NULL) {
		if ((i = htab_insert(&rb->ht, h, 0)) == HTAB_NIL) {
			htab_remove(&rb->ht, htab_oldest(&rb->ht, 0));
			rb->st.forgotten++;
			i = htab_insert(&rb->ht, h, 0);
		}
		e = &rb->hist[i];
		memset(e, 0, sizeof(*e));
		e->prefix = *p;
	}
	e->since[e->n++ % REPLAY_HIST_KEEP] = since;
}

/* The ban table's count of earlier bans (ban_history_cb). */
static uint32_t
replay_hist_cb(const struct prefix *p, int64_t since, void *arg)
{
	struct replay_bans		*rb = arg;
	const struct replay_hist	*e;
	uint32_t			 k, n = 0;

	if ((e = replay_hist_find(rb, p, replay_hist_hash(rb, p))) == NULL)
		return 0;
	for (k = 0; k < e->n && k < REPLAY_HIST_KEEP; k++)
		n += e->since[k] >= since;
	return n;
}

static void
replay_bans_notify_cb(enum ban_change what, const struct ban *b,
    int64_t now, void *arg)
{
	struct replay_bans	*rb = arg;

	(void)now;
	if (what != BAN_ISSUED && what != BAN_EXTENDED)
		return;
	rb->changed = (int)what;
	rb->last = *b;
	if (what == BAN_ISSUED)
		replay_hist_add(rb, &b->prefix, b->since);
	rb->lens[b->prefix.len / 8] |= 1U << (b->prefix.len % 8);
}

struct replay_bans *
replay_bans_new(const struct conf *conf, uint32_t seed)
{
	struct replay_bans	*rb;
	struct siphash_key	 key;

	rb = xcalloc(1, sizeof(*rb));
	rb->bans = bans_new(conf, NULL);
	bans_set_history(rb->bans, replay_hist_cb, rb);
	rb->own = ownaddr_fixed(NULL, 0);
	bans_set_own(rb->bans, rb->own);
	bans_set_notify(rb->bans, replay_bans_notify_cb, rb);
	siphash_key_seed(&key, seed);
	htab_init(&rb->t, REPLAY_DROPPED_MAX, 1, &key);
	htab_init(&rb->ht, REPLAY_HIST_MAX, 1, &key);
	rb->hist = xcalloc(REPLAY_HIST_MAX, sizeof(*rb->hist));
	rb->flows = xcalloc(REPLAY_DROPPED_MAX, sizeof(*rb->flows));
	return rb;
}

void
replay_bans_free(struct replay_bans *rb)
{
	if (rb == NULL)
		return;
	bans_free(rb->bans);
	htab_clear(&rb->ht);
	free(rb->hist);
	ownaddr_free(rb->own);
	htab_clear(&rb->t);
	free(rb->flows);
	free(rb);
}

void
replay_bans_own(struct replay_bans *rb, const struct addr *a)
{
	if (!ownaddr_is(rb->own, a))
		ownaddr_set(rb->own, a, 1);
}

/* The ban in force that holds a at now, or NULL. */
static const struct ban *
replay_bans_holding(struct replay_bans *rb, const struct addr *a)
{
	const struct ban	*b;
	struct prefix		 p;
	int			 len;

	for (len = addr_maxlen(a); len >= 0; len--) {
		if (!(rb->lens[len / 8] & (1U << (len % 8))))
			continue;
		addr_mask(a, len, &p);
		if ((b = bans_find(rb->bans, &p)) != NULL)
			return b;
	}
	return NULL;
}

/* A flow as the table keys it: the event's flow is the conntrack id. */
static void
replay_flow_key(struct replay_flow *f, const struct addr *a, uint16_t sport,
    uint64_t flow, int killed)
{
	memset(f, 0, sizeof(*f));
	f->addr = *a;
	f->sport = sport;
	f->flow = flow;
	f->killed = killed;
}

static uint64_t
replay_flow_hash(const struct replay_bans *rb, const struct replay_flow *f)
{
	uint8_t	key[sizeof(f->addr.bytes) + sizeof(f->sport) +
		    sizeof(f->flow)];

	memcpy(key, f->addr.bytes, sizeof(f->addr.bytes));
	memcpy(key + sizeof(f->addr.bytes), &f->sport, sizeof(f->sport));
	memcpy(key + sizeof(f->addr.bytes) + sizeof(f->sport), &f->flow,
	    sizeof(f->flow));
	return htab_hash(&rb->t, key, sizeof(key));
}

/* The entry of flow k (killed or refused as k says), or HTAB_NIL. */
static uint32_t
replay_flow_find(const struct replay_bans *rb, const struct replay_flow *k,
    uint64_t h)
{
	const struct replay_flow *f;
	uint32_t		 i;

	for (i = htab_find(&rb->t, h); i != HTAB_NIL;
	    i = htab_find_next(&rb->t, i, h)) {
		f = &rb->flows[i];
		if (f->flow == k->flow && f->sport == k->sport &&
		    f->killed == k->killed && addr_eq(&f->addr, &k->addr))
			return i;
	}
	return HTAB_NIL;
}

static void
replay_flow_add(struct replay_bans *rb, const struct replay_flow *k,
    uint64_t h)
{
	uint32_t	i;

	if ((i = htab_insert(&rb->t, h, 0)) == HTAB_NIL) {
		htab_remove(&rb->t, htab_oldest(&rb->t, 0));
		rb->st.forgotten++;
		i = htab_insert(&rb->t, h, 0);
	}
	rb->flows[i] = *k;
}

int
replay_bans_drop(struct replay_bans *rb, const struct event *ev)
{
	struct replay_flow k;
	uint64_t	h;
	uint32_t	i;
	int		first;

	bans_expire(rb->bans, ev->time, 0);
	bans_unqueue(rb->bans);
	if (ev->source != EVENT_SRC_CONNTRACK) {
		if (replay_bans_holding(rb, &ev->addr) == NULL)
			return 0;
		rb->st.lines++;
		return 1;
	}
	replay_flow_key(&k, &ev->addr, ev->sport, ev->flow, 0);
	h = replay_flow_hash(rb, &k);
	if ((i = replay_flow_find(rb, &k, h)) != HTAB_NIL) {
		if (ev->kind == EVENT_CONN_END)
			htab_remove(&rb->t, i);
		return 1;
	}
	/* A flow begins with its SYN, or opens with none seen before. */
	first = ev->kind == EVENT_CONN_SYN || (ev->kind == EVENT_CONN_OPEN &&
	    !(ev->flags & (EVENT_F_WAS_SYN | EVENT_F_PREEXISTING)));
	if (!first || replay_bans_holding(rb, &ev->addr) == NULL)
		return 0;
	rb->st.refused++;
	if (ev->kind != EVENT_CONN_END)
		replay_flow_add(rb, &k, h);
	return 1;
}

int
replay_bans_next_kill(struct replay_bans *rb, struct prefix *p,
    int64_t *when)
{
	if (rb->nkills == 0)
		return 0;
	rb->nkills--;
	*p = rb->kills[rb->nkills];
	*when = rb->kill_time[rb->nkills];
	return 1;
}

void
replay_bans_killed(struct replay_bans *rb, const struct addr *a,
    uint16_t sport, uint32_t id)
{
	struct replay_flow	k;

	replay_flow_key(&k, a, sport, id, 1);
	rb->st.killed++;
	replay_flow_add(rb, &k, replay_flow_hash(rb, &k));
}

int
replay_bans_msg_drop(struct replay_bans *rb, const struct ct_msg *msg)
{
	struct replay_flow	k;
	uint64_t		h;
	uint32_t		i;

	if (rb->st.killed == 0)
		return 0;
	replay_flow_key(&k, &msg->src, msg->sport, msg->id, 1);
	h = replay_flow_hash(rb, &k);
	if ((i = replay_flow_find(rb, &k, h)) == HTAB_NIL)
		return 0;
	if (msg->type == CT_MSG_DESTROY)
		htab_remove(&rb->t, i);
	return 1;
}

/* The live sessions the ban table would have ended now (its kills). */
static void
replay_bans_kills(struct replay_bans *rb, int64_t now)
{
	const struct fw_op	*ops, *kills;
	size_t			 nkills = 0, i;

	(void)bans_pending(rb->bans, &ops, &kills, &nkills);
	for (i = 0; i < nkills; i++) {
		if (rb->nkills == REPLAY_KILLS_MAX) {
			rb->st.forgotten++;
			continue;
		}
		rb->kills[rb->nkills] = kills[i].prefix;
		rb->kill_time[rb->nkills++] = now;
	}
	bans_unqueue(rb->bans);
}

enum replay_outcome
replay_bans_verdict(struct replay_bans *rb, const struct verdict *v,
    struct ban *b)
{
	struct ban_stats	before, after;

	bans_get_stats(rb->bans, &before);
	rb->changed = -1;
	(void)bans_verdict(rb->bans, v, v->time);
	replay_bans_kills(rb, v->time);
	bans_get_stats(rb->bans, &after);
	if (rb->changed == BAN_ISSUED || rb->changed == BAN_EXTENDED) {
		*b = rb->last;
		if (rb->changed == BAN_EXTENDED) {
			rb->st.extended++;
			return REPLAY_EXTENDED;
		}
		rb->st.bans++;
		if (b->count > 1)
			rb->st.escalated++;
		return REPLAY_BANNED;
	}
	if (v->allowlisted || v->held || v->capped ||
	    after.refused != before.refused) {
		rb->st.unbanned++;
		if (v->capped)
			rb->st.capped++;
		return REPLAY_UNBANNED;
	}
	rb->st.repeats++;
	return REPLAY_REPEAT;
}

void
replay_bans_get_stats(const struct replay_bans *rb,
    struct replay_ban_stats *st)
{
	*st = rb->st;
}
