/*
 * The tracker: connection state per address and per network in a table of
 * fixed size, and the offence history that turns the rules' answers
 * (rule.c) into verdicts worth reporting.
 *
 * Table.  All entries are allocated once, in one array, by track_new(),
 * indexed as the bounded hash table (htab.c) that finds them.  The key is
 * a struct prefix: a host (/32, /128) or its network (track
 * prefix4/prefix6), so one table and one bound serve both.  The hash is
 * SipHash keyed from the seed over the whole prefix, length included, so
 * an attacker who picks source addresses can neither aim at one chain nor
 * make a host and its network's first address collide.  Free entries are
 * all zero.
 *
 * Eviction.  When the table is full the least recently seen entry goes,
 * and a counter says so; the table's lists are intrusive and doubly
 * linked, so a flood of new addresses costs O(1) per event.  There are two
 * lists, as in a segmented LRU: an entry starts on probation and moves to
 * the protected list once a handshake completes for it (open, close,
 * bytes).  Victims come from probation first.  A SYN proves nothing
 * about its source, so a flood of forged SYNs churns through probation and
 * never pushes out the state of clients that really connected.
 *
 * Services.  Each entry has one slot per service, at most TRACK_SLOTS.
 * A slot's memory is a separate array per service, allocated the first
 * time the service is seen, so memory per entry grows with the services
 * in use, not with the maximum.  Slots are bound to service names, not to
 * positions in the configuration: a reload that reorders services keeps
 * every count, one that changes a service's limits keeps the counts and
 * applies the new limits.  A name new to the tracker takes a free slot, or
 * the slot of a service the configuration no longer has, which is then
 * zeroed in every entry (a walk of the table, once per such reload).
 * Events for a service that finds no slot (a ninth) are ignored and
 * counted.
 *
 * A slot holds, for its host or network and service:
 *  - live: connections open now (handshake completed, not yet closed);
 *  - halfopen: SYNs whose flow neither completed nor ended.  Reported,
 *    never judged: a forged source address must not get its owner banned;
 *  - new connections in a sliding window (for max_new): a ring of
 *    TRACK_RING buckets, each a sixth of the window in force, the newest
 *    holding the present.  The count is the sum of the ring: the events of
 *    the last five sixths of the window at least and of the whole window
 *    at most.  It never counts an event older than the window, so "121 new
 *    connections in 1h" is always true; a steady rate may exceed the limit
 *    by up to a fifth before the count catches it.  When the window in
 *    force changes (reload, override), the ring starts again;
 *  - short-lived closes (duration under track short_lived), for reports;
 *  - karma: jabberd 1.x's byte budget, a credit that refills at the
 *    configured rate up to the burst, in whole seconds (the refill over
 *    any span is exact to within one second's worth).  Only bytes from
 *    the client are spent: jabberd limited what it read from a client, and
 *    what the server sends is caused by others (a busy chat room, a
 *    contact's flood), who could otherwise get the victim banned.
 *    Negative credit breaks the rule.  The credit is an int32_t: bursts
 *    above 2 GiB act as 2 GiB, and a debt deeper than that is clamped, so
 *    a reported amount is never more than was spent.  Networks have no
 *    karma;
 *  - offences: a bit per rule set when a verdict is issued.  A rule whose
 *    bit is set issues no new verdict until it is back within its limit
 *    (then the next breach is a new offence), or until a cool-down of one
 *    window (the max_new window in force, 1h if max_new is off) has passed
 *    since the slot's last verdict; all standing offences of a slot are
 *    repeated together when it has.
 *
 * Accounts.  A login (auth_ok, from the server's log, its address
 * corroborated by conntrack as for any log line) adds its account to the
 * account sets of its host and network (track_account.c); when a
 * connection event finds a host or network over its base max_concurrent
 * or max_new, the distinct accounts of its window raise the limits by the
 * service's allowances (rule.c), so a NAT whose people log in is judged by
 * how many they are, and a bot that does not log in is not.  Failed
 * logins raise nothing, and the accounts are counted only past the base
 * limits, so an address below them costs what it did before.
 *
 * Federation peers.  A remote server that authenticated its s2s stream
 * (s2s_ok: dialback or SASL EXTERNAL success in the log) is remembered in
 * its host's account set.  A concurrency or churn verdict of the s2s service
 * tipped by a connection of such a host (its own, or its network's) within
 * the max_new window is marked a peer's: recorded and alerted about, never
 * banned, since banning a peer cuts the federation with its users; an
 * [override] with peer_ban = yes keeps today's bans for its networks.  An
 * s2s connection that never authenticated keeps today's limits.
 *
 * Rebuilding the rings from the store at start and at a reload is
 * track_rebuild.c's; track_int.h holds what the two files share.
 *
 * Times in slots and entries are whole seconds since the epoch in a
 * uint32_t (good until 2106; times outside are clamped).  Nothing reads
 * the clock: the present is the time of the event being applied, so
 * replay and tests run in their own time.  Events out of order by less
 * than a window still count in the right bucket; karma never refills
 * backwards.
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "htab.h"
#include "rule.h"
#include "status.h"
#include "track.h"
#include "track_int.h"
#include "verdict.h"
#include "xmalloc.h"

static uint32_t	track_victim(const struct track *, uint32_t);
static uint32_t	track_evict(struct track *, uint32_t);
static uint32_t	track_find(const struct track *, const struct prefix *);
static uint32_t	track_find_h(const struct track *, const struct prefix *,
		    uint64_t);
static int	track_conf_has(const struct conf *, const char *);
static int	track_slot_lookup(const struct track *, const char *);
static int64_t	track_window(const struct rule_limits *);
static int64_t	track_ring_diff(uint32_t, uint32_t);
static uint64_t	track_ring_count(const struct track_slot *, uint32_t,
		    int64_t);
static int64_t	track_karma_burst(const struct conf_karma *);
static void	track_karma_at(const struct track_slot *,
		    const struct conf_karma *, uint32_t, int64_t *,
		    uint32_t *);
static void	track_karma_spend(struct track_slot *,
		    const struct conf_karma *, uint32_t, uint64_t);
static uint64_t	track_karma_spent(const struct conf_karma *, uint32_t,
		    int64_t, uint32_t);
static void	track_apply(struct track *, const struct conf *,
		    const struct conf_service *, int, uint32_t, int,
		    const struct event *, verdict_cb, void *);
static void	track_judge(struct track *, const struct conf *,
		    const struct conf_service *, uint32_t, int,
		    struct track_slot *, const struct rule_limits *, int64_t,
		    verdict_cb, void *);
static void	track_login(struct track *, const struct conf *,
		    const struct event *);
static void	track_peer(struct track *, const struct event *);
static int	track_is_peer(const struct track *, const struct conf *,
		    const struct conf_service *, uint32_t, int64_t);
static void	track_peer_verdict(struct verdict *);
static void	track_offence(struct track *, struct track_slot *, uint8_t,
		    int, int, uint32_t, const struct verdict *,
		    verdict_cb, void *);

struct track *
track_new(uint32_t capacity, uint32_t seed)
{
	struct track		*t;
	struct siphash_key	 key;

	if (capacity < TRACK_CAPACITY_MIN)
		capacity = TRACK_CAPACITY_MIN;
	if (capacity > TRACK_CAPACITY_MAX)
		capacity = TRACK_CAPACITY_MAX;
	t = xcalloc(1, sizeof(*t));
	t->capacity = capacity;
	siphash_key_seed(&key, seed);
	htab_init(&t->tab, capacity, 2, &key);
	t->e = xcalloc(capacity, sizeof(*t->e));
	t->stats.capacity = capacity;
	return t;
}

void
track_free(struct track *t)
{
	int	i;

	if (t == NULL)
		return;
	for (i = 0; i < TRACK_SLOTS; i++)
		free(t->slot[i]);
	track_account_free(t);
	htab_clear(&t->tab);
	free(t->e);
	free(t);
}

uint32_t
track_sec(int64_t us)
{
	if (us <= 0)
		return 0;
	if (us / CLOCK_US_PER_SEC > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)(us / CLOCK_US_PER_SEC);
}

/* Promotes entry i: a handshake completed for it. */
void
track_protect(struct track *t, uint32_t i)
{
	if (htab_list_of(&t->tab, i) != TRACK_PROTECTED)
		htab_touch(&t->tab, i, TRACK_PROTECTED);
}

