/*
 * Auth backend outages.
 *
 * When an XMPP server's authentication backend (LDAP, SQL, an external
 * script) goes down, every login fails: from every client, at once, and
 * all of them reconnect and retry.  Judged one address at a time that is a
 * flood of auth bans against the server's own users.  The shape gives it
 * away: failures from many addresses in one short window (outage_window),
 * far above the usual rate (outage_factor times a moving average of past
 * windows), and, if the filter reports successful logins at all, almost no
 * success (under 1 in 50).  A password-guessing botnet on a live server
 * fails from many addresses too, but the server's real users keep logging
 * in; on a server whose filter never reports successes, the first two
 * tests have to do, and outage_addresses = 0 turns the whole guess off.
 *
 * While the shape holds, and for outage_hold after it was last seen, auth
 * verdicts are held: recorded and reported, not enforced.  Other rules
 * (churn, concurrency, karma) go on as ever.
 *
 * Windows are aligned to the clock.  The shape is judged on the current
 * window, and also on a sliding window of the same width: the current
 * window's counts plus the previous window's, weighted by how much of it
 * the sliding window still covers (the usual sliding-window counter), and
 * the addresses of both.  The first catches an outage as soon as a window
 * holds it (the successes of the minute before do not hide it); the
 * second, a burst that straddles a window boundary, which each window
 * alone sees only half of.
 *
 * State is a few counters: the current and previous windows' failures
 * and successes, and their distinct failing sources (an address masked
 * to [ban] prefix4/prefix6: a host, or an IPv6 host's /64, as a ban would
 * hold it; 200 addresses of one /64 are one source) estimated by linear
 * counting (a 4096 bit map each, indexed by a keyed hash of the address:
 * exact-ish below a few hundred, within a few percent up to some
 * thousands; the two maps ORed for the sliding window), so a flood of
 * addresses costs no memory.  The moving average (1/8 weight per window)
 * learns a window once it has left the sliding view, slowly (1/64) if it
 * had the shape, so an outage cannot teach it that outages are normal;
 * windows with no event at all count as zero.
 */
#include <sys/socket.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "event.h"
#include "outage.h"
#include "xmalloc.h"

#define OUTAGE_BITS		4096
#define OUTAGE_OK_RATIO		50	/* an outage: fails > 50 x oks */
#define OUTAGE_EMPTY_MAX	64	/* empty windows folded in at most */
#define OUTAGE_WARMUP		10	/* windows seen before judging */

struct outage {
	uint32_t	 seed;
	int64_t		 win;		/* index of the current window */
	int64_t		 width;		/* us; 0: nothing seen yet */
	uint64_t	 fails, oks;
	uint64_t	 bits[OUTAGE_BITS / 64];
	uint64_t	 prev_fails, prev_oks;	/* the window before; 0 if it */
	uint64_t	 prev_bits[OUTAGE_BITS / 64];	/* was empty */
	int		 ok_seen;	/* the filter reports successes */
	int		 in_shape;	/* the current window has the shape */
	int		 prev_shape;	/* ... the previous one had it */
	int		 have_prev;	/* a previous window is in view */
	uint64_t	 windows;	/* closed since the start */
	int64_t		 hold_until;	/* us; 0: none */
	struct outage_stats st;
};

struct outage *
outage_new(uint32_t seed)
{
	struct outage	*o;

	o = xcalloc(1, sizeof(*o));
	o->seed = seed;
	return o;
}

void
outage_free(struct outage *o)
{
	free(o);
}

/* Distinct addresses by linear counting over a map of OUTAGE_BITS. */
static uint64_t
outage_count(int set)
{
	double	zero = OUTAGE_BITS - (double)set;

	if (zero < 1)
		zero = 1;
	return (uint64_t)(OUTAGE_BITS * log(OUTAGE_BITS / zero) + 0.5);
}

/* Distinct failing addresses in the current window, or (sliding) in the
 * union of the previous and the current one. */
static uint64_t
outage_addresses(const struct outage *o, int sliding)
{
	int	set = 0;
	size_t	i;

	for (i = 0; i < OUTAGE_BITS / 64; i++)
		set += __builtin_popcountll(o->bits[i] |
		    (sliding ? o->prev_bits[i] : 0));
	return outage_count(set);
}

/* The previous window's share of the sliding window ending at t. */
static double
outage_prev_weight(const struct outage *o, int64_t t)
{
	int64_t	into = t - o->win * o->width;

	if (into < 0)
		into = 0;
	if (into > o->width)
		into = o->width;
	return 1.0 - (double)into / (double)o->width;
}

/* Failures and successes in the sliding window ending at t. */
static double
outage_fails(const struct outage *o, int64_t t)
{
	return (double)o->fails + (double)o->prev_fails *
	    outage_prev_weight(o, t);
}

static double
outage_oks(const struct outage *o, int64_t t)
{
	return (double)o->oks + (double)o->prev_oks * outage_prev_weight(o, t);
}

/*
 * A window leaves the sliding view: it teaches the average.  A window
 * that had the shape teaches it slowly: an outage must not become
 * normal, but a rate that stays high for hours is.
 */
static void
outage_learn(struct outage *o, uint64_t fails, int shaped)
{
	o->st.baseline += ((double)fails - o->st.baseline) /
	    (shaped ? 64 : 8);
	o->windows++;
}

