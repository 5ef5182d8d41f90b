/*
 * Surge detection (issue 18, item 4).  An attack spread over a thousand
 * addresses, each under every per-address limit, shows as a rise of the
 * server-wide rate of connections that never log in.  Per service with
 * surge mode on (surge_service_on()), this module counts a stranger's
 * connection: a conntrack CONN_OPEN (handshake completed: a spoofed SYN
 * never counts) from an address not known, known meaning a successful
 * login (AUTH_OK, or S2S_OK for a federated server) within [track]
 * known_days.  A login within SURGE_AUTH_WAIT (30 s) of a connection takes
 * it back out of the count, so a new user who connects and then logs in
 * for the first time is no stranger: counting at the handshake and
 * crediting at the login gives the rate at once, where waiting for the
 * login to fail to come would delay every surge by the wait.  30 s holds a
 * slow mobile link's TLS and SASL round trips; a client that takes longer
 * counts until it logs in, then is known.
 *
 * The rate is the count in the last surge_min_rate window, kept in a ring
 * of SURGE_SLOTS slots (a sliding window to within a sixtieth).  The
 * baseline follows the time of day: 24 hourly buckets (UTC hours), each
 * the strangers per window of that hour, exponentially weighted over the
 * days (SURGE_ALPHA: a day's hour weighs 0.3, a week ago 0.03).  An hour
 * during which a surge was on is not learnt (an attack would teach the
 * baseline to tolerate itself), nor is the first, partial hour after a
 * start; an hour not learnt yet borrows the mean of those that are.  The
 * baseline never goes below SURGE_FLOOR, so a quiet server's threshold is
 * never zero, and the threshold never below surge_min_rate's count: the
 * first day, before anything is learnt, only surge_min_rate decides.
 * Each hour learnt is handed out (surge_learnt_take()) for the daemon to
 * keep in the store's surge_baseline table (sql/013_cap_refusals.sql):
 * the store's rollups count every connection, known clients' too, so they
 * cannot tell the strangers' rate again.  At start the daemon seeds the 24
 * buckets from that table (surge_baseline_seed()), so a restart mid-day
 * keeps what the days before taught; the hour under way at the restart is
 * partial and, as always, not learnt.
 *
 * A surge starts when the rate exceeds max(surge_min_rate, factor x
 * baseline) and the strangers of the window are at least SURGE_MIN_ADDRS
 * addresses, checked at each stranger's connection (the switch reaches
 * the kernel in the same loop iteration) and each tick; it ends once the
 * rate has stayed at or below the threshold for surge_end.  One address,
 * or a handful, churning fast is no surge: their own caps are for that,
 * and a surge would hold every stranger to surge_max_new for them.
 *
 * Tables, both htab.c, bounded by [track] capacity, the oldest evicted and
 * counted: the known addresses (login time; list 1 holds those whose
 * kernel element must be added or renewed, surge_known_take() moves them
 * to list 0), and the strangers (per address and service: the last
 * connection, the connections still waiting for a login), which also
 * tell how many addresses a surge involves.  An element of the kernel's
 * set is renewed when a login finds less than three quarters of
 * known_days left on it: a regular client costs the kernel one update a
 * week, not one a login.
 *
 * Pure: no I/O, no clock; times come with the events and the ticks.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "htab.h"
#include "json.h"
#include "kcap.h"
#include "status.h"
#include "surge.h"
#include "xmalloc.h"

#define SURGE_SLOTS	60
#define SURGE_HOURS	24
#define SURGE_HOUR	(3600 * CLOCK_US_PER_SEC)
#define SURGE_DAY	(86400 * CLOCK_US_PER_SEC)
#define SURGE_ALPHA	0.3
#define SURGE_FLOOR	1.0		/* strangers per window, at least */
#define SURGE_SVC_MAX	64
#define SURGE_CAP_MIN	1024
#define SURGE_MIN_ADDRS	10		/* strangers in the window */