/*
 * The least recently seen entry, probation first, other than pin (the
 * host entry of the event being applied, which its network entry must
 * not push out).  A full table of at least two entries always has one.
 */
static uint32_t
track_victim(const struct track *t, uint32_t pin)
{
	uint32_t	i;
	int		l;

	for (l = TRACK_PROBATION; l <= TRACK_PROTECTED; l++) {
		i = htab_oldest(&t->tab, l);
		if (i == pin && i != TRACK_NIL)
			i = htab_newer(&t->tab, i);
		if (i != TRACK_NIL)
			return i;
	}
	return TRACK_NIL;
}

/* Makes room in a full table: the victim's entry and slots are zeroed. */
static uint32_t
track_evict(struct track *t, uint32_t pin)
{
	uint32_t	 i;
	int		 s;

	i = track_victim(t, pin);
	htab_remove(&t->tab, i);
	memset(&t->e[i], 0, sizeof(t->e[i]));
	for (s = 0; s < TRACK_SLOTS; s++) {
		if (t->slot[s] != NULL)
			memset(&t->slot[s][i], 0, sizeof(t->slot[s][i]));
	}
	t->stats.evictions++;
	t->stats.entries--;
	return i;
}

static uint32_t
track_find(const struct track *t, const struct prefix *key)
{
	return track_find_h(t, key, htab_hash(&t->tab, key, sizeof(*key)));
}