/*
 * Closes windows up to the one holding t.  A window is learnt only when
 * it leaves the sliding view, a window after it closed, so that a burst
 * straddling two windows is judged before its first half is learnt.
 */
static void
outage_advance(struct outage *o, const struct conf *conf, int64_t t)
{
	int64_t	w, gap;

	if (o->width != conf->auth_outage_window) {
		/* First event, or a reload changed the window. */
		o->width = conf->auth_outage_window;
		o->win = t / o->width;
		o->fails = o->oks = o->prev_fails = o->prev_oks = 0;
		memset(o->bits, 0, sizeof(o->bits));
		memset(o->prev_bits, 0, sizeof(o->prev_bits));
		o->in_shape = o->prev_shape = o->have_prev = 0;
		return;
	}
	w = t / o->width;
	if (w <= o->win)	/* same window, or a late event */
		return;
	if (o->have_prev)
		outage_learn(o, o->prev_fails, o->prev_shape || o->in_shape);
	if (w == o->win + 1) {
		/* The closed window becomes the previous one. */
		o->prev_fails = o->fails;
		o->prev_oks = o->oks;
		o->prev_shape = o->in_shape;
		o->have_prev = 1;
		memcpy(o->prev_bits, o->bits, sizeof(o->bits));
	} else {
		/* A gap: the closed window and the empty ones after it
		 * (the previous one among them) are all out of view. */
		outage_learn(o, o->fails, o->in_shape);
		for (gap = w - o->win - 1; gap > 0 &&
		    gap <= OUTAGE_EMPTY_MAX; gap--)
			o->st.baseline -= o->st.baseline / 8;
		if (w - o->win - 1 > OUTAGE_EMPTY_MAX)
			o->st.baseline = 0;
		o->windows += (uint64_t)(w - o->win - 1);
		o->prev_fails = o->prev_oks = 0;
		o->prev_shape = o->have_prev = 0;
		memset(o->prev_bits, 0, sizeof(o->prev_bits));
	}
	o->win = w;
	o->fails = o->oks = 0;
	memset(o->bits, 0, sizeof(o->bits));
	o->in_shape = 0;
}

/* Failures, successes and addresses with the shape of an outage. */
static int
outage_shape_is(const struct outage *o, const struct conf *conf,
    double fails, double oks, uint64_t addresses)
{
	double	usual = o->st.baseline < 1 ? 1 : o->st.baseline;

	if (addresses < conf->auth_outage_addresses)
		return 0;
	if (fails < usual * conf->auth_outage_factor)
		return 0;
	if (o->ok_seen && oks * OUTAGE_OK_RATIO >= fails)
		return 0;
	return 1;
}

/* The current window, or the sliding window ending at t, has the shape:
 * 0, or 1 and its figures in st. */
static int
outage_shape(const struct outage *o, const struct conf *conf, int64_t t,
    struct outage_stats *st)
{
	if (conf->auth_outage_addresses == 0 || o->windows < OUTAGE_WARMUP)
		return 0;
	st->fails = o->fails;
	st->oks = o->oks;
	st->addresses = outage_addresses(o, 0);
	if (outage_shape_is(o, conf, (double)st->fails, (double)st->oks,
	    st->addresses))
		return 1;
	st->fails = (uint64_t)(outage_fails(o, t) + 0.5);
	st->oks = (uint64_t)(outage_oks(o, t) + 0.5);
	st->addresses = outage_addresses(o, 1);
	return outage_shape_is(o, conf, outage_fails(o, t), outage_oks(o, t),
	    st->addresses);
}

enum outage_change
outage_event(struct outage *o, const struct conf *conf,
    const struct event *ev)
{
	struct outage_stats	seen;
	struct prefix		src;
	uint64_t		h;
	int			ended = 0;

	if (ev->kind != EVENT_AUTH_FAIL && ev->kind != EVENT_AUTH_OK)
		return OUTAGE_SAME;
	if (o->st.active && !outage_holding(o, ev->time)) {
		o->st.active = 0;
		ended = 1;
	}
	outage_advance(o, conf, ev->time);
	if (ev->kind == EVENT_AUTH_OK) {
		o->oks++;
		o->ok_seen = 1;
	} else {
		o->fails++;
		if (ev->addr.family != 0) {
			/* One source is what one ban would hold: a host, or
			 * its /64, so a single IPv6 host cannot pass for a
			 * crowd. */
			addr_mask(&ev->addr, ev->addr.family == AF_INET ?
			    conf->ban_prefix4 : conf->ban_prefix6, &src);
			h = addr_hash(&src.addr, o->seed) % OUTAGE_BITS;
			o->bits[h / 64] |= UINT64_C(1) << (h % 64);
		}
	}
	if (!outage_shape(o, conf, ev->time, &seen))
		return ended ? OUTAGE_ENDED : OUTAGE_SAME;
	o->in_shape = 1;
	o->hold_until = ev->time + conf->auth_outage_hold;
	if (o->st.active)
		return OUTAGE_SAME;
	o->st.active = 1;
	o->st.episodes++;
	o->st.since = ev->time;
	o->st.fails = seen.fails;
	o->st.oks = seen.oks;
	o->st.addresses = seen.addresses;
	return OUTAGE_BEGAN;
}

int
outage_holding(const struct outage *o, int64_t now)
{
	return o->hold_until != 0 && now < o->hold_until;
}

void
outage_get_stats(const struct outage *o, struct outage_stats *st)
{
	*st = o->st;
}