enum { SURGE_KNOWN_IN, SURGE_KNOWN_NEW };	/* known's age lists */

struct surge_svc {
	char		 name[CONF_NAME_MAX];
	uint32_t	 factor;
	uint32_t	 min;		/* surge_min_rate's count */
	int64_t		 window;	/* us, its window (1 s to 1 h) */
	int64_t		 end;		/* us: surge_end */
	/* The rate: slots of window / SURGE_SLOTS. */
	int64_t		 slot;
	int32_t		 ring[SURGE_SLOTS];
	int64_t		 ring_at;	/* the current slot's start; 0: none */
	int64_t		 sum;
	/* The baseline. */
	double		 base[SURGE_HOURS];	/* strangers per window */
	uint8_t		 learnt[SURGE_HOURS];
	uint32_t	 fresh;		/* bit h: h learnt, not taken */
	int64_t		 hour_at;	/* the hour being counted; 0: none */
	int64_t		 hour_n;
	int		 hour_skip;	/* partial, or a surge touched it */
	/* The surge. */
	int		 active;
	int64_t		 since;
	int64_t		 below;		/* under the threshold since; 0 */
	uint64_t	 peak, conns, addrs, refused;
	/* Counters. */
	uint64_t	 surges, strangers, credited;
};

struct surge_known {
	struct addr	 addr;
	int64_t		 last;		/* the latest login */
	int64_t		 kernel;	/* the kernel's element lasts until */
};

struct surge_stranger {
	struct addr	 addr;
	uint8_t		 svc;
	int64_t		 last;		/* the latest connection */
	int64_t		 wait_at;	/* the first still waiting */
	uint32_t	 wait_n;	/* connections waiting for a login */
	int		 seen;		/* counted in the surge's addresses */
};
#define SURGE_STRANGER_KEY	offsetof(struct surge_stranger, last)

struct surge {
	const struct conf	*conf;
	struct surge_svc	 svc[SURGE_SVC_MAX];
	int			 nsvc;
	int64_t			 known_for;	/* us: known_days */
	struct htab		 kh;
	struct surge_known	*k;
	struct htab		 sh;
	struct surge_stranger	*s;
	uint64_t		 known_evicted, strangers_evicted;
	surge_change_cb		 cb;
	void			*cb_arg;
};

static void	surge_check(struct surge *, struct surge_svc *, int64_t);

int
surge_service_on(const struct conf *conf, const char *name)
{
	int	 i;

	for (i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, name) == 0)
			return kcap_surge_on(conf, &conf->services[i]);
	return 0;
}

static uint32_t
surge_capacity(const struct conf *conf)
{
	return conf->track_capacity < SURGE_CAP_MIN ? SURGE_CAP_MIN :
	    conf->track_capacity;
}

/* svc's settings from conf's service of its name. */
static void
surge_svc_conf(struct surge_svc *sv, const struct conf_service *cs)
{
	int64_t	 w = cs->surge_min_rate.window;

	if (w < CLOCK_US_PER_SEC)
		w = CLOCK_US_PER_SEC;
	if (w > SURGE_HOUR)
		w = SURGE_HOUR;
	if (w != sv->window) {
		/* Another window: the ring and the baseline's unit
		 * change; start counting again. */
		memset(sv->ring, 0, sizeof sv->ring);
		memset(sv->learnt, 0, sizeof sv->learnt);
		sv->fresh = 0;
		sv->ring_at = sv->sum = 0;
		sv->hour_at = 0;
	}
	sv->window = w;
	sv->slot = w / SURGE_SLOTS > 0 ? w / SURGE_SLOTS : 1;
	sv->factor = cs->surge_factor;
	sv->min = cs->surge_min_rate.count;
	sv->end = cs->surge_end;
}