static uint32_t
track_find_h(const struct track *t, const struct prefix *key, uint64_t h)
{
	uint32_t	i;

	/* Unused address bytes and host bits are zero (addr.h), so equal
	 * prefixes are equal bytes. */
	for (i = htab_find(&t->tab, h); i != TRACK_NIL;
	    i = htab_find_next(&t->tab, i, h)) {
		if (memcmp(&t->e[i].key, key, sizeof(*key)) == 0)
			return i;
	}
	return TRACK_NIL;
}

/* The entry for key, made if need be, marked as seen at now. */
uint32_t
track_get(struct track *t, const struct prefix *key, int64_t now,
    uint32_t pin)
{
	struct track_entry	*e;
	uint64_t		 h = htab_hash(&t->tab, key, sizeof(*key));
	uint32_t		 i, sec = track_sec(now);

	if ((i = track_find_h(t, key, h)) != TRACK_NIL) {
		htab_touch(&t->tab, i, (unsigned int)htab_list_of(&t->tab, i));
		e = &t->e[i];
		if (sec > e->last_seen)
			e->last_seen = sec;
		return i;
	}
	if ((i = htab_insert(&t->tab, h, TRACK_PROBATION)) == TRACK_NIL) {
		track_evict(t, pin);
		i = htab_insert(&t->tab, h, TRACK_PROBATION);
	}
	e = &t->e[i];
	e->key = *key;
	e->last_seen = sec;
	e->handshake = 0;
	t->stats.entries++;
	return i;
}

/*
 * Services and slots.
 */
const struct conf_service *
track_service(const struct conf *conf, const struct event *ev)
{
	if (ev->service == NULL)
		return conf_service_by_port(conf, ev->port);
	return track_service_named(conf, ev->service);
}

const struct conf_service *
track_service_named(const struct conf *conf, const char *name)
{
	int	i;

	for (i = 0; i < conf->nservices; i++) {
		if (name == conf->services[i].name ||
		    strcmp(name, conf->services[i].name) == 0)
			return &conf->services[i];
	}
	return NULL;
}

static int
track_conf_has(const struct conf *conf, const char *name)
{
	int	i;

	if (name[0] == '@')	/* the log rules' own slots, always kept */
		return 1;
	for (i = 0; i < conf->nservices; i++) {
		if (strcmp(conf->services[i].name, name) == 0)
			return 1;
	}
	return 0;
}

static int
track_slot_lookup(const struct track *t, const char *name)
{
	int	s;

	for (s = 0; s < TRACK_SLOTS; s++) {
		if (t->name[s][0] != '\0' && strcmp(t->name[s], name) == 0)
			return s;
	}
	return -1;
}

/*
 * The slot of a service, bound on first sight.  Allocation failure is not
 * fatal on the event path: the event is ignored, counted, and the next
 * one tries again.
 */
int
track_slot_bind(struct track *t, const struct conf *conf, const char *name)
{
	size_t	len;
	int	s;

	if ((s = track_slot_lookup(t, name)) != -1)
		return s;
	for (s = 0; s < TRACK_SLOTS; s++) {
		if (t->name[s][0] == '\0')
			break;
	}
	if (s == TRACK_SLOTS) {
		for (s = 0; s < TRACK_SLOTS; s++) {
			if (!track_conf_has(conf, t->name[s]))
				break;
		}
		if (s == TRACK_SLOTS)
			return -1;
	}
	if (t->slot[s] == NULL) {
		t->slot[s] = calloc(t->capacity, sizeof(*t->slot[s]));
		if (t->slot[s] == NULL)
			return -1;
	} else
		memset(t->slot[s], 0, t->capacity * sizeof(*t->slot[s]));
	len = strnlen(name, sizeof(t->name[s]) - 1);
	memcpy(t->name[s], name, len);
	t->name[s][len] = '\0';
	return s;
}

/*
 * The max_new ring.
 */
static int64_t
track_window(const struct rule_limits *lim)
{
	if (lim->max_new.count == 0 || lim->max_new.window <= 0)
		return TRACK_WINDOW_DEFAULT;
	return lim->max_new.window;
}

/* Rounded down, so the ring never spans more than the window. */
uint32_t
track_ring_width(const struct rule_limits *lim)
{
	int64_t	ms = track_window(lim) / TRACK_RING / 1000;

	if (ms < 1)
		return 1;
	if (ms > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)ms;
}

uint32_t
track_ring_number(int64_t us, uint32_t width)
{
	if (us <= 0)
		return 0;
	return (uint32_t)((uint64_t)(us / 1000 / width) % TRACK_RING_MOD);
}

/* How far bucket n is ahead of head (negative: behind). */
static int64_t
track_ring_diff(uint32_t n, uint32_t head)
{
	uint32_t	ahead;

	ahead = (uint32_t)(((uint64_t)n + TRACK_RING_MOD - head) %
	    TRACK_RING_MOD);
	if (ahead <= TRACK_RING_MOD / 2)
		return ahead;
	return -(int64_t)(TRACK_RING_MOD - ahead);
}

