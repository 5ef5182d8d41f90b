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
 * State is a few counters: the current window's failures and successes,
 * and its distinct failing addresses estimated by linear counting (a 4096
 * bit map indexed by a keyed hash of the address: exact-ish below a few
 * hundred, within a few percent up to some thousands), so a flood of
 * addresses costs no memory.  The moving average (1/8 weight per window)
 * is fed only by windows outside an outage, so an outage cannot teach it
 * that outages are normal; windows with no event at all count as zero.
 */
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
	uint64_t	 bits_set;
	uint64_t	 bits[OUTAGE_BITS / 64];
	int		 ok_seen;	/* the filter reports successes */
	int		 in_shape;	/* the current window has the shape */
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

static uint64_t
outage_addresses(const struct outage *o)
{
	double	zero = OUTAGE_BITS - (double)o->bits_set;

	if (zero < 1)
		zero = 1;
	return (uint64_t)(OUTAGE_BITS * log(OUTAGE_BITS / zero) + 0.5);
}

/* Closes windows up to the one holding t. */
static void
outage_advance(struct outage *o, const struct conf *conf, int64_t t)
{
	int64_t	w, gap;

	if (o->width != conf->auth_outage_window) {
		/* First event, or a reload changed the window. */
		o->width = conf->auth_outage_window;
		o->win = t / o->width;
		o->fails = o->oks = o->bits_set = 0;
		memset(o->bits, 0, sizeof(o->bits));
		o->in_shape = 0;
		return;
	}
	w = t / o->width;
	if (w <= o->win)	/* same window, or a late event */
		return;
	/* An outage window teaches the average slowly: an outage must not
	 * become normal, but a rate that stays high for hours is. */
	o->st.baseline += ((double)o->fails - o->st.baseline) /
	    (o->in_shape ? 64 : 8);
	o->windows++;
	for (gap = w - o->win - 1; gap > 0 && gap <= OUTAGE_EMPTY_MAX; gap--)
		o->st.baseline -= o->st.baseline / 8;
	if (w - o->win - 1 > OUTAGE_EMPTY_MAX)
		o->st.baseline = 0;
	o->windows += (uint64_t)(w - o->win - 1);
	o->win = w;
	o->fails = o->oks = o->bits_set = 0;
	memset(o->bits, 0, sizeof(o->bits));
	o->in_shape = 0;
}

static int
outage_shape(const struct outage *o, const struct conf *conf)
{
	double	usual = o->st.baseline < 1 ? 1 : o->st.baseline;

	if (conf->auth_outage_addresses == 0 || o->windows < OUTAGE_WARMUP ||
	    outage_addresses(o) < conf->auth_outage_addresses)
		return 0;
	if ((double)o->fails < usual * conf->auth_outage_factor)
		return 0;
	if (o->ok_seen && o->oks * OUTAGE_OK_RATIO >= o->fails)
		return 0;
	return 1;
}

enum outage_change
outage_event(struct outage *o, const struct conf *conf,
    const struct event *ev)
{
	uint64_t	h;
	int		ended = 0;

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
			h = addr_hash(&ev->addr, o->seed) % OUTAGE_BITS;
			if (!(o->bits[h / 64] & (UINT64_C(1) << (h % 64)))) {
				o->bits[h / 64] |= UINT64_C(1) << (h % 64);
				o->bits_set++;
			}
		}
	}
	if (!outage_shape(o, conf))
		return ended ? OUTAGE_ENDED : OUTAGE_SAME;
	o->in_shape = 1;
	o->hold_until = ev->time + conf->auth_outage_hold;
	if (o->st.active)
		return OUTAGE_SAME;
	o->st.active = 1;
	o->st.episodes++;
	o->st.since = ev->time;
	o->st.fails = o->fails;
	o->st.oks = o->oks;
	o->st.addresses = outage_addresses(o);
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