struct surge *
surge_new(const struct conf *conf)
{
	struct surge	*sg;

	sg = xcalloc(1, sizeof *sg);
	htab_init(&sg->kh, surge_capacity(conf), 2, NULL);
	sg->k = xcalloc(surge_capacity(conf), sizeof *sg->k);
	htab_init(&sg->sh, surge_capacity(conf), 1, NULL);
	sg->s = xcalloc(surge_capacity(conf), sizeof *sg->s);
	surge_reload(sg, conf);
	return sg;
}

void
surge_free(struct surge *sg)
{
	if (sg == NULL)
		return;
	htab_clear(&sg->kh);
	htab_clear(&sg->sh);
	free(sg->k);
	free(sg->s);
	free(sg);
}

void
surge_reload(struct surge *sg, const struct conf *conf)
{
	struct surge_svc	 old[SURGE_SVC_MAX];
	int			 i, j, n = 0, nold = sg->nsvc;

	memcpy(old, sg->svc, sizeof old);
	memset(sg->svc, 0, sizeof sg->svc);
	for (i = 0; i < conf->nservices && n < SURGE_SVC_MAX; i++) {
		if (!surge_service_on(conf, conf->services[i].name))
			continue;
		for (j = 0; j < nold; j++)
			if (strcmp(old[j].name, conf->services[i].name) == 0)
				break;
		if (j < nold)
			sg->svc[n] = old[j];
		snprintf(sg->svc[n].name, sizeof sg->svc[n].name, "%s",
		    conf->services[i].name);
		surge_svc_conf(&sg->svc[n], &conf->services[i]);
		n++;
	}
	sg->nsvc = n;
	sg->conf = conf;
	sg->known_for = (int64_t)conf->track_known_days * SURGE_DAY;
	/* The tables keep their size: strangers are keyed by a service's
	 * index, which a reload may change; they last a window. */
	htab_clear(&sg->sh);
	htab_init(&sg->sh, htab_capacity(&sg->kh), 1, NULL);
}

void
surge_set_change_cb(struct surge *sg, surge_change_cb cb, void *arg)
{
	sg->cb = cb;
	sg->cb_arg = arg;
}

/* The index of service name, or -1. */
static int
surge_find(const struct surge *sg, const char *name)
{
	int	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sg->nsvc; i++)
		if (strcmp(sg->svc[i].name, name) == 0)
			return i;
	return -1;
}

int
surge_active(const struct surge *sg, const char *name)
{
	int	 i = surge_find(sg, name);

	return i != -1 && sg->svc[i].active;
}

/* The ring moved on to now's slot, the slots left behind emptied. */
static void
surge_ring(struct surge_svc *sv, int64_t now)
{
	int	 i;
	size_t	 x;

	if (sv->ring_at == 0 || now - sv->ring_at >= sv->window) {
		memset(sv->ring, 0, sizeof sv->ring);
		sv->sum = 0;
		sv->ring_at = now - now % sv->slot;
		return;
	}
	for (i = 0; i < SURGE_SLOTS && now >= sv->ring_at + sv->slot; i++) {
		sv->ring_at += sv->slot;
		x = (size_t)((sv->ring_at / sv->slot) % SURGE_SLOTS);
		sv->sum -= sv->ring[x];
		sv->ring[x] = 0;
	}
	if (sv->sum < 0)
		sv->sum = 0;
}

static int32_t *
surge_slot(struct surge_svc *sv)
{
	return &sv->ring[(sv->ring_at / sv->slot) % SURGE_SLOTS];
}

/*
 * n connections counted within SURGE_AUTH_WAIT taken back: from the
 * newest slots back, so no slot goes below zero (one that did would raise
 * the sum when it leaves the window).
 */
static void
surge_uncount(struct surge_svc *sv, uint32_t n)
{
	size_t	 x = (size_t)((sv->ring_at / sv->slot) % SURGE_SLOTS);
	int32_t	 take;
	int	 i;

	for (i = 0; i < SURGE_SLOTS && n > 0; i++) {
		take = sv->ring[x] < (int32_t)n ? sv->ring[x] : (int32_t)n;
		sv->ring[x] -= take;
		sv->sum -= take;
		n -= (uint32_t)take;
		x = (x + SURGE_SLOTS - 1) % SURGE_SLOTS;
	}
}