void
track_ring_add(struct track_slot *sl, uint32_t width, int64_t now)
{
	uint32_t	n = track_ring_number(now, width);
	int64_t		d, k;

	if (sl->ring_width != width) {
		memset(sl->ring, 0, sizeof(sl->ring));
		sl->ring_width = width;
		sl->ring_head = n;
	}
	d = track_ring_diff(n, sl->ring_head);
	if (d >= TRACK_RING)
		memset(sl->ring, 0, sizeof(sl->ring));
	else {
		for (k = 1; k <= d; k++)
			sl->ring[(sl->ring_head + k) % TRACK_RING] = 0;
	}
	if (d > 0)
		sl->ring_head = n;
	else if (-d >= TRACK_RING)
		return;		/* older than the window */
	if (sl->ring[n % TRACK_RING] < UINT32_MAX)
		sl->ring[n % TRACK_RING]++;
}

static uint64_t
track_ring_count(const struct track_slot *sl, uint32_t width, int64_t now)
{
	uint64_t	sum = 0;
	int64_t		d, k;

	if (sl->ring_width != width)
		return 0;
	d = track_ring_diff(track_ring_number(now, width), sl->ring_head);
	if (d < 0)
		d = 0;
	for (k = 0; k < TRACK_RING - d; k++)
		sum += sl->ring[(sl->ring_head % TRACK_RING + TRACK_RING - k) %
		    TRACK_RING];
	return sum;
}

/*
 * Karma.
 */
static int64_t
track_karma_burst(const struct conf_karma *k)
{
	return k->burst > TRACK_KARMA_MAX ? TRACK_KARMA_MAX :
	    (int64_t)k->burst;
}

/* The credit at now_s and the last time it was full, without changing
 * the slot.  k->rate must not be 0. */
static void
track_karma_at(const struct track_slot *sl, const struct conf_karma *k,
    uint32_t now_s, int64_t *credit, uint32_t *full)
{
	int64_t		burst = track_karma_burst(k), c = sl->karma;
	uint64_t	dt, missing;

	*full = sl->karma_full;
	if (now_s > sl->karma_sec && c < burst) {
		dt = now_s - sl->karma_sec;
		missing = (uint64_t)(burst - c);
		if (dt >= (missing - 1) / k->rate + 1)	/* ceil, no wrap */
			c = burst;
		else
			c += (int64_t)(k->rate * dt);	/* < missing */
	}
	if (c >= burst) {
		c = burst;
		*full = now_s > sl->karma_sec ? now_s : sl->karma_sec;
	}
	*credit = c;
}

static void
track_karma_spend(struct track_slot *sl, const struct conf_karma *k,
    uint32_t now_s, uint64_t bytes)
{
	int64_t		c;
	uint32_t	full;

	if (!(sl->flags & TRACK_S_KARMA_ON)) {
		sl->flags |= TRACK_S_KARMA_ON;
		sl->karma = (int32_t)track_karma_burst(k);
		sl->karma_sec = sl->karma_full = now_s;
	}
	track_karma_at(sl, k, now_s, &c, &full);
	if (bytes > (uint64_t)TRACK_KARMA_MAX * 2)
		bytes = (uint64_t)TRACK_KARMA_MAX * 2;
	c -= (int64_t)bytes;
	if (c < -TRACK_KARMA_MAX)
		c = -TRACK_KARMA_MAX;
	sl->karma = (int32_t)c;
	sl->karma_full = full;
	if (now_s > sl->karma_sec)
		sl->karma_sec = now_s;
}

/*
 * Bytes spent since the credit was last full: the full burst plus the
 * refill since, less what is left.  Exact, because a credit below full
 * was never capped in between.
 */
static uint64_t
track_karma_spent(const struct conf_karma *k, uint32_t now_s, int64_t credit,
    uint32_t full)
{
	uint64_t	span, base;

	span = now_s > full ? now_s - full : 0;
	base = (uint64_t)(track_karma_burst(k) - credit);	/* >= 0 */
	if (span != 0 && k->rate > (UINT64_MAX - base) / span)
		return UINT64_MAX;
	return base + k->rate * span;
}

/*
 * Log events.  A failed login (once per connection, the filter saw to
 * that) or a registration counts in a slot of its own, "@auth" or
 * "@register" (no service can have a name starting with '@'), with the
 * same ring as max_new and [auth]'s limits, per host and per network.  The
 * address comes from a line the XMPP server wrote after a completed
 * handshake, so it is real, and the entry is protected like one that
 * connected.
 */
/* [auth]'s limit on kind (AUTH_FAIL or REGISTER) for a host or a network,
 * as the max_new of lim. */
void
track_log_limits(const struct conf *conf, enum event_kind kind, int net,
    struct rule_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	if (kind == EVENT_AUTH_FAIL)
		lim->max_new = net ? conf->auth_net_max_fail :
		    conf->auth_max_fail;
	else
		lim->max_new = net ? conf->auth_net_max_register :
		    conf->auth_max_register;
}

static void
track_log_apply(struct track *t, const struct conf *conf, int s, uint32_t i,
    const struct event *ev, verdict_cb cb, void *arg)
{
	struct track_slot	*sl = &t->slot[s][i];
	struct rule_subject	 subj;
	struct rule_limits	 lim;
	struct verdict		 v;
	enum verdict_rule	 rule;
	size_t			 len;
	int			 net, broken, due;
	uint32_t		 now_s = track_sec(ev->time);

	net = t->e[i].key.len < addr_maxlen(&t->e[i].key.addr);
	track_log_limits(conf, ev->kind, net, &lim);
	rule = ev->kind == EVENT_AUTH_FAIL ? VERDICT_AUTH : VERDICT_REGISTER;
	track_protect(t, i);
	track_ring_add(sl, track_ring_width(&lim), ev->time);
	subj.conf = conf;
	subj.svc = NULL;
	subj.prefix = &t->e[i].key;
	subj.time = ev->time;
	due = (int64_t)now_s - (int64_t)sl->reported >=
	    track_window(&lim) / CLOCK_US_PER_SEC;
	broken = rule_log(&subj, rule, &lim.max_new, track_ring_count(sl,
	    track_ring_width(&lim), ev->time), &v);
	if (broken && (ev->flags & EVENT_F_PROXIED)) {
		/* The door it used was the proxy's: the ban says so. */
		v.proxied = 1;
		len = strlen(v.reason);
		snprintf(v.reason + len, sizeof(v.reason) - len,
		    " (through a proxy)");
	}
	track_offence(t, sl, TRACK_S_CHURN, broken, due, now_s, &v, cb, arg);
}

static void
track_log(struct track *t, const struct conf *conf, const struct event *ev,
    verdict_cb cb, void *arg)
{
	struct prefix	host, net;
	uint32_t	hi, ni;
	int		s, netlen;

	if ((ev->addr.family != AF_INET && ev->addr.family != AF_INET6) ||
	    addr_is_unspecified(&ev->addr) ||
	    (s = track_slot_bind(t, conf, ev->kind == EVENT_AUTH_FAIL ?
	    TRACK_SLOT_AUTH : TRACK_SLOT_REGISTER)) == -1) {
		t->stats.ignored++;
		return;
	}
	t->stats.events++;
	/* A registered account is not an established one (accounts). */
	if (ev->kind == EVENT_REGISTER && ev->user != NULL)
		track_account_register(t, track_account_hash(t, ev->user),
		    ev->time);
	addr_mask(&ev->addr, addr_maxlen(&ev->addr), &host);
	hi = track_get(t, &host, ev->time, TRACK_NIL);
	track_log_apply(t, conf, s, hi, ev, cb, arg);
	netlen = ev->addr.family == AF_INET ? conf->track_prefix4 :
	    conf->track_prefix6;
	if (netlen > 0 && netlen < addr_maxlen(&ev->addr)) {
		addr_mask(&ev->addr, netlen, &net);
		ni = track_get(t, &net, ev->time, hi);
		track_log_apply(t, conf, s, ni, ev, cb, arg);
	}
}

/*
 * Logins: the account goes into the sets of the host and its network.
 * The address comes from a line written after a completed handshake
 * (corroborated), so the entries are protected like ones that connected.
 */
static void
track_login(struct track *t, const struct conf *conf, const struct event *ev)
{
	if ((ev->addr.family != AF_INET && ev->addr.family != AF_INET6) ||
	    addr_is_unspecified(&ev->addr) || ev->user == NULL ||
	    ev->user[0] == '\0') {
		t->stats.ignored++;
		return;
	}
	t->stats.events++;
	track_account_login(t, conf, ev);
}

/* A remote server authenticated its stream from this host. */
static void
track_peer(struct track *t, const struct event *ev)
{
	struct prefix	host;
	uint32_t	hi;

	if ((ev->addr.family != AF_INET && ev->addr.family != AF_INET6) ||
	    addr_is_unspecified(&ev->addr)) {
		t->stats.ignored++;
		return;
	}
	t->stats.events++;
	addr_mask(&ev->addr, addr_maxlen(&ev->addr), &host);
	hi = track_get(t, &host, ev->time, TRACK_NIL);
	track_protect(t, hi);
	track_account_peer(t, hi, ev->time);
}

/*
 * 1 if a connection of host entry hi (TRACK_NIL: none) to svc is a
 * federation peer's: the s2s service, a stream authenticated within the
 * max_new window before now, and no [override] with peer_ban for it.
 */