/* The hours that ended by now learnt (see the opening comment). */
static void
surge_hours(struct surge_svc *sv, int64_t now)
{
	double	 x;
	int	 h, i;

	if (sv->hour_at == 0 || now - sv->hour_at >= SURGE_DAY) {
		sv->hour_at = now - now % SURGE_HOUR;
		sv->hour_n = 0;
		sv->hour_skip = 1;
		return;
	}
	for (i = 0; i < SURGE_HOURS && now >= sv->hour_at + SURGE_HOUR;
	    i++) {
		h = (int)((sv->hour_at / SURGE_HOUR) % SURGE_HOURS);
		if (!sv->hour_skip) {
			x = (double)sv->hour_n * (double)sv->window /
			    (double)SURGE_HOUR;
			sv->base[h] = sv->learnt[h] ? (1 - SURGE_ALPHA) *
			    sv->base[h] + SURGE_ALPHA * x : x;
			sv->learnt[h] = 1;
			sv->fresh |= 1U << h;
		}
		sv->hour_at += SURGE_HOUR;
		sv->hour_n = 0;
		sv->hour_skip = sv->active;
	}
}

/* The usual strangers per window at now's hour, at least SURGE_FLOOR. */
static double
surge_baseline(const struct surge_svc *sv, int64_t now)
{
	double	 b = 0;
	int	 h, n = 0;

	h = (int)((now / SURGE_HOUR) % SURGE_HOURS);
	if (sv->learnt[h])
		b = sv->base[h];
	else {
		for (h = 0; h < SURGE_HOURS; h++)
			if (sv->learnt[h]) {
				b += sv->base[h];
				n++;
			}
		if (n > 0)
			b /= n;
	}
	return b < SURGE_FLOOR ? SURGE_FLOOR : b;
}

static uint64_t
surge_threshold(const struct surge_svc *sv, double base)
{
	double		 t = base * sv->factor;
	uint64_t	 u = (uint64_t)t;

	u += t > (double)u;
	return u < sv->min ? sv->min : u;
}

/* Distinct strangers of sv seen in its last window, marked as seen if
 * mark. */
static uint64_t
surge_addresses(struct surge *sg, struct surge_svc *sv, int64_t now,
    int mark)
{
	uint64_t	 n = 0;
	uint32_t	 i;
	uint8_t		 x = (uint8_t)(sv - sg->svc);

	for (i = htab_oldest(&sg->sh, 0); i != HTAB_NIL;
	    i = htab_newer(&sg->sh, i))
		if (sg->s[i].svc == x && now - sg->s[i].last <= sv->window) {
			sg->s[i].seen |= mark;
			n++;
		}
	return n;
}

static void
surge_check(struct surge *sg, struct surge_svc *sv, int64_t now)
{
	struct surge_change	 c;
	double			 base = surge_baseline(sv, now);
	uint64_t		 t = surge_threshold(sv, base), addrs;

	memset(&c, 0, sizeof c);
	c.service = sv->name;
	c.time = now;
	c.baseline = base;
	c.threshold = t;
	c.window = sv->window;
	c.factor = sv->factor;
	if (!sv->active) {
		if ((uint64_t)sv->sum <= t ||
		    (addrs = surge_addresses(sg, sv, now, 0)) <
		    SURGE_MIN_ADDRS)
			return;
		(void)surge_addresses(sg, sv, now, 1);
		sv->active = 1;
		sv->since = now;
		sv->below = 0;
		sv->peak = (uint64_t)sv->sum;
		sv->conns = (uint64_t)sv->sum;
		sv->addrs = addrs;
		sv->refused = 0;
		sv->hour_skip = 1;
		sv->surges++;
		c.on = 1;
		c.rate = (uint64_t)sv->sum;
		c.addresses = sv->addrs;
	} else {
		if ((uint64_t)sv->sum > t) {
			sv->below = 0;
			if ((uint64_t)sv->sum > sv->peak)
				sv->peak = (uint64_t)sv->sum;
			return;
		}
		if (sv->below == 0)
			sv->below = now;
		if (now - sv->below < sv->end)
			return;
		sv->active = 0;
		c.on = 0;
		c.rate = sv->peak;
		c.addresses = sv->addrs;
		c.duration = now - sv->since;
		c.conns = sv->conns;
		c.refused = sv->refused;
	}
	if (sg->cb != NULL)
		sg->cb(&c, sg->cb_arg);
}