static int
track_is_peer(const struct track *t, const struct conf *conf,
    const struct conf_service *svc, uint32_t hi, int64_t now)
{
	const struct conf_override	*o;
	struct rule_limits		 lim;
	int64_t				 age;
	uint32_t			 peer;

	if (t->acct == NULL || hi == TRACK_NIL ||
	    (peer = track_account_peer_sec(t, hi)) == 0 ||
	    strcmp(svc->name, "s2s") != 0)
		return 0;
	rule_limits(conf, svc, &t->e[hi].key, &lim);
	age = (int64_t)track_sec(now) - (int64_t)peer;
	if (age > track_window(&lim) / CLOCK_US_PER_SEC)
		return 0;
	/* The most specific override decides, as for the limits. */
	o = rule_override(conf, &t->e[hi].key);
	return o == NULL || !o->peer_ban;
}

static void
track_peer_verdict(struct verdict *v)
{
	size_t	len = strlen(v->reason);

	v->peer = 1;
	v->allowlisted = 1;
	snprintf(v->reason + len, sizeof(v->reason) - len,
	    " (authenticated federation peer: alert only)");
}

/*
 * Events.
 */
void
track_event(struct track *t, const struct conf *conf,
    const struct event *ev, verdict_cb cb, void *arg)
{
	const struct conf_service	*svc;
	struct prefix			 host, net;
	uint32_t			 hi, ni;
	int				 s, netlen, peer;

	switch (ev->kind) {
	case EVENT_CONN_SYN:
	case EVENT_CONN_OPEN:
	case EVENT_CONN_CLOSE:
	case EVENT_CONN_END:
	case EVENT_CONN_BYTES:
		break;
	case EVENT_AUTH_FAIL:
	case EVENT_REGISTER:
		track_log(t, conf, ev, cb, arg);
		return;
	case EVENT_AUTH_OK:
		track_login(t, conf, ev);
		return;
	case EVENT_S2S_OK:
		track_peer(t, ev);
		return;
	default:
		/* Other log kinds (the server's own connection lines, ...)
		 * are recorded, not judged: conntrack counts connections
		 * better than a log can. */
		t->stats.ignored++;
		return;
	}
	if ((ev->addr.family != AF_INET && ev->addr.family != AF_INET6) ||
	    addr_is_unspecified(&ev->addr) ||
	    (svc = track_service(conf, ev)) == NULL ||
	    (s = track_slot_bind(t, conf, svc->name)) == -1) {
		t->stats.ignored++;
		return;
	}
	t->stats.events++;

	addr_mask(&ev->addr, addr_maxlen(&ev->addr), &host);
	netlen = ev->addr.family == AF_INET ? conf->track_prefix4 :
	    conf->track_prefix6;
	if (ev->kind == EVENT_CONN_END) {
		/* A flow ending proves no activity: look up, never create
		 * nor refresh (a SYN flood's timeouts would otherwise
		 * bring its entries back). */
		hi = track_find(t, &host);
		peer = track_is_peer(t, conf, svc, hi, ev->time);
		if (hi != TRACK_NIL)
			track_apply(t, conf, svc, s, hi, peer, ev, cb, arg);
		if (netlen > 0 && netlen < addr_maxlen(&ev->addr)) {
			addr_mask(&ev->addr, netlen, &net);
			if ((ni = track_find(t, &net)) != TRACK_NIL)
				track_apply(t, conf, svc, s, ni, peer, ev, cb,
				    arg);
		}
		return;
	}
	hi = track_get(t, &host, ev->time, TRACK_NIL);
	peer = track_is_peer(t, conf, svc, hi, ev->time);
	track_apply(t, conf, svc, s, hi, peer, ev, cb, arg);
	if (netlen > 0 && netlen < addr_maxlen(&ev->addr)) {
		addr_mask(&ev->addr, netlen, &net);
		ni = track_get(t, &net, ev->time, hi);
		track_apply(t, conf, svc, s, ni, peer, ev, cb, arg);
	}
}

static void
track_apply(struct track *t, const struct conf *conf,
    const struct conf_service *svc, int s, uint32_t i, int peer,
    const struct event *ev, verdict_cb cb, void *arg)
{
	struct track_slot	*sl = &t->slot[s][i];
	struct rule_limits	 lim;

	switch (ev->kind) {
	case EVENT_CONN_SYN:
		/* Counted for reports; never judged (spoofing). */
		if (sl->halfopen < UINT32_MAX)
			sl->halfopen++;
		return;
	case EVENT_CONN_END:
		if (!(ev->flags & EVENT_F_HANDSHAKE) &&
		    (ev->flags & EVENT_F_WAS_SYN) && sl->halfopen > 0)
			sl->halfopen--;
		return;
	default:
		break;
	}

	/* Open, close and bytes only come for flows whose handshake
	 * completed: the address is real. */
	track_protect(t, i);
	if (track_sec(ev->time) > t->e[i].handshake)
		t->e[i].handshake = track_sec(ev->time);
	rule_limits(conf, svc, &t->e[i].key, &lim);
	switch (ev->kind) {
	case EVENT_CONN_OPEN:
		if (sl->live < UINT32_MAX)
			sl->live++;
		if ((ev->flags & EVENT_F_WAS_SYN) && sl->halfopen > 0)
			sl->halfopen--;
		if (!(ev->flags & EVENT_F_PREEXISTING))
			track_ring_add(sl, track_ring_width(&lim), ev->time);
		break;
	case EVENT_CONN_CLOSE:
		if (sl->live > 0)
			sl->live--;
		if (ev->duration > 0 && ev->duration < conf->short_lived &&
		    sl->short_lived < UINT16_MAX)
			sl->short_lived++;
		break;
	case EVENT_CONN_BYTES:
		if (lim.karma.rate != 0)
			track_karma_spend(sl, &lim.karma,
			    track_sec(ev->time), ev->bytes_in);
		break;
	default:
		break;
	}
	track_judge(t, conf, svc, i, peer, sl, &lim, ev->time, cb, arg);
}

/*
 * Runs every rule on the slot's state after an event.  The accounts are
 * counted only when a base limit is broken (most events are well below),
 * and then raise both limits.  peer: the connection is an authenticated
 * federation peer's.
 */
static void
track_judge(struct track *t, const struct conf *conf,
    const struct conf_service *svc, uint32_t i, int peer,
    struct track_slot *sl, const struct rule_limits *base, int64_t now,
    verdict_cb cb, void *arg)
{
	struct rule_subject	 subj;
	struct rule_limits	 alim = *base;
	const struct rule_limits *lim = &alim;
	struct verdict		 v;
	uint64_t		 count;
	uint32_t		 now_s = track_sec(now), full;
	int64_t			 credit;
	int			 due, broken;

	subj.conf = conf;
	subj.svc = svc;
	subj.prefix = &t->e[i].key;
	subj.time = now;
	/* Decided once, so that standing offences repeat together. */
	due = (int64_t)now_s - (int64_t)sl->reported >=
	    track_window(lim) / CLOCK_US_PER_SEC;
	count = track_ring_count(sl, track_ring_width(lim), now);
	if (t->acct != NULL && ((base->max_concurrent != 0 &&
	    sl->live > base->max_concurrent) || (base->max_new.count != 0 &&
	    count > base->max_new.count)))
		rule_limits_accounts(svc, &t->e[i].key, track_account_count(t,
		    i, now, track_window(base)), &alim);

	broken = rule_concurrency(&subj, lim, sl->live, &v);
	if (broken && peer)
		track_peer_verdict(&v);
	track_offence(t, sl, TRACK_S_CONCURRENCY, broken, due, now_s, &v, cb,
	    arg);

	broken = rule_churn(&subj, lim, count, &v);
	if (broken && peer)
		track_peer_verdict(&v);
	track_offence(t, sl, TRACK_S_CHURN, broken, due, now_s, &v, cb, arg);

	broken = 0;
	if (lim->karma.rate != 0 && (sl->flags & TRACK_S_KARMA_ON)) {
		track_karma_at(sl, &lim->karma, now_s, &credit, &full);
		broken = rule_karma(&subj, lim, credit, track_karma_spent(
		    &lim->karma, now_s, credit, full),
		    (int64_t)(now_s > full ? now_s - full : 0) *
		    CLOCK_US_PER_SEC, &v);
	}
	track_offence(t, sl, TRACK_S_KARMA, broken, due, now_s, &v, cb, arg);
}

static void
track_offence(struct track *t, struct track_slot *sl, uint8_t bit,
    int broken, int due, uint32_t now_s, const struct verdict *v,
    verdict_cb cb, void *arg)
{
	if (!broken) {
		sl->flags &= ~bit;
		return;
	}
	if ((sl->flags & bit) && !due)
		return;
	sl->flags |= bit;
	sl->reported = now_s;
	t->stats.verdicts++;
	if (cb != NULL)
		cb(v, arg);
}

/*
 * Reading.
 */
/*
 * Corroboration.  Read-only: a lookup neither creates nor refreshes an
 * entry, so asking about forged addresses costs the table nothing.  The
 * "@auth" and "@register" slots never hold live connections, so only
 * conntrack's events can make an address count as connected.
 */
int
track_connected(const struct track *t, const struct addr *a, int64_t time,
    int64_t window)
{
	struct prefix	host;
	uint32_t	i;
	int		s;

	if (a->family != AF_INET && a->family != AF_INET6)
		return 0;
	addr_mask(a, addr_maxlen(a), &host);
	if ((i = track_find(t, &host)) == TRACK_NIL)
		return 0;
	for (s = 0; s < TRACK_SLOTS; s++) {
		if (t->slot[s] != NULL && t->slot[s][i].live > 0)
			return 1;
	}
	return t->e[i].handshake != 0 && (int64_t)track_sec(time) -
	    (int64_t)t->e[i].handshake <= window / CLOCK_US_PER_SEC;
}