void
surge_tick(struct surge *sg, int64_t now)
{
	int	 i;

	for (i = 0; i < sg->nsvc; i++) {
		surge_ring(&sg->svc[i], now);
		surge_hours(&sg->svc[i], now);
		surge_check(sg, &sg->svc[i], now);
	}
}

/*
 * How long until surge_tick() has work, in us: a second while a surge is
 * on (it ends when the rate has stayed low, which only a look tells, and
 * its kernel flag is renewed); else the next hour's start, when the hour
 * that ended is learnt and handed out.  In between, each stranger's
 * connection checks for a surge as it comes, and a quiet rate cannot
 * start one: a quiet daemon wakes for surge mode once an hour.
 */
int64_t
surge_next_tick(const struct surge *sg, int64_t now)
{
	int	 i;

	for (i = 0; i < sg->nsvc; i++)
		if (sg->svc[i].active)
			return CLOCK_US_PER_SEC;
	return SURGE_HOUR - now % SURGE_HOUR + CLOCK_US_PER_MS;
}

void
surge_refused(struct surge *sg, const char *service)
{
	int	 i = surge_find(sg, service);

	if (i != -1 && sg->svc[i].active)
		sg->svc[i].refused++;
}

size_t
surge_learnt_take(struct surge *sg, struct surge_learnt *out, size_t max)
{
	struct surge_svc	*sv;
	size_t			 n = 0;
	int			 i, h;

	for (i = 0; i < sg->nsvc; i++) {
		sv = &sg->svc[i];
		for (h = 0; h < SURGE_HOURS && n < max; h++) {
			if (!(sv->fresh & 1U << h))
				continue;
			sv->fresh &= ~(1U << h);
			out[n].service = sv->name;
			out[n].hour = h;
			out[n].window = sv->window;
			out[n].base = sv->base[h];
			n++;
		}
	}
	return n;
}

void
surge_baseline_seed(struct surge *sg, const char *service, int hour,
    int64_t window, double base)
{
	int	 i = surge_find(sg, service);

	/* Another window counts in another unit; a bad row is ignored. */
	if (i == -1 || hour < 0 || hour >= SURGE_HOURS ||
	    window != sg->svc[i].window || !(base >= 0))
		return;
	sg->svc[i].base[hour] = base;
	sg->svc[i].learnt[hour] = 1;
}

static uint32_t
surge_known_find(const struct surge *sg, const struct addr *a,
    uint64_t *hp)
{
	uint32_t	 i;

	*hp = htab_hash(&sg->kh, a, sizeof *a);
	for (i = htab_find(&sg->kh, *hp); i != HTAB_NIL;
	    i = htab_find_next(&sg->kh, i, *hp))
		if (addr_eq(&sg->k[i].addr, a))
			return i;
	return HTAB_NIL;
}

static int
surge_is_known(const struct surge *sg, const struct addr *a, int64_t now)
{
	uint64_t	 h;
	uint32_t	 i;

	i = surge_known_find(sg, a, &h);
	return i != HTAB_NIL && now - sg->k[i].last <= sg->known_for;
}

int
surge_known(const struct surge *sg, const struct addr *a, int64_t now)
{
	return surge_is_known(sg, a, now);
}