uint32_t
track_accounts(const struct track *t, const struct conf *conf,
    const struct conf_service *svc, const struct addr *a, int64_t now,
    int64_t *window)
{
	struct prefix		 host;
	struct rule_limits	 lim;
	uint32_t		 i;

	*window = TRACK_WINDOW_DEFAULT;
	if (t->acct == NULL || (a->family != AF_INET &&
	    a->family != AF_INET6))
		return 0;
	addr_mask(a, addr_maxlen(a), &host);
	rule_limits(conf, svc, &host, &lim);
	*window = track_window(&lim);
	if ((i = track_find(t, &host)) == TRACK_NIL)
		return 0;
	return track_account_count(t, i, now, *window);
}

void
track_walk(struct track *t, const struct conf *conf, int64_t now,
    void (*cb)(const struct track_view *, void *), void *arg)
{
	const struct conf_service	*svc;
	const struct track_slot		*sl;
	struct track_view		 view;
	struct rule_limits		 lim;
	uint64_t			 count;
	uint32_t			 i, full;
	int64_t				 credit;
	int				 j, s, busy;

	for (i = 0; i < t->capacity; i++) {
		if (htab_list_of(&t->tab, i) == -1)
			continue;
		for (j = 0; j < conf->nservices; j++) {
			svc = &conf->services[j];
			if ((s = track_slot_lookup(t, svc->name)) == -1)
				continue;
			sl = &t->slot[s][i];
			rule_limits(conf, svc, &t->e[i].key, &lim);
			count = track_ring_count(sl, track_ring_width(&lim),
			    now);
			credit = track_karma_burst(&lim.karma);
			if (lim.karma.rate != 0 &&
			    (sl->flags & TRACK_S_KARMA_ON))
				track_karma_at(sl, &lim.karma, track_sec(now),
				    &credit, &full);
			busy = sl->live != 0 || sl->halfopen != 0 ||
			    sl->short_lived != 0 || count != 0 ||
			    credit < track_karma_burst(&lim.karma) ||
			    (sl->flags & (TRACK_S_CONCURRENCY |
			    TRACK_S_CHURN | TRACK_S_KARMA));
			if (!busy)
				continue;
			memset(&view, 0, sizeof(view));
			view.prefix = t->e[i].key;
			view.service = svc->name;
			view.live = sl->live;
			view.halfopen = sl->halfopen;
			view.short_lived = sl->short_lived;
			view.new_in_window = count;
			view.max_concurrent = lim.max_concurrent;
			view.max_new = lim.max_new.count;
			view.karma_credit = credit;
			view.last_seen = (int64_t)t->e[i].last_seen *
			    CLOCK_US_PER_SEC;
			cb(&view, arg);
		}
	}
}

void
track_get_stats(const struct track *t, struct track_stats *st)
{
	uint64_t	bytes;
	int		s;

	*st = t->stats;
	bytes = (uint64_t)t->capacity * sizeof(*t->e) + htab_bytes(&t->tab);
	for (s = 0; s < TRACK_SLOTS; s++) {
		if (t->slot[s] != NULL)
			bytes += (uint64_t)t->capacity * sizeof(*t->slot[s]);
	}
	if (t->acct != NULL)
		bytes += (uint64_t)t->nacct * sizeof(*t->acct) +
		    (uint64_t)t->capacity * sizeof(*t->acct_of) +
		    TRACK_REGISTERED * sizeof(*t->reg);
	st->entry_bytes = (bytes + t->capacity - 1) / t->capacity;
}

/* Status: the table's fill and evictions. */
static void
track_status_get(const void *obj, size_t i, void *snap)
{
	(void)i;
	track_get_stats(obj, snap);
}

#define TS(f)	offsetof(struct track_stats, f)
static const struct status_field track_status_fields[] = {
	{ .name = "entries", .type = STATUS_U64, .off = TS(entries),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_tracked_addresses",
	  .help = "Addresses and networks with state in memory.",
	  .text = "%" },
	{ .name = "capacity", .type = STATUS_U64, .off = TS(capacity),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_tracked_capacity",
	  .help = "Most that fit ([track] capacity).", .text = "capacity %" },
	{ .name = "evictions", .type = STATUS_U64, .off = TS(evictions),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_track_evictions_total",
	  .help = "Entries pushed out by newer ones when full.",
	  .text = "% evicted" },
	{ .name = "ignored", .type = STATUS_U64, .off = TS(ignored) },
	{ .name = "entry_bytes", .type = STATUS_U64, .off = TS(entry_bytes) },
	{ .name = "account_sets_taken", .type = STATUS_U64,
	  .off = TS(account_sets_taken) },
	{ .name = NULL }
};
#undef TS

const struct status_group track_status_group = {
	.name = "track",
	.text = "tracked",
	.fields = track_status_fields,
	.size = sizeof(struct track_stats),
	.get = track_status_get,
};