void
surge_known_add(struct surge *sg, const struct addr *a, int64_t when)
{
	struct addr	 key;
	uint64_t	 h;
	uint32_t	 i;

	if (a->family != AF_INET && a->family != AF_INET6)
		return;
	memset(&key, 0, sizeof key);
	key.family = a->family;
	memcpy(key.bytes, a->bytes, sizeof key.bytes);
	if ((i = surge_known_find(sg, &key, &h)) == HTAB_NIL) {
		if (htab_used(&sg->kh) == htab_capacity(&sg->kh)) {
			if ((i = htab_oldest(&sg->kh, SURGE_KNOWN_IN)) ==
			    HTAB_NIL)
				i = htab_oldest(&sg->kh, SURGE_KNOWN_NEW);
			htab_remove(&sg->kh, i);
			sg->known_evicted++;
		}
		i = htab_insert(&sg->kh, h, SURGE_KNOWN_NEW);
		sg->k[i].addr = key;
		sg->k[i].last = when;
		sg->k[i].kernel = 0;
		return;
	}
	if (when > sg->k[i].last)
		sg->k[i].last = when;
	/* The kernel's element renewed once less than three quarters of
	 * its term is left: rarely, for a regular client. */
	if (sg->k[i].kernel - sg->k[i].last < sg->known_for / 4 * 3)
		htab_touch(&sg->kh, i, SURGE_KNOWN_NEW);
	else
		htab_touch(&sg->kh, i, (unsigned int)htab_list_of(&sg->kh,
		    i));
}

size_t
surge_known_take(struct surge *sg, struct addr *a, int64_t *until,
    size_t max, int64_t now)
{
	size_t		 n = 0;
	uint32_t	 i, next;

	for (i = htab_oldest(&sg->kh, SURGE_KNOWN_NEW); i != HTAB_NIL &&
	    n < max; i = next) {
		next = htab_newer(&sg->kh, i);
		sg->k[i].kernel = sg->k[i].last + sg->known_for;
		htab_touch(&sg->kh, i, SURGE_KNOWN_IN);
		if (sg->k[i].kernel <= now)
			continue;
		a[n] = sg->k[i].addr;
		until[n] = sg->k[i].kernel;
		n++;
	}
	return n;
}

size_t
surge_known_pending(const struct surge *sg)
{
	return htab_count(&sg->kh, SURGE_KNOWN_NEW);
}

size_t
surge_known_count(const struct surge *sg)
{
	return htab_used(&sg->kh);
}

static uint32_t
surge_stranger_find(const struct surge *sg, const struct surge_stranger *w,
    uint64_t *hp)
{
	uint32_t	 i;

	*hp = htab_hash(&sg->sh, w, SURGE_STRANGER_KEY);
	for (i = htab_find(&sg->sh, *hp); i != HTAB_NIL;
	    i = htab_find_next(&sg->sh, i, *hp))
		if (memcmp(&sg->s[i], w, SURGE_STRANGER_KEY) == 0)
			return i;
	return HTAB_NIL;
}

/* A stranger's connection, counted. */
static void
surge_stranger(struct surge *sg, struct surge_svc *sv, const struct event *ev)
{
	struct surge_stranger	 w, *e;
	uint64_t		 h;
	uint32_t		 i;

	memset(&w, 0, sizeof w);
	w.addr.family = ev->addr.family;
	memcpy(w.addr.bytes, ev->addr.bytes, sizeof w.addr.bytes);
	w.svc = (uint8_t)(sv - sg->svc);
	if ((i = surge_stranger_find(sg, &w, &h)) == HTAB_NIL) {
		if (htab_used(&sg->sh) == htab_capacity(&sg->sh)) {
			htab_remove(&sg->sh, htab_oldest(&sg->sh, 0));
			sg->strangers_evicted++;
		}
		i = htab_insert(&sg->sh, h, 0);
		sg->s[i] = w;
	} else
		htab_touch(&sg->sh, i, 0);
	e = &sg->s[i];
	if (ev->time - e->wait_at > SURGE_AUTH_WAIT) {
		e->wait_at = ev->time;
		e->wait_n = 0;
	}
	e->wait_n++;
	e->last = ev->time;
	if (sv->active && !e->seen) {
		e->seen = 1;
		sv->addrs++;
	}
	surge_ring(sv, ev->time);
	surge_hours(sv, ev->time);
	(*surge_slot(sv))++;
	sv->sum++;
	sv->hour_n++;
	sv->strangers++;
	if (sv->active)
		sv->conns++;
	surge_check(sg, sv, ev->time);
}

/* A login: the address's connections still waiting leave the count. */
static void
surge_login(struct surge *sg, const struct event *ev)
{
	struct surge_stranger	 w;
	struct surge_svc	*sv;
	uint64_t		 h;
	uint32_t		 i;
	int			 s;

	surge_known_add(sg, &ev->addr, ev->time);
	memset(&w, 0, sizeof w);
	w.addr.family = ev->addr.family;
	memcpy(w.addr.bytes, ev->addr.bytes, sizeof w.addr.bytes);
	for (s = 0; s < sg->nsvc; s++) {
		w.svc = (uint8_t)s;
		if ((i = surge_stranger_find(sg, &w, &h)) == HTAB_NIL)
			continue;
		sv = &sg->svc[s];
		if (ev->time - sg->s[i].wait_at <= SURGE_AUTH_WAIT &&
		    sg->s[i].wait_n > 0) {
			surge_ring(sv, ev->time);
			surge_uncount(sv, sg->s[i].wait_n);
			sv->hour_n -= sg->s[i].wait_n;
			if (sv->hour_n < 0)
				sv->hour_n = 0;
			if (sv->active)
				sv->conns -= sv->conns < sg->s[i].wait_n ?
				    sv->conns : sg->s[i].wait_n;
			sv->credited += sg->s[i].wait_n;
		}
		htab_remove(&sg->sh, i);
	}
}

void
surge_event(struct surge *sg, const struct event *ev)
{
	int			 i;

	if (sg->nsvc == 0 || (ev->addr.family != AF_INET &&
	    ev->addr.family != AF_INET6))
		return;
	switch (ev->kind) {
	case EVENT_CONN_OPEN:
		if (ev->source != EVENT_SRC_CONNTRACK &&
		    ev->source != EVENT_SRC_REPLAY)
			return;
		if (ev->flags & (EVENT_F_PREEXISTING | EVENT_F_RESYNC))
			return;
		if ((i = surge_find(sg, ev->service)) == -1 ||
		    surge_is_known(sg, &ev->addr, ev->time))
			return;
		surge_stranger(sg, &sg->svc[i], ev);
		break;
	case EVENT_AUTH_OK:
	case EVENT_S2S_OK:
		if (ev->source == EVENT_SRC_LOG ||
		    ev->source == EVENT_SRC_REPLAY)
			surge_login(sg, ev);
		break;
	default:
		break;
	}
}

/*
 * Status and metrics: the known addresses, and each service's surge.
 */
struct surge_svc_status {
	const char	*name;
	int		 active;
	uint64_t	 rate, threshold, surges, strangers, credited;
	double		 baseline;
	const char	*since;		/* "": no surge */
	char		 since_buf[40];
};

static size_t
surge_svc_count(const void *obj)
{
	const struct surge	*sg = obj;

	return sg != NULL ? (size_t)sg->nsvc : 0;
}

static void
surge_svc_get(const void *obj, size_t i, void *snap)
{
	const struct surge	*sg = obj;
	const struct surge_svc	*sv = &sg->svc[i];
	struct surge_svc_status	*s = snap;
	int64_t			 now = sv->ring_at;

	memset(s, 0, sizeof *s);
	s->name = sv->name;
	s->active = sv->active;
	s->rate = (uint64_t)sv->sum;
	s->baseline = surge_baseline(sv, now);
	s->threshold = surge_threshold(sv, s->baseline);
	s->surges = sv->surges;
	s->strangers = sv->strangers;
	s->credited = sv->credited;
	s->since = sv->active ? json_fmt_time(sv->since, s->since_buf,
	    sizeof s->since_buf) : "";
}

#define SS(f)	offsetof(struct surge_svc_status, f)
static const struct status_field surge_svc_fields[] = {
	{ .name = "name", .type = STATUS_STR, .off = SS(name) },
	{ .name = "active", .type = STATUS_BOOL, .off = SS(active),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_surge_active",
	  .help = "1 while a surge is on: strangers meet surge_max_new.",
	  .text = "surge %" },
	{ .name = "since", .type = STATUS_STR, .off = SS(since),
	  .text = "since %" },
	{ .name = "rate", .type = STATUS_U64, .off = SS(rate),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_surge_rate",
	  .help = "Connections that did not log in, in the last "
	  "surge_min_rate window.", .text = "rate %" },
	{ .name = "baseline", .type = STATUS_DOUBLE, .off = SS(baseline),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_surge_baseline",
	  .help = "The usual rate at this hour, per window (at least 1).",
	  .text = "baseline %" },
	{ .name = "threshold", .type = STATUS_U64, .off = SS(threshold),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_surge_threshold",
	  .help = "The rate above which a surge starts.",
	  .text = "threshold %" },
	{ .name = "surges", .type = STATUS_U64, .off = SS(surges),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_surges_total",
	  .help = "Surges started.", .text = "% surges" },
	{ .name = "strangers", .type = STATUS_U64, .off = SS(strangers),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_surge_strangers_total",
	  .help = "Connections counted from addresses not known." },
	{ .name = "credited", .type = STATUS_U64, .off = SS(credited),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_surge_credited_total",
	  .help = "Of those, taken back: a login followed within 30 s." },
	{ .name = NULL }
};
#undef SS

static const struct status_group surge_svc_group = {
	.name = "services",
	.text = "surge",
	.fields = surge_svc_fields,
	.size = sizeof(struct surge_svc_status),
	.get = surge_svc_get,
	.count = surge_svc_count,
	.item = "service",
};

struct surge_status {
	uint32_t	 known, known_pending;
	uint64_t	 known_evicted, strangers_evicted;
};

static void
surge_status_get(const void *obj, size_t i, void *snap)
{
	const struct surge	*sg = obj;
	struct surge_status	*s = snap;

	(void)i;
	memset(s, 0, sizeof *s);
	if (sg == NULL)
		return;
	s->known = htab_used(&sg->kh);
	s->known_pending = htab_count(&sg->kh, SURGE_KNOWN_NEW);
	s->known_evicted = sg->known_evicted;
	s->strangers_evicted = sg->strangers_evicted;
}

#define SK(f)	offsetof(struct surge_status, f)
static const struct status_field surge_fields[] = {
	{ .name = "known", .type = STATUS_U32, .off = SK(known),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_known_addresses",
	  .help = "Addresses with a login within known_days, in memory.",
	  .text = "% known" },
	{ .name = "known_pending", .type = STATUS_U32,
	  .off = SK(known_pending), .kind = STATUS_GAUGE,
	  .metric = "xmppguard_known_pending",
	  .help = "Known addresses the kernel's set has yet to learn." },
	{ .name = "known_evicted", .type = STATUS_U64,
	  .off = SK(known_evicted), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_known_evicted_total",
	  .help = "Known addresses dropped from memory, the table being "
	  "full (the kernel's element lasts its term)." },
	{ .name = "strangers_evicted", .type = STATUS_U64,
	  .off = SK(strangers_evicted), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_surge_strangers_evicted_total",
	  .help = "Strangers dropped from the surge's table, it being "
	  "full." },
	{ .name = NULL }
};
#undef SK

const struct status_group surge_status_group = {
	.name = "surge",
	.text = "known",
	.fields = surge_fields,
	.size = sizeof(struct surge_status),
	.get = surge_status_get,
	.sub = &surge_svc_group,
};
